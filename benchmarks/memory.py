"""Peak memory (RSS): one 12 MP photo, and batches of 20 and 200 photos.

- One analysis: a fresh process analyses ana_test.jpg (12 MP) at the default passes and at 1
  pass and reports its own peak RSS (VmHWM) at exit.
- Batches: `posture batch` over a manifest that reuses the sample pairs (front + side, 12 MP
  and small) for 10 and 100 subjects, --passes 1 (set --passes to change), with 1 worker and
  with every core. Reported: the main process's peak (VmHWM at exit), each worker's peak
  (VmHWM, polled every 20 ms while it lives), and the whole process tree's peak (sum of the
  processes' current RSS, polled; shared library pages count once per process, so this is an
  upper bound). Bounded memory means the 200-photo figures match the 20-photo ones.

Linux only (reads /proc).

    .venv/bin/python benchmarks/memory.py [--passes 1] [--sizes 20 200]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_images"

from batch import write_manifest  # noqa: E402  (benchmarks/batch.py, beside this script)

# Runs the CLI (or an analysis) and writes its own VmHWM, in KiB, to $PEAK_RSS_FILE at exit.
WITH_PEAK = """
import atexit, os, sys

def report():
    with open("/proc/self/status") as status, open(os.environ["PEAK_RSS_FILE"], "w") as out:
        out.write(next(ln for ln in status if ln.startswith("VmHWM")).split()[1])

atexit.register(report)
if sys.argv[1] == "analyze-one":
    from posture import AnalysisOptions, analyze
    analyze(front=sys.argv[2], options=AnalysisOptions(passes=int(sys.argv[3])))
else:
    from posture.cli import main
    sys.exit(main(sys.argv[1:]))
"""


def status_kib(pid: int, field: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except FileNotFoundError:
            continue
        for t in tasks:
            try:
                with open(f"/proc/{p}/task/{t}/children") as f:
                    kids = [int(k) for k in f.read().split()]
            except FileNotFoundError:
                continue
            out.extend(kids)
            todo.extend(kids)
    return out


def is_worker(pid: int) -> bool:
    """A pool worker (multiprocessing's spawn), not a helper such as its resource tracker."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"spawn_main" in f.read()
    except (FileNotFoundError, ProcessLookupError):
        return False


def run_with_peak(args: list[str]) -> dict:
    with tempfile.NamedTemporaryFile(delete=False) as peak_file:
        peak_path = peak_file.name
    proc = subprocess.Popen([sys.executable, "-c", WITH_PEAK, *args], cwd=ROOT,
                            env={**os.environ, "PEAK_RSS_FILE": peak_path},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker_peak: dict[int, int] = {}
    tree_peak = 0
    t0 = time.perf_counter()
    while proc.poll() is None:
        total = status_kib(proc.pid, "VmRSS") or 0
        for kid in descendants(proc.pid):
            rss, hwm = status_kib(kid, "VmRSS"), status_kib(kid, "VmHWM")
            total += rss or 0
            if hwm and is_worker(kid):
                worker_peak[kid] = max(worker_peak.get(kid, 0), hwm)
        tree_peak = max(tree_peak, total)
        time.sleep(0.02)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{args[:2]} failed with exit code {proc.returncode}")
    main_peak = int(Path(peak_path).read_text())
    os.unlink(peak_path)
    return {"main": main_peak / 1024, "workers": [v / 1024 for v in worker_peak.values()],
            "tree": max(tree_peak, main_peak) / 1024, "seconds": elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passes", type=int, default=1, help="passes for the batches")
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 200], help="photos")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    print("load average at start: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    photo = SAMPLES / "usize-backend" / "ana_test.jpg"
    for passes in (18, 1):
        r = run_with_peak(["analyze-one", str(photo), str(passes)])
        print(f"one 12 MP photo (ana_test.jpg), passes={passes}: peak RSS {r['main']:.0f} MB")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for photos in args.sizes:
            manifest = write_manifest(folder / f"manifest_{photos}.csv", photos // 2)
            for workers in (1, cores):
                r = run_with_peak(["batch", str(folder), "--manifest", str(manifest), "--out",
                                   str(folder / "out.csv"), "--passes", str(args.passes),
                                   "--workers", str(workers), "--no-progress"])
                workers_text = ", ".join(f"{w:.0f}" for w in sorted(r["workers"])) or "none"
                print(f"batch of {photos:>4} photos, passes={args.passes}, workers={workers}: "
                      f"main {r['main']:.0f} MB, workers {workers_text} MB, "
                      f"tree {r['tree']:.0f} MB ({r['seconds']:.1f} s)")
    print("load average at end: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
