"""Where the records live, and opening them: engine, sessions, migrations on open.

Default: a SQLite file in the user's data folder (`platformdirs.user_data_dir("posture")`), so
patient data stays on this machine. `POSTURE_DATABASE_URL` (or an explicit URL) overrides it; a
clinic with several workstations points every one of them at the same PostgreSQL database, e.g.
`postgresql://posture@server/posture` (the psycopg 3 driver is chosen for it).

Opening a store runs the Alembic migrations up to the newest revision, in one transaction,
with `alembic.command.upgrade` and a Config built in code (the scripts ship inside the package).
A SQLite file is checked first (`PRAGMA quick_check`): a damaged file is refused before
anything is written into it.

Nothing waits forever: a PostgreSQL server gets CONNECT_TIMEOUT_S to answer a connection and
STATEMENT_TIMEOUT_S per statement (the server cancels longer ones); TCP keepalives notice a
server that vanished. A SQLite file locked by another program is waited for SQLITE_BUSY_S. A
`connect_timeout` or `options` in a PostgreSQL URL overrides ours.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from posture.store.errors import DamagedError, StoreError

ENV_VAR = "POSTURE_DATABASE_URL"
MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_FILE = "posture.db"

# Workstations opening a fresh PostgreSQL database at the same moment migrate one at a time:
# a transaction-scoped advisory lock on this arbitrary key serialises them.
_MIGRATION_LOCK_KEY = 5_170_233

#: Seconds a PostgreSQL server has to complete a connection (libpq's connect_timeout; psycopg
#: enforces it on the client, so a server that accepts and never answers is given up on).
CONNECT_TIMEOUT_S = 5
#: Seconds a statement may run before the server cancels it. Every statement posture sends is
#: short (a save is milliseconds once its images are rendered; backups copy in small batches).
STATEMENT_TIMEOUT_S = 30
#: Seconds a SQLite write waits for another program's write to finish (SQLite's busy timeout).
SQLITE_BUSY_S = 10
#: Seconds past STATEMENT_TIMEOUT_S after which the client gives up on a server that did not
#: even cancel the statement (see `_server_watchdog`).
WATCHDOG_GRACE_S = 5
_TIMERS = "posture_watchdog"
#: Execution option marking a read-only transaction (see `Store.transaction`).
READ_ONLY = "posture_read_only"


def default_url() -> str:
    """The embedded database: posture.db in the user's data folder (created on first open)."""
    import platformdirs

    folder = Path(platformdirs.user_data_dir("posture", appauthor=False))
    return f"sqlite:///{folder / SQLITE_FILE}"


def database_url(url: str | None = None) -> str:
    """The URL to use: the argument, else $POSTURE_DATABASE_URL, else `default_url()`.

    `postgres://` and `postgresql://` URLs get the psycopg 3 driver (`postgresql+psycopg://`),
    the one posture installs.
    """
    url = (url or os.environ.get(ENV_VAR) or "").strip() or default_url()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def display_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unreadable database URL)"


def _sqlite_setup(engine: Engine) -> None:
    """Foreign keys on (SQLite leaves them off), WAL journal, and real transactions.

    Every transaction is BEGIN IMMEDIATE: one writer at a time, the others wait; short
    transactions (a save is milliseconds once the images are rendered) keep the wait short.

    pysqlite's own transaction handling starts transactions late and never around DDL; the
    SQLAlchemy recipe below hands BEGIN to SQLAlchemy, so a save or a migration is atomic.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # IMMEDIATE takes the write lock up front, waiting (timeout below) for another writer.
        # A deferred transaction that reads and then writes fails at once with "database is
        # locked" when another session wrote in between: two browser tabs saving together.
        # Reading only, a deferred transaction reads one snapshot (WAL) and never waits for a
        # writer: a program holding the write lock does not stop `history` or the Records page.
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_store_engine(url: str) -> Engine:
    """An engine for the URL; for a SQLite file, its folder is created first."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"POSTURE_DATABASE_URL is not a database URL: '{url[:60]}'") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            try:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the records folder for {parsed.database}: "
                                 f"{exc.strerror}") from None
        # Wait for another session's write to finish instead of failing at once; not forever.
        engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_S})
        _sqlite_setup(engine)
        return engine
    try:
        engine = create_engine(parsed, connect_args=_server_args(parsed))
    except (ArgumentError, ImportError) as exc:
        raise StoreError(f"cannot use database {display_url(url)}: {exc}") from None
    _server_watchdog(engine)
    return engine


