"""``security.leakage``: error bodies reveal no stack trace, SQL, exception name or path, and use one format."""

from __future__ import annotations

import re

import httpx

from pytest_backend_agent.checks.context import GateContext
from pytest_backend_agent.checks.requests import role_for
from pytest_backend_agent.checks.security.common import excerpt, finding, outcome
from pytest_backend_agent.findings import CheckOutcome, CheckStatus, Finding, Location

__all__ = ["LEAKS", "check_leakage", "leaks_in"]

CHECK = "security.leakage"
LEAKS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "a stack trace",
        re.compile(
            r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|\bat [\w.$]+\(\w+\.java:\d+\)"
            # Node.js (V8) frames: "at handle (/srv/server.js:12:5)", "at JSON.parse (<anonymous>)", node:internal
            r"|\bat (?:[\w.$<>\[\] ]+ \()?(?:file://)?[^\s()\"']+\.[cm]?[jt]sx?:\d+:\d+\b|\bat [\w.$]+ \(<anonymous>\)"
            r"|\(?node:internal/[\w/]+:\d+"
            # Go panics and frames, Ruby frames, .NET frames
            r"|goroutine \d+ \[running\]|\.go:\d+ \+0x[0-9a-f]+|\.rb:\d+:in [`']"
            r"|\bat [\w.<>`]+\(.*\) in [^\s]+\.cs:line \d+"
        ),
    ),
    (
        "SQL text or a database error",
        re.compile(
            r"\b(?:SELECT\s.{1,120}\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b|sqlite3\.\w+|psycopg|"
            r"SQLSTATE|sqlalchemy\.exc|\bORA-\d{5}\b|syntax error at or near|no such (?:table|column)",
        ),
    ),
    ("an exception class name", re.compile(r"\b(?:[A-Z][a-z0-9]+)+(?:Error|Exception)\b")),
    (
        "a file path",
        re.compile(
            r"(?:/[\w.-]+){2,}\.(?:py|[cm]?js|ts|go|rb|php|java|cs)\b|site-packages|node_modules/|"
            r"[A-Za-z]:\\\\[\w\\. -]+\.(?:py|[cm]?js|ts|go|rb|php|java|cs)\b"
        ),
    ),
)


def leaks_in(text: str) -> list[tuple[str, str]]:
    """(what leaked, the matching text) for each kind of leak in ``text``."""
    found = []
    for kind, pattern in LEAKS:
        match = pattern.search(text)
        if match:
            found.append((kind, match.group(0)[:80]))
    return found


def _concrete(path: str, value: str = "1") -> str:
    return re.sub(r"\{[^}/]+\}", value, path)


def check_leakage(context: GateContext) -> CheckOutcome:
    """Provoke errors on every endpoint (no credentials, a broken JSON body, a mistyped id, an unknown path)."""
    target = "errors"
    backend = context.backend
    packet = context.packet
    error_format = packet.api.error_format
    probes: list[tuple[str, str, str, dict[str, str], bytes | None]] = []
    base = packet.api.base_path.rstrip("/")
    probes.append(("GET /unknown", "GET", f"{base}/__backend_gate_missing__", {}, None))
    for endpoint in packet.api.endpoints:
        path = _concrete(endpoint.path)
        if endpoint.authentication_required:
            probes.append((endpoint.key, endpoint.method, path, {}, None))
        roles = role_for(endpoint)
        headers = next((h for r in roles if (h := context.credentials.headers(r)) is not None), None)
        if roles and headers is None:
            continue
        headers = dict(headers or {})
        if endpoint.method in ("POST", "PUT", "PATCH"):
            probes.append(
                (endpoint.key, endpoint.method, path, {**headers, "Content-Type": "application/json"}, b'{"broken": ')
            )
        if "{" in endpoint.path:
            probes.append((endpoint.key, endpoint.method, _concrete(endpoint.path, "not-an-id%27"), headers, None))
    evidence: list[str] = []
    findings: list[Finding] = []
    errors = 0
    throttled = 0
    for key, method, path, headers, body in probes:
        response: httpx.Response = backend.request(method, path, headers=headers, content=body)
        status = response.status_code
        evidence.append(f"{method} {path} -> {status} ({response.headers.get('content-type', 'no content-type')})")
        if status == 429:
            throttled += 1
            continue
        if status < 400:
            continue
        errors += 1
        where = Location(endpoint=key if key != "GET /unknown" else None)
        for kind, matched in leaks_in(response.text):
            findings.append(
                finding(
                    CHECK,
                    f"the {status} body reveals {kind}",
                    where,
                    evidence=f"{method} {path}: …{matched}… in {excerpt(response)}",
                    fix="Log the details on the server; answer clients with a generic error body.",
                )
            )
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if error_format and media != error_format.lower() and (status != 405 or response.content):
            findings.append(
                finding(
                    CHECK,
                    f"a {status} error is {media or 'untyped'}, not the packet's {error_format}",
                    where,
                    evidence=f"{method} {path} -> {status}: {excerpt(response)}",
                    fix=f"Render every error (including 401, 404, 405, 422 and 500) as {error_format}.",
                )
            )
    if findings:
        return outcome(CHECK, target, CheckStatus.FAILED, findings[0].title, evidence=evidence, findings=findings)
    if errors == 0:
        why = f"{throttled} of {len(probes)} probes were throttled (429)" if throttled else "every probe succeeded"
        return outcome(
            CHECK, target, CheckStatus.NOT_VERIFIED, f"no error response was provoked: {why}", evidence=evidence
        )
    fmt = f", all in {error_format}" if error_format else ""
    return outcome(
        CHECK,
        target,
        CheckStatus.PASSED,
        f"{errors} error response(s) leak no trace, SQL, exception name or path{fmt}",
        evidence=evidence,
    )
