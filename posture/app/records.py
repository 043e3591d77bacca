"""The records page: patients, their visits, exports, re-analysis, deletion with a confirm step.

Also `save_visit_panel`, which the intake page shows under its results. A thin shell: the
records live in `posture.store`, the PDF in `posture.report`; nothing here computes a measure.
The database is $POSTURE_DATABASE_URL, else the SQLite file in the user's data folder.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image

from posture.app import signin
from posture.app.widgets import (
    BORDERLINE_STYLE,
    BORDERLINE_TEXT,
    METRIC_TABLE_HEADER,
    NOT_MEASURED_STYLE,
    OUTSIDE_STYLE,
    file_stem,
    fitted_table,
    plain,
    split_reference,
)
from posture.assessment import ANY_SIDE, SLOTS, slot_title
from posture.compare import slot_order
from posture.errors import PostureError
from posture.metrics.compute import FLAG_BORDERLINE, FLAG_NO_RANGE, FLAG_OUTSIDE, STATUS_OK
from posture.numbers import uncertainty_text, value_text
from posture.store import (
    Store,
    audit_csv,
    audit_lines,
    database_url,
    delete_patient,
    delete_visit,
    history_csv,
    list_analyses,
    list_patients,
    list_visits,
    load_visit,
    open_store,
    reanalyse_visit,
    save_visit,
    visit_csv,
)
from posture.store.audit import AUDIT_EXPORT, format_line

# st.session_state keys.
SAVED = "records_saved"                    # {analysis fingerprint: visit id} saved this session
CONFIRM_VISIT = "records_confirm_delete_visit"
CONFIRM_SAVE = "records_confirm_save"      # (fingerprint, questions) asked before a save

GAP = 24                   # px between photos shown side by side
PHOTO_HEIGHT = 560         # px: tall enough to read the labels, short enough to see the table

ROWS_HEADER = METRIC_TABLE_HEADER  # the intake table's columns
# Stored photo slots in page order. "side": a visit filed before the four slots, one side
# photo whose side was not recorded.
PHOTO_ORDER = SLOTS + (ANY_SIDE,)


@st.cache_resource(show_spinner=False)
def _open(url: str) -> Store:
    """One store per database URL and process (its engine is thread-safe)."""
    return open_store(url)


def current_store() -> Store | None:
    """The records database, or None after showing why it cannot be opened."""
    try:
        return _open(database_url())
    except PostureError as exc:
        st.error(f"Records unavailable: {plain(str(exc))}", icon=":material/error:")
        return None


def same_height(pngs: list[bytes], height: int) -> tuple[np.ndarray, list[int]]:
    """The images side by side at one height (one scale on screen), as one RGB array (pixels
    only: no metadata); and each image's width in it."""
    scaled = []
    for png in pngs:
        with Image.open(io.BytesIO(png)) as im:
            rgb = im.convert("RGB")
        width = max(1, round(rgb.width * height / rgb.height))
        scaled.append(np.asarray(rgb.resize((width, height), Image.Resampling.LANCZOS)))
    widths = [a.shape[1] for a in scaled]
    canvas = np.full((height, sum(widths) + GAP * (len(scaled) - 1), 3), 255, np.uint8)
    x = 0
    for a in scaled:
        canvas[:, x:x + a.shape[1]] = a
        x += a.shape[1] + GAP
    return canvas, widths


def rows_frame(rows) -> pd.DataFrame:
    """Stored tidy rows as display text, one row per measure (the intake table's columns)."""
    out = []
    for r in rows:
        measured = r["status"] == STATUS_OK and r["value"] is not None
        flag = {"within": "within range", "outside": "OUTSIDE range",
                "borderline": BORDERLINE_TEXT}.get(r["flag"], r["flag"])
        out.append((
            r["label"] + (" (manual)" if r["manual"] else ""),
            # No-break spaces keep a number with its unit in a narrow column.
            f"{value_text(r['value'])}\u00a0{r['unit']}" if measured else "—",
            uncertainty_text(r["uncertainty"]) if measured else "",
            r["side"] if measured else "",
            split_reference(r["reference"])[0] if r["flag"] != FLAG_NO_RANGE else "—",
            flag if measured else f"not measured: {r['detail'] or r['status']}",
        ))
    return pd.DataFrame([[plain(str(c)) for c in row] for row in out], columns=list(ROWS_HEADER))


