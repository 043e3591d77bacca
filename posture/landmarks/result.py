"""The landmark result: where the body is, in the photo's own pixels.

Coordinate frame, used by every module: pixels of the upright full-resolution photo (EXIF
orientation applied), x to the right, y down, origin at the top-left corner of the top-left
pixel. Converted from MediaPipe's normalized coordinates once, in `posture.landmarks.passes`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from posture.landmarks.vocabulary import N_LANDMARKS, Landmark


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.float64)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class PoseLandmarks:
    """33 landmarks of one person in one photo, combined over several detection passes.

    Attributes:
        xy: (33, 2) pixel coordinates, x right, y down.
        z: (33,) MediaPipe's relative depth, in pixels of x's scale; unreliable in 2D photos.
        visibility: (33,) MediaPipe's likelihood (0..1) that the landmark is visible.
        pass_xy: (P, 33, 2) each pass's landmarks mapped back to this frame; NaN where a pass
            found no person. Their spread is the raw material of per-metric uncertainty.
        image_size: (width, height) of the photo in pixels.
        manual: landmarks placed by hand by a clinician (their passes are set to the new point).
        floor_px: SD (pixels, per axis) with which the photo's resolution and blur allow any
            landmark to be located at best (`posture.sharpness.resolution_floor`).
    """

    xy: np.ndarray
    z: np.ndarray
    visibility: np.ndarray
    pass_xy: np.ndarray
    image_size: tuple[int, int]
    manual: frozenset[Landmark] = field(default_factory=frozenset)
    floor_px: float = 0.0

    def __post_init__(self) -> None:
        for name, shape in (("xy", (N_LANDMARKS, 2)), ("z", (N_LANDMARKS,)),
                            ("visibility", (N_LANDMARKS,))):
            arr = getattr(self, name)
            if np.shape(arr) != shape:
                raise ValueError(f"{name} must have shape {shape}, got {np.shape(arr)}")
            object.__setattr__(self, name, _frozen(arr))
        pass_xy = np.asarray(self.pass_xy, dtype=np.float64)
        if pass_xy.ndim != 3 or pass_xy.shape[1:] != (N_LANDMARKS, 2):
            raise ValueError(f"pass_xy must have shape (P, 33, 2), got {pass_xy.shape}")
        object.__setattr__(self, "pass_xy", _frozen(pass_xy))

    @property
    def passes(self) -> int:
        return int(self.pass_xy.shape[0])

    def inside_image(self, lm: Landmark) -> bool:
        x, y = self.xy[lm]
        w, h = self.image_size
        return bool(0.0 <= x <= w and 0.0 <= y <= h)

    def moved(self, lm: Landmark, x: float, y: float) -> PoseLandmarks:
        """A copy with one landmark placed by hand; it is marked manual and counts as visible."""
        xy = self.xy.copy()
        xy[lm] = (x, y)
        pass_xy = self.pass_xy.copy()
        pass_xy[:, lm] = (x, y)
        vis = self.visibility.copy()
        vis[lm] = 1.0
        return replace(self, xy=xy, pass_xy=pass_xy, visibility=vis,
                       manual=self.manual | {Landmark(lm)})

    @classmethod
    def single(cls, xy: np.ndarray, image_size: tuple[int, int],
               visibility: np.ndarray | None = None) -> PoseLandmarks:
        """A one-pass result from pixel coordinates (synthetic skeletons, manual entry)."""
        xy = np.asarray(xy, dtype=np.float64)
        vis = np.ones(N_LANDMARKS) if visibility is None else visibility
        return cls(xy=xy, z=np.zeros(N_LANDMARKS), visibility=vis, pass_xy=xy[None],
                   image_size=image_size)
