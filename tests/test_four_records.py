"""Four photo slots through the records, the comparison and the PDFs: a visit of four photos
(leo's front, left and right sides, and a back stand-in: tests/back_view.py), of three, of one,
and a visit saved before the four slots (a database made at revision 0002), on SQLite and
PostgreSQL. PDFs are read back with poppler.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, replace
from datetime import date

import pytest
from sqlalchemy import MetaData, text

from posture import AnalysisOptions, analyze
from posture.camera import roll_from_points
from posture.compare import VisitRecord, compare_visits
from posture.export import json_text
from posture.metrics.summary import frontal_levels, region_summary
from posture.numbers import value_text
from posture.render import render_png
from posture.report import patient_sheet_pdf, visit_report_pdf
from posture.store import (
    list_analyses,
    list_visits,
    load_analysis_json,
    load_visit,
    open_store,
    reanalyse_visit,
    save_visit,
    visit_photos,
)
from posture.store.db import alembic_config, create_store_engine
from tests.back_view import back_photo_bytes, seen_from_behind
from tests.postgres import HEIGHT_CM, SAMPLES, leo_visit
from tests.postgres import database_url as empty_database
from tests.test_report import poppler

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
FRONT, LEFT, RIGHT = "leo_test.jpeg", "leo_test_left.jpg", "leo_test_right.jpg"


@dataclass(frozen=True, eq=False)
class Given:
    """A visit's photos as the clinician gave them (keyed by the slot given), analysed."""

    assessment: object
    photos: dict[str, bytes]
    filenames: dict[str, str]


def _analysed(**given: tuple[str, bytes]) -> Given:
    photos = {slot: data for slot, (_name, data) in given.items()}
    names = {slot: name for slot, (name, _data) in given.items()}
    assessment = analyze(options=AnalysisOptions(height_cm=HEIGHT_CM, subject="leo"),
                         names=names, **photos)
    return Given(assessment, photos, names)


def _read(name: str) -> tuple[str, bytes]:
    return name, (SAMPLES / name).read_bytes()


@pytest.fixture(scope="module")
def four():
    """Front, back (stand-in), left and right side: every slot."""
    back = back_photo_bytes(SAMPLES / FRONT)
    with pytest.MonkeyPatch.context() as patch, seen_from_behind(patch, back):
        given = _analysed(front=_read(FRONT), back=("leo_test_back.png", back),
                          left=_read(LEFT), right=_read(RIGHT))
    # leo's photos show no straight structure to read the camera's level from: a true
    # vertical marked on each (the photo's own, as a clinician would on a door frame) lets the
    # differences between two photos that move with the level be judged.
    marked = given.assessment
    for slot in ("front", "back", "left", "right"):
        marked = marked.with_camera_roll(slot, roll_from_points((100, 50), (100, 900)))
    return replace(given, assessment=marked)


@pytest.fixture(scope="module")
def three():
    return _analysed(front=_read(FRONT), left=_read(LEFT), right=_read(RIGHT))


@pytest.fixture(scope="module")
def one():
    """A single side photo given without its side: filed as the side it shows."""
    return _analysed(side=_read(RIGHT))


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    s = open_store(empty_database(request.param, tmp_path))
    yield s
    s.close()


def test_the_visits_hold_the_slots_they_were_given(four, three, one):
    assert [p.slot for p in four.assessment.photos] == ["front", "back", "left", "right"]
    assert four.assessment.back.view.view == "back"
    assert {r["slot"] for r in four.assessment.rows()} == {
        "front", "back", "left", "right", "sides", "left-right", "front-back"}
    assert {r["slot"] for r in three.assessment.rows()} == {
        "front", "left", "right", "sides", "left-right"}
    assert [p.slot for p in one.assessment.photos] == ["right"]


def test_the_four_photo_summary_reads_each_measure_once_and_the_sides_disagreeing(four):
    a = four.assessment
    summary = {r.region: r for r in region_summary(a.metrics)}
    values = [ln.metric for r in summary.values() for ln in r.lines if ln.flag != "differs"]
    assert values and len(values) == len(set(values))            # front and back: once
    said = {f.message: f.code for f in a.combined_findings}
    assert "sides_differ" in said.values()                       # leo's two side photos
    differs = {ln.clinician: r.region for r in summary.values() for ln in r.lines
               if ln.flag == "differs"}
    assert set(differs) == {m for m, code in said.items() if code == "sides_differ"}
    assert set(differs.values()) <= {"head_neck", "trunk_spine", "pelvis", "legs"}
    levels = frontal_levels(a.metrics)
    assert levels.slot == "front" and levels.chain.levels
    assert levels.back == "The back photo agrees with the front on every level measured on both."


