"""Batch analysis on every core: one worker process per core, one pose model per worker.

Processes, not threads, so that the Python parts (decoding, geometry) run in parallel too. Each
worker analyses its photos with a single-graph detector and single-threaded passes: the
parallelism is across subjects. Results come back as rows in completion order; a worker holds
one subject's photos at a time, so memory stays bounded however long the batch.
"""

from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor, as_completed

_detector = None


def _init_worker() -> None:
    global _detector
    from posture.landmarks.mediapipe_pose import MediaPipePoseDetector

    _detector = MediaPipePoseDetector(parallelism=1)


def _work(job, options):
    from posture.batch import analyse_job

    return job, analyse_job(job, options, detector=_detector)


def map_jobs(jobs, options, workers: int):
    """Yield (job, rows) as workers finish; at most 2 jobs per worker are queued ahead."""
    # spawn: a forked copy of a process that already ran MediaPipe threads can deadlock.
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                             initializer=_init_worker) as pool:
        pending = set()
        it = iter(jobs)
        for job in it:
            pending.add(pool.submit(_work, job, options))
            if len(pending) >= 2 * workers:
                break
        while pending:
            done = next(as_completed(pending))
            pending.discard(done)
            yield done.result()
            nxt = next(it, None)
            if nxt is not None:
                pending.add(pool.submit(_work, nxt, options))
