"""A screening summary by body region, for the clinician and for the patient.

Each region (head and neck, shoulders, trunk and spine, pelvis, legs) lists the measures
outside or at the edge of their reference range, one line each. It is a screening summary:
no diagnosis, no SOT category, no treatment advice. The wording is data (`regions.csv` beside
this file: region, metric, clinician, patient), which a clinic overrides with its own file of
the same columns (POSTURE_REGION_WORDING=FILE), as it does the reference ranges: rows it lists
replace the defaults.

Several photos of one visit: each measure is read once. A sagittal measure from both side
photos is read from their mean; a frontal measure from the front and the back photo is read
from the front, saying whether the back agrees. The real differences between two photos of the
visit (`posture.metrics.bilateral.disagreements`) are lines of their own region: a plumb offset
differing between the sides (the trunk or pelvis turned, or the patient re-stood), any other
measure differing between the sides or between front and back (a check of the photos).
"""

from __future__ import annotations

import csv
import functools
import io
import os
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from posture.errors import InputError
from posture.metrics.bilateral import (
    FLAG_AGREES,
    FLAG_DIFFERS,
    FRONT_MINUS_BACK,
    LEFT_MINUS_RIGHT,
    SIDES_MEAN,
    TURN_CUES,
    disagreements,
)
from posture.metrics.chain import LEVELS, LevelsChain, levels_chain
from posture.metrics.compute import STATUS_OK, MetricResult
from posture.metrics.definitions import METRICS_BY_ID
from posture.metrics.reference import read_clinic_file
from posture.numbers import value_text

DEFAULT_PATH = Path(__file__).with_name("regions.csv")
ENV_VAR = "POSTURE_REGION_WORDING"
COLUMNS = ("region", "metric", "clinician", "patient")

REGIONS = {
    "head_neck": "Head and neck",
    "shoulders": "Shoulders",
    "trunk_spine": "Trunk and spine",
    "pelvis": "Pelvis",
    "legs": "Legs",
}
NOTABLE_FLAGS = ("outside", "borderline")
# The region of a body part a left-right plumb difference says may be turned (TURN_CUES).
_TURN_REGIONS = {"head": "head_neck", "trunk": "trunk_spine", "pelvis": "pelvis", "legs": "legs"}
_PATIENT_TURNED = ("The two side photos show your {part} in different places: it may be "
                   "turned, or you stood differently for the two photos.")


@dataclass(frozen=True)
class Wording:
    region: str
    metric: str
    clinician: str
    patient: str


@dataclass(frozen=True)
class SummaryLine:
    metric: str
    flag: str
    clinician: str       # e.g. "Head tilt: 3.1 +/- 0.4 deg, left ear higher (outside ...)"
    patient: str         # plain words, no numbers


@dataclass(frozen=True)
class RegionSummary:
    region: str          # key of REGIONS
    title: str
    lines: tuple[SummaryLine, ...]

    @property
    def clear(self) -> bool:
        return not self.lines


def parse_wording(text: str, name: str = "region wording") -> dict[str, Wording]:
    """Parse a wording CSV; InputError naming the file and line on bad content."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise InputError(f"{name}: not a readable CSV file ({exc})") from None
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(f"{name}: missing column(s) {', '.join(missing)}; "
                         f"expected {', '.join(COLUMNS)}")
    out = {}
    for i, row in enumerate(rows, start=2):
        region, metric = (row["region"] or "").strip(), (row["metric"] or "").strip()
        if region not in REGIONS:
            raise InputError(f"{name}, line {i}: unknown region '{region[:40]}' "
                             f"(one of {', '.join(REGIONS)})")
        if metric not in METRICS_BY_ID:
            raise InputError(f"{name}, line {i}: unknown metric '{metric[:40]}'")
        out[metric] = Wording(region, metric, (row["clinician"] or "").strip(),
                              (row["patient"] or "").strip())
    return out


@functools.cache
def _default_wording() -> dict[str, Wording]:
    return parse_wording(DEFAULT_PATH.read_text(encoding="utf-8"), DEFAULT_PATH.name)


def load_wording(override: str | os.PathLike | None = None) -> dict[str, Wording]:
    """The shipped wording, updated by a clinic's file (argument, else POSTURE_REGION_WORDING)."""
    wording = dict(_default_wording())
    path = override or os.environ.get(ENV_VAR)
    if path:
        wording.update(parse_wording(read_clinic_file(path, "region wording"), Path(path).name))
    return wording


