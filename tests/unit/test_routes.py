"""Mapping concrete requests to packet endpoints."""

from __future__ import annotations

import pytest

from pytest_backend_agent.packet.model import Endpoint
from pytest_backend_agent.packet.routes import EndpointIndex


def endpoint(method: str, path: str) -> Endpoint:
    return Endpoint(method=method, path=path, authentication_required=False)  # type: ignore[arg-type]


ENDPOINTS = [
    endpoint("GET", "/books/{book_id}"),
    endpoint("GET", "/books/search"),
    endpoint("DELETE", "/books/{book_id}"),
    endpoint("GET", "/files/{name}.json"),
    endpoint("GET", "/"),
    endpoint("GET", "/authors/{author_id}/books/"),
    endpoint("GET", "/shelves/{a}"),
    endpoint("GET", "/shelves/{b}"),
]
INDEX = EndpointIndex(ENDPOINTS)


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/books/search?q=x", 1),  # the literal path wins over the parameter
        ("GET", "/books/12", 0),
        ("DELETE", "/books/12", 2),
        ("POST", "/books/12", None),
        ("GET", "/books/12/", 0),  # a trailing slash is the same path
        ("GET", "/books/", None),  # a parameter is never empty
        ("GET", "/books/12/extra", None),
        ("GET", "/files/report.json", 3),
        ("GET", "/files/report.txt", None),
        ("GET", "/", 4),
        ("GET", "/authors/7/books", 5),
        ("GET", "/shelves/1", 6),  # of two equally specific, the first in the packet
        ("get", "/books/12", 0),
    ],
)
def test_a_request_goes_to_the_most_specific_endpoint(method: str, path: str, expected: int | None) -> None:
    found = INDEX.find(method, path)
    assert found is (ENDPOINTS[expected] if expected is not None else None)


def test_the_index_agrees_with_each_endpoints_own_match() -> None:
    for method, path in [("GET", "/books/12"), ("GET", "/files/a.json"), ("GET", "/authors/1/books/")]:
        found = INDEX.find(method, path)
        assert found is not None
        assert found.matches(path)
        assert INDEX.is_for(found, method, path)


def test_a_large_packet_is_indexed_not_scanned() -> None:
    many = [endpoint("GET", f"/api/items{n}/{{item_id}}") for n in range(2000)]
    index = EndpointIndex(many)
    assert index.find("GET", "/api/items1999/5") is many[1999]
    assert index.find("GET", "/api/items2000/5") is None
