"""The sign-in gate and the app's audit lines in Streamlit's AppTest, on temp SQLite records
(POSTURE_DATABASE_URL). AppTest runs no server, so the gate is forced with POSTURE_SIGN_IN=always;
the network decision itself runs in a real browser in tests/test_signin_browser.py."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from posture import auth
from posture.store import Actor, audit_lines, open_store, save_visit
from tests.conftest import PAIRS, sample
from tests.postgres import leo_visit

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120
PASSWORD = "correct horse battery"


@pytest.fixture
def records(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    monkeypatch.setenv("POSTURE_DATABASE_URL", url)
    return url


@pytest.fixture
def clicked(monkeypatch) -> list[tuple[str, bytes]]:
    """Every on-click download rendered is "clicked" (made) as it is rendered."""
    files: list[tuple[str, bytes]] = []
    original = MediaFileManager.add_deferred

    def click(self, data_callable, mimetype, coordinates, file_name=None):
        files.append((file_name, data_callable()))
        return original(self, data_callable, mimetype, coordinates, file_name)

    monkeypatch.setattr(MediaFileManager, "add_deferred", click)
    return files


def lines(url: str, **where):
    store = open_store(url)
    try:
        return audit_lines(store, **where)
    finally:
        store.close()


def texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for kind in ("title", "markdown", "caption", "warning",
                                                "error", "info") for e in getattr(at, kind))


def test_signing_in_through_the_form(records, monkeypatch):
    monkeypatch.setenv(auth.SIGN_IN_ENV, "always")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in"]
    assert "No accounts yet" in texts(at) and "Posture screening" not in texts(at)
    assert not at.file_uploader                       # nothing of the intake page
    store = open_store(records)
    auth.add_user(store, "alice", PASSWORD)
    store.close()
    at.text_input[0].input("alice")
    at.text_input[1].input("not the password")
    at.button[0].click().run()
    assert "wrong name or password" in texts(at) and not at.file_uploader
    at.text_input[0].input("alice")
    at.text_input[1].input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    assert "Posture screening" in texts(at) and at.file_uploader
    assert "Signed in as **alice**" in texts(at)
    assert [a.action for a in lines(records)] == ["user_added", "sign_in_refused", "sign_in"]


def test_a_session_shows_the_pages_until_it_is_signed_out_or_expires(records, monkeypatch):
    monkeypatch.setenv(auth.SIGN_IN_ENV, "always")
    store = open_store(records)
    auth.add_user(store, "alice", PASSWORD)
    token = auth.sign_in(store, "alice", PASSWORD, "192.0.2.9").token
    expired = auth.sign_in(store, "alice", PASSWORD, "192.0.2.9",
                           now=1_000_000.0).token         # signed in long ago
    store.close()
    # (A fresh AppTest per session: AppTest cannot rerun a page after a form it has replaced.)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.session_state["signin_token"] = expired
    at.run()
    assert [t.value for t in at.title] == ["Sign in"] and not at.file_uploader
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.session_state["signin_token"] = token
    at.run()
    assert not at.exception and at.file_uploader
    at.text_input(key="patient_subject").input("PT-5").run()
    at.sidebar.button[0].click().run()
    assert [t.value for t in at.title] == ["Sign in"] and not at.file_uploader
    assert "patient_subject" not in at.session_state    # the next user starts empty
    assert [a.action for a in lines(records)][-1] == "sign_out"
    store = open_store(records)
    assert auth.session_user(store, token) is None
    store.close()


def test_records_that_cannot_be_opened_show_nothing_but_the_reason(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("POSTURE_DATABASE_URL", f"sqlite:///{tmp_path / 'file' / 'r.db'}")
    monkeypatch.setenv(auth.SIGN_IN_ENV, "always")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert "Records unavailable" in texts(at)
    assert not at.text_input and not at.file_uploader and not at.title


def test_intake_downloads_are_audited_with_the_patient_id(records, clicked):
    front, side = PAIRS["ana"]
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.slider(key="option_passes").set_value(2)
    at.text_input(key="patient_subject").input("PT-9")
    for key, name in (("front_upload", front), ("right_upload", side)):   # ana's right side
        at.file_uploader(key=key).set_value((name, sample(name).read_bytes(), "image/jpeg"))
    at.run()
    assert not at.exception
    assert {name.rsplit(".", 1)[1] for name, _ in clicked} == {"csv", "json", "png"}
    found = lines(records, subject="PT-9")
    assert [a.action for a in found] == ["export"] * 4
    assert {a.detail for a in found} == {
        "Results table (CSV) of an analysis not saved",
        "Full results (JSON) of an analysis not saved",
        "Annotated front photo (PNG) of an analysis not saved",
        "Annotated right side photo (PNG) of an analysis not saved"}
    assert all(a.user.endswith("(local)") and a.visit_id is None for a in found)


def test_the_visit_page_lists_its_audit_lines_and_its_exports_are_audited(records, clicked):
    s = leo_visit("first")
    store = open_store(records)
    visit = save_visit(store, "leo", s.assessment, s.photos, annotated=s.annotated,
                       visit_date=date(2025, 1, 10), actor=Actor("nurse1", "192.0.2.50"))
    store.close()
    at = AppTest.from_file(str(ROOT / "posture" / "app" / "records.py"),
                           default_timeout=TIMEOUT).run()
    assert not at.exception
    [listing] = at.code
    assert "nurse1" in listing.value and "save" in listing.value
    assert f"patient leo visit {visit}" in listing.value
    exported = {a.detail for a in lines(records, visit_id=visit) if a.action == "export"}
    assert exported == {"visit report (PDF)", "patient sheet (PDF)", "visit measures (CSV)"}
    assert "full history (CSV)" in {a.detail for a in lines(records, subject="leo")}
    assert "audit log of the visit (CSV)" in {a.detail for a in lines(records)}


@pytest.mark.parametrize("admin", [False, True])
def test_only_an_administrator_may_delete_a_patient(records, monkeypatch, admin):
    monkeypatch.setenv(auth.SIGN_IN_ENV, "always")
    s = leo_visit("first")
    store = open_store(records)
    save_visit(store, "leo", s.assessment, s.photos, annotated=s.annotated)
    auth.add_user(store, "someone", PASSWORD, admin=admin)
    token = auth.sign_in(store, "someone", PASSWORD, "192.0.2.9").token
    store.close()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.session_state["signin_token"] = token
    at.run()
    at.switch_page("posture/app/records.py").run()
    assert not at.exception and at.title[0].value == "Records"
    refused = "Only an administrator account can delete a patient."
    assert (refused in texts(at)) is not admin
    assert bool([b for b in at.button if b.key == "delete_patient"]) is admin


def test_hand_placed_landmarks_are_audited_then_named_in_the_saved_visit(records, monkeypatch):
    from posture.app import intake
    from posture.landmarks.vocabulary import Landmark
    from tests.test_app import ClickComponent

    clicks = ClickComponent()
    monkeypatch.setattr(intake, "streamlit_image_coordinates", clicks)
    front, side = PAIRS["ana"]
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.slider(key="option_passes").set_value(2)
    at.text_input(key="patient_subject").input("PT-3")
    for key, name in (("front_upload", front), ("right_upload", side)):   # ana's right side
        at.file_uploader(key=key).set_value((name, sample(name).read_bytes(), "image/jpeg"))
    at.run()
    at.selectbox(key="review_landmark_front").set_value(Landmark.LEFT_SHOULDER).run()
    clicks.click("front", 0.6, 0.3)
    at.run()
    at.radio(key="review_mode_front").set_value(intake.SET_VERTICAL).run()
    for fx, fy in ((0.5, 0.1), (0.51, 0.9)):       # two clicks make one vertical: one line
        clicks.click("front", fx, fy)
        at.run()
    assert not at.exception
    edits = lines(records, subject="PT-3")
    assert [(a.action, a.detail) for a in edits] == [
        ("landmark_edit", "front photo: left shoulder placed by hand (analysis not saved yet)"),
        ("landmark_edit", "front photo: true vertical marked by hand (analysis not saved yet)")]
    at.button(key="save_visit").click().run()
    assert not at.exception
    saved = lines(records, subject="PT-3")[-1]
    assert saved.action == "save" and saved.visit_id is not None
    assert "front landmarks placed by hand: left_shoulder" in saved.detail
    assert "front true vertical marked by hand" in saved.detail
