"""Hooks a project's conftest.py can implement to help the gate.

Implement them with ``@pytest.hookimpl(optionalhook=True)`` so the conftest still loads where the plugin
is not installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_backend_agent.backend.client import Backend

__all__ = [
    "pytest_backend_auth_headers",
    "pytest_backend_expired_auth_headers",
    "pytest_backend_other_auth_headers",
    "pytest_backend_reset_state",
    "pytest_backend_seed",
]


@pytest.hookspec(firstresult=True)
def pytest_backend_auth_headers(role: str, backend: Backend, config: pytest.Config) -> dict[str, str] | None:
    """Return the HTTP headers that authenticate as ``role``, or None when this conftest has none.

    ``role`` is a role name from the packet's ``api.roles`` (or ``"default"`` for an endpoint that needs
    authentication but names no role). ``backend.request(method, path, json=..., headers=..., params=...)``
    reaches the gated backend, so a conftest can log in through the API itself. The gate treats every
    header value returned here as a secret: it never appears in any output.
    """


@pytest.hookspec(firstresult=True)
def pytest_backend_expired_auth_headers(role: str, backend: Backend, config: pytest.Config) -> dict[str, str] | None:
    """Return headers carrying an EXPIRED credential for ``role`` (signed with the backend's real key), or None.

    The gate cannot sign a token with the backend's secret, so it can only prove that expired tokens are
    refused when the project hands it one (e.g. ``create_access_token(..., now=past)``). Without this hook,
    the expired-token probe of ``security.authn`` is reported as not verified. Values are treated as secrets.
    """


@pytest.hookspec(firstresult=True)
def pytest_backend_other_auth_headers(role: str, backend: Backend, config: pytest.Config) -> dict[str, str] | None:
    """Return headers of a SECOND identity of ``role``, another user than ``pytest_backend_auth_headers``'s, or None.

    ``security.object_access`` creates a resource as the first identity and calls it as this one, on every endpoint
    the packet marks ``owner_scoped``: one caller must not reach what another caller of the same role created.
    Without this hook (or ``BACKEND_AGENT_OTHER_TOKEN_<ROLE>``) those items are not verified. Values are treated
    as secrets.
    """


@pytest.hookspec
def pytest_backend_reset_state(backend: Backend, config: pytest.Config, operation: str) -> None:
    """Bring the backend's data back to a known state before the gate fuzzes ``operation`` (``METHOD /path``).

    Called before each fuzz item and each ``security.object_access`` item (``operation`` is then
    ``object_access[METHOD /path]``) when a conftest implements it, e.g. to truncate tables of a throw-away database
    or re-create the users whose credentials the gate uses. Fuzzing creates, changes and deletes data.
    """


@pytest.hookspec(firstresult=True)
def pytest_backend_seed(resource: str, count: int, backend: Backend, config: pytest.Config) -> int | None:
    """Add ``count`` rows behind the list endpoint ``resource`` (its packet path, e.g. ``/api/v1/books``).

    The performance checks need rows to list (N+1 queries, pagination). They create them through the packet's
    own ``POST resource`` when no implementation of this hook answers; implement it for data the API cannot
    create (rows imported by a job, read-only lists) or to make it faster. Return how many rows were added, or
    None to leave ``resource`` to the gate. The rows must be visible to the roles the packet lets list it.
    """
