"""``security.headers``: nosniff, frame options and HSTS (over https) are reported; they fail only when asked for."""

from __future__ import annotations

from pytest_backend_agent.checks.context import GateContext
from pytest_backend_agent.checks.security.common import finding, outcome
from pytest_backend_agent.findings import CheckOutcome, CheckStatus, Finding, Location, Severity

__all__ = ["check_headers"]

CHECK = "security.headers"
EXPECTED = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "",
    "strict-transport-security": "",
}


def check_headers(context: GateContext) -> CheckOutcome:
    """Look at one response; missing headers are warnings unless ``non_functional.security_headers`` names them."""
    target = "response"
    endpoints = context.packet.api.endpoints
    path = endpoints[0].path.replace("{", "").replace("}", "") if endpoints else "/"
    response = context.backend.request("GET", path)
    if response.status_code == 429:
        return outcome(
            CHECK,
            target,
            CheckStatus.NOT_VERIFIED,
            "the backend throttled the request (429)",
            evidence=[f"GET {path} -> 429"],
        )
    https = context.backend.base_url.startswith("https://")
    required = {name.lower() for name in context.packet.non_functional.security_headers}
    evidence = [f"GET {path} -> {response.status_code}"]
    findings: list[Finding] = []
    present: dict[str, str | None] = {}
    for name, wanted in EXPECTED.items():
        value = response.headers.get(name)
        present[name] = value
        evidence.append(f"{name}: {value if value is not None else '(absent)'}")
        if name == "strict-transport-security" and not https and name not in required:
            continue
        ok = value is not None and (not wanted or value.lower() == wanted)
        if not ok and name in required:
            findings.append(
                finding(
                    CHECK,
                    f"response lacks {name}" + (f": {wanted}" if wanted else ""),
                    Location(endpoint=f"GET {path}"),
                    evidence=evidence[-1],
                    fix=f"Add {name} to every response (a middleware).",
                    severity=Severity.ERROR,
                )
            )
    if findings:
        return outcome(
            CHECK, target, CheckStatus.FAILED, findings[0].title, evidence=evidence, findings=findings, headers=present
        )
    absent = [name for name, value in present.items() if value is None and (https or "transport" not in name)]
    summary = (
        "security headers present"
        if not absent
        else f"absent (reported only; the packet's security_headers does not ask for them): {', '.join(absent)}"
    )
    return outcome(CHECK, target, CheckStatus.PASSED, summary, evidence=evidence, findings=findings, headers=present)
