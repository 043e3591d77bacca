"""Camera roll: how far a photo is rotated from level, from its own straight edges.

A phone held 2 deg off level reads as 2 deg of shoulder tilt. ``estimate_roll`` measures that
roll from the photo's long straight vertical and horizontal edges (door frames, wall corners,
floor and ceiling lines, tiles, a posture grid); ``roll_from_points`` takes it from two points a
clinician marks on a true vertical. Tilt metrics are then measured against the true vertical.

Sign (METRICS.md): ``degrees`` is the angle by which the scene appears rotated
counter-clockwise in the image. Rotating a level photo counter-clockwise (as displayed) by t
gives +t, so correcting a tilt metric means subtracting ``degrees`` from it.

Method of ``estimate_roll``:

1. Grayscale, downscale to 800 px on the long side, and find straight segments with OpenCV's
   line segment detector (LSD: von Gioi et al. 2012, IPOL, doi:10.5201/ipol.2012.gjmr-lsd,
   OpenCV >= 4.5.1). LSD fits each segment to a region of aligned gradients, with sub-pixel
   endpoints and an a-contrario detection threshold instead of edge thresholds tuned to one
   photo. Canny + probabilistic Hough was tried: its endpoints sit on the pixel grid and its
   angles are quantised, which costs tenths of a degree per segment. LSD's own refinement
   (LSD_REFINE_STD) is off: it splits slightly bent edges at places that move when the photo
   shifts by a hundredth of a degree, and the estimate moved with them by up to 0.5 deg.
2. Join collinear pieces (LSD breaks a line wherever another crosses it, as in a posture grid
   or tiles). Keep segments at least 8 % of the long side, within 20 deg of vertical or
   horizontal, and not mostly inside ``exclude_box`` (the person).
3. Fit the roll with perspective. With camera pitch (a phone tilted down toward the patient)
   true verticals converge toward a vanishing point: a door jamb left of centre leans one way,
   one right of centre the other way, by several degrees near the photo's edges. A
   length-weighted median of the segments' angles is fairly robust to this when structure is
   spread evenly on both sides (the leans cancel), but it jumps to one side's lean when that
   side has more edge length, and on real doorway photos that is 1-3 deg. So the fit models
   the vanishing point: every vertical points at one point that lies in the direction
   ``degrees`` from the photo's centre (the principal point of an uncropped photo), at a
   distance set by the pitch. For a pinhole camera that direction is the camera's roll
   whatever its pitch and yaw, and it is the tilt that a horizontal line facing the camera (a
   patient's shoulder line) shows. Horizontals count half, with no perspective model: they
   lean with the camera's yaw, which is not modelled.
   Evidence is counted per structure, not per segment: the edges of one door jamb, pieces of
   one edge broken by the patient, the stripes of one towel share one reading. Each segment's
   say is its share of its structure times a Tukey biweight of its residual (nothing beyond
   2 deg). A vote over a (roll, pitch) grid, with a weak prior toward a level camera, finds
   the best fit; Gauss-Newton refines it.
4. Unknown (``degrees=None``) when the agreeing edges amount to fewer than 3 separate
   structures (two unknowns need one more to check them) or under half the long side in
   length; when the edges the fit leaves out support another roll at least half as well (some
   structures are not plumb and which cannot be told). ``confidence`` is the probability,
   under the fit's own error model, that the roll is within 0.5 deg, divided by 1 + the
   rival's relative support; below 0.5 the result is unknown too. Last, each agreeing
   structure is left out in turn and the fit redone from scratch (vote, Gauss-Newton) on the
   rest: unknown when without some structure the rest cannot be fitted (2 structures or less)
   or its roll lands more than the agreement angle (1 deg) away. The error model takes every
   structure for plumb to a few tenths of a degree, so it cannot see an answer that rests on
   one structure being plumb: a bag's edge or a leaning door that happens to agree with two or
   three others, or the one edge on its side of the photo that separates roll from pitch.

Validity: needs true verticals (door frames, wall corners, a posture grid) or, failing those,
several horizontals facing the camera. Wrong when the dominant straight edges are not plumb (a
crooked picture, a leaning post, furniture at an angle); biased when the only horizontals are
on a wall not square to the camera (they lean with the yaw); with strong lens distortion
(wide angle); and when the photo was cropped far off its centre: the roll is measured about
the crop's centre, and with pitch p the error is about the offset times tan p over the focal
length. The confidence is model-based, not calibrated against ground truth. About 20-40 ms per
photo (100 ms with a dense grid), most of it in steps 1-2, which do not need the person's
box: ``find_straight_edges`` can run on another thread while the pose model looks for the
person, then ``roll_from_edges`` takes a few ms (about 25 with a dense grid, most of it
leaving out each of its many structures in turn). Rotation consistency on the sample photos:
``benchmarks/camera_roll.py``.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import cv2
import numpy as np

from posture.errors import InputError

# Work size: 800 px on the long side keeps a door frame several hundred pixels long (angles to
# about 0.1 deg) while LSD takes tens of milliseconds. Smaller photos are not upscaled.
_WORK_LONG_SIDE = 800
# Shorter segments (fraction of the long side) are texture (tiles, fabric, leaves) more often
# than structure, and their angle is poor: 0.3 px of endpoint error on 64 px is 0.3 deg.
_MIN_SEGMENT_FRACTION = 0.08
# ... and never under this many pixels (small photos): 0.3 px on 20 px is about 1 deg.
_MIN_SEGMENT_PX = 20.0
# Collinear pieces are joined across gaps up to this (fraction of the long side): LSD breaks a
# line wherever another crosses it (a posture grid, tile joints) or something small covers it;
# a person (far wider) still splits a line.
_MERGE_GAP_FRACTION = 0.03
# ... when both ends of a piece lie within this of the growing line (px at the work size):
# LSD places edges to a fraction of a pixel, and grid lines are several pixels apart.
_MERGE_TOLERANCE_PX = 1.5
# Merging looks ahead for this many seeds at a time: speed only, no effect on the result.
_MERGE_BLOCK = 64
# Candidates: within this angle of vertical or horizontal. Roll of a photo meant to be level
# (up to about 10 deg) plus perspective lean near the edges (about 5 deg) plus margin.
# Diagonals (receding floor lines, roof slopes, limbs) are never used.
_AXIS_WINDOW_DEG = 20.0
# Rolls searched: the candidate window less the perspective lean a segment may need.
_MAX_ROLL_DEG = 15.0
# Nominal focal length as a fraction of the long side: a 26 mm-equivalent lens, the main
# camera of most phones. It converts positions to angles, so the pitch parameter is tan(pitch).
_FOCAL_FRACTION = 0.75
# Pitch searched: tan(pitch) up to 0.5 (27 deg) up or down. A posture photo should be taken
# level at mid-body height from 2-4 m; centring a standing patient from 2.5 m with the phone
# at eye height takes about 14 deg down.
_MAX_TAN_PITCH = 0.5
# Prior on tan(pitch): sd 0.3 (about 17 deg), wide enough for a phone pitched down to centre a
# standing patient. It decides only when the segments' positions cannot tell pitch from roll
# (structure on one side of the photo only).
_PITCH_PRIOR_SD = 0.3
# Structure width (sd, fraction of the long side) across which same-kind segments share one
# reading: about a door jamb with its moulding at 2-4 m. Measured where a segment's line
# crosses the photo's centre row (verticals) or column (horizontals).
_STRUCTURE_WIDTH_FRACTION = 0.03
# Tukey biweight cut-off: a segment further than this from the model has no say; one at the
# agreement angle keeps half its say, so the fit does not jump as segments cross it.
_TUKEY_CUTOFF_DEG = 2.0
# A segment "agrees" (is counted in n_lines) when within this of the model: about three times
# a minimum-length segment's angular error and half the 2 deg that matters clinically.
_AGREE_DEG = 1.0
# Horizontals lean with the camera's yaw and height, which the model ignores; verticals only
# converge with pitch, which it models. So a horizontal has half a vertical's say.
_HORIZONTAL_WEIGHT = 0.5
# Unknown unless the agreeing edges amount to this many separate structures: the fit has two
# unknowns (roll and pitch) and needs one more reading to check them.
_MIN_SUPPORT = 3.0
# ... and at least this total agreeing length (fraction of the long side).
_MIN_AGREEING_LENGTH_FRACTION = 0.5
# Unknown when the edges the fit leaves out support another roll (more than the agreement
# angle away) at least this well relative to the fit: some structures are not plumb and which
# cannot be told. Below it, confidence is scaled by 1 / (1 + ratio).
_MAX_RIVAL_RATIO = 0.5
# Leaving one structure out (step 4): the segments sharing over this much of a segment's
# reading (the kernel above, within about 1.2 widths) are its structure and go with it, as
# belonging more to it than not.
_SAME_STRUCTURE = 0.5
# Floor on a structure's angular noise: door frames and wall corners are plumb to about
# 0.1-0.3 deg and lenses distort a little, so a few structures that happen to agree closely
# must not claim hundredths of a degree.
_MIN_NOISE_DEG = 0.3
# Confidence: the probability that the error is within this.
_CONFIDENCE_TOLERANCE_DEG = 0.5
# Unknown below this confidence: an estimate less likely than not to be within 0.5 deg would
# correct a tilt by a number no better than the photographer's eye (about 1-2 deg).
_MIN_CONFIDENCE = 0.5


@dataclass(frozen=True)
class RollEstimate:
    """Camera roll of one photo.

    degrees: angle (deg) by which the scene appears rotated counter-clockwise in the image;
        subtract it from a tilt to measure against the true vertical. None = unknown.
    confidence: 0..1. For "lines", the probability under the fit's error model that
        ``degrees`` is within 0.5 deg (not calibrated against ground truth); 1 for "manual";
        0 for "unknown".
    n_lines: line segments that supported the estimate (agreed within 1 deg).
    method: "lines" (straight edges), "manual" (two clinician-marked points), "device" (the
        device's orientation sensor at the shutter, photos taken in the app) or "unknown".
    reason: one line for the clinician.
    points: for "manual", the two marked points ((x, y), (x, y)) in photo pixels, top first.
    pitch: for "device", the camera axis's angle above the horizontal, deg.
    """

    degrees: float | None
    confidence: float
    n_lines: int
    method: str
    reason: str
    points: tuple[tuple[float, float], tuple[float, float]] | None = None
    pitch: float | None = None


@dataclass(frozen=True, eq=False)
class StraightEdges:
    """A photo's straight, near-vertical and near-horizontal edges: the part of
    ``estimate_roll`` that does not depend on where the person is (``find_straight_edges``).

    segments: (N, 4) float, read-only: x1, y1, x2, y2 of the merged segments, in work pixels,
        longest first; not yet filtered by length or by the person's box.
    scale: work pixels per input pixel (1.0 when the photo was not downscaled).
    shape: (height, width) of the work image.
    """

    segments: np.ndarray
    scale: float
    shape: tuple[int, int]


def estimate_roll(
    rgb: np.ndarray, *, exclude_box: tuple[int, int, int, int] | None = None
) -> RollEstimate:
    """Estimate the camera roll from the photo's long straight vertical and horizontal edges.

    rgb: an upright photo (EXIF orientation applied), uint8, (H, W, 3) RGB or (H, W) gray.
    exclude_box: (x0, y0, x1, y1) pixel box of the person; segments at least half inside it are
        ignored (a body's outline is not a straight line). Pad a box from landmarks to cover
        the silhouette (hair, clothes, feet).

    Returns a ``RollEstimate``: ``degrees`` in deg within +/-15, positive = scene rotated
    counter-clockwise; ``method="unknown"``, ``degrees=None`` when the photo has too few long
    straight edges or they disagree. Roll is measured about the photo's centre, modelling the
    convergence of verticals under camera pitch. Method, validity and source: module docstring.
    Raises ``InputError`` (a ``ValueError``) for an array that is not an image or a bad box.

    Same as ``roll_from_edges(find_straight_edges(rgb), exclude_box)``; call those two to find
    the edges (most of the time) before the person's box is known, e.g. on another thread.
    """
    _check_photo(rgb)
    if exclude_box is not None:
        _check_box(exclude_box)
    return roll_from_edges(find_straight_edges(rgb), exclude_box)


def find_straight_edges(rgb: np.ndarray) -> StraightEdges:
    """The box-independent first part of ``estimate_roll`` (module docstring, steps 1-2):
    grayscale, downscale to 800 px on the long side, LSD, keep segments within 20 deg of
    vertical or horizontal, join collinear pieces.

    rgb: as for ``estimate_roll``. Thread-safe; OpenCV releases the GIL while detecting, so it
    can run on a thread alongside the pose model. Raises ``InputError`` for an array that is
    not an image.
    """
    gray = _to_gray(rgb)
    height, width = gray.shape
    scale = _WORK_LONG_SIDE / max(height, width)
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    else:
        scale = 1.0

    segments = _detect_segments(gray)
    near_axis = np.abs(_axis_angles(segments)[0]) <= math.radians(_AXIS_WINDOW_DEG)
    segments = _merge_collinear(
        segments[near_axis],
        gap=_MERGE_GAP_FRACTION * max(gray.shape),
        tolerance=_MERGE_TOLERANCE_PX,
    )
    segments.flags.writeable = False
    return StraightEdges(segments=segments, scale=scale, shape=gray.shape)


def roll_from_edges(
    edges: StraightEdges, exclude_box: tuple[int, int, int, int] | None = None
) -> RollEstimate:
    """The rest of ``estimate_roll`` (module docstring, steps 2-4): drop short segments and
    those at least half inside ``exclude_box``, fit the roll, decide whether it is known.

    edges: from ``find_straight_edges`` on the photo; exclude_box: as for ``estimate_roll``, in
    that photo's pixels. Returns what ``estimate_roll(rgb, exclude_box=exclude_box)`` returns.
    Raises ``InputError`` (a ``ValueError``) for a bad box.
    """
    if not isinstance(edges, StraightEdges):
        raise TypeError(f"edges must come from find_straight_edges, not {type(edges).__name__}")
    box = None if exclude_box is None else _check_box(exclude_box)
    if box is not None and edges.scale < 1.0:
        box = box * edges.scale
    segments = edges.segments
    height, width = edges.shape
    long_side = max(height, width)
    length = np.hypot(segments[:, 2] - segments[:, 0], segments[:, 3] - segments[:, 1])
    angle, vertical = _axis_angles(segments)
    keep = length >= max(_MIN_SEGMENT_FRACTION * long_side, _MIN_SEGMENT_PX)
    keep &= np.abs(angle) <= math.radians(_AXIS_WINDOW_DEG)
    if box is not None:
        keep &= _fraction_inside(segments, box) < 0.5
    if not keep.any():
        return _unknown(
            0, "no long straight vertical or horizontal edges found; camera level unknown"
        )
    segments, length, angle, vertical = segments[keep], length[keep], angle[keep], vertical[keep]

    # Positions from the photo's centre in units of the nominal focal length.
    focal = _FOCAL_FRACTION * long_side
    centre = np.array([width, height]) / 2.0
    mid = ((segments[:, :2] + segments[:, 2:]) / 2.0 - centre) / focal
    # Where each segment's line crosses the centre row (verticals) or column (horizontals):
    # pieces of one edge share it wherever they lie along the edge.
    across = np.where(
        vertical, mid[:, 0] - mid[:, 1] * np.tan(angle), mid[:, 1] + mid[:, 0] * np.tan(angle)
    )
    structures = _structures(across, vertical, length, _STRUCTURE_WIDTH_FRACTION / _FOCAL_FRACTION)
    _, kind, share = structures
    fit = _fit(angle, mid, vertical, share, kind)

    n_agree = int(fit.agree.sum())
    n_vertical = int((fit.agree & vertical).sum())
    edges = {n_agree: "vertical", 0: "horizontal"}.get(n_vertical, "vertical/horizontal")
    if fit.support < _MIN_SUPPORT:
        return _unknown(
            n_agree,
            f"fewer than {_MIN_SUPPORT:.0f} separate straight structures (door frames, wall "
            "corners) agree; camera level unknown",
        )
    if length[fit.agree].sum() < _MIN_AGREEING_LENGTH_FRACTION * long_side:
        return _unknown(n_agree, "straight edges that agree are too short; camera level unknown")
    rival = fit.rival_ratio if abs(fit.rival_roll - fit.roll) > math.radians(_AGREE_DEG) else 0.0
    if rival >= _MAX_RIVAL_RATIO:
        return _unknown(
            n_agree,
            f"two groups of straight edges disagree (roll {math.degrees(fit.roll):+.1f} or "
            f"{math.degrees(fit.rival_roll):+.1f} deg); camera level unknown",
        )
    se = math.degrees(fit.roll_se)
    confidence = math.erf(_CONFIDENCE_TOLERANCE_DEG / (se * math.sqrt(2.0))) / (1.0 + rival)
    if not confidence >= _MIN_CONFIDENCE:
        return _unknown(
            n_agree,
            f"straight edges disagree (standard error {se:.1f} deg); camera level unknown",
        )
    # Leave one structure out (module docstring, step 4; last, as it costs a vote per structure).
    # General, not tuned to any photo: it asks of the answer what the fit already asks of its
    # inputs, with the same thresholds. Without any one structure, the same fit of the rest must
    # still be possible (more than 2 structures, as the fit itself needs) and land within the
    # agreement angle of the answer (as a segment must to count as agreeing). Otherwise the level
    # rests on that one structure being plumb, which nothing else in the photo checks; the
    # standard error cannot show this, as its error model takes every structure for plumb to
    # within a few tenths of a degree.
    shift = math.degrees(_leave_one_out(angle, mid, vertical, length, structures, fit))
    if not shift <= _AGREE_DEG:
        moves = (
            "without it the rest cannot fix the level"
            if math.isinf(shift)
            else f"leaving it out moves the level {shift:.1f} deg"
        )
        return _unknown(
            n_agree, f"the level rests on one straight structure ({moves}); camera level unknown"
        )
    return RollEstimate(
        degrees=math.degrees(fit.roll),
        confidence=confidence,
        n_lines=n_agree,
        method="lines",
        reason=(
            f"{n_agree} straight {edges} edges (about {fit.support:.0f} separate structures) "
            f"agree within {_AGREE_DEG:.0f} deg; standard error {max(se, 0.1):.1f} deg"
        ),
    )


def roll_from_device(roll: float, pitch: float | None = None) -> RollEstimate:
    """Camera roll measured by the device's orientation sensor when the photo was taken.

    roll: deg the scene appears turned counter-clockwise in the photo (the device turned
    clockwise as its user sees the screen); pitch: the camera axis above the horizontal, deg.
    Method "device", confidence 1.0: a phone's accelerometer is good to a few tenths of a
    degree when held still, far better than the photo's lines. Raises InputError for a
    non-finite roll or one over 45 deg (the photo is not upright).
    """
    if not (isinstance(roll, (int, float)) and math.isfinite(roll)) or abs(roll) > 45:
        raise InputError("The device level must be a roll of at most 45 deg.")
    if pitch is not None and not math.isfinite(pitch):
        pitch = None
    where = "" if pitch is None else f", pitch {pitch:+.1f} deg"
    return RollEstimate(degrees=float(roll), confidence=1.0, n_lines=0, method="device",
                        reason=f"from the device level at the shutter (roll {roll:+.1f} deg"
                               f"{where})", pitch=pitch)


def roll_from_points(p1: tuple[float, float], p2: tuple[float, float]) -> RollEstimate:
    """Camera roll from two points a clinician marked on a true vertical (door frame, plumb line).

    p1, p2: (x, y) pixels in the displayed photo, in either order.
    Returns ``degrees`` = the marked line's lean, atan2(x_bottom - x_top, y_bottom - y_top), in
    -45..45: positive when its top leans left (scene rotated counter-clockwise). Method
    "manual", confidence 1.0. Its precision is about atan(marking error / distance between the
    points): mark them far apart. With camera pitch a vertical away from the photo's centre
    also leans by perspective (module docstring): mark one near the centre.
    Raises ``InputError`` (a ``ValueError``) for identical or non-finite points, or a line more
    than 45 deg from vertical (not a vertical in an upright photo).
    """
    x1, y1 = (float(v) for v in p1)
    x2, y2 = (float(v) for v in p2)
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
        raise InputError("The marked points must have finite coordinates.")
    if (x1, y1) == (x2, y2):
        raise InputError("The two marked points are the same; mark two points on a vertical.")
    if y1 > y2:  # from the top point to the bottom one
        x1, y1, x2, y2 = x2, y2, x1, y1
    degrees = math.degrees(math.atan2(x2 - x1, y2 - y1))
    if abs(degrees) > 45.0:
        raise InputError(
            f"The marked line is {abs(degrees):.0f} deg from vertical; mark two points on a true "
            "vertical such as a door frame."
        )
    return RollEstimate(
        degrees=degrees,
        confidence=1.0,
        n_lines=1,
        method="manual",
        reason="marked by the clinician on a true vertical",
        points=((x1, y1), (x2, y2)),
    )


@dataclass(frozen=True)
class _Fit:
    roll: float  # rad
    tan_pitch: float
    agree: np.ndarray  # per segment: within the agreement angle of the model
    support: float  # agreeing evidence, in separate structures
    roll_se: float  # rad
    rival_ratio: float  # best vote of the segments the fit leaves out, over the fit's
    rival_roll: float  # rad
    grid: np.ndarray  # the vote (``_vote_grid``) of all segments


def _check_photo(rgb: np.ndarray) -> None:
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8:
        raise InputError("The photo must be a uint8 image array.")
    if not (rgb.ndim == 2 or (rgb.ndim == 3 and rgb.shape[2] == 3)):
        raise InputError(f"The photo must be (H, W, 3) RGB or (H, W) gray, not {rgb.shape}.")
    if rgb.size == 0:
        raise InputError("The photo is empty.")


def _to_gray(rgb: np.ndarray) -> np.ndarray:
    _check_photo(rgb)
    if rgb.ndim == 2:
        return np.ascontiguousarray(rgb)
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


def _check_box(box: tuple[int, int, int, int]) -> np.ndarray:
    b = np.asarray(box, dtype=float)
    if b.shape != (4,) or not np.isfinite(b).all() or b[0] >= b[2] or b[1] >= b[3]:
        raise InputError(f"exclude_box must be (x0, y0, x1, y1) with x0 < x1 and y0 < y1: {box}")
    return b


# One detector per thread: a detector keeps its work buffers between calls (a new one costs
# about 3 ms more per 800 px photo, allocating them), and one object must not detect on two
# threads at once. The segments do not depend on what it detected before.
_detectors = threading.local()


def _detect_segments(gray: np.ndarray) -> np.ndarray:
    """LSD segments, (N, 4) float: x1, y1, x2, y2."""
    detector = getattr(_detectors, "lsd", None)
    if detector is None:
        detector = _detectors.lsd = cv2.createLineSegmentDetector(cv2.LSD_REFINE_NONE)
    lines = detector.detect(gray)[0]
    if lines is None:
        return np.zeros((0, 4))
    return lines.reshape(-1, 4).astype(float)


def _merge_collinear(segments: np.ndarray, *, gap: float, tolerance: float) -> np.ndarray:
    """Join collinear pieces into one segment each, longest first.

    A seed takes every free piece whose two ends lie within ``tolerance`` of its line and that
    is chained to it along the line by gaps of at most ``gap``; the line is then refitted
    (length-weighted principal axis of the pieces' ends) and the search repeated until nothing
    joins. Each result spans its pieces' extent.

    Most seeds take nothing. For a block of seeds at a time, the free pieces each seed could
    take on its first search are found at once (``_could_take``); a seed with none of them
    still free is returned as it is, the others go through the search (``_grow``).
    """
    start, end = segments[:, :2], segments[:, 2:]
    length = np.hypot(*(end - start).T)
    order = np.argsort(-length)
    lines = _Lines.of(start, end, length)
    taken = np.zeros(len(segments), dtype=bool)
    seeds: list[int] = []
    grown: dict[int, np.ndarray] = {}
    for first in range(0, len(order), _MERGE_BLOCK):
        block = order[first : first + _MERGE_BLOCK]
        block = block[~taken[block]]
        if len(block) == 0:
            continue
        free = np.flatnonzero(~taken)
        near, could = _could_take(lines, block, free, gap=gap, tolerance=tolerance)
        could[np.arange(len(block)), np.searchsorted(free, block)] = False  # not itself
        possible = could.any(1).tolist()
        for k, seed in enumerate(block.tolist()):
            if taken[seed]:
                continue
            taken[seed] = True
            if possible[k] and not taken[free[could[k]]].all():
                candidates = free[near[k]]
                candidates = candidates[~taken[candidates]]
                grown[len(seeds)] = _grow(
                    seed, candidates, start, end, length, taken, gap=gap, tolerance=tolerance
                )
            seeds.append(seed)
    # A seed that takes nothing spans its own ends along its own line.
    first_end, last_end = start[seeds], end[seeds]
    centre, unit = lines.centre[seeds], lines.unit[seeds]
    along = np.concatenate([_dot(first_end - centre, unit), _dot(last_end - centre, unit)], axis=1)
    merged = np.concatenate(
        [centre + along.min(1, keepdims=True) * unit, centre + along.max(1, keepdims=True) * unit],
        axis=1,
    )
    for row, segment in grown.items():
        merged[row] = segment
    return merged


@dataclass(frozen=True)
class _Lines:
    """Each piece's own line, as a seed starts it: centre, unit direction, normal, and half
    the vector from start to end."""

    centre: np.ndarray
    unit: np.ndarray
    normal: np.ndarray
    half: np.ndarray
    length: np.ndarray

    @classmethod
    def of(cls, start: np.ndarray, end: np.ndarray, length: np.ndarray) -> _Lines:
        unit = (end - start) / np.maximum(length, 1e-9)[:, None]
        return cls(
            centre=(start + end) / 2.0,
            unit=unit,
            normal=np.column_stack([-unit[:, 1], unit[:, 0]]),
            half=(end - start) / 2.0,
            length=length,
        )


def _could_take(
    lines: _Lines, seeds: np.ndarray, pieces: np.ndarray, *, gap: float, tolerance: float
) -> tuple[np.ndarray, np.ndarray]:
    """Two (seeds, pieces) bool arrays, supersets (a margin covers rounding): which pieces lie
    with both ends within ``tolerance`` of each seed's own line (|offset of the piece's centre|
    + |offset of its half-length vector|), and which of those are, along the line, also within
    ``gap`` of the seed's own extent. A seed's first search takes something only if one of the
    latter is free (a chain of pieces starts next to the seed); it looks only at the former.
    """
    margin = 1e-6
    centre, half = lines.centre[pieces].T, lines.half[pieces].T
    normal, unit = lines.normal[seeds], lines.unit[seeds]
    across = normal @ centre - _dot(normal, lines.centre[seeds])
    near = np.abs(across) + np.abs(normal @ half) <= tolerance + margin
    along = unit @ centre - _dot(unit, lines.centre[seeds])
    reach = np.abs(unit @ half) + (lines.length[seeds] / 2.0 + gap + margin)[:, None]
    return near, near & (np.abs(along) <= reach)


def _grow(
    seed: int,
    candidates: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    length: np.ndarray,
    taken: np.ndarray,
    *,
    gap: float,
    tolerance: float,
) -> np.ndarray:
    """Grow a seed by collinear free pieces (``_merge_collinear``), marking them taken.

    candidates: the free pieces (ascending) with both ends near the seed's line, the only ones
    its first search can take (``_could_take``); later searches, along the refitted line, look
    at every free piece.
    """
    members = np.array([seed])
    point = (start[seed] + end[seed]) / 2.0
    direction = (end[seed] - start[seed]) / max(float(length[seed]), 1e-9)
    free = candidates
    while True:
        normal = np.array([-direction[1], direction[0]])
        ra, rb = start[free] - point, end[free] - point
        near = (np.abs(ra @ normal) <= tolerance) & (np.abs(rb @ normal) <= tolerance)
        ends = np.concatenate([start[members], end[members]]) - point
        along = ends @ direction
        lo, hi = float(along.min()), float(along.max())
        if not near.any():
            break
        ta, tb = ra[near] @ direction, rb[near] @ direction
        chained = _chained(np.minimum(ta, tb), np.maximum(ta, tb), lo, hi, gap)
        if not chained.any():
            break
        joined = free[near][chained]
        taken[joined] = True
        free = np.flatnonzero(~taken)
        members = np.concatenate([members, joined])
        ends = np.concatenate([start[members], end[members]])
        weight = np.tile(length[members], 2)
        point = weight @ ends / weight.sum()
        axis = np.linalg.eigh(((ends - point) * weight[:, None]).T @ (ends - point))[1][:, 1]
        direction = axis if axis @ direction >= 0 else -axis
    return np.concatenate([point + lo * direction, point + hi * direction])


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot products of two (N, 2) arrays, as an (N, 1) column."""
    return (a[:, 0] * b[:, 0] + a[:, 1] * b[:, 1])[:, None]


def _chained(first: np.ndarray, last: np.ndarray, lo: float, hi: float, gap: float) -> np.ndarray:
    """Which intervals [first, last] connect to [lo, hi] through gaps of at most ``gap``."""
    starts = np.append(first, lo)
    order = np.argsort(starts)
    reach = np.maximum.accumulate(np.append(last, hi)[order])
    run = np.concatenate([[0], np.cumsum(starts[order][1:] > reach[:-1] + gap)])
    group = np.empty_like(run)
    group[order] = run
    return group[:-1] == group[-1]


def _axis_angles(segments: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each segment's roll reading (rad, counter-clockwise positive) and whether it is vertical.

    Vertical: atan2(x_bottom - x_top, y_bottom - y_top), top leaning left is positive.
    Horizontal: atan2(y_left - y_right, x_right - x_left), right end higher is positive.
    """
    dx = segments[:, 2] - segments[:, 0]
    dy = segments[:, 3] - segments[:, 1]
    vertical = np.abs(dy) >= np.abs(dx)
    down = np.where(dy < 0, -1.0, 1.0)
    right = np.where(dx < 0, -1.0, 1.0)
    angle = np.where(
        vertical, np.arctan2(dx * down, dy * down), np.arctan2(-dy * right, dx * right)
    )
    return angle, vertical


def _fraction_inside(segments: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Fraction of each segment's length inside the box (exact clipping, axis by axis)."""
    lo = np.zeros(len(segments))
    hi = np.ones(len(segments))
    for axis in (0, 1):
        start = segments[:, axis]
        delta = segments[:, axis + 2] - start
        flat = delta == 0
        safe = np.where(flat, 1.0, delta)
        t0 = (box[axis] - start) / safe
        t1 = (box[axis + 2] - start) / safe
        inside = (start >= box[axis]) & (start <= box[axis + 2])
        lo = np.maximum(lo, np.where(flat, np.where(inside, 0.0, 1.0), np.minimum(t0, t1)))
        hi = np.minimum(hi, np.where(flat, np.where(inside, 1.0, 0.0), np.maximum(t0, t1)))
    return np.clip(hi - lo, 0.0, 1.0)


def _predicted(roll, tan_pitch, mid: np.ndarray, vertical: np.ndarray) -> np.ndarray:
    """Model reading (rad) of each segment for a roll (rad) and tan(pitch); broadcasts.

    A vertical at m points at the vanishing point u / tan_pitch, u = (-sin roll, -cos roll)
    being the image's up: its direction is u - tan_pitch * m (tan_pitch > 0: camera pitched up,
    vanishing point above). A horizontal reads the roll itself.
    """
    along = np.sin(roll) + tan_pitch * mid[:, 0]
    across = np.cos(roll) + tan_pitch * mid[:, 1]
    return np.where(vertical, np.arctan2(along, across), np.broadcast_to(roll, along.shape))


def _jacobian(roll, tan_pitch, mid: np.ndarray, vertical: np.ndarray):
    """d(model reading) / d(roll) and d / d(tan_pitch) of each segment; broadcasts."""
    along = np.sin(roll) + tan_pitch * mid[:, 0]
    across = np.cos(roll) + tan_pitch * mid[:, 1]
    norm = along**2 + across**2
    d_roll = (across * np.cos(roll) + along * np.sin(roll)) / norm
    d_pitch = (across * mid[:, 0] - along * mid[:, 1]) / norm
    return np.where(vertical, d_roll, 1.0), np.where(vertical, d_pitch, 0.0)


def _biweight(residual: np.ndarray) -> np.ndarray:
    return np.clip(1.0 - (residual / math.radians(_TUKEY_CUTOFF_DEG)) ** 2, 0.0, None) ** 2


def _structures(
    across: np.ndarray, vertical: np.ndarray, length: np.ndarray, width: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How much each segment shares each other's reading, (N, N): a Gaussian of sd ``width`` in
    ``across`` between segments of the same kind; each segment's kind weight (1 vertical, 0.5
    horizontal); and its share: its length over the length of same-kind segments near it,
    times its kind weight. Shares sum to about one per separate structure (half for
    horizontals)."""
    near = np.exp(-0.5 * ((across[:, None] - across[None, :]) / width) ** 2)
    near *= vertical[:, None] == vertical[None, :]
    kind = np.where(vertical, 1.0, _HORIZONTAL_WEIGHT)
    return near, kind, length / (near @ length) * kind


def _fit(
    angle: np.ndarray, mid: np.ndarray, vertical: np.ndarray, share: np.ndarray, kind: np.ndarray
) -> _Fit:
    """Fit roll and tan(pitch) to the segments' readings (module docstring, step 3).

    A segment's say: its share (``_structures``) times the biweight of its residual. Vote on the
    grid, then Gauss-Newton (``_refine``).
    """
    grid = _vote_grid(angle, mid, vertical, share)
    score, roll, tan_pitch = _best(grid)
    refined = _refine(
        angle, mid, vertical, share[None, :], kind, np.array([roll]), np.array([tan_pitch])
    )
    roll, tan_pitch, se, _ = (float(v[0]) for v in refined)

    residual = angle - _predicted(roll, tan_pitch, mid, vertical)
    say = share * _biweight(residual)
    # A rival: the best the segments this fit leaves out can do on their own.
    free = say == 0
    rival_score, rival_roll, _ = _vote(angle[free], mid[free], vertical[free], share[free])
    agree = np.abs(residual) <= math.radians(_AGREE_DEG)
    return _Fit(
        roll=roll,
        tan_pitch=tan_pitch,
        agree=agree,
        support=float((share / kind)[agree].sum()),
        roll_se=se,
        rival_ratio=rival_score / score if score > 0 else 1.0,
        rival_roll=rival_roll,
        grid=grid,
    )


def _refine(
    angle: np.ndarray,
    mid: np.ndarray,
    vertical: np.ndarray,
    share: np.ndarray,
    kind: np.ndarray,
    roll: np.ndarray,
    tan_pitch: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Gauss-Newton from (roll, tan_pitch), for B fits at once: ``share`` is (B, N), each fit's
    segment shares; ``roll`` and ``tan_pitch`` are (B,).

    Each segment is a reading of variance sigma^2 / say, plus the pitch prior; sigma^2 is the
    say-weighted residual variance, floored and corrected for the two fitted parameters. A fit
    stops where its say, counted in structures (say / kind summed: horizontals whole), is 2 or
    less: too little to fit two parameters. Returns, each (B,): roll (rad), tan_pitch, the
    roll's standard error (rad) from the last step's normal equations (inf if no step was
    possible), and the structures counted so at the returned roll and pitch.
    """
    roll, tan_pitch = roll.astype(float), tan_pitch.astype(float)
    se = np.full(len(roll), math.inf)
    active = np.ones(len(roll), dtype=bool)
    prior = _PITCH_PRIOR_SD**-2
    floor = math.radians(_MIN_NOISE_DEG) ** 2
    for _ in range(30):  # typically converges in a few steps
        rows = np.flatnonzero(active)
        residual = angle - _predicted(roll[rows, None], tan_pitch[rows, None], mid, vertical)
        say = share[rows] * _biweight(residual)
        count = (say / kind).sum(1)
        fits = count > 2.0
        active[rows[~fits]] = False
        rows, residual, say, count = rows[fits], residual[fits], say[fits], count[fits]
        if len(rows) == 0:
            break
        sigma2 = np.maximum(floor, (say * residual**2).sum(1) / say.sum(1))
        sigma2 *= count / (count - 2.0)
        weight = say / sigma2[:, None]
        d_roll, d_pitch = _jacobian(roll[rows, None], tan_pitch[rows, None], mid, vertical)
        # The normal equations [[a, b], [b, c]] step = [g, h], 2 x 2, solved directly.
        a = (weight * d_roll**2).sum(1)
        b = (weight * d_roll * d_pitch).sum(1)
        c = (weight * d_pitch**2).sum(1) + prior
        g = (weight * d_roll * residual).sum(1)
        h = (weight * d_pitch * residual).sum(1) - prior * tan_pitch[rows]
        det = a * c - b * b
        step = (c * g - b * h) / det
        se[rows] = np.sqrt(c / det)
        roll[rows] += step
        tan_pitch[rows] = np.clip(
            tan_pitch[rows] + (a * h - b * g) / det, -_MAX_TAN_PITCH, _MAX_TAN_PITCH
        )
        active[rows[np.abs(step) < 1e-7]] = False
    residual = angle - _predicted(roll[:, None], tan_pitch[:, None], mid, vertical)
    count = (share * _biweight(residual) / kind).sum(1)
    return roll, tan_pitch, se, count


def _leave_one_out(
    angle: np.ndarray,
    mid: np.ndarray,
    vertical: np.ndarray,
    length: np.ndarray,
    structures: tuple[np.ndarray, np.ndarray, np.ndarray],
    fit: _Fit,
) -> float:
    """The fit redone from scratch (vote, then Gauss-Newton) with each agreeing structure left
    out in turn: how far (rad) the roll moves at most; inf when without some structure too
    little is left to fit roll and pitch (module docstring, step 4).

    Structures are read off ``near``, the kernel that counts support. The structure of an
    agreeing segment i: the same-kind segments sharing over half of i's reading
    (``_SAME_STRUCTURE``; the edges of one door jamb and its moulding) go entirely; segments
    further across lose the part of their share they have in common with i (near), as the
    support count would. Seeds are taken longest first, skipping segments in a taken seed's
    structure. From scratch, not refined from the fit: where the rest cannot tell roll from
    pitch (all of it on one side of the photo), it fits any roll on a ridge of (roll, pitch)
    equally well, and a refinement starting on that ridge would not move.
    """
    near, kind, share = structures
    seeds: list[int] = []
    for i in np.flatnonzero(fit.agree)[np.argsort(-length[fit.agree], kind="stable")]:
        if not seeds or near[i, seeds].max() <= _SAME_STRUCTURE:
            seeds.append(int(i))
    if not seeds:
        return math.inf
    gone = np.where(near[seeds] > _SAME_STRUCTURE, share, share * near[seeds])
    kept = share - gone
    # Each vote without a structure: the full vote less that of what goes. Segments sharing
    # under 0.1 % of the seed's reading are left in the vote (speed; they move the starting
    # point negligibly) and taken out by the refinement.
    start = []
    for i, out in zip(seeds, gone):
        part = near[i] > 1e-3
        grid = _vote_grid(angle[part], mid[part], vertical[part], out[part])
        start.append(_best(fit.grid - grid)[1:])
    start = np.array(start)
    rolls, _, se, count = _refine(angle, mid, vertical, kept, kind, start[:, 0], start[:, 1])
    if not (np.isfinite(se).all() and (count > 2.0).all()):
        return math.inf
    return float(np.abs(rolls - fit.roll).max())


# The vote's grid: rolls every 0.1 deg; pitch step 0.01, 0.4 deg of lean at the photo's edge (0.7
# focal lengths), well inside the biweight; and the prior's weight at each pitch.
_ROLLS = np.radians(np.arange(-_MAX_ROLL_DEG, _MAX_ROLL_DEG + 1e-9, 0.1))
_SIN_ROLLS, _COS_ROLLS = np.sin(_ROLLS), np.cos(_ROLLS)
_ROLL_STEP = math.radians(0.1)
_PITCHES = np.arange(-_MAX_TAN_PITCH, _MAX_TAN_PITCH + 1e-9, 0.01)
_PITCH_PRIOR = np.array([math.exp(-0.5 * (t / _PITCH_PRIOR_SD) ** 2) for t in _PITCHES])
# Vertical readings evaluated at once in the vote (pitches x segments x rolls): arrays of a few
# hundred KB, faster than one large pass (cache, no fresh pages to fault in).
_VOTE_CHUNK = 32_768


def _vote(
    angle: np.ndarray, mid: np.ndarray, vertical: np.ndarray, share: np.ndarray
) -> tuple[float, float, float]:
    """Best (score, roll, tan_pitch) on the grid: sum of shares times biweights, times prior."""
    return _best(_vote_grid(angle, mid, vertical, share))


def _best(grid: np.ndarray) -> tuple[float, float, float]:
    """Best (score, roll, tan_pitch) of a ``_vote_grid`` times the pitch prior. Ties go to the
    lower pitch, then the lower roll; (0, 0, 0) when nothing scores."""
    score = grid * _PITCH_PRIOR[:, None]
    best = int(score.argmax())
    if not score.flat[best] > 0.0:
        return (0.0, 0.0, 0.0)
    pitch, roll = divmod(best, len(_ROLLS))
    return float(score.flat[best]), float(_ROLLS[roll]), float(_PITCHES[pitch])


def _vote_grid(
    angle: np.ndarray, mid: np.ndarray, vertical: np.ndarray, share: np.ndarray
) -> np.ndarray:
    """The vote on the (pitch, roll) grid, without the prior: sum of shares times biweights.

    Horizontals read the roll whatever the pitch, so their sum is taken once per roll. A
    vertical is evaluated only on the rolls where its biweight can be nonzero: at tan_pitch t
    its model reading (``_predicted``) equals its angle a at the roll
    r* = a + asin(t (my sin a - mx cos a)), and turns by at least 1 / (1 + k) deg per deg of
    roll, k = |t m| < 1, so the residual reaches the cut-off by |roll - r*| = cut-off (1 + k).
    Every other grid point adds an exact zero.
    """
    score = np.zeros((len(_PITCHES), len(_ROLLS)))
    horizontal = ~vertical
    if horizontal.any():
        score += (share[horizontal] * _biweight(angle[horizontal] - _ROLLS[:, None])).sum(1)
    if vertical.any():
        a, m, w = angle[vertical], mid[vertical], share[vertical]
        t = _PITCHES[:, None]
        tx, ty = t * m[:, 0], t * m[:, 1]  # (pitches, segments)
        r_star = a + np.arcsin(ty * np.sin(a) - tx * np.cos(a))
        reach = math.radians(_TUKEY_CUTOFF_DEG) * (1.0 + np.hypot(tx, ty)) + 1e-9
        # Grid rolls from about r* - reach to r* + reach, a step or two wider either side.
        lo = np.clip(np.floor((r_star - reach - _ROLLS[0]) / _ROLL_STEP) - 1, 0, len(_ROLLS))
        hi = np.clip(np.ceil((r_star + reach - _ROLLS[0]) / _ROLL_STEP) + 2, 0, len(_ROLLS))
        lo, hi = lo.astype(np.intp), hi.astype(np.intp)
        steps = np.arange(int((hi - lo).max()))
        rows = max(1, _VOTE_CHUNK // max(1, len(a) * len(steps)))
        for p in range(0, len(_PITCHES), rows):
            q = slice(p, p + rows)
            index = lo[q, :, None] + steps
            inside = index < hi[q, :, None]
            index = np.minimum(index, len(_ROLLS) - 1)
            along = _SIN_ROLLS[index] + tx[q, :, None]
            across = _COS_ROLLS[index] + ty[q, :, None]
            say = w[:, None] * _biweight(a[:, None] - np.arctan2(along, across)) * inside
            cell = index + (np.arange(len(index)) * len(_ROLLS))[:, None, None]
            score[q] += np.bincount(
                cell.ravel(), say.ravel(), minlength=len(index) * len(_ROLLS)
            ).reshape(len(index), len(_ROLLS))
    return score


def _unknown(n_lines: int, why: str) -> RollEstimate:
    return RollEstimate(degrees=None, confidence=0.0, n_lines=n_lines, method="unknown", reason=why)
