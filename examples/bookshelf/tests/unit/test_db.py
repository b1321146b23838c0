"""Engine creation and the UTC datetime column type."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import sqlite
from sqlalchemy.pool import StaticPool

from bookshelf.db import create_db_engine
from bookshelf.models import UTCDateTime
from bookshelf.problems import status_title

pytestmark = pytest.mark.unit

DIALECT = sqlite.dialect()


def test_in_memory_sqlite_uses_static_pool_and_foreign_keys() -> None:
    engine = create_db_engine("sqlite://")
    assert isinstance(engine.pool, StaticPool)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_non_sqlite_engine_uses_pre_ping(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, dict[str, object]]] = []
    monkeypatch.setattr(
        "bookshelf.db.create_engine", lambda url, **kwargs: calls.append((url, kwargs))
    )
    create_db_engine("postgresql+psycopg://user@localhost/bookshelf")
    assert calls == [("postgresql+psycopg://user@localhost/bookshelf", {"pool_pre_ping": True})]


def test_utc_datetime_binds_utc_and_rejects_naive() -> None:
    column = UTCDateTime()
    plus_two = datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    assert column.process_bind_param(plus_two, DIALECT) == datetime(2024, 1, 1, 10, tzinfo=UTC)
    assert column.process_bind_param(None, DIALECT) is None
    with pytest.raises(ValueError, match="naive"):
        column.process_bind_param(datetime(2024, 1, 1), DIALECT)


def test_utc_datetime_results_are_aware() -> None:
    column = UTCDateTime()
    assert column.process_result_value(None, DIALECT) is None
    naive = datetime(2024, 1, 1, 10)
    assert column.process_result_value(naive, DIALECT) == naive.replace(tzinfo=UTC)
    plus_two = datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    result = column.process_result_value(plus_two, DIALECT)
    assert result is not None and result.tzinfo == UTC and result.hour == 10


def test_status_title() -> None:
    assert status_title(404) == "Not Found"
    assert status_title(599) == "Error"
