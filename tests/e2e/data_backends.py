"""Fixture backends for the data family: a catalog API on SQLAlchemy + Alembic, and one on Django.

``data_project(defect=..., database_url=...)`` writes a FastAPI app whose models live in ``catalog_app/main.py``,
Alembic migrations in ``migrations/`` (``alembic.ini`` at the root) and the packet; the app reads its database
from ``CATALOG_DATABASE_URL``, which the factory sets (pytest's ``monkeypatch``) before the gate imports the app.
Defects: ``unmigrated_column`` (``Author.country`` is in the model and the packet, no migration adds it),
``missing_model`` (the packet names a ``Review`` model the code lacks), ``fk_unindexed`` (``books.author_id`` has
no index, in the model and the migration), ``mismatch`` (``Book.price`` an integer where the packet says decimal,
``Book.title`` nullable where it says not, ``Book.isbn`` not unique where it says unique).

``django_project(defect=..., database_url=...)`` writes a Django project (``manage.py``, ``djsite``, app
``djsite.shelf``) reading ``SHELF_DATABASE_URL``; defect ``missing_migration`` adds ``Book.pages`` with no
migration.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.backends import write_ini, write_packet

if TYPE_CHECKING:
    from tests.postgres import PostgresServer

CATALOG_APP = """import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from decimal import Decimal

from fastapi import FastAPI
from sqlalchemy import ForeignKey, Numeric, String, create_engine, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

DEFECT = __DEFECT__
engine = create_engine(os.environ.get("CATALOG_DATABASE_URL", "sqlite:///catalog.db"))


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "authors"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)


class Book(Base):
    __tablename__ = "books"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300), nullable=DEFECT == "mismatch")
    isbn: Mapped[str] = mapped_column(String(13), unique=DEFECT != "mismatch")
    if DEFECT == "mismatch":
        price: Mapped[int] = mapped_column()
    else:
        price: Mapped[Decimal] = mapped_column(Numeric(8, 2))  # type: ignore[no-redef]
    author_id: Mapped[int] = mapped_column(
        ForeignKey("authors.id"), index=DEFECT != "fk_unindexed"
    )
    published: Mapped[date | None] = mapped_column(nullable=True)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    with engine.connect() as connection:  # the configured database answers
        connection.execute(text("SELECT 1"))
    yield
    engine.dispose()


app = FastAPI(lifespan=lifespan)


