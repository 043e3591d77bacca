"""The minimal detectable change (MDC) of each metric: the smallest difference between two
photos of one posture worth calling real, beyond what re-standing, camera placement and
breathing move. Data (`detectable_change.csv` in the package), which a clinic overrides with its
own file of the same columns (argument, else $POSTURE_DETECTABLE_CHANGE).

Read by the comparison of visits (`posture.compare`) and by the assessment, which holds two
photos of one visit (left and right side, front and back) to the same test.
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path

from posture.errors import InputError
from posture.metrics.definitions import LENGTH, METRICS_BY_ID

#: The multiple of the combined standard uncertainty a difference must exceed (95 %, two-sided).
NOISE_FACTOR = 2.0

DEFAULT_MDC_PATH = Path(__file__).parents[1] / "detectable_change.csv"
MDC_ENV_VAR = "POSTURE_DETECTABLE_CHANGE"

@dataclass(frozen=True)
class DetectableChange:
    """The smallest change of one metric worth calling real. `mdc` is in `unit`."""

    metric: str
    mdc: float
    unit: str
    basis: str       # "published MDC" or "screening default"
    source: str

    def describe(self) -> str:
        """E.g. "5 deg (published MDC)" or "2 deg (screening default, not a published MDC)"."""
        basis = ("screening default, not a published MDC" if self.basis == "screening default"
                 else self.basis)
        return f"{self.mdc:g} {self.unit} ({basis})"


def _one_line(text: str, limit: int = 40) -> str:
    return " ".join(text.split())[:limit]


def parse_detectable_changes(text: str, name: str = "detectable changes"
                             ) -> dict[str, DetectableChange]:
    """Parse a CSV with columns metric, mdc, unit, basis, source. Raises InputError.

    unit must be the metric's own: deg, %, or cm for lengths (a pixel length has no MDC).
    """
    # newline="": the csv module then reads any line ending (Excel for Mac writes bare CR).
    reader = csv.DictReader(io.StringIO(text, newline=""))
    out = {}
    try:
        if not {"metric", "mdc", "unit"} <= set(reader.fieldnames or ()):
            raise InputError(f"{name}: expected columns metric, mdc, unit, basis, source")
        for row in reader:
            where = f"{name}, line {reader.line_num}"
            metric = (row.get("metric") or "").strip()
            if metric not in METRICS_BY_ID:
                raise InputError(f"{where}: unknown metric '{_one_line(metric)}'")
            try:
                mdc = float(row.get("mdc") or "")
            except ValueError:
                raise InputError(f"{where}: mdc must be a number") from None
            if not (math.isfinite(mdc) and mdc >= 0):
                raise InputError(f"{where}: mdc must be a number of at least 0")
            unit = (row.get("unit") or "").strip()
            expected = "cm" if METRICS_BY_ID[metric].unit == LENGTH else METRICS_BY_ID[metric].unit
            if unit != expected:
                raise InputError(f"{where}: {metric} is in {expected}, not "
                                 f"'{_one_line(unit, 10)}'")
            out[metric] = DetectableChange(metric, mdc, unit,
                                           (row.get("basis") or "clinic setting").strip(),
                                           (row.get("source") or "").strip())
    except csv.Error as exc:
        raise InputError(f"{name}: not a readable CSV ({_one_line(str(exc), 80)})") from None
    return out


def load_detectable_changes(override: str | os.PathLike | None = None
                            ) -> dict[str, DetectableChange]:
    """The default table, updated by a clinic's file (argument, else $POSTURE_DETECTABLE_CHANGE)."""
    table = parse_detectable_changes(DEFAULT_MDC_PATH.read_text(encoding="utf-8"),
                                     DEFAULT_MDC_PATH.name)
    path = override or os.environ.get(MDC_ENV_VAR)
    if path:
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            raise InputError(f"cannot read detectable changes '{path}'") from None
        table.update(parse_detectable_changes(text, Path(path).name))
    return table


def noise_threshold(u_before: float | None, u_after: float | None,
                    factor: float = NOISE_FACTOR) -> float:
    """factor * sqrt(u_before^2 + u_after^2); a missing uncertainty counts as 0."""
    return factor * math.hypot(u_before or 0.0, u_after or 0.0)


def is_real_change(change: float, u_before: float | None, u_after: float | None,
                   mdc: float | None, factor: float = NOISE_FACTOR) -> bool:
    """True when |change| exceeds BOTH the noise threshold and the MDC (if one is known)."""
    size = abs(change)
    return size > noise_threshold(u_before, u_after, factor) and (mdc is None or size > mdc)
