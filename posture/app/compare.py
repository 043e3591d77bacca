"""The comparison page: two visits side by side, every measure's change and whether it is real,
and each measure over all of the patient's visits. Or ad hoc: before and after photos (any of
front, back, left side, right side) uploaded here, compared, and never saved.

A thin shell: `posture.compare` decides what a real change is; this page shows it.
"""

from __future__ import annotations

import hashlib

import altair as alt
import pandas as pd
import streamlit as st

from posture.app import signin
from posture.app.records import PHOTO_HEIGHT, PHOTO_ORDER, current_store, photo_name, same_height
from posture.app.widgets import file_stem, fitted_table, plain, wrapping_columns
from posture.assessment import ANY_SIDE, SLOTS, slot_title
from posture.compare import (
    COMPARISON_COLUMNS,
    MIN_SPAN_MDC,
    NOISE_FACTOR,
    Comparison,
    HistorySeries,
    VisitRecord,
    compare_visits,
    comparison_table,
    history_series,
)
from posture.errors import PostureError
from posture.export import csv_text
from posture.numbers import value_text
from posture.store import history_rows, list_patients, list_visits, load_visit

STORED, UPLOADED = "Saved visits", "Upload before and after photos (nothing saved)"
PHOTO_TYPES = ["jpg", "jpeg", "png", "webp", "heic", "heif", "bmp", "tif", "tiff"]
REAL_STYLE = "background-color: #dbeafe; font-weight: 600"
UNCOMPARED_STYLE = "color: #868e96"
ADHOC = "compare_adhoc"    # st.session_state: {fingerprint: VisitRecord} of uploaded photos

RULE = (f"A change is **real** when it exceeds both {NOISE_FACTOR:g} × the combined +/- of the "
        "two values (detection noise, 95 %) and the minimal detectable change (MDC): 5 deg for "
        "the forward-head angle (Gallego-Izquierdo et al. 2020); for the other measures a "
        "screening default, not a published MDC. *Needs >* is the larger of the two.")


def _side_said(slot: str) -> str:
    return ("a side photo, which side not recorded" if slot == ANY_SIDE
            else f"the {photo_name(slot)}")


def photo_pairs(comparison: Comparison) -> None:
    """Each photo before | after, at one scale: front, back, left side, right side; a single
    side photo in each visit as the side pair even when the sides differ (said so)."""
    before, after = comparison.before, comparison.after
    pairs = comparison.photo_pairs
    for b, a in pairs:
        image, _widths = same_height([before.images[b], after.images[a]], height=PHOTO_HEIGHT)
        if b == a:
            caption = f"{slot_title(b)}: {before.label} (left), {after.label} (right)"
        else:
            caption = (f"Side photos: {before.label} (left) is {_side_said(b)}, {after.label} "
                       f"(right) {_side_said(a)}")
        # "content": its own width, but never wider than the page (a phone shrinks it).
        st.image(image, width="content", output_format="JPEG", caption=caption)
    shown = {s for pair in pairs for s in pair}
    for record, other in ((before, after), (after, before)):
        alone = [s for s in PHOTO_ORDER if s in record.images and s not in shown]
        if alone:
            st.caption(f"Only {plain(record.label)} has the {', '.join(map(photo_name, alone))} "
                       f"photo: not in {plain(other.label)}, nothing to show beside it.")


def visit_notes(comparison: Comparison) -> None:
    """Per visit: its photo warnings, and which values came from hand-placed landmarks."""
    columns = wrapping_columns("compare_visit_notes", [1, 1], [280, 280])
    for column, record, manual in zip(
            columns, (comparison.before, comparison.after),
            ([c.label for c in comparison.changes if c.manual_before],
             [c.label for c in comparison.changes if c.manual_after])):
        with column:
            st.markdown(f"**{plain(record.label)}**")
            if record.findings:
                st.warning("\n".join(f"- {plain(f)}" for f in record.findings),
                           icon=":material/warning:")
            else:
                st.caption("No photo warnings.")
            st.caption("From hand-placed landmarks: " + ", ".join(plain(m) for m in manual)
                       + "." if manual else "No hand-placed landmarks.")


def _value(v: float | None, manual: bool) -> str:
    return value_text(v) + (" (manual)" if manual and v is not None else "")


