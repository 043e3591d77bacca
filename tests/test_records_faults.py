"""Records under faults: a server that never answers, a file locked or damaged, text a backend
would refuse, backups taken while another process saves. SQLite and a real PostgreSQL
(tests/postgres.py); no mock stands in for a database.
"""

from __future__ import annotations

import dataclasses
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text

from posture.errors import InputError
from posture.store import (
    DamagedError,
    NotFoundError,
    StoreError,
    get_patient,
    list_patients,
    list_visits,
    load_visit,
    open_store,
    reanalyse_visit,
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


def _history_cli(url: str) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "posture.cli", "history", "P-1", "--db", url],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    return done, time.monotonic() - started


def test_history_against_a_hung_server_exits_2_within_seconds(tmp_path):
    # The same command failing at once (no such server socket): start-up time on this
    # machine, however loaded, so the bound below is the wait for the server alone.
    baseline, start_up = _history_cli(f"postgresql://u@/x?host={tmp_path}&port=1")
    assert baseline.returncode == 2, baseline.stderr
    with silent_server() as port:
        done, elapsed = _history_cli(f"postgresql://clinic:secret@127.0.0.1:{port}/posture")
    assert done.returncode == 2, done.stderr
    assert elapsed - start_up < store_db.CONNECT_TIMEOUT_S + 5
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


class FreezingProxy:
    """A loopback TCP port forwarding to the test PostgreSQL server's socket, until `freeze()`:
    then it holds every byte, answering nothing, while the connections stay open (a server
    that stopped mid-session, its machine still acknowledging packets)."""

    def __init__(self, unix_path: str) -> None:
        self.unix_path = unix_path
        self.frozen = threading.Event()
        self.stop = threading.Event()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                client = self.listener.accept()[0]
            except TimeoutError:
                continue
            except OSError:
                return
            server = socket.socket(socket.AF_UNIX)
            server.connect(self.unix_path)
            self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                t = threading.Thread(target=self._pipe, args=(a, b), daemon=True)
                t.start()
                self.threads.append(t)

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        source.settimeout(0.2)
        while not self.stop.is_set():
            try:
                data = source.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            while self.frozen.is_set() and not self.stop.is_set():
                time.sleep(0.05)                  # hold it: the server "stopped"
            try:
                sink.sendall(data)
            except OSError:
                return

    def freeze(self) -> None:
        self.frozen.set()

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(5)
        for sock in [*self.sockets, self.listener]:
            sock.close()


@pytest.mark.postgres
def test_a_server_that_stops_mid_session_is_given_up_on(tmp_path, first, monkeypatch):
    """The app keeps its store open for hours: the server stops answering after the pool's
    connections were made. The pool's check and each statement have a client-side bound."""
    from tests.postgres import PORT, shared_server

    monkeypatch.setattr(store_db, "STATEMENT_TIMEOUT_S", 1)
    monkeypatch.setattr(store_db, "WATCHDOG_GRACE_S", 1)
    monkeypatch.setattr(store_db, "CONNECT_TIMEOUT_S", 2)
    server = shared_server()
    database = empty_database("postgresql", tmp_path).split("?")[0].rsplit("/", 1)[1]
    proxy = FreezingProxy(str(server.root / f".s.PGSQL.{PORT}"))
    try:
        store = open_store(f"postgresql://postgres:secret@127.0.0.1:{proxy.port}/{database}")
        save(store, first)
        assert [p.subject for p in list_patients(store)] == ["leo"]
        proxy.freeze()
        started = time.monotonic()
        with pytest.raises(StoreError, match=rf"127\.0\.0\.1:{proxy.port}/{database} "
                                             r"(did not answer|stopped answering)") as caught:
            list_patients(store)
        assert time.monotonic() - started < 30
        assert "secret" not in str(caught.value) and "\n" not in str(caught.value)
        store.close()
    finally:
        proxy.close()


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
    assert len(photos["right"][0]) == MAX_FILENAME and photos["right"][0].endswith("s.jpg")


