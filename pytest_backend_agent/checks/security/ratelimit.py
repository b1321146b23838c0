"""``security.rate_limit``: when the packet declares a limit, a burst just above it from one client gets 429."""

from __future__ import annotations

import time

from pytest_backend_agent.checks.context import GateContext
from pytest_backend_agent.checks.requests import role_for
from pytest_backend_agent.checks.security.common import finding, outcome
from pytest_backend_agent.findings import CheckOutcome, CheckStatus, Location
from pytest_backend_agent.packet.model import Endpoint

__all__ = ["BURST_CLIENT", "check_rate_limit"]

CHECK = "security.rate_limit"
BURST_CLIENT = "127.1.0.9"  # the one in-process client address the burst comes from
EXTRA = 5
MAX_BURST = 500
MAX_SECONDS = 30.0


def _burst_endpoint(context: GateContext) -> tuple[Endpoint, dict[str, str]] | None:
    """A cheap GET without path parameters: public first, else one a role with credentials may call."""
    candidates = [e for e in context.packet.api.endpoints if e.method == "GET" and "{" not in e.path]
    for endpoint in sorted(candidates, key=lambda e: e.authentication_required):
        roles = role_for(endpoint)
        if not roles:
            return endpoint, {}
        for role in roles:
            headers = context.credentials.headers(role)
            if headers is not None:
                return endpoint, headers
    return None


def check_rate_limit(context: GateContext) -> CheckOutcome:
    """Send ``requests + 5`` requests from one client within the window; a 429 (with Retry-After) must come."""
    target = "burst"
    rule = context.packet.non_functional.rate_limit
    if rule is None:
        return outcome(
            CHECK, target, CheckStatus.PASSED, "the packet declares no rate limit; no burst was sent", implemented=None
        )
    if rule.requests + EXTRA > MAX_BURST:
        return outcome(
            CHECK,
            target,
            CheckStatus.NOT_VERIFIED,
            f"the packet's limit ({rule.requests} per {rule.window_seconds:g} s) is above the gate's "
            f"burst bound of {MAX_BURST - EXTRA} requests",
            implemented=None,
        )
    chosen = _burst_endpoint(context)
    if chosen is None:
        return outcome(
            CHECK,
            target,
            CheckStatus.NOT_VERIFIED,
            "no GET endpoint without path parameters that the gate can call",
            implemented=None,
        )
    endpoint, headers = chosen
    backend = context.backend
    started = time.monotonic()
    statuses: list[int] = []
    first_429 = None
    retry_after = None
    for index in range(rule.requests + EXTRA):
        response = backend.request("GET", endpoint.path, headers=headers, client=BURST_CLIENT, honour_throttling=False)
        statuses.append(response.status_code)
        if response.status_code == 429:
            first_429 = index + 1
            retry_after = response.headers.get("retry-after")
            break
        if time.monotonic() - started > min(MAX_SECONDS, rule.window_seconds):
            break
    elapsed = time.monotonic() - started
    evidence = [
        f"{len(statuses)} x GET {endpoint.path} from one client in {elapsed:.1f} s (limit {rule.requests} per "
        f"{rule.window_seconds:g} s)",
        "statuses: " + ", ".join(f"{s} x{statuses.count(s)}" for s in sorted(set(statuses))),
    ]
    if first_429 is not None:
        evidence.append(f"first 429 at request {first_429}; Retry-After: {retry_after or '(absent)'}")
        if not retry_after:
            return outcome(
                CHECK,
                target,
                CheckStatus.FAILED,
                "429 without a Retry-After header",
                evidence=evidence,
                findings=[
                    finding(
                        CHECK,
                        "429 without a Retry-After header",
                        Location(endpoint=endpoint.key),
                        evidence=evidence[-1],
                        fix="Tell throttled clients when to come back: Retry-After: <seconds>.",
                    )
                ],
                implemented=True,
            )
        return outcome(
            CHECK,
            target,
            CheckStatus.PASSED,
            f"throttled at request {first_429} of a burst of {rule.requests + EXTRA}, with Retry-After",
            evidence=evidence,
            implemented=True,
        )
    if len(statuses) < rule.requests + EXTRA:
        return outcome(
            CHECK,
            target,
            CheckStatus.NOT_VERIFIED,
            f"the burst took longer than the window allows ({elapsed:.1f} s); the limit was not observed",
            evidence=evidence,
            implemented=None,
        )
    return outcome(
        CHECK,
        target,
        CheckStatus.FAILED,
        f"no 429 after {len(statuses)} requests from one client; the packet asks for {rule.requests} per "
        f"{rule.window_seconds:g} s",
        evidence=evidence,
        findings=[
            finding(
                CHECK,
                "no rate limit while the packet asks for one",
                Location(endpoint=endpoint.key),
                evidence=evidence[1],
                fix=f"Limit each client to {rule.requests} requests per {rule.window_seconds:g} s and answer 429 with "
                "Retry-After beyond it (keep the limiter on while gated).",
            )
        ],
        implemented=False,
    )
