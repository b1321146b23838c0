"""The pytest collector and items that wrap gate checks, with failures that read like sentences."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from pytest_backend_agent.checks.base import CheckSpec, run_check
from pytest_backend_agent.findings import CheckOutcome, CheckStatus

if TYPE_CHECKING:
    from pytest_backend_agent.checks.context import GateContext

__all__ = ["GATE_NODE", "PROPERTY", "GateCheckFailed", "GateCollector", "GateItem", "format_outcome"]

GATE_NODE = "backend-gate"
PROPERTY = "backend_gate"
MARKER = "backend_gate"


class GateCheckFailed(Exception):
    """Raised by a gate item whose check failed; carries the outcome for the failure text."""

    def __init__(self, outcome: CheckOutcome) -> None:
        super().__init__(outcome.summary)
        self.outcome = outcome


def format_outcome(outcome: CheckOutcome) -> str:
    """The failure text of a gate item: what failed, the evidence, each finding with its fix and reproduction."""
    lines = [f"{outcome.check} {outcome.status.value} on {outcome.target}: {outcome.summary}"]
    if outcome.evidence:
        lines.append("  observed:")
        lines.extend(f"    - {line}" for line in outcome.evidence)
    for finding in outcome.findings:
        lines.append(f"  [{finding.severity.value}] {finding.location.describe()}: {finding.title}")
        if finding.evidence:
            lines.append(f"      saw: {finding.evidence}")
        if finding.fix:
            lines.append(f"      fix: {finding.fix}")
        if finding.reproduction:
            lines.append(f"      reproduce: {finding.reproduction}")
    return "\n".join(lines)


class GateItem(pytest.Item):
    """One gate check, e.g. ``backend-gate::auth[GET /api/v1/books]``."""

    def __init__(self, *, spec: CheckSpec, context: GateContext, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.context = context
        self.add_marker(MARKER)
        self.add_marker(spec.family)

    def runtest(self) -> None:
        """Run the check; a failed check fails the item, an unverifiable one is skipped as not verified."""
        outcome = run_check(self.spec, self.context)
        self.user_properties.append((PROPERTY, outcome.model_dump_json()))
        if outcome.status is CheckStatus.FAILED:
            raise GateCheckFailed(outcome)
        if outcome.status is CheckStatus.NOT_VERIFIED:
            raise pytest.skip.Exception(f"not verified: {outcome.summary}", _use_item_location=True)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        """A readable failure for failed checks; pytest's usual traceback for a crash of the check itself."""
        if isinstance(excinfo.value, GateCheckFailed):
            return format_outcome(excinfo.value.outcome)
        return self.context.redact(str(super().repr_failure(excinfo, style=style)))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        """The packet line that names the endpoint (0-based), or the folder the check is about, shown in failure
        headers and skip reasons."""
        return (
            self.spec.location or self.context.loaded.path,
            0 if self.spec.location else _packet_line(self.context, self.spec),
            f"{GATE_NODE}: {self.spec.check} {self.spec.target}",
        )


def _packet_line(context: GateContext, spec: CheckSpec) -> int:
    """0-based line of ``spec``'s endpoint in the packet file (0 when it cannot be found)."""
    if spec.endpoint is None:
        return 0
    method, path = spec.endpoint.split(" ", 1)
    lines = context.loaded.text.splitlines()
    for index, line in enumerate(lines):
        if f'"{path}"' in line and any(f'"{method}"' in near for near in lines[max(0, index - 4) : index + 5]):
            return index
    return 0


class GateCollector(pytest.Collector):
    """The ``backend-gate`` node holding every gate item."""

    def __init__(self, *, specs: list[CheckSpec], context: GateContext, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.specs = specs
        self.context = context

    def collect(self) -> list[pytest.Item]:
        """One item per check spec, in the specs' (stable) order."""
        return [GateItem.from_parent(self, name=spec.item_name, spec=spec, context=self.context) for spec in self.specs]
