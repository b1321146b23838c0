"""Inline suppressions over time, end to end: ``until`` dates, malformed dates and unknown check ids in
``# backend-gate: ignore[...]`` comments on the security fixture backend (bandit and the hashing scan)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.backends import read_report, validate_report
from tests.e2e.security_backends import SecurityProject

pytestmark = pytest.mark.e2e

QUERY_LINE = "    rows = DB.execute(\"SELECT title FROM titles WHERE title = '%s'\" % q).fetchall()"
"""The line of the ``sql_injection`` fixture bandit flags (B608)."""
MD5_LINE = "    return hashlib.md5(password.encode()).hexdigest()"
"""The line of the ``md5_passwords`` fixture that bandit (B324) and ``security.password_hashing`` flag."""


def _comment_above(root: Path, line: str, comment: str) -> int:
    """Put ``comment`` on its own line above ``line`` in sec_app/main.py; return the comment's line number."""
    app = root / "sec_app" / "main.py"
    text = app.read_text()
    assert line in text
    indent = line[: len(line) - len(line.lstrip())]
    app.write_text(text.replace(line, f"{indent}{comment}\n{line}"))
    return app.read_text().splitlines().index(f"{indent}{comment}") + 1


def _findings(report: dict[str, Any], check: str = "security.bandit") -> list[dict[str, Any]]:
    return [f for f in report["gate"]["findings"] if f["check"] == check]


def _status(report: dict[str, Any], check: str) -> str:
    return str(next(c for c in report["gate"]["checks"] if c["check"] == check)["status"])


def test_an_unexpired_until_suppresses_and_says_until_when(
    pytester: pytest.Pytester, security_project: SecurityProject
) -> None:
    root = security_project("sql_injection")
    _comment_above(root, QUERY_LINE, "# backend-gate: ignore[security.bandit] until 2999-01-01: q is matched first")
    result = pytester.runpytest("--backend-report", "-k", "bandit", "--backend-sarif=gate.sarif")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    result.stdout.fnmatch_lines(["1 finding accepted by baseline/inline suppressions (0 baseline, 1 inline*"])
    report = read_report(root)
    validate_report(report)
    assert _status(report, "security.bandit") == "passed"
    (finding,) = _findings(report)
    assert finding["accepted"] == {"by": "inline", "reason": "q is matched first", "expires": "2999-01-01"}
    assert finding["expired_acceptance"] is None
    (sarif_result,) = json.loads((root / "gate.sarif").read_text())["runs"][0]["results"]
    assert sarif_result["suppressions"][0]["properties"] == {"expires": "2999-01-01"}


def test_an_expired_until_fails_the_gate_with_the_finding_marked_expired(
    pytester: pytest.Pytester, security_project: SecurityProject
) -> None:
    root = security_project("sql_injection")
    _comment_above(root, QUERY_LINE, "# backend-gate: ignore[security.bandit] until 2020-06-30: q is matched first")
    result = pytester.runpytest("--backend-report", "-k", "bandit", "--backend-sarif=gate.sarif")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*?security.bandit] sec_app/main.py:*(its inline acceptance expired on 2020-06-30)"])
    report = read_report(root)
    validate_report(report)
    assert report["gate"]["verdict"] == "failed"
    assert _status(report, "security.bandit") == "failed"
    (finding,) = _findings(report)
    assert finding["accepted"] is None
    assert finding["expired_acceptance"] == {"by": "inline", "reason": "q is matched first", "expires": "2020-06-30"}
    sarif = json.loads((root / "gate.sarif").read_text())
    (sarif_result,) = sarif["runs"][0]["results"]
    assert "suppressions" not in sarif_result
    assert "(its inline acceptance expired on 2020-06-30)" in sarif_result["message"]["text"]


