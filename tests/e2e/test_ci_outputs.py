"""Outputs a CI job shows people: the Markdown summary (a file and $GITHUB_STEP_SUMMARY), JUnit XML properties,
and the stage-completion signal only on a passing gate."""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405 - parsing the XML pytest itself just wrote
from pathlib import Path

import pytest

from tests.e2e.backends import LIBRARIAN_TOKEN, MEMBER_TOKEN, GateProject

pytestmark = pytest.mark.e2e

SIGNAL = Path("ARTIFACTS") / "system" / "stage-completion-signal.json"


def _properties(junit: Path) -> dict[str, dict[str, str]]:
    """Each backend-gate testcase's properties, by testcase name."""
    tree = ET.parse(junit)  # noqa: S314 - pytest's own output
    found = {}
    for case in tree.iter("testcase"):
        if case.get("classname") == "backend-gate":
            found[str(case.get("name"))] = {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
    return found


def test_passing_gate_markdown_to_a_file_and_the_step_summary(
    pytester: pytest.Pytester, gate_project: GateProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = gate_project()
    step_summary = root / "step-summary.md"
    step_summary.write_text("## an earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    result = pytester.runpytest("--backend-report", "--backend-markdown=out/summary.md")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["markdown summary: out/summary.md"])
    markdown = (root / "out" / "summary.md").read_text()
    assert markdown.startswith("## ✅ Backend gate passed\n")
    assert "| family | passed | failed | not verified |" in markdown
    assert "| contract | 16 | 0 | 0 |" in markdown
    assert "### Failures" not in markdown
    assert "### Not verified (6)" in markdown  # fuzzing is off; no SQL for the N+1 check to count
    assert "Warnings: 0." in markdown
    assert (
        "Report: `ARTIFACTS/backend-engineer/backend-implementation-report.json`; "
        "stage-completion signal: `ARTIFACTS/system/stage-completion-signal.json`" in markdown
    )
    assert step_summary.read_text() == "## an earlier step\n" + markdown + "\n"
    assert (root / SIGNAL).is_file()


def test_an_output_that_cannot_be_written_is_named_and_the_report_stands(
    pytester: pytest.Pytester, gate_project: GateProject
) -> None:
    root = gate_project()
    (root / "taken").mkdir()  # a folder where the Markdown file should go: the write fails
    result = pytester.runpytest("--backend-report", "--backend-markdown=taken", "--backend-sarif=out/gate.sarif")
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    result.stdout.fnmatch_lines(
        [
            "gate PASSED*",
            "report: ARTIFACTS/backend-engineer/backend-implementation-report.json",
            "--backend-markdown taken NOT written: * (no stage-completion signal)",
        ]
    )
    assert "report NOT written" not in result.stdout.str()
    assert "stage-completion signal:" not in result.stdout.str()
    assert (root / "ARTIFACTS" / "backend-engineer" / "backend-implementation-report.json").is_file()
    assert (root / "out" / "gate.sarif").is_file()
    assert not (root / SIGNAL).exists()


def test_failing_gate_markdown_and_junit_properties(
    pytester: pytest.Pytester, gate_project: GateProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = gate_project("no_auth")
    step_summary = root / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    (root / SIGNAL).parent.mkdir(parents=True)
    (root / SIGNAL).write_text("{}")  # a stale signal from an earlier passing run
    result = pytester.runpytest("--backend-report", "--backend-markdown=summary.md", "--junitxml=junit.xml")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert not (root / SIGNAL).exists()

    markdown = (root / "summary.md").read_text()
    assert markdown == step_summary.read_text().removesuffix("\n")
    assert markdown.startswith("## ❌ Backend gate failed\n")
    assert "| contract | 12 | **4** | 0 |" in markdown
    assert "| security | 11 | **6** | 0 |" in markdown
    assert "; and 7 more\n" in markdown  # the reasons are capped: the failures follow
    assert "### Failures (10)" in markdown
    assert (
        "- `contract.auth` `GET /api/books`: protected endpoint answers 200 without credentials\n"
        "  - fix: Require authentication on this route (an auth dependency, decorator or middleware), as the packet "
        "says.\n"
        "  - reproduce:\n"
        "    ```sh\n"
        "    curl -i -X GET http://127.0.0.1:8000/api/books\n"
        "    ```\n"
    ) in markdown
    assert "- … and 2 more (see the report)" in markdown  # capped for a PR comment
    assert len(markdown.splitlines()) < 100
    assert "Report: `ARTIFACTS/backend-engineer/backend-implementation-report.json`\n" in markdown
    assert "stage-completion signal" not in markdown
    for secret in (MEMBER_TOKEN, LIBRARIAN_TOKEN):
        assert secret not in markdown

    properties = _properties(root / "junit.xml")
    auth = properties["auth[GET /api/books]"]
    assert auth["check"] == "contract.auth"
    assert auth["target"] == "GET /api/books"
    assert auth["status"] == "failed"
    assert auth["finding.1"] == "error protected endpoint answers 200 without credentials at GET /api/books"
    assert auth["finding.1.fix"]
    assert properties["implemented[GET /api/books]"]["status"] == "passed"
    assert properties["implemented[GET /api/books]"]["findings"] == "0"
    assert properties["fuzz[GET /api/books]"]["status"] == "not verified"  # a skipped testcase keeps its properties
    assert all("backend_gate" not in props for props in properties.values())  # no JSON blob
    junit_text = (root / "junit.xml").read_text()
    for secret in (MEMBER_TOKEN, LIBRARIAN_TOKEN):
        assert secret not in junit_text


def test_junit_properties_under_xdist(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    """Workers send the outcome JSON; the controller's junitxml still gets readable properties."""
    root = gate_project("wrong_status")
    result = pytester.runpytest_subprocess("--backend-report", "-n", "2", "--junitxml=junit.xml", "-m", "contract")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    status = _properties(root / "junit.xml")["status[POST /api/books]"]
    assert status["status"] == "failed"
    assert status["finding.1"] == "error answers 200 where the packet says 201 at POST /api/books"
    assert not (root / SIGNAL).exists()
