"""Synthetic skeletons with known angles, in photo pixels (x right, y down)."""

from __future__ import annotations

import numpy as np

from posture.landmarks.result import PoseLandmarks
from posture.landmarks.vocabulary import MIRROR_ORDER, N_LANDMARKS
from posture.landmarks.vocabulary import Landmark as L

SIZE = (1000, 1400)


def _line(center, half_width, tilt_deg):
    """Left and right points of a level-or-tilted line, front view (left on image right)."""
    t = np.deg2rad(tilt_deg)
    d = half_width * np.array([np.cos(t), -np.sin(t)])
    return center + d, center - d


def front(shoulder_tilt=0.0, pelvic_tilt=0.0, head_tilt=0.0, lean=0.0, head_shift=0.0,
          knee_in=0.0, cx=500.0) -> np.ndarray:
    """A front-view skeleton (33, 2). knee_in: px each knee moves toward the midline."""
    xy = np.zeros((N_LANDMARKS, 2))
    hip_c = np.array([cx, 700.0])
    lean_r = np.deg2rad(lean)
    sh_c = hip_c + 300 * np.array([np.sin(lean_r), -np.cos(lean_r)])
    xy[L.LEFT_HIP], xy[L.RIGHT_HIP] = _line(hip_c, 60, pelvic_tilt)
    xy[L.LEFT_SHOULDER], xy[L.RIGHT_SHOULDER] = _line(sh_c, 110, shoulder_tilt)
    head_c = np.array([cx + head_shift, 230.0])
    xy[L.LEFT_EAR], xy[L.RIGHT_EAR] = _line(head_c, 45, head_tilt)
    xy[L.NOSE] = head_c + (0, 10)
    for i, (lm_l, lm_r) in enumerate(((L.LEFT_EYE_INNER, L.RIGHT_EYE_INNER),
                                      (L.LEFT_EYE, L.RIGHT_EYE),
                                      (L.LEFT_EYE_OUTER, L.RIGHT_EYE_OUTER))):
        xy[lm_l], xy[lm_r] = head_c + (10 + 8 * i, -12), head_c + (-10 - 8 * i, -12)
    xy[L.MOUTH_LEFT], xy[L.MOUTH_RIGHT] = head_c + (12, 30), head_c + (-12, 30)
    for side, sign in (("LEFT", 1), ("RIGHT", -1)):
        hip = xy[L[f"{side}_HIP"]]
        xy[L[f"{side}_KNEE"]] = (hip[0] - sign * knee_in, 950.0)
        xy[L[f"{side}_ANKLE"]] = (hip[0], 1200.0)
        xy[L[f"{side}_HEEL"]] = (hip[0], 1215.0)
        xy[L[f"{side}_FOOT_INDEX"]] = (hip[0] + sign * 20, 1235.0)
        sh = xy[L[f"{side}_SHOULDER"]]
        xy[L[f"{side}_ELBOW"]] = sh + (sign * 20, 250)
        xy[L[f"{side}_WRIST"]] = sh + (sign * 25, 480)
        for j, name in enumerate(("PINKY", "INDEX", "THUMB")):
            xy[L[f"{side}_{name}"]] = sh + (sign * (20 + 5 * j), 520)
    return xy


