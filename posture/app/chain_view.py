"""The screening summary by region and the levels chain, as the intake page shows them.

Presentation only: `posture.metrics.summary` and `posture.metrics.chain` say what is notable and
how it reads; this draws it (the summary above the tables, a ladder for the front or back photo).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from posture.app.widgets import fitted_table, plain
from posture.assessment import SIDE_SLOTS, Assessment, PhotoAnalysis, slot_title
from posture.ladder import LADDER_MAGNIFICATION, render_ladder_png
from posture.metrics.bilateral import SIDES_MEAN
from posture.metrics.chain import levels_chain
from posture.metrics.compute import MetricResult
from posture.metrics.summary import RegionSummary, SummaryLine, patient_lines, region_summary
from posture.numbers import uncertainty_text, value_text


def summary_sources(result: Assessment) -> list[tuple[str, list[MetricResult]]]:
    """The measures the summary reads, by slot: each photo's; with both side photos, the mean
    of the two (the visit's value) in place of each side's value of a measure both took."""
    means = {m.metric for m in result.combined if m.slot == SIDES_MEAN}
    out = [(p.slot, [m for m in p.metrics
                     if not (p.slot in SIDE_SLOTS and m.metric in means)])
           for p in result.photos]
    if means:
        out.append((SIDES_MEAN, [m for m in result.combined if m.slot == SIDES_MEAN]))
    return out


def visit_summary(result: Assessment) -> tuple[RegionSummary, ...]:
    """`region_summary` of the visit: with more than one photo, each line says which photo (or
    the mean of both sides) it reads, "Back photo — Head tilt: ..."."""
    sources = summary_sources(result)
    if len(sources) == 1:
        return region_summary(sources[0][1])
    parts = [(slot, region_summary(metrics)) for slot, metrics in sources]
    return tuple(
        RegionSummary(region.region, region.title, tuple(
            SummaryLine(line.metric, line.flag, f"{slot_title(slot)} — {line.clinician}",
                        line.patient)
            for slot, summary in parts for line in summary[i].lines))
        for i, region in enumerate(parts[0][1]))


def summary_by_region(result: Assessment) -> None:
    """Each region: its measures outside or at the edge of their range, one line each."""
    summary = visit_summary(result)
    st.subheader("Summary by region")
    st.caption("A screening summary, not a diagnosis: what lies outside (or at the edge of) "
               "its reference range. The clinic can reword it (POSTURE_REGION_WORDING)."
               + (" With both side photos, a measure both took reads their mean."
                  if any(m.slot == SIDES_MEAN for m in result.combined) else ""))
    for region in summary:
        if region.clear:
            st.markdown(f"**{region.title}:** nothing outside its range.")
            continue
        st.markdown(f"**{region.title}:**\n" + "\n".join(
            f"- {plain(line.clinician)}" for line in region.lines))
    with st.expander("In plain words, for the patient"):
        for title, lines in patient_lines(summary).items():
            st.markdown(f"**{title}:** " + (" ".join(plain(t) for t in lines)
                                            if lines else "nothing to note."))


def levels_chain_view(p: PhotoAnalysis) -> None:
    """The ladder beside the photo, the table of levels, and what they show."""
    chain = levels_chain(p.metrics)
    if not chain.levels:
        return
    st.markdown(f"**Levels from the floor up: {slot_title(p.slot).lower()}**")
    st.image(render_ladder_png(p, chain),
             caption=f"Each level at its height; angles drawn x{LADDER_MAGNIFICATION}; the "
                     "dot marks the higher side.")
    frame = pd.DataFrame([
        (level.level, value_text(level.value, sign=True), uncertainty_text(level.uncertainty),
         {"left": "left", "right": "right"}.get(level.higher, level.higher or "—"),
         level.flag or "not measured")
        for level in chain.levels],
        columns=["Level", "Tilt (deg)", "±", "Higher side", "Flag"])
    fitted_table(f"chain_{p.slot}", frame.map(plain))
    st.markdown("\n".join(f"- {plain(o)}" for o in chain.observations))
