"""``verify``: each claim of a submitted report held against what the gate observed (``--backend-verify``).

The claims are judged on the controller at session end, after every other check, against the report the gate
built from its own observations in this run plus a few direct observations (the files on disk, the in-process
app's route table). A claim the gate confirmed passes with the evidence; a claim the gate contradicts fails with
the claim and the observation side by side; a claim the gate could not observe, or a section that claims nothing,
is not verified. Judging sends no request and changes nothing else in the report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pytest_backend_agent.findings import CheckOutcome, CheckStatus
from pytest_backend_agent.packet.model import normalize_path
from pytest_backend_agent.report.model import (
    ApiEndpoint,
    BackendReport,
    ClaimKind,
    DataModelCreated,
    Dependency,
    ExternalIntegration,
    Migration,
    TestCount,
)
from pytest_backend_agent.report.project_files import find_dependencies, shown_path
from pytest_backend_agent.report.submitted import Claims

__all__ = ["CHECK", "COVERAGE_TOLERANCE", "FAMILY", "Observed", "claim_stance", "verify_claims"]

CHECK = "verify"
FAMILY = "verify"
COVERAGE_TOLERANCE = 0.5
"""Percentage points a claimed coverage figure may exceed the measured one (rounding, another run's noise)."""
_LISTED = 8
_TEST_KINDS = ("unit_tests", "integration_tests", "api_tests")
_SECURITY = ("authentication", "authorization", "input_validation", "rate_limiting")

PASSED, FAILED, NOT_VERIFIED = CheckStatus.PASSED, CheckStatus.FAILED, CheckStatus.NOT_VERIFIED


@dataclass(frozen=True)
class Observed:
    """What the gate knows at session end, for judging claims."""

    report: BackendReport
    """The report the gate built from its own observations in this run (without the verify results)."""
    outcomes: list[CheckOutcome]
    """Every other check's outcome."""
    root: Path
    """The backend's project root: migrations and dependency files are read there."""
    routes: tuple[frozenset[str], bool] | None = None
    """The in-process app's ``METHOD /normalized/{}`` routes and whether the list is complete; None: not listable."""
    partial_run: str = ""
    """Why the project's own tests ran only in part (``-k``, ``-m``, ``--lf``); empty when the whole suite ran."""
    redact: Callable[[str], str] = field(default=lambda text: text)

    def outcome(self, check: str, target: str | None = None) -> CheckOutcome | None:
        """The outcome of ``check`` (on ``target`` when given; endpoints compared without parameter names)."""
        for outcome in self.outcomes:
            if outcome.check == check and (target is None or _endpoint_key(outcome.target) == target):
                return outcome
        return None


@dataclass(frozen=True)
class _Judged:
    kind: ClaimKind
    subject: str
    json_path: str
    status: CheckStatus
    claim: str
    observation: str


def _endpoint_key(text: str) -> str:
    """``GET /books/{id}/`` -> ``GET /books/{}`` (other targets are returned as they are)."""
    method, _, path = text.partition(" ")
    return f"{method.upper()} {normalize_path(path)}" if path.startswith("/") else text


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:_LISTED])
    return shown + (f" and {len(names) - _LISTED} more" if len(names) > _LISTED else "") if names else "none"


def _not_verified(text: str) -> str:
    return text.removeprefix("not verified: ")


# ---- endpoints --------------------------------------------------------------------------------------------
def _authentication(claim: ApiEndpoint, observed: Observed, key: str) -> tuple[CheckStatus, str] | None:
    """The claim's ``authentication_required`` against ``contract.auth``'s observation (None: not observed)."""
    seen = next(
        (
            e
            for e in observed.report.api_endpoints_implemented
            if _endpoint_key(f"{e.method} {e.path}") == key and e.observed.authentication_observed
        ),
        None,
    )
    if seen is None:
        return None
    auth = observed.outcome("contract.auth", key)
    why = f" ({auth.summary})" if auth is not None else ""
    text = f"contract.auth observed authentication_required: {str(seen.authentication_required).lower()}{why}"
    return (PASSED if seen.authentication_required == claim.authentication_required else FAILED), text


