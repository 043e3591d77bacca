"""`posture analyze --save` and `posture batch --save` file visits in the records, so that the
README's example (analyze a patient, then `posture history` of them) works; on SQLite and on a
real PostgreSQL server (tests/postgres.py)."""

from __future__ import annotations

import csv
import shutil
from datetime import date

import pytest

from posture.cli import main
from posture.filing import check_filing
from posture.store import list_patients, list_visits, open_store, visit_photos, visit_rows
from tests.conftest import PAIRS, sample
from tests.postgres import database_url

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def stored(url: str, subject: str):
    store = open_store(url)
    try:
        return list_visits(store, subject)
    finally:
        store.close()


def number(value) -> float | None:
    return None if value in (None, "") else float(value)


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("posture: "), err
    return err


@pytest.mark.parametrize("backend", BACKENDS)
def test_analyze_save_then_history_shows_the_visit(backend, tmp_path, capsys):
    db = database_url(backend, tmp_path)
    front, side = sample(PAIRS["leo"][0]), sample(PAIRS["leo"][1])
    out = tmp_path / "out"
    code = main(["analyze", "--front", str(front), "--side", str(side), "--height-cm", "178",
                 "--subject", "P001", "--out", str(out), "--passes", "2", "--save",
                 "--visit-date", "2026-03-04", "--notes", "first visit", "--db", db])
    printed = capsys.readouterr().out
    assert code == 0
    # leo's side photo, given as --side, shows his left side: it is filed as that.
    assert "Filed visit 2026-03-04 for P001 (visit 1: front + left) in " in printed

    visits = stored(db, "P001")
    assert len(visits) == 1
    visit = visits[0]
    assert (visit.visit_date, visit.height_cm, visit.notes, visit.slots) == (
        date(2026, 3, 4), 178.0, "first visit", ("front", "left"))
    store = open_store(db)
    try:
        photos = visit_photos(store, visit.visit_id)
        rows = visit_rows(store, visit.visit_id)
    finally:
        store.close()
    assert photos == {"front": (front.name, front.read_bytes()),
                      "left": (side.name, side.read_bytes())}
    with open(out / "results.csv", encoding="utf-8") as f:
        written = list(csv.DictReader(f))
    # The same rows as results.csv, values included: what was printed is what was filed.
    assert [(r["metric"], number(r["value"])) for r in rows] == [
        (r["metric"], number(r["value"])) for r in written]

    assert main(["history", "P001", "--db", db]) == 0
    shown = capsys.readouterr().out
    assert "P001: 1 visit(s)" in shown and "2026-03-04" in shown and "178 cm" in shown
    assert "Shoulder tilt" in shown


def test_save_defaults_to_today_and_never_files_the_same_photos_twice(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'r.db'}"
    args = ["analyze", "--front", str(sample("leo_test.jpeg")), "--subject", "P002",
            "--out", str(tmp_path / "o"), "--passes", "1", "--save", "--db", db]
    assert main(args) == 0
    assert f"Filed visit {date.today().isoformat()} for P002" in capsys.readouterr().out
    assert main(args) == 0
    assert "Already filed: visit" in capsys.readouterr().out
    visits = stored(db, "P002")
    assert [v.visit_date for v in visits] == [date.today()]
    # Another photo the same day is another visit.
    assert main([*args, "--front", str(sample("leo2_test.jpg"))]) == 0
    assert len(stored(db, "P002")) == 2


def test_without_save_nothing_is_filed_and_history_says_how_to_file(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'r.db'}"
    assert main(["analyze", "--front", str(sample("leo_test.jpeg")), "--subject", "P003",
                 "--out", str(tmp_path / "o"), "--passes", "1"]) == 0
    capsys.readouterr()
    assert main(["history", "P003", "--db", db]) == 2
    err = one_line_error(capsys)
    assert "no patient 'P003'" in err and "posture analyze --save" in err


@pytest.mark.parametrize("extra, match", [
    (["--visit-date", "2999-01-01"], "is in the future"),
    (["--visit-date", "4 March"], "--visit-date takes a date as YYYY-MM-DD"),
    (["--subject", " p 0 0 1"], "differs from 'P001' only by case or spaces"),
    (["--subject", ""], "give --subject ID"),
])
def test_a_wrong_date_or_id_is_refused_before_analysing(tmp_path, capsys, extra, match):
    db = f"sqlite:///{tmp_path / 'r.db'}"
    assert main(["analyze", "--front", str(sample("leo_test.jpeg")), "--subject", "P001",
                 "--out", str(tmp_path / "first"), "--passes", "1", "--save", "--db", db]) == 0
    capsys.readouterr()
    out = tmp_path / "o"
    assert main(["analyze", "--front", str(sample("leo2_test.jpg")), "--subject", "P001",
                 "--out", str(out), "--passes", "1", "--save", "--db", db, *extra]) == 2
    assert match in one_line_error(capsys)
    assert not out.exists()  # refused before anything was analysed or written
    store = open_store(db)
    try:
        assert [(p.subject, p.visits) for p in list_patients(store)] == [("P001", 1)]
    finally:
        store.close()


