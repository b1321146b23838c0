"""The security family: static items on the source folder, live probes per endpoint and per backend.

Static: ``security-static[bandit]``, ``security-static[secrets]``, ``security-static[password-hashing]``,
``security-static[http-timeouts]``. Live: ``authn[METHOD /path]`` per protected endpoint, ``rbac[METHOD /path]``
per endpoint that lists roles, ``object_access[METHOD /path]`` per endpoint the packet marks ``owner_scoped``, then
``cors[preflight]``, ``headers[response]``, ``leakage[errors]``, ``injection[inputs]`` and, last,
``rate-limit[burst]``.
"""

from __future__ import annotations

from collections.abc import Callable

from pytest_backend_agent.checks.base import CheckSpec, endpoint_spec
from pytest_backend_agent.checks.context import GateContext
from pytest_backend_agent.checks.security.common import FAMILY
from pytest_backend_agent.findings import CheckOutcome
from pytest_backend_agent.packet.model import Endpoint, Packet
from pytest_backend_agent.settings import Settings

__all__ = ["FAMILY", "security_checks"]


def _static() -> list[tuple[str, str, Callable[[GateContext], CheckOutcome]]]:
    from pytest_backend_agent.checks.security import static

    return [
        ("security.bandit", "bandit", static.check_bandit),
        ("security.secrets", "secrets", static.check_secrets),
        ("security.password_hashing", "password-hashing", static.check_password_hashing),
        ("security.http_timeouts", "http-timeouts", static.check_http_timeouts),
    ]


def _per_endpoint(
    check: str, name: str, endpoint: Endpoint, func: Callable[[GateContext, Endpoint], CheckOutcome]
) -> CheckSpec:
    return endpoint_spec(FAMILY, check, name, endpoint, func)


def security_checks(packet: Packet, settings: Settings) -> list[CheckSpec]:
    """The security items for ``packet``, in a stable order (the rate-limit burst last)."""
    from pytest_backend_agent.checks.security.authn import check_authn
    from pytest_backend_agent.checks.security.object_access import applies, check_object_access
    from pytest_backend_agent.checks.security.rbac import check_rbac

    specs = [
        CheckSpec(check=check, family=FAMILY, name="security-static", target=target, run=run)
        for check, target, run in _static()
    ]
    for endpoint in packet.api.endpoints:
        if endpoint.authentication_required:
            specs.append(_per_endpoint("security.authn", "authn", endpoint, check_authn))
    for endpoint in packet.api.endpoints:
        if endpoint.authentication_required and endpoint.roles:
            specs.append(_per_endpoint("security.rbac", "rbac", endpoint, check_rbac))
    for endpoint in packet.api.endpoints:
        if applies(endpoint):
            specs.append(_per_endpoint("security.object_access", "object_access", endpoint, check_object_access))
    for check, name, target, run in _per_backend():
        specs.append(CheckSpec(check=check, family=FAMILY, name=name, target=target, run=run))
    return specs


def _per_backend() -> list[tuple[str, str, str, Callable[[GateContext], CheckOutcome]]]:
    from pytest_backend_agent.checks.security.cors import check_cors
    from pytest_backend_agent.checks.security.headers import check_headers
    from pytest_backend_agent.checks.security.injection import check_injection
    from pytest_backend_agent.checks.security.leakage import check_leakage
    from pytest_backend_agent.checks.security.ratelimit import check_rate_limit

    return [
        ("security.cors", "cors", "preflight", check_cors),
        ("security.headers", "headers", "response", check_headers),
        ("security.leakage", "leakage", "errors", check_leakage),
        ("security.injection", "injection", "inputs", check_injection),
        ("security.rate_limit", "rate-limit", "burst", check_rate_limit),
    ]
