"""``performance.pagination``: a paginated list must page, and must not hand out more than ``max_page_size`` rows.

With a documented limit parameter (``limit``, ``page_size``, ``per_page``, ``size``), the gate asks for
``max_page_size + 1`` rows: a 4xx refusal, or at most ``max_page_size`` rows while more exist, passes. Without
one, it makes sure more rows exist than the packet's ``max_page_size`` (or 50 when the packet sets none) and lists
the endpoint with no parameters: getting every row back fails. The in-process app's connection pool is reported
as evidence.
"""

from __future__ import annotations

from typing import Any

import httpx

from pytest_backend_agent.checks.context import GateContext
from pytest_backend_agent.checks.performance.common import (
    ListTarget,
    Unlistable,
    finding,
    items_of,
    limit_parameter,
    list_target,
    outcome,
    populate,
)
from pytest_backend_agent.findings import CheckOutcome, CheckStatus
from pytest_backend_agent.packet.model import Endpoint

__all__ = ["CHECK", "check_pagination"]

CHECK = "performance.pagination"
DEFAULT_THRESHOLD = 50  # rows a list may return without a limit when the packet sets no max_page_size
MAX_CREATED = 150  # the gate creates at most this many rows to show a page


def _pool_evidence(context: GateContext, target: ListTarget) -> list[str]:
    """The connection pool of the engine the list query ran on (in-process only)."""
    if not context.backend.mode.startswith("app"):
        return ["connection pool: not observed (the app runs in another process)"]
    from pytest_backend_agent.checks.performance.counting import NothingToCount, statement_counting

    try:
        with statement_counting(asgi=context.backend.mode.startswith("app (asgi")) as counting:
            with counting.window():
                target.get(context)
            pools = counting.connections()
            watched = " or ".join(counting.sources)
    except NothingToCount as error:
        return [f"connection pool: not observed ({error})"]
    if not pools:
        return [f"connection pool: not observed (no {watched} statement ran while the list answered)"]
    return [f"connection pool: {pool}" for pool in pools]


def _rows(context: GateContext, target: ListTarget, params: dict[str, Any] | None = None) -> tuple[httpx.Response, int]:
    response = target.get(context, params)
    if not response.is_success:
        raise Unlistable(f"GET {target.endpoint.path} answered {response.status_code} as {target.role or 'anonymous'}")
    items = items_of(response)
    if items is None:
        raise Unlistable("the answer holds no list of items (an array, or a page with items/data/results)")
    return response, len(items)


def _fill(context: GateContext, target: ListTarget, have: int, want: int) -> None:
    if want - have > MAX_CREATED:
        raise Unlistable(
            f"showing {want} rows would need creating {want - have}, over the gate's bound of {MAX_CREATED}"
        )
    if want > have:
        populate(context, target, want - have)


def check_pagination(context: GateContext, endpoint: Endpoint) -> CheckOutcome:
    """Whether ``endpoint`` pages, and refuses or clamps a limit above ``max_page_size``."""
    key = endpoint.key
    try:
        target = list_target(context, endpoint)
        limit = limit_parameter(context, endpoint)
        result = _with_limit(context, target, limit) if limit else _without_limit(context, target)
    except Unlistable as error:
        return outcome(CHECK, key, CheckStatus.NOT_VERIFIED, f"{error}")
    result.evidence += target.notes + _pool_evidence(context, target)
    return result


def _with_limit(context: GateContext, target: ListTarget, limit: tuple[str, int | None]) -> CheckOutcome:
    key = target.endpoint.key
    name, maximum = limit
    documented = f"limit parameter `{name}`" + (f" (documented maximum {maximum})" if maximum is not None else "")
    largest = context.packet.non_functional.max_page_size
    if largest is None:
        return outcome(
            CHECK,
            key,
            CheckStatus.PASSED,
            f"has a {documented}; the packet sets no max_page_size, so no page size is too large",
        )
    asked = {name: largest + 1}
    response = target.get(context, asked)
    if 400 <= response.status_code < 500:
        return outcome(
            CHECK,
            key,
            CheckStatus.PASSED,
            f"refuses {name}={largest + 1} with {response.status_code} (max_page_size {largest})",
            evidence=[f"{documented}; GET {target.endpoint.path}?{name}={largest + 1} -> {response.status_code}"],
        )
    _, have = _rows(context, target, asked)
    if have <= largest:
        before = have
        _fill(context, target, have, largest + 1)
        _, have = _rows(context, target, asked)
        if have == before < largest:
            raise Unlistable(
                f"the list showed {before} row(s) before and after the gate added rows the caller should see"
            )
    evidence = [
        f"{documented}; GET {target.endpoint.path}?{name}={largest + 1} -> {response.status_code} with {have} rows"
    ]
    if have > largest:
        return outcome(
            CHECK,
            key,
            CheckStatus.FAILED,
            f"{name}={largest + 1} returned {have} rows, above the packet's max_page_size of {largest}",
            evidence=evidence,
            findings=[
                finding(
                    CHECK,
                    key,
                    f"accepts {name}={largest + 1}, above max_page_size {largest}, and returns {have} rows",
                    evidence=evidence[0],
                    fix=f"Bound the {name} parameter to {largest} (FastAPI: Query(le={largest})), refusing larger "
                    "values with 422 or clamping them.",
                )
            ],
        )
    return outcome(
        CHECK,
        key,
        CheckStatus.PASSED,
        f"{name}={largest + 1} returned {have} rows while more exist: clamped to max_page_size {largest}",
        evidence=evidence,
    )


def _without_limit(context: GateContext, target: ListTarget) -> CheckOutcome:
    key = target.endpoint.key
    largest = context.packet.non_functional.max_page_size
    threshold = largest if largest is not None else DEFAULT_THRESHOLD
    bound = f"max_page_size {largest}" if largest is not None else f"the gate's default bound of {threshold} rows"
    _, have = _rows(context, target)
    if have <= threshold:
        before = have
        _fill(context, target, have, threshold + 1)
        _, have = _rows(context, target)
        if have <= before:
            raise Unlistable(
                f"the list showed {before} row(s) before and after the gate added rows: a fixed page of {before}, "
                "or rows the caller cannot see"
            )
    evidence = [
        f"no limit parameter ({', '.join(('limit', 'page_size', 'per_page', 'size'))}) in the OpenAPI document; "
        f"GET {target.endpoint.path} -> {have} rows"
    ]
    if have > threshold:
        return outcome(
            CHECK,
            key,
            CheckStatus.FAILED,
            f"not paginated: returned all {have} rows without a limit, above {bound}",
            evidence=evidence,
            findings=[
                finding(
                    CHECK,
                    key,
                    f"not paginated: returns every row ({have}) with no limit parameter, above {bound}",
                    evidence=evidence[0],
                    fix="Add a limit (and offset or cursor) query parameter with a default and a maximum of the "
                    "packet's max_page_size, and apply it to the query (.limit()/.offset()).",
                )
            ],
        )
    return outcome(
        CHECK,
        key,
        CheckStatus.PASSED,
        f"no limit parameter, but it answers at most {have} rows per request while more exist (a fixed page)",
        evidence=evidence,
    )
