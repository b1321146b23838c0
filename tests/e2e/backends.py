"""Fixture backends for end-to-end tests: a small library API, clean or with exactly one defect.

``gate_project(defect=...)`` writes into the pytester folder an app module (FastAPI with SQLAlchemy models), the
architecture packet it is gated against, a conftest supplying credentials per role, and the ini keys naming them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

MEMBER_TOKEN = "member-secret-token-3f9a"
LIBRARIAN_TOKEN = "librarian-secret-token-8c2d"

APP = """from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

DEFECT = __DEFECT__
TOKENS = {
    "Bearer __MEMBER__": "member",
    "Bearer __LIBRARIAN__": "librarian",
}


class Base(DeclarativeBase):
    pass


class Book(Base):
    __tablename__ = "books"
    id: Mapped[int] = mapped_column(primary_key=True)
    isbn: Mapped[str] = mapped_column(String(13), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    if DEFECT != "missing_column":
        year: Mapped[int | None] = mapped_column(nullable=True)


class Loan(Base):
    __tablename__ = "loans"
    id: Mapped[int] = mapped_column(primary_key=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id"), index=True)


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"description": "error"} for status in (400, 401, 403, 404, 409, 422)
}
app = FastAPI(responses=ERRORS)
BOOKS: dict[int, dict] = {}


BEARER = HTTPBearer(auto_error=False)


def caller_role(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
) -> str:
    authorization = f"Bearer {credentials.credentials}" if credentials else None
    if authorization not in TOKENS:
        if DEFECT == "auth_ignored":  # pragma: no cover - a defect's branch
            return "librarian"
        raise HTTPException(
            401, "missing or invalid token", headers={"WWW-Authenticate": "Bearer"}
        )
    return TOKENS[authorization]


def allow(*roles: str):
    def dependency(role: str = Depends(caller_role)) -> str:
        if role not in roles:
            raise HTTPException(403, "role not allowed")
        return role

    return [] if DEFECT == "no_auth" else [Depends(dependency)]


class BookIn(BaseModel):
    isbn: str = Field(pattern=r"^[0-9]{13}$")
    title: str = Field(min_length=1, max_length=200)
    year: int | None = Field(default=None, ge=0, le=2100)

    @field_validator("year", mode="before")
    @classmethod
    def no_booleans(cls, value: object) -> object:
        # JSON Schema integers exclude true and false; pydantic's lax mode would take them
        if value is True or value is False:  # pragma: no cover - fuzzing's input
            raise ValueError("year must be an integer")
        return value


class BookOut(BookIn):
    id: int


@app.get("/api/health")
def health() -> dict:
    return {"status": "ok"}


@app.get(
    "/api/books",
    dependencies=allow("member", "librarian"),
    response_model=list[BookOut],
)
def list_books() -> Any:
    if DEFECT == "bad_response":  # pragma: no cover - a defect's branch
        return JSONResponse([{"id": "not-a-number", "title": None}])
    return [BookOut(**b) for b in BOOKS.values()]


BOOK_SCHEMA = {
    "type": "object",
    "required": ["isbn", "title"],
    "additionalProperties": False,
    "properties": {
        "isbn": {"type": "string", "pattern": "^[0-9]{13}$"},
        "title": {"type": "string", "minLength": 1, "maxLength": 200},
    },
}

if DEFECT == "accepts_invalid":  # pragma: no cover - a defect's branch

    @app.post(
        "/api/books",
        status_code=201,
        dependencies=allow("librarian"),
        response_model=None,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": BOOK_SCHEMA}},
            }
        },
    )
    async def add_book_unvalidated(request: Request) -> dict:
        body = await request.json()
        book_id = len(BOOKS) + 1
        BOOKS[book_id] = {"id": book_id, "isbn": "0000000000000", "title": "x"}
        return {"id": book_id, "received": str(body)[:50]}
else:

    @app.post(
        "/api/books",
        status_code=200 if DEFECT == "wrong_status" else 201,
        dependencies=allow("librarian"),
    )
    def add_book(book: BookIn) -> BookOut:
        if any(b["isbn"] == book.isbn for b in BOOKS.values()):
            raise HTTPException(409, "isbn exists")
        book_id = len(BOOKS) + 1
        BOOKS[book_id] = {"id": book_id, **book.model_dump()}
        return BookOut(**BOOKS[book_id])


@app.get("/api/books/{book_id}", dependencies=allow("member", "librarian"))
def get_book(book_id: int) -> BookOut:
    if DEFECT == "server_error" and book_id < 0:  # pragma: no cover - a defect's branch
        raise ValueError("negative ids are not handled")
    if book_id not in BOOKS:
        raise HTTPException(404, f"book {book_id} not found")
    return BookOut(**BOOKS[book_id])


