"""MediaPipe Pose (full model, bundled in mediapipe 0.10.21): the only module importing mediapipe.

The full model (`model_complexity=1`) is the one shipped inside the wheel; lite and heavy are
downloaded at run time, which fails offline, so they are never used. A MediaPipe graph is not
safe to call from two threads at once, but its inference releases the GIL: a small pool of
instances, one per core, serves threads (Streamlit sessions, parallel passes) safely and in
parallel.

The graph is the Pose solution's own (`pose_landmark_cpu.binarypb`, built with the side inputs
and thresholds `mp.solutions.pose.Pose` gives it in static-image mode) with one more output:
the detections of its first stage, the person detector, which sees every person where the
landmarks follow only the first. Same landmarks and mask, bit for bit; the count comes free.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from contextlib import contextmanager

import numpy as np

from posture.landmarks.detector import RawPose

# The person detector's score threshold and the landmark model's presence threshold: the Pose
# solution's defaults (min_detection_confidence, min_tracking_confidence).
MIN_DETECTION_SCORE = 0.5
MIN_PRESENCE_SCORE = 0.5


def _pose_graph(with_mask: bool):
    import mediapipe as mp  # imported on first use: importing posture loads no model
    from mediapipe.framework import calculator_pb2
    from mediapipe.python.solution_base import SolutionBase

    path = os.path.join(os.path.dirname(mp.__file__), "modules", "pose_landmark",
                        "pose_landmark_cpu.binarypb")
    config = calculator_pb2.CalculatorGraphConfig()
    with open(path, "rb") as f:
        config.ParseFromString(f.read())
    config.output_stream.append("DETECTIONS:pose_detections")  # every person detected
    return SolutionBase(
        graph_config=config,
        side_inputs={"model_complexity": 1, "enable_segmentation": with_mask,
                     "smooth_landmarks": False, "smooth_segmentation": False,
                     "use_prev_landmarks": False},
        calculator_params={
            "posedetectioncpu__TensorsToDetectionsCalculator.min_score_thresh":
                MIN_DETECTION_SCORE,
            "poselandmarkbyroicpu__tensorstoposelandmarksandsegmentation__"
            "ThresholdingCalculator.threshold": MIN_PRESENCE_SCORE,
        },
        outputs=["pose_landmarks", "segmentation_mask", "pose_detections"],
    )


class MediaPipePoseDetector:
    """A thread-safe pool of MediaPipe Pose graphs in static-image mode (deterministic)."""

    def __init__(self, parallelism: int | None = None) -> None:
        self.parallelism = max(1, parallelism or min(os.cpu_count() or 1, 4))
        self._pools: dict[bool, queue.LifoQueue] = {}
        self._created: dict[bool, int] = {False: 0, True: 0}
        self._lock = threading.Lock()

    def _new_graph(self, with_mask: bool):
        return _pose_graph(with_mask)

    @contextmanager
    def _graph(self, with_mask: bool):
        with self._lock:
            pool = self._pools.setdefault(with_mask, queue.LifoQueue())
            if pool.empty() and self._created[with_mask] < self.parallelism:
                self._created[with_mask] += 1
                pool.put(None)  # placeholder: created below, outside the lock
        graph = pool.get()
        try:
            if graph is None:
                graph = self._new_graph(with_mask)
            yield graph
        finally:
            pool.put(graph)

    def detect(self, rgb: np.ndarray, *, with_mask: bool = False) -> RawPose | None:
        h, w = rgb.shape[:2]
        with self._graph(with_mask) as graph:
            result = graph.process({"image": np.ascontiguousarray(rgb)})
        if result.pose_landmarks is None:
            return None
        raw = np.array([(p.x, p.y, p.z, p.visibility) for p in result.pose_landmarks.landmark])
        # MediaPipe normalizes x by width and y by height: back to pixels once, here.
        xy = raw[:, :2] * (w, h)
        mask = None
        if with_mask and result.segmentation_mask is not None:
            mask = np.asarray(result.segmentation_mask, dtype=np.float32)
        return RawPose(xy=xy, z=raw[:, 2] * w, visibility=raw[:, 3], mask=mask,
                       people=len(result.pose_detections or ()))

    def warm_up(self) -> None:
        """Create every graph the pool may use and run each once, so that no analysis waits
        for a model load or a graph's first run (about 1-2 s each). For a server, at start."""
        blank = np.zeros((64, 64, 3), np.uint8)
        for with_mask in (False, True):
            with contextlib.ExitStack() as held:  # hold all at once: each is a new graph
                graphs = [held.enter_context(self._graph(with_mask))
                          for _ in range(self.parallelism)]
                for graph in graphs:
                    graph.process({"image": blank})


_default: MediaPipePoseDetector | None = None
_default_lock = threading.Lock()


def default_detector() -> MediaPipePoseDetector:
    """The process-wide detector: graphs are created on first use and reused."""
    global _default
    with _default_lock:
        if _default is None:
            _default = MediaPipePoseDetector()
        return _default
