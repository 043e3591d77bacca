"""Alembic environment: run by `posture.store.db.migrate` with an open connection.

No alembic.ini: the Config is built in code (`posture.store.db.alembic_config`). Without a
connection in its attributes (a developer autogenerating a revision), it connects to
`posture.store.db.database_url()`.
"""

from alembic import context

from posture.store.models import Base


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from posture.store.db import create_store_engine, database_url

    engine = create_store_engine(database_url())
    try:
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("posture's migrations run online only (posture.store.db.migrate)")
_run_online()
