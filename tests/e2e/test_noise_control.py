"""Noise control end to end: baselines, inline suppressions and the severity threshold on the fixture backends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.backends import GateProject, read_report, validate_report
from tests.e2e.security_backends import SecurityProject

pytestmark = pytest.mark.e2e

SARIF_SCHEMA = Path(__file__).parents[1] / "schemas" / "sarif-schema-2.1.0.json"
QUERY = "DB.execute(\"SELECT title FROM titles WHERE title = '%s'\" % q)"
"""The line of the ``sql_injection`` fixture bandit flags (B608, SQL built from a string)."""


def _validate_sarif(document: dict[str, Any]) -> None:
    from jsonschema import Draft4Validator

    Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(document)


def _bandit(report: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The bandit check record and its findings."""
    check = next(c for c in report["gate"]["checks"] if c["check"] == "security.bandit")
    return check, [f for f in report["gate"]["findings"] if f["check"] == "security.bandit"]


def _edit_app(root: Path, old: str, new: str) -> None:
    app = root / "sec_app" / "main.py"
    text = app.read_text()
    assert old in text
    app.write_text(text.replace(old, new))


def test_update_writes_a_baseline_that_makes_the_run_pass_and_keeps_reasons(
    pytester: pytest.Pytester, security_project: SecurityProject
) -> None:
    root = security_project("sql_injection")
    assert pytester.runpytest("--backend-report", "-k", "bandit").ret == pytest.ExitCode.TESTS_FAILED

    result = pytester.runpytest(
        "--backend-report", "-k", "bandit", "--backend-baseline=baseline.json", "--backend-baseline-update"
    )
    result.stdout.fnmatch_lines(
        [
            "baseline updated: baseline.json: 1 entry",
            "  1 new entry with the reason 'TODO: explain why this is accepted'*",
            "    + ?security.bandit] sec_app/main.py:*: bandit B608*",
        ]
    )
    written = json.loads((root / "baseline.json").read_text())
    (entry,) = written["entries"]
    assert entry["check"] == "security.bandit"
    assert entry["reason"] == "TODO: explain why this is accepted"
    assert entry["location"].startswith("sec_app/main.py:")

    entry["reason"] = "the search query is a constant table of titles; tracked in ISSUE-12"
    entry["expires"] = "2999-01-01"
    (root / "baseline.json").write_text(json.dumps(written))
    result = pytester.runpytest("--backend-report", "-k", "bandit", "--backend-baseline=baseline.json")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    result.stdout.fnmatch_lines(["1 finding accepted by baseline/inline suppressions (1 baseline, 0 inline*"])
    report = read_report(root)
    validate_report(report)
    check, findings = _bandit(report)
    assert check["status"] == "passed"
    assert check["summary"].startswith("1 accepted finding, nothing else failed")
    assert findings[0]["accepted"] == {
        "by": "baseline",
        "reason": "the search query is a constant table of titles; tracked in ISSUE-12",
        "expires": "2999-01-01",
    }
    assert findings[0]["fingerprint"] == entry["fingerprint"]
    assert any(line.startswith("(accepted by baseline: the search query") for line in report["known_issues"])

    # A refresh keeps the reason and the expiry of an entry still seen, and adds nothing.
    result = pytester.runpytest(
        "--backend-report", "-k", "bandit", "--backend-baseline=baseline.json", "--backend-baseline-update"
    )
    result.stdout.fnmatch_lines(["baseline updated: baseline.json: 1 entry"])
    assert "new entr" not in result.stdout.str()
    assert json.loads((root / "baseline.json").read_text())["entries"] == [entry]

    # Once the code is fixed, a refresh drops the entry and says which.
    _edit_app(root, QUERY, 'DB.execute("SELECT title FROM titles WHERE title = ?", (q,))')
    result = pytester.runpytest(
        "--backend-report", "-k", "bandit", "--backend-baseline=baseline.json", "--backend-baseline-update"
    )
    result.stdout.fnmatch_lines(
        ["baseline updated: baseline.json: 0 entries", "  dropped 1 entry no longer seen:", "    - ?security.bandit]*"]
    )
    assert json.loads((root / "baseline.json").read_text())["entries"] == []


