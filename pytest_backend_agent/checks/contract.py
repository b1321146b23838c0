"""Contract checks: each packet endpoint is routed, enforces its authentication, and answers its status."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import httpx

from pytest_backend_agent.backend.client import RequestRecord
from pytest_backend_agent.backend.openapi import OpenApiIndex
from pytest_backend_agent.checks.base import CheckSpec
from pytest_backend_agent.checks.context import GateContext
from pytest_backend_agent.checks.requests import UNCREATED, Prepared, Unformable, curl_command, role_for
from pytest_backend_agent.checks.unrouted import fingerprint, unrouted_fingerprints
from pytest_backend_agent.findings import CheckOutcome, CheckStatus, Finding, Location, Severity
from pytest_backend_agent.packet.model import Endpoint, Packet, normalize_path

__all__ = ["contract_checks", "undeclared_operations"]

FAMILY = "contract"


def _outcome(
    check: str,
    endpoint: Endpoint | None,
    status: CheckStatus,
    summary: str,
    *,
    evidence: list[str] | None = None,
    findings: list[Finding] | None = None,
    target: str | None = None,
    **observations: Any,
) -> CheckOutcome:
    return CheckOutcome(
        check=check,
        family=FAMILY,
        target=target or (endpoint.key if endpoint else "backend"),
        status=status,
        summary=summary,
        evidence=evidence or [],
        findings=findings or [],
        observations=dict(observations),
    )


def _finding(
    check: str,
    endpoint: Endpoint,
    title: str,
    *,
    evidence: str,
    fix: str,
    reproduction: str | None = None,
    severity: Severity = Severity.ERROR,
) -> Finding:
    return Finding(
        check=check,
        category=FAMILY,
        severity=severity,
        title=title,
        location=Location(endpoint=endpoint.key),
        evidence=evidence,
        fix=fix,
        reproduction=reproduction,
    )


def _failed(check: str, endpoint: Endpoint, finding: Finding, evidence: list[str], **observations: Any) -> CheckOutcome:
    """A failed outcome whose summary is its one finding's title."""
    return _outcome(
        check, endpoint, CheckStatus.FAILED, finding.title, evidence=evidence, findings=[finding], **observations
    )


def _excerpt(response: httpx.Response, limit: int = 300) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:limit] + ("..." if len(text) > limit else "")


def _seen_success(context: GateContext, endpoint: Endpoint, *, anonymous: bool) -> RequestRecord | None:
    """A 2xx answer to ``endpoint`` already observed in this process (e.g. the credentials hook's login)."""
    for role in context.packet.api.roles:
        context.credentials.headers(role)
    for record in context.backend.records:
        if (
            record.method == endpoint.method
            and 200 <= record.status < 300
            and context.endpoints.is_for(endpoint, record.method, record.path)
            and (record.credentials is False or not anonymous)
        ):
            return record
    return None


def _credentialed_role(context: GateContext, endpoint: Endpoint) -> str | None:
    for role in role_for(endpoint):
        if context.credentials.headers(role) is not None:
            return role
    return None


