"""Which way the body faces the camera: front, back or side (and which side), from landmarks.

Geometry, not learning: seen from the front or back, the shoulders and hips are wide compared
with the torso's length (shoulder width is about 0.8 of the shoulder-to-hip length in adults,
hip-joint width about 0.4); seen from the side both collapse toward zero. Between the two bands
the subject is turned obliquely, and no view's metrics can be trusted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posture.landmarks.result import PoseLandmarks
from posture.landmarks.vocabulary import Landmark as L

# (shoulder width + hip width) / 2 / torso length. Square to the camera it is about 0.6; a body
# turned by angle a shows cos(a) of it, so 0.3 is turned about 60 deg and 0.45 about 40 deg.
SIDE_MAX_RATIO = 0.30
FRONT_MIN_RATIO = 0.45
# Mean visibility of the face landmarks below which the face is taken to point away.
FACE_HIDDEN = 0.5
_FACE = (L.NOSE, L.LEFT_EYE, L.RIGHT_EYE, L.MOUTH_LEFT, L.MOUTH_RIGHT)



@dataclass(frozen=True)
class ViewClass:
    """A photo's view.

    Attributes:
        view: "front", "back", "side" or "oblique" (turned between front and side).
        facing: for side views, the image direction the patient faces: "image-right" or
            "image-left"; None otherwise. Facing image-right shows the patient's right side.
        width_ratio: the body's mean shoulder/hip width over its torso length (0 = side-on).
        reason: one line for the clinician.
    """

    view: str
    facing: str | None
    width_ratio: float
    reason: str

    @property
    def forward(self) -> int:
        """+1 if anatomical forward is image +x, -1 if image -x (side views only)."""
        if self.facing is None:
            raise ValueError("forward is defined for side views only")
        return 1 if self.facing == "image-right" else -1

    @property
    def left_on_image_right(self) -> bool:
        """True in a front view: the patient's left side is on the image's right."""
        return self.view != "back"


def _mid(xy: np.ndarray, a: L, b: L) -> np.ndarray:
    return (xy[a] + xy[b]) / 2.0


def width_ratio(lm: PoseLandmarks) -> float:
    xy = lm.xy
    torso = float(np.linalg.norm(_mid(xy, L.LEFT_SHOULDER, L.RIGHT_SHOULDER)
                                 - _mid(xy, L.LEFT_HIP, L.RIGHT_HIP)))
    widths = (abs(xy[L.LEFT_SHOULDER, 0] - xy[L.RIGHT_SHOULDER, 0])
              + abs(xy[L.LEFT_HIP, 0] - xy[L.RIGHT_HIP, 0])) / 2.0
    return float(widths / torso) if torso > 0 else 0.0


def side_facing(lm: PoseLandmarks) -> str:
    """Which image direction the face and feet point: nose ahead of the ears, toes ahead of
    the heels. Each cue is weighted by its length relative to the torso."""
    xy = lm.xy
    torso = float(np.linalg.norm(_mid(xy, L.LEFT_SHOULDER, L.RIGHT_SHOULDER)
                                 - _mid(xy, L.LEFT_HIP, L.RIGHT_HIP))) or 1.0
    face = xy[L.NOSE, 0] - _mid(xy, L.LEFT_EAR, L.RIGHT_EAR)[0]
    feet = (_mid(xy, L.LEFT_FOOT_INDEX, L.RIGHT_FOOT_INDEX)[0]
            - _mid(xy, L.LEFT_HEEL, L.RIGHT_HEEL)[0])
    # The face cue is the more reliable (feet may be hidden); it counts double.
    vote = (2.0 * face + feet) / torso
    return "image-right" if vote >= 0 else "image-left"


def classify_view(lm: PoseLandmarks) -> ViewClass:
    """Classify one photo's view from its landmarks."""
    ratio = width_ratio(lm)
    if ratio <= SIDE_MAX_RATIO:
        facing = side_facing(lm)
        return ViewClass("side", facing, ratio, f"side view, patient facing {facing}")
    if ratio < FRONT_MIN_RATIO:
        return ViewClass("oblique", None, ratio,
                         "the body is turned obliquely to the camera: neither a front nor a "
                         "side view; square the patient to the camera")
    face_vis = float(np.mean(lm.visibility[list(_FACE)]))
    left_on_right = lm.xy[L.LEFT_SHOULDER, 0] > lm.xy[L.RIGHT_SHOULDER, 0]
    if left_on_right and face_vis >= FACE_HIDDEN:
        return ViewClass("front", None, ratio, "front view")
    if not left_on_right:
        return ViewClass("back", None, ratio,
                         "back view: the patient's left is on the image's left")
    return ViewClass("back", None, ratio,
                     "back view: the face is not visible")


# Beyond this the body is not standing in the photo's frame: 45 deg is half-way to lying on
# its side, and 135 half-way from there to upside down. A standing patient's axis is within a
# few degrees of vertical (BODY_AXIS_WARNING_DEG); a photo turned by 90 or 180 deg reads
# about +/-90 or 180 (tests/test_harden.py measures every sample photo turned so).
ON_SIDE_DEG = 45.0
UPSIDE_DOWN_DEG = 135.0
_LOWER = ((L.LEFT_ANKLE, L.RIGHT_ANKLE), (L.LEFT_HIP, L.RIGHT_HIP))


def body_axis(lm: PoseLandmarks, min_visibility: float = 0.5) -> tuple[float, str]:
    """The body's long axis: the angle (degrees, counter-clockwise as displayed, -180..180) of
    the line from the mid-ankles up to the mid-shoulders, 0 when the shoulders stand straight
    above the ankles; and the lower point used ("ankles", or "hips" when both ankles are hidden
    or outside the photo). Positive: the top of the body leans to the image's left, as when
    the camera is rolled counter-clockwise (the sign of `posture.camera`'s roll).
    """
    xy = lm.xy
    top = _mid(xy, L.LEFT_SHOULDER, L.RIGHT_SHOULDER)
    lower, name = _LOWER[1], "hips"
    ankles = _LOWER[0]
    if any(lm.visibility[a] >= min_visibility and lm.inside_image(a) for a in ankles):
        lower, name = ankles, "ankles"
    v = top - _mid(xy, *lower)
    return float(np.degrees(np.arctan2(-v[0], -v[1]))), name


def check_upright(lm: PoseLandmarks) -> float:
    """The body axis (see `body_axis`) of a body standing upright in the photo.

    Raises OrientationError: the head is below the feet (|axis| > UPSIDE_DOWN_DEG) or the body
    lies across the photo (|axis| > ON_SIDE_DEG). Tilts measured then would be against the
    wrong axis: a back view's tilts change sign, a side view's forward head reads -81 deg.
    """
    from posture.errors import OrientationError

    axis, _ = body_axis(lm)
    if abs(axis) > UPSIDE_DOWN_DEG:
        raise OrientationError(
            "The body is upside down in the photo (head below the feet): turn the photo "
            "upright (check the camera's orientation setting) and analyse it again")
    if abs(axis) > ON_SIDE_DEG:
        turn = "clockwise" if axis > 0 else "counter-clockwise"
        raise OrientationError(
            f"The body lies on its side in the photo (its axis is {abs(axis):.0f} deg from "
            f"vertical): turn the photo a quarter {turn} so the patient stands upright")
    return axis