def _baseline_for(pytester: pytest.Pytester, root: Path, **extra: str) -> dict[str, Any]:
    """Write baseline.json accepting this run's bandit findings with a reason (and ``extra`` keys)."""
    pytester.runpytest(
        "--backend-report", "-k", "bandit", "--backend-baseline=baseline.json", "--backend-baseline-update"
    )
    written: dict[str, Any] = json.loads((root / "baseline.json").read_text())
    for entry in written["entries"]:
        entry.update({"reason": "accepted for the test", **extra})
    (root / "baseline.json").write_text(json.dumps(written, indent=2))
    return written


def test_moved_code_stays_accepted_but_changed_evidence_fails(
    pytester: pytest.Pytester, security_project: SecurityProject
) -> None:
    root = security_project("sql_injection")
    _baseline_for(pytester, root)
    _edit_app(root, "\ndef hash_password", "\n\n\n# three lines further down\ndef hash_password")
    moved = pytester.runpytest("--backend-report", "-k", "bandit", "--backend-baseline=baseline.json")
    assert moved.ret == pytest.ExitCode.OK, moved.stdout.str()[-3000:]

    _edit_app(root, "WHERE title = '%s'", "WHERE title LIKE '%s'")
    changed = pytester.runpytest("--backend-report", "-k", "bandit", "--backend-baseline=baseline.json")
    assert changed.ret == pytest.ExitCode.TESTS_FAILED
    check, findings = _bandit(read_report(root))
    assert check["status"] == "failed"
    assert findings[0]["accepted"] is None
    assert "LIKE" in findings[0]["evidence"]


def test_an_expired_acceptance_fails_again_and_says_when_it_expired(
    pytester: pytest.Pytester, security_project: SecurityProject
) -> None:
    root = security_project("sql_injection")
    _baseline_for(pytester, root, expires="2020-06-30")
    result = pytester.runpytest(
        "--backend-report", "-k", "bandit", "--backend-baseline=baseline.json", "--backend-sarif=gate.sarif"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*?security.bandit] sec_app/main.py:*(its baseline acceptance expired on 2020-06-30)"])
    report = read_report(root)
    validate_report(report)
    check, findings = _bandit(report)
    assert check["status"] == "failed"
    assert findings[0]["accepted"] is None
    assert findings[0]["expired_acceptance"]["expires"] == "2020-06-30"
    expired = [line for line in report["known_issues"] if line.startswith("(acceptance expired: baseline")]
    assert len(expired) == 1
    assert "sec_app/main.py" in expired[0]
    assert expired[0].endswith("(its baseline acceptance expired on 2020-06-30)")
    sarif = json.loads((root / "gate.sarif").read_text())
    _validate_sarif(sarif)
    assert "suppressions" not in sarif["runs"][0]["results"][0]


def test_inline_suppression_with_a_reason_accepts_a_bandit_finding(
    pytester: pytest.Pytester, security_project: SecurityProject
) -> None:
    root = security_project("sql_injection")
    line = QUERY + ".fetchall()"
    _edit_app(root, line, line + "  # backend-gate: ignore[security.bandit] q is matched against a fixed list")
    result = pytester.runpytest("--backend-report", "-k", "bandit", "--backend-sarif=gate.sarif")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    result.stdout.fnmatch_lines(["1 finding accepted by baseline/inline suppressions (0 baseline, 1 inline*"])
    check, findings = _bandit(read_report(root))
    assert check["status"] == "passed"
    assert findings[0]["accepted"] == {"by": "inline", "reason": "q is matched against a fixed list", "expires": None}
    sarif = json.loads((root / "gate.sarif").read_text())
    _validate_sarif(sarif)
    (result_,) = sarif["runs"][0]["results"]
    assert result_["suppressions"] == [
        {"kind": "inSource", "status": "accepted", "justification": "q is matched against a fixed list"}
    ]


