"""The Alembic migration applies cleanly and matches the ORM models."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from bookshelf.db import Base, create_db_engine
from bookshelf.migrate import MIGRATIONS_DIR, alembic_config, upgrade_to_head

pytestmark = pytest.mark.api


def test_single_revision() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    revisions = list(script.walk_revisions())
    assert [revision.revision for revision in revisions] == ["0001"]
    assert script.get_current_head() == "0001"


def test_upgrade_creates_tables_matching_models(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade_to_head(engine)
    upgrade_to_head(engine)  # idempotent
    inspector = inspect(engine)
    assert {"users", "books", "loans", "alembic_version"} <= set(inspector.get_table_names())
    loan_indexes = {index["name"] for index in inspector.get_indexes("loans")}
    assert loan_indexes == {"ix_loans_book_id", "ix_loans_user_id"}
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_upgrade_and_downgrade_via_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("BOOKSHELF_DATABASE_URL", url)
    config = alembic_config()
    command.upgrade(config, "head")
    engine = create_engine(url)
    assert "books" in inspect(engine).get_table_names()
    command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    engine.dispose()


def test_offline_sql_for_postgresql() -> None:
    buffer = io.StringIO()
    config = alembic_config("postgresql://user@localhost/bookshelf")
    config.output_buffer = buffer
    command.upgrade(config, "head", sql=True)
    sql = buffer.getvalue()
    assert "CREATE TABLE loans" in sql
    assert "CREATE INDEX ix_loans_book_id ON loans (book_id)" in sql
    assert "TIMESTAMP WITH TIME ZONE" in sql


def test_alembic_ini_points_at_package_migrations() -> None:
    from alembic.config import Config

    root = Path(__file__).resolve().parents[2]
    config = Config(str(root / "alembic.ini"))
    location = config.get_main_option("script_location")
    assert location is not None and Path(location).resolve() == MIGRATIONS_DIR
