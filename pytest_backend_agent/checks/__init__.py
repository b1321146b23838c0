"""Check families. Each family returns :class:`CheckSpec` objects; pytest items only wrap them.

A family may also do work around the session:

- ``start`` runs once per session, when collection has ended, given the family's selected specs (none: not
  called): in the only process, or on the pytest-xdist controller once the first worker has collected (the
  controller runs no items, so it has time to spare). It starts slow tools through ``context.background``,
  whose results every process can read, so a tool runs once however many workers there are.
- ``process_start`` runs in every process that runs items, after collection and before its first test, before
  the gate opens the backend there: per-process observation of the project's own tests.
- ``around_test`` is a context manager entered around each of the project's own tests (setup to teardown),
  given its node id; ``around_gate`` one entered around the gate's own work (opening the backend, each gate
  check's call), e.g. to pause coverage.
- ``worker_output`` returns JSON-able data a pytest-xdist worker sends to the controller at its end.
- ``finish`` runs on the controller (or the only process) at session end and returns outcomes judged there
  (coverage after the project's tests), given every worker's output.

Each family also lists ``checks``: every check id it can produce, whatever the packet and options (a unit test
holds the lists to what ``specs`` and ``finish`` produce). :func:`known_check_ids` is what an inline
``# backend-gate: ignore[...]`` comment may name.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_backend_agent.checks import own_tests
from pytest_backend_agent.checks.base import CheckSpec, run_check
from pytest_backend_agent.checks.contract import contract_checks
from pytest_backend_agent.checks.data import data_checks
from pytest_backend_agent.checks.docstrings import docstring_checks
from pytest_backend_agent.checks.fuzz import fuzz_checks
from pytest_backend_agent.checks.performance import performance_checks
from pytest_backend_agent.checks.quality import TOOLS, quality_checks
from pytest_backend_agent.checks.quality import start as start_quality
from pytest_backend_agent.checks.security import security_checks
from pytest_backend_agent.packet.model import Packet

if TYPE_CHECKING:
    from pytest_backend_agent.checks.context import GateContext
    from pytest_backend_agent.findings import CheckOutcome
    from pytest_backend_agent.settings import Settings

__all__ = ["FAMILIES", "CheckSpec", "Family", "gate_checks", "known_check_ids", "run_check"]


@dataclass(frozen=True)
class Family:
    """A family of checks and its optional session-wide work."""

    name: str
    checks: tuple[str, ...]
    """Every check id the family can produce (its specs' ``check`` and the outcomes ``finish`` returns)."""
    specs: Callable[[Packet, Settings], list[CheckSpec]]
    start: Callable[[GateContext, list[CheckSpec]], None] | None = None
    worker_output: Callable[[GateContext], Any] | None = None
    finish: Callable[[GateContext, list[Any]], list[CheckOutcome]] | None = None
    process_start: Callable[[GateContext], None] | None = None
    around_test: Callable[[GateContext, str], AbstractContextManager[None]] | None = None
    around_gate: Callable[[GateContext], AbstractContextManager[None]] | None = None


FAMILIES: tuple[Family, ...] = (
    Family(
        "contract",
        ("contract.implemented", "contract.auth", "contract.status", "contract.undeclared"),
        lambda packet, settings: contract_checks(packet),
    ),
    Family("data", ("data.models", "data.migrations", "data.fk_indexes"), data_checks),
    Family(  # before fuzz and security: few rows yet, no rate-limit burst
        "performance", ("performance.n_plus_one", "performance.pagination", "performance.latency"), performance_checks
    ),
    Family("fuzz", ("fuzz.operation",), fuzz_checks),
    Family(
        "security",
        (
            "security.bandit",
            "security.secrets",
            "security.password_hashing",
            "security.http_timeouts",
            "security.authn",
            "security.rbac",
            "security.object_access",
            "security.cors",
            "security.headers",
            "security.leakage",
            "security.injection",
            "security.rate_limit",
        ),
        security_checks,
    ),
    Family(
        "quality",
        (*(f"quality.{name}" for name in TOOLS), "quality.docstrings", "quality.coverage", "quality.endpoint_tests"),
        lambda packet, settings: (
            (quality_checks(packet, settings) + docstring_checks(packet, settings)) if settings.quality_enabled else []
        ),
        start=lambda context, specs: start_quality(context, [spec for spec in specs if spec.name in TOOLS]),
        worker_output=own_tests.worker_output,
        finish=lambda context, outputs: own_tests.finish(context, outputs) if context.settings.quality_enabled else [],
        process_start=lambda context: own_tests.process_start(context) if context.settings.quality_enabled else None,
        around_test=own_tests.around_test,
        around_gate=own_tests.around_gate,
    ),
)


def gate_checks(packet: Packet, settings: Settings) -> list[CheckSpec]:
    """Every gate check for ``packet``, in a stable order (xdist workers must collect identical items)."""
    return [spec for family in FAMILIES for spec in family.specs(packet, settings)]


def known_check_ids() -> frozenset[str]:
    """Every check id the gate has, whatever the packet and options: the families' ids and ``verify`` (the
    claims of ``--backend-verify``). These are the ids findings carry in ``Finding.check``."""
    from pytest_backend_agent.checks.verify import CHECK as VERIFY

    return frozenset(check for family in FAMILIES for check in family.checks) | {VERIFY}
