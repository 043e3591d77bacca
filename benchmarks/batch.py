"""Batch throughput: photos per second with 1 worker and with every core, on the same set.

The set: a manifest of --subjects subjects cycling through the sample front+side pairs (ana,
jara, leo: 12 MP phone photos; p1: tiny), two photos each. Each run is a fresh process running
`run_batch` as `posture batch` does. Two figures, medians of --repeat runs: photos / wall time
of the whole process (start-up, model loading and worker start included, as a clinic sees
it), and the steady rate after the first subject is written (start-up excluded: what a long
batch runs at).

Three ways to run, on the same set:
- `--workers 1` as the CLI runs it: in the main process, which uses both cores by itself (the
  scene work beside the pose model; at more than 1 pass, passes on a thread pool);
- one worker process: the worker code alone, one core (the per-core rate; the CLI never runs
  this way, the benchmark forces it);
- one worker process per core, as the CLI runs `--workers N`.
The scaling target (>= 1.7 x on 2 cores) compares the last with the second; the first shows
what a clinic gains over running a batch the simplest way.

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
sys.path.insert(0, str(ROOT))

from tests.conftest import PAIRS, sample  # noqa: E402


def write_manifest(path: Path, subjects: int) -> Path:
    """A batch manifest of `subjects` subjects cycling through the sample front+side pairs."""
    pairs = list(PAIRS.values())
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["subject", "front", "side"])
        for i in range(subjects):
            front, side = pairs[i % len(pairs)]
            w.writerow([f"s{i:04d}", sample(front), sample(side)])
    return path


# run_batch in a fresh process, as `posture batch` runs it, timing each finished subject.
DRIVER = """
import json, sys, time
t0 = time.perf_counter()
from posture import AnalysisOptions
from posture.batch import plan_jobs, run_batch
folder, manifest, out, workers, passes, pool = sys.argv[1:7]
if pool == "pool":  # worker processes even for 1 worker (run_batch runs 1 in-process)
    import posture.batch
    from posture.parallel import map_jobs
    posture.batch._results = map_jobs
jobs = plan_jobs(folder, manifest)
done = [time.perf_counter() - t0
        for _ in run_batch(jobs, out, AnalysisOptions(passes=int(passes)), workers=int(workers))]
print(json.dumps(done))
"""


def run(folder: Path, manifest: Path, workers: int, passes: int,
        pool: bool) -> tuple[float, float]:
    """(whole process wall time, steady rate in subjects/s after the first subject)."""
    out = folder / f"out_{workers}_{passes}_{pool}.csv"
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", DRIVER, str(folder), str(manifest), str(out),
                           str(workers), str(passes), "pool" if pool else "cli"],
                          cwd=ROOT, check=True,
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
        manifest = write_manifest(folder / "manifest.csv", args.subjects)
        for passes in args.passes:
            rates, steady = {}, {}
            for title, workers, pool in (("1 worker, in-process (CLI --workers 1)", 1, False),
                                         ("1 worker process (one core)", 1, True),
                                         (f"{cores} worker processes", cores, True)):
                runs = [run(folder, manifest, workers, passes, pool) for _ in range(args.repeat)]
                wall = statistics.median(r[0] for r in runs)
                rates[title] = photos / wall
                steady[title] = 2 * statistics.median(r[1] for r in runs)
                print(f"passes={passes:>2} {title:<40} whole run {wall:6.2f} s "
                      f"({', '.join(f'{r[0]:.2f}' for r in runs)}) -> {rates[title]:5.2f} "
                      f"photos/s; after the first subject {steady[title]:5.2f} photos/s")
            in_process, one_core, every = rates
            print(f"passes={passes:>2}: {cores} workers over 1 worker process: whole run "
                  f"{rates[every] / rates[one_core]:.2f} x, after the first subject "
                  f"{steady[every] / steady[one_core]:.2f} x (target >= 1.7 x on 2 cores); "
                  f"over the in-process run: {rates[every] / rates[in_process]:.2f} x, "
                  f"{steady[every] / steady[in_process]:.2f} x")
    print("load average at end: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
