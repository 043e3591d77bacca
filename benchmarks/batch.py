"""Batch throughput: photos per second with 1 worker and with every core, on the same set.

The set: a manifest of --subjects subjects cycling through the sample front+side pairs (ana,
jara, leo: 12 MP phone photos; p1: tiny), two photos each. Each run is a real
`posture batch` process (start-up and model loading included, as a clinic would see it), timed
from launch to exit; the figure is photos / wall time, median of --repeat runs.

With 1 worker the batch runs in the main process, and at more than 1 pass its passes run on a
thread pool over both cores; with N workers each worker runs one model single-threaded, and
the parallelism is across subjects.

    .venv/bin/python benchmarks/batch.py [--subjects 16] [--passes 1 18] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
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


def run(folder: Path, manifest: Path, workers: int, passes: int) -> float:
    out = folder / f"out_{workers}_{passes}.csv"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "posture.cli", "batch", str(folder), "--manifest",
                    str(manifest), "--out", str(out), "--workers", str(workers), "--passes",
                    str(passes), "--no-progress"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


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
            rates = {}
            for workers in (1, cores):
                times = []
                for _ in range(args.repeat):
                    times.append(run(folder, manifest, workers, passes))
                rates[workers] = photos / statistics.median(times)
                print(f"passes={passes:>2} workers={workers}: "
                      f"{statistics.median(times):6.2f} s  ({', '.join(f'{t:.2f}' for t in times)})"
                      f"  -> {rates[workers]:5.2f} photos/s")
            print(f"passes={passes:>2}: speed-up with {cores} workers: "
                  f"{rates[cores] / rates[1]:.2f} x (target >= 1.7 x on 2 cores)")
    print("load average at end: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