# --- records ---------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["four", "three", "one"])
def test_a_visit_of_any_photos_round_trips(store, which, request):
    visit = request.getfixturevalue(which)
    a = visit.assessment
    visit_id = save_visit(store, "leo", a, visit.photos, filenames=visit.filenames,
                          visit_date=date(2025, 3, 1))
    record = load_visit(store, visit_id)
    slots = [p.slot for p in a.photos]

    assert [dict(r) for r in record.rows] == [
        {**row, "visit_date": "2025-03-01", "visit_id": visit_id} for row in a.rows()]
    assert list(record.images) == slots
    for p in a.photos:                                    # each image is its own photo's
        assert record.images[p.slot] == render_png(p)
    assert record.findings == tuple(f.message for f in a.all_findings())
    assert load_analysis_json(store, visit_id) == json.loads(json_text(a))
    stored = visit_photos(store, visit_id)
    assert list(stored) == slots
    filed = a.filed(visit.photos)                        # "side" given, "right" stored
    assert {slot: data for slot, (_name, data) in stored.items()} == filed
    assert {slot: name for slot, (name, _data) in stored.items()} == a.filed(visit.filenames)
    [summary] = list_visits(store, "leo")
    assert list(summary.slots) == slots


def test_a_four_photo_visit_reanalyses_into_the_same_slots(store, four):
    """Stored under the analysed slots, the photos are analysed again into them (the back
    stand-in is only seen from behind inside seen_from_behind: as in the analysis)."""
    visit_id = save_visit(store, "leo", four.assessment, four.photos,
                          filenames=four.filenames)
    with pytest.MonkeyPatch.context() as patch, seen_from_behind(patch, four.photos["back"]):
        reanalyse_visit(store, visit_id)
    again = load_visit(store, visit_id)
    assert list(again.images) == ["front", "back", "left", "right"]
    assert [(r["slot"], r["metric"]) for r in again.rows] == [
        (r["slot"], r["metric"]) for r in four.assessment.rows()]
    assert len(list_analyses(store, visit_id)) == 2            # the first one is kept


# --- a visit saved before the four slots -------------------------------------------------------


