"""pytest entry point (``-p no:backend_agent`` disables it). Wiring only, and nothing heavy at import time.

Without ``--backend-report`` the plugin only declares its options and hooks: no packet is read, no backend is
touched, and neither pydantic nor Schemathesis is imported.
"""

from __future__ import annotations

import pytest

from pytest_backend_agent.options import add_options, gate_requested

__all__ = ["GATE_PLUGIN_NAME"]

GATE_PLUGIN_NAME = "backend-gate"


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    """Declare the hooks a conftest can implement (credentials per role)."""
    from pytest_backend_agent import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Declare ``--backend-report`` and the ``--backend-*`` options with their ini twins."""
    add_options(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """With the gate on, start measuring coverage before conftest files can import the backend."""
    namespace = early_config.known_args_namespace
    if not gate_requested(early_config, namespace):
        return
    from pytest_backend_agent.checks.own_tests import start_early

    start_early(early_config, namespace)


def pytest_configure(config: pytest.Config) -> None:
    """Register the gate when ``--backend-report`` (or ``--backend-verify``) is given; bad input stops the run with a
    clear error."""
    config.addinivalue_line("markers", "backend_gate: a check added by the backend gate (pytest-backend-agent)")
    for family in ("contract", "data", "fuzz", "security", "quality", "performance", "verify"):
        config.addinivalue_line("markers", f"{family}: backend gate checks of the {family} family")
    if not gate_requested(config):
        return
    from pytest_backend_agent.gate import GatePlugin

    config.pluginmanager.register(GatePlugin.from_config(config), GATE_PLUGIN_NAME)
