"""The four photo slots in the app (AppTest): the intake with four, three and one photo, the
camera taking one view at a time, the records page of a four-photo visit, the compare page.

No sample photo is taken from behind: the back photo is a front photo mirrored, its landmarks
relabelled as a back view (tests/back_view.py); AppTest runs the page in this process, so the
relabelling applies.
"""

from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from posture import AnalysisOptions, analyze
from posture.app import intake
from posture.app.capture import CameraState, CapturedPhoto
from posture.app.widgets import plain
from posture.camera import roll_from_points
from posture.compare import Comparison, VisitRecord
from posture.metrics.bilateral import FLAG_DIFFERS
from posture.metrics.definitions import METRICS
from posture.metrics.summary import frontal_levels, region_summary
from posture.render import render_png
from posture.store import list_visits, open_store, save_visit, visit_photos
from tests.back_view import back_photo_bytes, seen_from_behind
from tests.conftest import sample
from tests.test_app import (  # noqa: F401 - downloads: a fixture, used as an argument
    APP,
    TIMEOUT_S,
    csv_download,
    downloads,
    held,
    new_app,
    upload,
)

RECORDS, COMPARE = "posture/app/records.py", "posture/app/compare.py"
PHOTO_TITLES = ("Front photo", "Back photo", "Left side photo", "Right side photo")
COMBINED_TITLES = ("Both sides (mean)", "Left minus right side", "Front minus back")
FRONT_IDS = {m.id for m in METRICS if m.view == "front"}
SIDE_IDS = {m.id for m in METRICS if m.view == "side"}


def photo(name: str) -> tuple[str, bytes]:
    return name, sample(name).read_bytes()


@pytest.fixture(scope="module")
def back() -> tuple[str, bytes]:
    """leo's second-visit front photo as a photo from behind (another stance than the front)."""
    return "leo2_test_back.png", back_photo_bytes(sample("leo2_test.jpg"))


