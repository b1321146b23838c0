"""``performance.latency``: each endpoint's p95, from the gate's own requests, against the packet's budget.

Samples are every request this process sent to the endpoint before the item ran (the other checks' requests,
the logins of the credentials hook), plus, for a GET, up to 20 dedicated timed requests after one warm-up
request that is not counted. State-changing endpoints are timed only from the requests already sent: the gate
does not create and delete data just to time it.
"""

from __future__ import annotations

import math
import time
from typing import Any

from pytest_backend_agent.backend.client import RequestRecord
from pytest_backend_agent.checks.context import GateContext
from pytest_backend_agent.checks.performance.common import finding, outcome
from pytest_backend_agent.checks.requests import Unformable, role_for
from pytest_backend_agent.findings import CheckOutcome, CheckStatus
from pytest_backend_agent.packet.model import Endpoint
from pytest_backend_agent.packet.routes import EndpointIndex

__all__ = ["CHECK", "MIN_SAMPLES", "check_latency", "percentile"]

CHECK = "performance.latency"
TIMED_REQUESTS = 20
TIME_BUDGET_S = 2.0  # dedicated requests stop after this long once MIN_TIMED of them were taken
MIN_TIMED = 5
MIN_SAMPLES = 5  # fewer samples than this cannot show a p95: over budget is then "not verified"


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (the same rule as the report's ``performance_notes``)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def _samples(records: list[RequestRecord], endpoint: Endpoint, index: EndpointIndex) -> list[float]:
    return [
        r.elapsed_ms
        for r in records
        if r.method == endpoint.method and r.status not in (0, 429) and index.is_for(endpoint, r.method, r.path)
    ]


def _timed_gets(context: GateContext, endpoint: Endpoint) -> tuple[list[float], str]:
    """Dedicated timed GETs (warm-up excluded) and a note saying how many, or why none were sent."""
    roles: list[str | None] = [*role_for(endpoint)] or [None]
    role = next((r for r in roles if r is None or context.credentials.headers(r) is not None), roles[0])
    former = context.former
    request = None
    try:
        for request in former.formed(endpoint, role, limit=3):
            if former.send(request).is_success:  # warm-up, not counted: a request the backend accepts is timed
                break
    except Unformable as error:
        return [], f"no dedicated requests: {error}"
    if request is None:
        return [], "no dedicated requests: no request could be formed"
    backend = context.backend
    started = time.monotonic()
    first = len(backend.records)
    throttled = ""
    for index in range(TIMED_REQUESTS):
        if index >= MIN_TIMED and time.monotonic() - started > TIME_BUDGET_S:
            break
        # a 429 ends the timing instead of being waited out: timing must not spend the rate limit other checks need
        response = backend.request(
            "GET", request.path, headers=request.headers, params=request.query, honour_throttling=False
        )
        if response.status_code == 429:
            throttled = " (stopped at the first 429)"
            break
    timed = _samples(backend.records[first:], endpoint, context.endpoints)
    return timed, f"{len(timed)} dedicated timed GET(s) as {role or 'anonymous'} after one warm-up request{throttled}"


def check_latency(context: GateContext, endpoint: Endpoint) -> CheckOutcome:
    """p50/p95 of ``endpoint`` from the gate's requests; over ``latency_p95_ms`` fails, naming the figures."""
    key = endpoint.key
    earlier = _samples(context.backend.records, endpoint, context.endpoints)
    note = "state-changing: timed from the other checks' requests only"
    timed: list[float] = []
    if endpoint.method == "GET":
        timed, note = _timed_gets(context, endpoint)
    samples = earlier + timed
    budget = context.packet.non_functional.latency_p95_ms
    if not samples:
        return outcome(
            CHECK,
            key,
            CheckStatus.NOT_VERIFIED,
            f"no request to {key} got an answer in this run ({note})",
        )
    p50, p95, slowest = percentile(samples, 0.5), percentile(samples, 0.95), max(samples)
    figures = f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {slowest:.1f} ms over {len(samples)} requests"
    evidence = [figures, f"{len(earlier)} request(s) from earlier checks; {note}"]
    observations: dict[str, Any] = {
        "latency": {
            "p50_ms": round(p50, 3),
            "p95_ms": round(p95, 3),
            "max_ms": round(slowest, 3),
            "samples": len(samples),
            "budget_ms": budget,
        }
    }
    if budget is None:
        return outcome(
            CHECK,
            key,
            CheckStatus.PASSED,
            f"{figures}; no budget in the packet (non_functional.latency_p95_ms), so nothing to exceed",
            evidence=evidence,
            **observations,
        )
    if p95 <= budget:
        return outcome(
            CHECK,
            key,
            CheckStatus.PASSED,
            f"{figures}; within the packet's p95 budget of {budget:g} ms",
            evidence=evidence,
            **observations,
        )
    if len(samples) < MIN_SAMPLES:
        return outcome(
            CHECK,
            key,
            CheckStatus.NOT_VERIFIED,
            f"{figures}, over the budget of {budget:g} ms, but {len(samples)} request(s) are too few "
            f"for a p95 (at least {MIN_SAMPLES} needed)",
            evidence=evidence,
            **observations,
        )
    return outcome(
        CHECK,
        key,
        CheckStatus.FAILED,
        f"{figures}: OVER the packet's p95 budget of {budget:g} ms",
        evidence=evidence,
        findings=[
            finding(
                CHECK,
                key,
                f"p95 latency {p95:.1f} ms is over the packet's budget of {budget:g} ms",
                evidence=f"{figures}; {note}",
                fix="Profile the handler (slow queries, missing indexes, blocking calls such as sleep or remote "
                "calls without a timeout) or agree a larger non_functional.latency_p95_ms with the architect.",
            )
        ],
        **observations,
    )
