"""Before/after comparison of two visits: every metric, its change, and whether it is real.

Pure: it reads the core's tidy rows (`Assessment.rows()`, or the same rows from the records
store) and recomputes no metric.

When is a change real? Both of:

1. It exceeds the detection noise of the two measurements: |after - before| >
   ``NOISE_FACTOR * sqrt(u_before**2 + u_after**2)``, where u is each value's uncertainty
   (detection noise over passes plus the photo's resolution floor, see
   `posture.metrics.compute`). With NOISE_FACTOR = 2 (1.96 rounded) that is a 95 % two-sided
   test that the two values differ by more than measurement noise. A value with no
   uncertainty contributes 0.
2. It exceeds the minimal detectable change (MDC) of the measure, from `detectable_change.csv`
   beside this module: forward_head_angle 5 deg (Gallego-Izquierdo et al. 2020: 4.96-5.52 deg
   for a smartphone forward-head angle); no published MDC exists for the other measures of
   this method, so they carry a "screening default, not a published MDC" a clinic can edit.

The noise term covers landmark jitter on the same photos; the MDC covers what photos cannot
repeat between visits (stance, camera placement, breathing). Neither covers the bias shared by
every photo (the shoulder landmark is not the acromion).

Rows are matched by photo slot and metric: each slot with the same slot of the other visit
(front, back, left, right, and the rows of two photos: "sides", "left-right", "front-back").
A visit with a single side photo is matched with the other visit's single side photo whichever
side each shows (a record made before the four slots holds "side", side unknown), and the
change says which photos it compares ("Right side photo vs left side photo"): the same
sagittal measure from the other side of the body, which a turned pelvis can change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from posture.assessment import ANY_SIDE, SIDE_SLOTS, SLOTS, slot_title
from posture.metrics.bilateral import COMBINED_SLOTS, SIDES_MEAN
from posture.metrics.compute import STATUS_OK
from posture.metrics.definitions import METRICS_BY_ID
from posture.metrics.detectable import (  # noqa: F401 - re-exported: compare's public names
    DEFAULT_MDC_PATH,
    MDC_ENV_VAR,
    NOISE_FACTOR,
    DetectableChange,
    is_real_change,
    load_detectable_changes,
    noise_threshold,
    parse_detectable_changes,
)
from posture.metrics.reference import ReferenceRange, load_ranges
from posture.metrics.summary import is_visit_value, row_slot
from posture.numbers import change_text, stored

REAL, NOT_REAL, NOT_COMPARABLE = "real change", "within measurement noise", "not comparable"
UNJUDGED = "no uncertainty or MDC known to judge it"
# What a real change means against the reference range (`range_meaning`).
NOW_WITHIN, NOW_OUTSIDE = "now within range", "now outside range"
STILL_WITHIN = "still within range"
TOWARD, AWAY = "moved toward the reference range", "moved away from the reference range"


@dataclass(frozen=True)
class MetricChange:
    """One metric, before and after. Values in `unit`; `change` = after - before.

    real: True / False, or None when the two values cannot be compared (`verdict` says why).
    threshold: the size a change must exceed to be real (the larger of noise and MDC).
    """

    metric: str
    label: str
    view: str
    unit: str
    before: float | None
    after: float | None
    change: float | None
    uncertainty_before: float | None
    uncertainty_after: float | None
    noise: float | None
    mdc: DetectableChange | None
    threshold: float | None
    real: bool | None
    verdict: str
    meaning: str = ""          # a real change against the reference range (`range_meaning`)
    manual_before: bool = False    # the value came from hand-placed landmarks
    manual_after: bool = False
    slot: str = ""             # the photo slot of the after visit's row (else the before's)
    before_slot: str = ""      # the before visit's slot: another side photo, or "side" (legacy)

    @property
    def photos(self) -> str:
        """Which photos it compares: "Front photo", "Right side photo vs left side photo"."""
        if not self.slot:
            return ""
        if self.before_slot in ("", self.slot):
            return slot_title(self.slot)
        return f"{slot_title(self.before_slot)} vs {slot_title(self.slot).lower()}"

    @property
    def change_text(self) -> str:
        """The change as shown beside the shown values: their difference ("+1.1")."""
        return change_text(self.before, self.after)

    @property
    def summary(self) -> str:
        """The verdict with what it means clinically, e.g. "real change: now within range"."""
        return f"{self.verdict}: {self.meaning}" if self.meaning else self.verdict


@dataclass(frozen=True, eq=False)
class VisitRecord:
    """One visit's analysis as comparison, report and pages read it, stored or ad hoc.

    rows: the core's tidy rows (keys: `posture.assessment.TABLE_COLUMNS`).
    images: photo slot ("front", "back", "left", "right"; "side" in records made before the
        four slots) -> annotated PNG without metadata (`render_png`).
    """

    label: str
    rows: tuple[dict, ...]
    images: Mapping[str, bytes] = field(default_factory=dict)
    findings: tuple[str, ...] = ()
    subject: str = ""
    patient_name: str = ""
    visit_date: date | None = None
    height_cm: float | None = None
    notes: str = ""
    visit_id: int | None = None
    analysis_id: int | None = None
    posture_version: str = ""
    analysed_at: str = ""

    @classmethod
    def from_assessment(cls, assessment, label: str, *, visit_date: date | None = None,
                        patient_name: str = "", notes: str = "",
                        images: Mapping[str, bytes] | None = None) -> VisitRecord:
        """A record of an analysis that is not (or not yet) stored.

        images: slot -> annotated PNG if already rendered; else `render_png` makes them here.
        """
        if images is None:
            from posture.render import render_png

            images = {p.slot: render_png(p) for p in assessment.photos}
        return cls(label=label, rows=tuple(assessment.rows()), images=dict(images),
                   findings=tuple(f.message for f in assessment.all_findings()),
                   subject=assessment.subject, patient_name=patient_name,
                   visit_date=visit_date, height_cm=assessment.options.height_cm, notes=notes,
                   posture_version=assessment.posture_version,
                   analysed_at=assessment.analysed_at)


@dataclass(frozen=True, eq=False)
class Comparison:
    before: VisitRecord
    after: VisitRecord
    changes: tuple[MetricChange, ...]

    @property
    def real_changes(self) -> tuple[MetricChange, ...]:
        return tuple(c for c in self.changes if c.real)

    @property
    def photo_pairs(self) -> tuple[tuple[str, str], ...]:
        """(before slot, after slot) of the photos to show side by side, matched as the rows
        are (`matched_slots`): ("front", "front"), ("right", "left") ..."""
        return tuple((b, a) for b, a in matched_slots(self.before.images, self.after.images)
                     if b and a)

    @property
    def new_photos(self) -> tuple[str, ...]:
        """The after visit's photo slots with no photo of the before visit to compare with."""
        paired = {a for _b, a in self.photo_pairs}
        return tuple(slot for slot in self.after.images if slot not in paired)


