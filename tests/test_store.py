"""The records store, against SQLite and a real PostgreSQL server (tests/postgres.py).

Every test runs on both backends; no mock stands in for a database.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import pickle
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from posture.errors import InputError, PostureError
from posture.export import assessment_json
from posture.store import (
    HISTORY_COLUMNS,
    NotFoundError,
    StoreError,
    add_analysis,
    delete_patient,
    delete_visit,
    history_csv,
    history_rows,
    list_analyses,
    list_patients,
    list_visits,
    load_analysis_json,
    load_visit,
    open_store,
    reanalyse_visit,
    save_visit,
    visit_photos,
)
from posture.store.db import alembic_config, database_url, default_url
from posture.store.models import Base, Patient, Visit
from tests.postgres import HEIGHT_CM, leo_visit
from tests.postgres import database_url as empty_database

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def db_url(backend, tmp_path) -> str:
    return empty_database(backend, tmp_path)


@pytest.fixture
def store(db_url):
    s = open_store(db_url)
    yield s
    s.close()


@pytest.fixture(scope="session")
def first():
    return leo_visit("first")


@pytest.fixture(scope="session")
def second():
    return leo_visit("second")


def save(store, sample, subject="leo", **kw) -> int:
    return save_visit(store, subject, sample.assessment, sample.photos,
                      filenames=sample.filenames, annotated=sample.annotated, **kw)


def snapshot(store) -> dict[str, list[tuple]]:
    """Every row of every table, in id order: "the database exactly as it was"."""
    with store.engine.connect() as conn:
        return {t.name: [tuple(r) for r in conn.execute(select(t).order_by(t.c.id))]
                for t in Base.metadata.sorted_tables}


# --- schema ------------------------------------------------------------------------------------


def test_migrations_from_empty_match_the_models(store):
    """Like `alembic check`: autogenerate finds nothing to add, drop or alter."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with store.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                Base.metadata)
    assert diff == []


def test_opening_again_is_a_no_op_and_keeps_the_records(db_url, first):
    with_one = open_store(db_url)
    save(with_one, first)
    before = snapshot(with_one)
    with_one.close()
    reopened = open_store(db_url)
    assert snapshot(reopened) == before
    reopened.close()


def test_sqlite_enforces_foreign_keys_and_uses_wal(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'r.db'}")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    with pytest.raises(IntegrityError, match="FOREIGN KEY"), store.transaction() as session:
        session.add(Visit(patient_id=999, visit_date=date(2025, 1, 1), notes="",
                          created_at="now"))
    store.close()


# --- saving and reading back --------------------------------------------------------------------


def test_round_trip_of_an_analysed_pair(store, first):
    a = first.assessment
    visit_id = save(store, first, visit_date=date(2025, 3, 1), notes="after a fall",
                    patient_name="Léo Ünal")
    record = load_visit(store, visit_id)

    expected = [{**row, "visit_date": "2025-03-01", "visit_id": visit_id} for row in a.rows()]
    assert [dict(r) for r in record.rows] == expected          # every column, value for value
    assert list(record.rows[0]) == list(HISTORY_COLUMNS)
    assert record.images == first.annotated
    assert record.findings == tuple(f.message for f in a.all_findings())
    assert (record.subject, record.patient_name, record.height_cm, record.notes) == (
        "leo", "Léo Ünal", HEIGHT_CM, "after a fall")
    assert record.posture_version == a.posture_version and record.analysed_at == a.analysed_at
    assert load_analysis_json(store, visit_id) == assessment_json(a)   # landmarks and all
    photos = visit_photos(store, visit_id)
    assert {slot: data for slot, (_name, data) in photos.items()} == first.photos
    assert photos["front"][0] == "leo_test.jpeg"

    [summary] = list_visits(store, "leo")
    assert (summary.visit_id, summary.visit_date, summary.slots, summary.analyses) == (
        visit_id, date(2025, 3, 1), ("front", "right"), 1)     # leo's right side, given as "side"
    [patient] = list_patients(store)
    assert (patient.subject, patient.name, patient.visits, patient.last_visit) == (
        "leo", "Léo Ünal", 1, date(2025, 3, 1))


def test_photo_checksums_are_stored(store, first):
    import hashlib

    visit_id = save(store, first)
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT slot, sha256, data FROM photos WHERE visit_id = :v"),
                            {"v": visit_id}).all()
    assert {slot: (sha, hashlib.sha256(bytes(data)).hexdigest()) for slot, sha, data in rows} \
        == {slot: (hashlib.sha256(d).hexdigest(),) * 2 for slot, d in first.photos.items()}