def test_inline_suppression_on_the_line_above_without_a_reason_does_not_suppress(
    pytester: pytest.Pytester, security_project: SecurityProject
) -> None:
    root = security_project("sql_injection")
    _edit_app(root, "    rows = " + QUERY, "    # backend-gate: ignore[security.bandit]\n    rows = " + QUERY)
    result = pytester.runpytest("--backend-report", "-k", "bandit")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    check, findings = _bandit(read_report(root))
    assert check["status"] == "failed"
    bandit, warning = findings
    assert bandit["accepted"] is None
    assert warning["severity"] == "warning"
    assert warning["title"] == "backend-gate: ignore[...] comment without a reason suppresses nothing"
    assert warning["location"]["line"] == bandit["location"]["line"] - 1
    result.stdout.fnmatch_lines(["warnings (1):", "  ?security.bandit] sec_app/main.py:*: backend-gate: ignore*"])


def test_the_line_above_with_a_reason_suppresses(pytester: pytest.Pytester, security_project: SecurityProject) -> None:
    root = security_project("sql_injection")
    comment = "    # backend-gate: ignore[security.secrets, security.bandit] legacy\n"
    _edit_app(root, "    rows = " + QUERY, comment + "    rows = " + QUERY)
    assert pytester.runpytest("--backend-report", "-k", "bandit").ret == pytest.ExitCode.OK
    assert _bandit(read_report(root))[1][0]["accepted"]["reason"] == "legacy"


MALFORMED = [
    (
        {"entries": [{"fingerprint": "0123456789abcdef", "check": "c", "title": "t", "location": "l"}]},
        "$.entries[0].reason: this required key is missing",
    ),
    (
        {"entries": [{"fingerprint": "0123456789abcdef", "check": "c", "title": "t", "location": "l", "reason": " "}]},
        "$.entries[0].reason: the reason is empty",
    ),
    (
        {
            "entries": [
                {
                    "fingerprint": "0123456789abcdef",
                    "check": "c",
                    "title": "t",
                    "location": "l",
                    "reason": "r",
                    "expires": "31/01/2027",
                }
            ]
        },
        "$.entries[0].expires: '31/01/2027' is not an ISO date (YYYY-MM-DD)",
    ),
    (
        {
            "entries": [
                {
                    "fingerprint": "0123456789abcdef",
                    "check": "c",
                    "title": "t",
                    "location": "l",
                    "reason": "r",
                    "owner": "me",
                }
            ]
        },
        "$.entries[0].owner: this key is not allowed",
    ),
    ({"version": 1, "entries": [], "notes": "x"}, "$.notes: this key is not allowed"),
]


