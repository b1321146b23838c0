"""Fuzzing every packet operation with Schemathesis, as one gate item per operation (plus one for OpenAPI links).

Each ``fuzz[METHOD /path]`` item runs the enabled phases on its operation in order (``--backend-fuzz-phases``,
default ``examples,coverage,fuzzing``): the schema's own examples, Schemathesis' deterministic boundary cases,
then Hypothesis-generated valid-shaped and invalid requests with a seed derived from ``--backend-fuzz-seed`` and
the operation. With ``stateful`` enabled, one more item, ``fuzz[stateful]``, runs call sequences that follow the
document's OpenAPI links. Requests go through the gate's own transport (in-process or over HTTP) and every
response is judged by every Schemathesis check (:mod:`.fuzz_judge`). Failures are grouped by cause (check, title,
status), each kept with the first reproduction and the phases that hit it. Defects fail the gate;
framework-default conformance gaps (undocumented statuses, content types, headers) are warnings unless
``--backend-fuzz-strict``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from pytest_backend_agent.backend.source import modules_under
from pytest_backend_agent.checks.base import CheckSpec
from pytest_backend_agent.checks.fuzz_judge import Judge, Seen, Tally, Target
from pytest_backend_agent.checks.requests import role_for
from pytest_backend_agent.findings import CheckOutcome, CheckStatus, Finding, Location, Severity
from pytest_backend_agent.packet.model import Endpoint, Packet

if TYPE_CHECKING:
    from pytest_backend_agent.backend.openapi import OpenApiIndex
    from pytest_backend_agent.checks.context import GateContext
    from pytest_backend_agent.settings import Settings

__all__ = [
    "DEFECT_CHECKS",
    "FRAMEWORK_DEFAULT_CHECKS",
    "STATEFUL_TARGET",
    "UNDECLARED_TARGET",
    "fuzz_checks",
    "fuzz_endpoint",
    "fuzz_stateful",
    "fuzz_undeclared",
]

FAMILY = "fuzz"
CHECK = "fuzz.operation"
STATEFUL_TARGET = "stateful"
UNDECLARED_TARGET = "undeclared"
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
    "use_after_free": "A deleted resource was still served: make every operation answer 404 once it is deleted.",
    "ensure_resource_availability": "A resource just created could not be read back through the link: make it "
    "available at once, or correct the link.",
}
_MAX_SECONDS_PER_OPERATION = 60.0
FRAMEWORK_DEFAULT_CHECKS = frozenset({"allow_header_conformance"})
"""Checks that only run with ``--backend-fuzz-strict`` or when ``--backend-fuzz-fail-on`` names them: what they
catch is the framework's own behaviour, not the backend's (Starlette answers an undeclared method with a 405 whose
``Allow`` lists only the first route matching the path, on every FastAPI app with two methods on one path)."""


def _ordered(packet: Packet) -> list[Endpoint]:
    """Operations that may destroy data run later, and those on the caller's own account last."""

    def rank(endpoint: Endpoint) -> tuple[int, int]:
        own = "/me" in endpoint.path or "/self" in endpoint.path
        return (2 if own else (1 if endpoint.method == "DELETE" else 0), packet.api.endpoints.index(endpoint))

    return sorted(packet.api.endpoints, key=rank)


def fuzz_checks(packet: Packet, settings: Settings) -> list[CheckSpec]:
    """One ``fuzz[METHOD /path]`` item per packet endpoint, and ``fuzz[stateful]`` when that phase is enabled."""
    endpoints = _ordered(packet)
    stateful = "stateful" in settings.fuzz_phases
    undeclared = settings.fuzz_enabled
    items = len(endpoints) + stateful + undeclared
    specs = [
        CheckSpec(
            check=CHECK,
            family=FAMILY,
            name="fuzz",
            target=endpoint.key,
            run=lambda context, e=endpoint: fuzz_endpoint(context, e, items),  # type: ignore[misc]
            endpoint=endpoint.key,
        )
        for endpoint in endpoints
    ]
    if undeclared:  # operations the backend serves beyond the packet: found at run time, fuzzed in one item
        specs.append(
            CheckSpec(
                check=CHECK,
                family=FAMILY,
                name="fuzz",
                target=UNDECLARED_TARGET,
                run=lambda context: fuzz_undeclared(context, packet, items),
            )
        )
    if stateful:
        specs.append(
            CheckSpec(
                check=CHECK,
                family=FAMILY,
                name="fuzz",
                target=STATEFUL_TARGET,
                run=lambda context: fuzz_stateful(context, packet, items),
            )
        )
    return specs


def _not_verified(target: str, summary: str, **observations: Any) -> CheckOutcome:
    return CheckOutcome(
        check=CHECK,
        family=FAMILY,
        target=target,
        status=CheckStatus.NOT_VERIFIED,
        summary=summary,
        observations=observations,
    )


