"""The records and comparison pages in Streamlit's AppTest, against a temp SQLite store
(POSTURE_DATABASE_URL)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from posture.app.compare import UPLOADED
from posture.metrics.definitions import METRICS
from posture.store import list_patients, list_visits, open_store, save_visit
from tests.postgres import leo_visit

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 60


@pytest.fixture
def records_url(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    monkeypatch.setenv("POSTURE_DATABASE_URL", url)
    return url


@pytest.fixture
def two_visits(records_url) -> str:
    """leo's two visits in the store the pages open."""
    store = open_store(records_url)
    for which, day in (("first", date(2025, 1, 10)), ("second", date(2025, 4, 2))):
        s = leo_visit(which)
        save_visit(store, "leo", s.assessment, s.photos, filenames=s.filenames,
                   annotated=s.annotated, visit_date=day, patient_name="Léo")
    store.close()
    return records_url


def page(name: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "posture" / "app" / f"{name}.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def text_of(at: AppTest) -> str:
    parts = [e.value for kind in ("title", "subheader", "markdown", "caption", "info",
                                            "warning", "success", "error")
             for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


# --- comparison page ----------------------------------------------------------------------------


def test_compare_page_shows_first_and_latest_visit_by_default(two_visits):
    at = page("compare")
    assert at.selectbox(key="compare_patient").value == "leo"
    assert at.selectbox(key="compare_before").value == 1
    assert at.selectbox(key="compare_after").value == 2
    [table] = at.table
    frame = table.value
    assert list(frame.columns) == ["Photos", "Measure", "2025-01-10", "2025-04-02", "Change",
                                   "Needs >", "Verdict"]
    # leo's side photo showed his right side, then his left: compared, and said so.
    assert set(frame["Photos"]) == {"Front photo", "Right side photo vs left side photo"}
    assert len(frame) == len(METRICS)
    assert any(v.startswith("real change") for v in frame["Verdict"])
    assert "Forward-head angle (CVA proxy) (deg)" in set(frame["Measure"])
    text = text_of(at)
    assert "Change from 2025-01-10 to 2025-04-02" in text
    assert "not a published MDC" in text
    # The front pair; and the side pair, though the first visit has the right side and the
    # second the left: the caption says which is which.
    assert len(at.get("image")) == 2
    captions = [img.caption for e in at.get("image") for img in e.proto.imgs]
    assert "Front photo: 2025-01-10 (left), 2025-04-02 (right)" in captions
    assert ("Side photos: 2025-01-10 (left) is the right side, 2025-04-02 (right) the left side"
            in captions)
    assert at.get("vega_lite_chart"), "the chart of each measure over the visits"


def test_compare_page_asks_for_two_different_visits(two_visits):
    at = page("compare")
    at.selectbox(key="compare_after").set_value(1).run()
    assert not at.exception
    assert any("two different visits" in w.value for w in at.warning)
    assert not at.table


def test_compare_page_with_empty_records_explains_what_to_do(records_url):
    at = page("compare")
    assert "No patients in the records yet" in text_of(at)


def test_compare_page_compares_uploaded_pairs_without_saving(records_url):
    at = page("compare")
    at.radio(key="compare_mode").set_value(UPLOADED).run()
    assert [u.label for u in at.file_uploader][:4] == [
        "Front photo", "Back photo", "Left side photo", "Right side photo"]
    for label, which in (("before", "first"), ("after", "second")):
        s = leo_visit(which)
        for slot in s.photos:                    # front and right, then front and left
            at.file_uploader(key=f"adhoc_{label}_{slot}").set_value(
                (s.filenames[slot], s.photos[slot], "image/jpeg"))
        at.number_input(key=f"adhoc_{label}_height").set_value(178.0)
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    [table] = at.table
    assert list(table.value.columns)[2:4] == ["before", "after"]
    assert any(v.startswith("real change") for v in table.value["Verdict"])
    assert list_patients(open_store(records_url)) == []           # nothing saved


# --- records page -------------------------------------------------------------------------------


def test_records_page_lists_visits_latest_first(two_visits):
    at = page("records")
    assert at.selectbox(key="records_patient").value == "leo"
    assert at.selectbox(key="records_visit").value == 2              # latest visit first
    [visits] = at.dataframe
    assert list(visits.value["Date"]) == ["2025-01-10", "2025-04-02"]
    # Visit 2: leo2's front photo and his left side; one table each, titled by the photo.
    front, left = at.table
    assert len(front.value) + len(left.value) == len(METRICS)
    assert {"**Front photo**", "**Left side photo**"} <= {m.value for m in at.markdown}
    assert list(at.dataframe[0].value["Photos"]) == ["front, right side", "front, left side"]
    labels = {b.label for b in at.get("download_button")}
    assert {"Visit report (PDF)", "Patient sheet (PDF)", "Visit measures (CSV)",
            "Full history (CSV)"} <= labels


def test_deleting_a_visit_asks_first_and_cancel_keeps_it(two_visits):
    at = page("records")
    at.button(key="delete_visit").click().run()
    assert any("cannot be undone" in w.value for w in at.warning)
    assert len(list_visits(open_store(two_visits), "leo")) == 2          # asked, not done
    at.button(key="delete_visit_cancel").click().run()
    assert len(list_visits(open_store(two_visits), "leo")) == 2
    assert not any("cannot be undone" in w.value for w in at.warning)

    at.button(key="delete_visit").click().run()
    at.button(key="delete_visit_confirm").click().run()
    assert not at.exception, at.exception
    assert [v.visit_id for v in list_visits(open_store(two_visits), "leo")] == [1]
    assert at.selectbox(key="records_visit").value == 1


def test_deleting_a_patient_needs_the_id_typed(two_visits):
    at = page("records")
    assert at.button(key="delete_patient").disabled
    at.text_input(key="delete_patient_typed").input("leo").run()
    assert not at.button(key="delete_patient").disabled
    at.button(key="delete_patient").click().run()
    assert not at.exception, at.exception
    assert list_patients(open_store(two_visits)) == []
    assert "No patients yet" in text_of(at)


def test_an_unreachable_database_is_a_message_not_a_crash(monkeypatch):
    monkeypatch.setenv("POSTURE_DATABASE_URL", "postgresql://nobody@/x?host=/nonexistent&port=1")
    at = page("records")
    assert any("Records unavailable" in e.value for e in at.error)


# --- the save panel under the intake results ----------------------------------------------------


def _save_panel_script():
    import streamlit as st

    from posture.app.records import save_visit_panel

    s = st.session_state["sample"]
    save_visit_panel(s.assessment, s.photos, filenames=s.filenames,
                     annotated=s.annotated, subject=st.session_state.get("subject", "leo"),
                     visit_date=st.session_state["day"], notes="n",
                     patient_name=st.session_state.get("name", ""))


def test_the_save_panel_saves_one_visit_once(records_url):
    import datetime as dt

    at = AppTest.from_function(_save_panel_script, default_timeout=TIMEOUT)
    at.session_state["sample"] = leo_visit("first")
    at.session_state["day"] = dt.date(2025, 5, 6)
    at.session_state["name"] = "Léo Ünal"
    at.run()
    # The button says exactly what it files; there are no patient fields of its own.
    assert at.button(key="save_visit").label == "Save visit 2025-05-06 for leo"
    assert not at.text_input and not at.date_input
    at.button(key="save_visit").click().run()
    assert not at.exception, at.exception
    assert any("Saved as visit 1" in s.value for s in at.success)
    at.run()                                               # a rerun does not save again
    store = open_store(records_url)
    [visit] = list_visits(store, "leo")
    assert (visit.visit_date, visit.notes, visit.slots) == (
        dt.date(2025, 5, 6), "n", ("front", "right"))
    assert list_patients(store)[0].name == "Léo Ünal"


def test_the_save_panel_needs_a_patient_id(records_url):
    at = AppTest.from_function(_save_panel_script, default_timeout=TIMEOUT)
    at.session_state["sample"] = leo_visit("first")
    at.session_state["day"] = date(2025, 5, 6)
    at.session_state["subject"] = " "
    at.run()
    assert not at.exception
    assert not at.button  # nothing to click: the page says what is missing
    assert any("Enter the patient ID" in i.value for i in at.info)
    assert list_patients(open_store(records_url)) == []


def test_a_future_visit_date_is_asked_about_and_cancel_saves_nothing(records_url):
    import datetime as dt

    at = AppTest.from_function(_save_panel_script, default_timeout=TIMEOUT)
    at.session_state["sample"] = leo_visit("first")
    future = dt.date.today() + dt.timedelta(days=30)
    at.session_state["day"] = future
    at.run()
    at.button(key="save_visit").click().run()
    assert not at.exception, at.exception
    assert any("is in the future" in w.value for w in at.warning)
    assert list_patients(open_store(records_url)) == []     # asked, not saved
    at.button(key="save_visit_cancel").click().run()
    assert not at.warning and list_patients(open_store(records_url)) == []
    at.button(key="save_visit").click().run()
    at.button(key="save_visit_confirm").click().run()
    assert not at.exception, at.exception
    [visit] = list_visits(open_store(records_url), "leo")
    assert visit.visit_date == future


def test_a_patient_id_differing_only_by_case_or_spaces_is_asked_about(two_visits):
    at = AppTest.from_function(_save_panel_script, default_timeout=TIMEOUT)
    at.session_state["sample"] = leo_visit("first")
    at.session_state["day"] = date(2025, 5, 6)
    at.session_state["subject"] = "Le o"
    at.run()
    at.button(key="save_visit").click().run()
    assert any("'Le o' differs from the existing patient 'leo'" in w.value.replace("\\", "")
               for w in at.warning)
    assert [p.subject for p in list_patients(open_store(two_visits))] == ["leo"]
    at.button(key="save_visit_confirm").click().run()
    assert [p.subject for p in list_patients(open_store(two_visits))] == ["Le o", "leo"]


def test_the_exact_existing_patient_id_saves_without_a_question(two_visits):
    at = AppTest.from_function(_save_panel_script, default_timeout=TIMEOUT)
    at.session_state["sample"] = leo_visit("first")
    at.session_state["day"] = date(2025, 5, 6)
    at.run()
    at.button(key="save_visit").click().run()
    assert not at.warning
    assert len(list_visits(open_store(two_visits), "leo")) == 3


def test_similar_subjects_ignore_case_and_spaces_only():
    from posture.app.records import save_questions, similar_subjects

    existing = ["P-1001", "p 1002", "P-1003"]
    assert similar_subjects("p-1001", existing) == ["P-1001"]
    assert similar_subjects(" P1002", existing) == ["p 1002"]
    assert similar_subjects("P-1001", existing) == []          # the same patient: no question
    assert similar_subjects("P-1004", existing) == []
    today = date(2026, 11, 25)
    assert save_questions("P-1001", today, existing, today=today) == []
    assert len(save_questions("p-1001", date(2026, 11, 26), existing, today=today)) == 2


def test_the_intake_page_saves_its_analysis_as_a_visit(records_url):
    at = AppTest.from_string("from posture.app import intake\nintake.show()\n",
                             default_timeout=TIMEOUT)
    at.run()
    at.text_input(key="patient_subject").input("P-7")
    at.radio(key="photo_source").set_value("Try sample photos").run()
    assert not at.exception, at.exception
    at.button(key="save_visit").click().run()
    assert not at.exception, at.exception
    assert any("Saved as visit 1" in s.value for s in at.success)
    [visit] = list_visits(open_store(records_url), "P-7")
    assert visit.slots == ("front", "right")    # Ana's side photo: her right side


def test_changing_patient_and_date_after_the_results_files_under_the_new_ones(records_url):
    import datetime as dt

    at = AppTest.from_string("from posture.app import intake\nintake.show()\n",
                             default_timeout=TIMEOUT)
    at.run()
    at.text_input(key="patient_subject").input("P-1")
    at.radio(key="photo_source").set_value("Try sample photos").run()
    at.text_input(key="patient_subject").input("P-1001")
    at.date_input(key="visit_date").set_value(dt.date(2026, 1, 5)).run()
    assert at.button(key="save_visit").label == "Save visit 2026-01-05 for P-1001"
    at.button(key="save_visit").click().run()
    assert not at.exception, at.exception
    store = open_store(records_url)
    assert [p.subject for p in list_patients(store)] == ["P-1001"]
    [visit] = list_visits(store, "P-1001")
    assert visit.visit_date == dt.date(2026, 1, 5)


@pytest.mark.parametrize(("page_file", "title"), [("posture/app/records.py", "Records"),
                                                  ("posture/app/compare.py", "Compare visits")])
def test_the_app_navigates_to_the_records_pages(two_visits, page_file, title):
    # A callable page's URL path ("records") hashes like a page file of that stem.
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    at.switch_page(page_file).run()
    assert not at.exception, at.exception
    assert at.title[0].value == title


def test_the_pdf_download_makes_the_report_with_the_previous_visit(two_visits):
    from posture.app.records import _report_pdf

    store = open_store(two_visits)
    pdf = _report_pdf(store, 2, 1, None)
    assert pdf.startswith(b"%PDF") and len(pdf) > 50_000


def test_photos_side_by_side_share_one_height():
    from posture.app.records import GAP, same_height

    s = leo_visit("first")
    image, widths = same_height([s.annotated["front"], s.annotated["right"]], height=300)
    assert image.shape == (300, sum(widths) + GAP, 3)
    assert all(w < 300 for w in widths)                         # both portrait photos


def test_showing_the_save_panel_does_not_open_the_records(tmp_path, monkeypatch):
    """The intake page (and its tests) never touch a database unless the visit is saved."""
    url = tmp_path / "never.db"
    monkeypatch.setenv("POSTURE_DATABASE_URL", f"sqlite:///{url}")
    at = AppTest.from_function(_save_panel_script, default_timeout=TIMEOUT)
    at.session_state["sample"] = leo_visit("first")
    at.session_state["day"] = date(2025, 5, 6)
    at.run()
    assert not at.exception and at.button(key="save_visit")
    assert not url.exists()
