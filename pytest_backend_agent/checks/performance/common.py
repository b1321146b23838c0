"""Shared pieces of the performance checks: outcomes, list endpoints, their page size and the rows behind them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from pytest_backend_agent.checks.base import make_outcome
from pytest_backend_agent.checks.requests import Unformable, role_for
from pytest_backend_agent.findings import CheckOutcome, CheckStatus, Finding, Location, Severity
from pytest_backend_agent.packet.model import Endpoint, normalize_path

if TYPE_CHECKING:
    from pytest_backend_agent.checks.context import GateContext

__all__ = [
    "FAMILY",
    "LIMIT_NAMES",
    "ListTarget",
    "Unlistable",
    "finding",
    "is_list_endpoint",
    "items_of",
    "limit_parameter",
    "list_target",
    "outcome",
    "populate",
]

FAMILY = "performance"
LIMIT_NAMES = ("limit", "page_size", "per_page", "size", "pagesize", "perpage")
_ITEM_KEYS = ("items", "data", "results", "content", "records", "rows")


def outcome(
    check: str,
    target: str,
    status: CheckStatus,
    summary: str,
    *,
    evidence: list[str] | None = None,
    findings: list[Finding] | None = None,
    **observations: Any,
) -> CheckOutcome:
    """A performance check outcome."""
    return make_outcome(FAMILY, check, target, status, summary, evidence=evidence, findings=findings, **observations)


def finding(check: str, endpoint: str, title: str, *, evidence: str = "", fix: str = "") -> Finding:
    """An error finding in the ``performance`` category, placed at ``endpoint``."""
    return Finding(
        check=check,
        category=FAMILY,
        severity=Severity.ERROR,
        title=title,
        location=Location(endpoint=endpoint),
        evidence=evidence,
        fix=fix,
    )


def is_list_endpoint(endpoint: Endpoint) -> bool:
    """A GET the packet calls paginated, or a GET on a collection (its last segment is not a parameter)."""
    if endpoint.method != "GET":
        return False
    return endpoint.paginated or not endpoint.path.rstrip("/").rsplit("/", 1)[-1].startswith("{")


def items_of(response: httpx.Response) -> list[Any] | None:
    """The rows a list response holds: the array itself, or the array under ``items``/``data``/... of a page."""
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for key in _ITEM_KEYS:
            if isinstance(body.get(key), list):
                return list(body[key])
    return None


def limit_parameter(context: GateContext, endpoint: Endpoint) -> tuple[str, int | None] | None:
    """The page-size query parameter the OpenAPI document declares for ``endpoint``, with its ``maximum``."""
    document = context.request_document
    found = document.find(endpoint.method, endpoint.path) if document else None
    if document is None or found is None:
        return None
    item = (document.document.get("paths") or {}).get(found[0]) or {}
    operation = item.get(found[1].lower()) or {}
    for parameter in [*(item.get("parameters") or []), *(operation.get("parameters") or [])]:
        if not isinstance(parameter, dict) or parameter.get("in") != "query":
            continue
        name = str(parameter.get("name", ""))
        if name.lower().replace("-", "_") in LIMIT_NAMES or name.lower() in LIMIT_NAMES:
            schema = parameter.get("schema") or {}
            maximum = schema.get("maximum") if isinstance(schema, dict) else None
            return name, int(maximum) if isinstance(maximum, int | float) else None
    return None


class Unlistable(Exception):  # noqa: N818 - reads as "the endpoint is unlistable"
    """The gate cannot call the list endpoint or make rows for it; the message says why."""


@dataclass
class ListTarget:
    """A list endpoint, the role it is called as, and the create endpoint that adds its rows."""

    endpoint: Endpoint
    role: str | None
    headers: dict[str, str]
    creator: Endpoint | None
    notes: list[str] = field(default_factory=list)

    def get(self, context: GateContext, params: dict[str, Any] | None = None) -> httpx.Response:
        """One GET of the list as :attr:`role`."""
        return context.backend.request("GET", self.endpoint.path, headers=self.headers, params=params)


def _creator(context: GateContext, endpoint: Endpoint) -> Endpoint | None:
    template = normalize_path(endpoint.path)
    return next(
        (e for e in context.packet.api.endpoints if e.method == "POST" and e.template == template),
        None,
    )


def list_target(context: GateContext, endpoint: Endpoint) -> ListTarget:
    """Who calls ``endpoint`` and who creates its rows; a role allowed both is preferred (a list of *my* rows)."""
    if "{" in endpoint.path:
        raise Unlistable(f"{endpoint.key} has path parameters; the gate lists only top-level collections")
    former = context.former
    creator = _creator(context, endpoint)
    creator_roles: list[str | None] = ([*role_for(creator)] or [None]) if creator else [None]
    list_roles: list[str | None] = [*role_for(endpoint)] or [None]
    usable = [r for r in list_roles if r is None or context.credentials.headers(r) is not None]
    if not usable:
        problems = "; ".join(context.credentials.problems.get(r or "", "") for r in list_roles)
        raise Unlistable(f"no credentials for any role allowed to call {endpoint.key}: {problems}")
    role = next((r for r in usable if r in creator_roles), usable[0])
    try:
        headers = former.auth_headers(role)
    except Unformable as error:
        raise Unlistable(str(error)) from error
    return ListTarget(endpoint, role, headers, creator)


def _create_from_one_draw(context: GateContext, creator: Endpoint, count: int) -> int:
    """Create up to ``count`` rows from one draw of request data (drawing per row costs more than the requests)."""
    former = context.former
    role = next((r for r in role_for(creator) if context.credentials.headers(r) is not None), None)
    if role is None and creator.authentication_required:
        return 0
    added = 0
    for candidate in former.candidates(creator, limit=count + 3):
        if added >= count:
            break
        try:
            prepared = former.prepare(creator, candidate, role)
        except Unformable:
            return added
        if former.send(prepared).is_success:
            added += 1
    return added


def populate(context: GateContext, target: ListTarget, count: int) -> int:
    """Add ``count`` rows behind ``target``: the ``pytest_backend_seed`` hook first, else the API's create endpoint.

    Returns how many rows were added; raises :class:`Unlistable` when neither way can add any.
    """
    hook: Any = context.config.hook
    try:
        seeded = hook.pytest_backend_seed(
            resource=target.endpoint.path, count=count, backend=context.backend, config=context.config
        )
    except Exception as error:
        raise Unlistable(
            context.redact(
                f"the pytest_backend_seed hook raised {type(error).__name__} for {target.endpoint.path}: {error}"
            )
        ) from error
    if seeded is not None:
        target.notes.append(f"{int(seeded)} row(s) added by the pytest_backend_seed hook")
        return int(seeded)
    if target.creator is None:
        raise Unlistable(
            f"the packet has no POST {target.endpoint.path} to create rows with, and no pytest_backend_seed hook "
            f"added any; implement pytest_backend_seed(resource, count, backend, config) in conftest.py"
        )
    added = _create_from_one_draw(context, target.creator, count)
    former = context.former
    failures: list[str] = []
    while added < count and len(failures) < max(3, count // 2):
        created = former.create(target.creator.path)
        if created is None:
            failures.append(f"{target.creator.key} answered no 2xx with an id to any request the gate formed")
            continue
        added += 1
    if added == 0:
        raise Unlistable(f"the gate could not create rows through {target.creator.key}: {failures[0]}")
    target.notes.append(f"{added} row(s) created through {target.creator.key}")
    return added