def _schema(context: GateContext, document: OpenApiIndex | None = None) -> Any:
    """The Schemathesis schema of ``document`` (default: the request document) for this process, bound to the
    backend's transport (cached on the context).

    Configured as Schemathesis' CLI would be with ``--mode all --max-examples N``: valid-shaped and invalid data,
    ``--backend-fuzz-examples`` Hypothesis examples per operation, no example database.
    """
    document = document or context.request_document
    assert document is not None  # noqa: S101 - callers check first
    key = f"fuzz_schema:{id(document)}"
    cached = context.cache.get(key)
    if cached is not None:
        return cached
    from schemathesis import GenerationMode, openapi

    schema = openapi.from_dict(document.document)
    backend = context.backend
    if backend.app is not None:
        schema.app = backend.app
    else:
        schema.config.update(base_url=backend.base_url + document.prefix)
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=context.settings.fuzz_examples,
        database="none",
    )
    context.cache[key] = schema
    return schema


def _unavailable(context: GateContext, target: str) -> CheckOutcome | None:
    """Why nothing can be fuzzed at all (fuzzing off, no document), or None."""
    if not context.settings.fuzz_enabled:
        return _not_verified(target, "fuzzing was switched off (--backend-no-fuzz)")
    if context.request_document is None:
        return _not_verified(
            target,
            "no OpenAPI document to generate requests from (the backend serves none "
            "and the packet's api.openapi is null)",
        )
    return None


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


def fuzz_endpoint(context: GateContext, endpoint: Endpoint, item_count: int) -> CheckOutcome:
    """Fuzz one packet operation with every enabled per-operation phase and judge every response."""
    unavailable = _unavailable(context, endpoint.key)
    if unavailable is not None:
        return unavailable
    settings = context.settings
    document = context.request_document
    assert document is not None  # noqa: S101 - _unavailable checked it
    found = document.find(endpoint.method, endpoint.path)
    if found is None:
        return _not_verified(
            endpoint.key,
            f"the OpenAPI document ({document.source}) lacks this packet operation, so it cannot be fuzzed",
        )
    role, headers, problem = _credentials(context, endpoint)
    if headers is None:
        return _not_verified(endpoint.key, f"no credentials to call it: {problem}")
    context.config.hook.pytest_backend_reset_state(
        backend=context.backend, config=context.config, operation=endpoint.key
    )
    operation = _schema(context)[found[0]][found[1]]
    target = Target(endpoint.key, role, headers, endpoint.success_status)
    phases = [p for p in settings.fuzz_phases if p != "stateful"]

    def run(judge: Judge, tally: Tally) -> None:
        _run_phases(judge, tally, operation, phases, settings.fuzz_seed)

    tally, elapsed, budget = _drive(context, lambda case: target, item_count, run)
    return _outcome(context, endpoint.key, tally, elapsed, budget, phases, role)


def _run_phases(judge: Judge, tally: Tally, operation: Any, phases: list[str], seed: int) -> None:
    """Send one operation's cases of each per-operation phase through ``judge``; seconds per phase add up in
    ``tally`` (an item may fuzz several operations)."""
    from pytest_backend_agent.checks import fuzz_phases

    for phase in phases:
        started = time.perf_counter()
        if phase == "examples":
            tally.notes.extend(fuzz_phases.run_examples(judge, operation))
        elif phase == "coverage":
            tally.notes.extend(fuzz_phases.run_coverage(judge, operation))
        else:
            tally.notes.extend(fuzz_phases.run_fuzzing(judge, operation, seed))
        tally.phase_s[phase] = round(tally.phase_s.get(phase, 0.0) + time.perf_counter() - started, 4)


def fuzz_stateful(context: GateContext, packet: Packet, item_count: int) -> CheckOutcome:
    """Run call sequences that follow the OpenAPI links between operations, each as a role the packet allows."""
    unavailable = _unavailable(context, STATEFUL_TARGET)
    if unavailable is not None:
        return unavailable
    document = context.request_document
    assert document is not None  # noqa: S101 - _unavailable checked it
    targets: dict[str, Target] = {}
    for endpoint in packet.api.endpoints:
        found = document.find(endpoint.method, endpoint.path)
        role, headers, _ = _credentials(context, endpoint)
        if found is not None and headers is not None:
            targets[f"{found[1]} {found[0]}"] = Target(endpoint.key, role, headers, endpoint.success_status)

    def target_of(case: Any) -> Target:
        label = case.operation.label
        known = targets.get(label)
        if known is not None:
            return known
        method, _, path = label.partition(" ")
        return Target(f"{method} {document.prefix}{path}", None, {}, None)  # beyond the packet: anonymous

    context.config.hook.pytest_backend_reset_state(
        backend=context.backend, config=context.config, operation=STATEFUL_TARGET
    )
    schema = _schema(context)

    def run(judge: Judge, tally: Tally) -> None:
        from pytest_backend_agent.checks import fuzz_phases

        started = time.perf_counter()
        tally.notes.extend(fuzz_phases.run_stateful(judge, schema, context.settings.fuzz_seed))
        tally.phase_s["stateful"] = round(time.perf_counter() - started, 4)

    tally, elapsed, budget = _drive(context, target_of, item_count, run)
    if tally.requests == 0 and tally.notes:
        return _not_verified(STATEFUL_TARGET, "; ".join(tally.notes))
    return _outcome(context, STATEFUL_TARGET, tally, elapsed, budget, ["stateful"], "the role each operation allows")


