"""Catalogue endpoints."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from tests.api.conftest import assert_problem, random_isbn

pytestmark = pytest.mark.api

BOOKS = "/api/v1/books"
Headers = dict[str, dict[str, str]]


def test_librarian_creates_book(api_client: Any, auth_headers: Headers) -> None:
    isbn = random_isbn()
    payload = {"isbn": isbn, "title": "Effective Python", "year": 2019}
    response = api_client.post(BOOKS, json=payload, headers=auth_headers["librarian"])
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "isbn", "title", "year", "created_at"}
    assert body["isbn"] == isbn and body["title"] == "Effective Python" and body["year"] == 2019
    assert datetime.fromisoformat(body["created_at"]).utcoffset() is not None


def test_year_is_optional_and_isbn10_with_x(api_client: Any, auth_headers: Headers) -> None:
    isbn = f"{random_isbn()[:9]}X"
    response = api_client.post(
        BOOKS, json={"isbn": isbn, "title": "T"}, headers=auth_headers["librarian"]
    )
    assert response.status_code == 201
    assert response.json()["year"] is None


def test_member_cannot_create_book(api_client: Any, auth_headers: Headers) -> None:
    response = api_client.post(
        BOOKS, json={"isbn": random_isbn(), "title": "T"}, headers=auth_headers["member"]
    )
    body = assert_problem(response, 403)
    assert body["title"] == "Forbidden"


def test_create_requires_token(api_client: Any) -> None:
    assert_problem(api_client.post(BOOKS, json={"isbn": random_isbn(), "title": "T"}), 401)


def test_duplicate_isbn_is_409(
    api_client: Any, auth_headers: Headers, new_book: Callable[..., dict[str, Any]]
) -> None:
    book = new_book()
    response = api_client.post(
        BOOKS, json={"isbn": book["isbn"], "title": "Again"}, headers=auth_headers["librarian"]
    )
    body = assert_problem(response, 409)
    assert book["isbn"] in body["detail"]


@pytest.mark.parametrize(
    "payload",
    [
        {"title": "no isbn"},
        {"isbn": "123", "title": "short isbn"},
        {"isbn": "12345678901234", "title": "long isbn"},
        {"isbn": "123456789x", "title": "lower-case x"},
        {"isbn": "١٢٣٤٥٦٧٨٩٠", "title": "arabic-indic digits"},
        {"isbn": "1234567890"},
        {"isbn": "1234567890", "title": ""},
        {"isbn": "1234567890", "title": "x" * 301},
        {"isbn": "1234567890", "title": "nul\u0000byte"},
        {"isbn": "1234567890", "title": "T", "year": -1},
        {"isbn": "1234567890", "title": "T", "year": 2101},
        {"isbn": "1234567890", "title": "T", "year": "1999"},
        {"isbn": "1234567890", "title": "T", "year": 2**80},
        {"isbn": "1234567890", "title": "T", "year": 1999.5},
        {"isbn": "1234567890", "title": "T", "year": True},
        {"isbn": "1234567890", "title": "T", "year": 1e300},
    ],
)
def test_invalid_book_is_422(api_client: Any, auth_headers: Headers, payload: Any) -> None:
    response = api_client.post(BOOKS, json=payload, headers=auth_headers["librarian"])
    body = assert_problem(response, 422)
    assert body["errors"] and {"loc", "msg", "type"} == set(body["errors"][0])


def test_body_must_be_an_object(api_client: Any, auth_headers: Headers) -> None:
    response = api_client.post(BOOKS, json=["x"], headers=auth_headers["librarian"])
    assert_problem(response, 422)


@pytest.mark.parametrize("role", ["member", "librarian"])
def test_get_book(
    api_client: Any, auth_headers: Headers, new_book: Callable[..., dict[str, Any]], role: str
) -> None:
    book = new_book(title="Dune", year=1965)
    response = api_client.get(f"{BOOKS}/{book['id']}", headers=auth_headers[role])
    assert response.status_code == 200
    assert response.json() == book


def test_missing_book_is_404(api_client: Any, auth_headers: Headers) -> None:
    response = api_client.get(f"{BOOKS}/987654321", headers=auth_headers["member"])
    body = assert_problem(response, 404)
    assert body["title"] == "Not Found"


@pytest.mark.parametrize(
    ("book_id", "status"),
    [
        (str(2**31 - 1), 404),
        (str(2**31), 422),
        (str(2**53 - 1), 422),
        (str(2**63 - 1), 422),
        (str(2**63), 422),
        (str(2**64 + 7), 422),
        ("1" + "0" * 40, 422),
        ("0", 422),
        ("-1", 422),
        ("abc", 422),
        ("1.5", 422),
    ],
)
def test_book_id_bounds(api_client: Any, auth_headers: Headers, book_id: str, status: int) -> None:
    for method in ("GET", "DELETE"):
        response = api_client.request(
            method, f"{BOOKS}/{book_id}", headers=auth_headers["librarian"]
        )
        assert_problem(response, status)


def test_get_book_requires_token(api_client: Any) -> None:
    assert_problem(api_client.get(f"{BOOKS}/1"), 401)


def test_delete_book(
    api_client: Any, auth_headers: Headers, new_book: Callable[..., dict[str, Any]]
) -> None:
    book = new_book()
    url = f"{BOOKS}/{book['id']}"
    assert_problem(api_client.delete(url, headers=auth_headers["member"]), 403)
    response = api_client.delete(url, headers=auth_headers["librarian"])
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(api_client.get(url, headers=auth_headers["librarian"]), 404)
    assert_problem(api_client.delete(url, headers=auth_headers["librarian"]), 404)


def test_delete_book_removes_its_loans(
    api_client: Any, auth_headers: Headers, new_book: Callable[..., dict[str, Any]]
) -> None:
    book = new_book()
    loan = api_client.post(
        "/api/v1/loans", json={"book_id": book["id"]}, headers=auth_headers["member"]
    )
    assert loan.status_code == 201
    response = api_client.delete(f"{BOOKS}/{book['id']}", headers=auth_headers["librarian"])
    assert response.status_code == 204
    mine = api_client.get(
        "/api/v1/loans", params={"limit": 100}, headers=auth_headers["member"]
    ).json()
    assert loan.json()["id"] not in {item["id"] for item in mine["items"]}


def test_list_books_pagination(make_client: Any) -> None:
    client = make_client()
    librarian, member = client.headers_for("librarian"), client.headers_for("member")
    empty = client.get(BOOKS, headers=member).json()
    assert empty == {"items": [], "total": 0, "limit": 20, "offset": 0}
    created = []
    for number in range(25):
        response = client.post(
            BOOKS, json={"isbn": f"{number:013d}", "title": f"B{number}"}, headers=librarian
        )
        created.append(response.json()["id"])
    first = client.get(BOOKS, headers=member).json()
    assert first["total"] == 25 and first["limit"] == 20 and first["offset"] == 0
    assert [item["id"] for item in first["items"]] == created[::-1][:20]
    rest = client.get(BOOKS, params={"limit": 10, "offset": 20}, headers=librarian).json()
    assert [item["id"] for item in rest["items"]] == created[::-1][20:]
    assert rest["total"] == 25 and rest["limit"] == 10 and rest["offset"] == 20
    beyond = client.get(BOOKS, params={"offset": 1000}, headers=member).json()
    assert beyond["items"] == [] and beyond["total"] == 25
    full = client.get(BOOKS, params={"limit": 100}, headers=member).json()
    assert len(full["items"]) == 25


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": "ten"},
        {"offset": -1},
        {"offset": 2**63},
        {"limt": 5},
    ],
)
def test_list_books_bad_pagination(api_client: Any, auth_headers: Headers, params: Any) -> None:
    response = api_client.get(BOOKS, params=params, headers=auth_headers["member"])
    body = assert_problem(response, 422)
    assert body["errors"][0]["loc"][0] == "query"


def test_concurrent_duplicate_insert_is_409(make_client: Any) -> None:
    """The unique constraint still yields 409 if the pre-check misses a concurrent insert."""
    from sqlalchemy.orm import Session

    from bookshelf.api.deps import get_session

    client = make_client()
    librarian = client.headers_for("librarian")
    payload = {"isbn": "9781111111111", "title": "First"}
    assert client.post(BOOKS, json=payload, headers=librarian).status_code == 201

    class BlindSession(Session):
        def scalar(self, *args: Any, **kwargs: Any) -> Any:
            return None  # pretend the duplicate check found nothing

    engine = client.app.state.context.engine

    def blind_session() -> Any:
        with BlindSession(engine) as session:
            yield session

    client.app.dependency_overrides[get_session] = blind_session
    try:
        response = client.post(BOOKS, json=payload, headers=librarian)
    finally:
        client.app.dependency_overrides.clear()
    assert_problem(response, 409)
