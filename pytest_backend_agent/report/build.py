"""Building the report from what the gate observed in this session."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pytest_backend_agent import __version__
from pytest_backend_agent.findings import CheckOutcome, CheckStatus, Severity, family_counts
from pytest_backend_agent.packet.load import LoadedPacket
from pytest_backend_agent.packet.routes import EndpointIndex
from pytest_backend_agent.report.model import (
    ApiEndpoint,
    BackendInfo,
    BackendReport,
    CheckRecord,
    DataModelCreated,
    EndpointObservation,
    FamilyCount,
    GateSection,
    PacketInfo,
    SecurityMeasures,
    TestCount,
    TestingCoverage,
    ToolInfo,
)
from pytest_backend_agent.report.project_files import (
    added_since,
    find_dependencies,
    find_migrations,
    observe_integrations,
    project_root,
)
from pytest_backend_agent.settings import Settings

__all__ = ["CLASSIFICATION_RULE", "OwnTests", "RunFacts", "build_report", "classify_test", "passed_reason"]

CLASSIFICATION_RULE = (
    "a test marked unit, integration or api (pytest markers) counts as that kind; otherwise a test under a folder "
    "named unit, integration (or e2e) or api counts as that kind; otherwise a test that sent a request to the "
    "in-process app counts as api; every other test counts as unit"
)
_KINDS = ("unit", "integration", "api")


def classify_test(nodeid: str, keywords: Iterable[str], sent_requests: bool = False) -> str:
    """Sort one of the project's own tests into unit, integration or api (see :data:`CLASSIFICATION_RULE`)."""
    names = set(keywords)
    for kind in _KINDS:
        if kind in names:
            return kind
    parts = re.split(r"[/\\]", nodeid.split("::", 1)[0])[:-1]
    for part in parts:
        if part in ("integration", "e2e"):
            return "integration"
        if part in _KINDS:
            return part
    return "api" if sent_requests else "unit"


@dataclass
class OwnTests:
    """Outcomes of the project's own tests; sorted into kinds once it is known which sent requests."""

    tests: list[tuple[str, list[str], str]] = field(default_factory=list)
    failed_ids: list[str] = field(default_factory=list)

    def add(self, nodeid: str, keywords: Iterable[str], outcome: str) -> None:
        """Record one test's final outcome (``passed``, ``failed`` or ``skipped``)."""
        self.tests.append((nodeid, list(keywords), outcome))
        if outcome == "failed":
            self.failed_ids.append(nodeid)

    def count(self, kind: str, requesting: frozenset[str] = frozenset()) -> TestCount:
        """The tally of one kind (``requesting``: the tests observed sending requests to the app)."""
        c = {"passed": 0, "failed": 0, "skipped": 0}
        for nodeid, keywords, outcome in self.tests:
            if classify_test(nodeid, keywords, nodeid in requesting) == kind:
                c[outcome] += 1
        return TestCount(count=sum(c.values()), passed=c["passed"], failed=c["failed"], skipped=c["skipped"])


@dataclass
class RunFacts:
    """Everything a session contributes to the report."""

    settings: Settings
    loaded: LoadedPacket
    outcomes: list[tuple[str, CheckOutcome]]
    own_tests: OwnTests
    started_at: str
    finished_at: str
    duration_s: float
    backend_mode: str
    backend_target: str


def passed_reason(outcomes: Iterable[CheckOutcome]) -> str:
    """The one reason of a passing verdict: how many checks passed and how many were not verified."""
    listed = list(outcomes)
    statuses = [o.status for o in listed]
    not_verified = statuses.count(CheckStatus.NOT_VERIFIED)
    accepted = sum(1 for o in listed for f in o.findings if f.accepted is not None)
    return f"{len(statuses) - not_verified} checks passed, {not_verified} not verified, none failed" + (
        f", {accepted} accepted finding{'s' if accepted != 1 else ''}" if accepted else ""
    )


def _by_check(outcomes: list[tuple[str, CheckOutcome]], check: str) -> dict[str, CheckOutcome]:
    return {o.target: o for _, o in outcomes if o.check == check}


