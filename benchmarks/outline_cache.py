"""Detections kept on disk between runs of the outline benchmarks.

The outline stage is a pure function of the detection (landmarks and mask), which takes nearly
all the time (18 passes of every variant of every photo). With `--cache DIR`, a benchmark
stores each detection under a hash of the image it was run on and the number of passes, so a
change to `posture/outline/` is measured again in seconds. Delete the folder when the landmark
stage changes.
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np

from posture.landmarks.passes import detect_landmarks


def cached_detection(rgb: np.ndarray, detector, passes: int, scale: float,
                     cache: Path | None):
    """`detect_landmarks(rgb, detector, passes=passes, scale=scale)`, from `cache` when there."""
    if cache is None:
        return detect_landmarks(rgb, detector, passes=passes, scale=scale)
    key = hashlib.sha1(np.ascontiguousarray(rgb).tobytes())
    key.update(f"{rgb.shape} {passes} {scale!r}".encode())
    path = Path(cache) / f"{key.hexdigest()}.pickle"
    if path.exists():
        return pickle.loads(path.read_bytes())
    d = detect_landmarks(rgb, detector, passes=passes, scale=scale)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(d))
    return d