#: Every slot a row can have, in the order comparisons list them.
SLOT_ORDER = SLOTS + (ANY_SIDE,) + COMBINED_SLOTS
_SIDE_PHOTOS = SIDE_SLOTS + (ANY_SIDE,)


def _by_slot(rows: Iterable[Mapping]) -> dict[str, dict[str, Mapping]]:
    out: dict[str, dict[str, Mapping]] = {}
    for r in rows:
        out.setdefault(row_slot(r), {})[r["metric"]] = r
    return out


def slot_order(slot: str | None) -> tuple[int, str]:
    """Sort key of slots: SLOT_ORDER (front, back, left, right, side, the pairs), then others
    by name: how comparisons, records and reports list photos and rows."""
    return (SLOT_ORDER.index(slot) if slot in SLOT_ORDER else len(SLOT_ORDER), slot or "")


def matched_slots(before: Iterable[str], after: Iterable[str]
                  ) -> list[tuple[str | None, str | None]]:
    """(before slot, after slot) pairs to compare, in SLOT_ORDER; None: no such photo.

    Each slot matches the same slot of the other visit, except a single side photo: it
    matches the other visit's single side photo, whichever side either shows; beside both
    sides it matches the same side, or (a legacy side photo, side unknown) their mean."""
    before, after = list(dict.fromkeys(before)), list(dict.fromkeys(after))
    b_sides = [s for s in before if s in _SIDE_PHOTOS]
    a_sides = [s for s in after if s in _SIDE_PHOTOS]
    pairs: list[tuple[str | None, str | None]] = []
    if len(b_sides) == 1 and len(a_sides) == 1:
        pairs.append((b_sides[0], a_sides[0]))
    for single, other, single_is_before in ((b_sides, after, True), (a_sides, before, False)):
        if single == [ANY_SIDE] and SIDES_MEAN in other:
            pairs.append((ANY_SIDE, SIDES_MEAN) if single_is_before else (SIDES_MEAN, ANY_SIDE))
    taken_b = {b for b, _a in pairs}
    taken_a = {a for _b, a in pairs}
    for slot in sorted(set(before) | set(after), key=slot_order):
        b = slot if slot in before and slot not in taken_b else None
        a = slot if slot in after and slot not in taken_a else None
        if b or a:
            pairs.append((b, a))
    return sorted(pairs, key=lambda p: min(slot_order(p[0])[0], slot_order(p[1])[0]))


