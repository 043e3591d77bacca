"""The one engine that turns the metric table into numbers, with status, flag and uncertainty.

Every metric is computed on the combined landmarks (its value) and on each detection pass (its
spread). Its uncertainty, one standard deviation in the metric's unit, combines two parts:

- detector noise: the standard error of the pass values (SD / sqrt(n)), how much a re-detection
  of a slightly different view of the same photo moves it (none with a single pass);
- the photo's resolution floor: every landmark jittered by the SD with which the photo's pixels
  and blur allow a point to be located (`posture.sharpness`), propagated through the metric's
  own formula by a fixed-seed Monte Carlo of MC_SAMPLES draws (deterministic).

Calibration on the sample photos (benchmarks/uncertainty.py): re-analysing a rotated or
half-resolution copy moves a tilt by less than 2 uncertainties in 92-100 % of cases. It says
nothing of bias shared by all passes (the shoulder landmark is not the acromion), nor of
posture changes between photos.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from posture.landmarks.result import PoseLandmarks
from posture.landmarks.vocabulary import MIRROR_ORDER
from posture.landmarks.vocabulary import Landmark as L
from posture.metrics import geometry as g
from posture.metrics.definitions import LENGTH, METRICS, PERCENT, MetricDef, Point
from posture.metrics.reference import ReferenceRange

# MediaPipe's own drawing utilities skip landmarks below 0.5 visibility; so does every metric.
MIN_VISIBILITY = 0.5
# Draws for propagating the resolution floor: the SD estimate is then good to about 5 %.
MC_SAMPLES = 200

STATUS_OK = "ok"
STATUS_NOT_VISIBLE = "not_visible"
STATUS_OUT_OF_FRAME = "out_of_frame"
STATUS_WRONG_VIEW = "wrong_view"
STATUS_NO_PHOTO = "no_photo"

FLAG_WITHIN, FLAG_OUTSIDE, FLAG_NO_RANGE = "within", "outside", "no range"
FLAG_BORDERLINE = "borderline"
# Borderline: a bound of the reference range lies within this many uncertainties of the value,
# on either side. The uncertainty is one standard deviation, and a re-analysis of the same
# posture moves a tilt by less than 2 of them in 92-100 % of cases (module docstring): within
# that band the photo cannot tell "within" from "outside", so neither is said.
BORDERLINE_UNCERTAINTIES = 2.0


def range_flag(value: float, uncertainty: float | None, ref: ReferenceRange | None) -> str:
    """"borderline" when the nearest bound of `ref` is less than BORDERLINE_UNCERTAINTIES x
    `uncertainty` from `value` (|value - bound| < 2u, inside or outside); else "within" or
    "outside"; "no range" without a range. No uncertainty: never borderline."""
    if ref is None or not ref.has_range:
        return FLAG_NO_RANGE
    bounds = [b for b in (ref.low, ref.high) if b is not None]
    if uncertainty and min(abs(value - b) for b in bounds) < BORDERLINE_UNCERTAINTIES * uncertainty:
        return FLAG_BORDERLINE
    return FLAG_WITHIN if ref.contains(value) else FLAG_OUTSIDE

# The nose's depth ahead of the ear axis over half the ear distance, for MediaPipe's own nose
# and ear landmarks (not the tragion): measured on the four sample people with a front and a
# side photo (sample_images/, nose-to-ear depth in the side photo vs ear distance in the front
# photo, each over body height): 1.05, 1.35, 1.35, 1.41. Head rotation therefore carries a
# scale uncertainty of about 20 % on top of its stated uncertainty (said in its note).
HEAD_DEPTH_RATIO = 1.3


@dataclass(frozen=True)
class Frame:
    """How the photo's image axes map to the patient: set once per photo."""

    view: str                  # "front", "back" or "side"
    lateral: int = 1           # +1: patient's left is image +x (front); -1 (back)
    forward: int = 1           # +1: patient faces image +x (side views)


Formula = Callable[[list, Frame], np.ndarray]