# ---- implemented ----------------------------------------------------------------------------------------
def check_implemented(context: GateContext, endpoint: Endpoint) -> CheckOutcome:
    """The route exists for this method: in the OpenAPI document, and a request is not answered as unrouted."""
    check = "contract.implemented"
    document = context.backend_document
    declared = document.find(endpoint.method, endpoint.path) if document else None
    role = _credentialed_role(context, endpoint)
    try:
        request = next(iter(context.former.formed(endpoint, role, limit=1)))
    except Unformable as error:
        return _outcome(check, endpoint, CheckStatus.NOT_VERIFIED, str(error))
    response = context.former.send(request)
    evidence = [f"{request.method} {request.path} -> {response.status_code}"]
    if document is not None:
        evidence.append(
            f"{'declared' if declared else 'not declared'} in the backend's OpenAPI document ({document.source})"
        )
    else:
        evidence.append("the backend serves no OpenAPI document the gate could find")
    unrouted, stable = unrouted_fingerprints(context, endpoint.method, request.headers)
    mine = fingerprint(response, request.path)
    evidence.append(f"a path the backend certainly lacks answers {unrouted[0]}")
    if response.status_code == 405:
        routed: bool | None = False
        why = "the path exists but the method is not allowed (405)"
    elif mine == unrouted or (not stable and mine[0] == unrouted[0] == 404):
        if mine[0] in (401, 403):
            routed = None
            why = "every unknown path is refused with the same status, so routing cannot be observed"
        else:
            routed = False
            why = f"it answers {response.status_code} exactly like a path the backend lacks"
    else:
        routed = True
        why = f"it answers {response.status_code}, unlike a path the backend lacks"
    observations: dict[str, Any] = {"answered": response.status_code, "declared": bool(declared), "routed": routed}
    if routed is None:
        routed = bool(declared) if document is not None else None
    if routed is None:
        return _outcome(check, endpoint, CheckStatus.NOT_VERIFIED, why, evidence=evidence, **observations)
    if not routed:
        finding = _finding(
            check,
            endpoint,
            "endpoint is not implemented",
            evidence=f"{why}; response: {_excerpt(response)}",
            fix=f"Implement {endpoint.key} ({endpoint.description or 'see the packet'}), or correct the packet if "
            "the path or method changed by agreement.",
            reproduction=curl_command(context, request),
        )
        return _outcome(
            check,
            endpoint,
            CheckStatus.FAILED,
            f"{endpoint.key} is not implemented: {why}",
            evidence=evidence,
            findings=[finding],
            **observations,
        )
    findings = []
    if document is not None and not declared:
        findings.append(
            _finding(
                check,
                endpoint,
                "endpoint answers but is missing from the backend's OpenAPI document",
                evidence=f"{why}; not among the operations of {document.source}",
                fix="Declare the operation in the OpenAPI document so clients and fuzzing see it.",
                severity=Severity.WARNING,
            )
        )
    return _outcome(
        check,
        endpoint,
        CheckStatus.PASSED,
        f"{endpoint.key} is implemented: {why}",
        evidence=evidence,
        findings=findings,
        **observations,
    )


# ---- auth -----------------------------------------------------------------------------------------------
def check_auth(context: GateContext, endpoint: Endpoint) -> CheckOutcome:
    """No credentials -> 401/403 on protected endpoints; an allowed role's credentials -> neither."""
    check = "contract.auth"
    former = context.former
    try:
        anonymous = former.prepare(endpoint, former.candidates(endpoint, 1)[0], None)
    except Unformable as error:
        return _outcome(check, endpoint, CheckStatus.NOT_VERIFIED, str(error))
    response = former.send(anonymous)
    evidence = [f"without credentials: {anonymous.method} {anonymous.path} -> {response.status_code}"]
    unrouted_404 = False
    if response.status_code == 404:
        unrouted, _ = unrouted_fingerprints(context, endpoint.method, {})
        unrouted_404 = fingerprint(response, anonymous.path) == unrouted
    if response.status_code == 405 or unrouted_404:
        return _outcome(
            check,
            endpoint,
            CheckStatus.NOT_VERIFIED,
            f"the endpoint is not routed ({response.status_code}), so authentication cannot be observed; see "
            "contract.implemented",
            evidence=evidence,
        )
    if not endpoint.authentication_required:
        if response.status_code in (401, 403):
            seen = _seen_success(context, endpoint, anonymous=True)
            if seen is not None:
                evidence.append(
                    f"earlier, without credentials: {seen.method} {seen.path} -> {seen.status} "
                    "(e.g. the login for credentials)"
                )
                return _outcome(
                    check,
                    endpoint,
                    CheckStatus.PASSED,
                    "public endpoint answered a caller without credentials",
                    evidence=evidence,
                    enforced=False,
                )
            return _outcome(
                check,
                endpoint,
                CheckStatus.NOT_VERIFIED,
                f"a request without credentials got {response.status_code}; a login endpoint answers so to the "
                "gate's made-up credentials, so whether it is public cannot be told",
                evidence=evidence,
            )
        return _outcome(
            check,
            endpoint,
            CheckStatus.PASSED,
            "public endpoint answers callers without credentials",
            evidence=evidence,
            enforced=False,
        )
    findings: list[Finding] = []
    enforced = response.status_code in (401, 403)
    if not enforced:
        findings.append(
            _finding(
                check,
                endpoint,
                f"protected endpoint answers {response.status_code} without credentials",
                evidence=f"expected 401 or 403; got {response.status_code}: {_excerpt(response)}",
                fix="Require authentication on this route (an auth dependency, decorator or middleware), "
                "as the packet says.",
                reproduction=curl_command(context, anonymous),
            )
        )
    admitted: list[str] = []
    missing: list[str] = []
    for role in role_for(endpoint):
        if context.credentials.headers(role) is None:
            missing.append(context.credentials.problems.get(role, role))
            continue
        try:
            request = former.prepare(endpoint, former.candidates(endpoint, 1)[0], role)
        except Unformable as error:
            missing.append(str(error))
            continue
        answer = former.send(request)
        evidence.append(f"as {role}: {request.method} {request.path} -> {answer.status_code}")
        if answer.status_code in (401, 403):
            findings.append(
                _finding(
                    check,
                    endpoint,
                    f"role {role!r} is refused ({answer.status_code}) though the packet allows it",
                    evidence=_excerpt(answer),
                    fix=f"Let role {role!r} call {endpoint.key}, or fix the credentials the gate uses for it "
                    "(conftest hook, login or token variables).",
                    reproduction=curl_command(context, request),
                )
            )
        else:
            admitted.append(role)
    if findings:
        return _outcome(
            check,
            endpoint,
            CheckStatus.FAILED,
            findings[0].title,
            evidence=evidence,
            findings=findings,
            enforced=enforced,
            admitted=admitted,
        )
    if missing and not admitted:
        evidence.extend(missing)
        return _outcome(
            check,
            endpoint,
            CheckStatus.NOT_VERIFIED,
            "refuses callers without credentials, but no allowed role's credentials were available",
            evidence=evidence,
            enforced=enforced,
            admitted=admitted,
        )
    evidence.extend(f"not checked: {m}" for m in missing)
    return _outcome(
        check,
        endpoint,
        CheckStatus.PASSED,
        f"refuses callers without credentials and admits {', '.join(admitted)}",
        evidence=evidence,
        enforced=enforced,
        admitted=admitted,
    )


