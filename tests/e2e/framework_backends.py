"""Fixture backends on frameworks beside FastAPI and Flask: one inventory API written twice, on Starlette and Django.

Both apps serve the same API, described by one OpenAPI document (:func:`items_openapi`, written next to the app as
``openapi.json`` and served at ``/openapi.json``) and gated against one packet (:func:`items_packet`):

- ``GET /api/health``;
- ``POST /api/login``: JSON ``email`` + ``password`` -> ``{"access_token": <HS256 JWT>}``, signed with
  ``ITEMS_JWT_SECRET``; the users' passwords come from ``ITEMS_READER_PASSWORD`` / ``ITEMS_EDITOR_PASSWORD``;
- ``GET /api/items`` (roles ``reader``, ``editor``), ``POST /api/items`` (``editor``, 201),
  ``GET /api/items/{item_id}`` (404 when missing), kept in SQLite.

The users, tokens and input validation are one plain module both packages share (``accounts.py``); each framework
adds its own routing, ORM and error pages (Starlette: SQLAlchemy on an in-memory database, the framework's plain
text 404/405; Django: its ORM on a SQLite file migrated at start-up, the default middleware stack with CSRF, its
HTML error pages). The conftest logs in through the API (``pytest_backend_auth_headers``) and signs expired tokens
with the app's key (``pytest_backend_expired_auth_headers``).

Defects (``__DEFECT__``, one at a time): Starlette ``list_ignores_missing_token`` (``GET /api/items`` answers a
request without a token); Django ``ascii_labels`` (``POST /api/items`` answers 500 for a name outside Latin-1).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.backends import render, write_ini, write_packet

STARLETTE_DEFECTS = ("list_ignores_missing_token",)
DJANGO_DEFECTS = ("ascii_labels",)

ACCOUNTS = '''"""Users, password hashes, bearer tokens and input validation, independent of the web framework."""

import hashlib
import hmac
import json
import os
import secrets
import time
from typing import Any

import jwt

ROLES = ("reader", "editor")
SECRET = os.environ["ITEMS_JWT_SECRET"]
TOKEN_SECONDS = 3600
MAX_ID = 2**63 - 1


class Invalid(Exception):
    """Input the API refuses: ``status`` 400 (not JSON) or 422 (JSON of the wrong shape)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 60_000)


def _users() -> dict[str, tuple[str, bytes, bytes]]:
    users = {}
    for role in ROLES:
        password = os.environ.get(f"ITEMS_{role.upper()}_PASSWORD")
        if password:
            salt = secrets.token_bytes(16)
            users[f"{role}@example.com"] = (role, salt, _hash(password, salt))
    return users


USERS = _users()


def parse_json(raw: bytes) -> Any:
    """The JSON document ``raw`` holds."""
    try:
        return json.loads(raw)
    except ValueError:
        raise Invalid(400, "the body is not a JSON document") from None