def test_an_uploaded_file_name_no_backend_accepts_is_stored_cleaned(store, first):
    from posture import AnalysisOptions, analyze

    name = "front\x00" + "é" * 300 + ".jpg"          # a browser may send any name
    assessment = analyze(first.photos["front"], None, AnalysisOptions(passes=1),
                         front_name=name)
    visit_id = save_visit(store, "leo", assessment, {"front": first.photos["front"]},
                          filenames={"front": name})
    images = {r["image"] for r in load_visit(store, visit_id).rows}
    assert images == {visit_photos(store, visit_id)["front"][0]}
    assert len(images.pop()) == MAX_FILENAME


def test_looking_up_text_no_patient_id_can_be_finds_no_one(store, first):
    save(store, first)
    for subject in ("leo\x00", "x" * 500, "\udcff"):
        with pytest.raises(NotFoundError, match="no patient"):
            list_visits(store, subject)


# --- a damaged file, a damaged photo -------------------------------------------------------------


def _sqlite_store_with_two_visits(tmp_path, first) -> tuple[Path, list[int]]:
    path = tmp_path / "records.db"
    store = open_store(f"sqlite:///{path}")
    ids = [save(store, first, visit_date=date(2025, 1, 1)), save(store, first, subject="ann")]
    store.close()                         # the last connection checkpoints the WAL into the file
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    return path, ids


