"""Reading a whole list as one caller, to tell whether a given resource is in it (``security.object_access``).

The list is asked for its largest page: the page-size parameter the OpenAPI document declares (``limit``,
``page_size``, ...) set to its documented maximum, or the packet's ``max_page_size``, whichever is smaller (100 when
neither says). When the document also declares an offset (``offset``, ``skip``, ``start``) or a page number
(``page``), later pages are followed, up to :data:`MAX_PAGES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from pytest_backend_agent.checks.performance.common import items_of, limit_parameter
from pytest_backend_agent.checks.requests import Prepared

if TYPE_CHECKING:
    from pytest_backend_agent.checks.context import GateContext
    from pytest_backend_agent.packet.model import Endpoint

__all__ = ["MAX_PAGES", "Paging", "Scan", "holds", "paging_of", "scan"]

MAX_PAGES = 50
DEFAULT_PAGE_SIZE = 100
_OFFSET_NAMES = ("offset", "skip", "start")
_PAGE_NAMES = ("page", "page_number", "pagenumber")
_TOTAL_KEYS = ("total", "count", "total_count", "totalcount")


@dataclass(frozen=True)
class Paging:
    """How to ask a list for its pages: the page-size parameter and size, and the offset or page-number one."""

    size_name: str | None = None
    size: int | None = None
    offset_name: str | None = None
    page_name: str | None = None
    first_page: int = 1

    @property
    def follows(self) -> bool:
        """Whether pages after the first can be asked for."""
        return self.offset_name is not None or self.page_name is not None

    def params(self, index: int, seen: int) -> dict[str, Any]:
        """The query of page ``index`` (0-based) after ``seen`` rows."""
        params: dict[str, Any] = {}
        if self.size_name is not None and self.size is not None:
            params[self.size_name] = self.size
        if index > 0 and self.offset_name is not None:
            params[self.offset_name] = seen
        elif index > 0 and self.page_name is not None:
            params[self.page_name] = self.first_page + index
        return params

    def describe(self) -> str:
        """One line for the evidence."""
        parts = [f"{self.size_name}={self.size}" if self.size_name else "no page-size parameter"]
        if self.offset_name:
            parts.append(f"following {self.offset_name}")
        elif self.page_name:
            parts.append(f"following {self.page_name}")
        else:
            parts.append("one page (no offset or page parameter)")
        return ", ".join(parts)


def _query_parameters(context: GateContext, endpoint: Endpoint) -> dict[str, dict[str, Any]]:
    """The query parameters the request document declares for ``endpoint``, by lower-case name."""
    document = context.request_document
    found = document.find(endpoint.method, endpoint.path) if document else None
    if document is None or found is None:
        return {}
    item = (document.document.get("paths") or {}).get(found[0]) or {}
    operation = item.get(found[1].lower()) or {}
    declared: dict[str, dict[str, Any]] = {}
    for parameter in [*(item.get("parameters") or []), *(operation.get("parameters") or [])]:
        if isinstance(parameter, dict) and parameter.get("in") == "query" and parameter.get("name"):
            declared[str(parameter["name"]).lower().replace("-", "_")] = parameter
    return declared


def page_size(documented: int | None, packet_max: int | None) -> int:
    """The largest page to ask for: the smaller of the documented maximum and the packet's, else 100."""
    bounds = [bound for bound in (documented, packet_max) if bound is not None and bound >= 1]
    return min(bounds) if bounds else DEFAULT_PAGE_SIZE


def paging_of(context: GateContext, endpoint: Endpoint) -> Paging:
    """How to read ``endpoint`` page by page, from its OpenAPI parameters and the packet's ``max_page_size``."""
    limit = limit_parameter(context, endpoint)
    declared = _query_parameters(context, endpoint)
    offset = next((str(declared[n]["name"]) for n in _OFFSET_NAMES if n in declared), None)
    page = next((n for n in _PAGE_NAMES if n in declared), None)
    first_page = 1
    if page is not None:
        schema = declared[page].get("schema") or {}
        if isinstance(schema, dict) and 0 in (schema.get("minimum"), schema.get("default")):
            first_page = 0
    return Paging(
        size_name=limit[0] if limit else None,
        size=page_size(limit[1], context.packet.non_functional.max_page_size) if limit else None,
        offset_name=offset,
        page_name=str(declared[page]["name"]) if page is not None and offset is None else None,
        first_page=first_page,
    )


def holds(items: list[Any], key: str, value: Any) -> bool:
    """Whether a row of ``items`` has ``key`` equal to ``value`` (compared as text: ``7`` and ``"7"`` match)."""
    wanted = str(value)
    return any(isinstance(item, dict) and item.get(key) is not None and str(item[key]) == wanted for item in items)


def _total(response: httpx.Response) -> int | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict):
        for key in _TOTAL_KEYS:
            value = body.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
    return None


@dataclass
class Scan:
    """What reading a list found: the resource or not, whether every row was read, and the request to show (the
    page that held the resource, else the first page)."""

    found: bool
    complete: bool
    status: int
    pages: int
    rows: int
    request: Prepared
    problem: str = ""

    def describe(self) -> str:
        """One line for the evidence."""
        if self.problem:
            return self.problem
        where = "holds it" if self.found else "does not hold it"
        read = f"{self.rows} row(s) on {self.pages} page(s)" + ("" if self.complete or self.found else ", not all")
        return f"{where} ({read})"


def _page(base: Prepared, params: dict[str, Any]) -> Prepared:
    """``base`` (a GET of the list) asking for the page ``params`` name."""
    return Prepared(base.method, base.path, params, base.headers, None, None, base.role, [], base.credential_var)


def scan(
    send: Callable[[Prepared], httpx.Response],
    base: Prepared,
    paging: Paging,
    wanted: Callable[[list[Any]], bool],
) -> Scan:
    """Read the list ``base`` asks for, page by page, until ``wanted(rows)`` or the rows run out."""
    seen = 0
    first = _page(base, paging.params(0, 0))
    for index in range(MAX_PAGES):
        request = first if index == 0 else _page(base, paging.params(index, seen))
        response = send(request)
        status = response.status_code
        if not 200 <= status < 300:
            return Scan(False, False, status, index, seen, first, f"{request.method} {request.path} -> {status}")
        rows = items_of(response)
        if rows is None:
            return Scan(False, False, status, index + 1, seen, first, "the answer holds no list of rows")
        if wanted(rows):
            return Scan(True, True, status, index + 1, seen + len(rows), request)
        seen += len(rows)
        total = _total(response)
        if not rows or (total is not None and seen >= total):
            return Scan(False, True, status, index + 1, seen, first)
        if paging.size is not None and len(rows) < paging.size:
            return Scan(False, True, status, index + 1, seen, first)
        if not paging.follows:
            complete = total is None and paging.size is None  # no way to ask for more: read as the whole list
            return Scan(False, complete, status, 1, seen, first)
    return Scan(False, False, 200, MAX_PAGES, seen, first)
