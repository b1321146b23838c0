"""Alembic environment for Bookshelf.

The database URL comes from, in order: a connection handed over in
``config.attributes["connection"]`` (used by the app at startup),
``config.attributes["database_url"]``, the ``BOOKSHELF_DATABASE_URL`` environment
variable, and finally the settings default.
"""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from bookshelf import models  # noqa: F401  (registers the tables on Base.metadata)
from bookshelf.db import Base
from bookshelf.settings import DEFAULT_DATABASE_URL

config = context.config
target_metadata = Base.metadata

if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    """The URL to migrate when no connection was handed over."""
    url = config.attributes.get("database_url") or os.environ.get("BOOKSHELF_DATABASE_URL")
    return str(url or DEFAULT_DATABASE_URL)


def configure(connection: Connection) -> None:
    """Configure the migration context for a live connection."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations_offline() -> None:
    """Emit the SQL script without connecting (``alembic upgrade head --sql``)."""
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run migrations on the handed-over connection or a fresh engine."""
    connection = config.attributes.get("connection")
    if isinstance(connection, Connection):
        configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(database_url(), poolclass=pool.NullPool)
    try:
        with engine.begin() as new_connection:
            configure(new_connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
