"""The Streamlit app through `streamlit.testing.v1.AppTest`: widgets in, page elements out.

AppTest runs the page script in this process; the pose model is the same process-wide pool.
Most tests set 4 detection passes to stay fast; one runs at the default.
"""

from __future__ import annotations

import csv
import io
import math
import mimetypes
import re
import threading
from pathlib import Path

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from posture.app import intake
from posture.app.widgets import file_stem, plain
from posture.assessment import TABLE_COLUMNS, AnalysisOptions
from posture.camera import roll_from_points
from posture.landmarks.vocabulary import Landmark
from posture.metrics.definitions import METRICS
from posture.numbers import value_text
from tests.bad_inputs import EXPECTED, make_bad_inputs
from tests.conftest import PAIRS, SAMPLES, sample

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
FAST_PASSES = 4
TIMEOUT_S = 120

FRONT_LABELS = {m.label for m in METRICS if m.view == "front"}
SIDE_LABELS = {m.label for m in METRICS if m.view == "side"}


@pytest.fixture
def downloads(monkeypatch, tmp_path) -> list[tuple[str, bytes]]:
    """(file name, bytes) of each download button rendered, in order (AppTest keeps media in
    memory, out of reach once a run ends: record it as it is added). A download made on click
    (a callable: it writes its audit line first) is made as it is rendered, into temp records."""
    files: list[tuple[str, bytes]] = []
    original = MemoryMediaFileStorage.load_and_get_id
    original_deferred = MediaFileManager.add_deferred
    monkeypatch.setenv("POSTURE_DATABASE_URL", f"sqlite:///{tmp_path / 'records.db'}")

    def recording(self, path_or_data, mimetype, kind, filename=None):
        if filename is not None:
            files.append((filename, path_or_data))
        return original(self, path_or_data, mimetype, kind, filename)

    def clicked(self, data_callable, mimetype, coordinates, file_name=None):
        data = data_callable()
        files.append((file_name, data.encode() if isinstance(data, str) else data))
        return original_deferred(self, data_callable, mimetype, coordinates, file_name)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", recording)
    monkeypatch.setattr(MediaFileManager, "add_deferred", clicked)
    return files


def new_app(passes: int | None = FAST_PASSES) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    assert not at.exception
    if passes is not None:
        at.slider(key="option_passes").set_value(passes)
    return at


def side_slot(name: str) -> str:
    """The slot of a sample side photo: the side toward the camera, by MANIFEST.csv's facing
    (facing the image's right shows the right side)."""
    with open(SAMPLES / "MANIFEST.csv", newline="") as f:
        facing = {Path(r["file"]).name: r["facing"] for r in csv.DictReader(f)}
    return {"image-right": "right", "image-left": "left"}[facing[name]]


Given = tuple[str, bytes]   # (file name, bytes)


def upload(at: AppTest, front: Given | None = None, side: Given | None = None,
           **slots: Given | None):
    """Set the uploaders: `front`, a sample `side` photo in the uploader of the side it shows,
    and any slot by name (back=, left=, right=); then run the page."""
    given = {"front": front, **slots}
    if side is not None:
        given[side_slot(side[0])] = side
    for slot, photo in given.items():
        if photo is not None:
            name, data = photo
            mime = mimetypes.guess_type(name)[0] or "image/jpeg"
            at.file_uploader(key=intake.UPLOAD_KEYS[slot]).set_value((name, data, mime))
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


def held(at: AppTest) -> intake.SessionAnalysis:
    return at.session_state[intake.ANALYSIS]


def cell(at: AppTest, table: int, label: str, column: str) -> str:
    frame = at.table[table].value
    return dict(zip(frame["Measure"], frame[column]))[label]


class ClickComponent:
    """Stands in for streamlit_image_coordinates in AppTest (a custom component, which AppTest
    cannot click): `click(slot, ...)` sets what the review image of that slot returns, and it
    returns it on every rerun, as the component does."""

    DISPLAY_WIDTH = 400  # px: the review image as displayed, smaller than the working image

    def __init__(self) -> None:
        self.value: dict[str, dict] = {}
        self.sizes: dict[str, tuple[int, int]] = {}
        self.time = 0

    def __call__(self, image, *, key: str, **_kwargs):
        slot = key.split("_")[2]  # review_click_<slot>_<photos>
        self.sizes[slot] = image.size
        return self.value.get(slot)

    def click(self, slot: str, fx: float, fy: float) -> tuple[float, float]:
        """A click at fractions (fx, fy) of the displayed image; returns where it lands in
        working-image pixels."""
        width, height = self.sizes[slot]
        shown_height = self.DISPLAY_WIDTH * height / width
        self.time += 1
        self.value[slot] = {"x": fx * self.DISPLAY_WIDTH, "y": fy * shown_height,
                            "width": self.DISPLAY_WIDTH, "height": shown_height,
                            "unix_time": self.time}
        return fx * width, fy * height