if DEFECT != "missing_endpoint":

    @app.delete(
        "/api/books/{book_id}", status_code=204, dependencies=allow("librarian")
    )
    def delete_book(book_id: int) -> Response:
        if BOOKS.pop(book_id, None) is None:
            raise HTTPException(404, f"book {book_id} not found")
        return Response(status_code=204)
"""

OWN_TESTS = """from typing import Any

from fastapi.testclient import TestClient

from __MODULE__.main import DEFECT, app

LIBRARIAN = {"Authorization": "Bearer __LIBRARIAN__"}
MEMBER = {"Authorization": "Bearer __MEMBER__"}
client = TestClient(app)


def add(isbn: str, headers: dict[str, str] = LIBRARIAN) -> Any:
    payload = {"isbn": isbn, "title": "Dune", "year": 1965}
    return client.post("/api/books", json=payload, headers=headers)


def test_health() -> None:
    assert client.get("/api/health").json() == {"status": "ok"}


def test_books_need_a_token_and_the_right_role() -> None:
    assert client.get("/api/books").status_code == (200 if DEFECT == "no_auth" else 401)
    answer = add("9780000000001", headers=MEMBER)
    assert answer.status_code == (403 if DEFECT != "no_auth" else 201)


def test_add_list_and_get() -> None:
    answer = add("9780441172719")
    assert answer.status_code == (200 if DEFECT == "wrong_status" else 201)
    book = answer.json()
    assert book in client.get("/api/books", headers=MEMBER).json()
    assert client.get(f"/api/books/{book['id']}", headers=MEMBER).json() == book
    assert add("9780441172719").status_code == 409
    assert client.get("/api/books/999999", headers=MEMBER).status_code == 404
"""

OWN_DELETE_TEST = """

def test_delete() -> None:
    book = add("9780441172726").json()
    answer = client.delete(f"/api/books/{book['id']}", headers=LIBRARIAN)
    assert answer.status_code == (405 if DEFECT == "missing_endpoint" else 204)
    if DEFECT != "missing_endpoint":
        missing = client.delete(f"/api/books/{book['id']}", headers=LIBRARIAN)
        assert missing.status_code == 404
"""

UNTESTED_CODE = '''"""Inventory reports: code no test runs (the fixture under the coverage threshold)."""


def shelf_report(books: list[dict[str, object]]) -> list[str]:
    """One line per book."""
    lines = []
    for book in books:
        title = str(book.get("title", ""))
        year = book.get("year")
        if year is None:
            lines.append(f"{title} (year unknown)")
        else:
            lines.append(f"{title} ({year})")
    return lines


def oldest(books: list[dict[str, object]]) -> str | None:
    """The title of the oldest book with a year."""
    best: tuple[int, str] | None = None
    for book in books:
        year = book.get("year")
        if not isinstance(year, int):
            continue
        if best is None or year < best[0]:
            best = (year, str(book.get("title", "")))
    return best[1] if best else None


def count_by_decade(books: list[dict[str, object]]) -> dict[int, int]:
    """How many books per decade."""
    counts: dict[int, int] = {}
    for book in books:
        year = book.get("year")
        if isinstance(year, int):
            decade = year - year % 10
            counts[decade] = counts.get(decade, 0) + 1
    return counts


def isbn_check_digit(isbn12: str) -> int:
    """The ISBN-13 check digit of twelve digits."""
    total = 0
    for index, char in enumerate(isbn12):
        digit = int(char)
        total += digit if index % 2 == 0 else 3 * digit
    return (10 - total % 10) % 10


def valid_isbn(isbn: str) -> bool:
    """Whether a 13-digit ISBN has the right check digit."""
    if len(isbn) != 13 or not isbn.isdigit():
        return False
    return isbn_check_digit(isbn[:12]) == int(isbn[12])


def titles_starting_with(books: list[dict[str, object]], prefix: str) -> list[str]:
    """Titles that start with ``prefix``, case-insensitively."""
    wanted = prefix.lower()
    found = []
    for book in books:
        title = str(book.get("title", ""))
        if title.lower().startswith(wanted):
            found.append(title)
    return sorted(found)


def summary(books: list[dict[str, object]]) -> dict[str, object]:
    """Counts and extremes of a shelf."""
    years = [book["year"] for book in books if isinstance(book.get("year"), int)]
    return {
        "books": len(books),
        "with_year": len(years),
        "oldest": oldest(books),
        "decades": count_by_decade(books),
        "lines": shelf_report(books),
    }
'''


CONFTEST = """
import pytest

TOKENS = {{"member": "{member}", "librarian": "{librarian}"}}


@pytest.hookimpl(optionalhook=True)
def pytest_backend_auth_headers(role):
    token = TOKENS.get(role)
    return {{"Authorization": f"Bearer {{token}}"}} if token else None
