"""What a gate check is: a named function of the context that returns a :class:`CheckOutcome`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from pytest_backend_agent.checks.context import GateContext
from pytest_backend_agent.findings import CheckOutcome, CheckStatus, Finding, Location, Severity

if TYPE_CHECKING:
    from pytest_backend_agent.packet.model import Endpoint

__all__ = ["THROTTLE_JUDGES", "CheckSpec", "endpoint_spec", "make_outcome", "run_check"]

THROTTLE_JUDGES = frozenset({"security.rate_limit"})  # checks for which a 429 is the observation itself


@dataclass(frozen=True)
class CheckSpec:
    """One gate item: ``backend-gate::<name>[<target>]`` running ``run(context)``."""

    check: str
    family: str
    name: str
    target: str
    run: Callable[[GateContext], CheckOutcome]
    endpoint: str | None = None
    location: Path | None = None
    """The file or folder the check is about when it is not a packet endpoint (a source folder)."""

    @property
    def item_name(self) -> str:
        """The pytest item name, e.g. ``auth[GET /api/v1/books]``."""
        return f"{self.name}[{self.target}]"


def endpoint_spec(
    family: str, check: str, name: str, endpoint: Endpoint, func: Callable[[GateContext, Endpoint], CheckOutcome]
) -> CheckSpec:
    """The item ``<name>[METHOD /path]`` of ``family`` running ``func(context, endpoint)``."""
    return CheckSpec(
        check=check,
        family=family,
        name=name,
        target=endpoint.key,
        run=lambda context: func(context, endpoint),
        endpoint=endpoint.key,
    )


def make_outcome(
    family: str,
    check: str,
    target: str,
    status: CheckStatus,
    summary: str,
    *,
    evidence: list[str] | None = None,
    findings: list[Finding] | None = None,
    **observations: Any,
) -> CheckOutcome:
    """A check outcome of ``family``; keyword arguments beyond evidence and findings become observations."""
    return CheckOutcome(
        check=check,
        family=family,
        target=target,
        status=status,
        summary=summary,
        evidence=evidence or [],
        findings=findings or [],
        observations=dict(observations),
    )


def _throttled(outcome: CheckOutcome, throttled: int, sent: int) -> CheckOutcome:
    """A failure seen while the backend answered 429 cannot be judged: not verified, saying why."""
    return outcome.model_copy(
        update={
            "status": CheckStatus.NOT_VERIFIED,
            "summary": f"the backend throttled {throttled} of the check's {sent} request(s) (429) beyond the gate's "
            f"Retry-After budget, so it could not be judged (it would have said: {outcome.summary})",
            "findings": [],
            "evidence": [*outcome.evidence, *(f"withheld finding: {f.one_line()}" for f in outcome.findings)],
        }
    )


def run_check(spec: CheckSpec, context: GateContext) -> CheckOutcome:
    """Run one check; a backend that stops answering is a failed outcome, not a crash of the gate.

    The outcome's secrets are redacted, then its findings fingerprinted and judged against the baseline, inline
    suppressions and the severity threshold (``context.acceptor``), which may change its status.
    """
    started = time.perf_counter()
    first_record = len(context.backend.records) if context.started else 0
    try:
        outcome = spec.run(context)
    except httpx.TransportError as error:
        message = context.redact(str(error)) or type(error).__name__
        outcome = CheckOutcome(
            check=spec.check,
            family=spec.family,
            target=spec.target,
            status=CheckStatus.FAILED,
            summary="the backend did not answer",
            evidence=[f"{type(error).__name__}: {message}"],
            findings=[
                Finding(
                    check=spec.check,
                    category=spec.family,
                    severity=Severity.ERROR,
                    title="the backend did not answer a request",
                    location=Location(endpoint=spec.endpoint),
                    evidence=message,
                    fix="Look at the server's log: it crashed, hung past --backend-request-timeout, or closed the "
                    "connection.",
                )
            ],
        )
    outcome.duration_s = round(time.perf_counter() - started, 4)
    if context.started:
        records = context.backend.records[first_record:]
        outcome.observations.setdefault("requests", [[r.method, r.path, r.status, r.elapsed_ms] for r in records])
        throttled = sum(1 for r in records if r.status == 429)
        if throttled and outcome.status is CheckStatus.FAILED and spec.check not in THROTTLE_JUDGES:
            outcome = _throttled(outcome, throttled, len(records))
    outcome.evidence = [context.redact(line) for line in outcome.evidence]
    outcome.summary = context.redact(outcome.summary)
    for finding in outcome.findings:
        finding.title = context.redact(finding.title)
        finding.evidence = context.redact(finding.evidence)
        if finding.reproduction is not None:
            finding.reproduction = context.redact(finding.reproduction)
    return context.acceptor.apply(outcome)