def _endpoints(facts: RunFacts) -> list[ApiEndpoint]:
    implemented = _by_check(facts.outcomes, "contract.implemented")
    auth = _by_check(facts.outcomes, "contract.auth")
    result: list[ApiEndpoint] = []
    for endpoint in facts.loaded.packet.api.endpoints:
        seen = implemented.get(endpoint.key)
        if seen is None or seen.status is not CheckStatus.PASSED:
            continue
        auth_seen = auth.get(endpoint.key)
        observed_auth = auth_seen is not None and "enforced" in auth_seen.observations
        has_document = "the backend serves no OpenAPI document" not in " ".join(seen.evidence)
        result.append(
            ApiEndpoint(
                method=endpoint.method,
                path=endpoint.path,
                description=endpoint.description,
                authentication_required=bool(auth_seen.observations["enforced"])
                if auth_seen and observed_auth
                else endpoint.authentication_required,
                roles=list(auth_seen.observations.get("admitted", [])) if auth_seen else [],
                observed=EndpointObservation(
                    answered_status=seen.observations.get("answered"),
                    in_packet=True,
                    in_openapi=bool(seen.observations.get("declared")) if has_document else None,
                    authentication_observed=observed_auth,
                ),
            )
        )
    for _, outcome in facts.outcomes:
        if outcome.check != "contract.undeclared":
            continue
        secured: Mapping[str, bool] = outcome.observations.get("secured", {})
        for key in outcome.observations.get("extra", []):
            method, path = key.split(" ", 1)
            result.append(
                ApiEndpoint(
                    method=method,
                    path=path,
                    description="(declared by the backend, not in the packet)",
                    authentication_required=bool(secured.get(key, False)),
                    observed=EndpointObservation(
                        answered_status=None, in_packet=False, in_openapi=True, authentication_observed=False
                    ),
                )
            )
    return result


def _data_models(facts: RunFacts) -> list[DataModelCreated]:
    for _, outcome in facts.outcomes:
        if outcome.check == "data.models":
            return [
                DataModelCreated(
                    name=str(m["name"]),
                    table=str(m["table"]),
                    fields=list(m["fields"]),
                    source=str(outcome.observations.get("source", "sqlalchemy metadata")),
                )
                for m in outcome.observations.get("models", [])
            ]
    return []


def _contract_authentication(facts: RunFacts) -> str:
    """Authentication as ``contract.auth`` saw it (requests without credentials only)."""
    auth = _by_check(facts.outcomes, "contract.auth")
    protected = [e for e in facts.loaded.packet.api.endpoints if e.authentication_required]
    observed = [auth[e.key] for e in protected if e.key in auth and "enforced" in auth[e.key].observations]
    unenforced = [o.target for o in observed if not o.observations["enforced"]]
    if not observed:
        return "not verified: no request without credentials was sent to a protected endpoint"
    if unenforced:
        return f"not enforced on {len(unenforced)} of {len(observed)} protected endpoints: " + ", ".join(unenforced)
    scheme = facts.loaded.packet.api.authentication.scheme if facts.loaded.packet.api.authentication else "?"
    return (
        f"enforced: requests without credentials refused (401/403) on {len(observed)} of {len(protected)} "
        f"protected endpoints (scheme {scheme}; forged, expired and alg-none tokens not verified)"
    )


def _authentication(facts: RunFacts) -> str:
    """``JWT`` only when bearer JWTs were seen enforced on every protected endpoint against every forgery."""
    protected = [e for e in facts.loaded.packet.api.endpoints if e.authentication_required]
    if not protected:
        return "not required by the packet"
    authn = _by_check(facts.outcomes, "security.authn")
    seen = [authn[e.key] for e in protected if e.key in authn]
    if not seen:
        return _contract_authentication(facts)
    failed = [o for o in seen if o.status is CheckStatus.FAILED]
    if failed:
        return "not enforced: " + "; ".join(f"{o.target}: {o.summary}" for o in failed)
    judged = [o for o in seen if o.status is CheckStatus.PASSED]
    if not judged:
        return "not verified: " + seen[0].summary
    complete = all(isinstance(v, int) for o in judged for v in o.observations.get("probes", {}).values())
    jwt = all(o.observations.get("jwt") for o in judged)
    if jwt and complete and len(judged) == len(protected):
        return "JWT"
    gaps = sorted(
        {f"{k}: {v}" for o in judged for k, v in o.observations.get("probes", {}).items() if not isinstance(v, int)}
    )
    what = "bearer JWTs" if jwt else "credentials (not JWTs, so JWT verification is not observed)"
    text = (
        f"enforced: {what} required on {len(judged)} of {len(protected)} protected endpoints; no credentials, "
        "malformed, foreign-key and alg-none tokens refused"
    )
    return text + (f"; {'; '.join(gaps)}" if gaps else "")


