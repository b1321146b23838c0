"""Judging a submitted report's claims (``checks/verify.py``) without a pytest session: each rule both ways."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_backend_agent.checks.verify import Observed, claim_stance, verify_claims
from pytest_backend_agent.errors import GateUsageError
from pytest_backend_agent.findings import CheckOutcome, CheckStatus
from pytest_backend_agent.report.handlers import route_keys
from pytest_backend_agent.report.model import BackendReport
from pytest_backend_agent.report.submitted import Claims, load_submitted

COUNT = {"count": 2, "passed": 2, "failed": 0, "skipped": 0}
NONE = {"count": 0, "passed": 0, "failed": 0, "skipped": 0}


def sections(**changes: Any) -> dict[str, Any]:
    """The claim sections of a report (nothing claimed), with ``changes``."""
    base: dict[str, Any] = {
        "api_endpoints_implemented": [],
        "data_models_created": [],
        "database_migrations": [],
        "external_integrations": [],
        "testing_coverage": {
            "unit_tests": COUNT,
            "integration_tests": NONE,
            "api_tests": NONE,
            "coverage_percent": 90.0,
            "coverage_status": "passed: measured",
            "classification": "rule",
        },
        "security_measures": {
            "authentication": "not verified: x",
            "authorization": "not verified: x",
            "input_validation": "not verified: x",
            "rate_limiting": "not verified: x",
        },
        "known_issues": [],
        "dependencies_added": [],
        "performance_notes": [],
    }
    return {**base, **changes}


def gate_report(**changes: Any) -> BackendReport:
    """A report as the gate builds it, with ``changes`` to its claim sections."""
    gate = {
        "verdict": "passed",
        "reasons": [],
        "tool": {"version": "0"},
        "packet": {"path": "p.json", "sha256": "0" * 64, "project": "p"},
        "backend": {"mode": "app", "target": "a:b"},
        "started_at": "t",
        "finished_at": "t",
        "duration_s": 0,
        "families": {},
        "checks": [],
        "findings": [],
    }
    return BackendReport.model_validate({**sections(**changes), "gate": gate})


def endpoint_tests_observed() -> CheckOutcome:
    return CheckOutcome(
        check="quality.endpoint_tests", family="quality", target="t", status=CheckStatus.PASSED, summary="s"
    )


def judge(claims: dict[str, Any], observed: Observed) -> dict[str, tuple[CheckStatus, str]]:
    return {o.target: (o.status, o.summary) for o in verify_claims(Claims.model_validate(claims), observed)}


@pytest.mark.parametrize(
    ("text", "stance"),
    [
        ("implemented", "present"),
        ("JWT", "present"),
        ("slowapi, 100 per minute", "present"),
        ("not implemented: no 429 after 25 requests", "absent"),
        ("not enforced on 1 of 4 protected endpoints", "absent"),
        ("none", "absent"),
        ("No rate limiting", "absent"),
        ("not verified: no request burst was sent", "none"),
        ("not required by the packet", "none"),
        ("", "none"),
    ],
)
def test_what_a_security_measure_asserts(text: str, stance: str) -> None:
    assert claim_stance(text) == stance


def test_security_claims_confirmed_contradicted_and_unobservable(tmp_path: Path) -> None:
    observed = Observed(
        report=gate_report(
            security_measures={
                "authentication": "enforced: credentials (not JWTs, so JWT verification is not observed) required",
                "authorization": "role-based: every role tried",
                "input_validation": "not enforced: schema-violating input was accepted by POST /x",
                "rate_limiting": "not verified: the packet declares no rate limit; no burst was sent",
            }
        ),
        outcomes=[endpoint_tests_observed()],
        root=tmp_path,
    )
    claims = sections(
        security_measures={
            "authentication": "JWT bearer tokens",
            "authorization": "RBAC",
            "input_validation": "pydantic models",
            "rate_limiting": "implemented",
        }
    )
    result = judge(claims, observed)
    assert result["security authentication"][0] is CheckStatus.FAILED  # claims JWTs; not JWTs were seen
    assert result["security authorization"] == (
        CheckStatus.PASSED,
        "claims authorization: RBAC; confirmed: role-based: every role tried",
    )
    assert result["security input_validation"] == (
        CheckStatus.FAILED,
        "claims input_validation: pydantic models; observed: not enforced: schema-violating input was accepted by "
        "POST /x",
    )
    assert result["security rate_limiting"] == (
        CheckStatus.NOT_VERIFIED,
        "claims rate_limiting: implemented; not verified: the packet declares no rate limit; no burst was sent",
    )


def test_coverage_is_judged_with_half_a_point_of_tolerance(tmp_path: Path) -> None:
    observed = Observed(report=gate_report(), outcomes=[endpoint_tests_observed()], root=tmp_path)
    for claimed, status in ((90.5, CheckStatus.PASSED), (90.6, CheckStatus.FAILED), (40.0, CheckStatus.PASSED)):
        claims = sections()
        claims["testing_coverage"] = {**claims["testing_coverage"], "coverage_percent": claimed}
        assert judge(claims, observed)["coverage coverage_percent"][0] is status, claimed
    claims = sections()
    claims["testing_coverage"] = {**claims["testing_coverage"], "coverage_percent": None}
    assert judge(claims, observed)["coverage coverage_percent"][0] is CheckStatus.NOT_VERIFIED


def test_test_counts_need_the_whole_suite_and_sorted_tests(tmp_path: Path) -> None:
    claims = sections()
    claims["testing_coverage"] = {**claims["testing_coverage"], "unit_tests": {**COUNT, "passed": 3, "count": 3}}
    sorted_run = Observed(report=gate_report(), outcomes=[endpoint_tests_observed()], root=tmp_path)
    assert judge(claims, sorted_run)["coverage unit_tests"][0] is CheckStatus.FAILED
    assert judge(sections(), sorted_run)["coverage unit_tests"][0] is CheckStatus.PASSED
    partial = Observed(report=gate_report(), outcomes=[endpoint_tests_observed()], root=tmp_path, partial_run="-k")
    assert judge(claims, partial)["coverage unit_tests"] == (
        CheckStatus.NOT_VERIFIED,
        "claims unit_tests: 3 (3 passed, 0 failed, 0 skipped); not verified: -k",
    )
    unsorted = Observed(report=gate_report(), outcomes=[], root=tmp_path)
    moved = sections()
    moved["testing_coverage"] = {**moved["testing_coverage"], "unit_tests": NONE, "api_tests": COUNT}
    assert judge(moved, unsorted)["coverage api_tests"][0] is CheckStatus.NOT_VERIFIED  # totals agree
    assert judge(claims, unsorted)["coverage unit_tests"][0] is CheckStatus.FAILED  # totals differ


def test_migrations_and_dependencies_are_read_from_the_files(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("fastapi>=0.110\nhttpx\n")
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "0001_init.sql").write_text("create table t (id int);\n")
    (tmp_path / "notes.sql").write_text("")
    observed = Observed(
        report=gate_report(database_migrations=[{"path": "migrations/0001_init.sql", "tool": "sql", "revision": None}]),
        outcomes=[],
        root=tmp_path,
    )

    def dependency(name: str, specifier: str) -> dict[str, str]:
        return {"name": name, "specifier": specifier, "declared_in": "requirements.txt"}

    def migration(path: str, tool: str = "sql") -> dict[str, Any]:
        return {"path": path, "tool": tool, "revision": None}

    claims = sections(
        dependencies_added=[
            dependency("FastAPI", ">= 0.110"),
            dependency("httpx", ""),
            dependency("stripe", ">=5"),
            dependency("fastapi", ">=0.200"),
        ],
        database_migrations=[
            migration("migrations/0001_init.sql"),
            migration("migrations/0001_init.sql", "alembic"),
            migration("migrations/0002_more.sql"),
            migration("notes.sql"),
            migration("../outside.sql"),
        ],
    )
    result = {target: status for target, (status, _) in judge(claims, observed).items()}
    assert {k: v for k, v in result.items() if k.startswith(("dependency", "migration"))} == {
        "dependency FastAPI": CheckStatus.PASSED,
        "dependency httpx": CheckStatus.PASSED,
        "dependency stripe": CheckStatus.FAILED,
        "dependency fastapi": CheckStatus.FAILED,  # another specifier than the one declared
        "migration migrations/0001_init.sql": CheckStatus.PASSED,
        "migration migrations/0001_init.sql at $.database_migrations[1]": CheckStatus.FAILED,  # not an alembic one
        "migration migrations/0002_more.sql": CheckStatus.FAILED,
        "migration notes.sql": CheckStatus.NOT_VERIFIED,  # exists, but not where migrations are found
        "migration ../outside.sql": CheckStatus.FAILED,
    }


def test_endpoints_fall_back_to_the_route_table_then_the_document(tmp_path: Path) -> None:
    endpoint = {"method": "get", "path": "/x/{id}", "description": "", "authentication_required": False,
                "observed": {"answered_status": None, "in_packet": False, "in_openapi": None,
                             "authentication_observed": False}}  # fmt: skip
    claims = sections(api_endpoints_implemented=[endpoint])
    table = {"GET /x/{}", "HEAD /x/{}"}
    found = Observed(report=gate_report(), outcomes=[], root=tmp_path, routes=(frozenset(table), True))
    assert judge(claims, found)["endpoint GET /x/{id}"][0] is CheckStatus.PASSED
    missing = Observed(report=gate_report(), outcomes=[], root=tmp_path, routes=(frozenset({"GET /y"}), True))
    assert judge(claims, missing)["endpoint GET /x/{id}"] == (
        CheckStatus.FAILED,
        "claims GET /x/{id} implemented (authentication_required: false); observed: the in-process app has no route "
        "GET /x/{}; it routes GET /y",
    )
    mounted = Observed(report=gate_report(), outcomes=[], root=tmp_path, routes=(frozenset({"GET /y"}), False))
    assert judge(claims, mounted)["endpoint GET /x/{id}"][0] is CheckStatus.NOT_VERIFIED
    document = CheckOutcome(
        check="contract.undeclared",
        family="contract",
        target="openapi",
        status=CheckStatus.PASSED,
        summary="s",
        observations={"declared": ["GET /x/{item}"]},
    )
    served = Observed(report=gate_report(), outcomes=[document], root=tmp_path)
    assert judge(claims, served)["endpoint GET /x/{id}"][0] is CheckStatus.PASSED


def test_route_keys_say_when_a_mount_hides_routes() -> None:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/items/{item_id}")
    def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    keys = route_keys(app)
    assert keys is not None
    assert "GET /items/{}" in keys[0]
    assert keys[1] is True
    app.mount("/sub", FastAPI())
    assert route_keys(app) == (keys[0], False)
    assert route_keys(object()) is None


def test_claims_are_redacted(tmp_path: Path) -> None:
    observed = Observed(report=gate_report(), outcomes=[], root=tmp_path, redact=lambda t: t.replace("s3cret", "***"))
    claims = sections(security_measures={**sections()["security_measures"], "authentication": "token s3cret"})
    outcome = next(o for o in verify_claims(Claims.model_validate(claims), observed) if "authentication" in o.target)
    assert "s3cret" not in outcome.model_dump_json()


def test_a_report_that_is_not_json_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text("{")
    with pytest.raises(GateUsageError, match=r"submitted report .*r\.json is not valid JSON"):
        load_submitted(path)
    path.write_text(json.dumps(sections(testing_coverage={})))
    with pytest.raises(GateUsageError, match=r"\$\.testing_coverage: 'unit_tests' is a required property"):
        load_submitted(path)
    path.write_text(json.dumps(sections()))
    assert load_submitted(path).claims.testing_coverage.coverage_percent == 90.0  # no gate section: accepted