def _judge_endpoint(claim: ApiEndpoint, observed: Observed) -> tuple[CheckStatus, str]:
    key = _endpoint_key(f"{claim.method} {claim.path}")
    implemented = observed.outcome("contract.implemented", key)
    if implemented is not None and implemented.status is FAILED:
        return FAILED, f"contract.implemented failed: {implemented.summary}"
    if implemented is not None and implemented.status is PASSED:
        auth = _authentication(claim, observed, key)
        if auth is None:
            return PASSED, f"{implemented.summary}; authentication_required was not observed"
        return auth[0], f"{implemented.summary}; {auth[1]}"
    unjudged = f"contract.implemented: not verified: {implemented.summary}; " if implemented is not None else ""
    if observed.routes is not None:
        routes, complete = observed.routes
        if key in routes:
            return PASSED, f"{unjudged}the in-process app routes {key} (its route table; the gate sent no request)"
        if complete:
            ours = sorted(r for r in routes if not r.startswith(("HEAD ", "OPTIONS ")))
            return FAILED, f"{unjudged}the in-process app has no route {key}; it routes {_listed(ours)}"
    undeclared = observed.outcome("contract.undeclared")
    declared = undeclared.observations.get("declared") if undeclared is not None else None
    if isinstance(declared, list):
        if key in {_endpoint_key(str(d)) for d in declared}:
            return PASSED, f"{unjudged}the backend's OpenAPI document declares it (the gate sent it no request)"
        return NOT_VERIFIED, (
            f"{unjudged}the backend's OpenAPI document does not declare it, and the routes of a server cannot be "
            "listed, so it may still exist"
        )
    return NOT_VERIFIED, unjudged + (
        "the gate neither requested it (not in the packet) nor found it in a route table or OpenAPI document"
    )


def _endpoints(claims: Claims, observed: Observed) -> Iterator[_Judged]:
    for index, claim in enumerate(claims.api_endpoints_implemented):
        status, observation = _judge_endpoint(claim, observed)
        text = (
            f"{claim.method.upper()} {claim.path} implemented "
            f"(authentication_required: {str(claim.authentication_required).lower()})"
        )
        subject = f"{claim.method.upper()} {claim.path}"
        yield _Judged("endpoint", subject, f"$.api_endpoints_implemented[{index}]", status, text, observation)


# ---- data models ------------------------------------------------------------------------------------------
def _judge_model(claim: DataModelCreated, observed: Observed) -> tuple[CheckStatus, str]:
    outcome = observed.outcome("data.models")
    if outcome is None:
        return NOT_VERIFIED, "data.models did not run (the packet names no data models, or it was deselected)"
    if outcome.status is NOT_VERIFIED or "models" not in outcome.observations:
        return NOT_VERIFIED, f"data.models could not read the ORM metadata: {outcome.summary}"
    models: list[dict[str, object]] = list(outcome.observations["models"])
    found = next(
        (m for m in models if claim.table in (m.get("table"),) or claim.name in (m.get("name"), m.get("model"))),
        None,
    )
    if found is None:
        tables = sorted(str(m.get("table")) for m in models)
        return FAILED, (
            f"the SQLAlchemy metadata has no model {claim.name} and no table {claim.table}; its tables: "
            f"{_listed(tables)}"
        )
    fields = found.get("fields")
    columns = [str(c) for c in fields] if isinstance(fields, list) else []
    missing = [name for name in claim.fields if name not in columns]
    if missing:
        return FAILED, f"table {found.get('table')} has no column {', '.join(missing)}; its columns: {_listed(columns)}"
    return PASSED, f"table {found.get('table')} in the SQLAlchemy metadata, columns {_listed(columns)}"