"""


def library_packet() -> dict[str, Any]:
    """The packet the fixture library API is built from."""
    return {
        "packet_version": "1.0",
        "project": {"name": "library", "description": "fixture backend"},
        "tech_stack": {"language": "python", "framework": "fastapi", "orm": "sqlalchemy"},
        "api": {
            "base_path": "/api",
            "authentication": {"scheme": "bearer-jwt"},
            "roles": ["member", "librarian"],
            "endpoints": [
                {"method": "GET", "path": "/api/health", "description": "Liveness", "authentication_required": False},
                {
                    "method": "GET",
                    "path": "/api/books",
                    "description": "List books",
                    "authentication_required": True,
                    "roles": ["member", "librarian"],
                },
                {
                    "method": "POST",
                    "path": "/api/books",
                    "description": "Add a book",
                    "authentication_required": True,
                    "roles": ["librarian"],
                    "success_status": 201,
                },
                {
                    "method": "GET",
                    "path": "/api/books/{book_id}",
                    "description": "One book",
                    "authentication_required": True,
                    "roles": ["member", "librarian"],
                },
                {
                    "method": "DELETE",
                    "path": "/api/books/{book_id}",
                    "description": "Remove a book",
                    "authentication_required": True,
                    "roles": ["librarian"],
                    "success_status": 204,
                },
            ],
        },
        "data_models": [
            {
                "name": "Book",
                "table": "books",
                "fields": [
                    {"name": "id", "type": "integer", "primary_key": True},
                    {"name": "isbn", "type": "string", "unique": True},
                    {"name": "title", "type": "string"},
                    {"name": "year", "type": "integer", "nullable": True},
                ],
            },
            {
                "name": "Loan",
                "table": "loans",
                "fields": [
                    {"name": "id", "type": "integer", "primary_key": True},
                    {"name": "book_id", "type": "integer", "foreign_key": "books.id", "indexed": True},
                ],
            },
        ],
        "non_functional": {"latency_p95_ms": 500},
    }


GateProject = Callable[..., Path]


PACKET_PATH = Path("ARTIFACTS") / "system-architect" / "architecture-handover-packet.json"
"""Where the gate looks for the packet by default, relative to the project."""


def write_packet(root: Path, packet: dict[str, Any]) -> None:
    """Write ``packet`` where the gate of the project at ``root`` finds it by default."""
    path = root / PACKET_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(packet, indent=2))


def write_ini(root: Path, keys: dict[str, str], *, pythonpath: bool = True, extra: str = "") -> None:
    """The project's ``pyproject.toml``: ``keys`` as pytest ini values, no cache provider, ``pythonpath = ["."]``
    unless told otherwise, then ``extra`` lines."""
    lines = "\n".join(f'{key} = "{value}"' for key, value in keys.items())
    path_line = 'pythonpath = ["."]\n' if pythonpath else ""
    (root / "pyproject.toml").write_text(
        f'[tool.pytest.ini_options]\n{lines}\naddopts = "-p no:cacheprovider"\n{path_line}{extra}'
    )


def render(template: str, defect: str | None, module: str) -> str:
    """A template above with the defect, the tokens and the package name filled in."""
    return (
        template.replace("__DEFECT__", json.dumps(defect or ""))
        .replace("__MEMBER__", MEMBER_TOKEN)
        .replace("__LIBRARIAN__", LIBRARIAN_TOKEN)
        .replace("__MODULE__", module)
    )


@pytest.fixture
def gate_project(pytester: pytest.Pytester) -> GateProject:
    """Write a fixture backend and its own tests; return its folder.

    ``defect``: None (clean), a contract or data defect named in APP, ``low_coverage`` (an extra module no test
    runs) or ``untested_endpoint`` (the own tests never call DELETE /api/books/{book_id}).
    """

    def make(
        defect: str | None = None,
        *,
        ini: dict[str, str] | None = None,
        credentials: bool = True,
        packet: dict[str, Any] | None = None,
        module: str = "library_app",
        own_tests: bool = True,
    ) -> Path:
        root = pytester.path
        package = root / module
        package.mkdir(exist_ok=True)
        (package / "__init__.py").write_text("")
        (package / "main.py").write_text(render(APP, defect, module))
        if defect == "low_coverage":
            (package / "inventory.py").write_text(UNTESTED_CODE)
        if own_tests:
            (root / "tests").mkdir(exist_ok=True)
            tests = OWN_TESTS + ("" if defect == "untested_endpoint" else OWN_DELETE_TEST)
            (root / "tests" / "test_library.py").write_text(render(tests, defect, module))
        if credentials:
            (root / "conftest.py").write_text(CONFTEST.format(member=MEMBER_TOKEN, librarian=LIBRARIAN_TOKEN))
        write_packet(root, packet or library_packet())
        # Fuzzing is off by default here (tests/e2e/test_fuzz.py turns it on, in fresh processes): Hypothesis and
        # Schemathesis keep process-wide state that many in-process pytester runs would accumulate.
        keys = {
            "backend_app": f"{module}.main:app",
            "backend_src": module,
            "backend_no_fuzz": "true",
            "backend_fuzz_examples": "5",
            "backend_fuzz_seed": "7",
            **(ini or {}),
        }
        # Starlette nudges towards httpx2 for its TestClient; httpx still works.
        write_ini(
            root, keys, extra='filterwarnings = ["ignore:Using `httpx` with `starlette.testclient` is deprecated"]\n'
        )
        return root

    return make


def read_report(root: Path) -> dict[str, Any]:
    """The report written at the default path under ``root``."""
    path = root / "ARTIFACTS" / "backend-engineer" / "backend-implementation-report.json"
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def validate_report(report: dict[str, Any]) -> None:
    """Assert ``report`` is valid against the checked-in contract file."""
    from jsonschema import Draft202012Validator

    schema_path = Path(__file__).parents[2] / "contracts" / "backend-output-schema.json"
    Draft202012Validator(json.loads(schema_path.read_text())).validate(report)


FLASK_APP = """from typing import Any

