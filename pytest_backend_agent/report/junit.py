"""Readable JUnit XML properties for a gate item, in place of the outcome JSON it carries between processes.

pytest's ``--junitxml`` writes every ``(name, value)`` of a test report's ``user_properties`` as a
``<property>``. A gate item carries its whole outcome there as one JSON string (key ``backend_gate``); a CI
reader wants short named facts instead.
"""

from __future__ import annotations

from pytest_backend_agent.findings import CheckOutcome

__all__ = ["MAX_FINDINGS", "junit_properties"]

MAX_FINDINGS = 20
"""Findings written as properties; the report holds them all."""


def junit_properties(outcome: CheckOutcome) -> list[tuple[str, str]]:
    """``check``, ``target``, ``status``, ``summary``, then ``finding.N`` = ``<severity> <title> at <location>``
    (and ``finding.N.fix``), capped at :data:`MAX_FINDINGS` with ``findings.more``."""
    properties = [
        ("check", outcome.check),
        ("target", outcome.target),
        ("status", outcome.status.value),
        ("summary", outcome.summary),
        ("findings", str(len(outcome.findings))),
    ]
    for number, finding in enumerate(outcome.findings[:MAX_FINDINGS], start=1):
        properties.append(
            (f"finding.{number}", f"{finding.severity.value} {finding.title} at {finding.location.describe()}")
        )
        if finding.fix:
            properties.append((f"finding.{number}.fix", finding.fix))
    if len(outcome.findings) > MAX_FINDINGS:
        properties.append(("findings.more", f"{len(outcome.findings) - MAX_FINDINGS} more in the report"))
    return properties
