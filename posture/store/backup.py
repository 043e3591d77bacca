"""Backups of the records, and restoring one: `posture records backup|restore FILE`.

A backup is one SQLite file holding the records schema at this version's revision: every
patient, visit, photo (bytes as uploaded, with their SHA-256) and analysis. The same format
from either backend, so a backup can be copied to a USB drive or a network share as one file,
restored into SQLite or PostgreSQL (a clinic moving from one workstation to a server restores
its SQLite backup into PostgreSQL), and even opened read-only for a look
(`--db sqlite:///FILE`).

How it is taken:
- SQLite: SQLite's online backup API (`sqlite3.Connection.backup`), in one step: a consistent
  copy of the file as of one moment, while other sessions keep saving (WAL: readers and the
  writer do not block each other).
- PostgreSQL: every table copied row by row inside one REPEATABLE READ, READ ONLY transaction,
  the snapshot isolation `pg_dump` itself uses, so the copy is of one moment too. Chosen over
  running `pg_dump`: it needs no client programs matching the server's major version on each
  workstation, gives the same one-file format as SQLite, and every photo is verified against
  its checksum on the way. A server administrator's own `pg_dump`/`pg_basebackup` routine
  remains the right tool for the whole server; this one is for the clinic's records.

Every backup is checked before it replaces FILE (written to a temporary file beside it, then
renamed: an interrupted backup leaves the previous FILE as it was): SQLite's quick check, and
every photo's bytes against its SHA-256. A restore checks the backup the same way first, goes
into an empty database only, in one transaction, and is checked again afterwards: every
visit's photos in the restored records must carry the backup's hashes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import MetaData, create_engine, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from posture.assessment import slot_title
from posture.errors import InputError
from posture.store.db import Store, explain, open_store, server_name
from posture.store.errors import DamagedError, StoreError

#: Rows per INSERT, and bytes: photos are megabytes each, and each statement must finish well
#: inside the server's statement timeout.
BATCH_ROWS, BATCH_BYTES = 500, 16 << 20
_SQLITE_MAGIC = b"SQLite format 3\x00"
_VERSION_TABLE = "alembic_version"


@dataclass(frozen=True)
class BackupSummary:
    """What a backup holds (or a restore wrote)."""

    patients: int
    visits: int
    photos: int
    analyses: int
    size_bytes: int
    #: (visit_id, slot) -> SHA-256 of every photo, each checked against the photo's bytes.
    photo_hashes: dict[tuple[int, str], str]

    def describe(self) -> str:
        return (f"{self.patients} patient(s), {self.visits} visit(s), {self.photos} photo(s), "
                f"{self.analyses} analysis/es")


def _counts_and_hashes(connection: Connection, where: str) -> BackupSummary:
    """Counts, and every photo's bytes checked against its stored SHA-256 (one at a time:
    photos are megabytes each)."""
    counts = {t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar()
              for t in ("patients", "visits", "photos", "analyses")}
    hashes = {}
    for photo_id, visit_id, slot, stored in connection.execute(
            text("SELECT id, visit_id, slot, sha256 FROM photos ORDER BY id")).all():
        data = connection.execute(text("SELECT data FROM photos WHERE id = :i"),
                                  {"i": photo_id}).scalar()
        if hashlib.sha256(bytes(data)).hexdigest() != stored:
            raise DamagedError(f"the {slot_title(slot).lower()} of visit {visit_id} in {where} "
                               "is damaged: its bytes do not match the checksum taken when it "
                               "was saved")
        hashes[(visit_id, slot)] = stored
    return BackupSummary(counts["patients"], counts["visits"], counts["photos"],
                         counts["analyses"], 0, hashes)


def _tables(connection: Connection) -> list:
    """The database's tables in foreign-key order (parents first), without Alembic's own:
    every table the migrations made, whichever module declares it."""
    meta = MetaData()
    meta.reflect(connection)
    return [t for t in meta.sorted_tables if t.name != _VERSION_TABLE]


def _revision(connection: Connection) -> str | None:
    return connection.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}")).scalar()


def _copy_rows(source: Connection, target: Connection) -> None:
    """Every row of every table, ids kept, in batches."""
    target_tables = {t.name: t for t in _tables(target)}
    for table in _tables(source):
        into = target_tables.get(table.name)
        if into is None:
            raise StoreError(f"table {table.name} of the backup has no place in these records")
        batch, size = [], 0
        result = source.execution_options(stream_results=True, yield_per=BATCH_ROWS).execute(
            select(table).order_by(*table.primary_key.columns))
        for row in result.mappings():
            batch.append(dict(row))
            size += sum(len(v) for v in row.values() if isinstance(v, bytes | memoryview))
            if len(batch) >= BATCH_ROWS or size >= BATCH_BYTES:
                target.execute(into.insert(), batch)
                batch, size = [], 0
        if batch:
            target.execute(into.insert(), batch)


def _reset_sequences(target: Connection) -> None:
    """PostgreSQL: id sequences continue after the restored ids (rows were inserted with
    their ids, which does not advance a sequence)."""
    if target.dialect.name != "postgresql":
        return
    for table in _tables(target):
        if "id" not in table.c:
            continue
        target.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
            f"coalesce(max(id), 1), max(id) IS NOT NULL) FROM {table.name}"))


@contextmanager
def _failures_named(store: Store, doing: str) -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:                 # the backup file (the raw backup API)
        raise _BackupFileError(str(exc).strip() or type(exc).__name__) from None
    except SQLAlchemyError as exc:
        if store.backend != "sqlite" and isinstance(getattr(exc, "orig", None), sqlite3.Error):
            # Copying from a server: a SQLite error is the backup file's, not the server's.
            raise _BackupFileError(str(exc.orig).strip()) from None
        explained = explain(exc, store.engine.url)
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise StoreError(f"{doing} failed: " + (explained or (reason[0] if reason else
                                                               type(exc).__name__))) from None


def _check_file(path: Path, what: str) -> BackupSummary:
    """A backup file's quick check, revision and photo hashes (opened read-only)."""
    uri = f"file:{quote(str(path))}?mode=ro"         # any file name, read-only
    engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True))
    try:
        with engine.connect() as conn:
            problems = [r[0] for r in conn.exec_driver_sql("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise DamagedError(f"{what} is damaged (SQLite's check: {problems[0]})")
            summary = _counts_and_hashes(conn, what)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise DamagedError(f"{what} cannot be read: {reason[0] if reason else exc}") from None
    finally:
        engine.dispose()
    return BackupSummary(summary.patients, summary.visits, summary.photos, summary.analyses,
                         path.stat().st_size, summary.photo_hashes)


def _temp_beside(path: Path) -> Path:
    # A name of our own (a URL holds it: no '?' or '#' from the clinic's file name).
    fd, name = tempfile.mkstemp(prefix=".posture-backup-", suffix=".partial", dir=path.parent)
    os.close(fd)
    return Path(name)


def _fsync(path: Path) -> None:
    with path.open("rb") as f:
        os.fsync(f.fileno())


def backup(store: Store, path: str | os.PathLike) -> BackupSummary:
    """Write a verified backup of the whole records to `path` (a SQLite file; replaced only
    once the new backup is complete and checked).

    Raises:
        InputError: the folder of `path` does not exist or cannot be written.
        StoreError: the records could not be read (server, lock); DamagedError: a photo's
            bytes no longer match their checksum (the backup is not written).
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise InputError(f"no folder '{path.parent}' for the backup: create it first")
    try:
        partial = _temp_beside(path)
    except OSError as exc:
        raise InputError(f"cannot write the backup in '{path.parent}': {exc.strerror}") from None
    try:
        with _failures_named(store, f"backing up the records {server_name(store.engine.url)}"):
            if store.backend == "sqlite":
                _sqlite_backup(store, partial)
            else:
                _snapshot_copy(store, partial)
        summary = _check_file(partial, "the new backup")
        _fsync(partial)
        os.replace(partial, path)
    except OSError as exc:
        raise InputError(f"cannot write the backup '{path}': {exc.strerror}") from None
    except _BackupFileError as exc:
        raise InputError(f"cannot write the backup '{path}': {exc}; the previous file "
                         "(if any) is unchanged") from None
    finally:
        for leftover in ("", "-journal", "-wal", "-shm"):
            Path(f"{partial}{leftover}").unlink(missing_ok=True)
    return summary


class _BackupFileError(Exception):
    """Writing the backup file failed (its disk is full, say), not reading the records."""


def _sqlite_backup(store: Store, partial: Path) -> None:
    raw = store.engine.raw_connection()
    try:
        target = sqlite3.connect(partial)
        try:
            raw.driver_connection.backup(target)      # all pages in one step: one moment
            # A single file to copy around: no WAL beside it.
            target.execute("PRAGMA journal_mode = DELETE")
        finally:
            target.close()
    finally:
        raw.close()


def _snapshot_copy(store: Store, partial: Path) -> None:
    partial.unlink()
    empty = open_store(f"sqlite:///{partial}")           # this version's schema, migrated
    try:
        with store.engine.connect().execution_options(
                isolation_level="REPEATABLE READ") as source, empty.engine.begin() as target:
            source.execute(text("SET TRANSACTION READ ONLY"))
            if _revision(source) != _revision(target):
                raise StoreError("the records have a schema this version of posture does not "
                                 "know; update posture on this workstation")
            _copy_rows(source, target)
            source.rollback()
    finally:
        empty.close()
    single = sqlite3.connect(partial, isolation_level=None)
    try:
        single.execute("PRAGMA journal_mode = DELETE")   # one file to copy: no WAL beside it
    finally:
        single.close()


def restore(store: Store, path: str | os.PathLike) -> BackupSummary:
    """Restore a backup into `store`, which must be empty; all or nothing, then checked.

    The backup file itself is never changed (an older backup is migrated in a temporary
    copy).

    Raises:
        InputError: no such file, or not a posture backup.
        DamagedError: the backup is damaged (a photo's checksum, SQLite's check); nothing was
            restored.
        StoreError: the records are not empty, or could not be written; nothing was restored.
    """
    path = Path(path)
    try:
        with path.open("rb") as f:
            magic = f.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise InputError(f"cannot read the backup '{path}': {exc.strerror}") from None
    if magic != _SQLITE_MAGIC:
        raise InputError(f"'{path}' is not a posture backup (not a SQLite file)")
    work = Path(tempfile.mkdtemp(prefix="posture-restore-"))
    try:
        copy = work / "backup.db"
        shutil.copyfile(path, copy)
        checked = _check_file(copy, f"the backup '{path.name}'")
        try:
            source = open_store(f"sqlite:///{copy}")      # migrated to this version, if older
        except StoreError as exc:
            raise InputError(f"'{path}' is not a posture backup this version can read: "
                             f"{exc}") from None
        try:
            _restore_into(store, source)
        finally:
            source.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    where = f"the restored records {server_name(store.engine.url)}"
    with _failures_named(store, "checking the restored records"), store.engine.connect() as c:
        restored = _counts_and_hashes(c, where)
    if restored.photo_hashes != checked.photo_hashes or (
            restored.patients, restored.visits, restored.analyses) != (
            checked.patients, checked.visits, checked.analyses):
        raise DamagedError(f"{where} differ from the backup ({restored.describe()} against "
                           f"{checked.describe()})")
    return BackupSummary(restored.patients, restored.visits, restored.photos,
                         restored.analyses, checked.size_bytes, restored.photo_hashes)


def _restore_into(store: Store, source: Store) -> None:
    where = server_name(store.engine.url)
    with _failures_named(store, f"restoring into the records {where}"), \
            store.engine.begin() as target, source.engine.connect() as backup_conn:
        if _revision(backup_conn) != _revision(target):
            raise StoreError("the backup and the records have different schemas: update "
                             "posture on this workstation")
        held = {t.name: target.execute(select(func.count()).select_from(t)).scalar()
                for t in _tables(target)}
        if any(held.values()):
            what = (f"{held['patients']} patient(s)" if held.get("patients") else ", ".join(
                f"{n} row(s) in {table}" for table, n in held.items() if n))
            raise StoreError(
                f"the records {where} are not empty ({what}): a backup is restored into an "
                "empty database only; point --db at a new one, or move the current file aside "
                "first")
        _copy_rows(backup_conn, target)
        _reset_sequences(target)