@pytest.fixture
def records_url(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    monkeypatch.setenv("POSTURE_DATABASE_URL", url)
    return url


def photo_headers(at: AppTest) -> list[str]:
    return [h.value for h in at.subheader if h.value in PHOTO_TITLES]


def bold(at: AppTest) -> list[str]:
    """The bold one-line titles (the tables of two photos are titled so)."""
    return [m.value.strip("*") for m in at.markdown
            if m.value.startswith("**") and m.value.endswith("**")]


def summary_lines(at: AppTest) -> list[str]:
    """The lines of the summary by region ("- Head tilt: ..."), every region's in order."""
    start = next(i for i, m in enumerate(at.markdown) if m.value == "**Head and neck:**"
                 or m.value.startswith("**Head and neck:**"))
    regions = [m.value for m in at.markdown][start:start + 5]
    return [line for text in regions if "\n- " in text for line in text.split("\n")[1:]]


def image_captions(at: AppTest) -> list[str]:
    return [img.caption for e in at.get("image") for img in e.proto.imgs if img.caption]


def _visit_summary_script():
    """The intake's summary and levels of a visit held in the session (no upload)."""
    import streamlit as st

    from posture.app.chain_view import levels_chain_view, summary_by_region
    from posture.metrics.summary import frontal_levels

    visit = st.session_state["visit"]
    summary_by_region(visit)
    for p in visit.frontal:
        levels_chain_view(p, frontal_levels(visit.metrics))


def test_three_photos_summary_reads_each_measure_once_and_says_where_the_sides_differ(
        detector):
    """leo's front and both sides, a true vertical marked on each: his side photos disagree at
    the plumb line; the page says so in the region, beside each measure read once (a measure
    both sides took: their mean, said so)."""
    visit = analyze(sample("leo_test.jpeg"), left=sample("leo_test_left.jpg"),
                    right=sample("leo_test_right.jpg"),
                    options=AnalysisOptions(passes=2, height_cm=178), detector=detector)
    for slot in ("front", "left", "right"):
        visit = visit.with_camera_roll(slot, roll_from_points((100, 50), (100, 900)))
    at = AppTest.from_function(_visit_summary_script, default_timeout=TIMEOUT_S)
    at.session_state["visit"] = visit
    at.run()
    assert not at.exception, at.exception
    lines = summary_lines(at)
    said = [f.message for f in visit.combined_findings if f.code == "sides_differ"]
    assert said and all(f"- {plain(message)}" in lines for message in said)
    core = region_summary(visit.metrics)
    assert lines == [f"- {plain(ln.clinician)}" for r in core for ln in r.lines]
    values = [ln.metric for r in core for ln in r.lines if ln.flag != FLAG_DIFFERS]
    assert len(values) == len(set(values))
    means = {m.metric for m in visit.combined if m.slot == "sides"}
    assert set(values) & means and any("(mean of both sides)" in line for line in lines)
    assert not any(" — " in line for line in lines)
    assert any("a measure both took reads their mean" in c.value for c in at.caption)
    # One frontal photo: its ladder's words are the visit's levels, not said to be its own.
    text = "\n".join(m.value for m in at.markdown)
    assert all(f"- {plain(o)}" in text for o in frontal_levels(visit.metrics).observations)
    assert not any("photo's own" in c.value for c in at.caption)


def test_four_photos_show_each_photo_and_the_tables_of_two(monkeypatch, records_url, back,
                                                           downloads):  # noqa: F811
    with seen_from_behind(monkeypatch, back[1]):
        at = new_app()
        at.text_input(key="patient_subject").set_value("P-4")
        at.number_input(key="patient_height").set_value(178)
        at = upload(at, photo("leo_test.jpeg"), back=back, left=photo("leo_test_left.jpg"),
                    right=photo("leo_test_right.jpg"))
        assert not at.exception, at.exception
        assert not at.error, [e.value for e in at.error]
        result = held(at).result
        assert [p.slot for p in result.photos] == ["front", "back", "left", "right"]
        assert result.back.view.view == "back"
        assert photo_headers(at) == list(PHOTO_TITLES)
        # The tables of two photos, after the photos', each titled and holding its measures.
        assert [t for t in bold(at) if t in COMBINED_TITLES] == list(COMBINED_TITLES)
        assert "Two photos together" in [h.value for h in at.subheader]
        combined = {slot: [m.label for m in result.combined if m.slot == slot]
                    for slot in ("sides", "left-right", "front-back")}
        assert all(combined.values())
        tables = [list(t.value["Measure"]) for t in at.table if "Measure" in t.value]
        for labels in combined.values():
            assert labels in tables
        # Every slot in the CSV; each photo's annotated PNG.
        rows = csv_download(downloads)
        assert {r["slot"] for r in rows} == {"front", "back", "left", "right", "sides",
                                             "left-right", "front-back"}
        assert {r["metric"] for r in rows if r["slot"] == "back"} == FRONT_IDS
        pngs = sorted(name.rsplit("_", 1)[1] for name, _ in downloads if name.endswith(".png"))
        assert pngs == ["back.png", "front.png", "left.png", "right.png"]
        # What two photos disagree on: one line in the banner, each in full above their tables.
        assert result.combined_findings, "the stand-in back photo disagrees with the front"
        banner = at.warning[0].value
        assert "The photos disagree: the front and back photos on" in banner
        assert not any(plain(f.message) in banner for f in result.combined_findings)
        beside_tables = next(w.value for w in at.warning if w.icon == ":material/compare:")
        assert all(plain(f.message) in beside_tables for f in result.combined_findings)
        # The summary is the core's (`region_summary` of the visit): each measure once (a
        # measure front and back both took, the front's), what the photos disagree on in it.
        lines = summary_lines(at)
        core = region_summary(result.metrics)
        assert lines == [f"- {plain(ln.clinician)}" for r in core for ln in r.lines]
        values = [ln.metric for r in core for ln in r.lines if ln.flag != FLAG_DIFFERS]
        assert values and len(values) == len(set(values))
        assert not any(" — " in line or line.startswith("- Back photo") for line in lines)
        assert {m.metric for m in result.metrics if m.slot == "front-back"} & set(values)
        front_back = [f for f in result.combined_findings if f.code == "front_back_differ"]
        assert front_back and all(f"- {plain(f.message)}" in lines for f in front_back)
        # A ladder of levels for each frontal photo: the front's words are the visit's (the
        # back's agreement among them), the back's said to be its own.
        assert {"Levels from the floor up: front photo",
                "Levels from the floor up: back photo"} <= set(bold(at))
        text = "\n".join(m.value for m in at.markdown)
        levels = frontal_levels(result.metrics)
        assert levels.slot == "front" and levels.back
        assert f"- {plain(levels.back)}" in text
        assert any("these are the back photo's own" in c.value for c in at.caption)

        at.button(key="save_visit").click().run()
        assert not at.exception, at.exception
    store = open_store(records_url)
    [visit] = list_visits(store, "P-4")
    assert visit.slots == ("front", "back", "left", "right")
    stored = visit_photos(store, visit.visit_id)
    assert stored["back"] == back and stored["right"] == photo("leo_test_right.jpg")

    # The records page shows the four photos (front and back, then the sides) and a table
    # per photo and per pair of photos.
    at.switch_page(RECORDS).run()
    assert not at.exception, at.exception
    assert image_captions(at) == ["Front photo · Back photo", "Left side photo · Right side photo"]
    assert [t for t in bold(at) if t in PHOTO_TITLES + COMBINED_TITLES] == \
        list(PHOTO_TITLES + COMBINED_TITLES)
    assert len(at.table) == 7
    assert list(at.dataframe[0].value["Photos"]) == ["front, back, left side, right side"]


def test_three_photos_with_the_sides_swapped_are_filed_as_they_show(records_url):
    """The left and right side photos in each other's uploader: each is analysed, shown and
    saved as the side it shows, and the page says so."""
    at = new_app()
    at.text_input(key="patient_subject").set_value("P-3")
    at = upload(at, photo("leo_test.jpeg"), left=photo("leo_test_right.jpg"),
                right=photo("leo_test_left.jpg"))
    assert not at.exception and not at.error
    result = held(at).result
    assert result.left.name == "leo_test_left.jpg" and result.right.name == "leo_test_right.jpg"
    said = [w.value for w in at.warning if "wrong slots" in w.value]
    assert len(said) == 1 and "the left photo shows the right side" in said[0]
    assert photo_headers(at) == ["Front photo", "Left side photo", "Right side photo"]
    summaries = [c.value for c in at.caption if "seen as a" in c.value]
    assert summaries[1].startswith(plain("leo_test_left.jpg · given as the right side photo · "
                                         "seen as a side view"))
    assert "given as" not in summaries[0]
    assert [t for t in bold(at) if t in COMBINED_TITLES] == ["Both sides (mean)",
                                                             "Left minus right side"]
    # Front, left, right, both sides, left minus right, the front photo's levels.
    assert len(at.table) == 6
    assert {m.metric for m in result.combined if m.slot == "sides"} <= SIDE_IDS
    # Outside or borderline: a measure both sides took reads their mean, as the summary does
    # (each side's own flag stays in its table).
    listed = "\n".join(m.value for m in at.markdown
                       if m.value.startswith(("**Outside", "**Borderline")))
    means = {m.metric: m for m in result.combined if m.slot == "sides"}
    alone = [m for p in (result.left, result.right) for m in p.metrics
             if m.metric in means and m.flag in ("outside", "borderline")]
    assert alone, "one side photo's own value is flagged"
    for m in alone:
        assert f"{plain(m.label)} ({m.slot} side)" not in listed
        assert (plain(means[m.metric].label) in listed) is (
            means[m.metric].flag in ("outside", "borderline"))

    at.button(key="save_visit").click().run()
    assert not at.exception, at.exception
    store = open_store(records_url)
    [visit] = list_visits(store, "P-3")
    stored = visit_photos(store, visit.visit_id)
    assert stored["left"] == photo("leo_test_left.jpg")       # bytes with their analysis
    assert stored["right"] == photo("leo_test_right.jpg")


def test_one_photo_alone_is_measured_with_no_table_of_two(records_url):
    at = upload(new_app(), right=photo("leo_test_right.jpg"))
    assert not at.exception and not at.error
    assert photo_headers(at) == ["Right side photo"]
    [table] = at.table
    assert len(table.value) == len(SIDE_IDS)
    assert "Two photos together" not in [h.value for h in at.subheader]
    assert not held(at).result.combined
    at.text_input(key="patient_subject").set_value("P-1").run()
    at.button(key="save_visit").click().run()
    assert not at.exception, at.exception
    [visit] = list_visits(open_store(records_url), "P-1")
    assert visit.slots == ("right",)


class FakeCamera:
    """Stands in for the camera component (AppTest cannot drive it): the view it is drawn for
    returns the photo `shoot` set for that view, once drawn."""

    def __init__(self) -> None:
        self.photos: dict[str, tuple[str, bytes]] = {}
        self.drawn: list[str] = []

    def __call__(self, view: str, key: str) -> CameraState:
        self.drawn.append(view)
        given = self.photos.get(view)
        if given is None:
            return CameraState(None, False)
        return CameraState(CapturedPhoto(f"capture-{view}-{given[0]}", given[1], None, None,
                                         False, "environment", ""), False)

    def shoot(self, view: str, name: str) -> None:
        self.photos[view] = photo(name)


def test_the_camera_takes_one_view_at_a_time_and_keeps_the_others(monkeypatch):
    fake = FakeCamera()
    monkeypatch.setattr(intake, "camera", fake)
    at = new_app()
    at.radio(key="photo_source").set_value(intake.TAKE).run()
    assert at.radio(key=intake.CAMERA_VIEW).options == ["Front", "Back", "Left side",
                                                        "Right side"]
    at.radio(key=intake.CAMERA_VIEW).set_value("left").run()
    fake.drawn.clear()
    fake.shoot("left", "leo_test_left.jpg")
    at.run()
    assert fake.drawn == ["left"]                 # one live camera
    assert [p.slot for p in held(at).result.photos] == ["left"]

    fake.photos.clear()                           # the left photo now lives in the session
    at.radio(key=intake.CAMERA_VIEW).set_value("front").run()
    fake.shoot("front", "leo_test.jpeg")
    at.run()
    assert not at.exception and not at.error
    assert [p.slot for p in held(at).result.photos] == ["front", "left"]
    assert any(c.value == "Taken: front, left side." for c in at.caption)

    fake.photos.clear()
    at.button(key="remove_taken_left").click().run()
    assert [p.slot for p in held(at).result.photos] == ["front"]


@pytest.fixture(scope="module")
def leo_three_and_two(detector):
    """leo analysed twice: front and both sides; then leo2's front and his right side."""
    first = {"front": "leo_test.jpeg", "left": "leo_test_left.jpg",
             "right": "leo_test_right.jpg"}
    second = {"front": "leo2_test.jpg", "right": "leo_test_right.jpg"}
    out = []
    for given in (first, second):
        data = {slot: sample(name).read_bytes() for slot, name in given.items()}
        a = analyze(options=AnalysisOptions(height_cm=178), detector=detector, names=given,
                    **data)
        out.append((a, data, given, {p.slot: render_png(p) for p in a.photos}))
    return out


def test_compare_page_pairs_the_photos_both_visits_have(records_url, leo_three_and_two):
    store = open_store(records_url)
    for (a, data, names, pngs), day in zip(leo_three_and_two,
                                           (dt.date(2025, 1, 10), dt.date(2025, 4, 2))):
        save_visit(store, "leo", a, data, filenames=names, annotated=pngs, visit_date=day)
    store.close()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    at.switch_page(COMPARE).run()
    assert not at.exception, at.exception
    assert image_captions(at) == [
        "Front photo: 2025-01-10 (left), 2025-04-02 (right)",
        "Right side photo: 2025-01-10 (left), 2025-04-02 (right)"]
    assert any(c.value == "Only 2025-01-10 has the left side photo: not in 2025-04-02, "
               "nothing to show beside it." for c in at.caption)
    assert at.table


@pytest.mark.parametrize(("before", "after", "pairs"), [
    ({"front", "left", "right"}, {"front", "right"}, [("front", "front"), ("right", "right")]),
    ({"front", "side"}, {"front", "left"}, [("front", "front"), ("side", "left")]),
    ({"right"}, {"left"}, [("right", "left")]),
    ({"back", "left", "right"}, {"front", "left"}, [("left", "left")]),
    ({"side"}, {"left", "right"}, []),
], ids=["shared slots", "legacy side and a left side", "one side each", "one side shared",
        "no single side in one"])
def test_which_photos_the_compare_page_shows_side_by_side(before, after, pairs):
    def photo_pairs_of(b, a):   # the pairs the page shows: the comparison's own
        visits = [VisitRecord(label, rows=(), images=dict.fromkeys(slots, b""))
                  for label, slots in (("before", b), ("after", a))]
        return list(Comparison(*visits, changes=()).photo_pairs)
    assert photo_pairs_of(before, after) == pairs


def test_records_and_back_keeps_three_photos_without_detecting_again(records_url):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    at.slider(key="option_passes").set_value(4)
    at = upload(at, photo("leo_test.jpeg"), left=photo("leo_test_left.jpg"),
                right=photo("leo_test_right.jpg"))
    runs = at.session_state[intake.DETECTION_RUNS]
    at.switch_page(RECORDS).run()
    assert "Unsaved intake: 3 photo(s) analysed" in "\n".join(w.value for w in at.warning)
    at.switch_page("posture/app/intake.py").run()
    assert not at.exception, at.exception
    assert set(at.session_state[intake.KEPT_PHOTOS]) == {"front", "left", "right"}
    assert [p.slot for p in held(at).result.photos] == ["front", "left", "right"]
    assert at.session_state[intake.DETECTION_RUNS] == runs
    assert sum("uploaded earlier in this session" in c.value for c in at.caption) == 3
    at.button(key="remove_kept_right").click().run()
    assert [p.slot for p in held(at).result.photos] == ["front", "left"]
    assert not held(at).result.combined            # one side photo: nothing to pair


@pytest.mark.parametrize(("slots", "rows"), [
    ({"front", "right"}, [["front", "right"]]),
    ({"right", "back", "front", "left"}, [["front", "back"], ["left", "right"]]),
    ({"front", "left", "right"}, [["front"], ["left", "right"]]),
    ({"side", "front"}, [["front", "side"]]),         # a visit filed before the four slots
    (set(), []),
])
def test_the_records_page_shows_up_to_two_photos_a_row(slots, rows):
    from posture.app.records import photo_rows

    assert photo_rows(slots) == rows


def test_the_records_page_tables_follow_the_photos_then_the_pairs():
    from posture.app.records import rows_by_slot

    rows = [{"slot": s} for s in ("front-back", "right", "sides", "front", "side", "back")]
    assert list(rows_by_slot(rows)) == ["front", "back", "right", "side", "sides", "front-back"]


def test_a_visit_filed_before_the_four_slots_shows_its_side_photo_and_pairs_it(
        records_url, tmp_path):
    """A visit stored with "side" (one side photo, which side unknown): the records page shows
    it as the side photo, the compare page pairs it with a later visit's left side photo."""
    import sqlite3

    from tests.postgres import leo_visit

    store = open_store(records_url)
    for which, day in (("first", dt.date(2025, 1, 10)), ("second", dt.date(2025, 4, 2))):
        s = leo_visit(which)
        save_visit(store, "leo", s.assessment, s.photos, filenames=s.filenames,
                   annotated=s.annotated, visit_date=day)
    store.close()
    with sqlite3.connect(tmp_path / "records.db") as db:   # the first visit as filed before
        for table in ("photos", "annotated_images", "measurements"):
            db.execute(f"UPDATE {table} SET slot = 'side' WHERE slot = 'right'")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    at.switch_page(RECORDS).run()
    at.selectbox(key="records_visit").set_value(1).run()
    assert not at.exception, at.exception
    assert image_captions(at) == ["Front photo · Side photo"]
    assert [t for t in bold(at) if t.endswith(" photo")] == ["Front photo", "Side photo"]
    assert list(at.dataframe[0].value["Photos"]) == ["front, side", "front, left side"]

    at.switch_page(COMPARE).run()
    assert not at.exception, at.exception
    assert image_captions(at)[1] == ("Side photos: 2025-01-10 (left) is a side photo, which "
                                     "side not recorded, 2025-04-02 (right) the left side")
