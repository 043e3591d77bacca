"""The one engine that turns the metric table into numbers, with status, flag and uncertainty.

Every metric is computed on the combined landmarks (its value) and on each detection pass (its
spread). Its uncertainty, one standard deviation in the metric's unit, combines two parts:

- detector noise: the standard error of the pass values (SD / sqrt(n)), how much a re-detection
  of a slightly different view of the same photo moves it (none with a single pass);
- the photo's resolution floor: every landmark jittered by the SD with which the photo's pixels
  and blur allow a point to be located (`posture.sharpness`), propagated through the metric's
  own formula by a fixed-seed Monte Carlo of MC_SAMPLES draws (deterministic). Anatomical
  points are jittered by their own SDs, with the errors they share drawn together: the part of
  a back point's depth SD its whole outline shares, and a tangent point's error with its
  inflection's (a tangent angle's doubt is then its slopes': drawn apart, the two points of a
  short tangent turned it by several degrees that re-analysis never showed).

Calibration on the sample photos (benchmarks/uncertainty.py): re-analysing a rotated or
half-resolution copy moves a tilt by less than 2 uncertainties in 92-100 % of cases. It says
nothing of bias shared by all passes (the shoulder landmark is not the acromion), nor of
posture changes between photos.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Callable

import numpy as np

from posture.landmarks.result import PoseLandmarks
from posture.landmarks.vocabulary import MIRROR_ORDER, N_LANDMARKS
from posture.landmarks.vocabulary import Landmark as L
from posture.metrics import geometry as g
from posture.metrics.definitions import LENGTH, METRICS, PERCENT, MetricDef, Point
from posture.metrics.reference import ReferenceRange
from posture.outline.points import ALL_POINTS, AnatomicalPoint

# Anatomical points sit after the 33 landmarks in the engine's coordinate arrays.
_POINT_INDEX = {name: N_LANDMARKS + i for i, name in enumerate(ALL_POINTS)}

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
    "depth_sum": lambda p, f: (g.horizontal_offset(p[0], p[2], f.forward)
                               + g.horizontal_offset(p[1], p[2], f.forward)),
    "tangent_angle": lambda p, f: (g.descent_angle(p[2], p[3], f.forward)
                                   - g.descent_angle(p[0], p[1], f.forward)),
    "gap_difference": lambda p, f: g.distance(p[0], p[1]) - g.distance(p[2], p[3]),
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
    points: tuple[str, ...] = ()   # anatomical points used, by name
    # The photo slot it was measured in ("front", "back", "left", "right"), or a combination
    # of two (`posture.metrics.bilateral`); set by the assessment, "" outside one.
    slot: str = ""


def _resolve(point: Point, swap: bool) -> tuple[int, ...]:
    """Indices into the engine's coordinate arrays (landmarks, then anatomical points)."""
    if isinstance(point, str):
        return (_POINT_INDEX[point],)  # side points have no side; front views never swap
    lms = point if isinstance(point, tuple) else (point,)
    return tuple(L(MIRROR_ORDER[lm]) if swap else lm for lm in lms)


def _coords(xy: np.ndarray, lms: tuple[int, ...]) -> np.ndarray:
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


def direction(m: MetricDef, value: float) -> str:
    """The patient-frame words for a value's sign ("left higher", "level")."""
    if abs(value - m.neutral) < 0.05:
        return "level" if m.neutral == 0.0 else "neutral"
    return m.positive if value > m.neutral else m.negative


def _unit(m: MetricDef, cm_per_px: float | None) -> str:
    if m.unit == LENGTH:
        return "cm" if cm_per_px else "px"
    return m.unit


def _jittered(xy: np.ndarray, floor_px: float, point_sd: np.ndarray,
              shared: tuple[tuple[int, int, np.ndarray], ...] = (),
              outline_sd: np.ndarray | None = None) -> np.ndarray | None:
    """MC_SAMPLES copies of the coordinates: landmarks jittered by the resolution floor,
    anatomical points by their own SD (point_sd, (K, 2)); None if every SD is 0.

    outline_sd: (K,) the part of each point's x SD its whole outline shares: drawn once per
    copy for all of them, the rest of the SD on its own. shared: (point, partner, correlation
    per axis) for those own parts (a tangent point with its inflection, `_shared_errors`).

    The same fixed seed every time, so a re-analysis gives the same uncertainty; the landmarks'
    draws come first, so they are the same with or without anatomical points.
    """
    if floor_px <= 0 and not np.any(point_sd > 0):
        return None
    rng = np.random.default_rng(0)
    n = N_LANDMARKS
    noise = np.zeros((MC_SAMPLES,) + xy.shape)
    if floor_px > 0:
        noise[:, :n] = rng.normal(0.0, floor_px, (MC_SAMPLES, n, 2))
    draws = rng.normal(0.0, 1.0, (MC_SAMPLES,) + point_sd.shape)
    for k, partner, rho in shared:
        draws[:, k] = rho * draws[:, partner] + np.sqrt(1.0 - rho ** 2) * draws[:, k]
    common = np.zeros(point_sd.shape[0]) if outline_sd is None else outline_sd
    own = point_sd.copy()
    own[:, 0] = np.sqrt(np.maximum(point_sd[:, 0] ** 2 - common ** 2, 0.0))
    noise[:, n:] = draws * own
    if np.any(common > 0):
        noise[:, n:, 0] += rng.normal(0.0, 1.0, (MC_SAMPLES, 1)) * common
    return xy + noise


