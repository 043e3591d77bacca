"""UI helpers shared by the pages: the metrics table, the findings banner, safe text.

Presentation only: these format what the library computed and never compute a measure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import pandas as pd
import streamlit as st

from posture.landmarks.quality import Finding
from posture.metrics.bilateral import FLAG_NOT_JUDGED
from posture.metrics.compute import (
    FLAG_BORDERLINE,
    FLAG_NO_RANGE,
    FLAG_OUTSIDE,
    FLAG_WITHIN,
    STATUS_OK,
    MetricResult,
)
from posture.numbers import uncertainty_text, value_text

# Row colours of the metrics table: outside the reference range stands out; a measure that could
# not be taken is greyed, its reason in the Flag column.
OUTSIDE_STYLE = "background-color: #ffd8a8; color: #7a2e00; font-weight: 600"
NOT_MEASURED_STYLE = "background-color: #f1f3f5; color: #6c757d"
WITHIN_FLAG_STYLE = "color: #2b8a3e"
# Borderline (a range bound within 2 uncertainties): its own pale yellow, neither calm nor alarm.
BORDERLINE_STYLE = "background-color: #fff3bf; color: #5c3c00"
BORDERLINE_TEXT = "borderline: the range bound is within 2 ± of the value"

METRIC_TABLE_HEADER = ("Measure", "Value", "±", "Direction", "Reference range", "Flag")

# Inline Markdown anywhere in a line; block markers (list, heading, quote) only at its start.
_INLINE_MARKDOWN = re.compile(r"([\\`*_\[\]<>|~$])")
_BLOCK_START = re.compile(r"^(\s*)([-+#>]|\d+[.)])")


def plain(text: str) -> str:
    """Text shown literally where Streamlit renders Markdown (file names, messages, cells)."""
    escaped = _INLINE_MARKDOWN.sub(r"\\\1", text)
    # A backslash escapes punctuation only: "1." becomes "1\.", "-" becomes "\-".
    return _BLOCK_START.sub(lambda m: m.group(1) + m.group(2)[:-1] + "\\" + m.group(2)[-1],
                            escaped)


def file_stem(text: str, fallback: str = "patient") -> str:
    """A download file-name part from free text: letters, digits, '-' and '_' only."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")[:40]
    return stem or fallback


def _flag_text(m: MetricResult) -> str:
    if m.status != STATUS_OK:
        return f"not measured: {m.detail or m.status.replace('_', ' ')}"
    if m.flag == FLAG_NOT_JUDGED:      # a difference of two photos: say why ("level unknown")
        return m.detail.partition(": ")[2] or m.flag
    text = {FLAG_WITHIN: "within", FLAG_OUTSIDE: "OUTSIDE",
            FLAG_BORDERLINE: BORDERLINE_TEXT}.get(m.flag, m.flag)
    if m.manual:
        text += "; hand-placed landmark"
    if m.corrected and m.raw_value is not None:
        text += f"; level-corrected from {value_text(m.raw_value)}"
    return text




def split_reference(text: str) -> tuple[str, str]:
    """'between -2 and 2 deg (screening default, ...)' -> ('between -2 and 2 deg', 'screening
    default, ...'): the range for the table, its basis once under it."""
    head, sep, tail = text.partition(" (")
    if sep and tail.endswith(")"):
        return head, tail[:-1]
    return text, ""


def metrics_frame(metrics: Sequence[MetricResult]) -> pd.DataFrame:
    """One display row per metric, in METRIC_TABLE_HEADER's columns, values as text."""
    rows = []
    for m in metrics:
        measured = m.status == STATUS_OK
        rows.append((
            m.label + (" (manual)" if m.manual else ""),
            # A no-break space keeps a value and its unit on one line.
            f"{value_text(m.value)}\u00a0{m.unit}" if measured else "—",
            uncertainty_text(m.uncertainty) if measured else "",
            m.direction if measured else "",
            "—" if m.flag == FLAG_NO_RANGE else split_reference(m.reference)[0],
            _flag_text(m),
        ))
    # Cells are rendered as Markdown by st.table: escape so "-2" or "*" stay literal.
    return pd.DataFrame([[plain(c) for c in row] for row in rows],
                        columns=list(METRIC_TABLE_HEADER))


