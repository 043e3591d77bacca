"""Cold start: from process start to the first result, in a fresh process each time.

Two measures, each the median of --repeat fresh processes:

1. Inside a fresh interpreter, the stages in order: interpreter start-up (process launch to the
   first line of the script), `import posture`, loading the model (MediaPipe's import and its
   graph, by a first detection on a tiny blank image), and the first photo's analysis
   (`analyze` of the 780x1040 leo_test.jpeg, and of the 12 MP ana_test.jpg).
2. The whole `posture analyze --front PHOTO` command, launch to exit (outputs written).

    .venv/bin/python benchmarks/cold_start.py [--repeat 5] [--passes 1 18]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_images" / "usize-backend"
PHOTOS = {"780x1040": SAMPLES / "leo_test.jpeg", "12 MP": SAMPLES / "ana_test.jpg"}

STAGES = """
import json, sys, time
t_start = time.perf_counter()
from posture import AnalysisOptions, analyze
t_import = time.perf_counter()
import numpy as np
from posture.landmarks.mediapipe_pose import default_detector
default_detector().detect(np.zeros((64, 64, 3), np.uint8))
t_model = time.perf_counter()
analyze(front=sys.argv[1], options=AnalysisOptions(passes=int(sys.argv[2])))
t_first = time.perf_counter()
print(json.dumps({"import posture": t_import - t_start, "load model": t_model - t_import,
                  "first photo": t_first - t_model, "in_script": t_first - t_start}))
"""


def stages(photo: Path, passes: int) -> dict[str, float]:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", STAGES, str(photo), str(passes)], cwd=ROOT,
                         check=True, capture_output=True, text=True)
    total = time.perf_counter() - t0
    got = json.loads(out.stdout.strip().splitlines()[-1])
    got["interpreter start-up + exit"] = total - got.pop("in_script")
    got["total"] = total
    return got


def cli(photo: Path, passes: int, out: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "posture.cli", "analyze", "--front", str(photo),
                    "--out", str(out), "--passes", str(passes)], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--passes", type=int, nargs="+", default=[1, 18])
    args = parser.parse_args()
    print("load average at start: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    with tempfile.TemporaryDirectory() as tmp:
        for passes in args.passes:
            for label, photo in PHOTOS.items():
                runs = [stages(photo, passes) for _ in range(args.repeat)]
                print(f"\n== passes={passes}, {label} photo ({photo.name}), "
                      f"median of {args.repeat} fresh processes")
                for key in ("interpreter start-up + exit", "import posture", "load model",
                            "first photo", "total"):
                    print(f"  {key:<30} {statistics.median(r[key] for r in runs):6.2f} s")
                cli_times = [cli(photo, passes, Path(tmp)) for _ in range(args.repeat)]
                whole = statistics.median(cli_times)
                print(f"  {'posture analyze (whole CLI)':<30} {whole:6.2f} s")
    print("\nload average at end: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