def fuzz_undeclared(context: GateContext, packet: Packet, item_count: int) -> CheckOutcome:
    """Fuzz the operations the backend's own OpenAPI document declares and the packet does not.

    They are found at run time (collection reads no backend), so one item covers them all within one item's share
    of the budget. A protected one is called as the first packet role with working credentials: the packet names
    no role for it."""
    if not context.settings.fuzz_enabled:
        return _not_verified(UNDECLARED_TARGET, "fuzzing was switched off (--backend-no-fuzz)")
    document = context.backend_document
    if document is None:
        return _not_verified(
            UNDECLARED_TARGET,
            "the backend serves no OpenAPI document, so operations beyond the packet cannot be listed",
        )
    from pytest_backend_agent.checks.contract import undeclared_operations

    extra = undeclared_operations(document, packet)
    if not extra:
        return CheckOutcome(
            check=CHECK,
            family=FAMILY,
            target=UNDECLARED_TARGET,
            status=CheckStatus.PASSED,
            summary="the backend's OpenAPI document declares no operation beyond the packet's",
            evidence=[f"compared with {document.source}"],
        )
    targets: dict[str, Target] = {}
    operations: list[tuple[str, str]] = []
    roles_used: set[str] = set()
    for key in extra:
        method, path = key.split(" ", 1)
        found = document.find(method, path)
        if found is None:  # pragma: no cover - the key came from the same document
            continue
        role, headers = None, {}
        if document.secured(found[0], found[1]):
            for candidate in packet.api.roles:
                fresh = context.credentials.fresh(candidate)
                if fresh is not None:
                    role, headers = candidate, fresh
                    roles_used.add(candidate)
                    break
        targets[f"{found[1]} {found[0]}"] = Target(key, role, headers, None)
        operations.append(found)

    def target_of(case: Any) -> Target:
        return targets[case.operation.label]

    context.config.hook.pytest_backend_reset_state(
        backend=context.backend, config=context.config, operation=UNDECLARED_TARGET
    )
    schema = _schema(context, document)
    phases = [p for p in context.settings.fuzz_phases if p != "stateful"]

    def run(judge: Judge, tally: Tally) -> None:
        for path, method in operations:
            _run_phases(judge, tally, schema[path][method], phases, context.settings.fuzz_seed)

    tally, elapsed, budget = _drive(context, target_of, item_count, run)
    outcome = _outcome(
        context, UNDECLARED_TARGET, tally, elapsed, budget, phases, ", ".join(sorted(roles_used)) or None
    )
    outcome.evidence.insert(0, f"operations beyond the packet, from {document.source}: {', '.join(extra)}")
    return outcome


def _drive(
    context: GateContext,
    target_of: Callable[[Any], Target],
    item_count: int,
    run: Callable[[Judge, Tally], None],
) -> tuple[Tally, float, float]:
    """Run ``run`` with a judge and this item's share of the time budget; the tally, seconds taken and budget."""
    settings = context.settings
    budget = min(settings.fuzz_budget / max(item_count, 1), _MAX_SECONDS_PER_OPERATION)
    started = time.monotonic()
    tally = Tally()
    skipped = settings.fuzz_skip_checks
    if not settings.fuzz_strict and not set(settings.fuzz_fail_on or ()) & FRAMEWORK_DEFAULT_CHECKS:
        skipped = (*skipped, *sorted(FRAMEWORK_DEFAULT_CHECKS))
    judge = Judge(context, target_of, _excluded_checks(skipped), started + budget, tally)
    with _pinned_constants(context) as note:
        run(judge, tally)
    if note:
        tally.notes.append(note)
    return tally, time.monotonic() - started, budget