@pytest.mark.parametrize(("content", "message"), MALFORMED)
def test_a_malformed_baseline_is_a_usage_error_naming_the_file_and_json_path(
    pytester: pytest.Pytester, security_project: SecurityProject, content: dict[str, Any], message: str
) -> None:
    root = security_project()
    (root / "baseline.json").write_text(json.dumps(content))
    result = pytester.runpytest("--backend-report", "--backend-baseline=baseline.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    expected = f"ERROR: backend baseline {root / 'baseline.json'}: {message}*".replace("[", "[[]")
    result.stderr.fnmatch_lines([expected])
    assert "Traceback" not in result.stderr.str()
    assert not (root / "ARTIFACTS" / "backend-engineer").exists()


def test_baseline_usage_errors(pytester: pytest.Pytester, security_project: SecurityProject) -> None:
    root = security_project()
    (root / "broken.json").write_text("{")
    cases = [
        (["--backend-baseline=broken.json"], "ERROR: backend baseline */broken.json is not valid JSON*"),
        (["--backend-baseline=missing.json"], "ERROR: backend baseline not found: */missing.json*"),
        (["--backend-baseline-update"], "ERROR: --backend-baseline-update needs the file to write*"),
        (["--backend-fail-on-severity=info"], "ERROR: --backend-fail-on-severity (ini backend_fail_on_severity) must*"),
    ]
    for options, line in cases:
        result = pytester.runpytest("--backend-report", *options)
        assert result.ret == pytest.ExitCode.USAGE_ERROR, options
        result.stderr.fnmatch_lines([line])


def test_fail_on_severity_warning_fails_a_run_that_has_only_warnings(
    pytester: pytest.Pytester, gate_project: GateProject
) -> None:
    from tests.e2e.backends import library_packet

    packet = library_packet()
    packet["api"]["endpoints"] = [e for e in packet["api"]["endpoints"] if e["path"] != "/api/health"]
    root = gate_project(packet=packet)
    assert pytester.runpytest("--backend-report", "-k", "undeclared").ret == pytest.ExitCode.OK
    report = read_report(root)
    assert {f["severity"] for f in report["gate"]["findings"]} == {"warning"}

    result = pytester.runpytest("--backend-report", "-k", "undeclared", "--backend-fail-on-severity=warning")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = read_report(root)
    validate_report(report)
    assert report["gate"]["verdict"] == "failed"
    check = next(c for c in report["gate"]["checks"] if c["check"] == "contract.undeclared")
    assert check["status"] == "failed"
    assert check["summary"].endswith("; fails on 1 warning (--backend-fail-on-severity warning)")
    result.stdout.fnmatch_lines(["failed:", "  ?contract.undeclared] GET /api/health: endpoint is not in the*"])

    # ...and a baseline accepting the warning lets it pass again.
    pytester.runpytest("--backend-report", "-k", "undeclared", "--backend-baseline=b.json", "--backend-baseline-update")
    result = pytester.runpytest(
        "--backend-report", "-k", "undeclared", "--backend-fail-on-severity=warning", "--backend-baseline=b.json"
    )
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]


def test_live_findings_keep_their_fingerprints_from_run_to_run(
    pytester: pytest.Pytester, security_project: SecurityProject
) -> None:
    """Live probes answer with ids and timings that change; the fingerprints do not."""
    root = security_project("stack_trace")

    def fingerprints() -> set[tuple[str, str]]:
        pytester.runpytest("--backend-report", "-k", "leakage or authn")
        return {(f["check"], f["fingerprint"]) for f in read_report(root)["gate"]["findings"]}

    first = fingerprints()
    assert first
    assert fingerprints() == first


def test_fuzz_findings_keep_their_fingerprints_across_seeds(
    pytester: pytest.Pytester, gate_project: GateProject
) -> None:
    """Fuzzing with another seed sends other data and quotes it in the evidence (seed 7: 'in body - violates
    pattern at /properties/isbn', seed 99: 'header: violates format ...'); the defects keep their fingerprints."""
    root = gate_project("accepts_invalid", ini={"backend_fuzz_examples": "25", "backend_no_fuzz": "false"})

    def fingerprints(seed: int) -> dict[str, set[str]]:
        pytester.runpytest_subprocess("--backend-report", "-k", "fuzz", f"--backend-fuzz-seed={seed}")
        found: dict[str, set[str]] = {}
        for f in read_report(root)["gate"]["findings"]:
            found.setdefault(f["severity"], set()).add(f"{f['location']['endpoint']} {f['title']} {f['fingerprint']}")
        return found

    first, second = fingerprints(7), fingerprints(99)
    assert first["error"]
    assert first["error"] == second["error"]


def test_a_baseline_written_by_a_serial_run_holds_under_xdist(
    pytester: pytest.Pytester, security_project: SecurityProject
) -> None:
    """A worker's answers hold other data than a serial run's (each process creates its own prerequisites), so the
    fingerprints leave response bodies out: the baseline written serially accepts every finding under -n 2."""
    root = security_project("alg_none")
    pytester.runpytest_subprocess(
        "--backend-report", "-m", "security", "--backend-baseline=b.json", "--backend-baseline-update"
    )
    serial = {f["fingerprint"] for f in read_report(root)["gate"]["findings"]}
    assert len(serial) == 5
    result = pytester.runpytest_subprocess("--backend-report", "-m", "security", "-n", "2", "--backend-baseline=b.json")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    report = read_report(root)
    assert {f["fingerprint"] for f in report["gate"]["findings"]} == serial
    assert all(f["accepted"]["by"] == "baseline" for f in report["gate"]["findings"])
