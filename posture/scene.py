"""The work on a photo that needs no landmarks, run beside the pose model.

The pose model takes one core for its whole pass. Meanwhile a second core finds the photo's
straight edges (`posture.camera`: the camera level, the costliest step after the model), so
that work adds little to the time of an analysis (benchmarks/speed.py).
"""

from __future__ import annotations

import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import numpy as np

from posture.camera import StraightEdges, find_straight_edges
from posture.landmarks.detector import PoseDetector


@functools.cache
def one_blas_thread() -> None:
    """Limit numpy's BLAS to one thread, in the whole process, once.

    OpenBLAS starts a thread per core and keeps them spinning after every call. The matrices
    here are tiny (the camera fit), so those threads only took the second core from the pose
    model: a 12 MP photo at 1 pass used 138 ms of CPU for 70 ms of wall time, 85 for 57 with
    one thread (benchmarks/speed.py measures both). A program using posture for big matrix
    work of its own would have to raise the limit again (threadpoolctl).
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


_beside: ThreadPoolExecutor | None = None
_beside_lock = threading.Lock()


def _beside_pool() -> ThreadPoolExecutor:
    """Threads for the scene work: one per core, shared by every analysis in the process (app
    sessions too), started on first use. The pose model runs on one core; this uses another."""
    global _beside
    with _beside_lock:
        if _beside is None:
            _beside = ThreadPoolExecutor(max_workers=os.cpu_count() or 1,
                                         thread_name_prefix="posture-beside")
        return _beside


class _Once:
    """A call made once, by whichever thread asks first; a later caller waits for its result."""

    def __init__(self, call: Callable[[], Any]) -> None:
        self._call = call
        self._claimed = False
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._value: Any = None
        self._error: BaseException | None = None

    def run(self) -> None:
        with self._lock:
            if self._claimed:
                return
            self._claimed = True
        try:
            self._value = self._call()
        except BaseException as exc:  # handed to whoever asks for the result
            self._error = exc
        finally:
            self._done.set()

    def result(self) -> Any:
        self.run()
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value


class SceneWork:
    """What is learnt from a photo without its landmarks, started before them: its straight
    edges (`posture.camera.find_straight_edges`), for the camera level.

    With a detector for more than one core, a thread beside the pose model finds them; if every
    such thread is busy (other analyses) when the edges are wanted, the calling thread finds
    them itself rather than wait. With one core (a batch worker process), they are found on the
    calling thread when asked for.
    """

    def __init__(self, rgb: np.ndarray, detector: PoseDetector) -> None:
        self._edges = _Once(functools.partial(find_straight_edges, rgb))
        self._beside = (_beside_pool().submit(self._edges.run)
                        if detector.parallelism > 1 else None)

    def edges(self) -> StraightEdges:
        return self._edges.result()

    def cancel(self) -> None:
        """Drop the work beside if it has not started (the analysis failed)."""
        if self._beside is not None:
            self._beside.cancel()
