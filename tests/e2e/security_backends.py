"""Fixture backends for the security gate: a small JWT-protected FastAPI app, clean or with exactly one defect.

``security_project(defect=...)`` writes the app, its packet and a conftest that signs real tokens with the app's
key (and expired ones for the expired-token probe). The app keeps a 60-requests-per-minute limiter per client
address on (``SEC_APP_RATE_LIMIT=0`` switches it off).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.backends import write_ini, write_packet

DEFECTS = (
    "hard_coded_secret",
    "md5_passwords",
    "no_timeout",
    "no_auth",
    "role_through",
    "alg_none",
    "expired_accepted",
    "cors_reflect",
    "stack_trace",
    "sql_injection",
    "no_rate_limit",
)

APP = """
import base64
import hashlib
import json
import math
import os
import secrets
import sqlite3
import time
import traceback

import jwt
import requests
from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field

DEFECT = {defect!r}
SECRET = {secret}

app = FastAPI()
BOOKS: dict[int, dict] = {{}}
DB = sqlite3.connect(":memory:", check_same_thread=False)
DB.execute("CREATE TABLE titles (title TEXT)")
DB.execute("INSERT INTO titles VALUES ('Dune')")
HITS: dict[str, list[float]] = {{}}
LIMIT, WINDOW = int(os.environ.get("SEC_APP_RATE_LIMIT", "60")), 60.0


def hash_password(password: str) -> str:
    {hashing}


def notify(url: str, payload: dict) -> int:
    return requests.post(url, json=payload{timeout}).status_code


if DEFECT != "no_rate_limit" and LIMIT > 0:
    @app.middleware("http")
    async def rate_limit(request: Request, call_next):
        key = request.client.host if request.client else "?"
        now = time.monotonic()
        hits = [t for t in HITS.get(key, []) if t > now - WINDOW]
        if len(hits) >= LIMIT:
            wait = math.ceil(hits[0] + WINDOW - now)
            headers = {{"Retry-After": str(wait)}}
            return JSONResponse({{"detail": "too many requests"}}, status_code=429, headers=headers)
        HITS[key] = hits + [now]
        return await call_next(request)

if DEFECT == "cors_reflect":
    from fastapi.middleware.cors import CORSMiddleware

    app.add_middleware(CORSMiddleware, allow_origin_regex=".*", allow_credentials=True,
                       allow_methods=["*"], allow_headers=["*"])

if DEFECT == "stack_trace":
    @app.exception_handler(Exception)
    async def show_everything(request: Request, exc: Exception):
        return PlainTextResponse(traceback.format_exc(), status_code=500)


def _claims(token: str) -> dict:
    if DEFECT == "alg_none":
        header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
        if header.get("alg") == "none":
            return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    options = {{"verify_exp": False}} if DEFECT == "expired_accepted" else {{}}
    return jwt.decode(token, SECRET, algorithms=["HS256"], options=options)


def caller_role(authorization: str | None = Header(default=None)) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "missing token", headers={{"WWW-Authenticate": "Bearer"}})
    try:
        claims = _claims(token)
    except Exception:
        raise HTTPException(401, "invalid token", headers={{"WWW-Authenticate": "Bearer"}}) from None
    return str(claims.get("role", ""))


def allow(*roles: str):
    if DEFECT == "role_through" and roles == ("librarian",):
        roles = ("librarian", "member")

    def dependency(role: str = Depends(caller_role)) -> str:
        if role not in roles:
            raise HTTPException(403, "role not allowed")
        return role
    return [Depends(dependency)]


class BookIn(BaseModel):
    isbn: str = Field(pattern=r"^[0-9]{{13}}$")
    title: str = Field(min_length=1, max_length=200)


class BookOut(BookIn):
    id: int


@app.get("/api/health")
def health() -> dict:
    return {{"status": "ok"}}


@app.get("/api/books", dependencies=[] if DEFECT == "no_auth" else allow("member", "librarian"))
def list_books() -> list[BookOut]:
    return [BookOut(**b) for b in BOOKS.values()]


@app.post("/api/books", status_code=201, dependencies=allow("librarian"))
def add_book(book: BookIn) -> BookOut:
    if any(b["isbn"] == book.isbn for b in BOOKS.values()):
        raise HTTPException(409, "isbn exists")
    book_id = len(BOOKS) + 1
    BOOKS[book_id] = {{"id": book_id, **book.model_dump()}}
    return BookOut(**BOOKS[book_id])


if DEFECT == "stack_trace":
    @app.get("/api/books/{{book_id}}", dependencies=allow("member", "librarian"))
    def get_book(book_id: str) -> BookOut:
        return BookOut(**BOOKS[int(book_id)])
else:
    @app.get("/api/books/{{book_id}}", dependencies=allow("member", "librarian"))
    def get_book(book_id: int) -> BookOut:
        if book_id not in BOOKS:
            raise HTTPException(404, "no such book")
        return BookOut(**BOOKS[book_id])