def changes_frame(comparison: Comparison) -> pd.DataFrame:
    """The before/after table as shown: values and change by one rounding rule
    (posture.numbers), so each row's change is its after minus its before as shown."""
    changes = comparison.changes
    return pd.DataFrame({
        # A measure appears once per photo compared ("Right side photo vs left side photo").
        "Photos": [plain(c.photos) for c in changes],
        # The unit beside the name: one column less to fit a phone's width.
        "Measure": [plain(c.label if c.unit == "%" and "%" in c.label
                          else f"{c.label} ({c.unit})") for c in changes],
        plain(comparison.before.label): [_value(c.before, c.manual_before) for c in changes],
        plain(comparison.after.label): [_value(c.after, c.manual_after) for c in changes],
        "Change": [c.change_text for c in changes],
        "Needs >": [value_text(c.threshold) for c in changes],
        "Verdict": [plain(c.summary) for c in changes],
    })


def changes_table(comparison: Comparison) -> None:
    changes = comparison.changes

    def style(line: pd.Series) -> list[str]:
        c = changes[line.name]
        if c.real:
            return [REAL_STYLE] * len(line)
        return [UNCOMPARED_STYLE if c.real is None else ""] * len(line)

    fitted_table("changes_table", changes_frame(comparison).style.apply(style, axis=1))


def comparison_view(comparison: Comparison, stem: str) -> None:
    photo_pairs(comparison)
    n_real = len(comparison.real_changes)
    st.subheader(f"Change from {comparison.before.label} to {comparison.after.label}")
    st.caption(f"{n_real} real change(s). " + RULE)
    visit_notes(comparison)
    changes_table(comparison)
    st.download_button(
        "Comparison (CSV)",
        signin.audited(csv_text(comparison_table(comparison.changes), COMPARISON_COLUMNS),
                       f"comparison (CSV) of {comparison.before.label} and "
                       f"{comparison.after.label}", subject=comparison.after.subject or None),
        file_name=f"{stem}_comparison.csv", mime="text/csv", on_click="ignore",
        icon=":material/download:", key="download_comparison_csv")


def series_chart(series: HistorySeries) -> alt.LayerChart:
    """One measure over the visits: each value with its +/- as an error bar, the reference
    range as a shaded band, on a y-axis at least MIN_SPAN_MDC detectable changes tall."""
    data = pd.DataFrame(list(series.points))
    # One tick per visit, named by its date (a time axis invents dates between visits).
    data["visit"] = data["visit_date"].astype(str)
    data["source"] = data["manual"].map({True: "hand-placed", False: "detected"})
    bottom, top = series.y_domain
    pad = 0.06 * (top - bottom)          # the outermost error bar stays off the frame
    y_scale = alt.Scale(domain=[bottom - pad, top + pad], zero=False, nice=False)
    x = alt.X("visit:O", title=None, sort=None, axis=alt.Axis(labelAngle=-30))
    layers = []
    ref = series.reference
    if ref is not None:
        band = pd.DataFrame({"low": [bottom - pad if ref.low is None else ref.low],
                             "high": [top + pad if ref.high is None else ref.high]})
        layers.append(alt.Chart(band).mark_rect(color="#2b8a3e", opacity=0.12, clip=True)
                      .encode(y=alt.Y("low:Q", scale=y_scale, title=None), y2="high:Q"))
    base = alt.Chart(data)
    layers += [
        base.mark_rule(color="#495057", strokeWidth=1.5).encode(
            x=x, y=alt.Y("low:Q", scale=y_scale, title=None), y2="high:Q"),
        base.mark_line(color="#1c7ed6").encode(x=x, y=alt.Y("value:Q", scale=y_scale)),
        base.mark_point(filled=True, size=60).encode(
            x=x, y=alt.Y("value:Q", scale=y_scale),
            shape=alt.Shape("source:N", title=None,
                            scale=alt.Scale(domain=["detected", "hand-placed"],
                                            range=["circle", "diamond"])),
            color=alt.Color("source:N", title=None,
                            scale=alt.Scale(domain=["detected", "hand-placed"],
                                            range=["#1c7ed6", "#c2255c"]),
                            legend=None if not data["manual"].any() else alt.Legend()),
            tooltip=[alt.Tooltip("visit:O", title="Visit"),
                     alt.Tooltip("value:Q", title=series.unit, format=".1f"),
                     alt.Tooltip("uncertainty:Q", title="±", format=".1f"),
                     alt.Tooltip("source:N", title="Landmarks"),
                     alt.Tooltip("flag:N", title="Flag")]),
    ]
    return (alt.layer(*layers).properties(title=series.title, height=160)
            .configure_title(fontSize=13, anchor="start"))


