"""Test configuration for Bookshelf and credentials for the pytest-backend-agent gate.

The environment is prepared at import time, before ``bookshelf.main`` is imported, so
every pytest process (including each xdist worker) gets its own throw-away SQLite
database, JWT secret and bootstrap accounts with random passwords.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

_MARKER = "BOOKSHELF_TEST_ENV_SET_BY"


def _prepare_environment() -> list[dict[str, str]]:
    """Fill in missing ``BOOKSHELF_*`` variables and return the configured bootstrap users.

    Values set explicitly by the user are kept (``setdefault``). Values that a parent
    pytest process invented (xdist workers inherit the controller's environment) are
    dropped first, so each process gets its own database, secret and passwords.
    """
    owner, _, names = os.environ.get(_MARKER, "").partition(":")
    if owner and owner != str(os.getpid()):
        for name in filter(None, names.split(",")):
            os.environ.pop(name, None)
    users = [
        {"email": f"{name}@bookshelf.test", "password": secrets.token_urlsafe(16), "role": role}
        for name, role in (("member", "member"), ("librarian", "librarian"), ("member2", "member"))
    ]
    defaults = {
        "BOOKSHELF_DATABASE_URL": lambda: (
            f"sqlite:///{Path(tempfile.mkdtemp(prefix='bookshelf-test-')) / 'bookshelf.db'}"
        ),
        "BOOKSHELF_JWT_SECRET": lambda: secrets.token_urlsafe(32),
        "BOOKSHELF_BOOTSTRAP_USERS": lambda: json.dumps(users),
    }
    set_here = [name for name in defaults if name not in os.environ]
    for name in set_here:
        os.environ.setdefault(name, defaults[name]())
    os.environ[_MARKER] = f"{os.getpid()}:{','.join(set_here)}"
    return [dict(user) for user in json.loads(os.environ["BOOKSHELF_BOOTSTRAP_USERS"])]


def _nth_per_role(users: list[dict[str, str]], n: int) -> dict[str, dict[str, str]]:
    """The ``n``-th configured account (0-based) of each role that has one."""
    by_role: dict[str, list[dict[str, str]]] = {}
    for user in users:
        by_role.setdefault(user["role"], []).append(user)
    return {role: accounts[n] for role, accounts in by_role.items() if len(accounts) > n}


_ACCOUNTS = _prepare_environment()
# The first configured account of each role is the one the tests log in with; a second
# one of the same role (member2) is the other caller the gate's object_access check uses.
BOOTSTRAP: dict[str, dict[str, str]] = _nth_per_role(_ACCOUNTS, 0)
SECOND: dict[str, dict[str, str]] = _nth_per_role(_ACCOUNTS, 1)


def _log_in(backend: Any, user: dict[str, str] | None) -> dict[str, str] | None:
    if user is None:
        return None
    response = backend.request(
        "POST",
        "/api/v1/auth/token",
        json={"email": user["email"], "password": user["password"]},
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.hookimpl(optionalhook=True)
def pytest_backend_auth_headers(role: str, backend: Any) -> dict[str, str] | None:
    """Log in as the bootstrap user for ``role`` and return its Authorization header."""
    return _log_in(backend, BOOTSTRAP.get(role))


@pytest.hookimpl(optionalhook=True)
def pytest_backend_other_auth_headers(role: str, backend: Any) -> dict[str, str] | None:
    """Log in as a second bootstrap user of ``role`` (another caller of the same role)."""
    return _log_in(backend, SECOND.get(role))


@pytest.hookimpl(optionalhook=True)
def pytest_backend_expired_auth_headers(role: str, backend: Any) -> dict[str, str] | None:
    """An access token for ``role`` that expired an hour ago, signed with the app's real secret."""
    import jwt

    from bookshelf.security import create_access_token

    headers = pytest_backend_auth_headers(role, backend)
    if headers is None:
        return None
    claims = jwt.decode(
        headers["Authorization"].split(" ", 1)[1], options={"verify_signature": False}
    )
    issued = datetime.now(UTC) - timedelta(hours=2)
    token = create_access_token(
        str(claims["sub"]), role, os.environ["BOOKSHELF_JWT_SECRET"], 3600, now=issued
    )
    return {"Authorization": f"Bearer {token}"}


# --- fixtures for the project's own tests -------------------------------------------


@pytest.fixture(scope="session")
def credentials() -> dict[str, dict[str, str]]:
    """The bootstrap accounts (email, password, role) keyed by role."""
    return BOOTSTRAP


@pytest.fixture(scope="session")
def api_client() -> Iterator[Any]:
    """A TestClient on an app configured from the environment like the module-level one.

    The limiter is off here. The module-level ``bookshelf.main:app`` keeps its 60/60 limiter: that
    is the app the gate checks. All requests of this TestClient come from one address, so the
    project's own tests switch the limiter off.
    """
    from dataclasses import replace

    from fastapi.testclient import TestClient

    from bookshelf.main import create_app
    from bookshelf.settings import Settings

    with TestClient(create_app(replace(Settings.from_env(), rate_limit="off"))) as client:
        yield client


def _login(client: Any, user: dict[str, str]) -> dict[str, str]:
    response = client.post(
        "/api/v1/auth/token", json={"email": user["email"], "password": user["password"]}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="session")
def auth_headers(api_client: Any) -> dict[str, dict[str, str]]:
    """Authorization headers for the shared client, keyed by role."""
    return {role: _login(api_client, user) for role, user in BOOTSTRAP.items()}


@pytest.fixture()
def make_client(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Factory for a TestClient on a fresh app with its own database.

    Keyword arguments override :class:`bookshelf.settings.Settings` fields; the
    client has a ``headers_for(role)`` helper attribute.
    """
    from fastapi.testclient import TestClient

    from bookshelf.main import create_app
    from bookshelf.settings import BootstrapUser, Settings

    stack = ExitStack()
    counter = iter(range(1_000_000))

    def factory(*, raise_server_exceptions: bool = True, **overrides: Any) -> Any:
        values: dict[str, Any] = {
            "database_url": f"sqlite:///{tmp_path / f'app{next(counter)}.db'}",
            "jwt_secret": secrets.token_urlsafe(32),
            "rate_limit": "off",
            "bootstrap_users": tuple(BootstrapUser(**user) for user in BOOTSTRAP.values()),
        }
        values.update(overrides)
        app = create_app(Settings(**values))
        client = stack.enter_context(
            TestClient(app, raise_server_exceptions=raise_server_exceptions)
        )
        client.headers_for = lambda role: _login(client, BOOTSTRAP[role])
        return client

    with stack:
        yield factory
