"""Batch analysis on every core: one worker process per core, one pose model per worker.

Processes, not threads, so that the Python parts (decoding, geometry) run in parallel too. Each
worker analyses its photos with a single-graph detector and single-threaded passes: the
parallelism is across subjects. Results come back as rows in completion order; at most two
subjects per worker are queued, and a worker holds one subject's photos at a time, so memory
stays bounded however long the batch.

Interruptions:
- Ctrl-C reaches the whole process group. Workers ignore SIGINT (they inherit SIG_IGN when
  started, so not even their start-up prints a traceback); the main process gets
  KeyboardInterrupt, and leaving `map_jobs` (by an exception, or the caller stopping) cancels
  the queued subjects and terminates the workers at once.
- If the main process is killed (`kill -9`), each worker notices its parent is gone and exits:
  no orphaned processes keep a model in memory.
- If a worker dies (a native crash in a decoder or the model, the kernel's out-of-memory
  killer), the pool is restarted and the subjects it held are retried one at a time, alone; a
  subject that kills a worker on its own gets an error row and the batch goes on.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import threading
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

_detector = None

CRASH_MESSAGE = ("the analysis process crashed on this subject's photos (out of memory, or a "
                 "damaged file); check the photos and analyse them alone")


def _init_worker() -> None:
    global _detector
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = mp.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with_parent, args=(parent.sentinel,), daemon=True,
                         name="posture-parent-watch").start()
    from posture.landmarks.mediapipe_pose import MediaPipePoseDetector

    _detector = MediaPipePoseDetector(parallelism=1)


def _exit_with_parent(sentinel: int) -> None:
    from multiprocessing.connection import wait as wait_ready

    wait_ready([sentinel])  # readable once the parent process has ended
    os._exit(1)


def _work(job, options):
    from posture.batch import analyse_job

    return job, analyse_job(job, options, detector=_detector)


@contextlib.contextmanager
def _sigint_ignored():
    """Children started inside inherit SIG_IGN for SIGINT (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _new_pool(workers: int) -> ProcessPoolExecutor:
    # spawn: a forked copy of a process that already ran MediaPipe threads can deadlock.
    return ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                               initializer=_init_worker)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel queued work and end the workers now, not after their current subject."""
    processes = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            p.terminate()
    for p in processes:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            p.join(timeout=5)


def map_jobs(jobs, options, workers: int, work=_work):
    """Yield (job, rows) as workers finish, for every job exactly once.

    At most 2 jobs per worker are queued ahead. See the module docstring for interruptions and
    crashed workers. `work(job, options) -> (job, rows)` runs in the workers: a module-level
    function (tests pass one that crashes).
    """
    from posture.batch import error_row

    workers = max(1, min(workers, len(jobs)))
    todo = deque(jobs)
    suspects: deque = deque()   # in flight when a worker died: retried alone
    pool = None
    pending: dict = {}          # future -> (job, ran alone)
    try:
        while todo or suspects or pending:
            if pool is None:
                with _sigint_ignored():
                    pool = _new_pool(workers)
            with _sigint_ignored():
                if suspects:
                    if not pending:
                        job = suspects.popleft()
                        pending[pool.submit(work, job, options)] = (job, True)
                else:
                    while todo and len(pending) < 2 * workers:
                        job = todo.popleft()
                        pending[pool.submit(work, job, options)] = (job, False)
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            if any(isinstance(f.exception(), BrokenProcessPool) for f in done):
                # Every other future of a broken pool fails too: settle them all now.
                done, _ = wait(pending)
                _stop(pool)
                pool = None
            for future in done:
                job, alone = pending.pop(future)
                exc = future.exception()
                if exc is None:
                    yield future.result()
                elif not isinstance(exc, BrokenProcessPool):  # e.g. MemoryError in a worker
                    yield job, [error_row(job, f"the analysis failed ({type(exc).__name__}); "
                                               "check the photos and analyse them alone")]
                elif alone:
                    yield job, [error_row(job, CRASH_MESSAGE)]
                else:
                    suspects.append(job)
    finally:
        if pool is not None:
            if pending:
                _stop(pool)
            else:
                pool.shutdown(wait=True)