@app.delete("/api/books/{{book_id}}", status_code=204, dependencies=allow("librarian"))
def delete_book(book_id: int) -> Response:
    if BOOKS.pop(book_id, None) is None:
        raise HTTPException(404, "no such book")
    return Response(status_code=204)


@app.get("/api/search", dependencies=allow("member", "librarian"))
def search(q: str = "") -> list[str]:
    rows = {query}.fetchall()
    return [row[0] for row in rows]
"""

CONFTEST = """
import os
import secrets
import time

os.environ.setdefault("SEC_APP_JWT_SECRET", secrets.token_urlsafe(32))

import jwt
import pytest


def _token(role, exp_offset):
    from sec_app.main import SECRET

    now = int(time.time())
    claims = {{"sub": "7", "role": role, "iat": now + min(exp_offset, 0) - 60, "exp": now + exp_offset}}
    return jwt.encode(claims, SECRET, algorithm="HS256")


@pytest.hookimpl(optionalhook=True)
def pytest_backend_auth_headers(role):
    return {{"Authorization": f"Bearer {{_token(role, 3600)}}"}} if role in ("member", "librarian") else None


@pytest.hookimpl(optionalhook=True)
def pytest_backend_expired_auth_headers(role):
    return {{"Authorization": f"Bearer {{_token(role, -3600)}}"}} if role in ("member", "librarian") else None
"""


def security_packet() -> dict[str, Any]:
    """The packet the security fixture app is built from (rate limit 60 per minute)."""
    both = ["member", "librarian"]
    return {
        "packet_version": "1.0",
        "project": {"name": "secure-library", "description": "security fixture backend"},
        "tech_stack": {"language": "python", "framework": "fastapi"},
        "api": {
            "base_path": "/api",
            "authentication": {"scheme": "bearer-jwt"},
            "roles": both,
            "endpoints": [
                {"method": "GET", "path": "/api/health", "authentication_required": False},
                {"method": "GET", "path": "/api/books", "authentication_required": True, "roles": both},
                {
                    "method": "POST",
                    "path": "/api/books",
                    "authentication_required": True,
                    "roles": ["librarian"],
                    "success_status": 201,
                },
                {"method": "GET", "path": "/api/books/{book_id}", "authentication_required": True, "roles": both},
                {
                    "method": "DELETE",
                    "path": "/api/books/{book_id}",
                    "authentication_required": True,
                    "roles": ["librarian"],
                    "success_status": 204,
                },
                {"method": "GET", "path": "/api/search", "authentication_required": True, "roles": both},
            ],
        },
        "non_functional": {
            "rate_limit": {"requests": 60, "window_seconds": 60},
            "cors_allowed_origins": ["https://app.example.com"],
        },
    }


def render_app(defect: str | None) -> str:
    """The app module's source: static defects are written into the text, live ones switch on DEFECT."""
    weak = defect == "md5_passwords"
    return textwrap.dedent(APP).format(
        defect=defect or "",
        secret='"Zq8-hard-coded-signing-key-4f1c9e7b2a"'
        if defect == "hard_coded_secret"
        else 'os.environ["SEC_APP_JWT_SECRET"]',
        hashing="return hashlib.md5(password.encode()).hexdigest()"
        if weak
        else (
            "salt = secrets.token_bytes(16)\n    "
            "return base64.b64encode(salt + hashlib.pbkdf2_hmac('sha256', password.encode(), salt, 600_000)).decode()"
        ),
        timeout="" if defect == "no_timeout" else ", timeout=5",
        query="DB.execute(\"SELECT title FROM titles WHERE title = '%s'\" % q)"
        if defect == "sql_injection"
        else 'DB.execute("SELECT title FROM titles WHERE title = ?", (q,))',
    )


SecurityProject = Callable[..., Path]


@pytest.fixture
def security_project(pytester: pytest.Pytester) -> SecurityProject:
    """Write the security fixture backend (``defect`` = None or one of :data:`DEFECTS`) and return its folder."""

    def make(defect: str | None = None, *, ini: dict[str, str] | None = None) -> Path:
        assert defect is None or defect in DEFECTS, defect
        root = pytester.path
        package = root / "sec_app"
        package.mkdir(exist_ok=True)
        (package / "__init__.py").write_text("")
        (package / "main.py").write_text(render_app(defect))
        (root / "conftest.py").write_text(CONFTEST.format())
        write_packet(root, security_packet())
        # Fuzzing is off here as in backends.py: these tests judge the security family (fuzz tests run separately).
        keys = {
            "backend_app": "sec_app.main:app",
            "backend_src": "sec_app",
            "backend_no_fuzz": "true",
            "backend_no_quality": "true",
            **(ini or {}),
        }
        write_ini(root, keys, pythonpath=False)
        return root

    return make
