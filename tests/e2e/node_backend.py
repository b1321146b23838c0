"""A backend in another language: an items API on Node.js' standard library, gated over HTTP.

``node_project(defect=...)`` writes into the pytester folder ``server.js`` (from ``node_server.js`` beside this
module), the architecture packet it is gated against (its ``token_endpoint`` is ``POST /api/login``) and the ini
keys that start it with ``node server.js``; no Python file at all. The server reads its port from ``PORT`` and its
users from ``ITEMS_<ROLE>_EMAIL`` and ``ITEMS_<ROLE>_PASSWORD``, which the fixture sets to fresh random values, and
the gate logs in as them from ``BACKEND_AGENT_USER_<ROLE>`` and ``BACKEND_AGENT_PASSWORD_<ROLE>``, set to the same.
``conftest=True`` adds the conftest a Node project needed before the gate could log in by itself.

Defects, one at a time (``DEFECT`` in the server):

- ``qty_unchecked``: ``POST /api/items`` accepts a ``qty`` above its declared maximum (1000) with 201;
- ``auth_ignored``: ``GET /api/items`` answers without a token, as a reader;
- ``stack_trace``: a body that is not JSON, or an ``item_id`` that is not an integer, escapes as an exception and
  the 500 answer carries its stack trace.

Node is required: the tests skip, saying so, when ``node`` is not on PATH, unless ``BACKEND_AGENT_REQUIRE_NODE=1``
(set by ``.ci/run``), which turns the skip into a failure so CI cannot pass without them.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.backends import write_ini, write_packet

__all__ = ["NODE_USERS", "NodeProject", "items_packet", "login", "node_project", "require_node"]

REQUIRE_VARIABLE = "BACKEND_AGENT_REQUIRE_NODE"
SERVER = Path(__file__).with_name("node_server.js")
ROLES = ("reader", "editor")
NODE_USERS = tuple((role, f"ITEMS_{role.upper()}_EMAIL", f"ITEMS_{role.upper()}_PASSWORD") for role in ROLES)

CONFTEST = '''"""Credentials for the backend gate: log in as each role with the users the environment names."""

import os

import pytest


@pytest.hookimpl(optionalhook=True)
def pytest_backend_auth_headers(role, backend):
    email = os.environ.get(f"ITEMS_{role.upper()}_EMAIL")
    password = os.environ.get(f"ITEMS_{role.upper()}_PASSWORD")
    if not email or not password:
        return None
    answer = backend.request("POST", "/api/login", json={"email": email, "password": password})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}
'''

NodeProject = Callable[..., Path]


def require_node() -> str:
    """The path of ``node``; skip the test without it (fail instead under ``BACKEND_AGENT_REQUIRE_NODE=1``)."""
    node = shutil.which("node")
    if node is None:
        reason = "Node.js is not installed (no node on PATH): install it (Debian: apt-get install nodejs)"
        if os.environ.get(REQUIRE_VARIABLE) == "1":
            pytest.fail(f"{reason}; {REQUIRE_VARIABLE}=1 requires it", pytrace=False)
        pytest.skip(reason)
    return node


def items_packet() -> dict[str, Any]:
    """The packet the Node items API is built from."""
    return {
        "packet_version": "1.0",
        "project": {"name": "items", "description": "a Node.js backend on the standard library"},
        "tech_stack": {"language": "javascript", "framework": "node:http"},
        "api": {
            "base_path": "/api",
            "authentication": {"scheme": "bearer", "token_endpoint": "/api/login"},
            "roles": list(ROLES),
            "error_format": "application/json",
            "endpoints": [
                {"method": "GET", "path": "/api/health", "description": "Liveness", "authentication_required": False},
                {
                    "method": "POST",
                    "path": "/api/login",
                    "description": "Exchange email and password for a bearer token",
                    "authentication_required": False,
                },
                {
                    "method": "GET",
                    "path": "/api/items",
                    "description": "List items",
                    "authentication_required": True,
                    "roles": ["reader", "editor"],
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
                    "roles": ["reader", "editor"],
                },
            ],
        },
        "non_functional": {
            "latency_p95_ms": 500,
            "security_headers": ["X-Content-Type-Options", "X-Frame-Options"],
        },
    }


def login(base_url: str, role: str) -> str:
    """A fresh bearer token for ``role`` from the server at ``base_url`` (the users the fixture set)."""
    import httpx

    _, email, password = next(user for user in NODE_USERS if user[0] == role)
    answer = httpx.post(
        f"{base_url}/api/login", json={"email": os.environ[email], "password": os.environ[password]}, trust_env=False
    )
    answer.raise_for_status()
    token: str = answer.json()["access_token"]
    return token


@pytest.fixture
def node_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> NodeProject:
    """Write the Node items API with its packet and ini keys; return its folder.

    ``defect``: None (clean) or one of the module docstring's defects. ``ini``: more ini keys, or others.
    ``conftest``: also write the conftest that logs in through the credentials hook.
    """
    require_node()
    for role, email, password in NODE_USERS:
        monkeypatch.setenv(email, f"{role}@items.test")
        monkeypatch.setenv(password, secrets.token_urlsafe(16))
        monkeypatch.setenv(f"BACKEND_AGENT_USER_{role.upper()}", os.environ[email])
        monkeypatch.setenv(f"BACKEND_AGENT_PASSWORD_{role.upper()}", os.environ[password])

    def make(defect: str | None = None, *, ini: dict[str, str] | None = None, conftest: bool = False) -> Path:
        root = pytester.path
        server = SERVER.read_text(encoding="utf-8").replace("__DEFECT__", json.dumps(defect or ""))
        (root / "server.js").write_text(server, encoding="utf-8")
        if conftest:
            (root / "conftest.py").write_text(CONFTEST)
        write_packet(root, items_packet())
        keys = {
            "backend_command": "node server.js",
            "backend_no_quality": "true",
            "backend_fuzz_seed": "7",
            **(ini or {}),
        }
        write_ini(root, keys, pythonpath=False)
        return root

    return make