def rows_table(rows, key: str = "records_table") -> None:
    """The measures, orange where outside the reference range, grey where not measured."""
    rows = list(rows)

    def style(line: pd.Series) -> list[str]:
        r = rows[line.name]
        if r["status"] != STATUS_OK:
            return [NOT_MEASURED_STYLE] * len(line)
        style = {FLAG_OUTSIDE: OUTSIDE_STYLE, FLAG_BORDERLINE: BORDERLINE_STYLE}
        return [style.get(r["flag"], "")] * len(line)

    fitted_table(key, rows_frame(rows).style.apply(style, axis=1))
    bases = sorted({basis for r in rows if (basis := split_reference(r["reference"])[1])})
    if bases:
        st.caption("Reference ranges: " + "; ".join(plain(b) for b in bases) + ".")


def photo_name(slot: str) -> str:
    """"front", "left side", "side": a stored photo's slot in a list."""
    return slot_title(slot).lower().removesuffix(" photo")


def photo_rows(slots: Iterable[str]) -> list[list[str]]:
    """The stored photos to show side by side: up to two in one row; more, the front and back
    in one row and the sides in the next (one scale per row, each still large enough)."""
    ordered = [s for s in PHOTO_ORDER if s in set(slots)]
    if len(ordered) <= 2:
        return [ordered] if ordered else []
    frontal = [s for s in ordered if s in ("front", "back")]
    sides = [s for s in ordered if s not in ("front", "back")]
    return [row for row in (frontal, sides) if row]


def visit_photos_view(images: Mapping[str, bytes]) -> None:
    """A visit's annotated photos, each row at one height, captioned by slot."""
    for row in photo_rows(images):
        image, _widths = same_height([images[s] for s in row], height=PHOTO_HEIGHT)
        # "content": its own width, but never wider than the page (a phone shrinks it).
        st.image(image, width="content", output_format="JPEG",
                 caption=" · ".join(slot_title(s) for s in row))


def rows_by_slot(rows) -> dict[str, list[dict]]:
    """Stored rows by photo, then the rows of two photos (`posture.metrics.bilateral`), in page
    order: one measure can be taken on up to four photos."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r.get("slot") or "", []).append(r)
    return dict(sorted(groups.items(), key=lambda g: slot_order(g[0])))


def visit_tables(rows) -> None:
    """One table per photo (and per pair of photos), titled by slot."""
    for slot, group in rows_by_slot(rows).items():
        st.markdown(f"**{slot_title(slot) if slot else 'Measures'}**")
        rows_table(group, key=f"records_table_{slot or 'all'}")


# --- the panel under the intake page's results ------------------------------------------------


def _fingerprint(result, photos: dict[str, bytes], subject: str, visit_date: dt.date) -> str:
    """What one save files: the analysis, its photos, and the patient and date it goes under."""
    digest = hashlib.sha256(repr((result.rows(), subject, visit_date.isoformat())).encode())
    for slot in sorted(photos):
        digest.update(_photo_digest(photos[slot]))
    return digest.hexdigest()


@functools.lru_cache(maxsize=8)
def _photo_digest(data: bytes) -> bytes:
    """A photo's SHA-256, once per photo: the intake asks on every run, twice (whether the
    visit is saved, before and after the page is drawn), and the photos' bytes are the session's
    same objects from run to run."""
    return hashlib.sha256(data).digest()


def _squeezed(subject: str) -> str:
    return "".join(subject.split()).casefold()


def similar_subjects(subject: str, existing: Iterable[str]) -> list[str]:
    """Existing patient IDs that differ from `subject` only by letter case or spaces ("P-1001"
    vs "p-1001 ", "P 1001" vs "P1001"): a likely typo that would start a second record."""
    key = _squeezed(subject)
    return [s for s in existing if s != subject and _squeezed(s) == key]


def save_questions(subject: str, visit_date: dt.date, existing: Iterable[str],
                   today: dt.date | None = None) -> list[str]:
    """What to ask before filing a visit (one line each), or nothing for a plain save."""
    questions = []
    today = today or dt.date.today()
    if visit_date > today:
        questions.append(f"The visit date {visit_date.isoformat()} is in the future (today is "
                         f"{today.isoformat()}).")
    for other in similar_subjects(subject, existing):
        questions.append(f"'{subject}' differs from the existing patient '{other}' only by "
                         "case or spaces: saving starts a new patient record.")
    return questions


def save_label(subject: str, visit_date: dt.date) -> str:
    """The save button's text: exactly what it files."""
    return f"Save visit {visit_date.isoformat()} for {subject}"