def _not_comparable(before: Mapping | None, after: Mapping | None) -> str | None:
    """Why two rows of one metric cannot be compared, or None if they can."""
    for when, row in (("before", before), ("after", after)):
        if row is None:
            return f"{NOT_COMPARABLE}: no such photo {when}"
        if row.get("status") != STATUS_OK or row.get("value") is None:
            return f"{NOT_COMPARABLE}: not measured {when} ({row.get('status') or 'no value'})"
    if before["unit"] != after["unit"]:
        return (f"{NOT_COMPARABLE}: units differ ({before['unit']} vs {after['unit']}); "
                "give the patient's height at both visits")
    if before["unit"] == "px":
        return (f"{NOT_COMPARABLE}: pixel lengths depend on the photo; give the patient's "
                "height to compare in cm")
    return None


def _view_of(*rows: Mapping | None) -> str:
    for r in rows:
        if r is not None:
            metric = METRICS_BY_ID.get(r["metric"])
            return metric.view if metric else r.get("view", "")
    return ""


_round = stored  # the one rounding rule (posture.numbers)


def _distance(value: float, ref: ReferenceRange) -> float:
    """How far `value` lies outside the range (0 inside), in its unit."""
    if ref.low is not None and value < ref.low:
        return ref.low - value
    if ref.high is not None and value > ref.high:
        return value - ref.high
    return 0.0


def range_meaning(before: float, after: float, ref: ReferenceRange | None) -> str:
    """What a change from `before` to `after` means against the reference range: "now within
    range", "now outside range", "still within range", "moved toward / away from the reference
    range"; "" when the measure has no range."""
    if ref is None or not ref.has_range:
        return ""
    d_before, d_after = _distance(before, ref), _distance(after, ref)
    if d_before > 0 and d_after == 0:
        return NOW_WITHIN
    if d_before == 0 and d_after > 0:
        return NOW_OUTSIDE
    if d_before == 0:
        return STILL_WITHIN
    return TOWARD if d_after < d_before else AWAY


def _range_for(metric: str, unit: str,
               ranges: Mapping[str, ReferenceRange]) -> ReferenceRange | None:
    """The metric's reference range if it applies in this unit (a length range never does in
    pixels; ranges given for lengths have no bounds today)."""
    ref = ranges.get(metric)
    if ref is None or not ref.has_range or ref.unit not in (unit, "", "length"):
        return None
    return ref


def compare_rows(before_rows: Iterable[Mapping], after_rows: Iterable[Mapping], *,
                 detectable: Mapping[str, DetectableChange] | None = None,
                 ranges: Mapping[str, ReferenceRange] | None = None,
                 factor: float = NOISE_FACTOR) -> tuple[MetricChange, ...]:
    """Every metric present in either visit, in the metric table's order.

    The change is after - before of the values as kept (`posture.numbers.stored`), so the
    values and the change in one row add up; `MetricChange.change_text` does the same for the
    values as shown. Whether a change is real uses the same kept values.

    Args:
        before_rows, after_rows: tidy rows (`Assessment.rows()` or stored ones).
        detectable: metric -> DetectableChange; the default table if None.
        ranges: metric -> ReferenceRange for `MetricChange.meaning`; the default ranges
            (with $POSTURE_REFERENCE_RANGES) if None.
        factor: the noise factor (see the module docstring).
    """
    detectable = load_detectable_changes() if detectable is None else detectable
    ranges = load_ranges() if ranges is None else ranges
    before_slots, after_slots = _by_slot(before_rows), _by_slot(after_rows)
    out = []
    for b_slot, a_slot in matched_slots(before_slots, after_slots):
        before, after = before_slots.get(b_slot, {}), after_slots.get(a_slot, {})
        out.extend(_slot_changes(before, after, b_slot or "", a_slot or "", detectable,
                                 ranges, factor))
    return tuple(out)


