"""MediaPipe Pose (full model, bundled in mediapipe 0.10.21): the only module importing mediapipe.

The full model (`model_complexity=1`) is the one shipped inside the wheel; lite and heavy are
downloaded at run time, which fails offline, so they are never used. A MediaPipe graph is not
safe to call from two threads at once, but its inference releases the GIL: a small pool of
instances, one per core, serves threads (Streamlit sessions, parallel passes) safely and in
parallel.

Besides the Pose solution's graph, `count_people` runs its first stage alone: the bundled
person detector (`pose_detection.tflite`, MediaPipe's `PoseDetectionCpu` subgraph), which
reports every person it sees where the Pose graph keeps only the most prominent one.
"""

from __future__ import annotations

import os
import queue
import threading
from contextlib import contextmanager

import numpy as np

from posture.landmarks.detector import RawPose

# The person detector's score threshold: the Pose solution's default min_detection_confidence.
MIN_DETECTION_SCORE = 0.5

# The Pose solution's first stage on its own; the node name addresses its score threshold.
_PEOPLE_GRAPH = """
input_stream: "image"
output_stream: "detections"
node {
  name: "people"
  calculator: "PoseDetectionCpu"
  input_stream: "IMAGE:image"
  output_stream: "DETECTIONS:detections"
}
"""

# Graph kinds, each with its own pool.
_POSE, _POSE_WITH_MASK, _PEOPLE = "pose", "pose with mask", "people"


class MediaPipePoseDetector:
    """A thread-safe pool of MediaPipe Pose graphs in static-image mode (deterministic)."""

    def __init__(self, parallelism: int | None = None) -> None:
        self.parallelism = max(1, parallelism or min(os.cpu_count() or 1, 4))
        self._pools: dict[str, queue.LifoQueue] = {}
        self._created: dict[str, int] = {}
        self._lock = threading.Lock()

    def _new_graph(self, kind: str):
        import mediapipe as mp  # imported on first use: importing posture loads no model

        if kind == _PEOPLE:
            from google.protobuf import text_format
            from mediapipe.framework import calculator_pb2
            from mediapipe.python.solution_base import SolutionBase

            config = text_format.Parse(_PEOPLE_GRAPH, calculator_pb2.CalculatorGraphConfig())
            return SolutionBase(
                graph_config=config,
                calculator_params={
                    "people__TensorsToDetectionsCalculator.min_score_thresh": MIN_DETECTION_SCORE
                },
                outputs=["detections"],
            )
        return mp.solutions.pose.Pose(
            static_image_mode=True,
            model_complexity=1,
            enable_segmentation=kind == _POSE_WITH_MASK,
            min_detection_confidence=MIN_DETECTION_SCORE,
        )

    @contextmanager
    def _graph(self, kind: str):
        with self._lock:
            pool = self._pools.setdefault(kind, queue.LifoQueue())
            if pool.empty() and self._created.get(kind, 0) < self.parallelism:
                self._created[kind] = self._created.get(kind, 0) + 1
                pool.put(None)  # placeholder: created below, outside the lock
        graph = pool.get()
        try:
            if graph is None:
                graph = self._new_graph(kind)
            yield graph
        finally:
            pool.put(graph)

    def count_people(self, rgb: np.ndarray) -> int:
        with self._graph(_PEOPLE) as graph:
            result = graph.process({"image": np.ascontiguousarray(rgb)})
        return len(result.detections or ())

    def detect(self, rgb: np.ndarray, *, with_mask: bool = False) -> RawPose | None:
        h, w = rgb.shape[:2]
        with self._graph(_POSE_WITH_MASK if with_mask else _POSE) as graph:
            result = graph.process(np.ascontiguousarray(rgb))
        if result.pose_landmarks is None:
            return None
        raw = np.array([(p.x, p.y, p.z, p.visibility) for p in result.pose_landmarks.landmark])
        # MediaPipe normalizes x by width and y by height: back to pixels once, here.
        xy = raw[:, :2] * (w, h)
        mask = None
        if with_mask and result.segmentation_mask is not None:
            mask = np.asarray(result.segmentation_mask, dtype=np.float32)
        return RawPose(xy=xy, z=raw[:, 2] * w, visibility=raw[:, 3], mask=mask)


_default: MediaPipePoseDetector | None = None
_default_lock = threading.Lock()


def default_detector() -> MediaPipePoseDetector:
    """The process-wide detector: graphs are created on first use and reused."""
    global _default
    with _default_lock:
        if _default is None:
            _default = MediaPipePoseDetector()
        return _default