def is_saved(result, photos: Mapping[str, bytes], subject: str, visit_date: dt.date) -> bool:
    """Whether exactly this analysis, photos, patient and date were saved in this session (what
    `save_visit_panel` would say, without drawing it)."""
    photos = {slot: data for slot, data in photos.items() if data}
    return _fingerprint(result, photos, subject.strip(), visit_date) in st.session_state.get(
        SAVED, {})


def save_visit_panel(result, photos: Mapping[str, bytes], *, subject: str,
                     visit_date: dt.date, notes: str = "", patient_name: str = "",
                     filenames: dict[str, str] | None = None,
                     annotated: dict[str, bytes] | None = None) -> bool:
    """Save this analysis as a visit in the records (all or nothing; nothing leaves the machine
    unless the clinic points POSTURE_DATABASE_URL at its own server).

    result: the `Assessment` shown; photos: slot -> the bytes exactly as uploaded, keyed by
    the slots they were given in (`save_visit` files each where it was analysed);
    subject, visit_date, notes, patient_name: the page's patient fields, read at every run, so
    the save files what the page shows now; annotated: slot -> the PNGs already rendered.
    A future date or a patient ID that differs from an existing one only by case or spaces is
    asked about first. Returns True when exactly this is saved (this session).
    """
    st.subheader("Save visit")
    photos = {slot: data for slot, data in photos.items() if data}
    subject = subject.strip()
    fingerprint = _fingerprint(result, photos, subject, visit_date)
    saved = st.session_state.setdefault(SAVED, {})
    if fingerprint in saved:
        st.success(f"Saved as visit {saved[fingerprint]} ({visit_date.isoformat()}, "
                   f"{plain(subject)}). Open it on the Records page.",
                   icon=":material/check_circle:")
        return True
    if not subject:
        st.info("Enter the patient ID at the top of the page to save this visit.",
                icon=":material/badge:")
        return False
    pending = st.session_state.get(CONFIRM_SAVE)
    if pending is not None and pending[0] == fingerprint:
        # The questions asked on the last click, for exactly this patient, date and analysis.
        st.warning("**Check before saving**\n\n" + "\n".join(f"- {plain(q)}" for q in pending[1]),
                   icon=":material/help:")
        yes, no = st.columns(2)
        go = yes.button(plain("Yes, " + save_label(subject, visit_date).lower()[:4]
                              + save_label(subject, visit_date)[4:]),
                        type="primary", key="save_visit_confirm")
        if no.button("Cancel", key="save_visit_cancel"):
            st.session_state.pop(CONFIRM_SAVE, None)
            st.rerun()
        if not go:
            return False
    # The database is opened only on saving: showing results never touches the records.
    elif not st.button(plain(save_label(subject, visit_date)), type="primary",
                       icon=":material/save:", key="save_visit"):
        return False
    store = current_store()
    if store is None:
        return False
    if pending is None or pending[0] != fingerprint:
        try:
            existing = [p.subject for p in list_patients(store)]
        except PostureError as exc:
            st.error(plain(str(exc)), icon=":material/error:")
            return False
        questions = save_questions(subject, visit_date, existing)
        if questions:
            st.session_state[CONFIRM_SAVE] = (fingerprint, questions)
            st.rerun()
    try:
        visit_id = save_visit(store, subject, result, photos, filenames=filenames,
                              annotated=annotated, visit_date=visit_date, notes=notes,
                              patient_name=patient_name or None, actor=signin.actor())
    except PostureError as exc:
        st.error(plain(str(exc)), icon=":material/error:")
        return False
    st.session_state.pop(CONFIRM_SAVE, None)
    saved[fingerprint] = visit_id
    st.rerun()


# --- the records page --------------------------------------------------------------------------


def _report_pdf(store: Store, visit_id: int, previous_id: int | None,
                analysis_id: int | None) -> bytes:
    from posture.report import visit_report_pdf

    previous = load_visit(store, previous_id) if previous_id is not None else None
    return visit_report_pdf(load_visit(store, visit_id, analysis_id), previous)


