"""The Streamlit app through `streamlit.testing.v1.AppTest`: widgets in, page elements out.

AppTest runs the page script in this process; the pose model is the same process-wide pool.
Most tests set 4 detection passes to stay fast; one runs at the default.
"""

from __future__ import annotations

import csv
import io
import re
import threading
from pathlib import Path

import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from posture.assessment import TABLE_COLUMNS, AnalysisOptions
from posture.landmarks.vocabulary import Landmark
from posture.metrics.definitions import METRICS
from tests.bad_inputs import EXPECTED, make_bad_inputs
from tests.conftest import PAIRS, sample
from ui import intake
from ui.widgets import file_stem, plain

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
FAST_PASSES = 4
TIMEOUT_S = 120

FRONT_LABELS = {m.label for m in METRICS if m.view == "front"}
SIDE_LABELS = {m.label for m in METRICS if m.view == "side"}


@pytest.fixture
def downloads(monkeypatch) -> list[tuple[str, bytes]]:
    """(file name, bytes) of each download button rendered, in order (AppTest keeps media in
    memory, out of reach once a run ends: record it as it is added)."""
    files: list[tuple[str, bytes]] = []
    original = MemoryMediaFileStorage.load_and_get_id

    def recording(self, path_or_data, mimetype, kind, filename=None):
        if filename is not None:
            files.append((filename, path_or_data))
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", recording)
    return files


def new_app(passes: int | None = FAST_PASSES) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    assert not at.exception
    if passes is not None:
        at.slider(key="option_passes").set_value(passes)
    return at


def upload(at: AppTest, front: tuple[str, bytes] | None, side: tuple[str, bytes] | None):
    for key, given in (("front_upload", front), ("side_upload", side)):
        if given is not None:
            name, data = given
            at.file_uploader(key=key).set_value((name, data, "image/jpeg"))
    return at.run()


def pair(name: str) -> tuple[tuple[str, bytes], tuple[str, bytes]]:
    front, side = PAIRS[name]
    return (front, sample(front).read_bytes()), (side, sample(side).read_bytes())


def table_labels(at: AppTest, i: int) -> set[str]:
    return set(at.table[i].value["Measure"])


def csv_download(files: list[tuple[str, bytes]]) -> list[dict]:
    """The rows of the latest CSV download."""
    data = [data for name, data in files if name.endswith(".csv")][-1]
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def detection_runs(at: AppTest) -> int:
    return at.session_state[intake.DETECTION_RUNS]


def test_opens_with_inputs_and_no_results():
    at = new_app(passes=None)
    assert [u.label for u in at.file_uploader] == ["Front photo", "Side photo"]
    assert at.text_input(key="patient_subject").value == ""
    assert not at.table and not at.error
    assert at.info  # tells the clinician what to do


def test_uploaded_pair_shows_measures_and_downloads(downloads):
    at = new_app(passes=None)  # the default passes, as a clinician gets them
    at.text_input(key="patient_subject").set_value("PT-0042")
    at.number_input(key="patient_height").set_value(165)
    upload(at, *pair("ana"))

    assert not at.exception and not at.error
    assert table_labels(at, 0) == FRONT_LABELS
    assert table_labels(at, 1) == SIDE_LABELS
    assert len(at.get("image")) == 2  # the annotated photos
    rows = csv_download(downloads)
    assert list(rows[0]) == list(TABLE_COLUMNS)
    assert {r["metric"] for r in rows} == {m.id for m in METRICS}
    assert {r["subject"] for r in rows} == {"PT-0042"}
    assert {r["unit"] for r in rows if r["metric"] == "plumb_hip"} == {"cm"}
    pngs = {name for name, _ in downloads if name.endswith(".png")}
    assert sorted(pngs) == ["posture_PT-0042_" + at.date_input(key="visit_date").value.isoformat()
                            + f"_{slot}.png" for slot in ("front", "side")]


def test_swapped_photos_are_said_and_measured_as_the_views_they_show():
    front, side = pair("ana")
    at = upload(new_app(), side, front)
    assert not at.exception and not at.error
    assert any("swapped" in w.value for w in at.warning)
    assert table_labels(at, 0) == FRONT_LABELS  # the front table holds the front view
    summaries = [c.value for c in at.caption if "seen as a" in c.value]
    assert summaries[0].startswith(plain(front[0]) + " · seen as a front view")


def test_non_image_upload_is_a_message_not_a_traceback():
    at = upload(new_app(), ("x.jpg", b"hello"), None)
    assert not at.exception
    assert len(at.error) == 1
    assert at.error[0].value.startswith("Front photo (x.jpg): The file is not a photo")
    assert not at.table


REFUSED = sorted(key for key, expected in EXPECTED.items() if expected.refused)
# The uploader itself refuses other file types (.svg) before the page sees them.
NOT_UPLOADABLE = {"svg"}


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory) -> dict[str, Path]:
    return make_bad_inputs(tmp_path_factory.mktemp("bad_inputs"))


@pytest.mark.parametrize("key", [k for k in REFUSED if k not in NOT_UPLOADABLE])
def test_unreadable_photo_is_a_message_naming_it(bad_inputs, key):
    path = bad_inputs[key]
    at = upload(new_app(), None, (path.name, path.read_bytes()))
    assert not at.exception
    [error] = at.error
    # The page shows it as Markdown source, literal characters escaped (plain).
    assert error.value.startswith(plain(f"Side photo ({path.name}): "))
    assert re.search(EXPECTED[key].refused, error.value.split(": ", 1)[1].replace("\\", ""))
    assert not at.table


