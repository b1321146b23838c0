"""Fuzzing every packet operation with Schemathesis, as one gate item per operation.

Valid-shaped (positive) and invalid (negative) requests are generated from the OpenAPI document with a seed
derived from ``--backend-fuzz-seed`` and the operation, sent in-process (ASGI/WSGI) or over HTTP through
Schemathesis' own transports, and judged by every Schemathesis check. Failures are grouped by cause (check,
title, status) and kept with their first (smallest) reproduction. Defects fail the gate; framework-default
conformance gaps (undocumented statuses, content types, headers) are warnings unless ``--backend-fuzz-strict``.
"""

from __future__ import annotations

import contextlib
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_backend_agent.backend.source import modules_under
from pytest_backend_agent.checks.base import CheckSpec
from pytest_backend_agent.checks.requests import role_for
from pytest_backend_agent.findings import CheckOutcome, CheckStatus, Finding, Location, Severity
from pytest_backend_agent.packet.model import Endpoint, Packet

if TYPE_CHECKING:
    from pytest_backend_agent.checks.context import GateContext
    from pytest_backend_agent.settings import Settings

__all__ = ["DEFECT_CHECKS", "fuzz_checks", "fuzz_endpoint"]

FAMILY = "fuzz"
CHECK = "fuzz.operation"
DEFECT_CHECKS = frozenset(
    {
        "not_a_server_error",
        "response_schema_conformance",
        "negative_data_rejection",
        "ignored_auth",
        "use_after_free",
        "ensure_resource_availability",
        "success_status",
    }
)
_FIXES = {
    "not_a_server_error": "Find the exception for this request in the server log and handle it (validate the input, "
    "answer 4xx for bad input).",
    "response_schema_conformance": "Make the response match the schema the OpenAPI document declares for this status "
    "(or correct the document).",
    "negative_data_rejection": "Validate the input: a request the schema forbids must be refused with a 4xx.",
    "ignored_auth": "Enforce authentication on this operation: the request without (or with invalid) credentials "
    "was accepted.",
    "success_status": "Answer the packet's success_status on success, or correct the packet.",
    "status_code_conformance": "Document this status in the OpenAPI responses of the operation.",
    "content_type_conformance": "Document the response content type, or send the documented one.",
    "positive_data_acceptance": "A request the schema allows was refused; tighten the schema or accept the input.",
}
_MAX_SECONDS_PER_OPERATION = 60.0
_STATE_DEPENDENT = frozenset({404, 409})


@dataclass
class _Seen:
    check: str
    code: str
    title: str
    message: str
    status: int | None
    reproduction: str
    mode: str
    count: int = 1


@dataclass
class _Run:
    requests: int = 0
    by_mode: dict[str, int] = field(default_factory=lambda: {"positive": 0, "negative": 0})
    negative_rejected: int = 0
    unauthorized: int = 0
    seen: dict[tuple[str, str, int | None], _Seen] = field(default_factory=dict)
    stopped_by_budget: bool = False
    transport_s: float = 0.0
    checks_s: float = 0.0
    state_dependent: int = 0
    notes: list[str] = field(default_factory=list)


def _ordered(packet: Packet) -> list[Endpoint]:
    """Operations that may destroy data run later, and those on the caller's own account last."""

    def rank(endpoint: Endpoint) -> tuple[int, int]:
        own = "/me" in endpoint.path or "/self" in endpoint.path
        return (2 if own else (1 if endpoint.method == "DELETE" else 0), packet.api.endpoints.index(endpoint))

    return sorted(packet.api.endpoints, key=rank)


def fuzz_checks(packet: Packet, settings: Settings) -> list[CheckSpec]:
    """One ``fuzz[METHOD /path]`` item per packet endpoint."""
    endpoints = _ordered(packet)
    return [
        CheckSpec(
            check=CHECK,
            family=FAMILY,
            name="fuzz",
            target=endpoint.key,
            run=lambda context, e=endpoint: fuzz_endpoint(context, e, len(endpoints)),  # type: ignore[misc]
            endpoint=endpoint.key,
        )
        for endpoint in endpoints
    ]


def _not_verified(endpoint: Endpoint, summary: str, **observations: Any) -> CheckOutcome:
    return CheckOutcome(
        check=CHECK,
        family=FAMILY,
        target=endpoint.key,
        status=CheckStatus.NOT_VERIFIED,
        summary=summary,
        observations=observations,
    )