def _damage_table_root(path: Path, table: str) -> None:
    """Overwrite the header of a table's root page: what a bad disk sector or a copy cut
    short does to a b-tree."""
    conn = sqlite3.connect(path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?",
                        (table,)).fetchone()[0]
    conn.close()
    with path.open("r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(b"\xff" * 16)


def test_a_damaged_sqlite_file_is_refused_on_opening_and_left_untouched(tmp_path, first):
    path, _ids = _sqlite_store_with_two_visits(tmp_path, first)
    _damage_table_root(path, "measurements")
    damaged = path.read_bytes()
    with pytest.raises(DamagedError, match=r"records file .*records\.db is damaged \(SQLite's "
                                           r"check: .*restore the latest backup") as caught:
        open_store(f"sqlite:///{path}")
    assert "\n" not in str(caught.value)
    assert path.read_bytes() == damaged                  # nothing was written into it
    done = subprocess.run([sys.executable, "-m", "posture.cli", "history", "leo", "--db",
                           f"sqlite:///{path}"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "is damaged" in done.stderr and "Traceback" not in done.stderr


def test_damage_found_after_opening_names_the_visit_not_a_refused_save(tmp_path, first,
                                                                       monkeypatch):
    """A store opened before the damage (the app keeps one open for hours)."""
    path, ids = _sqlite_store_with_two_visits(tmp_path, first)
    _damage_table_root(path, "measurements")
    monkeypatch.setattr(store_db, "check_sqlite_file", lambda engine: None)
    store = open_store(f"sqlite:///{path}", migrate_schema=False)
    with pytest.raises(DamagedError, match=rf"^visit {ids[0]} cannot be read: the records file "
                                           r".* is damaged \(database disk image is "
                                           r"malformed\)") as caught:
        load_visit(store, ids[0])
    assert "nothing was saved" not in str(caught.value)
    with pytest.raises(DamagedError, match="is damaged"):
        save(store, first)
    store.close()


def _flip_photo_bytes_in_file(path: Path, photo: bytes) -> None:
    """Change 32 bytes in the middle of a photo where it lies in the file: the file's
    structure stays sound (quick_check passes), only the photo's content changes."""
    data = path.read_bytes()
    needle = photo[len(photo) // 2: len(photo) // 2 + 64]
    at = data.find(needle)
    assert at > 0 and data.find(needle, at + 1) < 0
    with path.open("r+b") as f:
        f.seek(at + 16)
        f.write(bytes(b ^ 0x5A for b in needle[16:48]))


def test_a_damaged_photo_is_named_when_read(tmp_path, first):
    path = tmp_path / "records.db"
    store = open_store(f"sqlite:///{path}")
    other = leo_visit("second")                          # other photos: not hit
    kept = save(store, other, subject="ann")
    hit = save(store, first)
    store.close()
    _flip_photo_bytes_in_file(path, first.photos["front"])
    store = open_store(f"sqlite:///{path}")               # the file's structure is sound
    message = (rf"^the front photo \(leo_test\.jpeg\) of visit {hit} is damaged: its bytes no "
               r"longer match the checksum taken when it was saved")
    with pytest.raises(DamagedError, match=message):
        visit_photos(store, hit)
    with pytest.raises(DamagedError, match=message):
        reanalyse_visit(store, hit)
    assert load_visit(store, hit).rows                    # the measures are intact
    assert visit_photos(store, kept)["front"][1] == other.photos["front"]
    store.close()


def test_a_photo_changed_behind_the_records_back_is_caught_on_every_backend(store, first):
    visit_id = save(store, first)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE photos SET data = :d WHERE slot = 'right'"),
                     {"d": first.photos["right"][:-100]})       # a copy cut short
    with pytest.raises(DamagedError, match=rf"the right side photo \(leo_test_right\.jpg\) of "
                                           rf"visit "
                                           rf"{visit_id} is damaged"):
        visit_photos(store, visit_id)


def test_stored_findings_name_their_photo(store, first):
    from posture.landmarks.quality import Finding

    photo = dataclasses.replace(first.assessment.right, findings=(
        Finding("low_resolution", "low resolution"),))
    assessment = dataclasses.replace(first.assessment, right=photo)
    visit_id = save(store, dataclasses.replace(first, assessment=assessment))
    record = load_visit(store, visit_id)
    assert "Right side photo: low resolution" in record.findings
    assert record.findings == tuple(f.message for f in assessment.all_findings())


# --- backups -----------------------------------------------------------------------------------

SAVER_SCRIPT = """
import pickle, sys
from datetime import date
from pathlib import Path
from posture.store import open_store, save_visit
url, pickled, stop = sys.argv[1], sys.argv[2], Path(sys.argv[3])
with open(pickled, "rb") as f:
    assessment, photos, annotated = pickle.load(f)
store = open_store(url)
for i in range(40):
    if stop.exists():
        break
    visit_id = save_visit(store, f"P-{i % 3}", assessment, photos, annotated=annotated,
                          visit_date=date(2025, 1, 1 + i % 28), notes=f"save {i}")
    print(visit_id, flush=True)
store.close()
"""


def _records_content(store) -> dict:
    """Every visit with its patient, notes, rows and photo hashes: what a restore must give."""
    from posture.store import list_visits as visits_of
    from posture.store.backup import _counts_and_hashes

    out = {}
    for patient in list_patients(store):
        for v in visits_of(store, patient.subject):
            out[v.visit_id] = (patient.subject, v.visit_date, v.notes,
                               load_visit(store, v.visit_id).rows)
    with store.engine.connect() as conn:
        hashes = _counts_and_hashes(conn, "records").photo_hashes
    return {"visits": out, "photos": hashes}


@pytest.mark.parametrize("restore_into", ["same backend", "sqlite"])
def test_a_backup_taken_while_another_process_saves_restores_every_visit_and_photo(
        store, db_url, backend, first, tmp_path, restore_into):
    import pickle

    from posture.store.backup import backup, restore

    for i in range(2):
        save(store, first, subject="before", visit_date=date(2024, 12, 1 + i))
    pickled, stop = tmp_path / "visit.pickle", tmp_path / "stop"
    pickled.write_bytes(pickle.dumps((first.assessment, first.photos, first.annotated)))
    saver = subprocess.Popen([sys.executable, "-c", SAVER_SCRIPT, db_url, str(pickled),
                              str(stop)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert saver.stdout.readline().strip().isdigit()      # it is saving now
        summary = backup(store, tmp_path / "backup.db")
        saved_meanwhile = saver.stdout.readline().strip()     # and still saving after
    finally:
        stop.touch()
        saver.communicate(timeout=120)
    assert saver.returncode == 0
    assert saved_meanwhile.isdigit(), "the other process kept saving during the backup"
    assert summary.visits >= 3 and summary.photos == 2 * summary.visits

    target_url = (db_url.replace("records.db", "restored.db") if backend == "sqlite"
                  else empty_database(backend, tmp_path)) if restore_into == "same backend" \
        else f"sqlite:///{tmp_path / 'restored-sqlite.db'}"
    target = open_store(target_url)
    restored = restore(target, tmp_path / "backup.db")
    source, copy = _records_content(store), _records_content(target)
    # The backup is one moment of the records: whole visits, each as saved.
    assert set(copy["visits"]) <= set(source["visits"])
    assert len(copy["visits"]) == summary.visits == restored.visits
    for visit_id, content in copy["visits"].items():
        assert content == source["visits"][visit_id]
    assert copy["photos"] == {k: v for k, v in source["photos"].items()
                              if k[0] in copy["visits"]}
    assert copy["photos"] == restored.photo_hashes == summary.photo_hashes
    # The restored records keep working: new ids follow the restored ones.
    new_id = save(target, first, subject="after")
    assert new_id > max(copy["visits"])
    target.close()


def test_restore_refuses_records_that_are_not_empty_and_writes_nothing(store, first, tmp_path):
    from posture.store.backup import backup, restore

    save(store, first)
    backup(store, tmp_path / "b.db")
    before = snapshot(store)
    with pytest.raises(StoreError, match=r"are not empty \(1 patient\(s\)\): a backup is "
                                         r"restored into an empty database only"):
        restore(store, tmp_path / "b.db")
    assert snapshot(store) == before


def test_a_damaged_backup_is_refused_and_nothing_restored(tmp_path, first):
    from posture.store.backup import backup, restore

    source = open_store(f"sqlite:///{tmp_path / 'records.db'}")
    save(source, first)
    backup(source, tmp_path / "b.db")
    source.close()
    _flip_photo_bytes_in_file(tmp_path / "b.db", first.photos["right"])
    untouched = (tmp_path / "b.db").read_bytes()
    target = open_store(f"sqlite:///{tmp_path / 'new.db'}")
    with pytest.raises(DamagedError, match=r"the right side photo of visit 1 in the backup 'b.db' "
                                           r"is damaged"):
        restore(target, tmp_path / "b.db")
    assert list_patients(target) == []
    assert (tmp_path / "b.db").read_bytes() == untouched      # the backup is never changed
    target.close()
    not_a_backup = tmp_path / "photo.jpg"
    not_a_backup.write_bytes(first.photos["front"])
    done = subprocess.run([sys.executable, "-m", "posture.cli", "records", "restore",
                           str(not_a_backup), "--db", f"sqlite:///{tmp_path / 'x.db'}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "is not a posture backup (not a SQLite file)" in done.stderr


def test_cli_backup_and_restore(db_url, first, tmp_path, capsys):
    from posture.cli import main

    store = open_store(db_url)
    save(store, first)
    store.close()
    backup_file = tmp_path / "clinic backup #1 (2025-06-01)?.db"     # any file name
    assert main(["records", "backup", str(backup_file), "--db", db_url]) == 0
    out = capsys.readouterr().out
    assert "Backed up 1 patient(s), 1 visit(s), 2 photo(s)" in out
    assert "every photo matches its checksum" in out
    assert list(tmp_path.glob(".*partial")) == []
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert main(["records", "restore", str(backup_file), "--db", fresh]) == 0
    assert "Restored 1 patient(s), 1 visit(s), 2 photo(s)" in capsys.readouterr().out
    assert main(["records", "restore", str(backup_file), "--db", fresh]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not empty" in err
    assert main(["records", "backup", str(tmp_path / "no" / "b.db"), "--db", db_url]) == 2
    assert "create it first" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["records"])
    assert usage.value.code == 2
    assert capsys.readouterr().err == ("posture: the following arguments are required: "
                                       "backup|restore (see `posture records --help`)\n")


@pytest.fixture
def small_disk(tmp_path):
    """A real 1 MiB file system (tmpfs), where this test may mount one (root on Linux)."""
    import os

    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_backup_onto_a_full_disk_says_so_and_keeps_the_previous_file(small_disk, tmp_path,
                                                                      first, capsys):
    from posture.cli import main

    url = f"sqlite:///{tmp_path / 'records.db'}"
    target = small_disk / "posture.db"
    assert main(["records", "backup", str(target), "--db", url]) == 0     # empty: it fits
    previous = target.read_bytes()
    store = open_store(url)
    save(store, first)                                       # megabytes of photos now
    store.close()
    capsys.readouterr()
    assert main(["records", "backup", str(target), "--db", url]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"cannot write the backup '{target}'" in err and "full" in err
    assert target.read_bytes() == previous
    assert sorted(p.name for p in small_disk.iterdir()) == ["posture.db"]


KILL_SCRIPT = """
import sys
from posture.store import open_store
from posture.store.backup import backup, restore
action, url, path = sys.argv[1:]
store = open_store(url)
print("go", flush=True)
(backup if action == "backup" else restore)(store, path)
print("done", flush=True)
"""


@pytest.mark.parametrize("delay", [0.0, 0.15, 0.4])
def test_kill_9_during_backup_or_restore_leaves_whole_files_or_none(store, db_url, first,
                                                                   tmp_path, delay):
    """kill -9 at some moment of a backup, then of a restore: FILE is the previous backup or
    the new one, whole; the restored records are empty or complete, and a new restore works."""
    import os
    import signal

    from posture.store.backup import _check_file, backup, restore

    for i in range(3):
        save(store, first, subject=f"P-{i}")
    target_file = tmp_path / "backup.db"
    backup(store, target_file)
    previous = target_file.read_bytes()
    save(store, first, subject="P-3")

    def run_and_kill(action: str, url: str, path: Path) -> None:
        proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, action, url, str(path)],
                                cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "go"
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)

    run_and_kill("backup", db_url, target_file)
    after = target_file.read_bytes()
    summary = _check_file(target_file, "the backup")               # whole, whichever it is
    assert after == previous or summary.visits == 4

    fresh_url = f"sqlite:///{tmp_path / 'fresh.db'}"
    open_store(fresh_url).close()
    run_and_kill("restore", fresh_url, target_file)
    fresh = open_store(fresh_url)
    patients = list_patients(fresh)
    assert len(patients) in (0, summary.patients)
    if not patients:
        restore(fresh, target_file)
    assert len(list_patients(fresh)) == summary.patients
    fresh.close()


def test_reading_does_not_wait_for_another_programs_write_lock(tmp_path, first, monkeypatch):
    """WAL readers never block: `history` and the Records page read while another program
    holds the write lock; only saving waits (and then says so)."""
    monkeypatch.setattr(store_db, "SQLITE_BUSY_S", 1)
    path = tmp_path / "records.db"
    store = open_store(f"sqlite:///{path}")
    visit_id = save(store, first)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        # The lock is held throughout: a read that waited for it would fail as the save does.
        assert [p.subject for p in list_patients(store)] == ["leo"]
        assert load_visit(store, visit_id).rows
        with pytest.raises(StoreError, match="locked by another program"):
            save(store, first)
    finally:
        other.execute("ROLLBACK")
        other.close()
    store.close()


# --- the Records page shows these faults as one line, never a traceback ---------------------------


def _records_page():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "posture" / "app" / "records.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_records_page_names_a_hung_server_within_seconds(monkeypatch):
    with silent_server() as port:
        monkeypatch.setenv("POSTURE_DATABASE_URL",
                           f"postgresql://clinic:secret@127.0.0.1:{port}/posture")
        started = time.monotonic()
        at = _records_page()
        assert time.monotonic() - started < store_db.CONNECT_TIMEOUT_S + 20
    [error] = [e.value for e in at.error]
    assert f"127.0.0.1:{port}/posture did not answer within" in error
    assert "secret" not in error


def test_the_records_page_names_a_damaged_analysis(tmp_path, first, monkeypatch):
    url = f"sqlite:///{tmp_path / 'records.db'}"
    store = open_store(url)
    visit_id = save(store, first)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE analyses SET result_json = '{\"photos\": [' "))
    store.close()
    monkeypatch.setenv("POSTURE_DATABASE_URL", url)
    at = _records_page()
    errors = [e.value for e in at.error]
    assert any(f"of visit {visit_id} is damaged: its stored result cannot be read" in e
               for e in errors), errors