@pytest.fixture
def clicks(monkeypatch, tmp_path) -> ClickComponent:
    # Each placed landmark writes an audit line: into temp records.
    monkeypatch.setenv("POSTURE_DATABASE_URL", f"sqlite:///{tmp_path / 'records.db'}")
    component = ClickComponent()
    monkeypatch.setattr(intake, "streamlit_image_coordinates", component)
    return component


def test_opens_with_inputs_and_no_results():
    at = new_app(passes=None)
    assert [u.label for u in at.file_uploader] == ["Front photo", "Back photo",
                                                   "Left side photo", "Right side photo"]
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
    # The two annotated photos and the front photo's levels ladder (posture.app.chain_view).
    assert len(at.get("image")) == 3
    rows = csv_download(downloads)
    assert list(rows[0]) == list(TABLE_COLUMNS)
    assert {r["metric"] for r in rows} == {m.id for m in METRICS}
    assert {r["subject"] for r in rows} == {"PT-0042"}
    assert {r["unit"] for r in rows if r["metric"] == "plumb_hip"} == {"cm"}
    pngs = {name for name, _ in downloads if name.endswith(".png")}
    assert sorted(pngs) == ["posture_PT-0042_" + at.date_input(key="visit_date").value.isoformat()
                            + f"_{slot}.png" for slot in ("front", "right")]


def test_swapped_photos_are_said_and_measured_as_the_views_they_show():
    front, side = pair("ana")
    at = upload(new_app(), side, right=front)
    assert not at.exception and not at.error
    said = [w.value for w in at.warning if "wrong slots" in w.value]
    assert len(said) == 1 and "the front photo shows the right side" in said[0]
    assert table_labels(at, 0) == FRONT_LABELS  # the front table holds the front view
    assert [s.value for s in at.subheader if s.value.endswith(" photo")] == [
        "Front photo", "Right side photo"]
    summaries = [c.value for c in at.caption if "seen as a" in c.value]
    assert summaries[0].startswith(plain(front[0]) + " · given as the right side photo · seen "
                                   "as a front view")


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
    at = upload(new_app(), right=(path.name, path.read_bytes()))
    assert not at.exception
    [error] = at.error
    # The page shows it as Markdown source, literal characters escaped (plain).
    assert error.value.startswith(plain(f"Right side photo ({path.name}): "))
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
    label = next(k for k in intake.SAMPLE_SETS if k.startswith("Jara"))
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
    inputs = {name: {slot: intake.PhotoInput(n, data)
                     for slot, (n, data) in zip(("front", side_slot(PAIRS[name][1])), pair(name))}
              for name in ("ana", "leo")}
    alone = {name: intake.analyse_photos(photos, options) for name, photos in inputs.items()}

    together: dict[str, object] = {}

    def session(name):
        together[name] = intake.analyse_photos(inputs[name], options)

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


TILTS = ("Head tilt", "Shoulder tilt (joint centres)", "Pelvic obliquity (hip joint centres)")
TILT_IDS = {"Head tilt": "head_tilt", "Shoulder tilt (joint centres)": "shoulder_tilt",
            "Pelvic obliquity (hip joint centres)": "pelvic_obliquity"}
ROLLED = "Front photo: The camera looks rolled"  # the front's camera_tilted finding


def test_marked_true_vertical_corrects_the_tilts_and_undo_restores_the_estimate(clicks):
    # leo2's front photo, taken through a doorway: its frames agree on a camera rolled -1.5 deg.
    front, side = "leo2_test.jpg", "leo_test_left.jpg"
    at = upload(new_app(), (front, sample(front).read_bytes()), (side, sample(side).read_bytes()))
    assert not at.exception and not at.error
    detected = held(at).result
    scale = detected.front.photo.scale
    assert any(ROLLED in w.value for w in at.warning)
    at.radio(key="review_mode_front").set_value(intake.SET_VERTICAL).run()

    # A door frame leaning 2 deg: its top 2 deg left of its bottom (scene turned anticlockwise).
    top = clicks.click("front", 0.5, 0.1)
    at.run()
    assert any("second point" in i.value for i in at.info)
    assert not held(at).result.front.metrics[0].corrected  # one point sets nothing
    bottom_fx = 0.5 + 0.8 * math.tan(math.radians(2)) * clicks.sizes["front"][1] / \
        clicks.sizes["front"][0]
    bottom = clicks.click("front", bottom_fx, 0.9)
    at.run()
    assert not at.exception and not at.error

    roll = roll_from_points(*[(x * scale, y * scale) for x, y in (top, bottom)])
    assert roll.degrees == pytest.approx(2.0, abs=0.05)
    result = held(at).result
    for label, metric_id in TILT_IDS.items():
        m, raw = result.metric(metric_id), detected.metric(metric_id)
        assert m.corrected and m.raw_value == pytest.approx(raw.value)
        assert m.value == pytest.approx(raw.value - roll.degrees, abs=1e-6)
        assert cell(at, 0, label, "Value") == plain(f"{value_text(m.value)}\u00a0deg")
        assert "level-corrected from" in cell(at, 0, label, "Flag")
    assert not any(ROLLED in w.value for w in at.warning)
    assert any(f"vertical you marked (camera roll {roll.degrees:+.1f} deg)" in c.value
               for c in at.caption)
    # Side photo untouched; the marked vertical outlives a rerun and a height change.
    assert not any(m.corrected for m in result.side.metrics)
    at.number_input(key="patient_height").set_value(170).run()
    assert held(at).result.metric("shoulder_tilt").value == pytest.approx(
        detected.metric("shoulder_tilt").value - roll.degrees, abs=1e-6)
    assert detection_runs(at) == 1

    at.button(key="review_undo_vertical_front").click().run()
    assert not at.exception
    for label, metric_id in TILT_IDS.items():
        assert not held(at).result.metric(metric_id).corrected
        assert held(at).result.metric(metric_id).value == pytest.approx(
            detected.metric(metric_id).value)
        assert "level-corrected" not in cell(at, 0, label, "Flag")
    assert any(ROLLED in w.value for w in at.warning)
    assert detection_runs(at) == 1


