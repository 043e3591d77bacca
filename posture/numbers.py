"""One rule for numbers leaving the library: finite or missing, and never "-0.0".

Every face (CLI summary, image labels, CSV and JSON cells, the pages, the PDF) shows a number
through `shown` and stores one through `finite`, so the same value reads the same everywhere.
"""

from __future__ import annotations

import math


def finite(value, digits: int | None = None) -> float | None:
    """`value` as a float rounded to `digits` (None: not rounded), or None when it is missing,
    NaN or infinite. A result that rounds to zero is +0.0, never -0.0."""
    if value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(x):
        return None
    if digits is not None:
        x = round(x, digits)
    return x + 0.0  # -0.0 + 0.0 == +0.0


def shown(value, digits: int = 1, sign: bool = False, missing: str = "-") -> str:
    """`value` as text with `digits` decimals; `sign` puts "+" before a positive value. A value
    that rounds to zero reads "0.0" (no sign: it is neither side); a missing or non-finite value
    reads `missing`."""
    x = finite(value, digits)
    if x is None:
        return missing
    if x == 0.0:
        return f"{0.0:.{digits}f}"
    return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"
