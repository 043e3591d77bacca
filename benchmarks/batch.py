"""Batch throughput: photos per second with 1 worker and with every core, on the same set.

The set: a manifest of --subjects subjects cycling through the sample front+side pairs (ana,
jara, leo: 12 MP phone photos; p1: tiny), two photos each. Each run is a fresh process running
`run_batch` as `posture batch` does. Two figures, medians of --repeat runs: photos / wall time
of the whole process (start-up, model loading and worker start included, as a clinic sees
it), and the steady rate after the first subject is written (start-up excluded: what a long
batch runs at).

With 1 worker the batch runs in the main process, and at more than 1 pass its passes run on a
thread pool over both cores; with N workers each worker runs one model single-threaded, and
the parallelism is across subjects.

    .venv/bin/python benchmarks/batch.py [--subjects 16] [--passes 1 18] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_images"
PAIRS = [
    ("usize-backend/ana_test.jpg", "usize-backend/ana_test_right.jpg"),
    ("usize-backend/jara_test_front_3.jpg", "usize-backend/jara_test_side_3.jpg"),
    ("usize-backend/leo_test.jpeg", "usize-backend/leo_test_left.jpg"),
    ("posture-measuremnent/front_image.jpg", "posture-measuremnent/side_image.jpg"),
]


def write_manifest(folder: Path, subjects: int) -> Path:
    path = folder / "manifest.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["subject", "front", "side"])
        for i in range(subjects):
            front, side = PAIRS[i % len(PAIRS)]
            w.writerow([f"s{i:04d}", SAMPLES / front, SAMPLES / side])
    return path


# run_batch in a fresh process, as `posture batch` runs it, timing each finished subject.
DRIVER = """
import json, sys, time
t0 = time.perf_counter()
from posture import AnalysisOptions
from posture.batch import plan_jobs, run_batch
folder, manifest, out, workers, passes = sys.argv[1:6]
jobs = plan_jobs(folder, manifest)
done = [time.perf_counter() - t0
        for _ in run_batch(jobs, out, AnalysisOptions(passes=int(passes)), workers=int(workers))]
print(json.dumps(done))
"""


def run(folder: Path, manifest: Path, workers: int, passes: int) -> tuple[float, float]:
    """(whole process wall time, steady rate in subjects/s after the first subject)."""
    out = folder / f"out_{workers}_{passes}.csv"
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", DRIVER, str(folder), str(manifest), str(out),
                           str(workers), str(passes)], cwd=ROOT, check=True,
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    done = json.loads(proc.stdout.strip().splitlines()[-1])
    with open(out, encoding="utf-8") as f:
        errors = sum(1 for r in csv.DictReader(f) if r["status"] == "error")
    if errors:
        raise SystemExit(f"{errors} error rows in {out}: the figures would be wrong")
    return wall, (len(done) - 1) / (done[-1] - done[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subjects", type=int, default=16)
    parser.add_argument("--passes", type=int, nargs="+", default=[1, 18])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    photos = 2 * args.subjects
    print(f"cores: {cores}; {args.subjects} subjects, {photos} photos; load average at start: "
          + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        manifest = write_manifest(folder, args.subjects)
        for passes in args.passes:
            rates, steady = {}, {}
            for workers in (1, cores):
                runs = [run(folder, manifest, workers, passes) for _ in range(args.repeat)]
                wall = statistics.median(r[0] for r in runs)
                rates[workers] = photos / wall
                steady[workers] = 2 * statistics.median(r[1] for r in runs)
                print(f"passes={passes:>2} workers={workers}: whole run {wall:6.2f} s "
                      f"({', '.join(f'{r[0]:.2f}' for r in runs)}) -> {rates[workers]:5.2f} "
                      f"photos/s; after the first subject {steady[workers]:5.2f} photos/s")
            print(f"passes={passes:>2}: speed-up with {cores} workers: whole run "
                  f"{rates[cores] / rates[1]:.2f} x, after the first subject "
                  f"{steady[cores] / steady[1]:.2f} x (target >= 1.7 x on 2 cores)")
    print("load average at end: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
