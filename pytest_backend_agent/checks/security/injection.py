"""``security.injection``: SQL and script payloads in string parameters and body fields."""

from __future__ import annotations

import dataclasses

from pytest_backend_agent.checks.context import GateContext
from pytest_backend_agent.checks.requests import Prepared, Unformable, curl_command, role_for
from pytest_backend_agent.checks.security.common import excerpt, finding, outcome
from pytest_backend_agent.checks.security.leakage import LEAKS
from pytest_backend_agent.findings import CheckOutcome, CheckStatus, Finding, Location
from pytest_backend_agent.packet.model import Endpoint

__all__ = ["PAYLOADS", "check_injection"]

CHECK = "security.injection"
PAYLOADS = {
    "sql": "x' OR '1'='1' -- ",
    "sql-quote": "1'\")",
    "script": '"><script>alert(7301)</script>',
}
MAX_REQUESTS = 60
_SQL = LEAKS[1][1]


def _string_query_parameters(context: GateContext, endpoint: Endpoint) -> list[str]:
    document = context.request_document
    found = document.find(endpoint.method, endpoint.path) if document else None
    if document is None or found is None:
        return []
    operation = document.document.get("paths", {}).get(found[0], {}).get(found[1].lower(), {})
    names = []
    for parameter in operation.get("parameters", []):
        if not isinstance(parameter, dict) or parameter.get("in") != "query":
            continue
        schema = parameter.get("schema") or {}
        types = {schema.get("type")} | {s.get("type") for s in schema.get("anyOf", []) if isinstance(s, dict)}
        if "string" in types:
            names.append(str(parameter["name"]))
    return names


def _variants(context: GateContext, endpoint: Endpoint, request: Prepared) -> list[tuple[str, str, Prepared]]:
    """(input, payload kind, request) with one string input replaced by one payload."""
    variants = []
    for name in _string_query_parameters(context, endpoint):
        for kind, payload in PAYLOADS.items():
            variants.append(
                (f"query {name}", kind, dataclasses.replace(request, query={**request.query, name: payload}))
            )
    if isinstance(request.body, dict):
        for field, value in request.body.items():
            if isinstance(value, str):
                for kind, payload in PAYLOADS.items():
                    variants.append(
                        (f"body {field}", kind, dataclasses.replace(request, body={**request.body, field: payload}))
                    )
    return variants


def check_injection(context: GateContext) -> CheckOutcome:
    """A 5xx, a database error in the body, or the script payload reflected into HTML fails."""
    target = "inputs"
    former = context.former
    evidence: list[str] = []
    findings: list[Finding] = []
    sent = 0
    throttled = 0
    for endpoint in context.packet.api.endpoints:
        roles = role_for(endpoint)
        role = next((r for r in roles if context.credentials.headers(r) is not None), None)
        if roles and role is None:
            evidence.append(f"{endpoint.key}: skipped, no credentials")
            continue
        try:
            request = former.prepare(endpoint, former.candidates(endpoint, 1)[0], role)
        except Unformable as error:
            evidence.append(f"{endpoint.key}: skipped, {error}")
            continue
        for field, kind, variant in _variants(context, endpoint, request):
            if sent >= MAX_REQUESTS:
                break
            response = former.send(variant)
            sent += 1
            evidence.append(f"{endpoint.key} {field} <- {kind} payload: {response.status_code}")
            if response.status_code == 429:
                throttled += 1
                continue
            media = response.headers.get("content-type", "").split(";")[0].lower()
            problem = None
            if response.status_code >= 500:
                problem = f"a {kind} payload in {field} causes a server error ({response.status_code})"
            elif _SQL.search(response.text):
                problem = f"a {kind} payload in {field} brings a database error into the response"
            elif kind == "script" and PAYLOADS["script"] in response.text and media in ("text/html", ""):
                problem = f"the script payload in {field} is reflected unescaped into {media or 'an untyped body'}"
            if problem:
                findings.append(
                    finding(
                        CHECK,
                        problem,
                        Location(endpoint=endpoint.key),
                        evidence=excerpt(response),
                        fix="Use bound query parameters (never format SQL strings), validate input, and escape output.",
                        reproduction=curl_command(context, variant),
                    )
                )
    if findings:
        return outcome(
            CHECK,
            target,
            CheckStatus.FAILED,
            findings[0].title,
            evidence=evidence,
            findings=findings,
            payload_requests=sent,
        )
    if sent == 0:
        return outcome(
            CHECK,
            target,
            CheckStatus.PASSED,
            "no string query parameter or body field to inject into",
            evidence=evidence,
            payload_requests=0,
        )
    if throttled == sent:
        return outcome(
            CHECK,
            target,
            CheckStatus.NOT_VERIFIED,
            f"the backend throttled all {sent} payload request(s) (429), so injection was not observed",
            evidence=evidence,
            payload_requests=sent,
        )
    judged = sent - throttled
    if throttled:
        evidence.append(f"{throttled} payload request(s) throttled (429) and not judged")
    return outcome(
        CHECK,
        target,
        CheckStatus.PASSED,
        f"{judged} payload request(s): no server error, database error or unescaped reflection",
        evidence=evidence,
        payload_requests=sent,
    )