def _number(value: float, uncertainty: float | None, unit: str) -> str:
    text = value_text(value)  # the one number rule (posture/numbers.py): no "-0.0"
    if uncertainty is not None:
        text += f" +/- {value_text(uncertainty)}"
    return f"{text} {unit}"


def region_summary(metrics: Iterable[MetricResult],
                   wording: dict[str, Wording] | None = None) -> tuple[RegionSummary, ...]:
    """Every region, in REGIONS order, with its notable measures (outside or borderline), then
    the real differences between two photos of the visit (flag "differs").

    A measure with no wording row is placed nowhere: the wording file decides what the summary
    speaks of. Each measure is read once (`visit_values`).
    """
    wording = load_wording() if wording is None else wording
    metrics = list(metrics)
    front_back = {m.metric: m for m in metrics if m.slot == FRONT_MINUS_BACK}
    lines: dict[str, list[SummaryLine]] = {r: [] for r in REGIONS}
    for m in visit_values(metrics):
        w = wording.get(m.metric)
        if w is None or m.status != STATUS_OK or m.value is None or m.flag not in NOTABLE_FLAGS:
            continue
        edge = "at the edge of" if m.flag == "borderline" else "outside"
        clinician = (f"{w.clinician}{_from_photos(m.slot)}: "
                     f"{_number(m.value, m.uncertainty, m.unit)}, "
                     f"{m.direction} ({edge} the reference range, {m.reference})")
        if m.manual:
            clinician += " [hand-placed points]"
        check = front_back.get(m.metric) if m.slot == "front" else None
        if check is not None and check.flag in (FLAG_AGREES, FLAG_DIFFERS):
            clinician += ("; the back photo agrees" if check.flag == FLAG_AGREES
                          else "; the back photo differs")
        lines[w.region].append(SummaryLine(m.metric, m.flag, clinician, w.patient))
    for d in disagreements(metrics):
        if d.code == "sides_differ" and d.metric in TURN_CUES:
            part, body = TURN_CUES[d.metric]
            region, patient = _TURN_REGIONS[body], _PATIENT_TURNED.format(part=body)
        else:
            region, patient = _region_of(d.metric, wording), ""   # a check of the photos
            if not region:
                continue
        lines[region].append(SummaryLine(d.metric, FLAG_DIFFERS, d.message, patient))
    return tuple(RegionSummary(r, title, tuple(lines[r])) for r, title in REGIONS.items())


def _region_of(metric: str, wording: Mapping) -> str:
    """The region a measure's lines go in: its wording's, else that of a worded measure on the
    same points (a length beside its angle or its % twin); "" if none."""
    if metric in wording:
        return wording[metric].region
    points = METRICS_BY_ID[metric].points
    return next((w.region for m, w in wording.items()
                 if m in METRICS_BY_ID and METRICS_BY_ID[m].points == points), "")


def _from_photos(slot: str) -> str:
    """Which photo a line's value comes from, where the visit's photos leave it unclear."""
    return {SIDES_MEAN: " (mean of both sides)", "back": " (back photo)"}.get(slot, "")


#: Which photo's value gives way to which: one side photo's to the mean of both, the back
#: photo's to the front's. The one rule of "the visit's value" (`is_visit_value`).
_GIVES_WAY_TO = {"left": SIDES_MEAN, "right": SIDES_MEAN, "back": "front"}


def is_visit_value(slot: str, measured: Container[str]) -> bool:
    """Whether a photo's result of a measure is the visit's value, given the slots that
    measured that measure in the visit: never a difference of two photos; one side photo's
    only without the mean of both sides, the back photo's only without the front's. Any other
    slot (a photo's, the mean, a side photo of a record made before the four slots) is.

    The one rule for "each measure once": the summary (`visit_values`), the report and the
    history charts (`posture.compare.history_series`) all read a visit through it."""
    if slot in (LEFT_MINUS_RIGHT, FRONT_MINUS_BACK):
        return False
    return _GIVES_WAY_TO.get(slot) not in measured