def test_history_is_oldest_visit_first_with_latest_analysis(store, first, second):
    late = save(store, second, visit_date=date(2025, 6, 1))
    early = save(store, first, visit_date=date(2025, 1, 1))
    rows = history_rows(store, "leo")
    assert [r["visit_id"] for r in rows] == [early] * len(first.assessment.rows()) + \
        [late] * len(second.assessment.rows())
    assert [v.visit_id for v in list_visits(store, "leo")] == [early, late]


@pytest.mark.parametrize("failing_step", ["patient", "visit", "photos", "analysis"])
def test_a_save_failing_halfway_leaves_the_database_exactly_as_it_was(store, first, second,
                                                                      failing_step):
    save(store, first, visit_date=date(2025, 1, 1))                # saved before: kept
    before = snapshot(store)

    def fail(step):
        if step == failing_step:
            raise RuntimeError(f"power cut after {step}")

    with pytest.raises(RuntimeError, match="power cut"):
        save(store, second, on_step=fail)
    with pytest.raises(RuntimeError, match="power cut"):            # a new patient too
        save(store, second, subject="new patient", on_step=fail)
    assert snapshot(store) == before


def test_a_row_violating_a_constraint_rolls_the_whole_visit_back(store, first):
    save(store, first)
    before = snapshot(store)
    # The front's metrics in the right side's place: they repeat, breaking unique (analysis_id,
    # slot, metric) at the last step, after the patient, visit and photos rows were written.
    doubled = dataclasses.replace(first.assessment, right=dataclasses.replace(
        first.assessment.front, slot="right"))
    with pytest.raises(StoreError, match="nothing was saved"):
        save_visit(store, "leo", doubled, first.photos, annotated=first.annotated)
    assert snapshot(store) == before


CRASH_SCRIPT = """
import os, pickle, sys
from posture.store import open_store, save_visit
url, pickled = sys.argv[1], sys.argv[2]
with open(pickled, "rb") as f:
    assessment, photos, annotated = pickle.load(f)
store = open_store(url)
def crash(step):
    if step == "photos":
        os._exit(3)          # the process dies mid-transaction: no rollback, no cleanup
save_visit(store, "leo", assessment, photos, annotated=annotated, on_step=crash)
"""


