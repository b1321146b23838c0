"""Fixture backends for the performance family: authors with books on SQLAlchemy 2, clean or with one defect.

``perf_project(defect=...)`` writes a FastAPI app that reads its database URL from ``PERF_APP_DATABASE_URL`` (set
it with ``monkeypatch.setenv`` before running pytester: a SQLite file or a PostgreSQL database from
``tests/postgres.py``), the packet it is gated against and a conftest with credentials per role. Defects:

- ``n_plus_one``: ``GET /api/authors`` loads each author's books lazily, one SELECT per author;
- ``slow``: ``GET /api/authors/{author_id}`` sleeps longer than the packet's latency budget;
- ``unpaginated``: ``GET /api/authors`` has no limit parameter and returns every author;
- ``limit_above_max``: ``GET /api/authors`` accepts a limit up to 1000, above the packet's max_page_size.

``django_perf_project(defect=..., database_url=..., asgi=...)`` writes a Django shelf (``GET /api/books``: every book
with its author's name; ``POST /api/books`` adds a book and its author) served as WSGI or ASGI. Defect
``n_plus_one``: the list reads ``book.author.name`` without ``select_related("author")``, one SELECT per book.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.backends import write_ini, write_packet

DEFECTS = ("n_plus_one", "slow", "unpaginated", "limit_above_max")
DATABASE_VARIABLE = "PERF_APP_DATABASE_URL"
EDITOR_TOKEN = "editor-secret-token-51c7"
READER_TOKEN = "reader-secret-token-a0e2"
MAX_PAGE_SIZE = 20
BUDGET_MS = 300
SLOW_SECONDS = 0.5

APP = """import os
import time
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ForeignKey, String, create_engine, func, select
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    selectinload,
)

DEFECT = __DEFECT__
MAX_LIMIT = 1000 if DEFECT == "limit_above_max" else __MAX_PAGE__
TOKENS = {"Bearer __EDITOR__": "editor", "Bearer __READER__": "reader"}
URL = os.environ["PERF_APP_DATABASE_URL"]
ARGS = {"check_same_thread": False} if URL.startswith("sqlite") else {}
engine = create_engine(URL, connect_args=ARGS, pool_pre_ping=True)


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "authors"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    books: Mapped[list["Book"]] = relationship(back_populates="author", order_by="Book.id")


class Book(Base):
    __tablename__ = "books"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"), index=True)
    author: Mapped[Author] = relationship(back_populates="books")


Base.metadata.create_all(engine)
app = FastAPI()


def session() -> Any:
    with Session(engine, expire_on_commit=False) as opened:
        yield opened


SessionDep = Annotated[Session, Depends(session)]


def caller(authorization: Annotated[str | None, Header()] = None) -> str:
    role = TOKENS.get(authorization or "")
    if role is None:
        raise HTTPException(401, "missing or invalid token")
    return role


def allow(*roles: str) -> list[Any]:
    def dependency(role: Annotated[str, Depends(caller)]) -> str:
        if role not in roles:
            raise HTTPException(403, "role not allowed")
        return role

    return [Depends(dependency)]


class AuthorIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)


class BookIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    author_id: int = Field(ge=1, le=2_000_000_000)


class BookOut(BookIn):
    model_config = ConfigDict(from_attributes=True)
    id: int


class AuthorOut(AuthorIn):
    model_config = ConfigDict(from_attributes=True)
    id: int
    books: list[BookOut]


class AuthorPage(BaseModel):
    items: list[AuthorOut]
    total: int
    limit: int
    offset: int


def _authors(db: Session, limit: int | None, offset: int) -> list[Author]:
    query = select(Author).order_by(Author.id.desc()).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    if DEFECT != "n_plus_one":
        query = query.options(selectinload(Author.books))
    return list(db.scalars(query))


if DEFECT == "unpaginated":

    @app.get("/api/authors", dependencies=allow("reader", "editor"))
    def list_authors(db: SessionDep) -> list[AuthorOut]:
        return [AuthorOut.model_validate(a) for a in _authors(db, None, 0)]