def _data_models(claims: Claims, observed: Observed) -> Iterator[_Judged]:
    for index, claim in enumerate(claims.data_models_created):
        status, observation = _judge_model(claim, observed)
        text = f"model {claim.name} (table {claim.table}, fields {', '.join(claim.fields) or 'none'})"
        yield _Judged("data_model", claim.name, f"$.data_models_created[{index}]", status, text, observation)


# ---- migrations -------------------------------------------------------------------------------------------
def _judge_migration(claim: Migration, observed: Observed) -> tuple[CheckStatus, str]:
    root = observed.root.resolve()
    where = shown_path(observed.root, observed.root.parent)
    path = (root / claim.path).resolve()
    if not path.is_relative_to(root):
        return FAILED, f"the path leaves the project root {where}, where the backend's migrations are"
    if not path.is_file():
        return FAILED, f"there is no file {claim.path} in the project root {where}"
    found = {(root / m.path).resolve(): m for m in observed.report.database_migrations}.get(path)
    if found is None:
        return NOT_VERIFIED, (
            f"the file exists, but not where the gate finds migrations (alembic versions folders, "
            f"migrations/NNNN_*.py, migrations/*.sql), so it is not confirmed to be one; migrations found: "
            f"{_listed([m.path for m in observed.report.database_migrations])}"
        )
    seen = f"{found.path} is an {found.tool} migration, revision {found.revision or '(none)'}"
    if found.tool != claim.tool or (claim.revision is not None and claim.revision != found.revision):
        return FAILED, seen
    return PASSED, seen


def _migrations(claims: Claims, observed: Observed) -> Iterator[_Judged]:
    for index, claim in enumerate(claims.database_migrations):
        status, observation = _judge_migration(claim, observed)
        text = f"{claim.tool} migration {claim.path}" + (f" (revision {claim.revision})" if claim.revision else "")
        yield _Judged("migration", claim.path, f"$.database_migrations[{index}]", status, text, observation)


# ---- integrations -----------------------------------------------------------------------------------------
def _judge_integration(claim: ExternalIntegration, observed: Observed) -> tuple[CheckStatus, str]:
    if claim.status == "not verified":
        return NOT_VERIFIED, "the report claims nothing (its status is not verified)"
    seen = next((i for i in observed.report.external_integrations if i.name.casefold() == claim.name.casefold()), None)
    if seen is None:
        return NOT_VERIFIED, "it is not an integration of the packet; the gate looks only for the packet's"
    if seen.status == "observed":
        return PASSED, seen.evidence
    return NOT_VERIFIED, f"the gate found no evidence of it: {seen.evidence} (absent imports do not prove absence)"


def _integrations(claims: Claims, observed: Observed) -> Iterator[_Judged]:
    for index, claim in enumerate(claims.external_integrations):
        status, observation = _judge_integration(claim, observed)
        text = f"{claim.kind or 'integration'} {claim.name}: {claim.status} ({claim.evidence})"
        yield _Judged("integration", claim.name, f"$.external_integrations[{index}]", status, text, observation)


# ---- coverage and test counts -----------------------------------------------------------------------------
def _count(count: TestCount) -> str:
    return f"{count.count} ({count.passed} passed, {count.failed} failed, {count.skipped} skipped)"


def _judge_percent(claimed: float | None, observed: Observed) -> tuple[CheckStatus, str]:
    testing = observed.report.testing_coverage
    measured = testing.coverage_percent
    if claimed is None:
        return NOT_VERIFIED, "the report gives no figure"
    if measured is None:
        return NOT_VERIFIED, f"coverage was not measured: {_not_verified(testing.coverage_status)}"
    how = f"({testing.coverage_status})"
    if claimed > measured + COVERAGE_TOLERANCE:
        return FAILED, f"measured {measured:g}%, {claimed - measured:.2f} points less than claimed {how}"
    return PASSED, f"measured {measured:g}% {how}"


