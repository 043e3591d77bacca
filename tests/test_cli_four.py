"""The command line and batch with the four photo slots: four photos (leo's front, left and
right side, and a back stand-in made from his front photo: tests/back_view.py, in-process only),
three (front and both sides, in a process of its own), and one (a side photo given as --side)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import subprocess
import sys
from datetime import date

import pytest

from posture import AnalysisOptions, analyze
from posture.assessment import TABLE_COLUMNS, slot_title
from posture.camera import roll_from_points
from posture.cli import _screening_summary, main
from posture.metrics.bilateral import FLAG_DIFFERS
from posture.metrics.summary import region_summary, results_from_rows
from posture.store import list_visits, open_store, visit_photos
from tests.back_view import back_photo_bytes, seen_from_behind
from tests.conftest import ROOT, sample

FRONT, LEFT, RIGHT = sample("leo_test.jpeg"), sample("leo_test_left.jpg"), \
    sample("leo_test_right.jpg")
FOUR_SLOTS = {"front", "back", "left", "right", "sides", "left-right", "front-back"}


def read_csv(path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == TABLE_COLUMNS
        return list(reader)


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("posture: ") and "Traceback" not in err, err
    return err


@pytest.fixture(scope="module")
def back(tmp_path_factory):
    """leo's back stand-in as a PNG file, and its bytes (to recognise its pixels)."""
    data = back_photo_bytes(FRONT)
    path = tmp_path_factory.mktemp("back") / "leo_back.png"
    path.write_bytes(data)
    return path, data


def run_seen_from_behind(back, argv: list[str]) -> tuple[int, str]:
    """main(argv) in this process, the back stand-in's landmarks labelled as a back view;
    its exit code and what it printed."""
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, seen_from_behind(mp, back[1]), \
            contextlib.redirect_stdout(printed):
        code = main(argv)
    return code, printed.getvalue()


@pytest.fixture(scope="module")
def four(back, tmp_path_factory, detector):
    """`posture analyze` of leo's four photos, filed with --save."""
    out = tmp_path_factory.mktemp("four")
    db = f"sqlite:///{out / 'records.db'}"
    argv = ["analyze", "--front", str(FRONT), "--back", str(back[0]), "--left", str(LEFT),
            "--right", str(RIGHT), "--height-cm", "178", "--subject", "leo", "--passes", "2",
            "--out", str(out / "results"), "--save", "--visit-date", "2026-05-06", "--db", db]
    code, printed = run_seen_from_behind(back, argv)
    return code, printed, out / "results", db, argv


def test_four_photos_write_each_slot_and_the_combined_rows(four, back):
    code, _, out, _, _ = four
    assert code == 0
    assert {p.name for p in out.iterdir()} == {
        "results.csv", "results.json", "annotated_front.png", "annotated_back.png",
        "annotated_left.png", "annotated_right.png"}
    rows = read_csv(out / "results.csv")
    assert {r["slot"] for r in rows} == FOUR_SLOTS
    images = {r["slot"]: r["image"] for r in rows}
    assert images == {"front": FRONT.name, "back": back[0].name, "left": LEFT.name,
                      "right": RIGHT.name, "sides": f"{LEFT.name} + {RIGHT.name}",
                      "left-right": f"{LEFT.name} + {RIGHT.name}",
                      "front-back": f"{FRONT.name} + {back[0].name}"}
    assert {r["view"] for r in rows if r["slot"] == "back"} == {"back"}
    assert len(rows) == len({(r["slot"], r["metric"]) for r in rows})

    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert [(p["slot"], p["image"], p["view"], p["given_as"]) for p in data["photos"]] == [
        ("front", FRONT.name, "front", None), ("back", back[0].name, "back", None),
        ("left", LEFT.name, "side", None), ("right", RIGHT.name, "side", None)]
    # The JSON's rows are the CSV's, combined ones included.
    assert [(r["slot"], r["metric"]) for r in data["metrics"]] == [
        (r["slot"], r["metric"]) for r in rows]


