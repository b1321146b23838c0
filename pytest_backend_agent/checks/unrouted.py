"""How the backend answers a path it certainly lacks: its router's own "no such route" answer.

``contract.implemented`` compares an endpoint's answer with it to tell an unrouted endpoint from a missing
resource. Fuzzing compares with it to tell a request the router refused before any operation ran (an invalid path
parameter that matches no route pattern, such as ``/items/0.5`` under Starlette's ``{item_id:int}``, Django's
``<int:item_id>`` or Flask's ``<int:item_id>``) from a request the operation answered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

    from pytest_backend_agent.checks.context import GateContext

__all__ = ["UNKNOWN_SEGMENT", "Fingerprint", "fingerprint", "router_answer", "unrouted_fingerprints"]

UNKNOWN_SEGMENT = "__backend_gate_no_such_route__"
Fingerprint = tuple[int, str, str]
"""Status, media type without parameters, and body with the request path (and its last segment) replaced."""


def fingerprint(response: httpx.Response, path: str) -> Fingerprint:
    """``response`` with what depends on the request ``path`` taken out: comparable across paths."""
    body = response.text.replace(path, "{path}")
    body = body.replace(path.rstrip("/").rsplit("/", 1)[-1], "{segment}")
    return response.status_code, response.headers.get("content-type", "").split(";")[0], body


def unrouted_fingerprints(context: GateContext, method: str, headers: dict[str, str]) -> tuple[Fingerprint, bool]:
    """How the backend answers ``method`` on two paths it certainly lacks, and whether that answer is stable."""
    base = context.packet.api.base_path.rstrip("/")
    paths = [f"{base}/{UNKNOWN_SEGMENT}/{n}" for n in ("a7", "b9")]
    prints = [fingerprint(context.backend.request(method, p, headers=headers), p) for p in paths]
    return prints[0], prints[0] == prints[1]


def router_answer(context: GateContext, method: str, headers: dict[str, str], role: str | None) -> Fingerprint | None:
    """The backend's stable "no such route" answer to ``method`` as ``role`` (asked once per process), or None
    when it varies between paths (a timestamp, a request id) and so cannot be recognised."""
    key = f"unrouted:{method}:{role}"
    if key not in context.cache:
        answer, stable = unrouted_fingerprints(context, method, headers)
        context.cache[key] = answer if stable else None
    cached: Fingerprint | None = context.cache[key]
    return cached