FORMULAS: dict[str, Formula] = {
    "tilt": lambda p, f: g.tilt(p[0], p[1]),
    "height_diff": lambda p, f: g.height_difference(p[0], p[1]),
    "tilt_difference": lambda p, f: g.tilt(p[0], p[1]) - g.tilt(p[2], p[3]),
    "lateral_lean": lambda p, f: g.lean_from_vertical(p[0], p[1], f.lateral),
    "lateral_offset": lambda p, f: g.horizontal_offset(p[0], p[1], f.lateral),
    "knee_frontal": lambda p, f: g.knee_frontal(p[0], p[1], p[2], p[3]),
    "elevation": lambda p, f: g.elevation(p[0], p[1], f.forward),
    "forward_offset": lambda p, f: g.horizontal_offset(p[0], p[1], f.forward),
    "sagittal_lean": lambda p, f: g.lean_from_vertical(p[0], p[1], f.forward),
    "knee_sagittal": lambda p, f: g.knee_sagittal(p[0], p[1], p[2], f.forward),
    "head_yaw": lambda p, f: g.head_yaw(p[0], p[1], p[2], f.lateral, HEAD_DEPTH_RATIO),
}


@dataclass(frozen=True)
class MetricResult:
    """One measure of one photo. `value` is None unless `status` is "ok".

    value and uncertainty are in `unit`; `raw_value` is the value before camera-level
    correction (equal to value when no correction was applied).
    """

    metric: str
    label: str
    view: str
    value: float | None
    unit: str
    uncertainty: float | None
    direction: str
    status: str
    detail: str
    flag: str
    reference: str
    landmarks: tuple[L, ...]
    manual: bool = False
    raw_value: float | None = None
    corrected: bool = False


def _resolve(point: Point, swap: bool) -> tuple[L, ...]:
    lms = point if isinstance(point, tuple) else (point,)
    return tuple(L(MIRROR_ORDER[lm]) if swap else lm for lm in lms)


def _coords(xy: np.ndarray, lms: tuple[L, ...]) -> np.ndarray:
    if len(lms) == 1:
        return xy[..., lms[0], :]
    return xy[..., list(lms), :].mean(axis=-2)


def _evaluate(m: MetricDef, xy: np.ndarray, frame: Frame, swap: bool,
              cm_per_px: float | None) -> np.ndarray:
    """The metric on landmark array(s) xy of shape (..., 33, 2), in its reported unit."""
    points = [_coords(xy, _resolve(p, swap)) for p in m.points]
    value = FORMULAS[m.formula](points, frame)
    if m.unit == PERCENT:
        a, b = (_coords(xy, _resolve(p, swap)) for p in m.per)
        length = g.distance(a, b)
        value = 100.0 * value / np.where(length > 0, length, np.nan)
    elif m.unit == LENGTH and cm_per_px:
        value = value * cm_per_px
    return value


def _direction(m: MetricDef, value: float) -> str:
    if abs(value - m.neutral) < 0.05:
        return "level" if m.neutral == 0.0 else "neutral"
    return m.positive if value > m.neutral else m.negative


def _unit(m: MetricDef, cm_per_px: float | None) -> str:
    if m.unit == LENGTH:
        return "cm" if cm_per_px else "px"
    return m.unit


def _jittered(xy: np.ndarray, floor_px: float) -> np.ndarray | None:
    """MC_SAMPLES copies of the landmarks, each jittered by the resolution floor; None if 0.

    The same fixed seed every time, so a re-analysis gives the same uncertainty.
    """
    if floor_px <= 0:
        return None
    return xy + np.random.default_rng(0).normal(0.0, floor_px, (MC_SAMPLES,) + xy.shape)


def _uncertainty(m: MetricDef, pass_xy: np.ndarray, jittered: np.ndarray | None,
                 frame: Frame, swap: bool, cm_per_px: float | None) -> float | None:
    per_pass = _evaluate(m, pass_xy, frame, swap, cm_per_px)
    per_pass = per_pass[np.isfinite(per_pass)]
    noise = float(np.std(per_pass, ddof=1) / np.sqrt(per_pass.size)) if per_pass.size >= 2 else 0.0
    floor = 0.0
    if jittered is not None:
        spread = _evaluate(m, jittered, frame, swap, cm_per_px)
        spread = spread[np.isfinite(spread)]  # then np.std: np.nanstd took 3 times longer
        floor = float(np.std(spread)) if spread.size else float("nan")
    total = float(np.hypot(noise, floor))
    return total if total > 0 and np.isfinite(total) else None


