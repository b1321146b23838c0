"""``--backend-verify``: a submitted report's claims held against what the gate observes, end to end.

A truthful report is taken from the gate itself (run on the clean fixture, then copied where a QA agent would keep
it); the false claims are edits of that report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from tests.e2e.backends import GateProject, library_packet, read_report, validate_report

pytestmark = pytest.mark.e2e

SUBMITTED = Path("ARTIFACTS/qa/submitted-report.json")
REPORT = Path("ARTIFACTS/backend-engineer/backend-implementation-report.json")
MIGRATION = '''"""create books"""

revision = "0001"
down_revision = None
'''
# Static tools are left out: they are slow and say nothing about claims. Coverage is still measured.
FAST = {"backend_quality": "none"}


def project_with_files(gate_project: GateProject, packet: dict[str, Any] | None = None) -> Path:
    """The clean fixture plus what the report lists from files: declared dependencies and one Alembic migration."""
    root = gate_project(packet=packet, ini=FAST)
    (root / "requirements.txt").write_text("fastapi>=0.100\nsqlalchemy>=2.0\n")
    (root / "alembic" / "versions").mkdir(parents=True)
    (root / "alembic" / "env.py").write_text('"""alembic environment"""\n')
    (root / "alembic" / "versions" / "0001_books.py").write_text(MIGRATION)
    return root


def submit(root: Path, report: dict[str, Any]) -> Path:
    """Put ``report`` where the QA agent keeps the submitted report."""
    path = root / SUBMITTED
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))
    return path


def gate_report(pytester: pytest.Pytester, root: Path) -> dict[str, Any]:
    """Run the gate on the fixture and return the report it wrote (a truthful report)."""
    result = pytester.runpytest("--backend-report")
    assert result.ret in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED), result.stdout.str()
    report = read_report(root)
    (root / REPORT).unlink()
    return report


def claims_of(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The verification section's claims by node id."""
    return {claim["nodeid"]: claim for claim in report["verification"]["claims"]}