def visit_values(metrics: Iterable[MetricResult]) -> list[MetricResult]:
    """Each measure once, as the visit's value (`is_visit_value`): the mean of both side
    photos over either photo's, the front photo's over the back's; no difference between two
    photos. Results with no slot (made before the four slots) are all kept."""
    metrics = list(metrics)
    measured: dict[str, set[str]] = {}
    for m in metrics:
        if m.status == STATUS_OK and m.value is not None:
            measured.setdefault(m.metric, set()).add(m.slot)
    return [m for m in metrics if is_visit_value(m.slot, measured.get(m.metric, ()))]


@dataclass(frozen=True)
class FrontalLevels:
    """The levels chain of the visit: one frontal photo's (the front's, else the back's)."""

    slot: str                # "front" or "back" ("" for results made before the slots)
    chain: LevelsChain
    back: str                # with both photos: whether the back agrees on the levels

    @property
    def observations(self) -> tuple[str, ...]:
        return self.chain.observations + ((self.back,) if self.back else ())


def frontal_levels(metrics: Iterable[MetricResult]) -> FrontalLevels | None:
    """The chain from the front photo (else the back: also when the front measured nothing,
    a side view in its slot), and with both, which levels the back photo agrees on (front
    minus back within noise and the detectable change); None without a frontal photo."""
    metrics = list(metrics)
    frontal = [m for m in metrics if m.view == "front" and m.slot != FRONT_MINUS_BACK]
    slots = {m.slot for m in frontal}
    # A front slot holding a side view measures nothing: the back photo's levels, then.
    measured = {m.slot for m in frontal if m.status == STATUS_OK and m.value is not None}
    slot = next((s for s in ("front", "back") if s in measured),
                "front" if "front" in slots else "back" if "back" in slots else "")
    chosen = [m for m in frontal if m.slot == slot]
    if not chosen:
        return None
    chain = levels_chain(chosen)
    level_of = {metric: level for level, metric in LEVELS}
    checked = [m for m in metrics if m.slot == FRONT_MINUS_BACK and m.metric in level_of
               and m.flag in (FLAG_AGREES, FLAG_DIFFERS)]
    differ = [level_of[m.metric] for m in checked if m.flag == FLAG_DIFFERS]
    unjudged = any(m.slot == FRONT_MINUS_BACK and m.metric in level_of for m in metrics)
    if not checked and unjudged:
        back = ("Whether the back photo agrees with the front is not judged: the camera's "
                "level is unknown (mark a true vertical on both photos).")
    elif not checked:
        back = ""
    elif differ:
        back = ("The back photo differs from the front at the " + ", ".join(differ)
                + ": check how the patient stood for each.")
    else:
        back = "The back photo agrees with the front on every level measured on both."
    return FrontalLevels(slot, chain, back)


def patient_lines(summary: tuple[RegionSummary, ...]) -> dict[str, tuple[str, ...]]:
    """Each region's plain sentences for the patient, without repeats (several measures of one
    thing, e.g. two forward-head measures, say it once)."""
    return {r.title: tuple(dict.fromkeys(line.patient for line in r.lines if line.patient))
            for r in summary}


def row_slot(row: Mapping) -> str:
    """A row's photo slot; rows written before the four slots have none: their view's."""
    return row.get("slot") or ("side" if row.get("view") == "side" else "front")


def results_from_rows(rows: Iterable[dict]) -> list[MetricResult]:
    """Tidy rows (`Assessment.rows()`, or a stored visit's) as metric results, so a stored
    visit's summary and levels chain read exactly as the analysis did (the report and the
    records work from rows). Rows of metrics this version does not know are left out."""
    out = []
    for r in rows:
        m = METRICS_BY_ID.get(r.get("metric", ""))
        if m is None:
            continue
        out.append(MetricResult(
            metric=m.id, label=r.get("label") or m.label, view=m.view, value=r.get("value"),
            unit=r.get("unit") or "", uncertainty=r.get("uncertainty"),
            direction=r.get("side") or "", status=r.get("status") or "", detail=r.get("detail")
            or "", flag=r.get("flag") or "", reference=r.get("reference") or "", landmarks=(),
            manual=str(r.get("manual")).lower() in ("true", "1"), slot=row_slot(r)))
    return out
