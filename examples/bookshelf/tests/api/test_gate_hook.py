"""The ``pytest_backend_auth_headers`` hook in the root conftest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.api


class InProcessBackend:
    """Minimal stand-in for the plugin's ``backend`` object."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        return self.client.request(method, path, json=json, headers=headers, params=params)


def _root_conftest(config: pytest.Config) -> Any:
    expected = Path(config.rootpath) / "conftest.py"
    for plugin in config.pluginmanager.get_plugins():
        if Path(getattr(plugin, "__file__", "") or "") == expected:
            return plugin
    raise AssertionError("root conftest not registered")


@pytest.mark.parametrize("role", ["member", "librarian"])
def test_hook_returns_working_headers(
    request: pytest.FixtureRequest, api_client: Any, role: str
) -> None:
    hook = _root_conftest(request.config).pytest_backend_auth_headers
    headers = hook(role=role, backend=InProcessBackend(api_client))
    assert set(headers) == {"Authorization"}
    assert headers["Authorization"].startswith("Bearer ")
    assert api_client.get("/api/v1/loans", headers=headers).status_code == 200


def test_hook_returns_none_for_unknown_role(
    request: pytest.FixtureRequest, api_client: Any
) -> None:
    hook = _root_conftest(request.config).pytest_backend_auth_headers
    assert hook(role="admin", backend=InProcessBackend(api_client)) is None
