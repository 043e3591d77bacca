"""The one rounding rule for numbers people read, in one place.

A measured value is kept at ROW_DIGITS decimals in the tidy rows, the CSV files and the records
(`Assessment.rows()` rounds with `stored`). Every page, label and table shows it at
SHOWN_DIGITS decimals, rounded from that kept value (`shown`), half away from zero on its
decimal text, so the intake (fresh values) and the records (kept values) show the same number
and the same +/- for the same analysis, and a mirrored value shows the same magnitude.

A change between two values is shown as the difference of the two numbers shown
(`change_text`): 5.5 -> 6.6 reads +1.1, whatever the unrounded values were.

Every number leaving the library is finite or missing (`finite`: NaN and infinities become
None, so JSON, CSV and the records never hold them), and "-0.0" is never shown or stored.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

ROW_DIGITS = 2
SHOWN_DIGITS = 1
_QUANTUM = Decimal(1).scaleb(-SHOWN_DIGITS)


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


def stored(value: float | None) -> float | None:
    """The value as rows, CSV and the records keep it (ROW_DIGITS decimals; never -0.0;
    None when missing or not finite)."""
    return finite(value, ROW_DIGITS)


def shown_decimal(value: float) -> Decimal:
    """The value as shown, exactly (a Decimal with SHOWN_DIGITS decimals)."""
    # repr gives the shortest text of the kept value (0.65, not 0.6499999...).
    return Decimal(repr(stored(value))).quantize(_QUANTUM, rounding=ROUND_HALF_UP)


def shown(value: float | None) -> float | None:
    """The value as shown (SHOWN_DIGITS decimals; never -0.0)."""
    return None if finite(value) is None else float(shown_decimal(value)) + 0.0


def _text(d: Decimal, sign: bool) -> str:
    if d == 0:  # neither side: no sign, and never "-0.0"
        return f"{abs(d)}"
    return f"{d:+}" if sign else f"{d}"


def value_text(value: float | None, sign: bool = False, missing: str = "—",
               digits: int = SHOWN_DIGITS) -> str:
    """E.g. "5.5", or "+5.5" with sign; `missing` for None or a non-finite value."""
    if finite(value) is None:
        return missing
    if digits != SHOWN_DIGITS:
        return _text(Decimal(repr(stored(value))).quantize(Decimal(1).scaleb(-digits),
                                                           rounding=ROUND_HALF_UP), sign)
    return _text(shown_decimal(value), sign)


def uncertainty_text(value: float | None) -> str:
    """A +/- as shown: "<0.1" when it would read 0.0 (never a misleading zero); "" for None."""
    if finite(value) is None:
        return ""
    d = shown_decimal(value)
    return f"<{_QUANTUM}" if d == 0 else _text(d, False)


def change_text(before: float | None, after: float | None, missing: str = "—") -> str:
    """after - before as shown: the difference of the two shown numbers, signed ("+1.1")."""
    if finite(before) is None or finite(after) is None:
        return missing
    return _text(shown_decimal(after) - shown_decimal(before), True)