@app.get("/api/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
"""

ALEMBIC_INI = """[alembic]
script_location = %(here)s/migrations
prepend_sys_path = .
path_separator = os
"""

ENV_PY = """import os

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from catalog_app.main import Base

config = context.config
target_metadata = Base.metadata


def run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


handed = config.attributes.get("connection")
if isinstance(handed, Connection):
    run(handed)
else:
    engine = create_engine(os.environ["CATALOG_DATABASE_URL"], poolclass=pool.NullPool)
    with engine.begin() as connection:
        run(connection)
    engine.dispose()
"""

MIGRATION = '''"""Create the authors and books tables."""

import sqlalchemy as sa
from alembic import op

DEFECT = __DEFECT__
revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    author_columns = [
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
    ]
    if DEFECT != "unmigrated_column":
        author_columns.append(sa.Column("country", sa.String(2), nullable=True))
    op.create_table("authors", *author_columns)
    op.create_table(
        "books",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(300), nullable=DEFECT == "mismatch"),
        sa.Column("isbn", sa.String(13), nullable=False, unique=DEFECT != "mismatch"),
        sa.Column(
            "price",
            sa.Integer() if DEFECT == "mismatch" else sa.Numeric(8, 2),
            nullable=False,
        ),
        sa.Column(
            "author_id", sa.Integer(), sa.ForeignKey("authors.id"), nullable=False
        ),
        sa.Column("published", sa.Date(), nullable=True),
    )
    if DEFECT != "fk_unindexed":
        op.create_index("ix_books_author_id", "books", ["author_id"])


def downgrade() -> None:
    op.drop_table("books")
    op.drop_table("authors")
'''


def data_packet(framework: str = "fastapi") -> dict[str, Any]:
    """The packet both catalog backends are built from."""
    django = framework == "django"
    return {
        "packet_version": "1.0",
        "project": {"name": "catalog", "description": "data fixture backend"},
        "tech_stack": {
            "language": "python",
            "framework": framework,
            "orm": "django" if django else "sqlalchemy",
            "migrations": "django" if django else "alembic",
        },
        "api": {
            "base_path": "/api",
            "authentication": {"scheme": "none"},
            "endpoints": [
                {"method": "GET", "path": "/api/health", "description": "Liveness", "authentication_required": False}
            ],
        },
        "data_models": [
            {
                "name": "Author",
                "table": "authors",
                "fields": [
                    {"name": "id", "type": "integer", "primary_key": True},
                    {"name": "name", "type": "string", "nullable": False},
                    {"name": "email", "type": "string", "unique": True},
                    *([] if django else [{"name": "country", "type": "string", "nullable": True}]),
                ],
            },
            {
                "name": "Book",
                "table": "books",
                "fields": [
                    {"name": "id", "type": "integer", "primary_key": True},
                    {"name": "title", "type": "string", "nullable": False},
                    {"name": "isbn", "type": "string", "unique": True},
                    {"name": "price", "type": "decimal"},
                    {"name": "author_id", "type": "integer", "foreign_key": "authors.id", "indexed": True},
                    *([] if django else [{"name": "published", "type": "date", "nullable": True}]),
                ],
            },
        ],
    }


REVIEW_MODEL = {
    "name": "Review",
    "table": "reviews",
    "fields": [
        {"name": "id", "type": "integer", "primary_key": True},
        {"name": "book_id", "type": "integer", "foreign_key": "books.id"},
    ],
}

DataProject = Callable[..., Path]


def _render(template: str, defect: str | None) -> str:
    return template.replace("__DEFECT__", json.dumps(defect or ""))


@pytest.fixture
def data_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> DataProject:
    """Write the SQLAlchemy + Alembic catalog backend, clean or with one defect; return its folder."""

    def make(
        defect: str | None = None,
        *,
        database_url: str,
        packet: dict[str, Any] | None = None,
        ini: dict[str, str] | None = None,
    ) -> Path:
        root = pytester.path
        (root / "catalog_app").mkdir(exist_ok=True)
        (root / "catalog_app" / "__init__.py").write_text("")
        (root / "catalog_app" / "main.py").write_text(_render(CATALOG_APP, defect))
        (root / "alembic.ini").write_text(ALEMBIC_INI)
        (root / "migrations" / "versions").mkdir(parents=True, exist_ok=True)
        (root / "migrations" / "env.py").write_text(ENV_PY)
        (root / "migrations" / "versions" / "0001_initial.py").write_text(_render(MIGRATION, defect))
        if packet is None:
            packet = data_packet()
            if defect == "missing_model":
                packet["data_models"].append(copy.deepcopy(REVIEW_MODEL))
        write_packet(root, packet)
        write_ini(
            root,
            {
                "backend_app": "catalog_app.main:app",
                "backend_src": "catalog_app",
                "backend_no_fuzz": "true",
                "backend_no_quality": "true",
                **(ini or {}),
            },
        )
        monkeypatch.setenv("CATALOG_DATABASE_URL", database_url)
        return root

    return make


MANAGE_PY = """import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djsite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""

DJANGO_SETTINGS = """import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ.get("SHELF_SECRET_KEY", "fixture-only-" + "k" * 40)
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "djsite.urls"
INSTALLED_APPS = ["djsite.shelf"]
MIDDLEWARE: list[str] = []
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def database(url: str) -> dict[str, Any]:
    if url.startswith("sqlite:///"):
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": url.removeprefix("sqlite:///"),
        }
    parts = urlsplit(url)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/"),
        "USER": parts.username or "",
        "PASSWORD": parts.password or "",
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }


DATABASES = {
    "default": database(
        os.environ.get("SHELF_DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
    )
}
"""

DJANGO_WSGI = """import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djsite.settings")
application = get_wsgi_application()
"""

DJANGO_URLS = """from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import path


def health(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:  # the configured database answers
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


urlpatterns = [path("api/health", health)]
"""

DJANGO_MODELS = """from django.db import models

DEFECT = __DEFECT__


class Author(models.Model):
    name = models.CharField(max_length=200)
    email = models.EmailField(max_length=320, unique=True)

    class Meta:
        db_table = "authors"


class Book(models.Model):
    title = models.CharField(max_length=300)
    isbn = models.CharField(max_length=13, unique=True)
    price = models.DecimalField(max_digits=8, decimal_places=2)
    author = models.ForeignKey(Author, on_delete=models.CASCADE)
    if DEFECT == "missing_migration":
        pages = models.IntegerField(null=True)

    class Meta:
        db_table = "books"
"""

DJANGO_MIGRATION = """import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.CreateModel(
            name="Author",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("name", models.CharField(max_length=200)),
                ("email", models.EmailField(max_length=320, unique=True)),
            ],
            options={"db_table": "authors"},
        ),
        migrations.CreateModel(
            name="Book",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("title", models.CharField(max_length=300)),
                ("isbn", models.CharField(max_length=13, unique=True)),
                ("price", models.DecimalField(decimal_places=2, max_digits=8)),
                (
                    "author",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, to="shelf.author"
                    ),
                ),
            ],
            options={"db_table": "books"},
        ),
    ]
"""


@pytest.fixture
def django_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> DataProject:
    """Write the Django catalog backend, clean or with ``missing_migration``; return its folder. Run it with
    ``runpytest_subprocess``: Django is set up once per process."""

    def make(defect: str | None = None, *, database_url: str) -> Path:
        root = pytester.path
        app = root / "djsite" / "shelf"
        (app / "migrations").mkdir(parents=True, exist_ok=True)
        files = {
            root / "manage.py": MANAGE_PY,
            root / "djsite" / "__init__.py": "",
            root / "djsite" / "settings.py": DJANGO_SETTINGS,
            root / "djsite" / "wsgi.py": DJANGO_WSGI,
            root / "djsite" / "urls.py": DJANGO_URLS,
            app / "__init__.py": "",
            app / "models.py": _render(DJANGO_MODELS, defect),
            app / "migrations" / "__init__.py": "",
            app / "migrations" / "0001_initial.py": DJANGO_MIGRATION,
        }
        for path, text in files.items():
            path.write_text(text)
        write_packet(root, data_packet("django"))
        write_ini(
            root,
            {
                "backend_app": "djsite.wsgi:application",
                "backend_src": "djsite",
                "backend_no_fuzz": "true",
                "backend_no_quality": "true",
            },
        )
        monkeypatch.setenv("SHELF_DATABASE_URL", database_url)
        monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
        return root

    return make


@pytest.fixture
def scratch_db(database_url: str, request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None on SQLite (the gate's default scratch SQLite file); on PostgreSQL, a second fresh database on the same
    server for ``--backend-scratch-db``, dropped afterwards."""
    if database_url.startswith("sqlite"):
        yield None
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database()
    try:
        yield url
    finally:
        server.drop_database(url)
