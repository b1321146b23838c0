"""Fixture backends for end-to-end tests: a small library API, clean or with exactly one defect.

``gate_project(defect=...)`` writes into the pytester folder an app module (FastAPI with SQLAlchemy models), the
architecture packet it is gated against, a conftest supplying credentials per role, and the ini keys naming them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

MEMBER_TOKEN = "member-secret-token-3f9a"
LIBRARIAN_TOKEN = "librarian-secret-token-8c2d"

APP = '''
from fastapi import Depends, FastAPI, Header, HTTPException, Response
from pydantic import BaseModel, Field
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

DEFECT = {defect!r}
TOKENS = {{"Bearer {member}": "member", "Bearer {librarian}": "librarian"}}


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


app = FastAPI()
BOOKS: dict[int, dict] = {{}}


def caller_role(authorization: str | None = Header(default=None)) -> str:
    if authorization not in TOKENS:
        raise HTTPException(401, "missing or invalid token", headers={{"WWW-Authenticate": "Bearer"}})
    return TOKENS[authorization]


def allow(*roles: str):
    def dependency(role: str = Depends(caller_role)) -> str:
        if role not in roles:
            raise HTTPException(403, "role not allowed")
        return role
    return [] if DEFECT == "no_auth" else [Depends(dependency)]


class BookIn(BaseModel):
    isbn: str = Field(pattern=r"^[0-9]{{13}}$")
    title: str = Field(min_length=1, max_length=200)
    year: int | None = Field(default=None, ge=0, le=2100)


class BookOut(BookIn):
    id: int


@app.get("/api/health")
def health() -> dict:
    return {{"status": "ok"}}


@app.get("/api/books", dependencies=allow("member", "librarian"))
def list_books() -> list[BookOut]:
    return [BookOut(**b) for b in BOOKS.values()]


@app.post("/api/books", status_code=200 if DEFECT == "wrong_status" else 201,
          dependencies=allow("librarian"))
def add_book(book: BookIn) -> BookOut:
    if any(b["isbn"] == book.isbn for b in BOOKS.values()):
        raise HTTPException(409, "isbn exists")
    book_id = len(BOOKS) + 1
    BOOKS[book_id] = {{"id": book_id, **book.model_dump()}}
    return BookOut(**BOOKS[book_id])


@app.get("/api/books/{{book_id}}", dependencies=allow("member", "librarian"))
def get_book(book_id: int) -> BookOut:
    if book_id not in BOOKS:
        raise HTTPException(404, f"book {{book_id}} not found")
    return BookOut(**BOOKS[book_id])


if DEFECT != "missing_endpoint":
    @app.delete("/api/books/{{book_id}}", status_code=204, dependencies=allow("librarian"))
    def delete_book(book_id: int) -> Response:
        if BOOKS.pop(book_id, None) is None:
            raise HTTPException(404, f"book {{book_id}} not found")
        return Response(status_code=204)
'''

CONFTEST = '''
import pytest

TOKENS = {{"member": "{member}", "librarian": "{librarian}"}}


@pytest.hookimpl(optionalhook=True)
def pytest_backend_auth_headers(role):
    token = TOKENS.get(role)
    return {{"Authorization": f"Bearer {{token}}"}} if token else None
'''


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
                {"method": "GET", "path": "/api/books", "description": "List books",
                 "authentication_required": True, "roles": ["member", "librarian"]},
                {"method": "POST", "path": "/api/books", "description": "Add a book",
                 "authentication_required": True, "roles": ["librarian"], "success_status": 201},
                {"method": "GET", "path": "/api/books/{book_id}", "description": "One book",
                 "authentication_required": True, "roles": ["member", "librarian"]},
                {"method": "DELETE", "path": "/api/books/{book_id}", "description": "Remove a book",
                 "authentication_required": True, "roles": ["librarian"], "success_status": 204},
            ],
        },
        "data_models": [
            {"name": "Book", "table": "books", "fields": [
                {"name": "id", "type": "integer", "primary_key": True},
                {"name": "isbn", "type": "string", "unique": True},
                {"name": "title", "type": "string"},
                {"name": "year", "type": "integer", "nullable": True},
            ]},
            {"name": "Loan", "table": "loans", "fields": [
                {"name": "id", "type": "integer", "primary_key": True},
                {"name": "book_id", "type": "integer", "foreign_key": "books.id", "indexed": True},
            ]},
        ],
        "non_functional": {"latency_p95_ms": 500},
    }


GateProject = Callable[..., Path]


def formatted(folder: Path) -> None:
    """Lay out a fixture backend's code as its author would, with ruff format (the gate's quality.format checks it)."""
    subprocess.run([sys.executable, "-m", "ruff", "format", "-q", "--no-cache", str(folder)], check=True)  # noqa: S603


@pytest.fixture
def gate_project(pytester: pytest.Pytester) -> GateProject:
    """Write a fixture backend (``defect`` = None or one of the names in APP) and return its folder."""

    def make(defect: str | None = None, *, ini: dict[str, str] | None = None, credentials: bool = True,
             packet: dict[str, Any] | None = None, module: str = "library_app") -> Path:
        root = pytester.path
        package = root / module
        package.mkdir(exist_ok=True)
        (package / "__init__.py").write_text("")
        (package / "main.py").write_text(
            textwrap.dedent(APP).format(defect=defect or "", member=MEMBER_TOKEN, librarian=LIBRARIAN_TOKEN)
        )
        formatted(package)
        if credentials:
            (root / "conftest.py").write_text(CONFTEST.format(member=MEMBER_TOKEN, librarian=LIBRARIAN_TOKEN))
        packet_path = root / "ARTIFACTS" / "system-architect" / "architecture-handover-packet.json"
        packet_path.parent.mkdir(parents=True, exist_ok=True)
        packet_path.write_text(json.dumps(packet or library_packet(), indent=2))
        keys = {"backend_app": f"{module}.main:app", "backend_src": module, **(ini or {})}
        lines = "\n".join(f'{key} = "{value}"' for key, value in keys.items())
        (root / "pyproject.toml").write_text(
            f"[tool.pytest.ini_options]\n{lines}\naddopts = \"-p no:cacheprovider\"\n"
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


FLASK_APP = '''
from flask import Flask, abort, jsonify, request

DEFECT = {defect!r}
TOKENS = {{"Bearer {member}": "member", "Bearer {librarian}": "librarian"}}
app = Flask(__name__)
BOOKS: dict[int, dict] = {{}}


def allow(*roles):
    if DEFECT == "no_auth":
        return
    role = TOKENS.get(request.headers.get("Authorization", ""))
    if role is None:
        abort(401)
    if role not in roles:
        abort(403)


@app.get("/api/health")
def health():
    return {{"status": "ok"}}


@app.get("/api/books")
def list_books():
    allow("member", "librarian")
    return jsonify(list(BOOKS.values()))


@app.post("/api/books")
def add_book():
    allow("librarian")
    body = request.get_json(silent=True) or {{}}
    if not isinstance(body.get("isbn"), str) or not isinstance(body.get("title"), str):
        abort(422)
    book_id = len(BOOKS) + 1
    BOOKS[book_id] = {{"id": book_id, "isbn": body["isbn"], "title": body["title"]}}
    return BOOKS[book_id], 201


@app.get("/api/books/<int:book_id>")
def get_book(book_id):
    allow("member", "librarian")
    if book_id not in BOOKS:
        abort(404)
    return BOOKS[book_id]


@app.delete("/api/books/<int:book_id>")
def delete_book(book_id):
    allow("librarian")
    if BOOKS.pop(book_id, None) is None:
        abort(404)
    return "", 204
'''


@pytest.fixture
def flask_project(pytester: pytest.Pytester, gate_project: GateProject) -> GateProject:
    """Like ``gate_project`` but the backend is a Flask (WSGI) app without an OpenAPI document."""

    def make(defect: str | None = None) -> Path:
        packet = library_packet()
        packet["data_models"] = []
        root = gate_project(packet=packet, module="flask_library")
        (root / "flask_library" / "main.py").write_text(
            textwrap.dedent(FLASK_APP).format(defect=defect or "", member=MEMBER_TOKEN, librarian=LIBRARIAN_TOKEN)
        )
        formatted(root / "flask_library")
        return root

    return make
