"""Shared helpers for the API tests."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import pytest

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}


def random_isbn() -> str:
    """A random 13-digit ISBN-shaped string."""
    return f"{secrets.randbelow(10**13):013d}"


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """Assert ``response`` is an RFC 9457 problem with ``status``; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert PROBLEM_KEYS <= body.keys()
    assert body["status"] == status
    assert body["instance"] == response.request.url.path
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


@pytest.fixture()
def new_book(
    api_client: Any, auth_headers: dict[str, dict[str, str]]
) -> Callable[..., dict[str, Any]]:
    """Create a book on the shared app as the librarian and return its JSON."""

    def create(**fields: Any) -> dict[str, Any]:
        payload = {"isbn": random_isbn(), "title": "A Book", "year": 2001, **fields}
        response = api_client.post("/api/v1/books", json=payload, headers=auth_headers["librarian"])
        assert response.status_code == 201, response.text
        book: dict[str, Any] = response.json()
        return book

    return create
