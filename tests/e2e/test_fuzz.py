"""Fuzzing: each defect a fixture backend has is caught, named and reproducible; a clean backend gets nothing."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.e2e.backends import LIBRARIAN_TOKEN, MEMBER_TOKEN, GateProject, read_report, validate_report
from tests.e2e.servers import serving, uvicorn

pytestmark = pytest.mark.e2e

FUZZ = {"backend_fuzz_examples": "25", "backend_fuzz_seed": "7", "backend_no_fuzz": "false"}


def fuzz_issues(report: dict) -> list[str]:
    return [line for line in report["known_issues"] if line.startswith("[fuzz.operation]")]


@pytest.mark.parametrize(
    ("defect", "endpoint", "check"),
    [
        ("server_error", "GET /api/books/{book_id}", "not_a_server_error"),
        ("bad_response", "GET /api/books", "response_schema_conformance"),
        ("accepts_invalid", "POST /api/books", "negative_data_rejection"),
        ("auth_ignored", "GET /api/books", "ignored_auth"),
        ("wrong_status", "POST /api/books", "success_status"),
    ],
)
def test_fuzzing_finds_the_defect(
    pytester: pytest.Pytester, gate_project: GateProject, defect: str, endpoint: str, check: str
) -> None:
    root = gate_project(defect, ini=FUZZ)
    result = pytester.runpytest_subprocess("--backend-report", "-k", "fuzz")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = read_report(root)
    validate_report(report)
    assert any(endpoint in line and f": {check}:" in line for line in fuzz_issues(report)), report["known_issues"]
    finding = next(f for f in report["gate"]["findings"] if f["title"].startswith(check))
    assert finding["severity"] == "error"
    assert finding["reproduction"].startswith("curl ")
    assert "--backend-fuzz-seed=7" in finding["fix"]
    for secret in (MEMBER_TOKEN, LIBRARIAN_TOKEN):
        assert secret not in str(report)
        assert secret not in result.stdout.str()


def test_clean_backend_gets_no_fuzz_finding(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    root = gate_project(ini=FUZZ)
    result = pytester.runpytest_subprocess("--backend-report", "-k", "fuzz")
    # 5 operations and fuzz[undeclared] pass; quality.coverage/endpoint_tests: the own tests were deselected
    result.assert_outcomes(passed=6, skipped=2)
    report = read_report(root)
    assert report["gate"]["findings"] == []
    fuzzed = [c for c in report["gate"]["checks"] if c["check"] == "fuzz.operation" and c["target"] != "undeclared"]
    assert all(c["observations"]["fuzz_requests"] > 0 for c in fuzzed)
    assert report["security_measures"]["input_validation"].startswith("validated")


def test_same_seed_gives_the_same_findings(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    def findings() -> set[tuple[str, str, str]]:
        # The fixture keeps its data in memory and the gate imports it afresh per run: the same starting state.
        pytester.runpytest_subprocess("--backend-report", "-k", "fuzz")
        report = read_report(root)
        return {(f["location"]["endpoint"], f["title"], f["reproduction"]) for f in report["gate"]["findings"]}

    root = gate_project("accepts_invalid", ini=FUZZ)
    first = findings()
    assert first
    assert findings() == first


def test_seed_is_printed_and_stored(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    root = gate_project(ini={"backend_fuzz_seed": "", "backend_no_fuzz": "false"})
    result = pytester.runpytest_subprocess("--backend-report", "-k", "fuzz and health", "--backend-fuzz-seed=4242")
    result.stdout.fnmatch_lines(["*fuzz seed 4242*"])
    assert read_report(root)["gate"]["fuzz_seed"] == 4242


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_printed_curl_reproduces_against_the_live_server(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    root = gate_project("server_error", ini={**FUZZ, "backend_app": ""})
    with serving(uvicorn("library_app.main:app"), root) as url:
        pytester.runpytest_subprocess("--backend-report", f"--backend-url={url}", "-k", "fuzz")
        finding = next(f for f in read_report(root)["gate"]["findings"] if f["title"].startswith("not_a_server_error"))
        assert "$BACKEND_AGENT_TOKEN_" in finding["reproduction"]
        tokens = {"BACKEND_AGENT_TOKEN_MEMBER": MEMBER_TOKEN, "BACKEND_AGENT_TOKEN_LIBRARIAN": LIBRARIAN_TOKEN}
        env = {**os.environ, **tokens}
        answer = subprocess.run(  # noqa: S602 - the reproduction is a shell command by design
            finding["reproduction"] + " -s -o /dev/null -w '%{http_code}'",
            shell=True,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert answer.stdout == "500"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_ignored_auth_reproduction_is_the_request_without_credentials(
    pytester: pytest.Pytester, gate_project: GateProject
) -> None:
    root = gate_project("auth_ignored", ini={**FUZZ, "backend_app": ""})
    with serving(uvicorn("library_app.main:app"), root) as url:
        pytester.runpytest_subprocess("--backend-report", f"--backend-url={url}", "-k", "fuzz")
        findings = [f for f in read_report(root)["gate"]["findings"] if f["title"].startswith("ignored_auth")]
        assert findings
        answers = []
        for finding in findings:
            # what Schemathesis' probe sent: no credential at all, or its made-up invalid one; never the gate's
            assert "$BACKEND_AGENT_TOKEN_" not in finding["reproduction"]
            env = {k: v for k, v in os.environ.items() if not k.startswith("BACKEND_AGENT_TOKEN")}
            answers.append(
                subprocess.run(  # noqa: S602 - the reproduction is a shell command by design
                    finding["reproduction"] + " -s -o /dev/null -w '%{http_code}'",
                    shell=True,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=30,
                    check=False,
                ).stdout
            )
    # replayed after the gate's run, a create may now conflict (409) and a delete find nothing (404); what matters
    # is that the server answered without asking for credentials
    assert answers
    assert all(answer not in ("401", "403", "000", "") for answer in answers), answers
    assert any(answer.startswith("2") for answer in answers), answers


def test_xdist_spreads_operations_and_finds_the_same(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    root = gate_project("server_error", ini=FUZZ)

    def fuzz_findings(*args: str) -> set[tuple[str, str]]:
        pytester.runpytest_subprocess("--backend-report", "-k", "fuzz", *args)
        report = read_report(root)
        return {(f["location"]["endpoint"], f["title"]) for f in report["gate"]["findings"]}

    serial = fuzz_findings("-p", "no:xdist")
    assert serial == fuzz_findings("-n", "2")
    assert ("GET /api/books/{book_id}", "not_a_server_error: Server error") in serial


def test_which_checks_run_and_fail_is_configurable(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    root = gate_project("accepts_invalid", ini=FUZZ)
    # negative_data_rejection no longer fails the gate, but is still reported, as a warning
    pytester.runpytest_subprocess(
        "--backend-report",
        "-k",
        "fuzz and POST",
        "--backend-fuzz-fail-on=not_a_server_error,response_schema_conformance",
    )
    findings = read_report(root)["gate"]["findings"]
    assert {f["severity"] for f in findings if f["title"].startswith("negative_data_rejection")} == {"warning"}
    # skipped checks do not run at all
    pytester.runpytest_subprocess(
        "--backend-report", "-k", "fuzz and POST", "--backend-fuzz-skip-checks=negative_data_rejection"
    )
    findings = read_report(root)["gate"]["findings"]
    assert not [f for f in findings if f["title"].startswith("negative_data_rejection")]


def test_unknown_check_name_is_a_usage_error(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    gate_project(ini=FUZZ)
    result = pytester.runpytest("--backend-report", "--backend-fuzz-skip-checks=not_a_check")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "names unknown check(s) not_a_check; known checks: not_a_server_error" in result.stderr.str()
