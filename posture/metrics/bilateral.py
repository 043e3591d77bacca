"""Two photos of one visit measuring the same thing: both side views, or the front and the back.

Both sides: each sagittal measure from the left and the right side photo, their mean (the
visit's value, flagged against the reference range) and their difference, left minus right.
Front and back: each frontal measure from both (already in the patient's frame: "left higher"
reads the same from behind), and their difference, front minus back.

A difference is judged as a change between visits is (`posture.metrics.detectable`): real when
it exceeds both twice the combined uncertainty and the measure's minimal detectable change,
since the two photos are taken moments apart, the patient re-standing between them. A real
left-right difference in the plumb-line offsets is itself a finding: the near hip (or shoulder)
sits further forward in one side view than in the other, so the pelvis (or trunk) is turned, or
the patient stood differently for the two photos (SAPO's protocol takes both sides for this
reason). It says nothing when no MDC is known (a length in pixels, without the height).

The camera's level matters more here than in one photo: a roll of the camera leans a side view
forward in one photo and backward in the other (a front view's tilts the same), so the
difference moves by twice what each value does, while the mean does not move. Each photo's
`Level` says how well its vertical is known and how much each measure moves per degree of
roll; the difference's uncertainty includes both, and a measure that moves with the level is
not judged when a photo's level is unknown.

Pure: metric results in, metric results and sentences out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from posture.metrics.compute import STATUS_OK, MetricResult, direction, range_flag
from posture.metrics.definitions import METRICS_BY_ID
from posture.metrics.detectable import NOISE_FACTOR, DetectableChange, is_real_change
from posture.metrics.reference import ReferenceRange
from posture.numbers import value_text

#: Slots of the rows made here, beside the photos' own ("front", "back", "left", "right").
SIDES_MEAN, LEFT_MINUS_RIGHT, FRONT_MINUS_BACK = "sides", "left-right", "front-back"
COMBINED_SLOTS = (SIDES_MEAN, LEFT_MINUS_RIGHT, FRONT_MINUS_BACK)

FLAG_AGREES, FLAG_DIFFERS = "agrees", "differs"
#: A difference that cannot be judged: a camera level unknown, or no detectable change known.
FLAG_NOT_JUDGED = "not judged"

#: A measure moving less than this (its unit per degree of camera roll) does not depend on the
#: level: a joint angle, a width. A lean or an offset over a body's height moves 1 deg or cm.
LEVEL_INSENSITIVE = 0.05

#: Plumb-line offsets whose left-right difference says the body part is turned (or re-stood).
TURN_CUES = {"plumb_ear": ("head", "head"), "plumb_shoulder": ("shoulder", "trunk"),
             "plumb_hip": ("hip", "pelvis"), "plumb_knee": ("knee", "legs")}


@dataclass(frozen=True)
class Disagreement:
    """A real difference between two photos of one visit, in words (a visit finding)."""

    code: str          # "sides_differ" or "front_back_differ"
    metric: str
    message: str


@dataclass(frozen=True)
class Level:
    """How well one photo's vertical is known: its SD in degrees (None: unknown), and how much
    each measure moves per degree of camera roll (by metric id)."""

    sd: float | None
    per_degree: Mapping[str, float]


def _ok(metrics: Iterable[MetricResult]) -> dict[str, MetricResult]:
    return {m.metric: m for m in metrics if m.status == STATUS_OK and m.value is not None}


def _pairs(a: Iterable[MetricResult], b: Iterable[MetricResult]):
    """(metric id, a's result, b's result) for measures ok in both, in the same unit."""
    a_ok, b_ok = _ok(a), _ok(b)
    for metric, ma in a_ok.items():
        mb = b_ok.get(metric)
        if mb is not None and ma.unit == mb.unit:
            yield metric, ma, mb


def _difference(metric: str, first: MetricResult, second: MetricResult, slot: str,
                names: tuple[str, str], detectable: Mapping[str, DetectableChange],
                levels: tuple[Level, Level] | None) -> MetricResult:
    """first - second, judged against noise (each value's, and its level's) and the MDC (when
    the MDC's unit is the value's)."""
    value = first.value - second.value
    u_first, u_second = first.uncertainty or 0.0, second.uncertainty or 0.0
    unknown_level = None
    if levels is not None:
        moves = [lv.per_degree.get(metric, 0.0) for lv in levels]
        if max(abs(m) for m in moves) >= LEVEL_INSENSITIVE:
            unknown = [n for n, lv in zip(names, levels) if lv.sd is None]
            if unknown:
                unknown_level = " and ".join(unknown) + (" photos" if len(unknown) > 1
                                                         else " photo")
            else:
                u_first = math.hypot(u_first, moves[0] * levels[0].sd)
                u_second = math.hypot(u_second, moves[1] * levels[1].sd)
    u = math.hypot(u_first, u_second) or None
    mdc = detectable.get(metric)
    mdc_size = mdc.mdc if mdc is not None and mdc.unit == first.unit else None
    if unknown_level is not None:
        step = 2 * max(abs(m) for m in moves)
        flag = FLAG_NOT_JUDGED
        why = (f"not judged: the camera's level is unknown for the {unknown_level} (a "
               f"roll of 1 deg in each moves this difference by up to {value_text(step)} "
               f"{first.unit})")
    elif mdc_size is None and first.unit != "%" and first.unit != "deg":
        flag, why = FLAG_NOT_JUDGED, f"no detectable change known in {first.unit}: not judged"
    else:
        real = is_real_change(value, u_first, u_second, mdc_size)
        flag = FLAG_DIFFERS if real else FLAG_AGREES
        limit = f"{NOISE_FACTOR:g} x the combined uncertainty" + (
            f" and the detectable change ({mdc.describe()})" if mdc_size is not None else "")
        why = (f"beyond {limit}" if real else f"within {limit}")
    a, b = names
    bigger = a if value > 0 else b
    return replace(
        first, label=f"{first.label}: {a} minus {b}", value=value, uncertainty=u,
        raw_value=value, direction="equal" if abs(value) < 0.05 else f"{bigger} larger",
        flag=flag, reference="", slot=slot, landmarks=(), points=(),
        corrected=first.corrected or second.corrected, manual=first.manual or second.manual,
        detail=(f"{a} {value_text(first.value)}, {b} {value_text(second.value)} {first.unit}: "
                f"{why}"))


def both_sides(left: Iterable[MetricResult], right: Iterable[MetricResult],
               ranges: Mapping[str, ReferenceRange],
               detectable: Mapping[str, DetectableChange],
               levels: tuple[Level, Level] | None = None) -> tuple[MetricResult, ...]:
    """For each measure ok in both side photos: its mean (slot "sides", flagged against the
    reference range) and its difference left minus right (slot "left-right"). levels: the
    left and the right photo's (None: the values alone are judged)."""
    out = []
    for metric, ml, mr in _pairs(left, right):
        mean = (ml.value + mr.value) / 2.0
        u = math.hypot(ml.uncertainty or 0.0, mr.uncertainty or 0.0) / 2.0 or None
        ref = ranges.get(metric)
        raw = ((ml.raw_value if ml.raw_value is not None else ml.value)
               + (mr.raw_value if mr.raw_value is not None else mr.value)) / 2.0
        out.append(replace(
            ml, label=f"{ml.label} (mean of both sides)", value=mean, uncertainty=u,
            raw_value=raw, direction=direction(METRICS_BY_ID[metric], mean),
            flag=range_flag(mean, u, ref), slot=SIDES_MEAN, landmarks=(), points=(),
            corrected=ml.corrected or mr.corrected, manual=ml.manual or mr.manual,
            detail=f"left {value_text(ml.value)}, right {value_text(mr.value)} {ml.unit}"))
        out.append(_difference(metric, ml, mr, LEFT_MINUS_RIGHT, ("left", "right"), detectable,
                               levels))
    return tuple(out)