def test_a_crash_mid_save_loses_nothing_saved_before(store, db_url, first, tmp_path):
    save(store, first)
    before = snapshot(store)
    pickled = tmp_path / "visit.pickle"
    pickled.write_bytes(pickle.dumps((first.assessment, first.photos, first.annotated)))
    done = subprocess.run([sys.executable, "-c", CRASH_SCRIPT, db_url, str(pickled)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stderr
    assert snapshot(store) == before
    save(store, first)                                           # and the store still works
    assert len(list_visits(store, "leo")) == 2


def test_save_refuses_bad_input(store, first):
    with pytest.raises(InputError, match="patient ID"):
        save(store, first, subject="  ")
    with pytest.raises(InputError, match="photos"):
        save_visit(store, "leo", first.assessment, {"top": b"x"})
    with pytest.raises(InputError, match=r"1 photo\(s\) given \(front\) but 2 analysed "
                                         r"\(front, right\)"):
        save_visit(store, "leo", first.assessment, {"front": first.photos["front"]})
    # A photo in a slot the analysis did not have: not stored under a slot it does not show.
    with pytest.raises(InputError, match=r"given \(front, back\) but 2 analysed"):
        save_visit(store, "leo", first.assessment, {"front": first.photos["front"],
                                                     "back": first.photos["right"]})
    assert snapshot(store)["patients"] == []


def test_saves_from_several_sessions_at_once_all_land(store, first):
    """Browser tabs or workstations saving together, for one new patient: nothing is lost."""
    from concurrent.futures import ThreadPoolExecutor

    def one(i: int) -> int:
        return save(store, first, subject="busy", notes=f"tab {i}")

    with ThreadPoolExecutor(max_workers=6) as pool:
        ids = list(pool.map(one, range(6)))
    visits = list_visits(store, "busy")
    assert sorted(v.visit_id for v in visits) == sorted(ids)
    assert sorted(v.notes for v in visits) == [f"tab {i}" for i in range(6)]
    assert [p.subject for p in list_patients(store)] == ["busy"]


# --- re-analysis --------------------------------------------------------------------------------


def test_a_newer_analysis_keeps_the_old_numbers(store, first):
    visit_id = save(store, first)
    old = load_visit(store, visit_id)
    newer = dataclasses.replace(first.assessment, posture_version="9.0.0",
                                analysed_at="2099-01-01T00:00:00+00:00")
    new_id = add_analysis(store, visit_id, newer, annotated=first.annotated)

    assert [a.posture_version for a in list_analyses(store, visit_id)] == ["0.1.0", "9.0.0"]
    assert load_visit(store, visit_id).analysis_id == new_id          # latest by default
    assert load_visit(store, visit_id).rows[0]["posture_version"] == "9.0.0"
    assert load_visit(store, visit_id, old.analysis_id).rows == old.rows
    assert list_visits(store, "leo")[0].posture_version == "9.0.0"


def test_reanalysing_keeps_the_visits_analysis_options(store, first):
    from posture import AnalysisOptions, analyze

    level = AnalysisOptions(passes=2, height_cm=HEIGHT_CM, correct_camera_roll=True)
    levelled = analyze(first.photos["front"], None, level)
    visit_id = save_visit(store, "leo", levelled, {"front": first.photos["front"]})
    reanalyse_visit(store, visit_id)
    options = load_analysis_json(store, visit_id)["options"]
    assert options == {"passes": 2, "height_cm": HEIGHT_CM, "correct_camera_roll": True}
    assert len(list_analyses(store, visit_id)) == 2


def test_reanalysing_a_stored_visit_reads_the_stored_photos(store, first):
    from posture import AnalysisOptions

    visit_id = save(store, first)
    new_id = reanalyse_visit(store, visit_id, AnalysisOptions(passes=2, height_cm=HEIGHT_CM))
    record = load_visit(store, visit_id)
    assert record.analysis_id == new_id and len(list_analyses(store, visit_id)) == 2
    assert {r["image"] for r in record.rows} == {"leo_test.jpeg", "leo_test_right.jpg"}
    assert {r["passes"] for r in record.rows} == {2}
    assert {r["unit"] for r in record.rows if r["metric"] == "plumb_ear"} == {"cm"}


def test_reanalysing_carries_over_the_clinicians_edits(store, first):
    from posture.camera import roll_from_points
    from posture.landmarks.vocabulary import Landmark

    ear = first.assessment.front.landmarks.xy[Landmark.LEFT_EAR] + (4.0, -3.0)
    edited = (first.assessment.with_landmark_moved("front", Landmark.LEFT_EAR, *ear)
              .with_camera_roll("side", roll_from_points((210.0, 80.0), (190.0, 900.0))))
    visit_id = save(store, dataclasses.replace(first, assessment=edited))
    reanalyse_visit(store, visit_id)

    old, new = (load_analysis_json(store, visit_id, a.analysis_id)
                for a in list_analyses(store, visit_id))

    def manual(result, slot):
        return {lm["name"]: (lm["x"], lm["y"]) for lm in result["photos"][slot]["landmarks"]
                if lm["manual"]}

    assert manual(new, 0) == manual(old, 0) == {"left_ear": tuple(round(v, 2) for v in ear)}
    assert manual(new, 1) == {}
    assert new["photos"][1]["camera_roll"] == old["photos"][1]["camera_roll"]
    assert new["photos"][1]["camera_roll"]["method"] == "manual"
    # Same photos, same version: the edited numbers come back exactly, still marked.
    def strip(rows):
        return [{k: v for k, v in r.items() if k != "analysed_at"} for r in rows]

    assert strip(new["metrics"]) == strip(old["metrics"])
    head = next(r for r in new["metrics"] if r["metric"] == "head_tilt")
    assert head["manual"] is True


def test_a_marked_vertical_stored_without_its_points_keeps_its_angle(store, first):
    from posture.store.repository import _with_manual_edits

    stored = {"photos": [{"slot": "side", "landmarks": [], "camera_roll": {
        "degrees": 1.5, "method": "manual", "reason": "marked", "points": None}}]}
    carried = _with_manual_edits(first.assessment, stored)
    assert carried.side.roll.degrees == 1.5 and carried.side.roll_applied == 1.5
    assert carried.side.roll.method == "manual" and carried.side.roll.points is None


# --- deleting -----------------------------------------------------------------------------------


def _count(store, table: str, where: str = "", **params) -> int:
    with store.engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table} {where}"), params).scalar()


def test_deleting_a_visit_removes_its_photos_and_analyses_only(store, first, second):
    gone = save(store, first)
    kept = save(store, second)
    add_analysis(store, gone, first.assessment, annotated=first.annotated)
    delete_visit(store, gone)
    assert [v.visit_id for v in list_visits(store, "leo")] == [kept]
    assert _count(store, "photos") == 2 and _count(store, "analyses") == 1
    assert _count(store, "measurements") == len(second.assessment.rows())
    assert _count(store, "annotated_images") == 2
    with pytest.raises(NotFoundError, match=f"no visit {gone}"):
        delete_visit(store, gone)


def test_deleting_a_patient_removes_everything_of_theirs(store, first, second):
    save(store, first)
    save(store, second)
    save(store, first, subject="other")
    assert delete_patient(store, "leo") == 2
    assert [p.subject for p in list_patients(store)] == ["other"]
    assert _count(store, "visits") == 1 and _count(store, "analyses") == 1
    with pytest.raises(NotFoundError, match="no patient 'leo'"):
        list_visits(store, "leo")


def test_the_database_cascades_deletes_itself(store, first):
    """ON DELETE CASCADE holds without the ORM (e.g. a clinic's own SQL clean-up)."""
    save(store, first)
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM patients"))
    # The audit log and the accounts hold no foreign key to a patient: they stay (test_auth).
    kept = {"audit_log", "users", "user_sessions", "sign_in_attempts"}
    assert {t: len(rows) for t, rows in snapshot(store).items() if t not in kept} == dict.fromkeys(
        (t.name for t in Base.metadata.sorted_tables if t.name not in kept), 0)


# --- exports ------------------------------------------------------------------------------------


def test_history_csv_neutralises_formulas_and_keeps_numbers(store, first):
    subject = '=HYPERLINK("x")'
    save(store, first, subject=subject, patient_name="@evil", visit_date=date(2025, 2, 3))
    text_ = history_csv(store, subject)
    rows = list(csv.DictReader(io.StringIO(text_)))
    assert tuple(rows[0]) == HISTORY_COLUMNS
    assert {r["subject"] for r in rows} == {"'=HYPERLINK(\"x\")"}
    assert {r["visit_date"] for r in rows} == {"2025-02-03"}
    # Numbers stay numbers: no apostrophe, parse as floats, negative ones keep their sign.
    values = [r["value"] for r in rows if r["value"]]
    assert all(float(v) == pytest.approx(float(v)) and not v.startswith("'") for v in values)
    negative = [r for r in rows if r["value"].startswith("-")]
    assert negative, "the sample has negative values; they must stay numbers"
    expected = {r["metric"]: r["value"] for r in first.assessment.rows()}
    assert {r["metric"]: float(r["value"]) for r in rows if r["value"]} == {
        k: v for k, v in expected.items() if v is not None}
    assert not any(line.startswith(("=", "+", "@")) for line in text_.splitlines())


def test_cli_history_prints_and_writes_the_csv(db_url, first, tmp_path, capsys):
    from posture.cli import main

    store = open_store(db_url)
    save(store, first, subject='=HYPERLINK("x")', visit_date=date(2025, 2, 3))
    store.close()
    out_csv = tmp_path / "history.csv"
    assert main(["history", '=HYPERLINK("x")', "--db", db_url, "--csv", str(out_csv)]) == 0
    printed = capsys.readouterr().out
    assert "2025-02-03" in printed and "Forward-head angle" in printed
    rows = list(csv.DictReader(out_csv.open(encoding="utf-8")))
    assert rows[0]["subject"] == "'=HYPERLINK(\"x\")"

    assert main(["history", "nobody\nhere", "--db", db_url]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no patient 'nobody here'" in err


# --- opening ------------------------------------------------------------------------------------


def test_database_url_defaults_to_sqlite_in_the_user_data_folder(monkeypatch):
    import platformdirs

    monkeypatch.delenv("POSTURE_DATABASE_URL", raising=False)
    assert database_url() == default_url()
    assert default_url().startswith("sqlite:///")
    assert default_url().endswith(os.path.join(
        platformdirs.user_data_dir("posture", appauthor=False), "posture.db"))
    monkeypatch.setenv("POSTURE_DATABASE_URL", "postgresql://u:secret@db.clinic/posture")
    assert database_url() == "postgresql+psycopg://u:secret@db.clinic/posture"
    assert database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_unreachable_or_malformed_databases_give_one_line_errors(tmp_path):
    with pytest.raises(StoreError, match="not a database URL"):
        open_store("nonsense")
    with pytest.raises(StoreError, match=r"cannot open the records database "
                                         r"postgresql\+psycopg://u:\*\*\*@") as caught:
        open_store(f"postgresql://u:secret@/x?host={tmp_path}&port=1")
    assert "\n" not in str(caught.value) and "secret" not in str(caught.value)
    assert isinstance(caught.value, PostureError)


def test_a_schema_newer_than_this_version_is_refused(db_url):
    store = open_store(db_url)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'from_the_future'"))
    store.close()
    with pytest.raises(StoreError, match="update posture on this workstation"):
        open_store(db_url)


def test_patient_ids_are_unique(store):
    with pytest.raises(IntegrityError), store.transaction() as session:
        session.add_all([Patient(subject="p", name="", notes="", created_at="t"),
                         Patient(subject="p", name="", notes="", created_at="t")])
    assert list_patients(store) == []
