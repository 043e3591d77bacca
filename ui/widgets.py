"""UI helpers shared by the pages: the metrics table, the findings banner, safe text.

Presentation only: these format what the library computed and never compute a measure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import pandas as pd
import streamlit as st

from posture.landmarks.quality import Finding
from posture.metrics.compute import FLAG_OUTSIDE, FLAG_WITHIN, STATUS_OK, MetricResult

# Row colours of the metrics table: outside the reference range stands out; a measure that could
# not be taken is greyed, its reason in the Flag column.
OUTSIDE_STYLE = "background-color: #ffd8a8; color: #7a2e00; font-weight: 600"
NOT_MEASURED_STYLE = "background-color: #f1f3f5; color: #6c757d"
WITHIN_FLAG_STYLE = "color: #2b8a3e"

METRIC_TABLE_HEADER = ("Measure", "Value", "+/-", "Direction", "Reference range", "Flag")

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
        why = m.detail or m.status.replace("_", " ")
        return f"not measured: {why}"
    text = {"within": "within range", "outside": "OUTSIDE range"}.get(m.flag, m.flag)
    if m.manual:
        text += "; hand-placed landmark"
    if m.corrected:
        text += f"; level-corrected (raw {m.raw_value:.1f})"
    return text


def metrics_frame(metrics: Sequence[MetricResult]) -> pd.DataFrame:
    """One display row per metric, in METRIC_TABLE_HEADER's columns, values as text."""
    rows = []
    for m in metrics:
        measured = m.status == STATUS_OK
        rows.append((
            m.label + (" (manual)" if m.manual else ""),
            f"{m.value:.1f} {m.unit}" if measured else "—",
            f"± {m.uncertainty:.1f}" if measured and m.uncertainty is not None else "",
            m.direction if measured else "",
            m.reference,
            _flag_text(m),
        ))
    # Cells are rendered as Markdown by st.table: escape so "-2" or "(…)" stay literal.
    return pd.DataFrame([[plain(c) for c in row] for row in rows],
                        columns=list(METRIC_TABLE_HEADER))


def metrics_table(metrics: Sequence[MetricResult]) -> None:
    """The metrics as a static, colour-flagged table (text in the page, readable on a tablet)."""
    frame = metrics_frame(metrics)

    def row_style(row: pd.Series) -> list[str]:
        m = metrics[row.name]
        if m.status != STATUS_OK:
            return [NOT_MEASURED_STYLE] * len(row)
        if m.flag == FLAG_OUTSIDE:
            return [OUTSIDE_STYLE] * len(row)
        if m.flag == FLAG_WITHIN:
            return [""] * (len(row) - 1) + [WITHIN_FLAG_STYLE]
        return [""] * len(row)

    st.table(frame.style.apply(row_style, axis=1), hide_index=True)


def findings_banner(findings: Iterable[Finding]) -> None:
    """Warnings that matter before trusting any number, or a short all-clear."""
    findings = list(findings)
    if not findings:
        st.success("Photo checks passed: whole body in frame, one person, landmarks confident.",
                   icon=":material/check_circle:")
        return
    lines = "\n".join(f"- {plain(f.message)}" for f in findings)
    st.warning(f"**Check before trusting the numbers**\n\n{lines}", icon=":material/warning:")