def _schema(context: GateContext) -> Any:
    """The Schemathesis schema for this process, bound to the backend's transport (cached on the context)."""
    cached = context.cache.get("fuzz_schema")
    if cached is not None:
        return cached
    from schemathesis import openapi

    document = context.request_document
    assert document is not None  # noqa: S101 - callers check first
    schema = openapi.from_dict(document.document)
    backend = context.backend
    if backend.app is not None:
        schema.app = backend.app
    else:
        schema.config.update(base_url=backend.base_url + document.prefix)
    context.cache["fuzz_schema"] = schema
    return schema


def _operation_seed(seed: int, endpoint: Endpoint, mode: str) -> int:
    return (seed ^ zlib.crc32(f"{endpoint.key} {mode}".encode())) & 0x7FFFFFFF


def _credentials(context: GateContext, endpoint: Endpoint) -> tuple[str | None, dict[str, str] | None, str]:
    """A role allowed to call ``endpoint`` and fresh headers for it (None when it needs some and none exist)."""
    roles = role_for(endpoint)
    if not roles:
        return None, {}, ""
    for role in roles:
        headers = context.credentials.fresh(role)
        if headers is not None:
            return role, headers, ""
    reasons = "; ".join(context.credentials.problems.get(r, r) for r in roles)
    return None, None, reasons


def _curl(context: GateContext, case: Any, role: str | None, headers: dict[str, str]) -> str:
    shown = {name: value for name, value in headers.items() if name.lower() != "authorization"}
    if role is not None and any(name.lower() == "authorization" for name in headers):
        value = next(v for k, v in headers.items() if k.lower() == "authorization")
        scheme = value.split(" ", 1)[0] if " " in value else "Bearer"
        shown["Authorization"] = f"{scheme} {context.credentials.env_placeholder(role)}"
    base = context.backend.base_url
    if context.backend.app is not None:
        base = "http://127.0.0.1:8000"
    document = context.request_document
    prefix = document.prefix if document is not None else ""
    curl = case.as_curl_command(headers=shown, base_url=base + prefix)
    if "Authorization" in shown:  # Schemathesis masks the header itself; name the variable that holds it instead
        # double quotes, so the shell expands the variable that holds the credentials
        curl = curl.replace("'Authorization: [Filtered]'", f'"Authorization: {shown["Authorization"]}"')
    return context.redact(curl)


def _record(run: _Run, key: tuple[str, str, int | None], make: Any) -> None:
    if key in run.seen:
        run.seen[key].count += 1
    else:
        run.seen[key] = make()