# ---- success status -------------------------------------------------------------------------------------
def check_status(context: GateContext, endpoint: Endpoint) -> CheckOutcome:
    """A well-formed request answers the packet's ``success_status`` (any 2xx when it names none)."""
    check = "contract.status"
    expected = endpoint.success_status
    roles = role_for(endpoint)
    role = _credentialed_role(context, endpoint)
    if roles and role is None:
        reasons = "; ".join(context.credentials.problems.get(r, r) for r in roles)
        return _outcome(check, endpoint, CheckStatus.NOT_VERIFIED, f"no credentials to call it: {reasons}")
    seen: Counter[int] = Counter()
    evidence: list[str] = []
    last: Prepared | None = None
    try:
        for request in context.former.formed(endpoint, role):
            last = request
            response = context.former.send(request)
            seen[response.status_code] += 1
            evidence.append(f"{request.method} {request.path} -> {response.status_code}")
            evidence.extend(note for note in request.notes if note.startswith(UNCREATED) and note not in evidence)
            if response.status_code >= 500:
                finding = _finding(
                    check,
                    endpoint,
                    f"server error {response.status_code} on a well-formed request",
                    evidence=_excerpt(response),
                    fix="Find the exception in the server log for this request and handle it.",
                    reproduction=curl_command(context, request),
                )
                return _failed(check, endpoint, finding, evidence, observed=response.status_code)
            if 200 <= response.status_code < 300:
                if expected is None or response.status_code == expected:
                    wanted = f"the packet's {expected}" if expected else "a 2xx (the packet names no status)"
                    return _outcome(
                        check,
                        endpoint,
                        CheckStatus.PASSED,
                        f"answers {response.status_code}, {wanted}",
                        evidence=evidence,
                        observed=response.status_code,
                    )
                finding = _finding(
                    check,
                    endpoint,
                    f"answers {response.status_code} where the packet says {expected}",
                    evidence=f"{request.method} {request.path} -> {response.status_code}: {_excerpt(response)}",
                    fix=f"Return {expected} on success (e.g. status_code={expected} on the route), or correct "
                    "success_status in the packet.",
                    reproduction=curl_command(context, request),
                )
                return _failed(check, endpoint, finding, evidence, observed=response.status_code)
    except Unformable as error:
        return _outcome(check, endpoint, CheckStatus.NOT_VERIFIED, str(error), evidence=evidence)
    statuses = ", ".join(f"{status} x{count}" for status, count in sorted(seen.items()))
    earlier = _seen_success(context, endpoint, anonymous=False)
    if earlier is not None and (expected is None or earlier.status == expected):
        evidence.append(
            f"earlier: {earlier.method} {earlier.path} -> {earlier.status} (e.g. the login for credentials)"
        )
        return _outcome(
            check,
            endpoint,
            CheckStatus.PASSED,
            f"answered {earlier.status} to a request the credentials hook sent; the gate's own requests got {statuses}",
            evidence=evidence,
            observed=earlier.status,
        )
    if last is not None:
        evidence.append(f"last request tried: {curl_command(context, last)}")
    return _outcome(
        check,
        endpoint,
        CheckStatus.NOT_VERIFIED,
        f"no request the gate could form was accepted ({statuses or 'none sent'}); the success status is unobserved",
        evidence=evidence,
    )