else:

    @app.get("/api/authors", dependencies=allow("reader", "editor"))
    def list_authors_page(
        db: SessionDep,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
        offset: Annotated[int, Query(ge=0, le=2_000_000_000)] = 0,
    ) -> AuthorPage:
        total = db.scalar(select(func.count()).select_from(Author)) or 0
        items = [AuthorOut.model_validate(a) for a in _authors(db, limit, offset)]
        return AuthorPage(items=items, total=total, limit=limit, offset=offset)


@app.post("/api/authors", status_code=201, dependencies=allow("editor"))
def add_author(body: AuthorIn, db: SessionDep) -> AuthorOut:
    author = Author(name=body.name)
    db.add(author)
    db.commit()
    return AuthorOut(id=author.id, name=author.name, books=[])


@app.get("/api/authors/{author_id}", dependencies=allow("reader", "editor"))
def get_author(
    author_id: Annotated[int, Path(ge=1, le=2_000_000_000)], db: SessionDep
) -> AuthorOut:
    if DEFECT == "slow":
        time.sleep(__SLOW__)
    author = db.get(Author, author_id, options=[selectinload(Author.books)])
    if author is None:
        raise HTTPException(404, "no such author")
    return AuthorOut.model_validate(author)


@app.get("/api/books", dependencies=allow("reader", "editor"))
def list_books(
    db: SessionDep,
    limit: Annotated[int, Query(ge=1, le=__MAX_PAGE__)] = 10,
    offset: Annotated[int, Query(ge=0, le=2_000_000_000)] = 0,
) -> list[BookOut]:
    query = select(Book).order_by(Book.id.desc()).limit(limit).offset(offset)
    return [BookOut.model_validate(b) for b in db.scalars(query)]


@app.post("/api/books", status_code=201, dependencies=allow("editor"))
def add_book(body: BookIn, db: SessionDep) -> BookOut:
    if db.get(Author, body.author_id) is None:
        raise HTTPException(404, "no such author")
    book = Book(title=body.title, author_id=body.author_id)
    db.add(book)
    db.commit()
    return BookOut.model_validate(book)
"""

CONFTEST = """import pytest

TOKENS = {"editor": "Bearer __EDITOR__", "reader": "Bearer __READER__"}


@pytest.hookimpl(optionalhook=True)
def pytest_backend_auth_headers(role):
    token = TOKENS.get(role)
    return {"Authorization": token} if token else None
"""

SEED_HOOK = '''

@pytest.hookimpl(optionalhook=True)
def pytest_backend_seed(resource, count):
    """Authors cannot be created through this packet's API: insert them directly."""
    if resource != "/api/authors":
        return None
    from sqlalchemy.orm import Session

    from perf_app.main import Author, engine

    with Session(engine) as session:
        session.add_all(Author(name=f"seeded {index}") for index in range(count))
        session.commit()
    return count
