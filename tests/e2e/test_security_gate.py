"""The security family end to end: the clean fixture passes with zero findings; each defect is caught and placed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.backends import PACKET_PATH, read_report, validate_report
from tests.e2e.security_backends import SecurityProject, render_app

pytestmark = pytest.mark.e2e

SARIF_SCHEMA = Path(__file__).parents[1] / "schemas" / "sarif-schema-2.1.0.json"


def _line_of(defect: str, marker: str) -> int:
    """The 1-based line of the fixture app (with ``defect``) that contains ``marker``."""
    lines = render_app(defect).splitlines()
    return next(index for index, line in enumerate(lines, start=1) if marker in line)


def _validate_sarif(document: dict[str, Any]) -> None:
    from jsonschema import Draft4Validator

    Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(document)


def test_clean_fixture_passes_with_zero_findings_and_says_what_it_saw(
    pytester: pytest.Pytester, security_project: SecurityProject
) -> None:
    root = security_project()
    result = pytester.runpytest("--backend-report", "--backend-sarif", "out/gate.sarif")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    result.stdout.fnmatch_lines(["*= backend gate =*", "security*19*0*0", "gate PASSED*"])
    report = read_report(root)
    validate_report(report)
    assert report["gate"]["findings"] == []
    judged = [c for c in report["gate"]["checks"] if c["family"] not in ("fuzz", "performance")]
    statuses = {(c["check"], c["target"]): c["status"] for c in judged}
    assert set(statuses.values()) == {"passed"}
    # the fixture keeps its books in a dict and sqlite3: no SQLAlchemy statement to count, so N+1 is not verified
    assert {c["status"] for c in report["gate"]["checks"] if c["family"] == "performance"} <= {"passed", "not verified"}
    assert statuses[("security.rate_limit", "burst")] == "passed"
    measures = report["security_measures"]
    assert measures["authentication"] == "JWT"
    assert measures["rate_limiting"] == "implemented"
    assert measures["authorization"].startswith("role-based")
    sarif = json.loads((root / "out" / "gate.sarif").read_text())
    _validate_sarif(sarif)
    assert sarif["runs"][0]["results"] == []


STATIC = [
    ("hard_coded_secret", "security.secrets", "Zq8-hard-coded"),
    ("md5_passwords", "security.password_hashing", "hashlib.md5("),
    ("no_timeout", "security.http_timeouts", "requests.post(url, json=payload)"),
]


@pytest.mark.parametrize(("defect", "check", "marker"), STATIC)
def test_static_defect_is_caught_at_its_line(
    pytester: pytest.Pytester, security_project: SecurityProject, defect: str, check: str, marker: str
) -> None:
    root = security_project(defect)
    result = pytester.runpytest("--backend-report", "-k", "security-static")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = read_report(root)
    validate_report(report)
    found = [f for f in report["gate"]["findings"] if f["check"] == check]
    assert found, report["gate"]["findings"]
    assert found[0]["category"] == "security"
    assert found[0]["severity"] == "error"
    assert found[0]["location"]["file"] == "sec_app/main.py"
    assert found[0]["location"]["line"] == _line_of(defect, marker)
    assert "Zq8-hard-coded-signing-key" not in json.dumps(report)  # a secret is shown masked, never whole


LIVE = [
    ("no_auth", "security.authn", "GET /api/books", "no credentials is accepted"),
    ("role_through", "security.rbac", "DELETE /api/books/{book_id}", "role 'member' gets through"),
    ("alg_none", "security.authn", "GET /api/books", "an alg:none JWT is accepted"),
    ("expired_accepted", "security.authn", "GET /api/books", "an expired JWT is accepted"),
    ("cors_reflect", "security.cors", "GET /api/books", "CORS reflects any origin with credentials"),
    ("stack_trace", "security.leakage", "GET /api/books/{book_id}", "the 500 body reveals a stack trace"),
    ("sql_injection", "security.injection", "GET /api/search", "payload in query q causes a server error"),
    ("no_rate_limit", "security.rate_limit", "GET /api/health", "no rate limit while the packet asks for one"),
]


@pytest.mark.parametrize(("defect", "check", "endpoint", "words"), LIVE)
def test_live_defect_is_caught_on_its_endpoint(
    pytester: pytest.Pytester, security_project: SecurityProject, defect: str, check: str, endpoint: str, words: str
) -> None:
    root = security_project(defect)
    result = pytester.runpytest("--backend-report", "-m", "security", "--backend-sarif", "gate.sarif")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = read_report(root)
    validate_report(report)
    found = [f for f in report["gate"]["findings"] if f["check"] == check and f["location"]["endpoint"] == endpoint]
    assert found, report["gate"]["findings"]
    assert found[0]["category"] == "security"
    assert words in found[0]["title"]
    failed = {c["check"] for c in report["gate"]["checks"] if c["status"] == "failed"}
    assert check in failed
    assert failed <= {check, "security.bandit"}, failed  # bandit also flags the formatted SQL string
    sarif = json.loads((root / "gate.sarif").read_text())
    _validate_sarif(sarif)
    located = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == check]
    place = located[0]["locations"][0]["physicalLocation"]
    assert place["artifactLocation"]["uri"] == "sec_app/main.py"  # the route handler, resolved in-process
    assert place["region"]["startLine"] > 1


def test_security_measures_say_what_failed(pytester: pytest.Pytester, security_project: SecurityProject) -> None:
    root = security_project("no_rate_limit")
    pytester.runpytest("--backend-report", "-k", "rate-limit or authn")
    measures = read_report(root)["security_measures"]
    assert measures["rate_limiting"].startswith("not implemented: no 429 after 65 requests")
    assert measures["authentication"] == "JWT"


def test_sarif_places_static_findings_at_file_and_line(
    pytester: pytest.Pytester, security_project: SecurityProject
) -> None:
    root = security_project("md5_passwords")
    pytester.runpytest("--backend-report", "-k", "security-static", "--backend-sarif", "gate.sarif")
    sarif = json.loads((root / "gate.sarif").read_text())
    _validate_sarif(sarif)
    run = sarif["runs"][0]
    assert run["tool"]["driver"]["name"] == "pytest-backend-agent"
    hashing = [r for r in run["results"] if r["ruleId"] == "security.password_hashing"]
    assert hashing[0]["level"] == "error"
    assert hashing[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == _line_of(
        "md5_passwords", "hashlib.md5("
    )
    assert {rule["id"] for rule in run["tool"]["driver"]["rules"]} == {r["ruleId"] for r in run["results"]}


def test_the_limiter_does_not_change_the_other_verdicts(
    pytester: pytest.Pytester, security_project: SecurityProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 60-per-minute limiter on, then off: every verdict is the same except the rate-limit check's."""
    root = security_project()

    def verdicts() -> dict[str, str]:
        pytester.runpytest("--backend-report")
        return {c["nodeid"]: c["status"] for c in read_report(root)["gate"]["checks"] if c["family"] != "fuzz"}

    limited = verdicts()
    monkeypatch.setenv("SEC_APP_RATE_LIMIT", "0")
    unlimited = verdicts()
    burst = "backend-gate::rate-limit[burst]"
    assert limited.pop(burst) == "passed"
    assert unlimited.pop(burst) == "failed"
    assert limited == unlimited
    # the fixture keeps its data in a dict and sqlite3: no SQLAlchemy statement to count, so N+1 is not verified
    assert {status for nodeid, status in limited.items() if "n-plus-one" not in nodeid} == {"passed"}