def test_a_malformed_until_date_warns_at_the_comment_and_suppresses_nothing(
    pytester: pytest.Pytester, security_project: SecurityProject
) -> None:
    root = security_project("sql_injection")
    line = _comment_above(root, QUERY_LINE, "# backend-gate: ignore[security.bandit] until 30/06/2099: reviewed")
    result = pytester.runpytest("--backend-report", "-k", "bandit")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "warnings (1):",
            f"  ?security.bandit] sec_app/main.py:{line}: backend-gate: ignore[[]...] comment with a malformed "
            "'until' date suppresses nothing",
        ]
    )
    report = read_report(root)
    validate_report(report)
    bandit, warning = _findings(report)
    assert bandit["accepted"] is None
    assert bandit["location"]["line"] == line + 1
    assert warning["severity"] == "warning"
    assert warning["location"] == {"endpoint": None, "model": None, "file": "sec_app/main.py", "line": line}
    assert "'until 30/06/2099'" in warning["evidence"]


def test_a_typo_in_a_check_id_warns_with_the_suggestion(
    pytester: pytest.Pytester, security_project: SecurityProject
) -> None:
    root = security_project("sql_injection")
    line = _comment_above(root, QUERY_LINE, "# backend-gate: ignore[security.bandt] q is matched first")
    result = pytester.runpytest("--backend-report", "-k", "bandit")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "failed:",
            "  ?security.bandit] sec_app/main.py:*: bandit B608*",
            "warnings (1):",
            f"  ?security.bandit] sec_app/main.py:{line}: backend-gate: ignore[[]...] names 'security.bandt', which is "
            "not a check id of the gate (did you mean 'security.bandit'?)",
        ]
    )
    report = read_report(root)
    validate_report(report)
    bandit, warning = _findings(report)
    assert bandit["accepted"] is None
    assert warning["location"]["line"] == line
    assert warning["fix"].startswith("Write 'security.bandit' in the brackets")
    assert any("did you mean 'security.bandit'?" in issue for issue in report["known_issues"])

    # An xdist worker judges the item with the same registry.
    assert pytester.runpytest_subprocess("--backend-report", "-k", "bandit", "-n", "2").ret == result.ret
    assert _findings(read_report(root)) == [bandit, warning]


def test_correct_ids_add_no_finding_and_suppress_every_check_they_name(
    pytester: pytest.Pytester, security_project: SecurityProject
) -> None:
    """No false alarm: two static checks flag the same line; one comment with both ids (and an id of a check that
    does not run here) accepts both findings and adds nothing."""
    root = security_project("md5_passwords")
    failed = pytester.runpytest("--backend-report", "-k", "security-static")
    assert failed.ret == pytest.ExitCode.TESTS_FAILED
    flagged = {f["check"] for f in read_report(root)["gate"]["findings"]}
    assert flagged == {"security.bandit", "security.password_hashing"}

    comment = (
        "# backend-gate: ignore[security.password_hashing, security.bandit, quality.ruff] until 2999-01-01: "
        "legacy accounts, rehashed at next login"
    )
    _comment_above(root, MD5_LINE, comment)
    result = pytester.runpytest("--backend-report", "-k", "security-static")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    assert "warnings (" not in result.stdout.str()
    report = read_report(root)
    validate_report(report)
    findings = report["gate"]["findings"]
    assert {f["check"] for f in findings} == flagged
    assert all(f["accepted"]["expires"] == "2999-01-01" for f in findings)
    assert not [f for f in findings if f["severity"] == "warning"]


def test_the_clean_project_with_comments_stays_clean(
    pytester: pytest.Pytester, security_project: SecurityProject
) -> None:
    """Comments with known ids, even expired ones, where nothing is flagged add nothing to a clean project."""
    root = security_project()
    _comment_above(root, "def hash_password(", "# backend-gate: ignore[security.password_hashing] until 2999-01-01: ok")
    _comment_above(root, "    rows = DB.execute(", "# backend-gate: ignore[security.bandit] until 2020-01-01: was ok")
    _comment_above(root, "    return requests.post(", "# backend-gate: ignore[security.http_timeouts] a reason")
    result = pytester.runpytest("--backend-report", "-k", "security-static")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    report = read_report(root)
    validate_report(report)
    assert report["gate"]["findings"] == []
    assert {_status(report, c) for c in ("security.bandit", "security.password_hashing")} == {"passed"}
