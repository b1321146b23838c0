"""The Markdown summary and the JUnit properties, built from outcomes (no pytest session)."""

from __future__ import annotations

from pathlib import Path

from pytest_backend_agent.findings import CheckOutcome, CheckStatus, Finding, Location, Severity
from pytest_backend_agent.report.junit import MAX_FINDINGS, junit_properties
from pytest_backend_agent.report.markdown import MAX_FAILURES, markdown_summary

ROOT = Path("/project")


def _finding(number: int, severity: Severity = Severity.ERROR, reproduction: str | None = None) -> Finding:
    return Finding(
        check="contract.status",
        category="contract",
        severity=severity,
        title=f"problem <{number}> | *x*",
        location=Location(endpoint=f"GET /items/{number}"),
        fix="do_this",
        reproduction=reproduction,
    )


def _outcome(status: CheckStatus, findings: list[Finding], family: str = "contract") -> CheckOutcome:
    return CheckOutcome(
        check="contract.status", family=family, target="GET /items", status=status, summary="summary", findings=findings
    )


def _summary(outcomes: list[CheckOutcome], verdict: str = "failed") -> str:
    return markdown_summary(
        outcomes,
        verdict=verdict,
        reasons=["r1", "r2", "r3", "r4"],
        report_path=ROOT / "out" / "report.json",
        signal_path=None,
        rootdir=ROOT,
        problem=None,
        fuzz_seed=42,
    )


def test_markdown_caps_long_lists_and_escapes() -> None:
    failing = _outcome(CheckStatus.FAILED, [_finding(n) for n in range(MAX_FAILURES + 3)])
    warned = _outcome(CheckStatus.PASSED, [_finding(99, Severity.WARNING)], family="security")
    text = _summary([failing, warned])
    assert text.startswith("## ❌ Backend gate failed\n\nr1; r2; r3; and 1 more\n")
    assert "| contract | 0 | **1** | 0 |\n| security | 1 | 0 | 0 |" in text
    assert f"### Failures ({MAX_FAILURES + 3})" in text
    assert text.count("  - fix: do\\_this") == MAX_FAILURES
    assert "- … and 3 more (see the report)" in text
    assert "- `contract.status` `GET /items/0`: problem \\<0\\> \\| \\*x\\*" in text
    assert "Warnings: 1 (listed in the report). fuzz seed 42 (replay with `--backend-fuzz-seed=42`)." in text
    assert text.endswith("Report: `out/report.json`\n")


def test_markdown_fences_a_reproduction_that_holds_backticks() -> None:
    curl = "curl -i http://127.0.0.1/x --data '```'"
    text = _summary([_outcome(CheckStatus.FAILED, [_finding(1, reproduction=curl)])])
    assert f"    ````sh\n    {curl}\n    ````\n" in text


def test_markdown_without_a_report() -> None:
    text = markdown_summary(
        [], verdict="failed", reasons=[], report_path=None, signal_path=None, rootdir=ROOT, problem="disk full"
    )
    assert "**Report NOT written**: disk full" in text


def test_junit_properties_are_short_and_capped() -> None:
    outcome = _outcome(CheckStatus.FAILED, [_finding(n) for n in range(MAX_FINDINGS + 2)])
    properties = junit_properties(outcome)
    names = [name for name, _ in properties]
    assert names[:5] == ["check", "target", "status", "summary", "findings"]
    assert dict(properties)["finding.1"] == "error problem <0> | *x* at GET /items/0"
    assert dict(properties)["finding.1.fix"] == "do_this"
    assert f"finding.{MAX_FINDINGS}" in names
    assert f"finding.{MAX_FINDINGS + 1}" not in names
    assert dict(properties)["findings.more"] == "2 more in the report"
    assert dict(properties)["findings"] == str(MAX_FINDINGS + 2)