def _authorization(facts: RunFacts) -> str:
    rbac = _by_check(facts.outcomes, "security.rbac")
    owned = _by_check(facts.outcomes, "security.object_access")
    failed = [o for o in [*rbac.values(), *owned.values()] if o.status is CheckStatus.FAILED]
    if failed:
        return "not enforced: " + "; ".join(f"{o.target}: {o.summary}" for o in failed)
    if not rbac:
        auth = _by_check(facts.outcomes, "contract.auth")
        admitted = sum(len(o.observations.get("admitted", [])) for o in auth.values())
        return (
            f"not verified: allowed roles were admitted {admitted} time(s); refusal of roles the packet excludes "
            "was not probed"
        )
    passed = [o for o in rbac.values() if o.status is CheckStatus.PASSED]
    if not passed:
        return "not verified: " + next(iter(rbac.values())).summary
    refused = sum(1 for o in passed for v in o.observations.get("roles", {}).values() if v in (403, 404))
    return (
        f"role-based: every role of the packet tried on {len(passed)} of {len(rbac)} endpoint(s) with roles; "
        f"listed roles admitted, unlisted roles refused ({refused} refusal(s) observed)" + _object_level(owned)
    )


def _object_level(owned: dict[str, CheckOutcome]) -> str:
    """What ``security.object_access`` saw on the packet's ``owner_scoped`` endpoints (none: nothing to add)."""
    if not owned:
        return ""
    kept = sum(1 for o in owned.values() if o.status is CheckStatus.PASSED)
    return (
        f"; object-level: a second caller of the same role kept from the first one's resources on {kept} of "
        f"{len(owned)} owner-scoped endpoint(s)"
    )


def _rate_limiting(facts: RunFacts) -> str:
    seen = _by_check(facts.outcomes, "security.rate_limit").get("burst")
    if seen is None:
        return "not verified: no request burst was sent"
    implemented = seen.observations.get("implemented")
    if implemented is True:
        return "implemented"
    if implemented is False:
        return f"not implemented: {seen.summary}"
    return f"not verified: {seen.summary}"


def _security(facts: RunFacts) -> SecurityMeasures:
    return SecurityMeasures(
        authentication=_authentication(facts),
        authorization=_authorization(facts),
        input_validation=_input_validation(facts),
        rate_limiting=_rate_limiting(facts),
    )


def _input_validation(facts: RunFacts) -> str:
    """From the invalid requests fuzzing sent and the injection probes."""
    findings: list[str] = []
    problems: list[str] = []
    fuzzed = [o for _, o in facts.outcomes if o.check == "fuzz.operation" and o.observations.get("negative")]
    accepted = [o.target for o in fuzzed if "negative_data_rejection" in o.observations.get("checks_failed", [])]
    if accepted:
        problems.append(f"schema-violating input was accepted by {', '.join(accepted)}")
    elif fuzzed:
        sent = sum(int(o.observations["negative"]) for o in fuzzed)
        refused = sum(int(o.observations.get("negative_rejected", 0)) for o in fuzzed)
        operations = sum(1 for o in fuzzed if o.target != "stateful")  # fuzz[stateful] spans operations
        findings.append(
            f"validated: no schema-violating request was accepted on {operations} fuzzed operations "
            f"({refused} of {sent} invalid requests refused with 4xx; the rest were not judged invalid by "
            "Schemathesis' negative_data_rejection)"
        )
    injection = _by_check(facts.outcomes, "security.injection").get("inputs")
    if injection is not None and injection.status is CheckStatus.FAILED:
        problems.append(f"injection found: {injection.summary}")
    elif injection is not None and injection.status is CheckStatus.PASSED:
        findings.append(f"injection probes: {injection.summary}")
    if problems:
        return "not enforced: " + "; ".join(problems)
    if not findings:
        return "not verified: no invalid input was sent (fuzzing and injection probes did not run)"
    if not fuzzed:
        findings.append("fuzzing did not run")
    return "; ".join(findings)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = max(0, math.ceil(fraction * len(ordered)) - 1)
    return ordered[index]


def _measured(facts: RunFacts) -> dict[str, dict[str, Any]]:
    """Figures the ``performance.latency`` items measured, by endpoint: the notes repeat them as they are."""
    return {
        outcome.target: outcome.observations["latency"]
        for _, outcome in facts.outcomes
        if outcome.check == "performance.latency" and isinstance(outcome.observations.get("latency"), dict)
    }


