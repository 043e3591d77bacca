"""A back photo for the tests, made from a real front photo.

None of the licensed sample sets holds a photo taken from behind. A back photo shows the body as
a mirrored front photo does (the patient's left on the image's left) with the face hidden, so
the stand-in is the front photo mirrored, and MediaPipe's landmarks on it relabelled the way a
back view is labelled: each left landmark named right (and back) and the face not visible.
Everything after the landmark stage (the view check, the back frame, the outline, the metrics,
the records) then runs as on a real back photo; what this cannot test is how MediaPipe itself
labels a real back photo.

Usage: `photo = back_photo(path)` (bytes: `back_photo_bytes`), and the `seen_from_behind`
context, which makes `posture.assessment` relabel the landmarks of exactly those pixels.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from posture.images import Photo, load_photo
from posture.landmarks.vocabulary import MIRROR_ORDER
from posture.landmarks.vocabulary import Landmark as L

_FACE = [L.NOSE, L.LEFT_EYE_INNER, L.LEFT_EYE, L.LEFT_EYE_OUTER, L.RIGHT_EYE_INNER, L.RIGHT_EYE,
         L.RIGHT_EYE_OUTER, L.MOUTH_LEFT, L.MOUTH_RIGHT]


def back_photo_bytes(front: str | Path) -> bytes:
    """The front photo mirrored, as a lossless PNG (its pixels decode exactly)."""
    rgb = load_photo(front).rgb[:, ::-1]
    ok, png = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))
    assert ok
    return png.tobytes()


def back_photo(front: str | Path) -> Photo:
    return load_photo(back_photo_bytes(front), name=f"{Path(front).stem}_back.png")


def _as_seen_from_behind(detection):
    lm = detection.landmarks
    order = list(MIRROR_ORDER)
    visibility = lm.visibility[order].copy()
    visibility[_FACE] = 0.05
    relabelled = replace(lm, xy=lm.xy[order], z=lm.z[order], visibility=visibility,
                         pass_xy=lm.pass_xy[:, order])
    return replace(detection, landmarks=relabelled)


@contextmanager
def seen_from_behind(monkeypatch, *photos: Photo | bytes):
    """Within it, landmarks found on these photos' pixels are labelled as in a back view."""
    import posture.assessment as assessment

    pixels = [(p if isinstance(p, Photo) else load_photo(p)).rgb for p in photos]
    detect = assessment.detect_landmarks

    def detect_landmarks(rgb, *args, **kwargs):
        detection = detect(rgb, *args, **kwargs)
        if any(rgb.shape == back.shape and np.array_equal(rgb, back) for back in pixels):
            return _as_seen_from_behind(detection)
        return detection

    with monkeypatch.context() as patch:
        patch.setattr(assessment, "detect_landmarks", detect_landmarks)
        yield
