"""``security.rbac``: every role of the packet against one endpoint: unlisted roles refused, listed ones admitted."""

from __future__ import annotations

from typing import Any

from pytest_backend_agent.checks.context import GateContext
from pytest_backend_agent.checks.requests import Unformable, curl_command
from pytest_backend_agent.checks.security.common import excerpt, finding, outcome
from pytest_backend_agent.findings import CheckOutcome, CheckStatus, Finding, Location
from pytest_backend_agent.packet.model import Endpoint

__all__ = ["check_rbac"]

CHECK = "security.rbac"
DENIED = (403, 404)  # 404 hides the resource from a role that may not see it: an accepted policy


def check_rbac(context: GateContext, endpoint: Endpoint) -> CheckOutcome:
    """With each role's credentials: a role the endpoint does not list gets 403 (or 404), a listed one neither."""
    target = endpoint.key
    former = context.former
    evidence: list[str] = []
    findings: list[Finding] = []
    verdicts: dict[str, Any] = {}
    missing: list[str] = []
    for role in context.packet.api.roles:
        allowed = role in endpoint.roles
        if context.credentials.headers(role) is None:
            missing.append(context.credentials.problems.get(role, f"no credentials for role {role!r}"))
            verdicts[role] = "not verified: no credentials"
            continue
        try:
            request = former.prepare(endpoint, former.candidates(endpoint, 1)[0], role)
        except Unformable as error:
            missing.append(str(error))
            verdicts[role] = f"not verified: {error}"
            continue
        response = former.send(request)
        status = response.status_code
        evidence.append(
            f"as {role} ({'listed' if allowed else 'not listed'}): {request.method} {request.path} -> {status}"
        )
        if status == 429:
            verdicts[role] = "not verified: throttled (429)"
            continue
        verdicts[role] = status
        if allowed and status in (401, 403):
            findings.append(
                finding(
                    CHECK,
                    f"role {role!r} is refused though the packet lists it",
                    Location(endpoint=target),
                    evidence=f"{status}: {excerpt(response)}",
                    fix=f"Admit role {role!r} on {target}, or fix the credentials the gate uses for it "
                    "(conftest hook, login or token variables).",
                    reproduction=curl_command(context, request),
                )
            )
        elif not allowed and status not in DENIED:
            findings.append(
                finding(
                    CHECK,
                    f"role {role!r} gets through though the packet does not list it",
                    Location(endpoint=target),
                    evidence=f"expected 403 (or 404); got {status}: {excerpt(response)}",
                    fix=f"Check the caller's role on {target}: only {', '.join(endpoint.roles)} may call it.",
                    reproduction=curl_command(context, request),
                )
            )
    observations: dict[str, Any] = {"roles": verdicts}
    if findings:
        return outcome(
            CHECK, target, CheckStatus.FAILED, findings[0].title, evidence=evidence, findings=findings, **observations
        )
    judged = [role for role, verdict in verdicts.items() if isinstance(verdict, int)]
    unlisted = [role for role in judged if role not in endpoint.roles]
    evidence.extend(f"not checked: {why}" for why in missing)
    if not unlisted and len(judged) < len(context.packet.api.roles):
        return outcome(
            CHECK,
            target,
            CheckStatus.NOT_VERIFIED,
            "no role the endpoint excludes could be tried: " + "; ".join(missing or ["throttled (429)"]),
            evidence=evidence,
            **observations,
        )
    listed = [role for role in judged if role in endpoint.roles]
    parts = []
    if listed:
        parts.append(f"admits {', '.join(listed)}")
    if unlisted:
        parts.append(f"refuses {', '.join(unlisted)}")
    return outcome(
        CHECK, target, CheckStatus.PASSED, " and ".join(parts) or "nothing to judge", evidence=evidence, **observations
    )