def _sorted_by_requests(observed: Observed) -> str:
    """Why the gate could not sort tests into kinds as a full run does (empty when it could)."""
    tested = observed.outcome("quality.endpoint_tests")
    if tested is None:
        return "quality.endpoint_tests did not run"
    if tested.status is NOT_VERIFIED:
        return tested.summary
    return ""


def _coverage(claims: Claims, observed: Observed) -> Iterator[_Judged]:
    claimed = claims.testing_coverage
    status, observation = _judge_percent(claimed.coverage_percent, observed)
    figure = "none" if claimed.coverage_percent is None else f"{claimed.coverage_percent:g}%"
    path = "$.testing_coverage"
    text = f"coverage_percent: {figure}"
    yield _Judged("coverage", "coverage_percent", path + ".coverage_percent", status, text, observation)
    seen = observed.report.testing_coverage
    unsorted = _sorted_by_requests(observed)
    for kind in _TEST_KINDS:
        mine: TestCount = getattr(claimed, kind)
        theirs: TestCount = getattr(seen, kind)
        text = f"{kind}: {_count(mine)}"
        if observed.partial_run:
            status, observation = NOT_VERIFIED, observed.partial_run
        elif unsorted:
            status, observation = _judge_totals(claimed, seen, unsorted)
        elif mine == theirs:
            status, observation = PASSED, f"this run: {_count(theirs)}"
        else:
            status, observation = FAILED, f"this run: {_count(theirs)}"
        yield _Judged("coverage", kind, f"{path}.{kind}", status, text, observation)


def _total(section: object) -> TestCount:
    counts = [getattr(section, kind) for kind in _TEST_KINDS]
    return TestCount(
        count=sum(c.count for c in counts),
        passed=sum(c.passed for c in counts),
        failed=sum(c.failed for c in counts),
        skipped=sum(c.skipped for c in counts),
    )


def _judge_totals(claimed: object, seen: object, unsorted: str) -> tuple[CheckStatus, str]:
    """Without knowing which tests sent requests, only the totals over the three kinds can be compared."""
    mine, theirs = _total(claimed), _total(seen)
    if mine != theirs:
        return FAILED, f"the report's three kinds add up to {_count(mine)}; this run had {_count(theirs)} in all"
    return NOT_VERIFIED, (
        f"the tests were not sorted by the requests they send ({unsorted}), so the kinds are not compared; the "
        f"totals agree: {_count(theirs)}"
    )


# ---- security measures ------------------------------------------------------------------------------------
def claim_stance(text: str) -> str:
    """What a security-measure text asserts: ``present``, ``absent``, or ``none`` (it claims nothing)."""
    words = text.strip().casefold()
    if not words or words.startswith(("not verified", "unknown", "n/a")) or words == "not required by the packet":
        return "none"
    if words.startswith(("not ", "none", "disabled", "absent", "missing")) or words == "no" or words.startswith("no "):
        return "absent"
    return "present"


def _judge_measure(name: str, claimed: str, seen: str) -> tuple[CheckStatus, str]:
    mine, theirs = claim_stance(claimed), claim_stance(seen)
    if mine == "none":
        return NOT_VERIFIED, f"the report claims nothing; the gate observed: {seen}"
    if theirs == "none":
        return NOT_VERIFIED, _not_verified(seen)
    if mine != theirs:
        return FAILED, seen
    asserts_jwt = "jwt" in claimed.casefold() and "not jwt" not in claimed.casefold()
    if name == "authentication" and asserts_jwt and "not jwts" in seen.casefold():
        return FAILED, seen  # claims JWTs; the gate saw credentials that are not JWTs
    return PASSED, seen