'''


def perf_packet(*, creatable_authors: bool = True) -> dict[str, Any]:
    """The packet of the fixture app: two paginated lists, max_page_size 20, a p95 budget of 300 ms."""
    both = ["reader", "editor"]
    endpoints: list[dict[str, Any]] = [
        {"method": "GET", "path": "/api/authors", "authentication_required": True, "roles": both, "paginated": True},
        {
            "method": "POST",
            "path": "/api/authors",
            "authentication_required": True,
            "roles": ["editor"],
            "success_status": 201,
        },
        {"method": "GET", "path": "/api/authors/{author_id}", "authentication_required": True, "roles": both},
        {"method": "GET", "path": "/api/books", "authentication_required": True, "roles": both, "paginated": True},
        {
            "method": "POST",
            "path": "/api/books",
            "authentication_required": True,
            "roles": ["editor"],
            "success_status": 201,
        },
    ]
    if not creatable_authors:
        endpoints = [e for e in endpoints if (e["method"], e["path"]) != ("POST", "/api/authors")]
    return {
        "packet_version": "1.0",
        "project": {"name": "authors", "description": "performance fixture backend"},
        "api": {
            "base_path": "/api",
            "authentication": {"scheme": "bearer-token"},
            "roles": both,
            "endpoints": endpoints,
        },
        "non_functional": {"latency_p95_ms": BUDGET_MS, "max_page_size": MAX_PAGE_SIZE},
    }


def render_perf_app(defect: str | None) -> str:
    """The app module's source with ``defect`` switched on (None: clean)."""
    return (
        APP.replace("__DEFECT__", repr(defect))
        .replace("__MAX_PAGE__", str(MAX_PAGE_SIZE))
        .replace("__SLOW__", str(SLOW_SECONDS))
        .replace("__EDITOR__", EDITOR_TOKEN)
        .replace("__READER__", READER_TOKEN)
    )


PerfProject = Callable[..., Path]


@pytest.fixture
def perf_project(pytester: pytest.Pytester) -> PerfProject:
    """Write the performance fixture backend (``defect``: None or one of :data:`DEFECTS`); return its folder.

    ``seed_hook=True`` drops ``POST /api/authors`` from the packet and adds a ``pytest_backend_seed`` hook that
    inserts authors straight into the database. The database URL comes from ``PERF_APP_DATABASE_URL``.
    """

    def make(defect: str | None = None, *, seed_hook: bool = False, ini: dict[str, str] | None = None) -> Path:
        assert defect is None or defect in DEFECTS, defect
        root = pytester.path
        package = root / "perf_app"
        package.mkdir(exist_ok=True)
        (package / "__init__.py").write_text("")
        (package / "main.py").write_text(render_perf_app(defect))
        conftest = CONFTEST + (SEED_HOOK if seed_hook else "")
        (root / "conftest.py").write_text(
            conftest.replace("__EDITOR__", EDITOR_TOKEN).replace("__READER__", READER_TOKEN)
        )
        write_packet(root, perf_packet(creatable_authors=not seed_hook))
        keys = {
            "backend_app": "perf_app.main:app",
            "backend_src": "perf_app",
            "backend_no_fuzz": "true",
            "backend_no_quality": "true",
            **(ini or {}),
        }
        write_ini(root, keys)
        return root

    return make


# --- Django: books with their author's name (django_perf_project) -----------------------------------------------

DJANGO_DEFECTS = ("n_plus_one",)
DJANGO_DATABASE_VARIABLE = "SHELF_DATABASE_URL"

DJANGO_ENTRY = """import os

from django.core.management import call_command
from django.core.__KIND__ import get___KIND___application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djsite.settings")
application = get___KIND___application()
# the schema is current before the first request
call_command("migrate", interactive=False, verbosity=0)
"""

DJANGO_SHELF_MODELS = """from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)


class Book(models.Model):
    title = models.CharField(max_length=100)
    author = models.ForeignKey(Author, on_delete=models.CASCADE)
"""

DJANGO_SHELF_MIGRATION = """import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.CreateModel(
            name="Author",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=100)),
            ],
        ),
        migrations.CreateModel(
            name="Book",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("title", models.CharField(max_length=100)),
                (
                    "author",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, to="shelf.author"
                    ),
                ),
            ],
        ),
    ]
"""

DJANGO_SHELF_URLS = '''"""Books with their author's name: a list, and a create endpoint the gate adds rows with."""

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from djsite.shelf.models import Author, Book

DEFECT = __DEFECT__
TEXT = {"type": "string", "minLength": 1, "maxLength": 100}
BOOK_IN = {
    "type": "object",
    "required": ["title", "author"],
    "additionalProperties": False,
    "properties": {"title": TEXT, "author": TEXT},
}
BOOK = {
    "type": "object",
    "required": ["id", "title", "author"],
    "properties": {"id": {"type": "integer"}, "title": TEXT, "author": TEXT},
}
OPENAPI = {
    "openapi": "3.0.3",
    "info": {"title": "Shelf", "version": "1.0.0"},
    "paths": {
        "/api/books": {
            "get": {
                "operationId": "list_books",
                "responses": {
                    "200": {
                        "description": "Every book with its author's name",
                        "content": {
                            "application/json": {
                                "schema": {"type": "array", "items": BOOK}
                            }
                        },
                    }
                },
            },
            "post": {
                "operationId": "add_book",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": BOOK_IN}},
                },
                "responses": {
                    "201": {
                        "description": "The new book",
                        "content": {"application/json": {"schema": BOOK}},
                    },
                    "422": {"description": "Not a book"},
                },
            },
        }
    },
}


