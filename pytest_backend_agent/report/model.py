"""The report and signal models. ``contracts/*.schema.json`` are generated from them (a test keeps them equal).

Every field is filled from what the gate observed. Where nothing could be observed the value says
"not verified" and why, never what the backend's author claimed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pytest_backend_agent.findings import CheckOutcome, CheckStatus, Finding

__all__ = [
    "ApiEndpoint",
    "BackendReport",
    "CheckRecord",
    "ClaimCheck",
    "ClaimKind",
    "DataModelCreated",
    "Dependency",
    "ExternalIntegration",
    "FamilyCount",
    "GateSection",
    "Migration",
    "SecurityMeasures",
    "StageCompletionSignal",
    "TestCount",
    "TestingCoverage",
    "VerificationCounts",
    "VerificationSection",
]


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EndpointObservation(_Closed):
    """What the gate saw of one endpoint."""

    answered_status: int | None = Field(description="Status of the gate's request to it (None: not requested)")
    in_packet: bool = Field(description="Whether the packet names it")
    in_openapi: bool | None = Field(
        description="Whether the backend's OpenAPI document declares it (None: no document)"
    )
    authentication_observed: bool = Field(
        description="True when authentication_required was observed (a request without credentials was refused or "
        "answered), False when it is taken from the packet or the OpenAPI document unobserved"
    )


class ApiEndpoint(_Closed):
    """An endpoint the backend was observed to implement."""

    method: str
    path: str
    description: str
    authentication_required: bool
    roles: list[str] = Field(default_factory=list)
    observed: EndpointObservation


class DataModelCreated(_Closed):
    """A data model found in the backend's ORM metadata."""

    name: str
    table: str
    fields: list[str]
    source: str = Field(description="Where it was observed, e.g. sqlalchemy metadata")


class Migration(_Closed):
    """A migration file found in the backend's source tree."""

    path: str = Field(description="Relative to the project root")
    tool: Literal["alembic", "django", "sql"]
    revision: str | None = None


class ExternalIntegration(_Closed):
    """An integration from the packet and whether the gate saw evidence of it."""

    name: str
    kind: str
    required: bool
    status: Literal["observed", "not verified"]
    evidence: str


class TestCount(_Closed):
    """Outcomes of the project's own tests of one kind in this run."""

    count: int = Field(ge=0)
    passed: int = Field(ge=0)
    failed: int = Field(ge=0)
    skipped: int = Field(ge=0)


class TestingCoverage(_Closed):
    """The project's own tests as run in this session, and coverage when measured."""

    unit_tests: TestCount
    integration_tests: TestCount
    api_tests: TestCount
    coverage_percent: float | None = Field(
        description="Coverage of the backend's source by its own tests as coverage.py totals it: covered lines and "
        "branches over all lines and branches (None: not measured)"
    )
    coverage_status: str = Field(description="How coverage was obtained, or why it is not verified")
    line_coverage_percent: float | None = Field(default=None, description="Covered lines over all lines")
    branch_coverage_percent: float | None = Field(
        default=None, description="Covered branches over all branches (None: branches not measured)"
    )
    coverage_min_percent: float | None = Field(
        default=None, description="The threshold coverage_percent was held against (None: not judged)"
    )
    endpoints_tested: list[str] = Field(
        default_factory=list, description="Packet endpoints (METHOD /path) the project's own tests sent requests to"
    )
    endpoints_untested: list[str] = Field(
        default_factory=list, description="Packet endpoints none of the project's own tests called"
    )
    endpoint_tests_status: str = Field(
        default="not verified", description="How endpoints_tested was observed, or why it is not verified"
    )
    classification: str = Field(description="The rule that sorted tests into unit, integration and API")


class SecurityMeasures(_Closed):
    """Security measures as observed by the gate's requests ("not verified: why" when unobserved)."""

    authentication: str
    authorization: str
    input_validation: str
    rate_limiting: str


class Dependency(_Closed):
    """A runtime dependency the backend declares."""

    name: str
    specifier: str
    declared_in: str


class FamilyCount(_Closed):
    """How the checks of one family ended."""

    passed: int = 0
    failed: int = 0
    not_verified: int = 0


