"""The gate logs in by itself: an OAuth2 password-flow form login (FastAPI's ``OAuth2PasswordRequestForm``) from
``BACKEND_AGENT_USER_<ROLE>`` / ``BACKEND_AGENT_PASSWORD_<ROLE>`` and ``backend_login = form``, with no conftest.

The clean app passes with zero findings; a defect is still found and its reproduction names the token variable;
a wrong password leaves the role not verified, naming the variable and the 401. The passwords and the tokens appear
in none of the outputs: terminal, report, SARIF, JUnit XML.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.backends import LIBRARIAN_TOKEN, MEMBER_TOKEN, read_report, validate_report
from tests.e2e.login_backends import LOGIN_ROLES, FormLoginProject
from tests.e2e.test_bad_input import assert_clean_error

pytestmark = pytest.mark.e2e

OUTPUTS = ("--backend-sarif=out/gate.sarif", "--junitxml=out/junit.xml", "-rA")


def secrets_in(root: Path, result: pytest.RunResult, *extra: str) -> list[str]:
    """Which passwords and tokens appear in the terminal output or in a file the gate wrote."""
    secrets = [MEMBER_TOKEN, LIBRARIAN_TOKEN, *extra]
    secrets += [os.environ[f"BACKEND_AGENT_PASSWORD_{role.upper()}"] for role in LOGIN_ROLES]
    written = [
        root / "ARTIFACTS" / "backend-engineer" / "backend-implementation-report.json",
        root / "out" / "gate.sarif",
        root / "out" / "junit.xml",
    ]
    texts = [result.stdout.str(), result.stderr.str(), *(path.read_text() for path in written if path.exists())]
    return [secret for secret in secrets if any(secret in text for text in texts)]


def test_a_form_login_passes_the_gate_with_no_conftest(
    pytester: pytest.Pytester, form_login_project: FormLoginProject
) -> None:
    root = form_login_project()
    assert not (root / "conftest.py").exists()
    result = pytester.runpytest("--backend-report", *OUTPUTS)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    report = read_report(root)
    validate_report(report)
    assert report["gate"]["verdict"] == "passed"
    assert report["gate"]["findings"] == []
    checks = {c["nodeid"]: c for c in report["gate"]["checks"]}
    for check in ("implemented", "auth", "status"):
        assert checks[f"backend-gate::{check}[POST /api/token]"]["status"] == "passed"
    assert "the login for credentials" in " ".join(checks["backend-gate::status[POST /api/token]"]["evidence"])
    protected = [c for c in checks.values() if c["family"] == "contract" and "books" in c["target"]]
    assert {c["status"] for c in protected} == {"passed"}  # both roles logged in
    assert secrets_in(root, result) == []


def test_a_defect_behind_the_login_is_found_and_reproduced_without_the_token(
    pytester: pytest.Pytester, form_login_project: FormLoginProject
) -> None:
    root = form_login_project("wrong_status")
    result = pytester.runpytest("--backend-report", *OUTPUTS, "-k", "contract")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = read_report(root)
    finding = next(f for f in report["gate"]["findings"] if f["check"] == "contract.status")
    assert finding["location"]["endpoint"] == "POST /api/books"
    assert '"Authorization: Bearer $BACKEND_AGENT_TOKEN_LIBRARIAN"' in finding["reproduction"]
    assert secrets_in(root, result) == []


def test_a_wrong_password_is_not_verified_naming_the_variable_and_the_401(
    pytester: pytest.Pytester, form_login_project: FormLoginProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app even repeats the wrong password in its 401: the reason shows it redacted."""
    wrong = "wrong-librarian-password-5521"
    monkeypatch.setenv("BACKEND_AGENT_PASSWORD_LIBRARIAN", wrong)
    root = form_login_project("echo_password")
    result = pytester.runpytest("--backend-report", *OUTPUTS, "-k", "contract and books")
    assert result.ret == pytest.ExitCode.OK  # nothing failed, nothing about the librarian passed
    report = read_report(root)
    checks = {c["nodeid"]: c for c in report["gate"]["checks"]}
    reason = (
        "logging in as role 'librarian' failed: POST /api/token with $BACKEND_AGENT_USER_LIBRARIAN and "
        "$BACKEND_AGENT_PASSWORD_LIBRARIAN answered 401 (wrong user or password?): "
        '{"detail":"wrong username or password: \'<redacted>\' is not the password of librarian@library.test"}'
    )
    status = checks["backend-gate::status[POST /api/books]"]
    assert status["status"] == "not verified"
    assert reason in status["summary"]
    assert checks["backend-gate::auth[GET /api/books]"]["status"] == "passed"  # the member logged in
    assert "Traceback" not in result.stdout.str()
    assert secrets_in(root, result, wrong) == []


def test_an_unknown_login_style_is_a_usage_error(
    pytester: pytest.Pytester, form_login_project: FormLoginProject
) -> None:
    root = form_login_project(ini={"backend_login": "xml"})
    result = pytester.runpytest("--backend-report")
    assert_clean_error(
        result, root, "*--backend-login (ini backend_login) must be json:email*json:username*form*got 'xml'*"
    )
