"""Check families. Each module returns :class:`CheckSpec` objects; pytest items only wrap them."""

from __future__ import annotations

from pytest_backend_agent.checks.base import CheckSpec, run_check
from pytest_backend_agent.checks.contract import contract_checks
from pytest_backend_agent.checks.data import data_checks
from pytest_backend_agent.packet.model import Packet

__all__ = ["CheckSpec", "gate_checks", "run_check"]


def gate_checks(packet: Packet) -> list[CheckSpec]:
    """Every gate check for ``packet``, in a stable order (xdist workers must collect identical items)."""
    return [*contract_checks(packet), *data_checks(packet)]