class CheckRecord(CheckOutcome):
    """One gate check as it ran: its pytest node id and outcome."""

    nodeid: str


class ToolInfo(_Closed):
    """The gate that wrote the report."""

    name: Literal["pytest-backend-agent"] = "pytest-backend-agent"
    version: str


class PacketInfo(_Closed):
    """The packet the backend was checked against."""

    path: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    project: str


class BackendInfo(_Closed):
    """How the backend was reached."""

    mode: str
    target: str


class GateSection(_Closed):
    """The gate's verdict and everything behind it."""

    verdict: Literal["passed", "failed"]
    reasons: list[str] = Field(description="Why the verdict is what it is, one line each")
    tool: ToolInfo
    packet: PacketInfo
    backend: BackendInfo
    started_at: str = Field(description="ISO 8601 UTC")
    finished_at: str = Field(description="ISO 8601 UTC")
    duration_s: float = Field(ge=0)
    families: dict[str, FamilyCount]
    dependencies_basis: str = Field(
        default="",
        description="How dependencies_added was filled: every declared dependency, or those added since a git base ref",
    )
    checks: list[CheckRecord]
    findings: list[Finding]
    fuzz_seed: int | None = Field(
        default=None, description="The seed fuzzing used (replay with --backend-fuzz-seed); None when no fuzz item ran"
    )


ClaimKind = Literal["endpoint", "data_model", "migration", "integration", "coverage", "security", "dependency"]


class ClaimCheck(_Closed):
    """One claim of a submitted report held against what the gate observed (``--backend-verify``)."""

    nodeid: str = Field(description="The named result, e.g. backend-gate::verify[endpoint GET /api/v1/books]")
    kind: ClaimKind
    subject: str = Field(description="What the claim is about, e.g. GET /api/v1/books, Book, rate_limiting")
    json_path: str = Field(
        description="Where the claim is in the submitted report, e.g. $.api_endpoints_implemented[0]"
    )
    status: CheckStatus = Field(
        description="passed: the gate confirmed the claim; failed: the gate observed something else; not verified: "
        "the gate could not observe it, or the report claims nothing"
    )
    claim: str = Field(description="What the submitted report says")
    observation: str = Field(description="What the gate observed, or why it could not observe it")


class VerificationCounts(_Closed):
    """How the claims of a submitted report ended."""

    passed: int = Field(ge=0)
    failed: int = Field(ge=0)
    not_verified: int = Field(ge=0)


class VerificationSection(_Closed):
    """The claims of a submitted report (``--backend-verify``) and what the gate made of each."""

    source: str = Field(description="The submitted report, relative to the rootdir when inside it")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Of the submitted file as read")
    counts: VerificationCounts
    claims: list[ClaimCheck]


class BackendReport(_Closed):
    """backend-implementation-report.json: the backend stage's handoff, as observed by the gate."""

    model_config = ConfigDict(extra="forbid", title="Backend implementation report")

    api_endpoints_implemented: list[ApiEndpoint]
    data_models_created: list[DataModelCreated]
    database_migrations: list[Migration]
    external_integrations: list[ExternalIntegration]
    testing_coverage: TestingCoverage
    security_measures: SecurityMeasures
    known_issues: list[str]
    dependencies_added: list[Dependency]
    performance_notes: list[str]
    gate: GateSection
    verification: VerificationSection | None = Field(
        default=None,
        description="Present when the run verified a submitted report (--backend-verify): each claim against the "
        "gate's observation",
    )


class VerdictSummary(_Closed):
    """Counts behind a passing gate."""

    checks_passed: int = Field(ge=0)
    checks_not_verified: int = Field(ge=0)
    warnings: int = Field(ge=0)


class StageCompletionSignal(_Closed):
    """Written only when the gate passes: the backend stage is complete and QA may start."""

    model_config = ConfigDict(extra="forbid", title="Stage completion signal")

    stage: Literal["backend-engineer"] = "backend-engineer"
    status: Literal["completed"] = "completed"
    report_path: str
    report_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    timestamp: str = Field(description="ISO 8601 UTC")
    verdict: VerdictSummary