def _finding(seen: Seen, severity: Severity, replay: str) -> Finding:
    status = f", status {seen.status}" if seen.status is not None else ""
    phases = ", ".join(f"{phase} {count}" for phase, count in seen.by_phase.items())
    return Finding(
        check=CHECK,
        category=FAMILY,
        severity=severity,
        title=f"{seen.check}: {seen.title}",
        location=Location(endpoint=seen.endpoint),
        evidence=(
            f"{seen.code}{status}; found in the {seen.phase} phase with {seen.mode} data; {seen.count} request(s) "
            f"({phases}); {seen.message}"
        ).strip(),
        fix=_FIXES.get(seen.check, "See the Schemathesis check's documentation for this failure.") + f" {replay}",
        reproduction=seen.reproduction,
    )


def _replay(settings: Settings, target: str) -> str:
    selection = "fuzz and stateful" if target == STATEFUL_TARGET else f"fuzz and {target.replace(' ', ' and ')}"
    return (
        f"Replay: pytest --backend-report --backend-fuzz-seed={settings.fuzz_seed} -k '{selection}' "
        "(from the same database state)."
    )


def _outcome(
    context: GateContext,
    target: str,
    tally: Tally,
    elapsed: float,
    budget: float,
    phases: list[str],
    role: str | None,
) -> CheckOutcome:
    """The item's verdict: failed with findings, passed, or not verified (nothing sent, credentials lost)."""
    settings = context.settings
    replay = _replay(settings, target)
    errors: list[Finding] = []
    warnings: list[Finding] = []
    for seen in tally.seen.values():
        defect = seen.check in (settings.fuzz_fail_on or DEFECT_CHECKS) or settings.fuzz_strict
        (errors if defect else warnings).append(_finding(seen, Severity.ERROR if defect else Severity.WARNING, replay))
    per_phase = ", ".join(f"{phase} {tally.by_phase.get(phase, 0)}" for phase in phases)
    evidence = [
        f"{tally.requests} requests ({tally.by_mode['positive']} valid-shaped, {tally.by_mode['negative']} invalid; "
        f"by phase: {per_phase}) as {role or 'anonymous'} in {elapsed:.2f} s, seed {settings.fuzz_seed}",
        f"invalid requests refused with 4xx: {tally.negative_rejected} of {tally.by_mode['negative']}",
    ]
    evidence.extend(tally.notes)
    if tally.duplicates:
        evidence.append(
            f"{tally.duplicates} generated request(s) identical to one already sent by an earlier case or phase "
            "were not sent again"
        )
    if tally.state_dependent:
        evidence.append(
            f"{tally.state_dependent} valid-shaped request(s) refused with 404/409 (state-dependent: a "
            "duplicate or a missing referenced resource), not counted as failures"
        )
    if tally.router_refused:
        evidence.append(
            f"{tally.router_refused} invalid request(s) matched no route and got the router's own 404 (the "
            "framework's \"no such route\" page), counted as refused, not held to the operation's documented answers"
        )
    if tally.stopped_by_budget:
        evidence.append(f"stopped by the time budget ({budget:.1f} s for this item)")
    observations = {
        "fuzz_requests": tally.requests,
        "negative": tally.by_mode["negative"],
        "negative_rejected": tally.negative_rejected,
        "duplicates_skipped": tally.duplicates,
        "by_phase": {phase: tally.by_phase.get(phase, 0) for phase in phases},
        "seed": settings.fuzz_seed,
        "checks_failed": sorted({s.check for s in tally.seen.values()}),
        "seconds": {
            "total": round(elapsed, 4),
            "transport": round(tally.transport_s, 4),
            "checks": round(tally.checks_s, 4),
            "generation_and_other": round(max(elapsed - tally.transport_s - tally.checks_s, 0.0), 4),
            "phases": tally.phase_s,
        },
    }
    positive = tally.authenticated_positive
    if positive and tally.unauthorized * 2 > positive and not errors:
        evidence.append(
            f"{tally.unauthorized} of {positive} valid-shaped requests got 401: the credentials for "
            f"{role or 'the roles used'} stopped working, so these results are degraded"
        )
        return CheckOutcome(
            check=CHECK,
            family=FAMILY,
            target=target,
            status=CheckStatus.NOT_VERIFIED,
            summary="credentials stopped working during fuzzing; results degraded",
            evidence=evidence,
            findings=warnings,
            observations={**observations, "degraded": True},
        )
    if tally.requests == 0:
        return _not_verified(target, "no request was sent within the time budget", **observations)
    if errors:
        summary = f"{len(errors)} defect(s) found by fuzzing: " + "; ".join(f.title for f in errors[:3])
        status = CheckStatus.FAILED
    else:
        summary = f"no defect in {tally.requests} generated requests" + (
            f" ({len(warnings)} conformance warning(s))" if warnings else ""
        )
        status = CheckStatus.PASSED
    return CheckOutcome(
        check=CHECK,
        family=FAMILY,
        target=target,
        status=status,
        summary=summary,
        evidence=evidence,
        findings=errors + warnings,
        observations=observations,
    )