def test_a_bad_bandit_level_is_a_usage_error(pytester: pytest.Pytester, security_project: SecurityProject) -> None:
    security_project()
    result = pytester.runpytest("--backend-report", "--backend-bandit-severity=extreme")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--backend-bandit-severity (ini backend_bandit_severity) must be low, medium*"])


def test_bandit_threshold_is_configurable(pytester: pytest.Pytester, security_project: SecurityProject) -> None:
    """At severity high only, bandit's medium-severity B608 on the formatted SQL no longer fails its item."""
    root = security_project("sql_injection")
    pytester.runpytest("--backend-report", "-k", "bandit", "--backend-bandit-severity=high")
    statuses = {c["check"]: c["status"] for c in read_report(root)["gate"]["checks"]}
    assert statuses == {"security.bandit": "passed"}


def test_over_http_a_throttled_check_is_not_verified_never_failed(
    pytester: pytest.Pytester, security_project: SecurityProject
) -> None:
    """Over HTTP every request shares one address: once the 60/min limiter bites, checks say so instead of failing."""
    import sys

    root = security_project(
        ini={
            "backend_app": "",
            "backend_command": f"{sys.executable} -m uvicorn sec_app.main:app --port {{port}} --log-level warning",
        }
    )
    result = pytester.runpytest("--backend-report")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    report = read_report(root)
    assert report["gate"]["findings"] == []
    checks = [c for c in report["gate"]["checks"] if c["family"] != "fuzz"]
    in_process_only = [c for c in checks if c["check"] == "performance.n_plus_one"]
    assert {c["status"] for c in in_process_only} == {"not verified"}  # statement counting needs the app in-process
    not_verified = [c for c in checks if c["status"] == "not verified" and c not in in_process_only]
    assert not_verified, "the limiter should have throttled some of the gate's requests"
    assert all("429" in c["summary"] for c in not_verified), [c["summary"] for c in not_verified]
    assert report["security_measures"]["rate_limiting"] == "implemented"


def test_security_headers_fail_only_when_the_packet_asks(
    pytester: pytest.Pytester, security_project: SecurityProject
) -> None:
    """The fixture app sends no nosniff header: reported when not asked for, a failure naming it when asked."""
    root = security_project()
    pytester.runpytest("--backend-report", "-k", "headers")
    headers = next(c for c in read_report(root)["gate"]["checks"] if c["check"] == "security.headers")
    assert headers["status"] == "passed"
    assert "x-content-type-options: (absent)" in headers["evidence"]
    packet_path = root / PACKET_PATH
    packet = json.loads(packet_path.read_text())
    packet["non_functional"]["security_headers"] = ["x-content-type-options"]
    packet_path.write_text(json.dumps(packet))
    result = pytester.runpytest("--backend-report", "-k", "headers")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    headers = next(c for c in read_report(root)["gate"]["checks"] if c["check"] == "security.headers")
    assert headers["status"] == "failed"
    assert [f["title"] for f in headers["findings"]] == ["response lacks x-content-type-options: nosniff"]