def _point_arrays(points: Mapping[str, AnatomicalPoint] | None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(K, 2) positions (NaN where not ok), (K, 2) SDs and (K,) outline-shared x SDs of every
    anatomical point."""
    xy = np.full((len(ALL_POINTS), 2), np.nan)
    sd = np.zeros((len(ALL_POINTS), 2))
    outline = np.zeros(len(ALL_POINTS))
    for i, name in enumerate(ALL_POINTS):
        p = (points or {}).get(name)
        if p is not None and p.ok:
            xy[i] = (p.x, p.y)
            sd[i] = p.sd_xy
            outline[i] = min(p.outline_sd, sd[i, 0])
    return xy, sd, outline


def _shared_errors(points: Mapping[str, AnatomicalPoint] | None
                   ) -> tuple[tuple[int, int, np.ndarray], ...]:
    """Which points' own errors (beyond their outline's shared part) move together: a tangent
    point (`ils_tangent`) and its inflection (`ils`) come from one local fit of the outline, so
    both move with the fit's position and the tangent point alone moves with its slope. Drawn
    independently, the two points of a line 5 % of the height long turned it by several
    degrees that the fit does not allow. The shared part is the smaller SD of the two, per
    axis; a point placed by hand shares nothing."""
    pairs = []
    for name in ALL_POINTS:
        if not name.endswith("_tangent"):
            continue
        tip, base = (points or {}).get(name), (points or {}).get(name[:-len("_tangent")])
        if tip is None or base is None or not (tip.ok and base.ok) or tip.manual or base.manual:
            continue
        a, b = (np.array(q.sd_xy, dtype=float) for q in (base, tip))
        a[0], b[0] = (np.sqrt(max(q.sd_xy[0] ** 2 - min(q.outline_sd, q.sd_xy[0]) ** 2, 0.0))
                      for q in (base, tip))
        rho = np.divide(np.minimum(a, b), np.maximum(a, b), out=np.zeros(2),
                        where=np.maximum(a, b) > 0)
        pairs.append((ALL_POINTS.index(name), ALL_POINTS.index(base.name), rho))
    return tuple(pairs)


def _point_problem(m: MetricDef, points: Mapping[str, AnatomicalPoint] | None
                   ) -> tuple[str, str] | None:
    """(status, detail) when an anatomical point the metric needs is not ok."""
    for name in m.anatomical():
        p = (points or {}).get(name)
        if p is None:
            return STATUS_NOT_VISIBLE, f"{name.replace('_', ' ')}: not located in this photo"
        if not p.ok:
            status = STATUS_OUT_OF_FRAME if p.status == STATUS_OUT_OF_FRAME else STATUS_NOT_VISIBLE
            return status, f"{p.label()}: {p.reason or 'not located'}"
    return None


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
        points=m.anatomical(),
    )


def compute_metrics(landmarks: PoseLandmarks, frame: Frame, *,
                    ranges: dict[str, ReferenceRange],
                    cm_per_px: float | None = None,
                    roll_degrees: float | None = None,
                    min_visibility: float = MIN_VISIBILITY,
                    points: Mapping[str, AnatomicalPoint] | None = None,
                    ) -> tuple[MetricResult, ...]:
    """Every metric of the photo's view group ("front" covers front and back photos).

    points: the photo's anatomical points by name (same frame as the landmarks); a metric
        needing one that is missing or not ok is reported "not_visible" (or "out_of_frame")
        with the point's reason.

    roll_degrees: the camera's roll (counter-clockwise, degrees) to correct for: landmarks are
        rotated back by it about the image centre before measuring, so every angle and offset
        is taken against the scene's true vertical. `raw_value` keeps the uncorrected value.
    """
    group = "side" if frame.view == "side" else "front"
    swap = frame.view == "side" and frame.forward < 0  # facing image-left: near side is left
    point_xy, point_sd, outline_sd = _point_arrays(points)
    xy = np.vstack([landmarks.xy, point_xy])
    # Points are found once per photo: every pass sees the same point (no pass spread).
    pass_xy = np.concatenate([landmarks.pass_xy, np.broadcast_to(
        point_xy, (landmarks.passes,) + point_xy.shape)], axis=1)
    raw_xy = xy
    corrected = roll_degrees is not None  # a level camera (0.0) is a correction too
    if corrected:
        center = (landmarks.image_size[0] / 2.0, landmarks.image_size[1] / 2.0)
        xy = g.rotate_points(xy, center, -roll_degrees)
        pass_xy = g.rotate_points(pass_xy, center, -roll_degrees)
    jittered = _jittered(xy, landmarks.floor_px, point_sd, _shared_errors(points), outline_sd)
    out = []
    for m in METRICS:
        if m.view != group:
            continue
        needed = tuple(sorted({lm for p in m.points + (m.per or ()) if not isinstance(p, str)
                               for lm in _resolve(p, swap)}))
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
        problem = _point_problem(m, points)
        if problem:
            out.append(not_measured(m, problem[0], problem[1], cm_per_px, ref))
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
            uncertainty=uncertainty, direction=direction(m, value), status=STATUS_OK,
            detail=m.note, flag=flag, reference=ref.describe() if ref else "no reference range",
            landmarks=needed, raw_value=raw, corrected=corrected, points=m.anatomical(),
            manual=bool(landmarks.manual & set(needed)) or any(
                points[n].manual for n in m.anatomical()),
        ))
    return tuple(out)