def test_a_truthful_report_verifies_clean(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    root = project_with_files(gate_project)
    truthful = gate_report(pytester, root)
    assert truthful["gate"]["verdict"] == "passed"
    submit(root, truthful)
    result = pytester.runpytest(f"--backend-verify={SUBMITTED}")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    report = read_report(root)
    validate_report(report)
    section = report["verification"]
    assert section["source"] == SUBMITTED.as_posix()
    assert section["counts"]["failed"] == 0, [c for c in section["claims"] if c["status"] == "failed"]
    claims = claims_of(report)
    confirmed = [
        "backend-gate::verify[endpoint GET /api/books]",
        "backend-gate::verify[endpoint DELETE /api/books/{book_id}]",
        "backend-gate::verify[model Book]",
        "backend-gate::verify[model Loan]",
        "backend-gate::verify[migration alembic/versions/0001_books.py]",
        "backend-gate::verify[coverage coverage_percent]",
        "backend-gate::verify[coverage api_tests]",
        "backend-gate::verify[security authentication]",
        "backend-gate::verify[dependency fastapi]",
        "backend-gate::verify[dependency sqlalchemy]",
    ]
    assert {nodeid: claims[nodeid]["status"] for nodeid in confirmed} == dict.fromkeys(confirmed, "passed")
    # The packet declares no rate limit: the gate sent no burst, and the report (its own) claimed nothing.
    assert claims["backend-gate::verify[security rate_limiting]"]["status"] == "not verified"
    assert report["gate"]["families"]["verify"]["failed"] == 0
    # The rest of the report is the gate's own observation, as without --backend-verify.
    for section_name in (
        "api_endpoints_implemented",
        "data_models_created",
        "database_migrations",
        "dependencies_added",
        "security_measures",
    ):
        assert report[section_name] == truthful[section_name], section_name
    result.stdout.fnmatch_lines(
        [
            "verification of ARTIFACTS/qa/submitted-report.json: * claims: * confirmed, 0 contradicted, * not verified",
            "gate PASSED*",
        ]
    )

    # Without the quality family nothing measures coverage: its claims are not verified, never failed or passed.
    result = pytester.runpytest(f"--backend-verify={SUBMITTED}", "--backend-no-quality")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    claims = claims_of(read_report(root))
    coverage = claims["backend-gate::verify[coverage coverage_percent]"]
    assert coverage["status"] == "not verified"
    assert coverage["observation"].startswith("coverage was not measured: quality.coverage did not run")
    api_tests = claims["backend-gate::verify[coverage api_tests]"]
    assert api_tests["status"] == "not verified"
    assert "the totals agree: 4 (4 passed, 0 failed, 0 skipped)" in api_tests["observation"]


def lying(report: dict[str, Any]) -> dict[str, Any]:
    """``report`` with four false claims: an endpoint, a coverage figure, rate limiting and a migration."""
    report = json.loads(json.dumps(report))
    report["api_endpoints_implemented"].append(
        {
            "method": "GET",
            "path": "/api/loans",
            "description": "List loans",
            "authentication_required": True,
            "roles": [],
            "observed": {
                "answered_status": 200,
                "in_packet": False,
                "in_openapi": True,
                "authentication_observed": True,
            },
        }
    )
    report["testing_coverage"]["coverage_percent"] = 100.0
    report["security_measures"]["rate_limiting"] = "implemented"
    report["database_migrations"].append(
        {"path": "alembic/versions/0002_loans.py", "tool": "alembic", "revision": "0002"}
    )
    return report


FALSE_CLAIMS = {
    "backend-gate::verify[endpoint GET /api/loans]": "the in-process app has no route GET /api/loans; it routes ",
    "backend-gate::verify[coverage coverage_percent]": "measured 97.62%, 2.38 points less than claimed (passed: ",
    "backend-gate::verify[security rate_limiting]": "not implemented: no 429 after 25 requests from one client",
    "backend-gate::verify[migration alembic/versions/0002_loans.py]": "there is no file alembic/versions/0002_loans",
}


def rate_limited_packet() -> dict[str, Any]:
    """The library packet asking for 20 requests per 2 s per client (the fixture has no limiter)."""
    packet = library_packet()
    packet["non_functional"]["rate_limit"] = {"requests": 20, "window_seconds": 2}
    return packet


def test_false_claims_fail_by_name_side_by_side(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    root = project_with_files(gate_project, rate_limited_packet())
    submit(root, lying(gate_report(pytester, root)))
    result = pytester.runpytest(f"--backend-verify={SUBMITTED}", "--junitxml=junit.xml")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    # Claims are judged at session end, yet reach pytest's reporters like items: JUnit XML and the short summary.
    junit = ElementTree.parse(root / "junit.xml")  # noqa: S314 - written by this test's own run
    cases = {case.get("name"): case for case in junit.iter("testcase")}
    failed_cases = {n for n, case in cases.items() if n.startswith("verify[") and case.find("failure") is not None}
    assert {f"backend-gate::{name}" for name in failed_cases} == set(FALSE_CLAIMS)
    claim = cases["verify[security rate_limiting]"]
    properties = {p.get("name"): p.get("value") for p in claim.iter("property")}
    assert properties["status"] == "failed"
    assert "no 429" in str(claim.find("failure").get("message", "")) + str(claim.find("failure").text)
    result.stdout.fnmatch_lines(["FAILED backend-gate::verify[[]security rate_limiting] *"])
    report = read_report(root)
    validate_report(report)
    claims = claims_of(report)
    failed = {nodeid for nodeid, claim in claims.items() if claim["status"] == "failed"}
    assert failed == set(FALSE_CLAIMS)
    for nodeid, observed in FALSE_CLAIMS.items():
        assert observed in claims[nodeid]["observation"], claims[nodeid]
    assert claims["backend-gate::verify[security rate_limiting]"]["claim"] == "rate_limiting: implemented"
    assert report["verification"]["counts"]["failed"] == 4
    assert report["gate"]["verdict"] == "failed"
    assert (
        "verify failed on security rate_limiting: claims rate_limiting: implemented; observed: not implemented: "
        "no 429 after 25 requests from one client" in "\n".join(report["gate"]["reasons"])
    )
    # The gate's own sections still say what it observed, not what the report claimed.
    assert report["security_measures"]["rate_limiting"].startswith("not implemented")
    assert [m["path"] for m in report["database_migrations"]] == ["alembic/versions/0001_books.py"]
    result.stdout.fnmatch_lines(
        [
            "verification of ARTIFACTS/qa/submitted-report.json: * claims: * confirmed, 4 contradicted, *",
            "  FAILED backend-gate::verify[[]endpoint GET /api/loans]: claims GET /api/loans implemented "
            "(authentication_required: true); observed: the in-process app has no route GET /api/loans; *",
            "  FAILED backend-gate::verify[[]migration alembic/versions/0002_loans.py]: claims alembic migration "
            "alembic/versions/0002_loans.py (revision 0002); observed: there is no file *",
            "  FAILED backend-gate::verify[[]coverage coverage_percent]: claims coverage_percent: 100%; observed: "
            "measured 97.62%, 2.38 points less than claimed *",
            "  FAILED backend-gate::verify[[]security rate_limiting]: claims rate_limiting: implemented; observed: not "
            "implemented: no 429 after 25 requests from one client*",
            "gate FAILED*",
        ]
    )


def hand_written() -> dict[str, Any]:
    """A report written by hand, without the gate's section: two true endpoint claims and three false claims."""

    def endpoint(method: str, path: str, protected: bool) -> dict[str, Any]:
        observed = {"answered_status": 200, "in_packet": True, "in_openapi": True, "authentication_observed": True}
        return {"method": method, "path": path, "description": "", "authentication_required": protected,
                "observed": observed}  # fmt: skip

    tests = {"count": 4, "passed": 4, "failed": 0, "skipped": 0}
    none = {"count": 0, "passed": 0, "failed": 0, "skipped": 0}
    return {
        "api_endpoints_implemented": [
            endpoint("GET", "/api/health", False),
            endpoint("GET", "/api/books", True),
            endpoint("GET", "/api/loans", True),
        ],
        "data_models_created": [{"name": "Member", "table": "members", "fields": ["id"], "source": "by hand"}],
        "database_migrations": [],
        "external_integrations": [],
        "testing_coverage": {
            "unit_tests": none,
            "integration_tests": none,
            "api_tests": tests,
            "coverage_percent": 99.5,
            "coverage_status": "measured",
            "classification": "by hand",
        },
        "security_measures": {
            "authentication": "bearer tokens",
            "authorization": "role-based",
            "input_validation": "pydantic",
            "rate_limiting": "implemented",
        },
        "known_issues": [],
        "dependencies_added": [],
        "performance_notes": [],
    }


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {claim["nodeid"]: claim["status"] for claim in report["verification"]["claims"]}


def test_xdist_gives_the_same_verification(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    """A hand-written report (no gate section) judged serially and by two workers: the same result per claim."""
    root = gate_project(ini=FAST)
    submit(root, hand_written())
    serial = pytester.runpytest_subprocess(f"--backend-verify={SUBMITTED}")
    assert serial.ret == pytest.ExitCode.TESTS_FAILED, serial.stdout.str()
    expected = statuses(read_report(root))
    assert {nodeid for nodeid, status in expected.items() if status == "failed"} == {
        "backend-gate::verify[endpoint GET /api/loans]",
        "backend-gate::verify[model Member]",
        "backend-gate::verify[coverage coverage_percent]",
    }
    assert expected["backend-gate::verify[endpoint GET /api/books]"] == "passed"
    assert expected["backend-gate::verify[coverage api_tests]"] == "passed"
    assert expected["backend-gate::verify[security rate_limiting]"] == "not verified"
    (root / REPORT).unlink()
    distributed = pytester.runpytest_subprocess(f"--backend-verify={SUBMITTED}", "-n", "2")
    assert distributed.ret == pytest.ExitCode.TESTS_FAILED, distributed.stdout.str()
    assert statuses(read_report(root)) == expected
    distributed.stdout.fnmatch_lines(["  FAILED backend-gate::verify[[]model Member]: claims model Member *"])


def assert_usage_error(result: pytest.RunResult, *fragments: str) -> None:
    """Exit 4 with one ``ERROR:`` paragraph holding every fragment in order, no traceback."""
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = result.stderr.str()
    assert text.startswith("ERROR: "), text
    assert text.strip().count("\n") == 0, text
    position = 0
    for fragment in fragments:
        found = text.find(fragment, position)
        assert found >= 0, f"{fragment!r} not found after position {position} in:\n{text}"
        position = found + len(fragment)
    assert "Traceback" not in text + result.stdout.str()


def test_a_report_that_breaks_the_contract_is_refused(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    root = gate_project(ini=FAST)
    report = hand_written()
    report["api_endpoints_implemented"][1]["authentication_required"] = "yes"
    del report["security_measures"]["rate_limiting"]
    submit(root, report)
    result = pytester.runpytest(f"--backend-verify={SUBMITTED}")
    assert_usage_error(
        result,
        "submitted report ",
        "submitted-report.json (--backend-verify) does not match the report contract "
        "contracts/backend-output-schema.json: ",
        "$.api_endpoints_implemented[1].authentication_required: 'yes' is not of type 'boolean'",
        "$.security_measures: 'rate_limiting' is a required property",
        "docs/report-format.md",
    )
    assert not (root / REPORT).exists()
    assert not (root / "ARTIFACTS" / "system" / "stage-completion-signal.json").exists()


def test_a_missing_report_is_named(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    root = gate_project(ini=FAST)
    result = pytester.runpytest("--backend-verify=ARTIFACTS/qa/nowhere.json")
    assert_usage_error(result, "submitted report not found: ", "ARTIFACTS/qa/nowhere.json", "--backend-verify")
    assert not (root / REPORT).exists()


def test_the_ini_key_turns_the_gate_on(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    root = gate_project(ini={**FAST, "backend_verify": "ARTIFACTS/qa/nowhere.json"})
    assert_usage_error(pytester.runpytest(), "submitted report not found: ", "ARTIFACTS/qa/nowhere.json")
    result = pytester.runpytest("--backend-verify=")  # an empty option cancels the ini key: a plain run
    result.assert_outcomes(passed=4)
    assert not (root / REPORT).exists()


def test_the_submitted_report_is_never_overwritten(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    root = gate_project(ini=FAST)
    submitted = submit(root, hand_written())
    (root / REPORT).parent.mkdir(parents=True, exist_ok=True)
    submitted.rename(root / REPORT)
    before = (root / REPORT).read_bytes()
    result = pytester.runpytest(f"--backend-verify={REPORT}")
    assert_usage_error(result, "--backend-verify (ini backend_verify) names ", "also where the gate writes its own "
                       "report", "--backend-report=PATH")  # fmt: skip
    assert (root / REPORT).read_bytes() == before
