"""The intake's state across pages (AppTest): fields, photos, results and hand-placed landmarks
survive a visit to Records; the other pages remind of unsaved work."""

from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from posture.app import intake
from posture.landmarks.vocabulary import Landmark
from tests.test_app import APP, FAST_PASSES, TIMEOUT_S, ClickComponent, pair, upload

RECORDS, INTAKE = "posture/app/records.py", "posture/app/intake.py"


@pytest.fixture
def clicks(monkeypatch) -> ClickComponent:
    component = ClickComponent()
    monkeypatch.setattr(intake, "streamlit_image_coordinates", component)
    return component


@pytest.fixture
def records_url(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    monkeypatch.setenv("POSTURE_DATABASE_URL", url)
    return url


def warnings(at: AppTest) -> str:
    return "\n".join(w.value for w in at.warning)


def test_records_and_back_keeps_fields_photos_results_and_hand_placed_landmarks(
        clicks, records_url):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    at.slider(key="option_passes").set_value(FAST_PASSES)
    at.text_input(key="patient_subject").set_value("P-1001")
    at.date_input(key="visit_date").set_value(dt.date(2026, 11, 2))
    at.number_input(key="patient_height").set_value(170)
    at = upload(at, *pair("ana"))
    at.selectbox(key="review_landmark_front").set_value(Landmark.LEFT_SHOULDER).run()
    clicks.click("front", 0.6, 0.3)
    at.run()
    assert not at.exception, at.exception
    placed = at.session_state[intake.ANALYSIS].result.front.landmarks.xy[Landmark.LEFT_SHOULDER]
    assert "Shoulder tilt (joint centres) (manual)" in set(at.table[0].value["Measure"])
    runs = at.session_state[intake.DETECTION_RUNS]

    at.switch_page(RECORDS).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Records"
    # The way out of the intake says what is not saved yet.
    assert "Unsaved intake: 2 photo(s) analysed for P-1001, 1 landmark(s) placed by hand" \
        in warnings(at).replace("\\", "")
    at.run()                                  # a second run on Records: still kept

    at.switch_page(INTAKE).run()
    assert not at.exception, at.exception
    assert at.text_input(key="patient_subject").value == "P-1001"
    assert at.date_input(key="visit_date").value == dt.date(2026, 11, 2)
    assert at.number_input(key="patient_height").value == 170
    assert at.slider(key="option_passes").value == FAST_PASSES
    # ana's side photo is of her right side: the uploader and the analysis say so.
    assert [p.slot for p in at.session_state[intake.ANALYSIS].result.photos] == ["front", "right"]
    assert set(at.session_state[intake.KEPT_PHOTOS]) == {"front", "right"}
    assert len(at.table) >= 2                 # both photos' results
    assert "Shoulder tilt (joint centres) (manual)" in set(at.table[0].value["Measure"])
    result = at.session_state[intake.ANALYSIS].result
    assert (result.front.landmarks.xy[Landmark.LEFT_SHOULDER] == placed).all()
    assert at.session_state[intake.DETECTION_RUNS] == runs   # no re-detection either
    assert any("uploaded earlier in this session" in c.value for c in at.caption)
    assert at.button(key="save_visit").label == "Save visit 2026-11-02 for P-1001"

    at.button(key="save_visit").click().run()
    assert not at.exception, at.exception
    assert at.session_state[intake.UNSAVED] is None
    at.switch_page(RECORDS).run()
    assert "Unsaved intake" not in warnings(at)


def test_a_run_cut_short_after_the_results_still_leaves_the_unsaved_reminder(
        records_url, monkeypatch):
    """A click elsewhere (a page switch) can stop the intake's run before its end: the other
    pages must still say what is not saved."""
    at = upload(AppTest.from_file(APP, default_timeout=TIMEOUT_S).run(), *pair("leo"))
    assert at.session_state[intake.UNSAVED].startswith("Unsaved intake: 2 photo(s) analysed")
    at.session_state[intake.UNSAVED] = None       # as if no run had settled yet

    def cut_short(*args, **kwargs):
        raise RuntimeError("run stopped here")
    monkeypatch.setattr(intake, "save_panel", cut_short)   # the run ends before its save panel
    at.text_input(key="patient_subject").set_value("P-5").run()
    assert at.exception                                    # the run did stop short
    assert at.session_state[intake.UNSAVED] == \
        "Unsaved intake: 2 photo(s) analysed for P-5."


def test_a_kept_photo_can_be_removed(records_url):
    at = upload(AppTest.from_file(APP, default_timeout=TIMEOUT_S).run(), *pair("leo"))
    at.switch_page(RECORDS).run()
    at.switch_page(INTAKE).run()
    tables = len(at.table)
    # leo's side photo is of his left side.
    assert [p.slot for p in at.session_state[intake.ANALYSIS].result.photos] == ["front", "left"]
    assert at.button(key="remove_kept_left").label == "Remove the left side photo"
    at.button(key="remove_kept_left").click().run()
    assert not at.exception, at.exception
    assert [p.slot for p in at.session_state[intake.ANALYSIS].result.photos] == ["front"]
    assert len(at.table) == tables - 1          # the left side photo's table is gone
    assert intake.KEPT_PHOTOS in at.session_state and \
        set(at.session_state[intake.KEPT_PHOTOS]) == {"front"}


def test_no_reminder_without_results(records_url):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    at.switch_page(RECORDS).run()
    assert not at.exception and "Unsaved intake" not in warnings(at)