def test_check_filing_refuses_ids_that_clash_within_a_batch(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        with pytest.raises(Exception, match="'ab 1' differs from 'AB1' only by case"):
            check_filing(store, ["AB1", "x", "ab 1"], date(2026, 1, 1))
        with pytest.raises(Exception, match="patient ID 'aaaa.*one line of at most 100"):
            check_filing(store, ["a" * 101], date(2026, 1, 1))
        with pytest.raises(Exception, match="visit notes hold a control character"):
            check_filing(store, ["AB1"], date(2026, 1, 1), "bell \x07")
        check_filing(store, ["AB1", "AB2"], date(2026, 1, 1), today=date(2026, 1, 1))
    finally:
        store.close()


@pytest.fixture
def batch_folder(tmp_path):
    """Two subjects of real photos, and one whose photo is not an image."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for subject in ("leo", "ana"):
        front, side = PAIRS[subject]
        shutil.copy(sample(front), folder / f"{subject}_front.jpg")
        shutil.copy(sample(side), folder / f"{subject}_side.jpg")
    (folder / "broken_front.jpg").write_bytes(b"not a photo at all" * 10)
    return folder


@pytest.mark.parametrize("backend, workers", [
    ("sqlite", "1"), ("sqlite", "2"), pytest.param("postgresql", "2", marks=pytest.mark.postgres),
])
def test_batch_save_files_one_visit_per_subject_and_no_error_rows(
        backend, workers, batch_folder, tmp_path, capsys):
    db = database_url(backend, tmp_path)
    out = tmp_path / "all.csv"
    args = ["batch", str(batch_folder), "--out", str(out), "--passes", "1", "--workers",
            workers, "--no-progress", "--save", "--visit-date", "2026-02-01", "--notes",
            "screening day", "--height-cm", "170", "--db", db]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "3 subjects" in printed and "1 failed" in printed
    assert "Filed 2 visit(s) dated 2026-02-01" in printed

    store = open_store(db)
    try:
        assert sorted(p.subject for p in list_patients(store)) == ["ana", "leo"]
        # Their _side photos filed by the way each faces: ana's right side, leo's left.
        for subject, side in (("ana", "right"), ("leo", "left")):
            (visit,) = list_visits(store, subject)
            assert (visit.visit_date, visit.notes, visit.height_cm, visit.slots) == (
                date(2026, 2, 1), "screening day", 170.0, ("front", side))
            with open(out, encoding="utf-8") as f:
                written = [r for r in csv.DictReader(f) if r["subject"] == subject]
            assert [number(r["value"]) for r in visit_rows(store, visit.visit_id)] == [
                number(r["value"]) for r in written]
    finally:
        store.close()

    # The same batch again (resumed, or from the start): nothing is filed twice.
    assert main([*args, "--resume"]) == 0
    assert main(args) == 0
    store = open_store(db)
    try:
        assert [p.visits for p in list_patients(store)] == [1, 1]
    finally:
        store.close()


def test_a_failed_save_stops_the_batch_and_resume_files_the_rest(
        batch_folder, tmp_path, capsys, monkeypatch):
    import posture.store
    from posture.store import StoreError

    db = f"sqlite:///{tmp_path / 'r.db'}"
    out = tmp_path / "all.csv"
    args = ["batch", str(batch_folder), "--out", str(out), "--passes", "1", "--workers", "1",
            "--no-progress", "--save", "--db", db]
    real_save = posture.store.save_visit

    def refuse_leo(store, subject, *a, **k):
        if subject == "leo":
            raise StoreError("the records database refused the change, nothing was saved: "
                             "disk I/O error")
        return real_save(store, subject, *a, **k)

    monkeypatch.setattr(posture.store, "save_visit", refuse_leo)
    assert main(args) == 2
    err = one_line_error(capsys)
    assert "disk I/O error" in err
    with open(out, encoding="utf-8") as f:
        subjects = {r["subject"] for r in csv.DictReader(f)}
    assert "leo" not in subjects   # not filed, so not written: --resume redoes it

    monkeypatch.setattr(posture.store, "save_visit", real_save)
    assert main([*args, "--resume"]) == 0
    store = open_store(db)
    try:
        assert sorted((p.subject, p.visits) for p in list_patients(store)) == [
            ("ana", 1), ("leo", 1)]
    finally:
        store.close()
