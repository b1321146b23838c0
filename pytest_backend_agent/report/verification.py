"""The ``verification`` section: a submitted report's claims beside the gate's observations (``--backend-verify``).

The gate first builds its own report from its observations; the claims are judged against it
(:mod:`pytest_backend_agent.checks.verify`), and :func:`with_verification` then adds those results to that report:
the section itself, the ``verify`` results among ``gate.checks`` and ``gate.families``, and a verdict that fails
when a claim was contradicted. Every other field stays as observed.
"""

from __future__ import annotations

from typing import Literal

from pytest_backend_agent.findings import CheckOutcome, CheckStatus
from pytest_backend_agent.report.build import passed_reason
from pytest_backend_agent.report.model import (
    BackendReport,
    CheckRecord,
    ClaimCheck,
    FamilyCount,
    VerificationCounts,
    VerificationSection,
)

__all__ = ["with_verification"]


def _claim(nodeid: str, outcome: CheckOutcome) -> ClaimCheck:
    seen = outcome.observations
    return ClaimCheck(
        nodeid=nodeid,
        kind=seen["kind"],
        subject=str(seen["subject"]),
        json_path=str(seen["json_path"]),
        status=outcome.status,
        claim=str(seen["claim"]),
        observation=str(seen["observation"]),
    )


def with_verification(
    report: BackendReport, judged: list[tuple[str, CheckOutcome]], *, source: str, sha256: str
) -> BackendReport:
    """``report`` with the judged claims added; its verdict fails when any claim was contradicted."""
    claims = [_claim(nodeid, outcome) for nodeid, outcome in judged]
    statuses = [claim.status for claim in claims]
    counts = VerificationCounts(
        passed=statuses.count(CheckStatus.PASSED),
        failed=statuses.count(CheckStatus.FAILED),
        not_verified=statuses.count(CheckStatus.NOT_VERIFIED),
    )
    gate = report.gate
    checks = [*gate.checks, *(CheckRecord(nodeid=nodeid, **outcome.model_dump()) for nodeid, outcome in judged)]
    families = dict(gate.families)
    if claims:
        families["verify"] = FamilyCount(passed=counts.passed, failed=counts.failed, not_verified=counts.not_verified)
    contradicted = [f"{o.check} failed on {o.target}: {o.summary}" for _, o in judged if o.status is CheckStatus.FAILED]
    verdict: Literal["passed", "failed"] = "failed" if gate.verdict == "failed" or contradicted else "passed"
    if verdict == "passed":
        reasons = [passed_reason(checks)]
    else:
        reasons = [*(gate.reasons if gate.verdict == "failed" else []), *contradicted]
    return report.model_copy(
        update={
            "gate": gate.model_copy(
                update={"verdict": verdict, "reasons": reasons, "checks": checks, "families": families}
            ),
            "verification": VerificationSection(source=source, sha256=sha256, counts=counts, claims=claims),
        }
    )