def _patient_sheet(store: Store, visit_id: int, previous_id: int | None,
                   analysis_id: int | None) -> bytes:
    from posture.report import patient_sheet_pdf

    previous = load_visit(store, previous_id) if previous_id is not None else None
    return patient_sheet_pdf(load_visit(store, visit_id, analysis_id), previous)


def _visits_frame(visits) -> pd.DataFrame:
    return pd.DataFrame({
        "Date": [v.visit_date.isoformat() for v in visits],
        "Visit": [v.visit_id for v in visits],
        "Photos": [", ".join(photo_name(s) for s in PHOTO_ORDER if s in v.slots)
                   for v in visits],
        "Height (cm)": [f"{v.height_cm:g}" if v.height_cm else "—" for v in visits],
        "Analyses": [v.analyses for v in visits],
        "Latest analysis": [f"posture {v.posture_version}, {v.analysed_at[:16].replace('T', ' ')}"
                            for v in visits],
        "Notes": [v.notes for v in visits],  # st.dataframe shows text as is: no escapes
    })


def _delete_visit_step(store: Store, visit) -> None:
    """Delete in two steps: the button asks, a second button does it."""
    if st.session_state.get(CONFIRM_VISIT) != visit.visit_id:
        if st.button("Delete this visit…", icon=":material/delete:", key="delete_visit"):
            st.session_state[CONFIRM_VISIT] = visit.visit_id
            st.rerun()
        return
    st.warning(f"Delete the visit of {visit.visit_date.isoformat()} (visit {visit.visit_id}) "
               "with its photos and every analysis? This cannot be undone.",
               icon=":material/warning:")
    yes, no = st.columns(2)
    if yes.button("Yes, delete the visit", type="primary", key="delete_visit_confirm"):
        delete_visit(store, visit.visit_id, actor=signin.actor())
        st.session_state.pop(CONFIRM_VISIT, None)
        st.session_state.pop("records_visit", None)
        st.rerun()
    if no.button("Cancel", key="delete_visit_cancel"):
        st.session_state.pop(CONFIRM_VISIT, None)
        st.rerun()


def _delete_patient_step(store: Store, subject: str, n_visits: int) -> None:
    with st.expander("Delete this patient"):
        if not signin.is_admin():
            st.info("Only an administrator account can delete a patient.",
                    icon=":material/lock:")
            return
        st.write(f"Deletes {plain(subject)} with all {n_visits} visit(s), photos and analyses.")
        typed = st.text_input("Type the patient ID to confirm", key="delete_patient_typed")
        if st.button("Delete patient", type="primary", disabled=typed.strip() != subject,
                     key="delete_patient"):
            delete_patient(store, subject, actor=signin.actor())
            st.session_state.pop("records_patient", None)
            st.rerun()


def _visit_section(store: Store, subject: str, visits, visit) -> None:
    analyses = list_analyses(store, visit.visit_id)
    analysis_id = None
    if len(analyses) > 1:
        pick = st.selectbox(
            "Analysis", list(reversed(analyses)), key=f"records_analysis_{visit.visit_id}",
            format_func=lambda a: f"posture {a.posture_version}, {a.analysed_at}",
            help="Earlier analyses keep their numbers; the latest is shown by default.")
        analysis_id = pick.analysis_id
    record = load_visit(store, visit.visit_id, analysis_id)
    if record.findings:
        st.warning("\n".join(f"- {plain(f)}" for f in record.findings),
                   icon=":material/warning:")
    visit_photos_view(record.images)
    visit_tables(record.rows)

    position = [v.visit_id for v in visits].index(visit.visit_id)
    previous_id = visits[position - 1].visit_id if position > 0 else None
    stem = f"posture_{file_stem(subject)}_{visit.visit_date.isoformat()}"
    pdf_col, sheet_col, csv_col, again_col, delete_col = st.columns(5)
    pdf_col.download_button(
        "Visit report (PDF)",
        signin.audited(
            functools.partial(_report_pdf, store, visit.visit_id, previous_id, analysis_id),
            "visit report (PDF)", subject=subject, visit_id=visit.visit_id),
        file_name=f"{stem}.pdf", mime="application/pdf", on_click="ignore",
        icon=":material/picture_as_pdf:", key="download_visit_pdf")
    sheet_col.download_button(
        "Patient sheet (PDF)",
        signin.audited(
            functools.partial(_patient_sheet, store, visit.visit_id, previous_id, analysis_id),
            "patient sheet (PDF)", subject=subject, visit_id=visit.visit_id),
        file_name=f"{stem}_patient.pdf", mime="application/pdf", on_click="ignore",
        icon=":material/description:", key="download_patient_sheet",
        help="One page in plain words for the patient: what was noticed by body region, the "
             "photos, and what changed since the previous visit.")
    csv_col.download_button(
        "Visit measures (CSV)",
        signin.audited(functools.partial(visit_csv, store, visit.visit_id, analysis_id),
                       "visit measures (CSV)", subject=subject, visit_id=visit.visit_id),
        file_name=f"{stem}.csv", mime="text/csv", on_click="ignore",
        icon=":material/download:", key="download_visit_csv")
    from posture import __version__

    if again_col.button(f"Analyse again with posture {__version__}", key="reanalyse",
                        help="Adds a new analysis of the stored photos; the old numbers stay. "
                             "Hand-placed landmarks and a marked vertical are carried over."):
        with st.spinner("Analysing the stored photos…"):
            try:
                reanalyse_visit(store, visit.visit_id, actor=signin.actor())
            except PostureError as exc:
                st.error(plain(str(exc)), icon=":material/error:")
                return
        st.rerun()
    with delete_col:
        _delete_visit_step(store, visit)
    audit_section(store, subject, visit.visit_id)