def _security(claims: Claims, observed: Observed) -> Iterator[_Judged]:
    for name in _SECURITY:
        claimed = str(getattr(claims.security_measures, name))
        status, observation = _judge_measure(name, claimed, str(getattr(observed.report.security_measures, name)))
        path = f"$.security_measures.{name}"
        yield _Judged("security", name, path, status, f"{name}: {claimed}", observation)


# ---- dependencies -----------------------------------------------------------------------------------------
def _canonical(name: str) -> str:
    from packaging.utils import canonicalize_name

    return canonicalize_name(name.split("[", 1)[0])


def _same_specifier(first: str, second: str) -> bool:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        return SpecifierSet(first) == SpecifierSet(second)
    except InvalidSpecifier:
        return first.replace(" ", "") == second.replace(" ", "")


def _judge_dependency(claim: Dependency, declared: list[Dependency], observed: Observed) -> tuple[CheckStatus, str]:
    if not declared:
        return NOT_VERIFIED, (
            "the gate read no declared dependency (pyproject.toml [project].dependencies, requirements*.txt) in "
            f"{shown_path(observed.root, observed.root.parent)}"
        )
    found = next((d for d in declared if _canonical(d.name) == _canonical(claim.name)), None)
    files = ", ".join(sorted({d.declared_in for d in declared}))
    if found is None:
        names = sorted({d.name for d in declared})
        return FAILED, f"{files} declare(s) no {claim.name}; declared: {_listed(names)}"
    seen = f"{found.declared_in} declares {found.name}{found.specifier or ' (any version)'}"
    if not _same_specifier(claim.specifier, found.specifier):
        return FAILED, seen
    basis = observed.report.gate.dependencies_basis
    added = {_canonical(d.name) for d in observed.report.dependencies_added}
    if basis.startswith("dependencies added since") and _canonical(claim.name) not in added:
        return FAILED, f"{seen}, but it was declared before this change ({basis})"
    return PASSED, seen


def _dependencies(claims: Claims, observed: Observed) -> Iterator[_Judged]:
    declared = find_dependencies(observed.root)
    for index, claim in enumerate(claims.dependencies_added):
        status, observation = _judge_dependency(claim, declared, observed)
        text = f"dependency {claim.name}{claim.specifier or ' (any version)'} in {claim.declared_in}"
        yield _Judged("dependency", claim.name, f"$.dependencies_added[{index}]", status, text, observation)


# ---- all claims -------------------------------------------------------------------------------------------
_SECTIONS = (_endpoints, _data_models, _migrations, _integrations, _coverage, _security, _dependencies)
_LABEL: dict[str, str] = {"data_model": "model"}


def _outcome(judged: _Judged, target: str, redact: Callable[[str], str]) -> CheckOutcome:
    claim, observation = redact(judged.claim), redact(judged.observation)
    lead = "not verified" if judged.status is NOT_VERIFIED else ("confirmed" if judged.status is PASSED else "observed")
    return CheckOutcome(
        check=CHECK,
        family=FAMILY,
        target=target,
        status=judged.status,
        summary=f"claims {claim}; {lead}: {observation}",
        evidence=[f"claim ({judged.json_path}): {claim}", f"observation: {observation}"],
        observations={
            "kind": judged.kind,
            "subject": redact(judged.subject),
            "json_path": judged.json_path,
            "claim": claim,
            "observation": observation,
        },
    )


def verify_claims(claims: Claims, observed: Observed) -> list[CheckOutcome]:
    """One ``verify`` outcome per claim, in the submitted report's order (targets made unique)."""
    outcomes: list[CheckOutcome] = []
    targets: set[str] = set()
    for section in _SECTIONS:
        for judged in section(claims, observed):
            target = f"{_LABEL.get(judged.kind, judged.kind)} {observed.redact(judged.subject)}"
            if target in targets:  # the same thing claimed twice: tell the results apart by where they are
                target = f"{target} at {judged.json_path}"
            targets.add(target)
            outcomes.append(_outcome(judged, target, observed.redact))
    return outcomes