def test_four_photos_summary_names_each_photo_and_says_where_they_differ(four, back):
    code, printed, out, _, _ = four
    assert code == 0
    headings = [line for line in printed.splitlines() if line.startswith("-- ")]
    assert headings == [
        f"-- Front photo ({FRONT.name})", f"-- Back photo ({back[0].name})",
        f"-- Left side photo ({LEFT.name})", f"-- Right side photo ({RIGHT.name})",
        f"-- Both sides (mean) ({LEFT.name} + {RIGHT.name})",
        f"-- Left minus right side ({LEFT.name} + {RIGHT.name})",
        f"-- Front minus back ({FRONT.name} + {back[0].name})"]
    assert [slot_title(s) for s in ("left-right", "front-back")] == [
        "Left minus right side", "Front minus back"]
    # Every finding of the visit (sides differ, front and back differ) is printed, and one is
    # said for each measure whose sides differ beyond the noise and the detectable change.
    visit = json.loads((out / "results.json").read_text(encoding="utf-8"))["findings"]
    assert all(f"! {f['message']}" in printed for f in visit)
    rows = read_csv(out / "results.csv")
    differing = {r["metric"] for r in rows if r["slot"] == "left-right"
                 and r["flag"] == FLAG_DIFFERS}
    said = [f for f in visit if f["code"] == "sides_differ"]
    assert len(said) == len(differing)
    assert all(f["message"].startswith("The side photos disagree") for f in said)
    # leo's side photos show no straight structure to read the camera's level from, and a
    # camera roll moves a plumb offset's left-right difference twice: not judged, and said why.
    plumb = [r for r in rows if r["slot"] == "left-right" and r["metric"].startswith("plumb")]
    assert plumb and all("the camera's level is unknown" in r["detail"] for r in plumb)
    assert "Levels from the floor up (front photo):" in printed
    assert "Filed visit 2026-05-06 for leo (visit 1: front + back + left + right)" in printed


def summary_lines(printed: str) -> list[str]:
    """The lines of the summary by region, as printed (up to the blank line after it)."""
    return printed[printed.index("Summary by region"):].split("\n\n")[0].splitlines()[1:]


def test_four_photos_summary_reads_each_measure_once_as_the_core_does(four, back):
    code, printed, _, _, _ = four
    assert code == 0
    lines = summary_lines(printed)
    # Head tilt is outside its range on leo's front photo and on the back (the same stance):
    # one line, the front's, saying whether the back agrees; no line names its photo.
    assert sum(line.startswith("  Head and neck: Head tilt:") for line in lines) == 1
    assert not any("photo]" in line for line in lines)
    # Exactly the core's lines (`region_summary` of the visit, as filed), in its order.
    result = json.loads((four[2] / "results.json").read_text(encoding="utf-8"))
    expected = []
    for region in region_summary(results_from_rows(result["metrics"])):
        expected += [f"  {region.title}: nothing outside its range"] if region.clear else [
            f"  {region.title}: {line.clinician}" for line in region.lines]
    assert lines == expected


def test_the_summary_says_where_the_side_photos_disagree(back, detector):
    """With a true vertical marked on each photo, leo's side photos disagree at the plumb
    line: said in the summary of its region, beside the measures read once."""
    with pytest.MonkeyPatch.context() as mp, seen_from_behind(mp, back[1]):
        visit = analyze(FRONT, back=back[0], left=LEFT, right=RIGHT,
                        options=AnalysisOptions(passes=2, height_cm=178), detector=detector)
    for slot in ("front", "back", "left", "right"):
        visit = visit.with_camera_roll(slot, roll_from_points((100, 50), (100, 900)))
    printed = "\n".join(_screening_summary(visit))
    said = [f.message for f in visit.combined_findings if f.code == "sides_differ"]
    assert said and all(sum(message in line for line in printed.splitlines()) == 1
                        for message in said)
    levels = printed[printed.index("Levels from the floor up (front photo):"):]
    assert "The back photo agrees with the front on every level measured on both." in levels
    measured_twice = {m.metric for m in visit.metrics if m.slot == "front-back"}
    for region in region_summary(visit.metrics):
        values = [ln.metric for ln in region.lines if ln.flag != FLAG_DIFFERS]
        assert len(values) == len(set(values))
        assert all(f"{region.title}: {ln.clinician}" in printed for ln in region.lines)
    assert measured_twice & {ln.metric for r in region_summary(visit.metrics) for ln in r.lines}


def test_four_photos_are_filed_each_in_its_slot_and_once(four, back):
    code, _, _, db, argv = four
    assert code == 0
    store = open_store(db)
    try:
        (visit,) = list_visits(store, "leo")
        photos = visit_photos(store, visit.visit_id)
    finally:
        store.close()
    assert visit.visit_date == date(2026, 5, 6)
    assert photos == {"front": (FRONT.name, FRONT.read_bytes()),
                      "back": (back[0].name, back[1]),
                      "left": (LEFT.name, LEFT.read_bytes()),
                      "right": (RIGHT.name, RIGHT.read_bytes())}
    again, printed = run_seen_from_behind(back, argv)
    assert again == 0 and "Already filed: visit 1 of leo on 2026-05-06" in printed