def front_and_back(front: Iterable[MetricResult], back: Iterable[MetricResult],
                   detectable: Mapping[str, DetectableChange],
                   levels: tuple[Level, Level] | None = None) -> tuple[MetricResult, ...]:
    """For each measure ok in both the front and the back photo: front minus back (slot
    "front-back"); both are in the patient's frame, so agreeing photos differ by about 0."""
    return tuple(_difference(metric, mf, mb, FRONT_MINUS_BACK, ("front", "back"), detectable,
                             levels) for metric, mf, mb in _pairs(front, back))


def disagreements(combined: Iterable[MetricResult]) -> tuple[Disagreement, ...]:
    """Every real difference between two photos, in words: a plumb offset differing between
    the sides says the body part may be turned; any other, that the photos need a look."""
    out = []
    for m in combined:
        if m.flag != FLAG_DIFFERS:
            continue
        if m.slot == LEFT_MINUS_RIGHT and m.metric in TURN_CUES:
            part, region = TURN_CUES[m.metric]
            ahead = "left" if m.value > 0 else "right"
            out.append(Disagreement("sides_differ", m.metric, (
                f"The side photos disagree at the {part}: {m.detail}. The {ahead} {part} sits "
                f"further forward, so the {region} may be turned toward the patient's "
                f"{'right' if ahead == 'left' else 'left'}, or the patient stood differently "
                "for the two photos.")))
        elif m.slot in (LEFT_MINUS_RIGHT, FRONT_MINUS_BACK):
            label = METRICS_BY_ID[m.metric].label
            code, photos = (("sides_differ", "The side photos") if m.slot == LEFT_MINUS_RIGHT
                            else ("front_back_differ", "Front and back photos"))
            out.append(Disagreement(code, m.metric, (
                f"{photos} disagree on {label[:1].lower() + label[1:]}: {m.detail}; the "
                "patient may have stood differently, or one photo's landmarks are off: "
                "check both.")))
    return tuple(out)
