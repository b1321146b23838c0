"""Run the Alembic migrations shipped in ``bookshelf/migrations`` programmatically."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str | None = None) -> Config:
    """An Alembic config pointing at the package's migrations (no ``alembic.ini`` needed).

    The URL travels in ``config.attributes`` so ``%`` in passwords needs no escaping.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if database_url is not None:
        config.attributes["database_url"] = database_url
    return config


def upgrade_to_head(engine: Engine) -> None:
    """Apply all pending migrations to the database behind ``engine``."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
