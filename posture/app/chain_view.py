"""The screening summary by region and the levels chain, as the intake page shows them.

Presentation only: `posture.metrics.summary` and `posture.metrics.chain` say what is notable and
how it reads; this draws it (the summary above the tables, a ladder for the front or back photo).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from posture.app.widgets import fitted_table, plain
from posture.assessment import Assessment, PhotoAnalysis, slot_title
from posture.ladder import LADDER_MAGNIFICATION, render_ladder_png
from posture.metrics.bilateral import SIDES_MEAN
from posture.metrics.chain import levels_chain
from posture.metrics.summary import FrontalLevels, patient_lines, region_summary
from posture.numbers import uncertainty_text, value_text


def summary_by_region(result: Assessment) -> None:
    """Each region: its measures outside or at the edge of their range, one line each, as the
    core reads the visit (`region_summary`): each measure once (a line names its photo only
    where the visit's photos leave it unclear), then what two photos disagree on."""
    summary = region_summary(result.metrics)
    st.subheader("Summary by region")
    st.caption("A screening summary, not a diagnosis: what lies outside (or at the edge of) "
               "its reference range. The clinic can reword it (POSTURE_REGION_WORDING)."
               + (" With both side photos, a measure both took reads their mean."
                  if any(m.slot == SIDES_MEAN for m in result.combined) else "")
               + (" With the front and the back photo, a measure both took reads the front's."
                  if result.front is not None and result.back is not None else ""))
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


def levels_chain_view(p: PhotoAnalysis, levels: FrontalLevels | None = None) -> None:
    """The ladder beside the photo, the table of levels, and what they show. levels: the
    visit's (`frontal_levels`): its words under the photo it is read from (whether the back
    agrees among them); another frontal photo's ladder is said to be that photo's own."""
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
    if levels is not None and levels.slot == p.slot:
        observations = levels.observations
    else:
        observations = chain.observations
        if levels is not None:
            st.caption(f"The visit's levels are read from the {slot_title(levels.slot).lower()}; "
                       f"these are the {slot_title(p.slot).lower()}'s own, to check against "
                       "them.")
    st.markdown("\n".join(f"- {plain(o)}" for o in observations))
