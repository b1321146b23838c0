"""Building the report from what the gate observed in this session."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pytest_backend_agent import __version__
from pytest_backend_agent.findings import CheckOutcome, CheckStatus, Severity
from pytest_backend_agent.packet.load import LoadedPacket
from pytest_backend_agent.packet.model import Endpoint
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

__all__ = ["CLASSIFICATION_RULE", "OwnTests", "RunFacts", "build_report", "classify_test"]

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
                    name=str(m["name"]), table=str(m["table"]), fields=list(m["fields"]), source="sqlalchemy metadata"
                )
                for m in outcome.observations.get("models", [])
            ]
    return []


def _security(facts: RunFacts) -> SecurityMeasures:
    auth = _by_check(facts.outcomes, "contract.auth")
    protected = [e for e in facts.loaded.packet.api.endpoints if e.authentication_required]
    observed = [auth[e.key] for e in protected if e.key in auth and "enforced" in auth[e.key].observations]
    unenforced = [o.target for o in observed if not o.observations["enforced"]]
    if not protected:
        authentication = "not required by the packet"
    elif not observed:
        authentication = "not verified: no request without credentials was sent to a protected endpoint"
    elif unenforced:
        authentication = f"not enforced on {len(unenforced)} of {len(observed)} protected endpoints: " + ", ".join(
            unenforced
        )
    else:
        scheme = facts.loaded.packet.api.authentication.scheme if facts.loaded.packet.api.authentication else "?"
        authentication = (
            f"enforced: requests without credentials refused (401/403) on {len(observed)} of {len(protected)} "
            f"protected endpoints (scheme {scheme}; forged, expired and alg-none tokens not verified)"
        )
    admitted = sum(len(o.observations.get("admitted", [])) for o in auth.values())
    authorization = (
        f"not verified: allowed roles were admitted {admitted} time(s); refusal of roles the packet excludes "
        "was not probed"
    )
    return SecurityMeasures(
        authentication=authentication,
        authorization=authorization,
        input_validation="not verified: no invalid input was sent (fuzzing did not run)",
        rate_limiting="not verified: no request burst was sent",
    )


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = max(0, math.ceil(fraction * len(ordered)) - 1)
    return ordered[index]


def _endpoint_for(endpoints: list[Endpoint], method: str, path: str) -> Endpoint | None:
    for endpoint in endpoints:
        if endpoint.method == method and endpoint.matches(path):
            return endpoint
    return None


def _performance(facts: RunFacts) -> list[str]:
    endpoints = facts.loaded.packet.api.endpoints
    samples: dict[str, list[float]] = defaultdict(list)
    for _, outcome in facts.outcomes:
        for method, path, status, elapsed in outcome.observations.get("requests", []):
            endpoint = _endpoint_for(endpoints, method, path)
            if endpoint is not None and status:
                samples[endpoint.key].append(float(elapsed))
    if not samples:
        return ["not verified: the gate measured no request to a packet endpoint"]
    budget = facts.loaded.packet.non_functional.latency_p95_ms
    notes = [
        f"Latency of the gate's own requests to the backend ({facts.backend_mode}); a functional run, not a load "
        f"test: {sum(len(v) for v in samples.values())} requests over {len(samples)} endpoints."
    ]
    for endpoint in endpoints:
        values = samples.get(endpoint.key)
        if not values:
            continue
        p95 = _percentile(values, 0.95)
        verdict = ""
        if budget is not None:
            verdict = (
                f"; within the packet's p95 budget of {budget:g} ms"
                if p95 <= budget
                else (f"; OVER the packet's p95 budget of {budget:g} ms")
            )
        notes.append(
            f"{endpoint.key}: p50 {_percentile(values, 0.5):.1f} ms, p95 {p95:.1f} ms, "
            f"max {max(values):.1f} ms over {len(values)} requests{verdict}"
        )
    return notes


def _known_issues(facts: RunFacts) -> list[str]:
    """One line per failing item (its error finding when it has one, else its summary), then each warning."""
    errors: list[str] = []
    warnings: list[str] = []
    for _, outcome in facts.outcomes:
        found = [f for f in outcome.findings if f.severity is Severity.ERROR]
        warnings.extend(f"(warning) {f.one_line()}" for f in outcome.findings if f.severity is Severity.WARNING)
        if len(found) == 1:
            errors.append(found[0].one_line())
        elif found or outcome.status is CheckStatus.FAILED:
            line = f"[{outcome.check}] {outcome.target}: {outcome.summary}"
            if found and (found[0].location.file or found[0].location.endpoint or "") not in outcome.summary:
                line += f" (first: {found[0].location.describe()}: {found[0].title})"
            errors.append(line)
    own = facts.own_tests.failed_ids
    if own:
        errors.append(
            f"[tests] {len(own)} of the project's own tests failed: "
            + ", ".join(own[:10])
            + (" ..." if len(own) > 10 else "")
        )
    return errors + warnings


def _coverage_fields(outcome: CheckOutcome | None) -> dict[str, Any]:
    """``testing_coverage``'s coverage fields from the ``quality.coverage`` outcome."""
    if outcome is None:
        return {"coverage_percent": None, "coverage_status": "not verified: quality.coverage did not run"}
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


def _endpoint_test_fields(outcome: CheckOutcome | None) -> dict[str, Any]:
    """``testing_coverage``'s endpoint fields from the ``quality.endpoint_tests`` outcome."""
    if outcome is None:
        return {"endpoint_tests_status": "not verified: quality.endpoint_tests did not run"}
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
    families: dict[str, FamilyCount] = {}
    for _, outcome in facts.outcomes:
        count = families.setdefault(outcome.family, FamilyCount())
        attribute = outcome.status.value.replace(" ", "_")
        setattr(count, attribute, getattr(count, attribute) + 1)
    failed = [o for _, o in facts.outcomes if o.status is CheckStatus.FAILED]
    reasons = [f"{o.check} failed on {o.target}: {o.summary}" for o in failed]
    if facts.own_tests.failed_ids:
        reasons.append(f"{len(facts.own_tests.failed_ids)} of the project's own tests failed")
    if not facts.outcomes:
        reasons.append("no gate check ran (all deselected?)")
    verdict: Literal["passed", "failed"] = "failed" if reasons else "passed"
    if verdict == "passed":
        not_verified = sum(1 for _, o in facts.outcomes if o.status is CheckStatus.NOT_VERIFIED)
        reasons.append(f"{len(facts.outcomes) - not_verified} checks passed, {not_verified} not verified, none failed")
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
            **_coverage_fields(coverage),
            **_endpoint_test_fields(tested),
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
        ),
    )
