"""The hand-read anatomical points of tests/data/anatomical/: loading, means, repeatability.

Shared by tests/test_outline_accuracy.py and benchmarks/outline_accuracy.py. Coordinates are
pixels of the upright full-resolution photo (the frame of `PoseLandmarks.xy`); each point was
read twice (rounds 1 and 2, different crops and zoom). See tests/data/anatomical/README.md.

Body height of a photo: the mean sole's y minus the mean vertex's y, in px (hair and shoe soles
included: 1-3 % more than stature). Millimetres use a NOMINAL stature for everyone (no sample
subject's stature is known), so they are a scale for reading, not a measurement.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "anatomical"
POINTS_CSV = DATA / "points.csv"

NOMINAL_STATURE_MM = 1700.0
"""Nominal stature (mm) to turn px into mm: no sample subject's height is known. An adult's
true stature is 1500-1900 mm, so the mm figures are good to about +/-12 %."""

TOLERANCE_FLOOR_PCT = 1.5
"""Smallest tolerance for an automatic point, % of body height: the issue's consistency bound is
1 % of height for a point, and a click on a soft outline edge scatters about as much."""

SIDE_POINTS = ("vertex", "tragus", "c7", "thoracic_apex", "lumbar_apex", "sacral_point", "sole")
FRONT_POINTS = ("vertex", "acromion_right", "acromion_left", "waist_right", "waist_left",
                "trochanter_right", "trochanter_left", "sole")
LEVELS = ("vertex", "sole")
"""Points that are levels: the top of the body and the floor under it. Only their height (y)
is compared: where along a flat head top or along the floor under the feet they sit does not
change the standing height, and the definitions differ there (heel or mid-foot)."""

LINES = {  # front-view lines, (patient's right point, patient's left point)
    "acromion line": ("acromion_right", "acromion_left"),
    "waist line": ("waist_right", "waist_left"),
    "trochanter line": ("trochanter_right", "trochanter_left"),
}


@dataclass(frozen=True)
class Click:
    x: float | None
    y: float | None
    visible: bool
    note: str


@dataclass(frozen=True)
class Annotation:
    """One point of one photo, read twice."""

    photo: str
    view: str
    point: str
    first: Click
    second: Click

    @property
    def visible(self) -> bool:
        """Seen in both rounds: the only points used as ground truth."""
        return self.first.visible and self.second.visible

    @property
    def hidden(self) -> bool:
        """Not visible in either round."""
        return not self.first.visible and not self.second.visible

    @property
    def mean(self) -> tuple[float, float]:
        if not self.visible:
            raise ValueError(f"{self.photo} {self.point} was not seen in both rounds")
        return ((self.first.x + self.second.x) / 2, (self.first.y + self.second.y) / 2)

    @property
    def spread_px(self) -> float:
        """Click-to-click distance, px (vertical only for a level, see `LEVELS`)."""
        return separation(self.point, (self.first.x, self.first.y),
                          (self.second.x, self.second.y))


def separation(point: str, p: tuple[float, float], q: tuple[float, float]) -> float:
    """Distance between two placements of `point`, px: vertical only for a level (`LEVELS`)."""
    return abs(p[1] - q[1]) if point in LEVELS else math.dist(p, q)


def _click(row: dict) -> Click:
    visible = row["visible"] == "1"
    return Click(float(row["x"]) if visible else None, float(row["y"]) if visible else None,
                 visible, row["note"])


def load(path: Path = POINTS_CSV) -> dict[tuple[str, str], Annotation]:
    """Every annotated (photo, point), in file order."""
    by_key: dict[tuple[str, str], dict[str, dict]] = {}
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            rounds = by_key.setdefault((row["photo"], row["point"]), {})
            if row["round"] in rounds:
                raise ValueError(f"{row['photo']} {row['point']}: round {row['round']} twice")
            rounds[row["round"]] = row
    out = {}
    for (photo, point), rounds in by_key.items():
        if set(rounds) != {"1", "2"}:
            raise ValueError(f"{photo} {point}: rounds {sorted(rounds)}, expected 1 and 2")
        out[photo, point] = Annotation(photo, rounds["1"]["view"], point,
                                       _click(rounds["1"]), _click(rounds["2"]))
    return out


def photos(annotations: dict[tuple[str, str], Annotation]) -> list[str]:
    return list(dict.fromkeys(photo for photo, _ in annotations))


def body_height_px(annotations: dict[tuple[str, str], Annotation], photo: str) -> float | None:
    """Mean sole y minus mean vertex y, px; None when either was not seen in both rounds."""
    top, bottom = annotations.get((photo, "vertex")), annotations.get((photo, "sole"))
    if top is None or bottom is None or not (top.visible and bottom.visible):
        return None
    return bottom.mean[1] - top.mean[1]


def line_angle(right: tuple[float, float], left: tuple[float, float]) -> float:
    """Tilt of the line from the patient's right point to the left one vs horizontal, deg,
    positive when the left point is higher (y down; front view: left is image +x)."""
    return math.degrees(math.atan2(right[1] - left[1], left[0] - right[0]))


def cva(tragus: tuple[float, float], c7: tuple[float, float]) -> float:
    """Craniovertebral angle: the tragus-C7 line vs horizontal, deg (tragus above C7)."""
    return math.degrees(math.atan2(c7[1] - tragus[1], abs(tragus[0] - c7[0])))


def kind(point: str) -> str:
    """The point without its side: left and right share one definition, so they share one
    repeatability figure (more pairs behind it)."""
    return point.removesuffix("_left").removesuffix("_right")


@dataclass(frozen=True)
class Repeatability:
    """Click-to-click distance of one kind of point (both sides pooled) over the photos where
    both rounds saw it."""

    kind: str
    n: int
    rms_px: float
    median_px: float
    max_px: float
    rms_pct: float          # % of body height (photos with a known body height only)
    n_pct: int

    @property
    def click_sd_pct(self) -> float:
        """Radial RMS error of one click, % of height: RMS distance / sqrt(2) (two clicks,
        equal and independent errors)."""
        return self.rms_pct / math.sqrt(2)

    @property
    def tolerance_pct(self) -> float:
        """Tolerance for an automatic point, % of height: max(3 x click SD, the floor)."""
        return max(3 * self.click_sd_pct, TOLERANCE_FLOOR_PCT)


def repeatability(annotations: dict[tuple[str, str], Annotation]) -> dict[str, Repeatability]:
    """Per kind of point (`kind`), over all photos where both rounds saw it."""
    dist: dict[str, list[float]] = {}
    pct: dict[str, list[float]] = {}
    for (photo, point), a in annotations.items():
        if not a.visible:
            continue
        dist.setdefault(kind(point), []).append(a.spread_px)
        h = body_height_px(annotations, photo)
        if h:
            pct.setdefault(kind(point), []).append(100 * a.spread_px / h)
    out = {}
    for point, d in dist.items():
        p = pct.get(point, [])
        d_sorted = sorted(d)
        mid = len(d) // 2
        median = d_sorted[mid] if len(d) % 2 else (d_sorted[mid - 1] + d_sorted[mid]) / 2
        out[point] = Repeatability(
            point, len(d), math.sqrt(sum(v * v for v in d) / len(d)), median, max(d),
            math.sqrt(sum(v * v for v in p) / len(p)) if p else math.nan, len(p))
    return out


def mm_per_px(height_px: float) -> float:
    return NOMINAL_STATURE_MM / height_px