# ---- undeclared -----------------------------------------------------------------------------------------
_DOC_PATHS = re.compile(r"/(openapi\.json|docs|redoc|swagger\.json)(/|$)")


def undeclared_operations(document: OpenApiIndex, packet: Packet) -> list[str]:
    """``METHOD /full/path`` of every operation ``document`` declares and the packet does not (documentation
    routes aside), sorted."""
    known = {f"{e.method} {e.template}" for e in packet.api.endpoints}
    extra = []
    for key in document.endpoint_keys():
        method, path = key.split(" ", 1)
        if f"{method} {normalize_path(path)}" not in known and not _DOC_PATHS.search(path):
            extra.append(key)
    return extra


def check_undeclared(context: GateContext, packet: Packet) -> CheckOutcome:
    """Operations the backend's OpenAPI document declares that the packet does not: named as warnings."""
    check = "contract.undeclared"
    document = context.backend_document
    if document is None:
        return _outcome(
            check,
            None,
            CheckStatus.NOT_VERIFIED,
            "the backend serves no OpenAPI document, so its extra endpoints cannot be listed",
            target="openapi",
        )
    extra = undeclared_operations(document, packet)
    findings = [
        Finding(
            check=check,
            category=FAMILY,
            severity=Severity.WARNING,
            title="endpoint is not in the architecture packet",
            location=Location(endpoint=key),
            evidence=f"declared in {document.source}",
            fix="Add it to the packet if it is meant to exist, or remove it from the backend.",
        )
        for key in extra
    ]
    summary = (
        f"{len(extra)} endpoint(s) the packet does not name: {', '.join(extra)}"
        if extra
        else "every operation in the backend's OpenAPI document is in the packet"
    )
    return _outcome(
        check,
        None,
        CheckStatus.PASSED,
        summary,
        findings=findings,
        target="openapi",
        extra=extra,
        declared=document.endpoint_keys(),
        secured={key: document.secured(*_document_operation(document, key)) for key in extra},
    )


def _document_operation(document: OpenApiIndex, key: str) -> tuple[str, str]:
    """(METHOD, the document's own path) for ``METHOD /full/path`` from ``endpoint_keys``."""
    method, path = key.split(" ", 1)
    found = document.find(method, path)
    return (method, found[0]) if found else (method, path)


def contract_checks(packet: Packet) -> list[CheckSpec]:
    """One implemented/auth/status item per packet endpoint, plus one for undeclared endpoints."""
    specs: list[CheckSpec] = []
    for endpoint in packet.api.endpoints:
        for name, func in (("implemented", check_implemented), ("auth", check_auth), ("status", check_status)):
            specs.append(
                CheckSpec(
                    check=f"contract.{name}",
                    family=FAMILY,
                    name=name,
                    target=endpoint.key,
                    run=lambda context, e=endpoint, f=func: f(context, e),  # type: ignore[misc]
                    endpoint=endpoint.key,
                )
            )
    specs.append(
        CheckSpec(
            check="contract.undeclared",
            family=FAMILY,
            name="undeclared",
            target="openapi",
            run=lambda context: check_undeclared(context, packet),
        )
    )
    return specs