def _slot_changes(before: Mapping[str, Mapping], after: Mapping[str, Mapping], b_slot: str,
                  a_slot: str, detectable: Mapping[str, DetectableChange],
                  ranges: Mapping[str, ReferenceRange], factor: float) -> list[MetricChange]:
    """The changes of one matched pair of slots, in the metric table's order."""
    order = [m for m in METRICS_BY_ID if m in before or m in after]
    order += sorted((set(before) | set(after)) - set(order))   # metrics this version lacks
    slots = {"slot": a_slot or b_slot, "before_slot": b_slot}
    out = []
    for metric in order:
        b, a = before.get(metric), after.get(metric)
        known = b or a
        label = known.get("label") or metric
        unit = (a or b)["unit"]
        reason = _not_comparable(b, a)
        u_b = b.get("uncertainty") if b else None
        u_a = a.get("uncertainty") if a else None
        mdc = detectable.get(metric)
        if mdc is not None and mdc.unit != unit:
            mdc = None   # e.g. a cm MDC for a length measured in px (already not comparable)
        manual = {"manual_before": bool(b and b.get("manual")),
                  "manual_after": bool(a and a.get("manual")), **slots}
        if reason is not None:
            out.append(MetricChange(
                metric, label, _view_of(b, a), unit, _round(b and b.get("value")),
                _round(a and a.get("value")), None, u_b, u_a, None, mdc, None, None, reason,
                **manual))
            continue
        v_b, v_a = _round(b["value"]), _round(a["value"])
        change = _round(v_a - v_b)
        if mdc is None and u_b is None and u_a is None:
            # Nothing to judge the change against: show it, call it neither way.
            out.append(MetricChange(
                metric, label, _view_of(b, a), unit, v_b, v_a, change, None, None, None, None,
                None, None, UNJUDGED, **manual))
            continue
        noise = noise_threshold(u_b, u_a, factor)
        threshold = max(noise, mdc.mdc if mdc else 0.0)
        real = is_real_change(change, u_b, u_a, mdc.mdc if mdc else None, factor)
        meaning = range_meaning(v_b, v_a, _range_for(metric, unit, ranges)) if real else ""
        out.append(MetricChange(
            metric, label, _view_of(b, a), unit, v_b, v_a, change, u_b, u_a, _round(noise), mdc,
            _round(threshold), real, REAL if real else NOT_REAL, meaning, **manual))
    return out


def compare_visits(before: VisitRecord, after: VisitRecord, *,
                   detectable: Mapping[str, DetectableChange] | None = None,
                   ranges: Mapping[str, ReferenceRange] | None = None) -> Comparison:
    """Compare two visit records (stored or from `VisitRecord.from_assessment`)."""
    return Comparison(before, after, compare_rows(before.rows, after.rows,
                                                  detectable=detectable, ranges=ranges))


def compare_assessments(before, after, *, detectable=None) -> tuple[MetricChange, ...]:
    """Compare two `Assessment`s directly (nothing stored, no images)."""
    return compare_rows(before.rows(), after.rows(), detectable=detectable)


#: Columns of `comparison_table`, for the page, the CLI and the PDF.
COMPARISON_COLUMNS = ("metric", "photos", "label", "unit", "before", "after", "change", "threshold",
                      "real", "verdict", "meaning", "manual_before", "manual_after",
                      "threshold_basis")


def comparison_table(changes: Sequence[MetricChange]) -> list[dict]:
    """The changes as plain rows (COMPARISON_COLUMNS)."""
    return [{
        "metric": c.metric, "photos": c.photos, "label": c.label, "unit": c.unit,
        "before": c.before, "after": c.after, "change": c.change, "threshold": c.threshold,
        "real": c.real, "verdict": c.verdict, "meaning": c.meaning,
        "manual_before": c.manual_before, "manual_after": c.manual_after,
        "threshold_basis": _basis(c),
    } for c in changes]


def _basis(c: MetricChange) -> str:
    parts = []
    if c.noise is not None:
        parts.append(f"noise {NOISE_FACTOR:g} x combined uncertainty = {c.noise:.2f} {c.unit}")
    if c.mdc is not None:
        parts.append(f"MDC {c.mdc.describe()}")
    return "; ".join(parts)