def _text(body: dict[str, Any], name: str, low: int, high: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not low <= len(value) <= high:
        raise Invalid(422, f"{name} must be a string of {low} to {high} characters")
    return value


def _object(body: Any, fields: set[str]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Invalid(422, "the body must be a JSON object")
    if set(body) - fields:
        raise Invalid(422, "the body has fields the API does not know")
    return body


def item_fields(body: Any) -> tuple[str, int]:
    """The name and quantity of a new item, as the OpenAPI document's ItemIn schema allows them."""
    body = _object(body, {"name", "quantity"})
    name = _text(body, "name", 1, 100)
    quantity = body.get("quantity")
    if isinstance(quantity, float) and quantity.is_integer():
        quantity = int(quantity)
    if (
        isinstance(quantity, bool)
        or not isinstance(quantity, int)
        or not 0 <= quantity <= 1000
    ):
        raise Invalid(422, "quantity must be an integer from 0 to 1000")
    return name, quantity


def login(body: Any) -> str | None:
    """A fresh token for the credentials in ``body``, or None when they are wrong."""
    body = _object(body, {"email", "password"})
    email = _text(body, "email", 3, 254)
    password = _text(body, "password", 1, 128)
    user = USERS.get(email)
    if user is None:
        return None
    role, salt, digest = user
    if not hmac.compare_digest(_hash(password, salt), digest):
        return None
    now = int(time.time())
    claims = {"sub": email, "role": role, "iat": now, "exp": now + TOKEN_SECONDS}
    return jwt.encode(claims, SECRET, algorithm="HS256")


def role_of(authorization: str | None) -> str | None:
    """The role a valid ``Authorization: Bearer <jwt>`` header carries, or None."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        claims = jwt.decode(
            token, SECRET, algorithms=["HS256"], options={"require": ["exp", "sub"]}
        )
    except jwt.PyJWTError:
        return None
    role = claims.get("role")
    return role if role in ROLES else None


def refusal(authorization: str | None, *roles: str) -> tuple[int, str] | None:
    """(401 or 403, why) when the caller may not call an endpoint open to ``roles``; None when it may."""
    role = role_of(authorization)
    if role is None:
        return 401, "a valid bearer token is required"
    if role not in roles:
        return 403, "this role may not call this endpoint"
    return None
'''

STARLETTE_APP = '''"""The inventory API on Starlette, with SQLAlchemy on an in-memory SQLite database."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import StaticPool
from starlette.applications import Starlette
from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from __MODULE__.accounts import MAX_ID, Invalid, item_fields, login, parse_json, refusal

DEFECT = __DEFECT__
OPENAPI = json.loads(Path(__file__).with_name("openapi.json").read_text())
engine = create_engine(
    "sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool
)


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column()


def as_json(item: Item) -> dict[str, Any]:
    return {"id": item.id, "name": item.name, "quantity": item.quantity}


def problem(status: int, detail: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def refused(request: Request, *roles: str) -> JSONResponse | None:
    answer = refusal(request.headers.get("authorization"), *roles)
    return problem(*answer) if answer else None


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def openapi(request: Request) -> Response:
    return JSONResponse(OPENAPI)


async def log_in(request: Request) -> Response:
    try:
        token = login(parse_json(await request.body()))
    except Invalid as error:
        return problem(error.status, error.detail)
    if token is None:
        return problem(401, "wrong email or password")
    return JSONResponse({"access_token": token, "token_type": "bearer"})


class Items(HTTPEndpoint):
    async def get(self, request: Request) -> Response:
        anonymous = "authorization" not in request.headers
        if not (DEFECT == "list_ignores_missing_token" and anonymous):
            denied = refused(request, "reader", "editor")
            if denied:
                return denied
        with Session(engine) as session:
            items = session.scalars(select(Item).order_by(Item.id)).all()
            return JSONResponse([as_json(item) for item in items])

    async def post(self, request: Request) -> Response:
        denied = refused(request, "editor")
        if denied:
            return denied
        try:
            name, quantity = item_fields(parse_json(await request.body()))
        except Invalid as error:
            return problem(error.status, error.detail)
        with Session(engine, expire_on_commit=False) as session:
            item = Item(name=name, quantity=quantity)
            session.add(item)
            session.commit()
        return JSONResponse(as_json(item), status_code=201)


async def one_item(request: Request) -> Response:
    denied = refused(request, "reader", "editor")
    if denied:
        return denied
    item_id = request.path_params["item_id"]
    with Session(engine) as session:
        item = session.get(Item, item_id) if 0 < item_id <= MAX_ID else None
        if item is None:
            return problem(404, f"item {item_id} not found")
        return JSONResponse(as_json(item))


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    Base.metadata.create_all(engine)
    yield
    engine.dispose()


app = Starlette(
    routes=[
        Route("/api/health", health, methods=["GET"]),
        Route("/api/login", log_in, methods=["POST"]),
        Route("/api/items", Items),
        Route("/api/items/{item_id:int}", one_item, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False),
    ],
    lifespan=lifespan,
)
'''

MANAGE_PY = """import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djitems.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""

DJANGO_SETTINGS = """import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ["ITEMS_JWT_SECRET"]
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
ROOT_URLCONF = "djitems.urls"
INSTALLED_APPS = ["djitems.inventory"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("ITEMS_DATABASE", str(BASE_DIR / "items.sqlite3")),
    }
}
"""

DJANGO_WSGI = """import os

from django.core.management import call_command
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djitems.settings")
application = get_wsgi_application()
# the schema is current before the first request
call_command("migrate", interactive=False, verbosity=0)
"""

DJANGO_URLS = """from django.urls import path

from djitems.inventory import views

urlpatterns = [
    path("api/health", views.health),
    path("api/login", views.log_in),
    path("api/items", views.items),
    path("api/items/<int:item_id>", views.one_item),
    path("openapi.json", views.openapi),
]
"""

DJANGO_MODELS = """from django.db import models


class Item(models.Model):
    name = models.CharField(max_length=100)
    quantity = models.IntegerField()

    class Meta:
        db_table = "items"
"""

DJANGO_MIGRATION = """from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.CreateModel(
            name="Item",
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
                ("name", models.CharField(max_length=100)),
                ("quantity", models.IntegerField()),
            ],
            options={"db_table": "items"},
        ),
    ]
"""

DJANGO_VIEWS = '''"""The inventory API as plain Django views (a bearer-token API: no session, so no CSRF cookie)."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from djitems.accounts import MAX_ID, Invalid, item_fields, login, parse_json, refusal
from djitems.inventory.models import Item

DEFECT = __DEFECT__
OPENAPI = json.loads(Path(__file__).parents[1].joinpath("openapi.json").read_text())
View = Callable[..., HttpResponse]


def as_json(item: Item) -> dict[str, Any]:
    return {"id": item.id, "name": item.name, "quantity": item.quantity}


def problem(status: int, detail: str) -> JsonResponse:
    answer = JsonResponse({"detail": detail}, status=status)
    if status == 401:
        answer["WWW-Authenticate"] = "Bearer"
    return answer


def refused(request: HttpRequest, *roles: str) -> JsonResponse | None:
    answer = refusal(request.headers.get("Authorization"), *roles)
    return problem(*answer) if answer else None


def methods(**handlers: View) -> View:
    """One view answering each HTTP method with its handler, 405 (with Allow) otherwise."""

    @csrf_exempt
    def view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        handler = handlers.get(request.method or "")
        if handler is None:
            return HttpResponseNotAllowed(list(handlers))
        return handler(request, **kwargs)

    return view


def _health(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


def _openapi(request: HttpRequest) -> HttpResponse:
    return JsonResponse(OPENAPI)


def _log_in(request: HttpRequest) -> HttpResponse:
    try:
        token = login(parse_json(request.body))
    except Invalid as error:
        return problem(error.status, error.detail)
    if token is None:
        return problem(401, "wrong email or password")
    return JsonResponse({"access_token": token, "token_type": "bearer"})


def _list_items(request: HttpRequest) -> HttpResponse:
    denied = refused(request, "reader", "editor")
    if denied:
        return denied
    items = [as_json(item) for item in Item.objects.order_by("id")]
    return JsonResponse(items, safe=False)


def _label(name: str) -> str:
    if DEFECT == "ascii_labels":  # pragma: no cover - a defect's branch
        return name.encode("latin-1").decode("ascii", "replace")
    return name


def _add_item(request: HttpRequest) -> HttpResponse:
    denied = refused(request, "editor")
    if denied:
        return denied
    try:
        name, quantity = item_fields(parse_json(request.body))
    except Invalid as error:
        return problem(error.status, error.detail)
    item = Item.objects.create(name=_label(name), quantity=quantity)
    return JsonResponse(as_json(item), status=201)


def _one_item(request: HttpRequest, item_id: int) -> HttpResponse:
    denied = refused(request, "reader", "editor")
    if denied:
        return denied
    item = Item.objects.filter(pk=item_id).first() if 0 < item_id <= MAX_ID else None
    if item is None:
        return problem(404, f"item {item_id} not found")
    return JsonResponse(as_json(item))


health = methods(GET=_health)
openapi = methods(GET=_openapi)
log_in = methods(POST=_log_in)
items = methods(GET=_list_items, POST=_add_item)
one_item = methods(GET=_one_item)
'''

CONFTEST = """import os
import secrets
import time

for name in ("ITEMS_JWT_SECRET", "ITEMS_READER_PASSWORD", "ITEMS_EDITOR_PASSWORD"):
    os.environ.setdefault(name, secrets.token_urlsafe(24))

import jwt
import pytest

ROLES = ("reader", "editor")


@pytest.hookimpl(optionalhook=True)
def pytest_backend_auth_headers(role, backend):
    if role not in ROLES:
        return None
    password = os.environ[f"ITEMS_{role.upper()}_PASSWORD"]
    answer = backend.request(
        "POST", "/api/login", json={"email": f"{role}@example.com", "password": password}
    )
    if answer.status_code != 200:
        return None
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.hookimpl(optionalhook=True)
def pytest_backend_expired_auth_headers(role):
    if role not in ROLES:
        return None
    now = int(time.time())
    claims = {"sub": f"{role}@example.com", "role": role, "iat": now - 7200, "exp": now - 3600}
    token = jwt.encode(claims, os.environ["ITEMS_JWT_SECRET"], algorithm="HS256")
    return {"Authorization": f"Bearer {token}"}
"""


def items_openapi() -> dict[str, Any]:
    """The OpenAPI 3.0 document both apps serve: every status each operation answers, with its schema."""

    def answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"schema": schema}}}

    def error(description: str) -> dict[str, Any]:
        return answer(description, {"$ref": "#/components/schemas/Error"})

    def body(ref: str) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": {"$ref": ref}}}}

    item = {"$ref": "#/components/schemas/Item"}
    denied = {"401": error("Missing or invalid token"), "403": error("Role not allowed")}
    invalid = {"400": error("Body is not JSON"), "422": error("Body does not match the schema")}
    item_id = {"name": "item_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Inventory", "version": "1.0.0"},
        "paths": {
            "/api/health": {
                "get": {
                    "operationId": "health",
                    "responses": {"200": answer("Alive", {"$ref": "#/components/schemas/Health"})},
                }
            },
            "/api/login": {
                "post": {
                    "operationId": "login",
                    "requestBody": body("#/components/schemas/Credentials"),
                    "responses": {
                        "200": answer("A bearer token", {"$ref": "#/components/schemas/Token"}),
                        "401": error("Wrong email or password"),
                        **invalid,
                    },
                }
            },
            "/api/items": {
                "get": {
                    "operationId": "list_items",
                    "security": [{"bearer": []}],
                    "responses": {"200": answer("All items", {"type": "array", "items": item}), **denied},
                },
                "post": {
                    "operationId": "add_item",
                    "security": [{"bearer": []}],
                    "requestBody": body("#/components/schemas/ItemIn"),
                    "responses": {"201": answer("The new item", item), **denied, **invalid},
                },
            },
            "/api/items/{item_id}": {
                "get": {
                    "operationId": "get_item",
                    "security": [{"bearer": []}],
                    "parameters": [item_id],
                    "responses": {"200": answer("One item", item), **denied, "404": error("No such item")},
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {
                "Health": {
                    "type": "object",
                    "required": ["status"],
                    "properties": {"status": {"type": "string"}},
                },
                "Error": {"type": "object", "required": ["detail"], "properties": {"detail": {"type": "string"}}},
                "Credentials": {
                    "type": "object",
                    "required": ["email", "password"],
                    "additionalProperties": False,
                    "properties": {
                        "email": {"type": "string", "minLength": 3, "maxLength": 254},
                        "password": {"type": "string", "minLength": 1, "maxLength": 128},
                    },
                },
                "Token": {
                    "type": "object",
                    "required": ["access_token", "token_type"],
                    "properties": {"access_token": {"type": "string"}, "token_type": {"type": "string"}},
                },
                "ItemIn": {
                    "type": "object",
                    "required": ["name", "quantity"],
                    "additionalProperties": False,
                    "properties": {
                        "name": {"type": "string", "minLength": 1, "maxLength": 100},
                        "quantity": {"type": "integer", "minimum": 0, "maximum": 1000},
                    },
                },
                "Item": {
                    "type": "object",
                    "required": ["id", "name", "quantity"],
                    "properties": {
                        "id": {"type": "integer"},
                        "name": {"type": "string"},
                        "quantity": {"type": "integer"},
                    },
                },
            },
        },
    }


def items_packet(framework: str) -> dict[str, Any]:
    """The packet both inventory apps are built from; ``framework`` names the stack (``starlette`` or ``django``)."""
    django = framework == "django"
    both = ["reader", "editor"]
    return {
        "packet_version": "1.0",
        "project": {"name": "inventory", "description": f"{framework} fixture backend"},
        "tech_stack": {
            "language": "python",
            "framework": framework,
            "database": "sqlite",
            "orm": "django" if django else "sqlalchemy",
            **({"migrations": "django"} if django else {}),
        },
        "api": {
            "base_path": "/api",
            "authentication": {"scheme": "bearer-jwt", "token_endpoint": "/api/login"},
            "roles": both,
            "endpoints": [
                {"method": "GET", "path": "/api/health", "description": "Liveness", "authentication_required": False},
                {
                    "method": "POST",
                    "path": "/api/login",
                    "description": "Exchange email and password for a bearer token",
                    "authentication_required": False,
                    "success_status": 200,
                },
                {
                    "method": "GET",
                    "path": "/api/items",
                    "description": "List items",
                    "authentication_required": True,
                    "roles": both,
                },
                {
                    "method": "POST",
                    "path": "/api/items",
                    "description": "Add an item",
                    "authentication_required": True,
                    "roles": ["editor"],
                    "success_status": 201,
                },
                {
                    "method": "GET",
                    "path": "/api/items/{item_id}",
                    "description": "One item",
                    "authentication_required": True,
                    "roles": both,
                },
            ],
        },
        "data_models": [
            {
                "name": "Item",
                "table": "items",
                "fields": [
                    {"name": "id", "type": "integer", "primary_key": True},
                    {"name": "name", "type": "string"},
                    {"name": "quantity", "type": "integer"},
                ],
            }
        ],
        "non_functional": {"latency_p95_ms": 500},
    }


FrameworkProject = Callable[..., Path]


def _write(root: Path, files: dict[str, str], packet: dict[str, Any], keys: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    write_packet(root, packet)
    write_ini(root, keys)


def _ini(app: str, src: str, ini: dict[str, str] | None) -> dict[str, str]:
    """The whole gate with fuzzing on (default phases and examples), quality off, a fixed seed."""
    return {
        "backend_app": app,
        "backend_src": src,
        "backend_no_quality": "true",
        "backend_fuzz_seed": "7",
        **(ini or {}),
    }


@pytest.fixture
def starlette_project(pytester: pytest.Pytester) -> FrameworkProject:
    """Write the Starlette inventory backend (clean, or with one of :data:`STARLETTE_DEFECTS`); return its folder.

    Run it with ``runpytest_subprocess``: Hypothesis and Schemathesis keep process-wide state."""

    def make(defect: str | None = None, *, ini: dict[str, str] | None = None) -> Path:
        assert defect is None or defect in STARLETTE_DEFECTS, defect
        root = pytester.path
        files = {
            "star_items/__init__.py": "",
            "star_items/accounts.py": ACCOUNTS,
            "star_items/main.py": render(STARLETTE_APP, defect, "star_items"),
            "star_items/openapi.json": json.dumps(items_openapi(), indent=2),
            "conftest.py": CONFTEST,
        }
        _write(root, files, items_packet("starlette"), _ini("star_items.main:app", "star_items", ini))
        return root

    return make


@pytest.fixture
def django_items_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> FrameworkProject:
    """Write the Django inventory backend (clean, or with one of :data:`DJANGO_DEFECTS`); return its folder.

    Run it with ``runpytest_subprocess``: Django is set up once per process."""

    def make(defect: str | None = None, *, ini: dict[str, str] | None = None) -> Path:
        assert defect is None or defect in DJANGO_DEFECTS, defect
        root = pytester.path
        files = {
            "manage.py": MANAGE_PY,
            "djitems/__init__.py": "",
            "djitems/accounts.py": ACCOUNTS,
            "djitems/openapi.json": json.dumps(items_openapi(), indent=2),
            "djitems/settings.py": DJANGO_SETTINGS,
            "djitems/wsgi.py": DJANGO_WSGI,
            "djitems/urls.py": DJANGO_URLS,
            "djitems/inventory/__init__.py": "",
            "djitems/inventory/models.py": DJANGO_MODELS,
            "djitems/inventory/views.py": render(DJANGO_VIEWS, defect, "djitems"),
            "djitems/inventory/migrations/__init__.py": "",
            "djitems/inventory/migrations/0001_initial.py": DJANGO_MIGRATION,
            "conftest.py": CONFTEST,
        }
        _write(root, files, items_packet("django"), _ini("djitems.wsgi:application", "djitems", ini))
        monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
        return root

    return make
