"""The detector interface: one RGB array in, 33 raw landmarks (or None) out.

Only `posture.landmarks.mediapipe_pose` imports mediapipe; another detector (a Tasks-API model a
clinic supplies, say) can stand beside it by implementing `PoseDetector`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True, eq=False)
class RawPose:
    """One detection pass on one image.

    Attributes:
        xy: (33, 2) pixel coordinates in the image that was passed in (x right, y down).
        z: (33,) relative depth, pixels of x's scale.
        visibility: (33,) likelihood in 0..1 that each landmark is visible.
        mask: (H, W) float32 person-segmentation probability, when it was asked for.
        people: how many people the detector's person-finding stage saw (the landmarks follow
            one of them); None if the detector cannot tell. Above 1 it is only a hint, to be
            confirmed (`posture.landmarks.quality.another_person`).
    """

    xy: np.ndarray
    z: np.ndarray
    visibility: np.ndarray
    mask: np.ndarray | None = None
    people: int | None = None


class PoseDetector(Protocol):
    """Finds one person's 33 landmarks. Implementations must be safe to call from threads."""

    #: How many detections can usefully run at once (separate model instances).
    parallelism: int

    def detect(self, rgb: np.ndarray, *, with_mask: bool = False) -> RawPose | None:
        """Landmarks of the most prominent person in an RGB uint8 image, or None."""
        ...
