"""``security.authn``: a protected endpoint refuses no credentials, malformed, forged, alg-none and expired tokens."""

from __future__ import annotations

from typing import Any

import httpx

from pytest_backend_agent.checks.context import GateContext
from pytest_backend_agent.checks.requests import Prepared, Unformable, curl_command, role_for
from pytest_backend_agent.checks.security.common import excerpt, finding, outcome
from pytest_backend_agent.checks.security.tokens import bearer_token, claims_of, forge, is_jwt
from pytest_backend_agent.findings import CheckOutcome, CheckStatus, Finding, Location
from pytest_backend_agent.packet.model import Endpoint

__all__ = ["PROBES", "check_authn", "expired_headers"]

CHECK = "security.authn"
PROBES = {
    "none": "no credentials",
    "malformed": "a malformed bearer token",
    "other_key": "a JWT signed with another key",
    "alg_none": "an alg:none JWT",
    "expired": "an expired JWT",
}
_FIX = {
    "none": "Require authentication on this route (an auth dependency, decorator or middleware).",
    "malformed": "Reject tokens that do not parse; never fall back to an anonymous or default user.",
    "other_key": "Verify the token's signature with the server's key (jwt.decode(token, key, algorithms=[...])).",
    "alg_none": "Pin the accepted algorithms (algorithms=['HS256']); never accept alg 'none'.",
    "expired": "Verify the 'exp' claim (PyJWT does unless verify_exp is switched off) and require it.",
}
REFUSED = (401, 403)


def expired_headers(context: GateContext, role: str) -> tuple[dict[str, str] | None, str]:
    """Headers with an expired credential from the ``pytest_backend_expired_auth_headers`` hook, and why not."""
    cache: dict[str, tuple[dict[str, str] | None, str]] = context.shared.setdefault("expired", {})
    if role not in cache:
        hook: Any = context.config.hook
        try:
            headers = hook.pytest_backend_expired_auth_headers(
                role=role, backend=context.backend, config=context.config
            )
        except Exception as error:
            cache[role] = (None, context.redact(f"the expired-credentials hook raised {type(error).__name__}: {error}"))
        else:
            if headers:
                headers = {str(k): str(v) for k, v in dict(headers).items()}
                context.redactor.add_headers(headers)
                cache[role] = (headers, "")
            else:
                cache[role] = (
                    None,
                    "no expired credential: implement pytest_backend_expired_auth_headers(role, backend) in "
                    "conftest.py (the gate cannot sign with the backend's key)",
                )
    return cache[role]


def _without_auth(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() != "authorization"}


def _probe_headers(
    context: GateContext, request: Prepared, real: dict[str, str] | None, role: str | None
) -> dict[str, tuple[dict[str, str] | None, str]]:
    """For each probe: the headers to send, or None and why it cannot be sent."""
    base = _without_auth(request.headers)
    token = bearer_token(real)
    claims = claims_of(token)
    if not claims:
        claims = {"sub": "1", **({"role": role} if role else {})}
    probes: dict[str, tuple[dict[str, str] | None, str]] = {"none": (base, "")}
    for kind in ("malformed", "other_key", "alg_none"):
        forged = forge(kind, claims)
        probes[kind] = ({**base, "Authorization": f"Bearer {forged}"}, "")
    if role is None:
        probes["expired"] = (None, "no role to ask an expired credential for")
    else:
        headers, why = expired_headers(context, role)
        expired_token = bearer_token(headers)
        if headers is not None and expired_token is not None and is_jwt(expired_token):
            exp = claims_of(expired_token).get("exp")
            import time

            if isinstance(exp, int | float) and exp < time.time():
                probes["expired"] = ({**base, **headers}, "")
            else:
                probes["expired"] = (None, "the expired-credentials hook returned a token whose exp is not past")
        elif headers is not None:
            probes["expired"] = (None, "the expired-credentials hook returned no bearer JWT")
        else:
            probes["expired"] = (None, why)
    return probes


def check_authn(context: GateContext, endpoint: Endpoint) -> CheckOutcome:
    """Send the five unauthenticated variants of one well-formed request; each must get 401 or 403."""
    target = endpoint.key
    roles = role_for(endpoint)
    role = next((r for r in roles if context.credentials.headers(r) is not None), None)
    former = context.former
    try:
        request = former.prepare(endpoint, former.candidates(endpoint, 1)[0], role)
    except Unformable as error:
        return outcome(CHECK, target, CheckStatus.NOT_VERIFIED, str(error))
    real = context.credentials.headers(role) if role else None
    token = bearer_token(real)
    evidence: list[str] = []
    answers: dict[str, Any] = {}
    findings: list[Finding] = []
    throttled = 0
    for kind, (headers, why) in _probe_headers(context, request, real, role).items():
        if headers is None:
            answers[kind] = f"not verified: {why}"
            evidence.append(f"{PROBES[kind]}: not sent ({why})")
            continue
        response: httpx.Response = former.send(request, headers=headers)
        answers[kind] = response.status_code
        evidence.append(f"{PROBES[kind]}: {request.method} {request.path} -> {response.status_code}")
        if response.status_code == 429:
            throttled += 1
            answers[kind] = "not verified: throttled (429)"
            continue
        if response.status_code not in REFUSED:
            shown = Prepared(
                request.method, request.path, request.query, headers, request.body, request.media_type, None
            )
            findings.append(
                finding(
                    CHECK,
                    f"{PROBES[kind]} is accepted",
                    Location(endpoint=target),
                    evidence=f"expected 401 or 403; got {response.status_code}: {excerpt(response)}",
                    fix=_FIX[kind],
                    reproduction=curl_command(context, shown),
                )
            )
            if kind == "none":
                evidence.append("the forged-token probes were not sent: the endpoint needs no credentials at all")
                break
    observations: dict[str, Any] = {"probes": answers, "jwt": is_jwt(token), "role": role}
    if findings:
        return outcome(
            CHECK, target, CheckStatus.FAILED, findings[0].title, evidence=evidence, findings=findings, **observations
        )
    sent = [kind for kind, answer in answers.items() if isinstance(answer, int)]
    if not sent or "none" not in sent:
        return outcome(
            CHECK,
            target,
            CheckStatus.NOT_VERIFIED,
            "the backend throttled the probes (429), so authentication was not observed",
            evidence=evidence,
            **observations,
        )
    missing = [PROBES[k] for k in PROBES if k not in sent]
    summary = f"refused {', '.join(PROBES[k] for k in sent)}"
    if missing:
        summary += f"; not verified: {', '.join(missing)}"
    if not is_jwt(token):
        evidence.append("the credentials the gate was given are not JWTs; forged JWTs were sent all the same")
    return outcome(CHECK, target, CheckStatus.PASSED, summary, evidence=evidence, **observations)
