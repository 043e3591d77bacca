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
  subject that kills a worker on its own gets an error row and the batch goes on. If lone
  retries keep crashing (MAX_CRASHES_IN_A_ROW), the workers cannot run at all: PostureError.
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

from posture.errors import PostureError

_detector = None

# Lone retries that crash one after another, with no subject finishing between them: the
# workers themselves cannot run (a broken install, a script without a main guard), not a
# photo. The batch stops with an error instead of marking every subject as crashed.
MAX_CRASHES_IN_A_ROW = 3

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


def _work(job, options, filing=None):
    from posture.batch import analyse_job

    return job, analyse_job(job, options, detector=_detector, filing=filing)


# Worker processes run one subject at a time on one core. A BLAS or OpenMP library with its
# own thread pool would spin on every core in every worker: numpy's OpenBLAS did (camera-roll
# estimation's many small matrix products wake it), taking 1.7x the CPU time per photo; the
# 2-worker steady speed-up at 1 pass went from 1.63x to 1.89x without it (benchmarks/batch.py).
# Read by those libraries when they load, so it is set for the children's start.
_ONE_THREAD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
_spawn_lock = threading.Lock()


@contextlib.contextmanager
def _starting_workers():
    """Workers started inside ignore SIGINT from birth (SIG_IGN is inherited; main thread
    only) and get one-thread BLAS settings (unless the user set their own)."""
    with _spawn_lock:
        added = {k: v for k, v in _ONE_THREAD_ENV.items() if k not in os.environ}
        os.environ.update(added)
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            yield
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
            for k in added:
                os.environ.pop(k, None)


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
    crashed: list = []          # crashed alone; written once another subject succeeds
    try:
        while todo or suspects or pending:
            if pool is None:
                with _starting_workers():
                    pool = _new_pool(workers)
            with _starting_workers():
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
                    for bad in crashed:   # the workers do run: those photos are at fault
                        yield bad, [error_row(bad, CRASH_MESSAGE)]
                    crashed.clear()
                    yield future.result()
                elif isinstance(exc, PostureError):
                    # A photo's errors are rows: this is beyond the photos (the records
                    # refused a visit of `batch --save`), and the next subject would fail too.
                    raise exc
                elif not isinstance(exc, BrokenProcessPool):  # e.g. MemoryError in a worker
                    yield job, [error_row(job, f"the analysis failed ({type(exc).__name__}); "
                                               "check the photos and analyse them alone")]
                elif alone:
                    crashed.append(job)
                    if len(crashed) >= MAX_CRASHES_IN_A_ROW:
                        raise PostureError(
                            f"the worker processes crashed {len(crashed)} times in a row, on "
                            "different subjects: try --workers 1 (finished rows are kept; use "
                            "--resume)")
                else:
                    suspects.append(job)
        for bad in crashed:
            yield bad, [error_row(bad, CRASH_MESSAGE)]
    finally:
        if pool is not None:
            if pending:
                _stop(pool)
            else:
                pool.shutdown(wait=True)