def _cut(dbapi_connection) -> None:
    """End a connection whose server stopped answering: shut its socket down, so the call
    waiting on it fails at once ("server closed the connection")."""
    try:
        fd = dbapi_connection.pgconn.socket
        with socket.socket(fileno=os.dup(fd)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except (OSError, ValueError, AttributeError):
        pass                        # already closed: nothing is waiting on it


@contextmanager
def _watched(dbapi_connection, seconds: float) -> Iterator[None]:
    timer = threading.Timer(seconds, _cut, (dbapi_connection,))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _server_watchdog(engine: Engine) -> None:
    """The client's own bound on every wait for a server, for the case the server's statement
    timeout cannot cover: a server that stopped (hung, suspended) while its machine still
    acknowledges packets, so neither TCP keepalives nor a timeout on the server fire.

    - Checking a pooled connection out: `SELECT 1` within CONNECT_TIMEOUT_S (SQLAlchemy's
      pessimistic disconnect recipe, with a bound), else the connection is dropped and a new
      one tried, whose connect is bounded by connect_timeout.
    - Each statement: STATEMENT_TIMEOUT_S plus WATCHDOG_GRACE_S (the server cancels at
      STATEMENT_TIMEOUT_S; the watchdog acts only when it could not).
    """

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection, _record, _proxy):
        try:
            with _watched(dbapi_connection, CONNECT_TIMEOUT_S):
                with dbapi_connection.cursor() as cursor:
                    cursor.execute("SELECT 1")
                dbapi_connection.rollback()
        except Exception as exc:    # any failure: the pool drops it and connects anew
            raise DisconnectionError(str(exc)) from exc

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn, _cursor, _statement, _params, _context, _many):
        timer = threading.Timer(STATEMENT_TIMEOUT_S + WATCHDOG_GRACE_S, _cut,
                                (conn.connection.driver_connection,))
        timer.daemon = True
        timer.start()
        conn.info.setdefault(_TIMERS, []).append(timer)

    def _stop(conn) -> None:
        for timer in conn.info.pop(_TIMERS, []):
            timer.cancel()

    @event.listens_for(engine, "after_cursor_execute")
    def _done(conn, _cursor, _statement, _params, _context, _many):
        _stop(conn)

    @event.listens_for(engine, "handle_error")
    def _failed(context):
        if context.connection is not None:
            _stop(context.connection)


def _server_args(parsed) -> dict:
    """libpq connection parameters that bound every wait, unless the URL sets its own."""
    if parsed.get_backend_name() != "postgresql":
        return {}
    query = parsed.query
    args = {}
    if "connect_timeout" not in query:
        args["connect_timeout"] = CONNECT_TIMEOUT_S
    if "options" not in query:
        args["options"] = f"-c statement_timeout={STATEMENT_TIMEOUT_S * 1000}"
    # A server that vanished (network cut, machine off) is noticed within about 30 s instead
    # of the system's TCP defaults (hours): keepalive probes, and unacknowledged data.
    for key, value in (("keepalives", 1), ("keepalives_idle", 10), ("keepalives_interval", 5),
                       ("keepalives_count", 3), ("tcp_user_timeout", 30_000)):
        if key not in query:
            args[key] = value
    return args


def server_name(url) -> str:
    """Where the records are, for messages: "host:port/database" or the SQLite file; never a
    password."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        return "(unreadable database URL)"
    if parsed.get_backend_name() == "sqlite":
        return f"file {parsed.database}"
    host = parsed.host or parsed.query.get("host") or "localhost"
    if isinstance(host, tuple):
        host = ",".join(host)
    port = parsed.port or parsed.query.get("port") or 5432
    return f"server {host}:{port}/{parsed.database or ''}"


def explain(exc: BaseException, url) -> str | None:
    """A clinician's reading of a database failure that is not about the data given: the
    server not answering, a file locked or damaged. None for anything else."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    first = text[0] if text else type(orig).__name__
    name = type(orig).__name__
    where = server_name(url)
    if name == "ConnectionTimeout":          # psycopg: connect_timeout passed
        try:
            waited = make_url(url).query.get("connect_timeout", CONNECT_TIMEOUT_S) \
                if isinstance(url, str) else url.query.get("connect_timeout", CONNECT_TIMEOUT_S)
        except ArgumentError:
            waited = CONNECT_TIMEOUT_S
        return (f"the records {where} did not answer within {waited} s: check that "
                "the database server is running and reachable")
    if name == "QueryCanceled":              # PostgreSQL: statement_timeout passed
        return (f"the records {where} took longer than {STATEMENT_TIMEOUT_S} s to answer and "
                "the request was cancelled: the server is overloaded or blocked; try again")
    if name == "OperationalError" and "server closed the connection" in str(orig):
        return (f"the records {where} stopped answering (nothing within "
                f"{STATEMENT_TIMEOUT_S + WATCHDOG_GRACE_S} s) or closed the connection: check "
                "that the database server is running, then try again")
    if not isinstance(orig, sqlite3.Error):
        return None
    if first == "database is locked":
        return (f"the records {where} is locked by another program (waited {SQLITE_BUSY_S} "
                "s): close other programs using it, then try again")
    if first == "database or disk is full":
        return (f"the disk of the records {where} is full: nothing was saved; free some space, "
                "then try again")
    if first in ("database disk image is malformed", "file is not a database"):
        return (f"the records {where} is damaged ({first}): move it aside and restore the "
                "latest backup (posture records restore FILE)")
    return None


