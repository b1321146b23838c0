"""The performance family: N+1 queries and pagination per list endpoint, latency per endpoint.

Items, in this order: ``n-plus-one[GET /path]`` for every GET on a collection (paginated in the packet, or whose
last path segment is not a parameter), ``pagination[GET /path]`` for every endpoint the packet calls paginated,
then ``latency[METHOD /path]`` for every packet endpoint (last, so it also times the requests the others sent).
"""

from __future__ import annotations

from collections.abc import Callable

from pytest_backend_agent.checks.base import CheckSpec, endpoint_spec
from pytest_backend_agent.checks.context import GateContext
from pytest_backend_agent.checks.performance.common import FAMILY, is_list_endpoint
from pytest_backend_agent.findings import CheckOutcome
from pytest_backend_agent.packet.model import Endpoint, Packet
from pytest_backend_agent.settings import Settings

__all__ = ["FAMILY", "performance_checks"]


def _spec(
    check: str, name: str, endpoint: Endpoint, func: Callable[[GateContext, Endpoint], CheckOutcome]
) -> CheckSpec:
    return endpoint_spec(FAMILY, check, name, endpoint, func)


def performance_checks(packet: Packet, settings: Settings) -> list[CheckSpec]:
    """The performance items for ``packet``, in a stable order (latency last)."""
    from pytest_backend_agent.checks.performance.latency import check_latency
    from pytest_backend_agent.checks.performance.n_plus_one import check_n_plus_one
    from pytest_backend_agent.checks.performance.pagination import check_pagination

    endpoints = packet.api.endpoints
    return [
        *(_spec("performance.n_plus_one", "n-plus-one", e, check_n_plus_one) for e in endpoints if is_list_endpoint(e)),
        *(_spec("performance.pagination", "pagination", e, check_pagination) for e in endpoints if e.paginated),
        *(_spec("performance.latency", "latency", e, check_latency) for e in endpoints),
    ]
