"""Reference ranges: data a clinic can override, never constants in code.

The default table (`reference_ranges.csv` beside this file) cites its source for each row or says
"screening default": no validated cut-off exists for most photo measures (METRICS.md). A clinic
overrides it with a CSV of the same columns (`--reference FILE`, or POSTURE_REFERENCE_RANGES):
rows it lists replace the defaults; rows it leaves out keep them.

Columns: metric, low, high, unit, basis, source. An empty low or high means unbounded on that
side; both empty means "report only, no range".
"""

from __future__ import annotations

import csv
import functools
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path

from posture.errors import InputError
from posture.metrics.definitions import METRICS_BY_ID

DEFAULT_PATH = Path(__file__).with_name("reference_ranges.csv")
ENV_VAR = "POSTURE_REFERENCE_RANGES"
COLUMNS = ("metric", "low", "high", "unit", "basis", "source")


@dataclass(frozen=True)
class ReferenceRange:
    metric: str
    low: float | None
    high: float | None
    unit: str
    basis: str
    source: str

    @property
    def has_range(self) -> bool:
        return self.low is not None or self.high is not None

    def contains(self, value: float) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def describe(self) -> str:
        """E.g. "between -2 and 2 deg (screening default, not a validated cut-off)"."""
        if not self.has_range:
            return "no reference range"
        unit = "" if self.unit in ("length", "") else f" {self.unit}"
        # Worded so the text never starts with "-" (a spreadsheet would take it for a formula).
        if self.low is not None and self.high is not None:
            text = f"between {self.low:g} and {self.high:g}{unit}"
        elif self.low is not None:
            text = f"at least {self.low:g}{unit}"
        else:
            text = f"at most {self.high:g}{unit}"
        if self.basis == "screening default":
            return f"{text} (screening default, not a validated cut-off)"
        return f"{text} ({self.basis})"


def _shown(text: str) -> str:
    """A cell as quoted in a one-line message: line breaks flattened, long text cut."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= 40 else flat[:37] + "..."


def _number(text: str, where: str) -> float | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{where}: '{_shown(text)}' is not a number") from None
    if not math.isfinite(value):
        raise InputError(f"{where}: '{_shown(text)}' is not a finite number")
    return value


def parse_ranges(text: str, name: str = "reference ranges") -> dict[str, ReferenceRange]:
    """Parse a reference-range CSV. Raises InputError with the file and row on bad content."""
    # newline="": any line ending (Excel's old-Mac CR too) is a row end, as csv expects.
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        fieldnames = reader.fieldnames or []
        rows = list(reader)
    except csv.Error as exc:
        raise InputError(f"{name}: not a readable CSV file ({_shown(exc)})") from None
    missing = [c for c in ("metric", "low", "high") if c not in fieldnames]
    if missing:
        raise InputError(f"{name}: missing column(s) {', '.join(missing)}; "
                         f"expected {', '.join(COLUMNS)}")
    out: dict[str, ReferenceRange] = {}
    for i, row in enumerate(rows, start=2):
        where = f"{name}, line {i}"
        metric = (row.get("metric") or "").strip()
        if metric not in METRICS_BY_ID:
            raise InputError(f"{where}: unknown metric '{_shown(metric)}'")
        low, high = _number(row.get("low"), where), _number(row.get("high"), where)
        if low is not None and high is not None and low > high:
            raise InputError(f"{where}: low {low:g} is above high {high:g}")
        out[metric] = ReferenceRange(
            metric=metric, low=low, high=high,
            unit=(row.get("unit") or "").strip(),
            basis=(row.get("basis") or "clinic setting").strip(),
            source=(row.get("source") or "").strip(),
        )
    return out


@functools.cache
def _default_ranges() -> dict[str, ReferenceRange]:
    """The shipped table, parsed once (it is part of the installed package). A clinic's file
    is read again at every analysis, so an edit to it applies at once."""
    return parse_ranges(DEFAULT_PATH.read_text(encoding="utf-8"), DEFAULT_PATH.name)


def read_clinic_file(path: str | os.PathLike, what: str) -> str:
    """The text of a clinic's own CSV (Excel's UTF-8 BOM allowed); InputError naming it."""
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or "not a UTF-8 text file"
        raise InputError(f"Cannot read {what} '{path}': {why}") from None


def load_ranges(override: str | os.PathLike | None = None) -> dict[str, ReferenceRange]:
    """The default table, updated by a clinic's file (argument, else POSTURE_REFERENCE_RANGES)."""
    ranges = dict(_default_ranges())
    path = override or os.environ.get(ENV_VAR)
    if path:
        ranges.update(parse_ranges(read_clinic_file(path, "reference ranges"), Path(path).name))
    return ranges
