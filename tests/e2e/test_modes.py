"""The same verdicts over every way of reaching the backend, under xdist, and nothing at all when not asked."""

from __future__ import annotations

import json
import sys

import pytest

from tests.e2e.backends import GateProject, read_report, validate_report
from tests.e2e.servers import serving, uvicorn

pytestmark = pytest.mark.e2e


def test_plain_run_is_untouched(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    """No option: no gate items, no report, and nothing heavy imported."""
    root = gate_project(own_tests=False)
    pytester.makepyfile(
        test_plain="""
        import sys

        def test_light():
            heavy = {"schemathesis", "pydantic", "hypothesis", "httpx", "jsonschema", "pytest_backend_agent.gate"}
            assert heavy.isdisjoint(sys.modules), heavy & set(sys.modules)
    """
    )
    result = pytester.runpytest_subprocess("-p", "no:hypothesispytest", "-p", "no:schemathesis", "-p", "no:anyio")
    result.assert_outcomes(passed=1)
    assert "backend gate" not in result.stdout.str()
    assert not (root / "ARTIFACTS" / "backend-engineer").exists()


def test_disabled_plugin_leaves_the_conftest_working(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    gate_project(own_tests=False)
    pytester.makepyfile(test_plain="def test_one():\n    pass\n")
    result = pytester.runpytest("-p", "no:backend_agent", "-W", "ignore::pytest.PytestConfigWarning")
    result.assert_outcomes(passed=1)


def test_xdist_gives_one_identical_report(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    root = gate_project("no_auth")
    serial = pytester.runpytest_subprocess("--backend-report", "-p", "no:xdist")
    report_serial = read_report(root)
    distributed = pytester.runpytest_subprocess("--backend-report", "-n", "2")
    report_distributed = read_report(root)
    assert serial.ret == distributed.ret == pytest.ExitCode.TESTS_FAILED
    validate_report(report_distributed)

    def essence(report: dict) -> tuple:
        checks = sorted((c["nodeid"], c["status"]) for c in report["gate"]["checks"])
        # Titles may carry a status that depends on data the other worker created; the cause and place may not.
        issues = sorted(line.split(": ", 1)[0] for line in report["known_issues"])
        return report["gate"]["verdict"], checks, issues

    assert essence(report_serial) == essence(report_distributed)
    reports = list((root / "ARTIFACTS").rglob("*.json"))
    assert [p.name for p in reports if "report" in p.name] == ["backend-implementation-report.json"]


def test_server_started_by_the_gate(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    root = gate_project(
        ini={
            "backend_app": "",
            "backend_command": f"{sys.executable} -m uvicorn library_app.main:app --port {{port}} --log-level warning",
        }
    )
    result = pytester.runpytest("--backend-report")
    result.assert_outcomes(passed=49, skipped=8)  # over HTTP, performance.n_plus_one is not verified
    report = read_report(root)
    assert report["gate"]["backend"]["mode"] == "server started by the gate"
    assert report["gate"]["verdict"] == "passed"


def test_running_server_by_url(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    root = gate_project("wrong_status", ini={"backend_app": ""})
    with serving(uvicorn("library_app.main:app", "warning"), root) as url:
        port = url.rsplit(":", 1)[1]
        result = pytester.runpytest("--backend-report", f"--backend-url=http://localhost:{port}")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = read_report(root)
    assert any(
        line.startswith("[contract.status] POST /api/books: answers 200 where the packet says 201")
        for line in report["known_issues"]
    )
    assert json.dumps(report).count(f"http://localhost:{port}") >= 1