def audit_section(store: Store, subject: str, visit_id: int) -> None:
    """Who saved, edited, re-analysed, exported this visit (and the patient's whole-history
    exports), newest first; the full lines as CSV."""
    lines = audit_lines(store, subject=subject, visit_id=visit_id)
    with st.expander(f"Audit log of this visit ({len(lines)})", icon=":material/history:"):
        # Newest first, as `posture audit` prints them (times in UTC).
        st.code("\n".join(format_line(a) for a in reversed(lines)), language=None,
                wrap_lines=True)
        st.download_button(
            "Audit log of this visit (CSV)",
            signin.audited(functools.partial(audit_csv, store, subject=subject,
                                             visit_id=visit_id),
                           "audit log of the visit (CSV)", subject=subject, visit_id=visit_id,
                           action=AUDIT_EXPORT),
            file_name=f"posture_{file_stem(subject)}_visit{visit_id}_audit.csv",
            mime="text/csv", on_click="ignore", icon=":material/download:",
            key="download_visit_audit")


def show() -> None:
    """The page."""
    st.title("Records")
    store = current_store()
    if store is None:
        return
    st.caption(f"Patient records in {plain(store.url)}. Photos are kept as uploaded; exports "
               "(PDF, PNG) carry no photo metadata.")
    try:
        patients = list_patients(store)
    except PostureError as exc:          # the server stopped answering, the file is damaged
        st.error(f"Records unavailable: {plain(str(exc))}", icon=":material/error:")
        return
    if not patients:
        st.info("No patients yet: analyse photos on the Intake page, then save the visit.",
                icon=":material/folder_open:")
        return
    names = {p.subject: p for p in patients}
    subject = st.selectbox(
        "Patient", list(names), key="records_patient",
        format_func=lambda s: f"{s} — {names[s].name}" if names[s].name else s)
    visits = list_visits(store, subject)
    st.download_button(
        "Full history (CSV)",
        signin.audited(functools.partial(history_csv, store, subject), "full history (CSV)",
                       subject=subject),
        file_name=f"posture_{file_stem(subject)}_history.csv", mime="text/csv",
        on_click="ignore", icon=":material/download:", key="download_history_csv")
    if not visits:
        st.info("This patient has no visits.")
    else:
        st.dataframe(_visits_frame(visits), hide_index=True)
        by_id = {v.visit_id: v for v in visits}
        visit_id = st.selectbox("Visit", list(reversed(by_id)), key="records_visit",
                                format_func=lambda i: by_id[i].label)
        st.divider()
        try:
            _visit_section(store, subject, visits, by_id[visit_id])
        except PostureError as exc:      # e.g. this visit's part of the records is damaged
            st.error(plain(str(exc)), icon=":material/error:")
    st.divider()
    _delete_patient_step(store, subject, len(visits))


if __name__ == "__main__":
    show()
