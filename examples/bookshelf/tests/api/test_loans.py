"""Loan endpoints."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.conftest import assert_problem

pytestmark = pytest.mark.api

LOANS = "/api/v1/loans"
Headers = dict[str, dict[str, str]]


def test_member_borrows_book(
    api_client: Any, auth_headers: Headers, new_book: Callable[..., dict[str, Any]]
) -> None:
    book = new_book()
    before = datetime.now(UTC)
    response = api_client.post(LOANS, json={"book_id": book["id"]}, headers=auth_headers["member"])
    assert response.status_code == 201
    loan = response.json()
    assert set(loan) == {"id", "book_id", "user_id", "due_at"}
    assert loan["book_id"] == book["id"]
    due = datetime.fromisoformat(loan["due_at"])
    assert before + timedelta(days=14) <= due <= datetime.now(UTC) + timedelta(days=14)


def test_book_already_lent_is_409(
    api_client: Any, auth_headers: Headers, new_book: Callable[..., dict[str, Any]]
) -> None:
    book = new_book()
    first = api_client.post(LOANS, json={"book_id": book["id"]}, headers=auth_headers["member"])
    assert first.status_code == 201
    again = api_client.post(LOANS, json={"book_id": book["id"]}, headers=auth_headers["member"])
    assert_problem(again, 409)


def test_expired_loan_frees_the_book(make_client: Any) -> None:
    from sqlalchemy import update

    from bookshelf.models import Loan, utcnow

    client = make_client()
    librarian, member = client.headers_for("librarian"), client.headers_for("member")
    book = client.post(
        "/api/v1/books", json={"isbn": "9780000000001", "title": "T"}, headers=librarian
    ).json()
    assert client.post(LOANS, json={"book_id": book["id"]}, headers=member).status_code == 201
    with client.app.state.context.session_factory() as session:
        session.execute(update(Loan).values(due_at=utcnow() - timedelta(days=1)))
        session.commit()
    assert client.post(LOANS, json={"book_id": book["id"]}, headers=member).status_code == 201


def test_librarian_cannot_borrow(
    api_client: Any, auth_headers: Headers, new_book: Callable[..., dict[str, Any]]
) -> None:
    book = new_book()
    response = api_client.post(
        LOANS, json={"book_id": book["id"]}, headers=auth_headers["librarian"]
    )
    assert_problem(response, 403)


def test_borrow_requires_token(api_client: Any) -> None:
    assert_problem(api_client.post(LOANS, json={"book_id": 1}), 401)


def test_borrow_missing_book_is_404(api_client: Any, auth_headers: Headers) -> None:
    response = api_client.post(LOANS, json={"book_id": 2**31 - 1}, headers=auth_headers["member"])
    assert_problem(response, 404)


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"book_id": 0},
        {"book_id": -5},
        {"book_id": 2**31},
        {"book_id": 2**53},
        {"book_id": 2**63},
        {"book_id": 2**200},
        {"book_id": "1"},
        {"book_id": 1.5},
        {"book_id": True},
        {"book_id": None},
    ],
)
def test_borrow_invalid_body_is_422(api_client: Any, auth_headers: Headers, payload: Any) -> None:
    response = api_client.post(LOANS, json=payload, headers=auth_headers["member"])
    assert_problem(response, 422)


def test_list_loans_shows_only_callers_loans(make_client: Any) -> None:
    client = make_client()
    librarian, member = client.headers_for("librarian"), client.headers_for("member")
    book_ids = []
    for number in range(3):
        response = client.post(
            "/api/v1/books",
            json={"isbn": f"97800000000{number:02d}", "title": f"T{number}"},
            headers=librarian,
        )
        book_ids.append(response.json()["id"])
    loan_ids = [
        client.post(LOANS, json={"book_id": book_id}, headers=member).json()["id"]
        for book_id in book_ids
    ]
    page = client.get(LOANS, headers=member).json()
    assert page["total"] == 3 and page["limit"] == 20 and page["offset"] == 0
    assert [item["id"] for item in page["items"]] == loan_ids[::-1]
    second = client.get(LOANS, params={"limit": 2, "offset": 2}, headers=member).json()
    assert [item["id"] for item in second["items"]] == loan_ids[:1]
    assert second["total"] == 3
    assert client.get(LOANS, headers=librarian).json() == {
        "items": [],
        "total": 0,
        "limit": 20,
        "offset": 0,
    }


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"offset": -1}])
def test_list_loans_bad_pagination(api_client: Any, auth_headers: Headers, params: Any) -> None:
    assert_problem(api_client.get(LOANS, params=params, headers=auth_headers["member"]), 422)


def test_list_loans_requires_token(api_client: Any) -> None:
    assert_problem(api_client.get(LOANS), 401)


def test_integral_float_book_id_is_accepted(make_client: Any) -> None:
    """JSON Schema counts 3.0 as an integer, so the API does too."""
    client = make_client()
    book = client.post(
        "/api/v1/books",
        json={"isbn": "9780000000099", "title": "T", "year": 2000.0},
        headers=client.headers_for("librarian"),
    ).json()
    assert book["year"] == 2000
    response = client.post(
        LOANS, json={"book_id": float(book["id"])}, headers=client.headers_for("member")
    )
    assert response.status_code == 201
    assert response.json()["book_id"] == book["id"]