@pytest.mark.parametrize(("second", "message"), [
    ((0.9, 0.52), r"The marked line is \d+ deg from vertical; mark two points on a true "
                  "vertical"),
    ((0.1, 0.5), "The two marked points are the same"),
], ids=["nearly horizontal", "same point twice"])
def test_a_pair_of_points_that_is_no_vertical_is_refused_in_one_line(clicks, second, message):
    at = upload(new_app(), *pair("ana"))
    at.radio(key="review_mode_front").set_value(intake.SET_VERTICAL).run()
    before = {m: held(at).result.metric(m).value for m in TILT_IDS.values()}
    clicks.click("front", 0.1, 0.5)
    at.run()
    clicks.click("front", *second)
    at.run()
    assert not at.exception and not at.error
    refusals = [w.value for w in at.warning if "marked" in w.value]
    assert len(refusals) == 1 and "\n" not in refusals[0]
    assert re.match(message, refusals[0].replace("\\", ""))
    assert {m: held(at).result.metric(m).value for m in TILT_IDS.values()} == before
    assert not any(m.corrected for m in held(at).result.metrics)


def test_placed_landmark_and_vertical_apply_in_order_and_survive_new_detection_options(clicks):
    at = upload(new_app(), *pair("ana"))
    at.selectbox(key="review_landmark_front").set_value(Landmark.LEFT_SHOULDER).run()
    clicks.click("front", 0.6, 0.3)
    at.run()
    at.radio(key="review_mode_front").set_value(intake.SET_VERTICAL).run()
    for fx, fy in ((0.5, 0.1), (0.51, 0.9)):
        clicks.click("front", fx, fy)
        at.run()
    edits = held(at).edits
    assert [type(e) for e in edits] == [intake.LandmarkEdit, intake.VerticalEdit]
    shoulder = held(at).result.metric("shoulder_tilt")
    assert shoulder.manual and shoulder.corrected

    at.slider(key="option_passes").set_value(FAST_PASSES - 1).run()  # re-detects
    assert detection_runs(at) == 2 and not at.exception
    assert held(at).edits == edits
    shoulder = held(at).result.metric("shoulder_tilt")
    assert shoulder.manual and shoulder.corrected
    assert "Shoulder tilt (joint centres) (manual)" in set(at.table[0].value["Measure"])


def test_changing_the_height_rescales_lengths_without_detection():
    at = new_app()
    at.number_input(key="patient_height").set_value(160)
    at = upload(at, *pair("leo"))
    assert detection_runs(at) == 1
    at160 = held(at).result
    hip = at160.metric("plumb_hip")
    assert hip.unit == "cm"
    png_before = held(at).annotated["left"]

    at.number_input(key="patient_height").set_value(176).run()
    assert not at.exception and detection_runs(at) == 1
    result = held(at).result
    assert result.metric("plumb_hip").value == pytest.approx(hip.value * 1.1, rel=1e-6)
    assert result.metric("forward_head_angle").value == at160.metric("forward_head_angle").value
    assert result.options.height_cm == 176
    value = cell(at, 1, "Plumb line: hip", "Value")
    assert value == plain(f"{value_text(hip.value * 1.1)}\u00a0cm")
    assert held(at).annotated["left"] != png_before  # the photo's labels re-drawn

    at.number_input(key="patient_height").set_value(None).run()
    assert detection_runs(at) == 1
    assert held(at).result.metric("plumb_hip").unit == "px"
    assert cell(at, 1, "Plumb line: hip", "Value").endswith("\u00a0px")