def _exercise(
    context: GateContext,
    endpoint: Endpoint,
    operation: Any,
    mode: str,
    role: str | None,
    headers: dict[str, str],
    run: _Run,
    deadline: float,
) -> None:
    from hypothesis import HealthCheck, Phase, given, seed, settings
    from hypothesis.errors import FailedHealthCheck, Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.core.failures import Failure, FailureGroup

    settings_ = context.settings
    strategy = operation.as_strategy(
        generation_mode=GenerationMode.POSITIVE if mode == "positive" else GenerationMode.NEGATIVE
    )
    expected = endpoint.success_status if "success_status" not in settings_.fuzz_skip_checks else None
    excluded = _excluded_checks(settings_.fuzz_skip_checks)

    @seed(_operation_seed(settings_.fuzz_seed, endpoint, mode))
    @settings(
        max_examples=settings_.fuzz_examples,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def exercise(case: Any) -> None:
        if time.monotonic() > deadline:
            run.stopped_by_budget = True
            return
        case.headers = {**(case.headers or {}), **headers}  # the gate's credentials, not generated ones
        sent = time.perf_counter()
        try:
            response = _send(context, case)
        except Exception as error:  # in-process, an unhandled exception escapes the app
            run.transport_s += time.perf_counter() - sent
            run.requests += 1
            run.by_mode[mode] += 1
            title = f"unhandled {type(error).__name__} in the app"
            message = context.redact(str(error))[:300]
            _record(
                run,
                ("not_a_server_error", title, None),
                lambda: _Seen(
                    "not_a_server_error",
                    "ST101",
                    title,
                    message,
                    None,
                    _curl(context, case, role, headers),
                    mode,
                ),
            )
            return
        answered = time.perf_counter()
        run.transport_s += answered - sent
        run.requests += 1
        run.by_mode[mode] += 1
        status = int(response.status_code)
        if mode == "negative" and 400 <= status < 500:
            run.negative_rejected += 1
        if role is not None and status == 401:
            run.unauthorized += 1
        failures: list[Any] = []
        try:
            case.validate_response(response, headers=dict(case.headers), excluded_checks=excluded)
        except FailureGroup as group:
            failures = list(group.exceptions)
        except Failure as single:
            failures = [single]
        run.checks_s += time.perf_counter() - answered
        if mode == "positive" and expected and 200 <= status < 300 and status != expected:
            title = f"answers {status} where the packet says {expected}"
            _record(
                run,
                ("success_status", title, status),
                lambda: _Seen(
                    "success_status", "GATE-STATUS", title, "", status, _curl(context, case, role, headers), mode
                ),
            )
        for failure in failures:
            check = failure.checks[0] if getattr(failure, "checks", ()) else type(failure).__name__
            if check == "positive_data_acceptance" and status in _STATE_DEPENDENT:
                run.state_dependent += 1  # a duplicate or a missing referenced resource, not a schema problem
                continue
            _record(
                run,
                (check, failure.title, status),
                lambda f=failure, c=check: _Seen(
                    c,
                    f.code,
                    f.title,
                    context.redact(f.message)[:400],
                    status,
                    _curl(context, case, role, headers),
                    mode,
                ),
            )

    try:
        exercise()
    except (Unsatisfiable, FailedHealthCheck):
        run.notes.append(f"no {mode} request can be generated for this operation (it takes no such input)")


@contextlib.contextmanager
def _pinned_constants(context: GateContext) -> Iterator[str]:
    """Make Hypothesis draw "local constants" from the backend's own modules only, for reproducible fuzzing.

    Hypothesis mixes literals mined from every local module in ``sys.modules`` into generated data, so what a seed
    produces would depend on what else the process imported. For the duration of a fuzz item the pool is pinned to
    the constants of the modules under the backend's source folder (sorted by name), mined once per process.
    Yields a note for the evidence.
    """
    try:
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import Constants, constants_from_module
    except ImportError:  # a Hypothesis without constant mining: nothing to pin
        yield ""
        return
    original = getattr(providers, "_get_local_constants", None)
    if original is None:
        yield "Hypothesis' local-constant pool could not be pinned; replays may differ between processes"
        return
    pinned = context.cache.get("fuzz_constants")
    if pinned is None:
        pinned = Constants()
        src = context.settings.src_dir
        for module in modules_under(src) if src is not None else []:
            try:
                pinned |= constants_from_module(module)
            except Exception:  # noqa: S112 - a module whose source cannot be read adds no constants
                continue
        context.cache["fuzz_constants"] = pinned
    providers.CONSTANTS_CACHE.cache.clear()
    providers._get_local_constants = lambda: pinned  # noqa: SLF001 - see the docstring
    try:
        yield ""
    finally:
        providers._get_local_constants = original  # noqa: SLF001
        providers.CONSTANTS_CACHE.cache.clear()


def _excluded_checks(names: tuple[str, ...]) -> list[Any]:
    """Schemathesis' check functions for ``names`` (the gate's own ``success_status`` is not one of them)."""
    if not names:
        return []
    from schemathesis.checks import CHECKS, load_all_checks

    load_all_checks()
    return list(CHECKS.get_by_names([n for n in names if n != "success_status"]))


def _send(context: GateContext, case: Any) -> Any:
    """Send a generated case through the gate's own transport (one event loop, distinct clients, recorded).

    Multipart bodies, which the gate's transport does not build, go through Schemathesis' ``case.call()``.
    """
    backend = context.backend
    document = context.request_document
    base = backend.base_url + (document.prefix if document is not None else "")
    kwargs = case.as_transport_kwargs(base_url=base)
    if "files" in kwargs or kwargs.get("cookies"):
        return case.call()
    path = str(kwargs["url"])[len(backend.base_url) :]
    data, content = kwargs.get("data"), kwargs.get("content")
    if isinstance(data, str | bytes):  # a raw body: httpx takes it as content
        data, content = None, data.encode() if isinstance(data, str) else data
    return backend.request(
        str(kwargs["method"]),
        path,
        headers={str(k): str(v) for k, v in (kwargs.get("headers") or {}).items()},
        params=kwargs.get("params") or None,
        json=kwargs.get("json"),
        data=data,
        content=content.encode() if isinstance(content, str) else content,
    )


def _finding(endpoint: Endpoint, seen: _Seen, severity: Severity, replay: str) -> Finding:
    status = f", status {seen.status}" if seen.status is not None else ""
    return Finding(
        check=CHECK,
        category=FAMILY,
        severity=severity,
        title=f"{seen.check}: {seen.title}",
        location=Location(endpoint=endpoint.key),
        evidence=f"{seen.code}{status}; {seen.count} request(s) with {seen.mode} data; {seen.message}".strip(),
        fix=_FIXES.get(seen.check, "See the Schemathesis check's documentation for this failure.") + f" {replay}",
        reproduction=seen.reproduction,
    )


def fuzz_endpoint(context: GateContext, endpoint: Endpoint, operation_count: int) -> CheckOutcome:
    """Fuzz one packet operation and judge every response."""
    settings = context.settings
    if not settings.fuzz_enabled:
        return _not_verified(endpoint, "fuzzing was switched off (--backend-no-fuzz)")
    document = context.request_document
    if document is None:
        return _not_verified(
            endpoint,
            "no OpenAPI document to generate requests from (the backend serves none "
            "and the packet's api.openapi is null)",
        )
    found = document.find(endpoint.method, endpoint.path)
    if found is None:
        return _not_verified(
            endpoint, f"the OpenAPI document ({document.source}) lacks this packet operation, so it cannot be fuzzed"
        )
    role, headers, problem = _credentials(context, endpoint)
    if headers is None:
        return _not_verified(endpoint, f"no credentials to call it: {problem}")
    context.config.hook.pytest_backend_reset_state(
        backend=context.backend, config=context.config, operation=endpoint.key
    )
    operation = _schema(context)[found[0]][found[1]]
    budget = min(settings.fuzz_budget / max(operation_count, 1), _MAX_SECONDS_PER_OPERATION)
    started = time.monotonic()
    run = _Run()
    with _pinned_constants(context) as note:
        for mode in ("positive", "negative"):
            _exercise(context, endpoint, operation, mode, role, headers, run, started + budget)
    if note:
        run.notes.append(note)
    elapsed = time.monotonic() - started
    replay = (
        f"Replay: pytest --backend-report --backend-fuzz-seed={settings.fuzz_seed} "
        f"-k 'fuzz and {endpoint.method} and {endpoint.path}' (from the same database state)."
    )
    errors: list[Finding] = []
    warnings: list[Finding] = []
    for seen in run.seen.values():
        defect = seen.check in (settings.fuzz_fail_on or DEFECT_CHECKS) or settings.fuzz_strict
        (errors if defect else warnings).append(
            _finding(endpoint, seen, Severity.ERROR if defect else Severity.WARNING, replay)
        )
    evidence = [
        f"{run.requests} requests ({run.by_mode['positive']} valid-shaped, {run.by_mode['negative']} invalid) as "
        f"{role or 'anonymous'} in {elapsed:.2f} s, seed {settings.fuzz_seed}",
        f"invalid requests refused with 4xx: {run.negative_rejected} of {run.by_mode['negative']}",
    ]
    evidence.extend(run.notes)
    if run.state_dependent:
        evidence.append(
            f"{run.state_dependent} valid-shaped request(s) refused with 404/409 (state-dependent: a "
            "duplicate or a missing referenced resource), not counted as failures"
        )
    if run.stopped_by_budget:
        evidence.append(f"stopped by the time budget ({budget:.1f} s for this operation)")
    observations = {
        "fuzz_requests": run.requests,
        "negative": run.by_mode["negative"],
        "negative_rejected": run.negative_rejected,
        "seed": settings.fuzz_seed,
        "checks_failed": sorted({s.check for s in run.seen.values()}),
        "seconds": {
            "total": round(elapsed, 4),
            "transport": round(run.transport_s, 4),
            "checks": round(run.checks_s, 4),
            "generation_and_other": round(max(elapsed - run.transport_s - run.checks_s, 0.0), 4),
        },
    }
    positive = run.by_mode["positive"]
    if role is not None and positive and run.unauthorized * 2 > positive and not errors:
        evidence.append(
            f"{run.unauthorized} of {positive} valid-shaped requests got 401: the credentials for "
            f"{role} stopped working, so these results are degraded"
        )
        return CheckOutcome(
            check=CHECK,
            family=FAMILY,
            target=endpoint.key,
            status=CheckStatus.NOT_VERIFIED,
            summary="credentials stopped working during fuzzing; results degraded",
            evidence=evidence,
            findings=warnings,
            observations={**observations, "degraded": True},
        )
    if run.requests == 0:
        return _not_verified(endpoint, "no request was sent within the time budget", **observations)
    if errors:
        summary = f"{len(errors)} defect(s) found by fuzzing: " + "; ".join(f.title for f in errors[:3])
        status = CheckStatus.FAILED
    else:
        summary = f"no defect in {run.requests} generated requests" + (
            f" ({len(warnings)} conformance warning(s))" if warnings else ""
        )
        status = CheckStatus.PASSED
    return CheckOutcome(
        check=CHECK,
        family=FAMILY,
        target=endpoint.key,
        status=status,
        summary=summary,
        evidence=evidence,
        findings=errors + warnings,
        observations=observations,
    )