from flask import Flask, abort, jsonify, request

DEFECT = __DEFECT__
TOKENS = {
    "Bearer __MEMBER__": "member",
    "Bearer __LIBRARIAN__": "librarian",
}
app = Flask(__name__)
BOOKS: dict[int, dict[str, Any]] = {}


def allow(*roles: str) -> None:
    if DEFECT == "no_auth":
        return
    role = TOKENS.get(request.headers.get("Authorization", ""))
    if role is None:
        abort(401)
    if role not in roles:
        abort(403)


@app.get("/api/health")
def health() -> Any:
    return {"status": "ok"}


@app.get("/api/books")
def list_books() -> Any:
    allow("member", "librarian")
    return jsonify(list(BOOKS.values()))


@app.post("/api/books")
def add_book() -> Any:
    allow("librarian")
    body = request.get_json(silent=True) or {}
    if not isinstance(body.get("isbn"), str) or not isinstance(body.get("title"), str):
        abort(422)
    book_id = len(BOOKS) + 1
    BOOKS[book_id] = {"id": book_id, "isbn": body["isbn"], "title": body["title"]}
    return BOOKS[book_id], 201


@app.get("/api/books/<int:book_id>")
def get_book(book_id: int) -> Any:
    allow("member", "librarian")
    if book_id not in BOOKS:
        abort(404)
    return BOOKS[book_id]


@app.delete("/api/books/<int:book_id>")
def delete_book(book_id: int) -> Any:
    allow("librarian")
    if BOOKS.pop(book_id, None) is None:
        abort(404)
    return "", 204
"""

FLASK_OWN_TESTS = """from __MODULE__.main import DEFECT, app

LIBRARIAN = {"Authorization": "Bearer __LIBRARIAN__"}
MEMBER = {"Authorization": "Bearer __MEMBER__"}
client = app.test_client()


def test_health() -> None:
    assert client.get("/api/health").json == {"status": "ok"}


def test_books_need_a_token_and_the_right_role() -> None:
    assert client.get("/api/books").status_code == (200 if DEFECT == "no_auth" else 401)
    answer = client.post("/api/books", json={"isbn": "1", "title": "x"}, headers=MEMBER)
    assert answer.status_code == (201 if DEFECT == "no_auth" else 403)


def test_add_list_get_and_delete() -> None:
    assert client.post("/api/books", json={}, headers=LIBRARIAN).status_code == 422
    book = client.post("/api/books", json={"isbn": "2", "title": "Dune"}, headers=LIBRARIAN).json
    assert book in client.get("/api/books", headers=MEMBER).json
    assert client.get(f"/api/books/{book['id']}", headers=MEMBER).json == book
    assert client.get("/api/books/999999", headers=MEMBER).status_code == 404
    assert client.delete(f"/api/books/{book['id']}", headers=LIBRARIAN).status_code == 204
    assert client.delete(f"/api/books/{book['id']}", headers=LIBRARIAN).status_code == 404
"""


@pytest.fixture
def flask_project(pytester: pytest.Pytester, gate_project: GateProject) -> GateProject:
    """Like ``gate_project`` but the backend is a Flask (WSGI) app without an OpenAPI document."""

    def make(defect: str | None = None) -> Path:
        packet = library_packet()
        packet["data_models"] = []
        root = gate_project(packet=packet, module="flask_library")
        (root / "flask_library" / "main.py").write_text(render(FLASK_APP, defect, "flask_library"))
        (root / "tests" / "test_library.py").write_text(render(FLASK_OWN_TESTS, defect, "flask_library"))
        return root

    return make