def not_measured(m: MetricDef, status: str, detail: str, cm_per_px: float | None = None,
                 reference: ReferenceRange | None = None) -> MetricResult:
    return MetricResult(
        metric=m.id, label=m.label, view=m.view, value=None, unit=_unit(m, cm_per_px),
        uncertainty=None, direction="", status=status, detail=detail, flag="",
        reference=reference.describe() if reference else "", landmarks=tuple(sorted(m.landmarks())),
    )


def compute_metrics(landmarks: PoseLandmarks, frame: Frame, *,
                    ranges: dict[str, ReferenceRange],
                    cm_per_px: float | None = None,
                    roll_degrees: float | None = None,
                    min_visibility: float = MIN_VISIBILITY) -> tuple[MetricResult, ...]:
    """Every metric of the photo's view group ("front" covers front and back photos).

    roll_degrees: the camera's roll (counter-clockwise, degrees) to correct for: landmarks are
        rotated back by it about the image centre before measuring, so every angle and offset
        is taken against the scene's true vertical. `raw_value` keeps the uncorrected value.
    """
    group = "side" if frame.view == "side" else "front"
    swap = frame.view == "side" and frame.forward < 0  # facing image-left: near side is left
    xy, pass_xy = landmarks.xy, landmarks.pass_xy
    raw_xy = xy
    corrected = roll_degrees is not None  # a level camera (0.0) is a correction too
    if corrected:
        center = (landmarks.image_size[0] / 2.0, landmarks.image_size[1] / 2.0)
        xy = g.rotate_points(xy, center, -roll_degrees)
        pass_xy = g.rotate_points(pass_xy, center, -roll_degrees)
    jittered = _jittered(xy, landmarks.floor_px)
    out = []
    for m in METRICS:
        if m.view != group:
            continue
        needed = tuple(sorted({lm for p in m.points + (m.per or ()) for lm in _resolve(p, swap)}))
        ref = ranges.get(m.id)
        if m.face and frame.view == "back":
            out.append(not_measured(m, STATUS_WRONG_VIEW, "needs the face: a front photo",
                                    cm_per_px, ref))
            continue
        hidden = [lm for lm in needed if landmarks.visibility[lm] < min_visibility]
        outside = [lm for lm in needed if not landmarks.inside_image(lm)]
        if outside:
            out.append(not_measured(m, STATUS_OUT_OF_FRAME, "outside the photo: " + ", ".join(
                lm.name.lower().replace("_", " ") for lm in outside), cm_per_px, ref))
            continue
        if hidden:
            out.append(not_measured(m, STATUS_NOT_VISIBLE, "not visible enough: " + ", ".join(
                lm.name.lower().replace("_", " ") for lm in hidden), cm_per_px, ref))
            continue
        value = float(_evaluate(m, xy, frame, swap, cm_per_px))
        raw = float(_evaluate(m, raw_xy, frame, swap, cm_per_px)) if corrected else value
        uncertainty = _uncertainty(m, pass_xy, jittered, frame, swap, cm_per_px)
        if not np.isfinite(value):
            out.append(not_measured(m, STATUS_NOT_VISIBLE, "landmarks coincide", cm_per_px, ref))
            continue
        flag = range_flag(value, uncertainty, ref)
        out.append(MetricResult(
            metric=m.id, label=m.label, view=m.view, value=value, unit=_unit(m, cm_per_px),
            uncertainty=uncertainty, direction=_direction(m, value), status=STATUS_OK,
            detail=m.note, flag=flag, reference=ref.describe() if ref else "no reference range",
            landmarks=needed, manual=bool(landmarks.manual & set(needed)),
            raw_value=raw, corrected=corrected,
        ))
    return tuple(out)