def _performance(facts: RunFacts) -> list[str]:
    endpoints = facts.loaded.packet.api.endpoints
    index = EndpointIndex(endpoints)
    measured = _measured(facts)
    samples: dict[str, list[float]] = defaultdict(list)
    for _, outcome in facts.outcomes:
        for method, path, status, elapsed in outcome.observations.get("requests", []):
            endpoint = index.find(method, path)
            if endpoint is not None and status:
                samples[endpoint.key].append(float(elapsed))
    if not samples and not measured:
        return ["not verified: the gate measured no request to a packet endpoint"]
    budget = facts.loaded.packet.non_functional.latency_p95_ms
    notes = [
        f"Latency of the gate's own requests to the backend ({facts.backend_mode}); a functional run, not a load "
        f"test: {sum(len(v) for v in samples.values())} requests over {len(samples)} endpoints."
    ]
    if measured:
        notes.append(
            f"Figures of the {len(measured)} endpoint(s) with a performance.latency item are that item's (the "
            "requests sent before it plus its own timed GETs); the others are computed from every request."
        )
    for endpoint in endpoints:
        figures = measured.get(endpoint.key)
        values = samples.get(endpoint.key)
        if figures is not None:
            p50, p95, slowest, count = (
                float(figures["p50_ms"]),
                float(figures["p95_ms"]),
                float(figures["max_ms"]),
                int(figures["samples"]),
            )
        elif values:
            p50, p95, slowest, count = _percentile(values, 0.5), _percentile(values, 0.95), max(values), len(values)
        else:
            continue
        verdict = ""
        if budget is not None:
            verdict = (
                f"; within the packet's p95 budget of {budget:g} ms"
                if p95 <= budget
                else (f"; OVER the packet's p95 budget of {budget:g} ms")
            )
        notes.append(
            f"{endpoint.key}: p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {slowest:.1f} ms over {count} requests{verdict}"
        )
    return notes


def _known_issues(facts: RunFacts) -> list[str]:
    """One line per failing item: its error finding when it has exactly one, else its summary. Items failing for
    the same cause (same check and title, e.g. one fuzzing failure on several operations) share one line naming
    every place. Then one line per warning cause, one per finding whose acceptance expired (it counts again), then
    one per accepted finding with its acceptance."""
    errors: list[str | tuple[str, str]] = []  # a cause key stands where its first item was
    causes: dict[tuple[str, str], list[str]] = {}
    warning_causes: dict[tuple[str, str], list[str]] = {}
    accepted: list[str] = []
    expired: list[str] = []
    for _, outcome in facts.outcomes:
        found = [f for f in outcome.findings if f.severity is Severity.ERROR and f.accepted is None]
        for finding in outcome.findings:
            if finding.accepted is not None:
                accepted.append(f"(accepted by {finding.accepted.by}: {finding.accepted.reason}) {finding.one_line()}")
            elif finding.severity is Severity.WARNING:
                warning_causes.setdefault((finding.check, finding.title), []).append(finding.location.describe())
            if finding.expired_acceptance is not None:
                expired.append(
                    f"(acceptance expired: {finding.expired_acceptance.by}, {finding.expired_acceptance.reason}) "
                    + finding.one_line()
                )
        if len(found) == 1:
            key = (found[0].check, found[0].title)
            if key not in causes:
                errors.append(key)
            causes.setdefault(key, []).append(found[0].location.describe())
        elif found or outcome.status is CheckStatus.FAILED:
            line = f"[{outcome.check}] {outcome.target}: {outcome.summary}"
            if found and (found[0].location.file or found[0].location.endpoint or "") not in outcome.summary:
                line += f" (first: {found[0].location.describe()}: {found[0].title})"
            errors.append(line)
    lines = [
        entry if isinstance(entry, str) else f"[{entry[0]}] {', '.join(dict.fromkeys(causes[entry]))}: {entry[1]}"
        for entry in errors
    ]
    warnings = [
        f"(warning) [{check}] {', '.join(dict.fromkeys(places))}: {title}"
        for (check, title), places in warning_causes.items()
    ]
    own = facts.own_tests.failed_ids
    if own:
        lines.append(
            f"[tests] {len(own)} of the project's own tests failed: "
            + ", ".join(own[:10])
            + (" ..." if len(own) > 10 else "")
        )
    return lines + warnings + expired + accepted


def _not_run(check: str, quality_enabled: bool) -> str:
    """Why a session-end quality check has no outcome."""
    why = "the quality family did not judge it" if quality_enabled else "--backend-no-quality turned quality off"
    return f"not verified: {check} did not run ({why})"


