"""A WSGI (Flask) backend without an OpenAPI document: the gate still routes, authenticates and judges."""

from __future__ import annotations

import pytest

from tests.e2e.backends import GateProject, read_report, validate_report

pytestmark = pytest.mark.e2e


def test_clean_flask_backend_has_no_failures(pytester: pytest.Pytester, flask_project: GateProject) -> None:
    root = flask_project()
    result = pytester.runpytest("--backend-report", "-rs")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    report = read_report(root)
    validate_report(report)
    statuses = {(c["check"], c["target"]): c["status"] for c in report["gate"]["checks"]}
    assert statuses[("contract.implemented", "DELETE /api/books/{book_id}")] == "passed"
    assert statuses[("contract.auth", "GET /api/books")] == "passed"
    assert statuses[("contract.status", "GET /api/books")] == "passed"
    # Without an OpenAPI document no request body can be formed, so what needs one is honestly not verified.
    assert statuses[("contract.status", "POST /api/books")] == "not verified"
    assert statuses[("contract.status", "DELETE /api/books/{book_id}")] == "not verified"
    assert statuses[("contract.undeclared", "openapi")] == "not verified"
    assert "passed" not in {c["status"] for c in report["gate"]["checks"] if c["check"] == "contract.undeclared"}
    assert report["gate"]["findings"] == []


def test_flask_backend_ignoring_auth_fails(pytester: pytest.Pytester, flask_project: GateProject) -> None:
    root = flask_project("no_auth")
    result = pytester.runpytest("--backend-report")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    issues = read_report(root)["known_issues"]
    assert any(i.startswith("[contract.auth] GET /api/books") and "protected endpoint answers 200" in i for i in issues)
