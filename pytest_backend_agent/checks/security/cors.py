"""``security.cors``: a preflight from a foreign origin is not allowed; no wildcard or reflection with credentials."""

from __future__ import annotations

from pytest_backend_agent.checks.context import GateContext
from pytest_backend_agent.checks.security.common import finding, outcome
from pytest_backend_agent.findings import CheckOutcome, CheckStatus, Finding, Location
from pytest_backend_agent.packet.model import Endpoint

__all__ = ["FOREIGN_ORIGIN", "check_cors"]

CHECK = "security.cors"
FOREIGN_ORIGIN = "https://backend-gate-foreign.invalid"


def _probe_endpoint(context: GateContext) -> Endpoint | None:
    endpoints = context.packet.api.endpoints
    protected = [e for e in endpoints if e.authentication_required]
    chosen = protected or endpoints
    return chosen[0] if chosen else None


def check_cors(context: GateContext) -> CheckOutcome:
    """Send a preflight and a simple request from an origin outside ``cors_allowed_origins``."""
    target = "preflight"
    endpoint = _probe_endpoint(context)
    if endpoint is None:
        return outcome(CHECK, target, CheckStatus.NOT_VERIFIED, "the packet has no endpoint to send a preflight to")
    allowed = context.packet.non_functional.cors_allowed_origins
    path = endpoint.path.replace("{", "").replace("}", "")  # a concrete path; CORS does not depend on the id
    backend = context.backend
    preflight = backend.request(
        "OPTIONS",
        path,
        headers={
            "Origin": FOREIGN_ORIGIN,
            "Access-Control-Request-Method": endpoint.method,
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    simple = backend.request("GET", path, headers={"Origin": FOREIGN_ORIGIN})
    evidence: list[str] = []
    findings: list[Finding] = []
    where = Location(endpoint=endpoint.key)
    for label, response in (("preflight OPTIONS", preflight), ("GET with Origin", simple)):
        origin = response.headers.get("access-control-allow-origin")
        credentials = response.headers.get("access-control-allow-credentials", "").lower() == "true"
        evidence.append(
            f"{label} {path} from {FOREIGN_ORIGIN} -> {response.status_code}, Access-Control-Allow-Origin: "
            f"{origin or '(none)'}, Allow-Credentials: {credentials}"
        )
        if response.status_code == 429 or findings:
            continue  # one finding is enough: the second request only adds evidence
        reflected = origin == FOREIGN_ORIGIN
        if (origin == "*" or reflected) and credentials:
            findings.append(
                finding(
                    CHECK,
                    f"CORS {'reflects any origin' if reflected else 'allows every origin (*)'} with credentials",
                    where,
                    evidence=evidence[-1],
                    fix="List the allowed origins explicitly (the packet's cors_allowed_origins); never reflect the "
                    "Origin header or use '*' together with Access-Control-Allow-Credentials: true.",
                    reproduction=f"curl -i -X OPTIONS -H 'Origin: {FOREIGN_ORIGIN}' -H 'Access-Control-Request-Method: "
                    f"{endpoint.method}' http://127.0.0.1:8000{path}",
                )
            )
        elif (reflected or origin == "*") and label.startswith("preflight"):
            findings.append(
                finding(
                    CHECK,
                    "a preflight from an origin outside cors_allowed_origins is allowed",
                    where,
                    evidence=evidence[-1],
                    fix=f"Allow only {', '.join(allowed) or 'no cross-origin callers'} (the packet's "
                    "cors_allowed_origins).",
                )
            )
    if findings:
        return outcome(CHECK, target, CheckStatus.FAILED, findings[0].title, evidence=evidence, findings=findings)
    if preflight.status_code == 429 and simple.status_code == 429:
        return outcome(
            CHECK, target, CheckStatus.NOT_VERIFIED, "throttled (429): CORS was not observed", evidence=evidence
        )
    return outcome(
        CHECK,
        target,
        CheckStatus.PASSED,
        f"an origin outside cors_allowed_origins ({', '.join(allowed) or 'none'}) is not allowed",
        evidence=evidence,
    )
