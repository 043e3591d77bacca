"""A screening summary by body region, for the clinician and for the patient.

Each region (head and neck, shoulders, trunk and spine, pelvis, legs) lists the measures
outside or at the edge of their reference range, one line each. It is a screening summary:
no diagnosis, no SOT category, no treatment advice. The wording is data (`regions.csv` beside
this file: region, metric, clinician, patient), which a clinic overrides with its own file of
the same columns (POSTURE_REGION_WORDING=FILE), as it does the reference ranges: rows it lists
replace the defaults.
"""

from __future__ import annotations

import csv
import functools
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from posture.errors import InputError
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
    """Every region, in REGIONS order, with its notable measures (outside or borderline).

    A measure with no wording row is placed nowhere: the wording file decides what the summary
    speaks of. A measure from two photos (front and back) gives a line each.
    """
    wording = load_wording() if wording is None else wording
    lines: dict[str, list[SummaryLine]] = {r: [] for r in REGIONS}
    for m in metrics:
        w = wording.get(m.metric)
        if w is None or m.status != STATUS_OK or m.value is None or m.flag not in NOTABLE_FLAGS:
            continue
        edge = "at the edge of" if m.flag == "borderline" else "outside"
        clinician = (f"{w.clinician}: {_number(m.value, m.uncertainty, m.unit)}, "
                     f"{m.direction} ({edge} the reference range, {m.reference})")
        if m.manual:
            clinician += " [hand-placed points]"
        lines[w.region].append(SummaryLine(m.metric, m.flag, clinician, w.patient))
    return tuple(RegionSummary(r, title, tuple(lines[r])) for r, title in REGIONS.items())


def patient_lines(summary: tuple[RegionSummary, ...]) -> dict[str, tuple[str, ...]]:
    """Each region's plain sentences for the patient, without repeats (several measures of one
    thing, e.g. two forward-head measures, say it once)."""
    return {r.title: tuple(dict.fromkeys(line.patient for line in r.lines if line.patient))
            for r in summary}


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
            manual=str(r.get("manual")).lower() in ("true", "1")))
    return out