def alembic_config(connection=None):
    """An Alembic Config built in code: the migrations inside the package, an open connection.

    Developers make a new revision after changing `models.py` with, e.g.::

        from alembic import command
        from posture.store.db import alembic_config
        command.revision(alembic_config(), message="add x", autogenerate=True)

    (it autogenerates against $POSTURE_DATABASE_URL, which must be migrated to head first).
    """
    from alembic.config import Config

    cfg = Config()
    # ConfigParser interpolation: a literal % in the path must be doubled.
    cfg.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    cfg.attributes["connection"] = connection
    return cfg


def check_sqlite_file(engine: Engine) -> None:
    """Refuse a damaged SQLite file before anything is written into it (`PRAGMA quick_check`:
    the file's structure, every page and index entry; about 1 s per GB on an SSD, see
    benchmarks/store_open.py).

    Raises:
        DamagedError: the file is damaged, naming the file and SQLite's first complaint.
    """
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return
    try:
        with engine.connect() as connection:
            problems = [row[0] for row in connection.exec_driver_sql("PRAGMA quick_check")]
    except DBAPIError as exc:
        if not isinstance(exc.orig, sqlite3.DatabaseError) or isinstance(
                exc.orig, sqlite3.OperationalError) and "locked" in str(exc.orig):
            raise
        # So damaged that the check itself stops ("database disk image is malformed").
        problems = [str(exc.orig).strip() or type(exc.orig).__name__]
    if problems != ["ok"]:
        raise DamagedError(f"the records file {engine.url.database} is damaged (SQLite's check: "
                         f"{problems[0]}; {len(problems)} problem(s)); nothing was written to "
                         "it: move it aside and restore the latest backup (posture records "
                         "restore FILE)")


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision, in one transaction."""
    from alembic import command
    from alembic.util import CommandError

    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})")
        try:
            command.upgrade(alembic_config(connection), "head")
        except CommandError as exc:
            # Typically: another workstation upgraded the database with a newer posture.
            raise StoreError(f"the records database has a schema this version of posture does "
                             f"not know ({exc}); update posture on this workstation") from None


class Store:
    """An open records database. Thread-safe: share one per process (Streamlit's
    `st.cache_resource`); every repository function opens its own short session."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._reading = sessionmaker(engine.execution_options(**{READ_ONLY: True}),
                                     expire_on_commit=False)

    @property
    def url(self) -> str:
        """The database URL with any password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self, *, read_only: bool = False) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any exception.
        read_only: the caller only reads (SQLite then does not wait for another writer)."""
        with (self._reading if read_only else self._sessions)() as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()


def open_store(url: str | None = None, *, migrate_schema: bool = True) -> Store:
    """Open (and create or upgrade) the records database.

    Args:
        url: a SQLAlchemy URL; None means $POSTURE_DATABASE_URL, else the embedded SQLite file.
        migrate_schema: run the migrations to the newest revision (always, outside tests).

    Raises:
        StoreError: the URL is malformed, the server cannot be reached, or the schema is newer
            than this version of posture knows. The message is one line.
    """
    url = database_url(url)
    engine = create_store_engine(url)
    try:
        check_sqlite_file(engine)
        if migrate_schema:
            migrate(engine)
        else:
            with engine.connect():
                pass
    except SQLAlchemyError as exc:
        engine.dispose()
        explained = explain(exc, url)
        if explained:
            raise (DamagedError if "is damaged" in explained else StoreError)(explained) from None
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise StoreError(f"cannot open the records database {display_url(url)}: "
                         f"{reason[0] if reason else type(exc).__name__}") from None
    except StoreError:
        engine.dispose()
        raise
    return Store(engine)
