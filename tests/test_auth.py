"""Accounts, sign-in, slowing of wrong passwords, sessions, and the audit log, on SQLite and a
real PostgreSQL server (tests/postgres.py). Times are injected (`now=`), never slept."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from posture import auth
from posture.cli import main
from posture.errors import InputError
from posture.store import (
    AUDIT_COLUMNS,
    Actor,
    StoreError,
    add_analysis,
    audit_csv,
    audit_lines,
    delete_patient,
    delete_visit,
    log,
    open_store,
    reanalyse_visit,
    save_visit,
    update_patient,
)
from posture.store.audit import EXPORT
from tests.postgres import database_url as empty_database
from tests.postgres import leo_visit

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
PASSWORD = "correct horse battery"
T0 = 1_800_000_000.0          # a fixed "now" (2027-01-15), seconds since the epoch
NURSE = Actor("nurse1", "192.0.2.50")


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path) -> str:
    return empty_database(request.param, tmp_path)


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


def count(store, table: str, where: str = "", **params) -> int:
    with store.engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table} {where}"), params).scalar()


def refused(store, name, password, client="192.0.2.9", now=T0, match="wrong name or password"):
    with pytest.raises(auth.SignInRefused, match=match):
        auth.sign_in(store, name, password, client, now=now)


# --- accounts ----------------------------------------------------------------------------------


def test_an_account_stores_an_argon2id_hash_never_the_password(store):
    auth.add_user(store, "Alice", PASSWORD, admin=True)
    with store.engine.connect() as conn:
        name, stored = conn.execute(text("SELECT name, password_hash FROM users")).one()
    assert name == "alice"                           # names are case-insensitive
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert auth.verify_password(stored, PASSWORD) and not auth.verify_password(stored, "x" * 9)
    [user] = auth.list_users(store)
    assert (user.name, user.is_admin, user.disabled) == ("alice", True, False)


@pytest.mark.parametrize("name, password, match", [
    ("bob", "short", "at least 8"),
    ("", PASSWORD, "account name"),
    ("bob smith", PASSWORD, "account name"),
    ("../x", PASSWORD, "account name"),
    ("bob", "x" * 1001, "at most 1000"),
])
def test_bad_names_and_passwords_are_refused(store, name, password, match):
    with pytest.raises(InputError, match=match):
        auth.add_user(store, name, password)
    assert auth.list_users(store) == []


def test_a_taken_name_is_refused(store):
    auth.add_user(store, "alice", PASSWORD)
    with pytest.raises(InputError, match="exists already"):
        auth.add_user(store, "ALICE", "another password")


# --- signing in and slowing --------------------------------------------------------------------


def test_right_password_signs_in_wrong_or_unknown_is_refused_alike(store):
    auth.add_user(store, "alice", PASSWORD)
    signed = auth.sign_in(store, " Alice ", PASSWORD, "192.0.2.9", now=T0)
    assert signed.name == "alice" and len(signed.token) >= 40
    assert auth.session_user(store, signed.token, now=T0 + 1).name == "alice"
    refused(store, "alice", PASSWORD + "!")
    refused(store, "mallory", PASSWORD)             # the same message: names do not leak
    # Only the token's SHA-256 is stored.
    with store.engine.connect() as conn:
        tokens = conn.execute(text("SELECT token_sha256 FROM user_sessions")).scalars().all()
    assert signed.token not in tokens and len(tokens) == 1
    actions = [(a.user, a.action) for a in audit_lines(store)]
    assert actions[1:] == [("alice", "sign_in"), ("alice", "sign_in_refused"),
                           ("mallory", "sign_in_refused")]


def test_wrong_passwords_for_an_account_are_slowed_then_allowed_again(store):
    auth.add_user(store, "alice", PASSWORD)
    for i in range(auth.ACCOUNT_FREE):              # the first few: refused, no wait
        refused(store, "alice", f"guess {i}", now=T0 + i)
    now = T0 + auth.ACCOUNT_FREE - 1
    # Now even the right password waits 5 s after the last wrong one: not checked at all.
    refused(store, "alice", PASSWORD, now=now + 0.5, match="too many wrong passwords")
    # From another client too: the account is slowed, not the address.
    refused(store, "alice", PASSWORD, client="192.0.2.77", now=now + 0.5,
            match="too many wrong passwords")
    # Each further wrong password doubles the wait: 5, 10, 20, 40 s.
    for k in range(4):
        wait = auth.FIRST_WAIT * 2.0 ** k
        assert auth.wait_seconds(store, "alice", "192.0.2.9", now=now) == pytest.approx(wait)
        refused(store, "alice", PASSWORD, now=now + wait - 0.1, match="try again in 1 s")
        now += wait
        refused(store, "alice", f"again {k}", now=now)
    assert auth.wait_seconds(store, "alice", "192.0.2.9", now=now) == pytest.approx(80)
    # The wait is capped.
    for k in range(20):
        now += auth.MAX_WAIT
        refused(store, "alice", f"more {k}", client=f"198.51.100.{k}", now=now)
    assert auth.wait_seconds(store, "alice", "203.0.113.1", now=now) == auth.MAX_WAIT
    # After the wait the right password signs in and resets the count.
    assert auth.sign_in(store, "alice", PASSWORD, "192.0.2.9", now=now + auth.MAX_WAIT).name
    assert auth.wait_seconds(store, "alice", "203.0.113.1", now=now + auth.MAX_WAIT) == 0


def test_one_client_guessing_many_accounts_is_slowed(store):
    auth.add_user(store, "alice", PASSWORD)
    for i in range(auth.CLIENT_FREE):               # one wrong guess each for many names
        refused(store, f"user{i}", "password1", client="192.0.2.66", now=T0 + i)
    refused(store, "alice", PASSWORD, client="192.0.2.66", now=T0 + auth.CLIENT_FREE,
            match="too many wrong passwords")
    # Another client is not slowed by it.
    assert auth.sign_in(store, "alice", PASSWORD, "192.0.2.67", now=T0 + auth.CLIENT_FREE)
    # A right password from the guessing client does not clear its count; an hour does.
    later = T0 + auth.CLIENT_FREE + auth.FIRST_WAIT * 2
    assert auth.sign_in(store, "alice", PASSWORD, "192.0.2.66", now=later)
    assert auth.wait_seconds(store, "bob", "192.0.2.66", now=later) == 0    # the last waited
    refused(store, "bob", "password1", client="192.0.2.66", now=later + 1)
    refused(store, "bob", "password1", client="192.0.2.66", now=later + 2,
            match="too many wrong passwords")
    assert auth.wait_seconds(store, "carol", "192.0.2.66",
                             now=T0 + auth.CLIENT_WINDOW + 5) == 0


def test_a_disabled_account_cannot_sign_in_and_its_sessions_end(store):
    auth.add_user(store, "alice", PASSWORD)
    signed = auth.sign_in(store, "alice", PASSWORD, "192.0.2.9", now=T0)
    auth.set_disabled(store, "alice")
    assert auth.session_user(store, signed.token, now=T0 + 1) is None
    refused(store, "alice", PASSWORD, now=T0 + 2, match="disabled")
    assert not auth.users_exist(store)
    auth.set_disabled(store, "alice", False)
    assert auth.sign_in(store, "alice", PASSWORD, "192.0.2.9", now=T0 + 3)


def test_a_new_password_ends_sessions_and_replaces_the_old(store):
    auth.add_user(store, "alice", PASSWORD)
    signed = auth.sign_in(store, "alice", PASSWORD, "192.0.2.9", now=T0)
    auth.set_password(store, "alice", "a new passphrase")
    assert auth.session_user(store, signed.token, now=T0 + 1) is None
    refused(store, "alice", PASSWORD, now=T0 + 2)
    assert auth.sign_in(store, "alice", "a new passphrase", "192.0.2.9", now=T0 + 3)


# --- sessions ----------------------------------------------------------------------------------


def test_sessions_end_after_the_idle_limit(store):
    auth.add_user(store, "alice", PASSWORD)
    token = auth.sign_in(store, "alice", PASSWORD, "192.0.2.9", now=T0).token
    assert auth.session_user(store, token, now=T0 + auth.IDLE_SECONDS - 1)   # use restarts it
    assert auth.session_user(store, token, now=T0 + 2 * auth.IDLE_SECONDS - 2)
    assert auth.session_user(store, token, now=T0 + 3 * auth.IDLE_SECONDS) is None
    assert auth.session_user(store, token, now=T0 + 3 * auth.IDLE_SECONDS - 10) is None  # gone


def test_sessions_end_at_the_absolute_limit_however_busy(store):
    auth.add_user(store, "alice", PASSWORD)
    token = auth.sign_in(store, "alice", PASSWORD, "192.0.2.9", now=T0).token
    now = T0
    while now + 600 <= T0 + auth.ABSOLUTE_SECONDS:
        now += 600
        assert auth.session_user(store, token, now=now), now - T0
    assert auth.session_user(store, token, now=T0 + auth.ABSOLUTE_SECONDS + 1) is None


def test_signing_out_ends_the_session(store):
    auth.add_user(store, "alice", PASSWORD)
    token = auth.sign_in(store, "alice", PASSWORD, "192.0.2.9", now=T0).token
    auth.sign_out(store, token)
    assert auth.session_user(store, token, now=T0 + 1) is None
    assert auth.session_user(store, "made-up", now=T0) is None
    assert auth.session_user(store, None) is None
    assert audit_lines(store)[-1].action == "sign_out"


# --- when sign-in is needed (the app's gate calls this with st.context's values) --------------


@pytest.mark.parametrize("server, client, host, forwarded, needed", [
    ("localhost", "127.0.0.1", "localhost:8501", False, False),
    ("127.0.0.1", "::1", "[::1]:8501", False, False),
    ("localhost", "127.0.0.1", "127.0.0.1:8501", False, False),
    ("192.0.2.2", "192.0.2.50", "192.0.2.2:8501", False, True),    # a clinic network
    ("", "127.0.0.1", "localhost:8501", False, True),              # listening everywhere
    ("0.0.0.0", "127.0.0.1", "localhost:8501", False, True),
    ("localhost", "127.0.0.1", "posture.clinic.lan", False, True),  # a proxy on this computer
    ("localhost", "127.0.0.1", "localhost:8501", True, True),       # X-Forwarded-For
    ("localhost", None, "localhost:8501", False, True),             # unknown client
    ("localhost", "127.0.0.1", None, False, True),                  # no Host header
    ("localhost", "192.0.2.50", "localhost:8501", False, True),
    ("localhost", "127.0.0.1", "localhost.evil.example", False, True),
])
def test_sign_in_is_needed_unless_everything_says_this_computer(server, client, host,
                                                                forwarded, needed):
    assert auth.sign_in_required("auto", server, client, host, forwarded) is needed
    assert auth.sign_in_required("always", server, client, host, forwarded) is True
    assert auth.sign_in_required("typo", server, client, host, forwarded) is True


# --- the audit log -----------------------------------------------------------------------------


def test_every_change_to_a_record_writes_its_audit_line(store, first, second):
    visit = save(store, first, actor=NURSE)
    add_analysis(store, visit, second.assessment, annotated=second.annotated, actor=NURSE)
    update_patient(store, "leo", name="Leo L.", actor=NURSE)
    log(store, NURSE, EXPORT, subject="leo", visit_id=visit, detail="visit report (PDF)")
    other = save(store, second)                                 # local use: the OS user
    delete_visit(store, other, actor=NURSE)
    found = audit_lines(store, subject="leo")
    assert [(a.action, a.visit_id) for a in found] == [
        ("save", visit), ("analysis_added", visit), ("patient_updated", None),
        ("export", visit), ("save", other), ("delete_visit", other)]
    assert {a.user for a in found} == {"nurse1", found[4].user}
    assert found[4].user.endswith("(local)") and found[4].client == "this computer"
    assert found[0].client == "192.0.2.50" and found[0].at.endswith("+00:00")
    assert found[0].detail.startswith("photos: front, right; posture ")
    # No measure, name or note in any line.
    assert not any("Leo L." in a.detail or "cm" in a.detail for a in found)
    # A visit's lines: its own, and the patient's whole-history lines (visit None).
    assert {a.visit_id for a in audit_lines(store, subject="leo", visit_id=visit)} == {
        visit, None}


def test_hand_placed_landmarks_and_reanalysis_are_in_the_audit_line(store, first):
    from posture.landmarks.vocabulary import Landmark

    photo = first.assessment.photos[0]
    x, y = photo.landmarks.xy[Landmark.LEFT_SHOULDER]
    edited = first.assessment.with_landmark_moved(photo.slot, Landmark.LEFT_SHOULDER, x + 5, y)
    visit = save_visit(store, "leo", edited, first.photos, actor=NURSE)
    reanalyse_visit(store, visit, actor=Actor("dr_b", "192.0.2.51"))
    saved, again = audit_lines(store, visit_id=visit)
    assert f"{photo.slot} landmarks placed by hand: left_shoulder" in saved.detail
    assert (again.action, again.user) == ("reanalyse", "dr_b")
    assert "left_shoulder" in again.detail          # carried over into the new analysis


def test_a_failed_save_writes_no_audit_line(store, first):
    def fail(step):
        if step == "analysis":
            raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError):
        save(store, first, actor=NURSE, on_step=fail)
    assert audit_lines(store) == [] and count(store, "visits") == 0


def test_deleting_a_patient_leaves_only_the_audit_line_that_it_happened(store, first, second,
                                                                        db_url):
    gone = save(store, first, subject="P-0042", patient_name="Jane Roe", notes="knee pain")
    save(store, second, subject="P-0042")
    log(store, NURSE, EXPORT, subject="P-0042", detail="full history (CSV)")
    kept = save(store, second, subject="P-0007")
    assert delete_patient(store, "P-0042", actor=NURSE) == 2
    # Only P-0007's visit is left in every table of the records.
    assert count(store, "visits") == 1 and count(store, "analyses") == 1
    assert count(store, "photos") == 2 and count(store, "annotated_images") == 2
    assert count(store, "measurements") == len(second.assessment.rows())
    assert count(store, "patients") == 1
    [line] = audit_lines(store, subject="P-0042")
    assert (line.action, line.user, line.visit_id) == ("delete_patient", "nurse1", None)
    assert line.detail == ("patient deleted with 2 visit(s), their photos and analyses; "
                           "3 earlier audit line(s) of the patient removed")
    assert "Jane" not in line.detail and "knee" not in line.detail
    # The other patient's trail is untouched.
    assert [(a.action, a.visit_id) for a in audit_lines(store, subject="P-0007")] == [
        ("save", kept)]
    assert gone not in {a.visit_id for a in audit_lines(store)}
    if db_url.startswith("sqlite"):
        # secure_delete + an emptied WAL: the photo's bytes are nowhere in the files.
        path = db_url.removeprefix("sqlite:///")
        store.close()
        blob = b"".join(p.read_bytes() for p in Path(path).parent.glob("records.db*"))
        for photo in first.photos.values():
            assert photo[5000:5064] not in blob
        assert b"Jane Roe" not in blob and b"knee pain" not in blob


def test_audit_csv_has_its_columns_and_neutralises_formulas(store, first):
    save(store, first, subject="=cmd()", actor=Actor("=evil", "192.0.2.5"))
    rows = list(csv.DictReader(io.StringIO(audit_csv(store))))
    assert tuple(rows[0]) == AUDIT_COLUMNS
    assert rows[0]["subject"] == "'=cmd()" and rows[0]["user"] == "'=evil"
    assert rows[0]["action"] == "save"


def test_an_unknown_action_is_a_programming_error(store):
    with pytest.raises(ValueError, match="unknown audit action"):
        log(store, NURSE, "peek")


def test_audit_writes_fail_with_a_store_error_when_the_records_refuse(tmp_path):
    s = open_store(f"sqlite:///{tmp_path / 'r.db'}")
    with s.engine.begin() as conn:
        conn.execute(text("DROP TABLE audit_log"))
    with pytest.raises(StoreError, match="refused the change"):
        log(s, NURSE, EXPORT, detail="x")
    s.close()


# --- the command line --------------------------------------------------------------------------


def run(args, monkeypatch, stdin="") -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    try:
        return main(args)
    except SystemExit as exc:
        return exc.code


def test_users_commands(db_url, monkeypatch, capsys):
    db = ["--db", db_url]
    assert run(["users", "list", *db], monkeypatch) == 0
    assert "No accounts" in capsys.readouterr().out
    assert run(["users", "add", "Alice", "--admin", *db], monkeypatch, PASSWORD + "\n") == 0
    assert run(["users", "add", "bob", *db], monkeypatch, "short\n") == 2
    assert "at least 8" in capsys.readouterr().err
    assert run(["users", "passwd", "alice", *db], monkeypatch, "new passphrase\n") == 0
    assert run(["users", "disable", "alice", *db], monkeypatch) == 0
    assert run(["users", "disable", "nobody", *db], monkeypatch) == 2
    assert "no account 'nobody'" in capsys.readouterr().err
    assert run(["users", "list", *db], monkeypatch) == 0
    out = capsys.readouterr().out
    assert "alice" in out and "admin" in out and "disabled" in out
    store = open_store(db_url)
    try:
        assert [a.action for a in audit_lines(store)] == [
            "user_added", "password_changed", "user_disabled"]
        assert audit_lines(store)[0].client == "command line"
        auth.set_disabled(store, "alice", False)
        assert auth.sign_in(store, "alice", "new passphrase", "192.0.2.9", now=T0)
    finally:
        store.close()


def test_audit_and_history_exports_from_the_command_line(db_url, first, tmp_path,
                                                         monkeypatch, capsys):
    store = open_store(db_url)
    visit = save(store, first, actor=NURSE)
    store.close()
    assert run(["history", "leo", "--csv", str(tmp_path / "h.csv"), "--db", db_url],
               monkeypatch) == 0
    out = tmp_path / "audit.csv"
    assert run(["audit", "--subject", "leo", "--csv", str(out), "--db", db_url],
               monkeypatch) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["action"], r["visit_id"]) for r in rows] == [("save", str(visit)),
                                                            ("export", "")]
    assert rows[1]["detail"] == "full history (CSV) from the command line"
    capsys.readouterr()
    assert run(["audit", "--db", db_url], monkeypatch) == 0
    printed = capsys.readouterr().out
    assert "audit_export" in printed and "nurse1" in printed and f"visit {visit}" in printed


def test_a_database_of_revision_0001_upgrades_keeping_its_records(db_url):
    """A clinic's records made before accounts existed: migration 0002 adds the tables."""
    from alembic import command
    from sqlalchemy import inspect

    from posture.store.db import alembic_config, create_store_engine

    engine = create_store_engine(db_url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0001")
        conn.execute(text("INSERT INTO patients (subject, name, notes, created_at) "
                          "VALUES ('P1', 'n', '', '2026-01-01T00:00:00+00:00')"))
    engine.dispose()
    store = open_store(db_url)
    try:
        tables = set(inspect(store.engine).get_table_names())
        assert {"users", "user_sessions", "sign_in_attempts", "audit_log"} <= tables
        assert count(store, "patients") == 1
        delete_patient(store, "P1", actor=NURSE)
        assert [a.action for a in audit_lines(store)] == ["delete_patient"]
    finally:
        store.close()


def test_users_add_on_a_terminal_asks_twice_without_echo(db_url):
    """`posture users add` on a terminal (a pseudo-terminal as its controlling tty): it prompts
    twice and the typed password is never echoed."""
    import os
    import pty
    import time

    pid, master = pty.fork()
    if pid == 0:                                  # the child: the command on the terminal
        try:
            os.execv(sys.executable, [sys.executable, "-m", "posture.cli", "users", "add",
                                      "carol", "--db", db_url])
        finally:
            os._exit(127)                         # never back into pytest
    output = b""
    deadline = time.monotonic() + 120

    def read_until(marker: bytes) -> None:
        nonlocal output
        while marker not in output:
            assert time.monotonic() < deadline, f"no {marker!r} in {output!r}"
            try:
                chunk = os.read(master, 4096)
            except OSError:                       # the terminal closed with the process
                return
            if not chunk:
                return
            output += chunk

    try:
        read_until(b"Password for carol: ")
        os.write(master, (PASSWORD + "\n").encode())
        read_until(b"Again: ")
        os.write(master, (PASSWORD + "\n").encode())
        read_until(b"created.")
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(master)
    assert os.waitstatus_to_exitcode(status) == 0, output
    assert PASSWORD.encode() not in output, "the password was echoed"
    assert b"Account 'carol' created." in output
    store = open_store(db_url)
    try:
        assert auth.sign_in(store, "carol", PASSWORD, "192.0.2.9", now=T0).name == "carol"
    finally:
        store.close()