def _coverage_fields(outcome: CheckOutcome | None, quality_enabled: bool) -> dict[str, Any]:
    """``testing_coverage``'s coverage fields from the ``quality.coverage`` outcome."""
    if outcome is None:
        return {"coverage_percent": None, "coverage_status": _not_run("quality.coverage", quality_enabled)}
    seen = outcome.observations
    if "percent" not in seen:
        return {"coverage_percent": None, "coverage_status": f"not verified: {outcome.summary}"}
    return {
        "coverage_percent": seen["percent"],
        "coverage_status": f"{outcome.status.value}: {seen['method']}",
        "line_coverage_percent": seen.get("line_percent"),
        "branch_coverage_percent": seen.get("branch_percent"),
        "coverage_min_percent": seen.get("threshold"),
    }


def _endpoint_test_fields(outcome: CheckOutcome | None, quality_enabled: bool) -> dict[str, Any]:
    """``testing_coverage``'s endpoint fields from the ``quality.endpoint_tests`` outcome."""
    if outcome is None:
        return {"endpoint_tests_status": _not_run("quality.endpoint_tests", quality_enabled)}
    if outcome.status is CheckStatus.NOT_VERIFIED:
        return {"endpoint_tests_status": f"not verified: {outcome.summary}"}
    return {
        "endpoints_tested": list(outcome.observations.get("tested", {})),
        "endpoints_untested": list(outcome.observations.get("untested", [])),
        "endpoint_tests_status": f"{outcome.status.value}: observed on the in-process app: {outcome.summary}",
    }


def build_report(facts: RunFacts) -> BackendReport:
    """The report for this run, every field from an observation."""
    settings = facts.settings
    packet = facts.loaded.packet
    families = {
        family: FamilyCount(
            passed=row[CheckStatus.PASSED], failed=row[CheckStatus.FAILED], not_verified=row[CheckStatus.NOT_VERIFIED]
        )
        for family, row in family_counts(o for _, o in facts.outcomes).items()
    }
    failed = [o for _, o in facts.outcomes if o.status is CheckStatus.FAILED]
    reasons = [f"{o.check} failed on {o.target}: {o.summary}" for o in failed]
    if facts.own_tests.failed_ids:
        reasons.append(f"{len(facts.own_tests.failed_ids)} of the project's own tests failed")
    if not facts.outcomes:
        reasons.append("no gate check ran (all deselected?)")
    verdict: Literal["passed", "failed"] = "failed" if reasons else "passed"
    if verdict == "passed":
        reasons.append(passed_reason(o for _, o in facts.outcomes))
    root = project_root(settings.rootdir, settings.src_dir)
    try:
        packet_path = str(facts.loaded.path.relative_to(settings.rootdir))
    except ValueError:
        packet_path = str(facts.loaded.path)
    findings = [f for _, o in facts.outcomes for f in o.findings]
    own = facts.own_tests
    coverage = next((o for _, o in facts.outcomes if o.check == "quality.coverage"), None)
    tested = next((o for _, o in facts.outcomes if o.check == "quality.endpoint_tests"), None)
    requesting = frozenset(tested.observations.get("requesting_tests", [])) if tested is not None else frozenset()
    dependencies, dependencies_basis = added_since(root, find_dependencies(root), settings.base_ref)
    return BackendReport(
        api_endpoints_implemented=_endpoints(facts),
        data_models_created=_data_models(facts),
        database_migrations=find_migrations(root),
        external_integrations=observe_integrations(packet.integrations, settings.src_dir),
        testing_coverage=TestingCoverage(
            unit_tests=own.count("unit", requesting),
            integration_tests=own.count("integration", requesting),
            api_tests=own.count("api", requesting),
            **_coverage_fields(coverage, settings.quality_enabled),
            **_endpoint_test_fields(tested, settings.quality_enabled),
            classification=CLASSIFICATION_RULE,
        ),
        security_measures=_security(facts),
        known_issues=_known_issues(facts),
        dependencies_added=dependencies,
        performance_notes=_performance(facts),
        gate=GateSection(
            verdict=verdict,
            reasons=reasons,
            tool=ToolInfo(version=__version__),
            packet=PacketInfo(path=packet_path, sha256=facts.loaded.sha256, project=packet.project.name),
            backend=BackendInfo(mode=facts.backend_mode, target=facts.backend_target),
            started_at=facts.started_at,
            finished_at=facts.finished_at,
            duration_s=round(facts.duration_s, 3),
            families=families,
            dependencies_basis=dependencies_basis,
            checks=[CheckRecord(nodeid=nodeid, **outcome.model_dump()) for nodeid, outcome in facts.outcomes],
            findings=findings,
            fuzz_seed=next(
                (
                    int(o.observations["seed"])
                    for _, o in facts.outcomes
                    if o.check == "fuzz.operation" and "seed" in o.observations
                ),
                None,
            ),
        ),
    )