def history_charts(rows: list[dict]) -> None:
    """Each measure over all visits, one small chart each, three to a row (fewer on a narrow
    screen)."""
    all_series = history_series(rows)
    if not all_series:
        return
    st.caption("Bars: each value's ±. Shaded: the reference range. Each y-axis spans at least "
               f"{MIN_SPAN_MDC:g} × the measure's detectable change, so a change within the "
               "noise looks small. Diamonds: values from hand-placed landmarks.")
    for start in range(0, len(all_series), 3):
        row = all_series[start:start + 3]
        columns = wrapping_columns(f"history_row_{start}", [1, 1, 1], [240, 240, 240],
                                   gap="small")
        for column, series in zip(columns, row):
            with column:
                st.altair_chart(series_chart(series), width="stretch")


def stored_visits() -> None:
    store = current_store()
    if store is None:
        return
    patients = list_patients(store)
    if not patients:
        st.info("No patients in the records yet: save visits from the Intake page, or upload "
                "before and after photos here.", icon=":material/folder_open:")
        return
    subject = st.selectbox("Patient", [p.subject for p in patients], key="compare_patient")
    visits = list_visits(store, subject)
    if len(visits) < 2:
        st.info(f"{plain(subject)} has {len(visits)} visit(s): comparing needs two.")
        return
    by_id = {v.visit_id: v for v in visits}
    ids = list(by_id)
    before_col, after_col = st.columns(2)
    before = before_col.selectbox("Before", ids, index=0, key="compare_before",
                                  format_func=lambda i: by_id[i].label)
    after = after_col.selectbox("After", ids, index=len(ids) - 1, key="compare_after",
                                format_func=lambda i: by_id[i].label)
    if before == after:
        st.warning("Pick two different visits.")
    else:
        comparison = compare_visits(load_visit(store, before), load_visit(store, after))
        comparison_view(comparison, f"posture_{file_stem(subject)}")
    st.subheader(f"Each measure over all {len(visits)} visits")
    history_charts(history_rows(store, subject))


def _analysed(label: str, photos: dict, height_cm: float | None) -> VisitRecord | None:
    """The uploaded photos (slot -> uploaded file), analysed once per session (cached by their
    bytes and the height)."""
    from posture import AnalysisOptions, analyze

    digest = hashlib.sha256(f"{label}{height_cm}".encode())
    for slot in SLOTS:
        digest.update(photos[slot].getvalue() if slot in photos else b"none")
    cache = st.session_state.setdefault(ADHOC, {})
    key = digest.hexdigest()
    if key not in cache:
        with st.spinner(f"Analysing the {label} photos…"):
            try:
                result = analyze(options=AnalysisOptions(height_cm=height_cm),
                                 names={slot: f.name for slot, f in photos.items()},
                                 **{slot: f.getvalue() for slot, f in photos.items()})
            except PostureError as exc:
                st.error(f"{label.capitalize()} photos: {plain(str(exc))}",
                         icon=":material/error:")
                return None
        if len(cache) >= 4:      # keep the session's memory bounded: photos are megabytes
            cache.clear()
        cache[key] = VisitRecord.from_assessment(result, label)
    return cache[key]


def uploaded_pairs() -> None:
    st.caption("Nothing uploaded here is saved. Any of the four photos, each optional: the "
               "ones both sets have are compared.")
    inputs = {}
    for column, label in zip(st.columns(2, gap="large"), ("before", "after")):
        with column:
            st.markdown(f"**{label.capitalize()}**")
            photos = {slot: st.file_uploader(slot_title(slot), type=PHOTO_TYPES,
                                             key=f"adhoc_{label}_{slot}") for slot in SLOTS}
            height = st.number_input("Height in cm (optional)", min_value=50.0,
                                     max_value=250.0, value=None, step=1.0, format="%.0f",
                                     key=f"adhoc_{label}_height")
            inputs[label] = ({s: f for s, f in photos.items() if f is not None}, height)
    if any(not photos for photos, _h in inputs.values()):
        st.info("Upload at least one photo for before and for after.",
                icon=":material/photo_camera:")
        return
    records = [_analysed(label, *given) for label, given in inputs.items()]
    if None in records:
        return
    comparison_view(compare_visits(*records), "posture_adhoc")


def show() -> None:
    """The page."""
    st.title("Compare visits")
    mode = st.radio("Compare", [STORED, UPLOADED], horizontal=True, key="compare_mode",
                    label_visibility="collapsed")
    if mode == STORED:
        stored_visits()
    else:
        uploaded_pairs()


if __name__ == "__main__":
    show()