def _legacy_database(url: str) -> int:
    """A database at revision 0002 holding leo's front + side visit as it was then saved:
    photos and images under "front" and "side", measurement rows without a slot. Returns the
    visit's id."""
    from alembic import command

    s = leo_visit("first")
    engine = create_store_engine(url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0002")
        tables = MetaData()
        tables.reflect(conn)
        assert "slot" not in tables.tables["measurements"].c
        result = json.loads(json_text(s.assessment))
        for p in result["photos"]:
            p["slot"] = "side" if p["slot"] == "right" else p["slot"]
        for r in result["metrics"]:
            del r["slot"]
        def insert(table: str, **values) -> int:
            [key] = conn.execute(tables.tables[table].insert(), values).inserted_primary_key
            return key

        patient = insert("patients", subject="leo", name="", notes="", created_at="2025-01-10")
        visit = insert("visits", patient_id=patient, visit_date=date(2025, 1, 10),
                       height_cm=HEIGHT_CM, notes="", created_at="2025-01-10")
        conn.execute(tables.tables["photos"].insert(), [
            {"visit_id": visit, "slot": legacy, "filename": s.filenames[slot],
             "sha256": hashlib.sha256(s.photos[slot]).hexdigest(), "data": s.photos[slot]}
            for legacy, slot in (("front", "front"), ("side", "right"))])
        analysis = insert("analyses", visit_id=visit, posture_version="0.9",
                          analysed_at="2025-01-10", result_json=json.dumps(result))
        conn.execute(tables.tables["measurements"].insert(), [
            {"analysis_id": analysis, "position": i, **{k: v for k, v in r.items() if k in (
                "view", "metric", "label", "value", "unit", "uncertainty", "side", "status",
                "flag", "reference", "detail", "raw_value", "corrected", "manual", "image",
                "passes")}} for i, r in enumerate(result["metrics"])])
        conn.execute(tables.tables["annotated_images"].insert(), [
            {"analysis_id": analysis, "slot": legacy, "png": s.annotated[slot]}
            for legacy, slot in (("front", "front"), ("side", "right"))])
    engine.dispose()
    return visit


@pytest.mark.parametrize("backend", BACKENDS)
def test_migration_0003_keeps_a_front_and_side_visit_readable(backend, tmp_path):
    url = empty_database(backend, tmp_path)
    visit_id = _legacy_database(url)
    store = open_store(url)                               # upgrades to the head (0003)
    try:
        with store.engine.connect() as conn:
            slots = dict(conn.execute(text(
                "SELECT view, MIN(slot) FROM measurements GROUP BY view")).all())
        assert slots == {"front": "front", "side": "side"}
        legacy = load_visit(store, visit_id)
        first = leo_visit("first").assessment
        assert [(r["slot"], r["metric"], r["value"]) for r in legacy.rows] == [
            ("side" if r["slot"] == "right" else r["slot"], r["metric"], r["value"])
            for r in first.rows()]
        assert sorted(legacy.images) == ["front", "side"]
        said = [f"Side photo: {f.message}" for f in first.right.findings]
        assert said and set(said) <= set(legacy.findings)      # named as filed then

        # Compared with a later visit of a left side photo: the side photos match.
        later = leo_visit("second")
        later_id = save_visit(store, "leo", later.assessment, later.photos,
                              visit_date=date(2025, 4, 2))
        changes = compare_visits(legacy, load_visit(store, later_id)).changes
        fha = next(c for c in changes if c.metric == "forward_head_angle")
        assert (fha.before_slot, fha.slot, fha.photos) == (
            "side", "left", "Side photo vs left side photo")
        assert fha.change is not None and fha.verdict != "not comparable: no such photo before"
        assert not [c for c in changes if "no such photo" in c.verdict]

        # Analysed again: the side photo is filed as the side it shows (leo's right).
        reanalyse_visit(store, visit_id)
        again = load_visit(store, visit_id)
        assert sorted(again.images) == ["front", "right"]
        assert {r["slot"] for r in again.rows} == {"front", "right"}
        assert sorted(visit_photos(store, visit_id)) == ["front", "side"]   # the photos as stored
        assert len(load_visit(store, visit_id, legacy.analysis_id).rows) == len(legacy.rows)
    finally:
        store.close()


# --- comparison ----------------------------------------------------------------------------------


def test_four_photos_against_three_compare_slot_for_slot(four, three):
    before = VisitRecord.from_assessment(three.assessment, "before", images={})
    after = VisitRecord.from_assessment(four.assessment, "after", images={})
    changes = compare_visits(before, after).changes
    pairs = list(dict.fromkeys((c.before_slot, c.slot) for c in changes))
    assert pairs == [("front", "front"), ("", "back"), ("left", "left"), ("right", "right"),
                     ("sides", "sides"), ("left-right", "left-right"), ("", "front-back")]
    # The same photos: no change, and nothing compared where the photo is new.
    assert all(c.change == 0 for c in changes if c.before_slot and c.change is not None)
    assert all(c.change is None for c in changes if not c.before_slot)


def test_one_side_photo_against_both_sides_matches_its_side(records):
    comparison = compare_visits(records["one"], records["four"])
    compared = {(c.before_slot, c.slot) for c in comparison.changes if c.change is not None}
    assert compared == {("right", "right")}
    assert comparison.photo_pairs == (("right", "right"),)
    assert comparison.new_photos == ("front", "back", "left")
    # leo's real visits: one side photo each, his right then his left, shown side by side.
    first, second = leo_visit("first"), leo_visit("second")
    across = compare_visits(VisitRecord.from_assessment(first.assessment, "a",
                                                        images=first.annotated),
                            VisitRecord.from_assessment(second.assessment, "b",
                                                        images=second.annotated))
    assert across.photo_pairs == (("front", "front"), ("right", "left"))
    assert across.new_photos == ()


# --- PDFs -------------------------------------------------------------------------------------


def _pdf_text(tmp_path, data: bytes, name: str, layout: bool = False) -> str:
    """The PDF's words; with layout, a table row's cells in reading order, row by row."""
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(data)
    return " ".join(poppler("pdftotext", *(["-layout"] if layout else []), str(path),
                            "-").split())


def _images_in(tmp_path, data: bytes, name: str) -> int:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(data)
    listing = poppler("pdfimages", "-list", str(path)).splitlines()
    return sum(1 for line in listing[2:] if line.split()[2] == "image")


@pytest.fixture(scope="module")
def records(four, three, one):
    """The three visits as records, annotated images and all."""
    return {name: VisitRecord.from_assessment(v.assessment, f"2025-0{i}-01",
                                              visit_date=date(2025, i, 1), patient_name="Léo")
            for i, (name, v) in enumerate((("one", one), ("three", three), ("four", four)), 1)}


@pytest.mark.parametrize(("which", "photos", "tables"), [
    ("four", ["Front photo", "Back photo", "Left side photo", "Right side photo"],
     ["front photo", "back photo", "left side photo", "right side photo", "both sides (mean)",
      "left minus right side", "front minus back"]),
    ("three", ["Front photo", "Left side photo", "Right side photo"],
     ["front photo", "left side photo", "right side photo", "both sides (mean)",
      "left minus right side"]),
    ("one", ["Right side photo"], ["right side photo"]),
])
def test_the_report_shows_every_photo_and_a_table_per_slot(records, which, photos, tables,
                                                           tmp_path):
    record = records[which]
    data = visit_report_pdf(record, generated=date(2025, 4, 2))
    text = _pdf_text(tmp_path, data, which)
    for title in photos:
        assert f"{title}, {record.label}" in text
    for title in ("Front photo", "Back photo", "Left side photo", "Right side photo"):
        if title not in photos:
            assert f"{title}, {record.label}" not in text
    assert _images_in(tmp_path, data, which) == len(photos)
    headings = re.findall(r"Measures: (front photo|back photo|left side photo|right side photo|"
                          r"both sides \(mean\)|left minus right side|front minus back)", text)
    assert headings == tables
    # Every row's value is printed; a difference of two photos carries its verdict.
    for r in record.rows:
        if r["value"] is not None:
            assert r["label"].split(" (")[0].split(":")[0] in text
    if "left minus right side" in tables:
        assert re.search(r"\b(agrees|differs)\b", text)


def test_the_report_reads_the_four_photo_visit_once_per_measure(records, tmp_path):
    text = _pdf_text(tmp_path, visit_report_pdf(records["four"]), "four_glance")
    glance = text[text.index("At a glance"):text.index("Check before relying")]
    rows = records["four"].rows
    front = [r for r in rows if r["slot"] == "front" and r["flag"] in ("outside", "borderline")]
    assert front
    for r in front:                                      # the front's, not again the back's
        assert glance.count(f"{r['label']}: {value_text(r['value'])}") == 1, r["metric"]
    assert "(back photo)" not in glance
    means = {r["metric"] for r in rows if r["slot"] == "sides"}
    single = [r for r in rows if r["slot"] in ("left", "right") and r["metric"] in means
              and r["flag"] in ("outside", "borderline")]
    assert single                                         # leo's left side photo leans
    for r in single:                                      # read from the mean of both
        assert f"{r['label']}: {value_text(r['value'])}" not in glance
    # Differences between the photos are warnings, not values at a glance.
    assert "The side photos disagree" in text[text.index("Check before relying"):]
    # The levels come from the front photo; the back's agreement is said.
    assert "Levels from the floor up" in text
    assert "The back photo" in text[text.index("Levels from the floor up"):]


def test_the_comparison_in_the_report_names_the_photos_it_compares(records, tmp_path):
    text = _pdf_text(tmp_path, visit_report_pdf(records["four"], records["three"]), "cmp")
    section = text[text.index("Change since the previous visit"):]
    for photos in ("Front photo", "Back photo", "Left side photo", "Right side photo",
                   "Both sides (mean)", "Left minus right side", "Front minus back"):
        assert photos in section, photos


def test_no_page_ends_on_a_comparison_title_without_its_rows(records, tmp_path):
    """Wherever on a page the comparison starts, a photo's (or pair's) title never ends a page
    with its rows on the next."""
    from itertools import groupby

    from posture import report

    full = compare_visits(records["three"], records["four"])
    # Two rows a photo: short enough to sweep the page's foot in fine steps, quickly.
    changes = tuple(c for _key, group in groupby(full.changes, key=lambda c: c.photos)
                    for c in list(group)[:2])
    comparison = replace(full, changes=changes)
    titles = {c.photos for c in changes}
    assert len(titles) >= 6
    path = tmp_path / "shifted.pdf"
    continued = 0
    for start in range(150, 270, 2):   # mm from the page's top: each title lands at its foot
        pdf = report._Report("footer", "header")
        pdf.add_page()
        pdf.set_y(start)
        report._comparison(pdf, comparison)
        path.write_bytes(bytes(pdf.output()))
        pages = [p for p in poppler("pdftotext", "-layout", str(path), "-").split("\f")
                 if p.strip()]
        for page in pages[:-1]:
            body = [line.strip() for line in page.splitlines()
                    if line.strip() and line.strip() not in ("footer", "header")
                    and "Page " not in line]
            assert body[-1] not in titles, (start, body[-3:])
        continued += len(pages) > 1
    assert continued > 30  # most starts break the comparison across pages


def test_a_photo_the_previous_visit_lacks_is_one_line_of_the_comparison(records, tmp_path):
    text = _pdf_text(tmp_path, visit_report_pdf(records["four"], records["one"]), "new",
                     layout=True)
    section = text[text.index("Change since the previous visit"):]
    unpaired = ("Front photo", "Back photo", "Left side photo", "Both sides (mean)",
                "Left minus right side", "Front minus back")       # the first visit: right only
    for photos in unpaired:
        after = section[section.index(photos) + len(photos):]
        assert after.lstrip().startswith("not comparable: no such photo at 2025-01-01"), photos
    assert section.count("no such photo at 2025-01-01") == len(unpaired)
    assert "no such photo before" not in section                  # not once per measure
    right = section[section.index("Right side photo"):]
    assert "within measurement noise" in right                    # the same photo again


def test_the_patient_sheet_shows_every_photo_on_one_page(records, tmp_path):
    text_of = {}
    for name, n in (("four", 4), ("three", 3), ("one", 1)):
        data = patient_sheet_pdf(records[name], records["one"] if name != "one" else None)
        path = tmp_path / f"sheet_{name}.pdf"
        path.write_bytes(data)
        assert re.search(r"^Pages:\s+1$", poppler("pdfinfo", str(path)), re.M)
        assert _images_in(tmp_path, data, f"sheet_{name}") == n
        text = text_of[name] = _pdf_text(tmp_path, data, f"sheet_{name}")
        assert "Your photos" in text
        if name != "one":
            assert "Since your visit of 2025-01-01" in text
    new = ("New at this visit, nothing to compare with yet: front photo, back photo, left side "
           "photo.")
    assert new in text_of["four"]                         # the right side photo is compared
    assert "New at this visit" not in text_of["one"]


def test_a_legacy_side_visit_before_a_left_visit_on_the_patient_sheet(tmp_path):
    """Rows and images of a visit saved before the four slots ("side") against a later left
    side photo: the sheet lists what changed for real, read across the two side photos."""
    first, second = leo_visit("first"), leo_visit("second")
    legacy = VisitRecord.from_assessment(first.assessment, "2025-01-10",
                                         images={"front": first.annotated["front"],
                                                 "side": first.annotated["right"]})
    legacy = VisitRecord(**{**legacy.__dict__, "rows": tuple(
        {**r, "slot": "side" if r["slot"] == "right" else r["slot"]} for r in legacy.rows)})
    after = VisitRecord.from_assessment(second.assessment, "2025-04-02",
                                        images=second.annotated)
    real = [c for c in compare_visits(legacy, after).changes if c.real]
    assert real and all(c.before_slot in ("front", "side") for c in real)
    text = _pdf_text(tmp_path, patient_sheet_pdf(after, legacy), "legacy_sheet")
    assert "Since your visit of 2025-01-10" in text
    assert real[0].label.split(" (")[0] in text
    report = _pdf_text(tmp_path, visit_report_pdf(after, legacy), "legacy_report")
    assert "Side photo vs left side photo" in report
    alone = _pdf_text(tmp_path, visit_report_pdf(legacy), "legacy_alone")
    assert "Front photo, 2025-01-10" in alone and "Side photo, 2025-01-10" in alone
    assert "Measures: front photo" in alone and "Measures: side photo" in alone