def test_photo_without_a_person_is_a_message(bad_inputs):
    path = bad_inputs["no_person"]
    at = upload(new_app(), (path.name, path.read_bytes()), None)
    assert not at.exception
    assert "No person found" in at.error[0].value


def test_body_cut_off_is_warned_above_the_numbers(bad_inputs):
    path = bad_inputs["cut_at_knees"]
    at = upload(new_app(), (path.name, path.read_bytes()), None)
    assert not at.exception and not at.error
    assert "cut off" in at.warning[0].value
    flags = dict(zip(at.table[0].value["Measure"], at.table[0].value["Flag"]))
    assert flags["Left knee frontal angle"].startswith("not measured: outside the photo")


def test_sample_pair_can_be_picked():
    at = new_app()
    at.radio(key="photo_source").set_value(intake.SAMPLE).run()
    label = next(k for k in intake.SAMPLE_PAIRS if k.startswith("Jara"))
    at.selectbox(key="sample_pair").set_value(label).run()
    assert not at.exception and not at.error
    assert table_labels(at, 0) == FRONT_LABELS
    assert table_labels(at, 1) == SIDE_LABELS


def test_patient_details_do_not_rerun_detection(downloads):
    at = upload(new_app(), *pair("leo"))
    assert detection_runs(at) == 1
    at.text_area(key="visit_notes").set_value("Left shoulder pain since March").run()
    at.text_input(key="patient_subject").set_value("PT-7").run()
    assert detection_runs(at) == 1
    assert {r["subject"] for r in csv_download(downloads)} == {"PT-7"}
    at.checkbox(key="option_level").check().run()  # an analysis option does re-run it
    assert detection_runs(at) == 2
    assert not at.exception


def test_two_sessions_at_once_get_their_own_results():
    """Streamlit serves sessions on threads. AppTest swaps a process-wide runtime per run, so
    two AppTests cannot run at once; the page's analysis function, with the shared detector
    pool, is what two sessions share, so that is what runs on two threads here."""
    options = AnalysisOptions(passes=FAST_PASSES)
    inputs = {name: [intake.PhotoInput(n, data) for n, data in pair(name)]
              for name in ("ana", "leo")}
    alone = {name: intake.analyse_photos(*photos, options) for name, photos in inputs.items()}

    together: dict[str, object] = {}

    def session(name):
        together[name] = intake.analyse_photos(*inputs[name], options)

    threads = [threading.Thread(target=session, args=(name,)) for name in inputs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    for name in inputs:
        same = [(r["metric"], r["value"], r["uncertainty"], r["image"])
                for r in together[name].rows()]
        assert same == [(r["metric"], r["value"], r["uncertainty"], r["image"])
                        for r in alone[name].rows()]
    assert together["ana"].front.name == "ana_test.jpg"
    assert together["leo"].front.name == "leo_test.jpeg"


def test_clicked_landmark_is_placed_in_photo_pixels_and_marked_manual(ana_assessment):
    held = intake.SessionAnalysis(key="k", detected=ana_assessment, result=ana_assessment)
    photo = ana_assessment.front.photo
    height, width = photo.rgb.shape[:2]
    # Displayed at half the working width: a click at the centre of the display.
    click = {"x": width / 4, "y": height / 4, "width": width / 2, "height": height / 2,
             "unix_time": 1}
    assert intake.place_landmark(held, "front", Landmark.LEFT_SHOULDER, click)

    moved = held.result.front
    assert moved.landmarks.xy[Landmark.LEFT_SHOULDER] == pytest.approx(
        (width / 2 * photo.scale, height / 2 * photo.scale))
    assert held.result.metric("shoulder_tilt").manual
    assert not held.result.metric("pelvic_obliquity").manual
    assert held.annotated["front"].startswith(b"\x89PNG")
    assert not intake.place_landmark(held, "front", Landmark.LEFT_SHOULDER, click)  # repeated

    intake.undo_placed_landmarks(held, "front")
    assert not held.result.front.landmarks.manual
    assert not held.result.metric("shoulder_tilt").manual


@pytest.mark.parametrize("text", ["[link](javascript:alert(1))", "**bold** _it_ `code`",
                                  "- not a list", "1. not a list", "# not a heading",
                                  "<img src=x onerror=alert(1)>", "$x^2$", "a|b"])
def test_user_text_is_shown_literally(text):
    escaped = plain(text)
    # Every Markdown-active character is backslash-escaped; removing the escapes gives it back.
    assert re.sub(r"\\(.)", r"\1", escaped) == text
    assert not re.search(r"(?<!\\)[\[\]*_`<>$|]", escaped)
    assert not re.match(r"\s*([-+#>]|\d+\.)\s", escaped)


@pytest.mark.parametrize(("text", "stem"), [
    ("PT-0042", "PT-0042"), ("../../etc/passwd", "etc_passwd"), ("Jane Doe", "Jane_Doe"),
    ("", "patient"), ("C:\\x\\y", "C_x_y")])
def test_download_names_are_never_paths(text, stem):
    assert file_stem(text) == stem