def as_json(book: Book) -> dict[str, Any]:
    return {"id": book.id, "title": book.title, "author": book.author.name}


def text(value: Any) -> str | None:
    """A storable name: a string of 1 to 100 characters, valid UTF-8, no NUL."""
    if not isinstance(value, str) or not 1 <= len(value) <= 100 or "\\x00" in value:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return value


def list_books() -> HttpResponse:
    books = Book.objects.order_by("id")
    if DEFECT != "n_plus_one":
        books = books.select_related("author")
    return JsonResponse([as_json(book) for book in books], safe=False)


def add_book(request: HttpRequest) -> HttpResponse:
    try:
        body = json.loads(request.body)
    except ValueError:
        return JsonResponse({"detail": "not JSON"}, status=422)
    if not isinstance(body, dict) or set(body) != {"title", "author"}:
        return JsonResponse({"detail": "title and author, nothing else"}, status=422)
    title, name = text(body["title"]), text(body["author"])
    if title is None or name is None:
        return JsonResponse({"detail": "title and author: 1 to 100 characters"}, status=422)
    book = Book.objects.create(title=title, author=Author.objects.create(name=name))
    return JsonResponse(as_json(book), status=201)


@csrf_exempt
def books(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return list_books()
    if request.method == "POST":
        return add_book(request)
    return JsonResponse({"detail": "method not allowed"}, status=405)


def openapi(request: HttpRequest) -> HttpResponse:
    return JsonResponse(OPENAPI)


urlpatterns = [path("api/books", books), path("openapi.json", openapi)]
'''


def django_perf_packet() -> dict[str, Any]:
    """The packet of the Django shelf: a list of books and the endpoint that adds one, no authentication."""
    return {
        "packet_version": "1.0",
        "project": {"name": "shelf", "description": "Django performance fixture backend"},
        "tech_stack": {"language": "python", "framework": "django", "orm": "django", "migrations": "django"},
        "api": {
            "base_path": "/api",
            "authentication": {"scheme": "none"},
            "endpoints": [
                {"method": "GET", "path": "/api/books", "authentication_required": False},
                {"method": "POST", "path": "/api/books", "authentication_required": False, "success_status": 201},
            ],
        },
    }


@pytest.fixture
def django_perf_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> PerfProject:
    """Write the Django shelf (``defect``: None or ``n_plus_one``), served as WSGI or ``asgi=True``; return its folder.

    Its database is ``database_url`` (a SQLite file or a PostgreSQL database), migrated when the app is imported.
    Run it with ``runpytest_subprocess``: Django is set up once per process.
    """
    from tests.e2e.data_backends import DJANGO_SETTINGS, MANAGE_PY

    def make(defect: str | None = None, *, database_url: str, asgi: bool = False) -> Path:
        assert defect is None or defect in DJANGO_DEFECTS, defect
        root = pytester.path
        shelf = root / "djsite" / "shelf"
        (shelf / "migrations").mkdir(parents=True, exist_ok=True)
        files = {
            root / "manage.py": MANAGE_PY,
            root / "djsite" / "__init__.py": "",
            root / "djsite" / "settings.py": DJANGO_SETTINGS,
            root / "djsite" / "wsgi.py": DJANGO_ENTRY.replace("__KIND__", "wsgi"),
            root / "djsite" / "asgi.py": DJANGO_ENTRY.replace("__KIND__", "asgi"),
            root / "djsite" / "urls.py": DJANGO_SHELF_URLS.replace("__DEFECT__", repr(defect)),
            shelf / "__init__.py": "",
            shelf / "models.py": DJANGO_SHELF_MODELS,
            shelf / "migrations" / "__init__.py": "",
            shelf / "migrations" / "0001_initial.py": DJANGO_SHELF_MIGRATION,
        }
        for path, content in files.items():
            path.write_text(content)
        write_packet(root, django_perf_packet())
        keys = {
            "backend_app": f"djsite.{'asgi' if asgi else 'wsgi'}:application",
            "backend_src": "djsite",
            "backend_no_fuzz": "true",
            "backend_no_quality": "true",
        }
        write_ini(root, keys)
        monkeypatch.setenv(DJANGO_DATABASE_VARIABLE, database_url)
        monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
        return root

    return make
