"""Pure parts of the performance family: SQL normalisation, percentiles, list shapes, limit parameters."""

from __future__ import annotations

import httpx
import pytest

from pytest_backend_agent.checks.performance.common import is_list_endpoint, items_of
from pytest_backend_agent.checks.performance.latency import percentile
from pytest_backend_agent.checks.performance.statements import count_statements, describe_pool, normalise_sql
from pytest_backend_agent.packet.model import Endpoint


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (
            "SELECT books.id FROM books WHERE ? = books.author_id",
            "SELECT books.id FROM books WHERE ? = books.author_id",
        ),
        (
            "SELECT books.id \nFROM books WHERE %(param_1)s::INTEGER = books.author_id",
            "SELECT books.id FROM books WHERE ? = books.author_id",
        ),
        (
            "SELECT * FROM t WHERE name = 'O''Brien' AND id = 42 LIMIT 20",
            "SELECT * FROM t WHERE name = ? AND id = ? LIMIT ?",
        ),
        ("SELECT * FROM t WHERE id IN (?, ?, ?)", "SELECT * FROM t WHERE id IN (?)"),
        ("SELECT * FROM t WHERE id IN (__[POSTCOMPILE_id_1])", "SELECT * FROM t WHERE id IN (?)"),
        ("SELECT * FROM t WHERE a = $1 AND b = :b AND c = %s", "SELECT * FROM t WHERE a = ? AND b = ? AND c = ?"),
        ("SELECT t2.c FROM t2", "SELECT t2.c FROM t2"),
    ],
)
def test_statements_that_differ_only_in_values_normalise_alike(statement: str, expected: str) -> None:
    assert normalise_sql(statement) == expected


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 21)]
    assert percentile(values, 0.5) == 10.0
    assert percentile(values, 0.95) == 19.0
    assert percentile([7.0], 0.95) == 7.0


def test_items_of_reads_arrays_and_pages() -> None:
    assert items_of(httpx.Response(200, json=[1, 2])) == [1, 2]
    assert items_of(httpx.Response(200, json={"items": [1], "total": 1})) == [1]
    assert items_of(httpx.Response(200, json={"status": "ok"})) is None
    assert items_of(httpx.Response(200, text="not json")) is None


def test_list_endpoints_are_paginated_or_collection_gets() -> None:
    def endpoint(method: str, path: str, paginated: bool = False) -> Endpoint:
        return Endpoint(method=method, path=path, authentication_required=False, paginated=paginated)

    assert is_list_endpoint(endpoint("GET", "/api/books"))
    assert is_list_endpoint(endpoint("GET", "/api/books/{book_id}/loans"))
    assert not is_list_endpoint(endpoint("GET", "/api/books/{book_id}"))
    assert not is_list_endpoint(endpoint("POST", "/api/books", paginated=True))


def test_counter_counts_only_inside_its_window_and_names_the_pool() -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine("sqlite://")
    with count_statements() as counter:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            with counter.window() as seen:
                connection.execute(text("SELECT 2"))
                connection.execute(text("SELECT 3"))
            connection.execute(text("SELECT 4"))
    assert seen == {"SELECT ?": 2}
    assert [describe_pool(e) for e in counter.engines.values()] == ["sqlite: SingletonThreadPool"]
    with engine.connect() as connection:  # the listener is gone once the block has ended
        connection.execute(text("SELECT 5"))
    assert sum(counter.counts.values()) == 2