#: A history chart's y-axis spans at least this many detectable changes (MDC), so a change
#: within the MDC never fills the chart (noise is not magnified into a trend).
MIN_SPAN_MDC = 2.0
#: Without an MDC (pixel lengths), at least this many times the largest uncertainty.
MIN_SPAN_UNCERTAINTY = 4.0


@dataclass(frozen=True)
class HistorySeries:
    """One measure (in one unit) over a patient's visits, ready to draw.

    points: one dict per measured visit, oldest first: visit_date, value, uncertainty (0 when
        unknown), low, high (value -/+ uncertainty), manual, flag, slot (the photo's).
    reference: the reference range drawn as a band (None: no range in this unit).
    y_domain: (bottom, top) of the y-axis in `unit`: every value with its uncertainty and the
        range's bounds, and at least `min_span` tall.
    min_span: the least height of the axis: MIN_SPAN_MDC x the MDC (or MIN_SPAN_UNCERTAINTY x
        the largest uncertainty without one).
    """

    metric: str
    label: str
    unit: str
    points: tuple[dict, ...]
    reference: ReferenceRange | None
    y_domain: tuple[float, float]
    min_span: float

    @property
    def title(self) -> str:
        """E.g. "Head tilt (deg)"; a label naming its unit already is left as it is."""
        if self.unit == "%" and "%" in self.label:
            return self.label
        return f"{self.label} ({self.unit})"


def history_series(rows: Iterable[Mapping], *,
                   detectable: Mapping[str, DetectableChange] | None = None,
                   ranges: Mapping[str, ReferenceRange] | None = None
                   ) -> tuple[HistorySeries, ...]:
    """The measured values of a patient's history (`posture.store.history_rows`), one series per
    metric and unit, in the metric table's order.

    One value a visit: the visit's own, by the summary's rule (`is_visit_value`: the front
    photo's over the back's, the mean of both sides over either side photo's, a side photo of
    a record made before the four slots as it is); differences between two photos are not
    charted."""
    detectable = load_detectable_changes() if detectable is None else detectable
    ranges = load_ranges() if ranges is None else ranges
    measured: dict[tuple, list[Mapping]] = {}
    for r in rows:
        if r.get("status") == STATUS_OK and r.get("value") is not None:
            key = (r.get("visit_id"), str(r.get("visit_date")), r["metric"])
            measured.setdefault(key, []).append(r)
    chosen: dict[tuple, Mapping] = {}
    for key, found in measured.items():
        slots = {row_slot(r) for r in found}
        values = [r for r in found if is_visit_value(row_slot(r), slots)]
        if values:   # none: only a difference of two photos measured it (not charted)
            # Both side photos' values with no mean of them (a row set cut short): the left's.
            chosen[key] = min(values, key=lambda r: slot_order(row_slot(r)))
    groups: dict[tuple[str, str], list[Mapping]] = {}
    for r in chosen.values():
        groups.setdefault((r["metric"], r["unit"]), []).append(r)
    order = list(METRICS_BY_ID)
    out = []
    for (metric, unit), group in sorted(
            groups.items(), key=lambda kv: (order.index(kv[0][0]) if kv[0][0] in order
                                            else len(order), kv[0])):
        points = []
        for r in sorted(group, key=lambda r: str(r["visit_date"])):
            value, u = stored(r["value"]), stored(r.get("uncertainty")) or 0.0
            points.append({"visit_date": r["visit_date"], "value": value, "uncertainty": u,
                           "low": value - u, "high": value + u, "manual": bool(r.get("manual")),
                           "flag": r.get("flag", ""), "slot": row_slot(r)})
        ref = _range_for(metric, unit, ranges)
        mdc = detectable.get(metric)
        if mdc is not None and mdc.unit == unit:
            min_span = MIN_SPAN_MDC * mdc.mdc
        else:
            min_span = MIN_SPAN_UNCERTAINTY * max(p["uncertainty"] for p in points)
        ends = [p["low"] for p in points] + [p["high"] for p in points]
        if ref is not None:
            ends += [b for b in (ref.low, ref.high) if b is not None]
        bottom, top = min(ends), max(ends)
        min_span = min_span or 1.0   # nothing known to scale by: one unit
        if top - bottom < min_span:
            middle = (top + bottom) / 2
            bottom, top = middle - min_span / 2, middle + min_span / 2
        out.append(HistorySeries(metric, group[-1].get("label") or metric, unit, tuple(points),
                                 ref, (bottom, top), min_span))
    return tuple(out)
