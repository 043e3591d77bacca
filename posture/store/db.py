"""Where the records live, and opening them: engine, sessions, migrations on open.

Default: a SQLite file in the user's data folder (`platformdirs.user_data_dir("posture")`), so
patient data stays on this machine. `POSTURE_DATABASE_URL` (or an explicit URL) overrides it; a
clinic with several workstations points every one of them at the same PostgreSQL database, e.g.
`postgresql://posture@server/posture` (the psycopg 3 driver is chosen for it).

Opening a store runs the Alembic migrations up to the newest revision, in one transaction,
with `alembic.command.upgrade` and a Config built in code (the scripts ship inside the package).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from posture.store.errors import StoreError

ENV_VAR = "POSTURE_DATABASE_URL"
MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_FILE = "posture.db"

# Workstations opening a fresh PostgreSQL database at the same moment migrate one at a time:
# a transaction-scoped advisory lock on this arbitrary key serialises them.
_MIGRATION_LOCK_KEY = 5_170_233


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
        # 30 s: wait for another session's write to finish instead of failing at once.
        engine = create_engine(parsed, connect_args={"timeout": 30})
        _sqlite_setup(engine)
        return engine
    try:
        return create_engine(parsed, pool_pre_ping=True)
    except (ArgumentError, ImportError) as exc:
        raise StoreError(f"cannot use database {display_url(url)}: {exc}") from None


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

    @property
    def url(self) -> str:
        """The database URL with any password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any exception."""
        with self._sessions() as session, session.begin():
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
        if migrate_schema:
            migrate(engine)
        else:
            with engine.connect():
                pass
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise StoreError(f"cannot open the records database {display_url(url)}: "
                         f"{reason[0] if reason else type(exc).__name__}") from None
    except StoreError:
        engine.dispose()
        raise
    return Store(engine)