def test_three_photos_in_a_process_of_their_own(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "posture.cli", "analyze", "--front", str(FRONT), "--left",
         str(LEFT), "--right", str(RIGHT), "--subject", "leo", "--passes", "1", "--out",
         str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""     # MediaPipe's native log lines are filtered
    assert {p.name for p in out.iterdir()} == {
        "results.csv", "results.json", "annotated_front.png", "annotated_left.png",
        "annotated_right.png"}
    rows = read_csv(out / "results.csv")
    assert {r["slot"] for r in rows} == {"front", "left", "right", "sides", "left-right"}
    assert f"-- Left minus right side ({LEFT.name} + {RIGHT.name})" in proc.stdout
    assert "-- Back photo" not in proc.stdout and "-- Front minus back" not in proc.stdout
    assert ("Wrote " + str(out / "results.csv") + ", results.json and annotated_front.png, "
            "annotated_left.png, annotated_right.png.") in proc.stdout


def test_one_side_photo_is_filed_by_the_way_the_patient_faces(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'records.db'}"
    argv = ["analyze", "--side", str(LEFT), "--subject", "P9", "--passes", "1", "--out",
            str(tmp_path / "out"), "--save", "--db", db]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert {p.name for p in (tmp_path / "out").iterdir()} == {
        "results.csv", "results.json", "annotated_left.png"}
    assert {r["slot"] for r in read_csv(tmp_path / "out" / "results.csv")} == {"left"}
    data = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert [(p["slot"], p["given_as"]) for p in data["photos"]] == [("left", "side")]
    assert f"-- Left side photo ({LEFT.name})" in printed
    assert "(visit 1: left)" in printed
    # Filed under "left", and recognised as on file when given again as --side.
    assert main(argv) == 0
    assert "Already filed: visit 1 of P9" in capsys.readouterr().out
    store = open_store(db)
    try:
        (visit,) = list_visits(store, "P9")
        assert set(visit_photos(store, visit.visit_id)) == {"left"}
    finally:
        store.close()


@pytest.mark.parametrize("photos, match", [
    (["--side", sample("ana_test_right.jpg"), "--left", LEFT, "--right", RIGHT],
     "a side photo is given beside both a left and a right side photo, and would be filed as "
     "one of them: give at most one photo per slot"),
    (["--front", FRONT, "--back", FRONT], f"'{FRONT.name}' is given as both the front and the "
                                          "back photo: give each photo once"),
])
def test_two_photos_for_one_slot_are_refused_in_one_line_before_analysing(
        tmp_path, capsys, photos, match):
    out = tmp_path / "out"
    assert main(["analyze", *map(str, photos), "--out", str(out), "--passes", "1"]) == 2
    assert match in one_line_error(capsys)
    assert not out.exists()


# --- batch -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def batch(back, tmp_path_factory, detector):
    """`posture batch` of a manifest with four photos, three, and one (a --side), filed."""
    folder = tmp_path_factory.mktemp("batch")
    (folder / "manifest.csv").write_text(
        "subject,front,back,left,right,side,height_cm\n"
        f"four,{FRONT},{back[0]},{LEFT},{RIGHT},,178\n"
        f"three,{FRONT},,{LEFT},{RIGHT},,\n"
        f"one,,,,,{RIGHT},\n", encoding="utf-8")
    out, db = folder / "all.csv", f"sqlite:///{folder / 'records.db'}"
    code, printed = run_seen_from_behind(back, [
        "batch", str(folder), "--out", str(out), "--workers", "1", "--passes", "1",
        "--no-progress", "--save", "--visit-date", "2026-05-07", "--db", db])
    return code, printed, read_csv(out), db


def test_batch_rows_carry_each_subjects_slots(batch):
    code, printed, rows, _ = batch
    assert code == 0 and "3 subjects" in printed and "0 failed" in printed
    slots = {}
    for r in rows:
        slots.setdefault(r["subject"], set()).add(r["slot"])
    assert slots == {"four": FOUR_SLOTS, "three": {"front", "left", "right", "sides",
                                                   "left-right"},
                     "one": {"right"}}
    assert {r["view"] for r in rows if r["subject"] == "four" and r["slot"] == "back"} == {"back"}


def test_batch_files_each_subjects_photos_in_their_slots(batch, back):
    _, printed, _, db = batch
    assert "Filed 3 visit(s) dated 2026-05-07" in printed
    store = open_store(db)
    try:
        stored = {s: visit_photos(store, list_visits(store, s)[0].visit_id)
                  for s in ("four", "three", "one")}
    finally:
        store.close()
    assert {s: sorted(p) for s, p in stored.items()} == {
        "four": ["back", "front", "left", "right"], "three": ["front", "left", "right"],
        "one": ["right"]}
    assert stored["four"]["back"] == (back[0].name, back[1])
    assert stored["one"]["right"] == (RIGHT.name, RIGHT.read_bytes())


def test_batch_refuses_a_misspelt_photo_column_naming_it(tmp_path, capsys):
    (tmp_path / "manifest.csv").write_text(f"subject,front,rigth\nx,{FRONT},{RIGHT}\n",
                                           encoding="utf-8")
    out = tmp_path / "all.csv"
    assert main(["batch", str(tmp_path), "--out", str(out), "--no-progress"]) == 2
    err = one_line_error(capsys)
    assert "Manifest 'manifest.csv', line 1: unknown column 'rigth'" in err
    assert not out.exists()
