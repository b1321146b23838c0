"""Any language over HTTP: a Node.js server (standard library only) is gated like a Python one, both ways.

The gate starts ``node server.js`` itself (the port in ``PORT``), logs in through the packet's ``token_endpoint``
(``POST /api/login``) from ``BACKEND_AGENT_USER_<ROLE>`` / ``BACKEND_AGENT_PASSWORD_<ROLE>`` with no Python file in the
project, and runs the contract, fuzzing (default phases), performance and security families over HTTP.
The clean server gets no finding at all, so any finding on it would be a false alarm of the gate; each defect is
named at its endpoint, and the fuzzing finding's printed ``curl`` reproduces it against a fresh server.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.backends import read_report, validate_report
from tests.e2e.node_backend import NODE_USERS, NodeProject, login, require_node
from tests.e2e.servers import serving

pytestmark = pytest.mark.e2e

STATIC = ("security.bandit", "security.secrets", "security.password_hashing", "security.http_timeouts")


def checks_of(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The report's checks by node id."""
    return {check["nodeid"]: check for check in report["gate"]["checks"]}


def passwords() -> list[str]:
    """The users' passwords the fixture put in the environment (they must never reach the output)."""
    return [os.environ[password] for _, _, password in NODE_USERS]


def test_clean_node_server_passes_the_whole_gate(pytester: pytest.Pytester, node_project: NodeProject) -> None:
    root = node_project()
    assert not list(root.glob("*.py"))  # no conftest: the gate logs in by itself
    result = pytester.runpytest_subprocess("--backend-report")
    # not verified: performance.n_plus_one x2 (SQL is counted in-process only), the 4 static security scanners
    result.assert_outcomes(passed=38, skipped=6)
    report = read_report(root)
    validate_report(report)
    gate = report["gate"]
    assert gate["verdict"] == "passed"
    assert gate["backend"] == {"mode": "server started by the gate", "target": "node server.js"}
    assert gate["findings"] == []
    assert report["known_issues"] == []
    checks = checks_of(report)
    fuzzed = [c for c in checks.values() if c["check"] == "fuzz.operation" and c["target"] != "undeclared"]
    assert len(fuzzed) == 5
    for check in fuzzed:
        assert check["status"] == "passed", check["summary"]
        assert check["observations"]["fuzz_requests"] > 0
    phases = {phase for c in fuzzed for phase, sent in c["observations"]["by_phase"].items() if sent}
    assert phases == {"coverage", "fuzzing"}  # the document has no examples for the first phase to send
    assert {c["status"] for c in checks.values() if c["family"] in ("contract", "fuzz")} == {"passed"}
    # Quality is off (no Python code): nothing says coverage or static checks passed.
    assert not [c for c in checks.values() if c["family"] == "quality"]
    coverage = report["testing_coverage"]
    assert coverage["coverage_percent"] is None
    off = "did not run (--backend-no-quality turned quality off)"
    assert coverage["coverage_status"] == f"not verified: quality.coverage {off}"
    assert coverage["endpoint_tests_status"] == f"not verified: quality.endpoint_tests {off}"
    assert {c["status"] for c in checks.values() if c["check"] in STATIC} == {"not verified"}
    measures = report["security_measures"]
    assert measures["authentication"].startswith("enforced")
    assert measures["authorization"].startswith("role-based")
    assert measures["input_validation"].startswith("validated")
    written = (root / "ARTIFACTS" / "backend-engineer" / "backend-implementation-report.json").read_text()
    for secret in passwords():
        assert secret not in result.stdout.str()
        assert secret not in written


