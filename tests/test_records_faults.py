"""Records under faults: a server that never answers, a file locked or damaged, text a backend
would refuse, backups taken while another process saves. SQLite and a real PostgreSQL
(tests/postgres.py); no mock stands in for a database.
"""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from posture.errors import InputError
from posture.store import (
    NotFoundError,
    StoreError,
    get_patient,
    list_patients,
    list_visits,
    load_visit,
    open_store,
    save_visit,
    update_patient,
    visit_photos,
)
from posture.store import db as store_db
from posture.store.validation import MAX_FILENAME, MAX_NAME, MAX_NOTES, MAX_SUBJECT
from tests.postgres import database_url as empty_database
from tests.postgres import leo_visit

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


@pytest.fixture(scope="module")
def first():
    return leo_visit("first")


def save(store, sample, subject="leo", **kw) -> int:
    kw.setdefault("filenames", sample.filenames)
    return save_visit(store, subject, sample.assessment, sample.photos,
                      annotated=sample.annotated, **kw)


# --- a server that never answers ---------------------------------------------------------------


@contextmanager
def silent_server():
    """A loopback TCP port that accepts connections and never says a word (a hung database
    server). Yields the port; closed on exit, so nothing outlives the test."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    accepted, stop = [], threading.Event()

    def accept():
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        for conn in accepted:
            conn.close()
        listener.close()


def test_history_against_a_hung_server_exits_2_within_seconds():
    with silent_server() as port:
        url = f"postgresql://clinic:secret@127.0.0.1:{port}/posture"
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "posture.cli", "history", "P-1", "--db", url],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
        elapsed = time.monotonic() - started
    assert done.returncode == 2, done.stderr
    assert elapsed < store_db.CONNECT_TIMEOUT_S + 10
    assert done.stderr.count("\n") == 1, done.stderr
    assert f"127.0.0.1:{port}/posture did not answer within" in done.stderr
    assert "secret" not in done.stderr and "Traceback" not in done.stderr


def test_a_hung_server_is_given_up_on_when_opening(monkeypatch):
    monkeypatch.setattr(store_db, "CONNECT_TIMEOUT_S", 2)
    with silent_server() as port:
        started = time.monotonic()
        with pytest.raises(StoreError, match="did not answer within 2 s") as caught:
            open_store(f"postgresql://clinic:secret@127.0.0.1:{port}/posture")
        assert time.monotonic() - started < 10
    assert "secret" not in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.postgres
def test_a_blocked_statement_is_cancelled_with_a_clear_message(tmp_path, monkeypatch):
    """The server answers but the table is locked (another client's long transaction): the
    server's statement timeout ends the wait."""
    monkeypatch.setattr(store_db, "STATEMENT_TIMEOUT_S", 1)
    url = empty_database("postgresql", tmp_path)
    store = open_store(url)
    blocker = open_store(url)
    try:
        with blocker.engine.connect() as conn:
            conn.execute(text("SET statement_timeout = 0"))
            conn.execute(text("BEGIN"))
            conn.execute(text("LOCK TABLE patients IN ACCESS EXCLUSIVE MODE"))
            started = time.monotonic()
            with pytest.raises(StoreError, match="longer than 1 s to answer"):
                list_patients(store)
            assert time.monotonic() - started < 10
            conn.execute(text("ROLLBACK"))
        assert list_patients(store) == []
    finally:
        blocker.close()
        store.close()


def test_a_sqlite_file_locked_by_another_program_is_waited_for_then_named(tmp_path, first,
                                                                          monkeypatch):
    monkeypatch.setattr(store_db, "SQLITE_BUSY_S", 1)
    path = tmp_path / "records.db"
    store = open_store(f"sqlite:///{path}")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")          # another program holds the write lock
    try:
        started = time.monotonic()
        with pytest.raises(StoreError, match=r"records file .*records\.db is locked by another "
                                             r"program \(waited 1 s\)"):
            save(store, first)
        assert time.monotonic() - started < 10
    finally:
        other.execute("ROLLBACK")
        other.close()
    save(store, first)                        # the lock gone, the save goes through
    assert [p.subject for p in list_patients(store)] == ["leo"]
    store.close()


def test_timeouts_in_the_url_win(monkeypatch):
    from sqlalchemy.engine import make_url

    args = store_db._server_args(make_url(
        "postgresql+psycopg://u@h/db?connect_timeout=20&options=-c%20statement_timeout%3D0"))
    assert "connect_timeout" not in args and "options" not in args
    args = store_db._server_args(make_url("postgresql+psycopg://u@h/db"))
    assert args["connect_timeout"] == store_db.CONNECT_TIMEOUT_S
    assert args["options"] == f"-c statement_timeout={store_db.STATEMENT_TIMEOUT_S * 1000}"


# --- one set of rules for what the records accept ------------------------------------------------


def snapshot(store) -> dict[str, list[tuple]]:
    from sqlalchemy import select

    from posture.store.models import Base

    with store.engine.connect() as conn:
        return {t.name: [tuple(r) for r in conn.execute(select(t).order_by(t.c.id))]
                for t in Base.metadata.sorted_tables}


REFUSED = [
    ({"subject": "P\x00-1"}, "patient ID is one line"),
    ({"subject": "P" * 101}, "at most 100 characters"),
    ({"patient_name": "Ann\x00e"}, r"control character \(U\+0000\)"),
    ({"patient_name": "A" * 201}, "at most 200 characters"),
    ({"patient_name": "Ann\ne"}, r"one line of text.*U\+000A"),
    ({"notes": "fell\x00"}, r"visit notes hold a control character \(U\+0000\)"),
    ({"notes": "x" * (MAX_NOTES + 1)}, "visit notes have at most 10,000 characters"),
    ({"notes": "bad \udcff byte"}, "not valid text"),
]


@pytest.mark.parametrize(("fields", "message"), REFUSED, ids=[m for _f, m in REFUSED])
def test_text_is_refused_alike_on_every_backend(store, first, fields, message):
    """NUL bytes and over-long names used to save on SQLite and fail on PostgreSQL."""
    save(store, first)
    before = snapshot(store)
    kwargs = {"subject": "leo", **fields}
    with pytest.raises(InputError, match=message) as caught:
        save(store, first, **kwargs)
    assert "\n" not in str(caught.value)
    assert snapshot(store) == before


def test_patient_updates_follow_the_same_rules(store, first):
    save(store, first)
    with pytest.raises(InputError, match="patient notes hold a control character"):
        update_patient(store, "leo", notes="a\x00b")
    with pytest.raises(InputError, match="at most 200"):
        update_patient(store, "leo", name="x" * 300)
    assert get_patient(store, "leo").notes == ""


def test_text_at_the_limits_round_trips_on_every_backend(store, first):
    name = "Ž" * MAX_NAME
    notes = ("Línea uno\tcon tab\r\nДругая строка 🙂\n" * 400)[:MAX_NOTES]
    subject = "P-" + "9" * (MAX_SUBJECT - 2)
    visit_id = save(store, first, subject=subject, patient_name=name, notes=notes,
                    filenames={"front": "front\x00\udcff.jpg", "side": "s" * 300 + ".jpg"})
    record = load_visit(store, visit_id)
    assert (record.subject, record.patient_name, record.notes) == (subject, name, notes)
    update_patient(store, subject, notes=notes)
    assert get_patient(store, subject).notes == notes
    photos = visit_photos(store, visit_id)
    assert photos["front"][0] == "front??.jpg"
    assert len(photos["side"][0]) == MAX_FILENAME and photos["side"][0].endswith("s.jpg")


def test_looking_up_text_no_patient_id_can_be_finds_no_one(store, first):
    save(store, first)
    for subject in ("leo\x00", "x" * 500, "\udcff"):
        with pytest.raises(NotFoundError, match="no patient"):
            list_visits(store, subject)