def metrics_table(metrics: Sequence[MetricResult], key: str = "metrics_table") -> None:
    """The metrics as a static, colour-flagged table (text in the page, readable on a tablet),
    with the basis of the reference ranges said once below it."""
    metrics = list(metrics)
    frame = metrics_frame(metrics)

    def row_style(row: pd.Series) -> list[str]:
        m = metrics[row.name]
        if m.status != STATUS_OK:
            return [NOT_MEASURED_STYLE] * len(row)
        if m.flag == FLAG_OUTSIDE:
            return [OUTSIDE_STYLE] * len(row)
        if m.flag == FLAG_BORDERLINE:
            return [BORDERLINE_STYLE] * len(row)
        if m.flag == FLAG_WITHIN:
            return [""] * (len(row) - 1) + [WITHIN_FLAG_STYLE]
        return [""] * len(row)

    fitted_table(key, frame.style.apply(row_style, axis=1))
    bases = sorted({basis for m in metrics if (basis := split_reference(m.reference)[1])})
    if bases:
        st.caption("Reference ranges: " + "; ".join(plain(b) for b in bases) + ".")


def _css_string(text: str) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def fitted_table(key: str, data, narrow_px: int = 460, narrow_window_px: int = 900) -> None:
    """st.table (no index) that shows every column at any width: on a phone or a tablet (window
    up to `narrow_window_px`), or wherever the table's own space is under `narrow_px`, each row
    becomes a card, one line per column, each named by its header; no column is cut off or
    squeezed into broken words. `data`: a DataFrame or its Styler. `key` must be unique on the
    page."""
    frame = getattr(data, "data", data)
    root = f".st-key-{key}"
    names = " ".join(f"{root} td:nth-child({i})::before {{content: {_css_string(h)} \": \";}}"
                     for i, h in enumerate(frame.columns, start=1) if i > 1)
    cards = f"""
  {root} table, {root} tbody, {root} tr, {root} td {{display: block; width: 100%;}}
  {root} thead {{display: none;}}
  {root} tr {{border-bottom: 1px solid #dee2e6; padding: 0.35rem 0;}}
  {root} td {{border: none !important; padding: 0.05rem 0.5rem !important;}}
  {root} td:first-child {{font-weight: 600;}}
  {root} td::before {{color: #6c757d; font-weight: 400;}}
  {root} td div, {root} td p {{display: inline;}}
  {names}
"""
    # The window's width, or a container query: the table's own width.
    st.html(f"""<style>
{root} {{container-type: inline-size;}}
@media (max-width: {narrow_window_px}px) {{{cards}}}
@container (max-width: {narrow_px}px) {{{cards}}}
</style>""")
    with st.container(key=key):
        st.table(data, hide_index=True)


def wrapping_columns(key: str, weights: Sequence[float], min_widths_px: Sequence[int],
                     gap: str = "medium") -> list:
    """st.columns that wrap onto rows of their own when the page is too narrow for their
    minimum widths, as on a tablet in portrait beside the sidebar. (Streamlit stacks columns
    only when the whole window is under 640 px wide.) `key` must be unique on the page."""
    block = (f'.st-key-{key} > [data-testid="stLayoutWrapper"] > '
             '[data-testid="stHorizontalBlock"]')
    rules = [f"{block} {{flex-wrap: wrap;}}"] + [
        f'{block} > [data-testid="stColumn"]:nth-child({i}) {{min-width: min(100%, {w}px);}}'
        for i, w in enumerate(min_widths_px, start=1)]
    st.html("<style>" + "\n".join(rules) + "</style>")
    with st.container(key=key):
        return st.columns(weights, gap=gap)


def findings_banner(findings: Iterable[Finding]) -> None:
    """Warnings that matter before trusting any number, or a short all-clear."""
    findings = list(findings)
    if not findings:
        st.success("No problems found with the photos (framing, body size, one person, "
                   "landmark confidence).", icon=":material/check_circle:")
        return
    lines = "\n".join(f"- {plain(f.message)}" for f in findings)
    st.warning(f"**Check before trusting the numbers**\n\n{lines}", icon=":material/warning:")
