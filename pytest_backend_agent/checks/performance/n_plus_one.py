"""``performance.n_plus_one``: the SQL statements a list endpoint runs must not grow with the rows it returns.

The gate lists the endpoint with a few rows, adds more (through the API's own create endpoint, or the
``pytest_backend_seed`` hook), and lists it again, counting the statements SQLAlchemy and Django run during each
request (``counting.py``). A statement run once per row (a relationship loaded lazily while the response is built)
shows up as one normalised statement whose count grew with the rows.
"""

from __future__ import annotations

from typing import Any

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
from pytest_backend_agent.checks.performance.counting import Counting, NothingToCount, statement_counting
from pytest_backend_agent.findings import CheckOutcome, CheckStatus
from pytest_backend_agent.packet.model import Endpoint

__all__ = ["CHECK", "check_n_plus_one", "page_params"]

CHECK = "performance.n_plus_one"
FIRST_ROWS = 2
MORE_ROWS = 10
SQLALCHEMY_FIX = (
    "Load the related rows with the list query (SQLAlchemy: selectinload()/joinedload() in the select, or "
    "lazy='selectin' on the relationship) so the number of statements does not depend on the number of rows."
)
DJANGO_FIX = (
    "Load the related rows with the list query (Django: select_related() for a foreign key or one-to-one field, "
    "prefetch_related() for a reverse or many-to-many relation) so the number of statements does not depend on the "
    "number of rows."
)


def page_params(context: GateContext, endpoint: Endpoint) -> dict[str, Any]:
    """Query parameters asking for the largest page the endpoint and the packet allow (none without a limit)."""
    found = limit_parameter(context, endpoint)
    if found is None:
        return {}
    name, maximum = found
    bounds = [b for b in (maximum, context.packet.non_functional.max_page_size) if b is not None]
    return {name: min(bounds) if bounds else 100}


def _measure(context: GateContext, target: ListTarget, counting: Counting, params: dict[str, Any]) -> Any:
    with counting.window() as seen:
        response = target.get(context, params)
    return response, items_of(response), seen


def check_n_plus_one(context: GateContext, endpoint: Endpoint) -> CheckOutcome:
    """List ``endpoint`` with 2 rows and with 12, counting SQL statements; a statement that grows is a finding."""
    key = endpoint.key
    if not context.backend.mode.startswith("app"):
        return outcome(
            CHECK,
            key,
            CheckStatus.NOT_VERIFIED,
            "statement counting needs the app in-process (--backend-app); over HTTP the gate cannot "
            "see the SQL the server runs",
        )
    try:
        target = list_target(context, endpoint)
        with statement_counting(asgi=context.backend.mode.startswith("app (asgi")) as counting:
            return _judge(context, endpoint, target, counting)
    except (Unlistable, NothingToCount) as error:
        return outcome(CHECK, key, CheckStatus.NOT_VERIFIED, f"{error}")


def _judge(context: GateContext, endpoint: Endpoint, target: ListTarget, counting: Counting) -> CheckOutcome:
    key = endpoint.key
    params = page_params(context, endpoint)
    probe = target.get(context, params)
    if not probe.is_success:
        return outcome(
            CHECK,
            key,
            CheckStatus.NOT_VERIFIED,
            f"GET {endpoint.path} answered {probe.status_code} as {target.role or 'anonymous'}",
        )
    if items_of(probe) is None:
        if endpoint.paginated:
            return outcome(
                CHECK,
                key,
                CheckStatus.NOT_VERIFIED,
                "the answer holds no list of items (an array, or a page with items/data/results)",
            )
        return outcome(CHECK, key, CheckStatus.PASSED, "not a list endpoint: its answer holds no list of items")
    populate(context, target, FIRST_ROWS)
    target.get(context, params)  # warm-up: statements a first request runs once (caches, lookups) are not counted
    first, rows_1, window_1 = _measure(context, target, counting, params)
    if not first.is_success or rows_1 is None:
        return outcome(
            CHECK,
            key,
            CheckStatus.NOT_VERIFIED,
            f"GET {endpoint.path} answered {first.status_code} without a list after the gate added rows",
        )
    populate(context, target, MORE_ROWS)
    second, rows_2, window_2 = _measure(context, target, counting, params)
    counts_1, counts_2 = window_1.counts, window_2.counts
    n1, n2 = len(rows_1), len(rows_2 or [])
    s1, s2 = window_1.total, window_2.total
    pools = counting.connections()
    query = "?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""
    evidence = [
        f"GET {endpoint.path}{query} as {target.role or 'anonymous'}: {n1} rows -> {s1} SQL statement(s); "
        f"{n2} rows -> {s2} SQL statement(s)",
        *target.notes,
        *(f"connection pool of the engine that ran them: {pool}" for pool in pools),
        *counting.notes(),
    ]
    observations: dict[str, Any] = {
        "rows": [n1, n2],
        "statements": [s1, s2],
        "pools": pools,
        "counted": counting.sources,
    }
    if not second.is_success or n2 <= n1:
        return outcome(
            CHECK,
            key,
            CheckStatus.NOT_VERIFIED,
            f"the list showed {n1} then {n2} row(s) although the gate added rows (a full page, or "
            "rows the caller cannot see), so growth with the rows cannot be told",
            evidence=evidence,
            **observations,
        )
    if s1 == 0 and s2 == 0:
        return outcome(
            CHECK, key, CheckStatus.NOT_VERIFIED, counting.nothing_counted(), evidence=evidence, **observations
        )
    unseen = counting.unseen_connection([window_1, window_2])
    if unseen:
        return outcome(CHECK, key, CheckStatus.NOT_VERIFIED, unseen, evidence=evidence, **observations)
    threshold = max(2, (n2 - n1) // 2)
    grown = sorted(
        ((counts_2[s] - counts_1[s], s) for s in counts_2 if counts_2[s] - counts_1[s] >= threshold), reverse=True
    )
    if not grown:
        return outcome(
            CHECK,
            key,
            CheckStatus.PASSED,
            f"{s1} statement(s) for {n1} rows, {s2} for {n2}: the statements do not grow with the rows",
            evidence=evidence,
            **observations,
        )
    findings = []
    for _, statement in grown[:1]:
        short = statement if len(statement) <= 160 else statement[:157] + "..."
        findings.append(
            finding(
                CHECK,
                key,
                f"N+1 queries: `{short}` ran {counts_1[statement]} times for {n1} rows and {counts_2[statement]} "
                f"times for {n2} rows",
                evidence=f"{evidence[0]}; repeated statement: {statement}",
                fix=DJANGO_FIX if counting.is_django(statement) else SQLALCHEMY_FIX,
            )
        )
    evidence += [f"grew: {counts_1[s]} -> {counts_2[s]} x {s}" for _, s in grown]
    return outcome(
        CHECK,
        key,
        CheckStatus.FAILED,
        f"N+1 queries: {len(grown)} statement(s) run once per row ({s1} statements for {n1} rows, {s2} for {n2})",
        evidence=evidence,
        findings=findings,
        repeated=[s for _, s in grown],
        **observations,
    )