def side(fha=60.0, trunk_lean=0.0, knee_flex_px=0.0, facing_right=True) -> np.ndarray:
    """A side-view skeleton facing image-right (right side near), or mirrored to face left.

    fha: forward-head angle at the shoulder (90 = ear straight above the shoulder).
    knee_flex_px: how far anterior the knee lies of the hip-ankle line.
    """
    xy = np.zeros((N_LANDMARKS, 2))
    ankle = np.array([500.0, 1200.0])
    hip = np.array([500.0, 700.0])
    t = np.deg2rad(trunk_lean)
    sh = hip + 300 * np.array([np.sin(t), -np.cos(t)])
    a = np.deg2rad(fha)
    ear = sh + 150 * np.array([np.cos(a), -np.sin(a)])
    for near, dx in (("RIGHT", 0.0), ("LEFT", -4.0)):
        xy[L[f"{near}_ANKLE"]] = ankle + (dx, 0)
        xy[L[f"{near}_HIP"]] = hip + (dx, 0)
        xy[L[f"{near}_KNEE"]] = (500.0 + knee_flex_px + dx, 950.0)
        xy[L[f"{near}_SHOULDER"]] = sh + (dx, 0)
        xy[L[f"{near}_EAR"]] = ear + (dx, 0)
        xy[L[f"{near}_HEEL"]] = ankle + (dx - 15, 15)
        xy[L[f"{near}_FOOT_INDEX"]] = ankle + (dx + 60, 35)
        xy[L[f"{near}_ELBOW"]] = sh + (dx, 250)
        xy[L[f"{near}_WRIST"]] = sh + (dx + 10, 480)
        for name in ("EYE_INNER", "EYE", "EYE_OUTER"):
            xy[L[f"{near}_{name}"]] = ear + (dx + 40, -15)
        for name in ("PINKY", "INDEX", "THUMB"):
            xy[L[f"{near}_{name}"]] = sh + (dx + 10, 520)
    xy[L.NOSE] = ear + (60, 5)
    xy[L.MOUTH_LEFT] = xy[L.MOUTH_RIGHT] = ear + (45, 35)
    return xy if facing_right else mirror(xy)


# Anatomical points of a side view facing image-right (x, y in photo pixels), back at smaller
# x: a neck 30 px deep and a lumbar curve 40 px deep from the thoracic apex's vertical.
SIDE_POINTS = {
    "vertex": (520.0, 170.0), "tragus": (545.0, 262.0), "cervical_apex": (470.0, 300.0),
    "c7": (455.0, 345.0), "thoracic_apex": (440.0, 440.0), "lumbar_apex": (480.0, 620.0),
    "sacral_point": (445.0, 740.0), "sole": (500.0, 1215.0),
    "ict": (450.0, 380.0), "ict_tangent": (440.0, 420.0),
    "itl": (460.0, 540.0), "itl_tangent": (470.0, 580.0),
    "ils": (465.0, 690.0), "ils_tangent": (450.0, 720.0),
}


def side_points(facing_right: bool = True, sd_px: float = 2.0, width: float = SIZE[0]) -> dict:
    """SIDE_POINTS as AnatomicalPoints (mirrored when facing image-left)."""
    from posture.outline.points import found

    return {name: found(name, x if facing_right else width - x, y, sd_px)
            for name, (x, y) in SIDE_POINTS.items()}


# Anatomical points of a front view (x, y in photo pixels; patient's left on image right), for
# front(): left acromion 6 px higher, right waist 10 px higher, the left arm-trunk gap 8 px
# wider; ASIS and PSIS as if placed by hand.
FRONT_POINTS = {
    "acromion_left": (640.0, 354.0), "acromion_right": (360.0, 360.0),
    "waist_left": (585.0, 580.0), "waist_right": (415.0, 570.0),
    "waist_arm_left": (625.0, 580.0), "waist_arm_right": (447.0, 570.0),
    "trochanter_left": (598.0, 720.0), "trochanter_right": (402.0, 722.0),
    "asis_left": (560.0, 660.0), "asis_right": (440.0, 664.0),
    "psis_left": (530.0, 665.0), "psis_right": (470.0, 663.0),
}


def front_points(sd_px: float = 2.0) -> dict:
    """FRONT_POINTS as AnatomicalPoints."""
    from posture.outline.points import found

    return {name: found(name, x, y, sd_px) for name, (x, y) in FRONT_POINTS.items()}


def mirror(xy: np.ndarray, width: float = SIZE[0]) -> np.ndarray:
    """The skeleton a detector reports on the left-right mirrored photo: positions reflected,
    and each landmark named by the side it now appears to be on."""
    out = xy.copy()
    out[:, 0] = width - out[:, 0]
    return out[list(MIRROR_ORDER)]


def as_back(xy: np.ndarray, width: float = SIZE[0]) -> np.ndarray:
    """The same body photographed from behind: positions reflected, names kept (the patient's
    left now appears on the image's left)."""
    out = xy.copy()
    out[:, 0] = width - out[:, 0]
    return out


def landmarks(xy: np.ndarray, size=SIZE, visibility=None) -> PoseLandmarks:
    return PoseLandmarks.single(xy, size, visibility)