def test_a_wrong_password_leaves_the_role_not_verified(
    pytester: pytest.Pytester, node_project: NodeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The editor cannot log in: what only an editor may call is not verified, naming the variable and the 401."""
    wrong = "not-the-editors-password"
    monkeypatch.setenv("BACKEND_AGENT_PASSWORD_EDITOR", wrong)
    root = node_project()
    result = pytester.runpytest_subprocess("--backend-report", "-rs", "-k", "contract and items")
    assert result.ret == pytest.ExitCode.OK  # not verified is never a failure, and never a pass
    report = read_report(root)
    validate_report(report)
    checks = checks_of(report)
    reason = (
        "logging in as role 'editor' failed: POST /api/login with $BACKEND_AGENT_USER_EDITOR and "
        "$BACKEND_AGENT_PASSWORD_EDITOR answered 401 (wrong user or password?)"
    )
    posting = [c for c in checks.values() if c["target"] == "POST /api/items" and c["check"] != "contract.implemented"]
    assert {c["status"] for c in posting} == {"not verified"}
    for check in posting:  # the reason is the summary, or an evidence line under a summary of its own
        assert reason in " ".join([check["summary"], *check["evidence"]]), check
    listing = checks["backend-gate::auth[GET /api/items]"]
    assert listing["status"] == "passed"  # the reader logged in
    # an item only an editor can create: the reader's read of one says why no item existed to read
    fetched = checks["backend-gate::status[GET /api/items/{item_id}]"]
    assert any(
        line.startswith(
            "could not create a resource through POST /api/items to refer to: no credentials for role "
            "'editor' (logging in as role 'editor' failed"
        )
        for line in fetched["evidence"]
    ), fetched["evidence"]
    assert "Traceback" not in result.stdout.str()
    result.stdout.fnmatch_lines([f"*{reason}*"])
    for secret in [wrong, *passwords()]:
        assert secret not in result.stdout.str()
        assert secret not in json.dumps(report)


def test_a_conftest_hook_is_asked_before_the_login_variables(
    pytester: pytest.Pytester, node_project: NodeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The conftest a Node project needed before still works, and wins: the variables' wrong password is not used."""
    monkeypatch.setenv("BACKEND_AGENT_PASSWORD_EDITOR", "not-the-editors-password")
    root = node_project(conftest=True)
    result = pytester.runpytest_subprocess("--backend-report", "-k", "contract and items")
    result.assert_outcomes(passed=9)
    assert {c["status"] for c in checks_of(read_report(root)).values()} == {"passed"}


@pytest.mark.parametrize(
    ("defect", "expected"),
    [
        pytest.param(
            "qty_unchecked",
            {("fuzz.operation", "POST /api/items", "negative_data_rejection")},
            id="accepts-qty-above-maximum",
        ),
        pytest.param(
            "auth_ignored",
            {
                ("contract.auth", "GET /api/items", "protected endpoint answers 200 without credentials"),
                ("fuzz.operation", "GET /api/items", "ignored_auth"),
                ("security.authn", "GET /api/items", "no credentials is accepted"),
            },
            id="answers-without-a-token",
        ),
        pytest.param(
            "stack_trace",
            {
                ("fuzz.operation", "GET /api/items/{item_id}", "not_a_server_error"),
                ("fuzz.operation", "POST /api/items", "not_a_server_error"),
                ("security.leakage", "GET /api/items/{item_id}", "the 500 body reveals a stack trace"),
                ("security.leakage", "POST /api/items", "the 500 body reveals a stack trace"),
            },
            id="500-with-a-stack-trace",
        ),
    ],
)
def test_each_defect_is_named_at_its_endpoint(
    pytester: pytest.Pytester, node_project: NodeProject, defect: str, expected: set[tuple[str, str, str]]
) -> None:
    root = node_project(defect)
    result = pytester.runpytest_subprocess("--backend-report")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = read_report(root)
    validate_report(report)
    assert report["gate"]["verdict"] == "failed"
    errors = {
        (f["check"], f["location"]["endpoint"], f["title"])
        for f in report["gate"]["findings"]
        if f["severity"] == "error"
    }
    for check, endpoint, title in expected:
        assert any(e[:2] == (check, endpoint) and e[2].startswith(title) for e in errors), (check, endpoint, errors)
    # Only the defect's endpoints are accused.
    accused = {endpoint for _, endpoint, _ in errors}
    assert accused <= {endpoint for _, endpoint, _ in expected} | {"POST /api/login"}, accused
    for secret in passwords():
        assert secret not in result.stdout.str()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_printed_curl_reproduces_against_a_fresh_server(
    pytester: pytest.Pytester, node_project: NodeProject, tmp_path: Path
) -> None:
    root = node_project("qty_unchecked")
    pytester.runpytest_subprocess("--backend-report", "-k", "fuzz and POST and items")
    finding = next(f for f in read_report(root)["gate"]["findings"] if f["title"].startswith("negative_data_rejection"))
    reproduction = finding["reproduction"]
    assert reproduction.startswith("curl ")
    assert '"Authorization: Bearer $BACKEND_AGENT_TOKEN_EDITOR"' in reproduction  # the credential is never printed
    with serving([require_node(), "server.js"], root, health="/api/health", quiet=True) as base:
        command = reproduction.replace(reproduction.split()[-1], f"{base}/api/items")  # the fresh server's address
        answer = subprocess.run(  # noqa: S602 - the reproduction is a shell command by design
            command + " -s -w '\\n%{http_code}'",
            shell=True,
            env={**os.environ, "BACKEND_AGENT_TOKEN_EDITOR": login(base, "editor")},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    body, _, status = answer.stdout.rpartition("\n")
    assert status == "201", answer
    assert '"qty":' in body


def test_static_scanners_on_a_node_source(pytester: pytest.Pytester, node_project: NodeProject) -> None:
    """Pointed at JavaScript, the Python-only scanners say so (never "passed"); the secret scan reads server.js."""
    root = node_project(ini={"backend_src": "."})
    clean = pytester.runpytest_subprocess("--backend-report", "-k", "security and static")
    clean.assert_outcomes(passed=1, skipped=3)
    checks = {c["check"]: c for c in read_report(root)["gate"]["checks"]}
    for check in ("security.bandit", "security.password_hashing", "security.http_timeouts"):
        assert checks[check]["status"] == "not verified"
        assert checks[check]["summary"].startswith("no Python file under . (tests excluded)")
    assert checks["security.secrets"]["status"] == "passed"

    server = root / "server.js"
    key = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
    server.write_text(server.read_text().replace("const MAX_BODY", f"const STRIPE_KEY = '{key}';\nconst MAX_BODY"))
    leaky = pytester.runpytest_subprocess("--backend-report", "-k", "security and static")
    leaky.assert_outcomes(failed=1, skipped=3)
    report = read_report(root)
    finding = next(f for f in report["gate"]["findings"] if f["check"] == "security.secrets")
    assert (finding["title"], finding["location"]["file"]) == ("Stripe secret key in the source", "server.js")
    assert key not in leaky.stdout.str()
