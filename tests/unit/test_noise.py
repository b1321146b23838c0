"""Noise control without pytest sessions: fingerprint normalisation, suppression comments, the baseline file and
how acceptance changes a check's status."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from pytest_backend_agent.errors import GateUsageError
from pytest_backend_agent.findings import Acceptance, CheckOutcome, CheckStatus, Finding, Location, Severity
from pytest_backend_agent.noise.apply import NO_REASON_TITLE, Acceptor
from pytest_backend_agent.noise.baseline import TODO_REASON, Baseline, BaselineEntry, load_baseline, update_baseline
from pytest_backend_agent.noise.fingerprint import SourceIndex, fingerprint, normalise_line, normalise_text
from pytest_backend_agent.noise.inline import parse_suppression


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("GET /api/v1/books/42 -> 500 in 12.5 ms", "GET /api/v1/books/<n> -> <n> in <n> ms"),
        ("id 3f2b8c1e-9d4a-4b7e-8f00-1a2b3c4d5e6f missing", "id <uuid> missing"),
        ("at 2026-11-27T18:06:20+00:00 and 2026-11-27", "at <time> and <time>"),
        ("took 10:04:59.123", "took <time>"),
        ("sha 9f86d081884c7d659a2feaa0c55ad015 and 0xDEADBEEF", "sha <hex> and <hex>"),
        ("  several\n\tspaces   here ", "several spaces here"),
        ("bandit B608 and ruff E501 and /api/v1", "bandit B608 and ruff E501 and /api/v1"),
        ("a literal Zq…(40 chars), 600_000 rounds, -3 offset", "a literal Zq…(<n> chars), <n> rounds, <n> offset"),
        ("mypy at app/db.py:12:5", "mypy at app/db.py:<n>:<n>"),
        ("the words accepted and deadline stay", "the words accepted and deadline stay"),
    ],
)
def test_normalise_text_masks_what_changes_between_runs(text: str, normalised: str) -> None:
    assert normalise_text(text) == normalised


def test_normalise_line_collapses_space_and_drops_a_trailing_comment_but_not_a_hash_in_a_string() -> None:
    assert normalise_line("    x  =  md5(p)   # backend-gate: ignore[x] why") == "x = md5(p)"
    assert normalise_line('    colour = "#fff"  ') == 'colour = "#fff"'


def _finding(line: int, evidence: str = "severity medium, confidence high: x = md5(p)", **kw: object) -> Finding:
    return Finding(
        check=str(kw.get("check", "security.bandit")),
        category="security",
        severity=Severity(str(kw.get("severity", "error"))),
        title="bandit B324 (hashlib): weak hash",
        location=Location(file="app/auth.py", line=line),
        evidence=evidence,
    )


SOURCE = """import hashlib


class Users:
    def hash(self, p):
        x = md5(p)
        return x


def other(p):
    x = md5(p)
    return x
"""


def _index(tmp_path: Path, source: str = SOURCE) -> SourceIndex:
    (tmp_path / "app").mkdir(parents=True, exist_ok=True)
    (tmp_path / "app" / "auth.py").write_text(source)
    return SourceIndex(tmp_path)


def test_fingerprint_ignores_line_numbers_but_not_the_enclosing_function_or_the_line(tmp_path: Path) -> None:
    index = _index(tmp_path)
    assert index.symbol("app/auth.py", 6) == "Users.hash"
    assert index.symbol("app/auth.py", 1) == "<module>"
    first = fingerprint(_finding(6), index)
    moved = fingerprint(_finding(9), _index(tmp_path / "moved", "\n\n\n" + SOURCE))
    assert first == moved
    assert fingerprint(_finding(11), index) != first  # same line text, another function
    assert fingerprint(_finding(6, "severity medium, confidence high: y = md5(p)"), index) != first
    assert fingerprint(_finding(6, "severity medium, confidence high:   x = md5(p)"), index) == first
    assert len(first) == 16


def test_fuzz_fingerprints_keep_only_the_fixed_fields_of_the_evidence(tmp_path: Path) -> None:
    def fuzz(evidence: str) -> str:
        finding = Finding(
            check="fuzz.operation",
            category="fuzz",
            severity=Severity.ERROR,
            title="not_a_server_error: Server error",
            location=Location(endpoint="GET /api/books/{book_id}"),
            evidence=evidence,
        )
        return fingerprint(finding, SourceIndex(tmp_path))

    seed_a = fuzz("ST101, status 500; 3 request(s) with positive data; Received: 'xQ\\x00'")
    seed_b = fuzz("ST101, status 500; 1 request(s) with positive data; Received: '0.5e12'")
    assert seed_a == seed_b
    assert fuzz("ST101, status 500; 1 request(s) with negative data; x") != seed_a


@pytest.mark.parametrize(
    ("line", "checks", "reason"),
    [
        ("x = md5(p)  # backend-gate: ignore[security.bandit] legacy hashes, migrated in Q3", ("security.bandit",),
         "legacy hashes, migrated in Q3"),
        ("# backend-gate:ignore[security.bandit, quality.ruff]: both fine", ("security.bandit", "quality.ruff"),
         "both fine"),
        ("x = 1  # backend-gate: ignore[security.bandit]", ("security.bandit",), ""),
    ],
)  # fmt: skip
def test_parse_suppression(line: str, checks: tuple[str, ...], reason: str) -> None:
    found = parse_suppression(line)
    assert found is not None
    assert (found.checks, found.reason) == (checks, reason)


def test_a_line_without_a_suppression_comment_has_none() -> None:
    assert parse_suppression("x = 1  # noqa: E501") is None


def _outcome(*findings: Finding, status: CheckStatus = CheckStatus.FAILED, **observations: object) -> CheckOutcome:
    return CheckOutcome(
        check=findings[0].check if findings else "security.bandit",
        family="security",
        target="bandit",
        status=status,
        summary="1 finding(s): weak hash",
        findings=list(findings),
        observations=dict(observations),
    )


def _entry(finding: Finding, index: SourceIndex, **kw: object) -> BaselineEntry:
    return BaselineEntry.model_validate(
        {
            "fingerprint": fingerprint(finding, index),
            "check": finding.check,
            "title": finding.title,
            "location": finding.location.describe(),
            "reason": "known",
            **kw,
        }
    )


def test_a_failed_check_whose_every_error_is_accepted_passes(tmp_path: Path) -> None:
    index = _index(tmp_path)
    baseline = Baseline(entries=[_entry(_finding(6), index, expires="2030-01-01")])
    outcome = Acceptor(tmp_path, baseline, today=date(2029, 12, 31)).apply(_outcome(_finding(6)))
    assert outcome.status is CheckStatus.PASSED
    assert outcome.summary == "1 accepted finding, nothing else failed (without them: 1 finding(s): weak hash)"
    assert outcome.findings[0].accepted == Acceptance(by="baseline", reason="known", expires="2030-01-01")


def test_an_acceptance_expires_on_its_date(tmp_path: Path) -> None:
    index = _index(tmp_path)
    baseline = Baseline(entries=[_entry(_finding(6), index, expires="2030-01-01")])
    outcome = Acceptor(tmp_path, baseline, today=date(2030, 1, 1)).apply(_outcome(_finding(6)))
    assert outcome.status is CheckStatus.FAILED
    assert outcome.findings[0].accepted is None
    assert outcome.findings[0].one_line().endswith("(its baseline acceptance expired on 2030-01-01)")


def test_one_unaccepted_error_keeps_the_check_failed(tmp_path: Path) -> None:
    index = _index(tmp_path)
    baseline = Baseline(entries=[_entry(_finding(6), index)])
    outcome = Acceptor(tmp_path, baseline).apply(_outcome(_finding(6), _finding(11)))
    assert outcome.status is CheckStatus.FAILED
    assert outcome.summary.endswith("(1 accepted finding did not change this)")


def test_a_threshold_check_or_one_with_unlisted_errors_stays_failed(tmp_path: Path) -> None:
    index = _index(tmp_path)
    coverage = _finding(6, check="quality.coverage")
    baseline = Baseline(entries=[_entry(coverage, index), _entry(_finding(6), index)])
    assert Acceptor(tmp_path, baseline).apply(_outcome(coverage)).status is CheckStatus.FAILED
    truncated = _outcome(_finding(6), errors=60)
    assert Acceptor(tmp_path, baseline).apply(truncated).status is CheckStatus.FAILED


def test_fail_on_warning_fails_a_passed_check_with_a_warning_unless_it_is_accepted(tmp_path: Path) -> None:
    index = _index(tmp_path)
    warning = _finding(6, severity="warning")
    assert Acceptor(tmp_path).apply(_outcome(warning, status=CheckStatus.PASSED)).status is CheckStatus.PASSED
    failed = Acceptor(tmp_path, threshold="warning").apply(_outcome(warning.model_copy(), status=CheckStatus.PASSED))
    assert failed.status is CheckStatus.FAILED
    baseline = Baseline(entries=[_entry(warning, index)])
    accepted = Acceptor(tmp_path, baseline, threshold="warning").apply(
        _outcome(warning.model_copy(), status=CheckStatus.PASSED)
    )
    assert accepted.status is CheckStatus.PASSED


def test_inline_suppression_needs_a_reason(tmp_path: Path) -> None:
    source = SOURCE.replace(
        "        x = md5(p)\n        return",
        "        x = md5(p)  # backend-gate: ignore[security.bandit]\n        return",
    )
    index_root = tmp_path / "a"
    _index(index_root, source)
    outcome = Acceptor(index_root).apply(_outcome(_finding(6)))
    assert outcome.status is CheckStatus.FAILED
    assert [f.title for f in outcome.findings] == [_finding(6).title, NO_REASON_TITLE]
    assert outcome.findings[1].severity is Severity.WARNING
    assert outcome.findings[1].location == Location(file="app/auth.py", line=6)

    other_root = tmp_path / "b"
    _index(other_root, source.replace("ignore[security.bandit]", "ignore[security.bandit] reviewed"))
    outcome = Acceptor(other_root).apply(_outcome(_finding(6)))
    assert outcome.status is CheckStatus.PASSED
    assert outcome.findings[0].accepted == Acceptance(by="inline", reason="reviewed")
    wrong_check = Acceptor(other_root).apply(_outcome(_finding(6, check="security.secrets")))
    assert wrong_check.status is CheckStatus.FAILED


def test_update_keeps_reasons_adds_todo_and_drops_only_judged_checks(tmp_path: Path) -> None:
    index = _index(tmp_path)
    kept, new = _finding(6), _finding(11)
    gone = _entry(_finding(6, "something fixed"), index)
    unjudged = _entry(_finding(6, check="security.secrets"), index)
    old = Baseline(entries=[_entry(kept, index, reason="because", expires="2031-01-01"), gone, unjudged])
    for finding in (kept, new):
        finding.fingerprint = fingerprint(finding, index)
    update = update_baseline(old, [kept, new, new], {"security.bandit"})
    by_fingerprint = update.baseline.by_fingerprint()
    assert by_fingerprint[str(kept.fingerprint)].reason == "because"
    assert by_fingerprint[str(kept.fingerprint)].expires == date(2031, 1, 1)
    assert by_fingerprint[str(new.fingerprint)].reason == TODO_REASON
    assert [e.fingerprint for e in update.added] == [new.fingerprint]
    assert update.dropped == [gone]
    assert update.kept_unjudged == [unjudged]
    assert len(update.baseline.entries) == 3


def test_load_baseline_names_the_json_path(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    entry = {"fingerprint": "0123456789abcdef", "check": "c", "title": "t", "location": "l", "reason": "r"}
    path.write_text(json.dumps({"version": 1, "entries": [entry, entry]}))
    with pytest.raises(GateUsageError, match=r"\$\.entries\[1\]\.fingerprint: 0123456789abcdef is listed twice"):
        load_baseline(path)
    path.write_text(json.dumps({"entries": [{**entry, "fingerprint": "nothex"}]}))
    with pytest.raises(GateUsageError, match=r"\$\.entries\[0\]\.fingerprint: String should match pattern"):
        load_baseline(path)
    path.write_text(json.dumps({"entries": [{**entry, "expires": 20270131}]}))
    with pytest.raises(GateUsageError, match=r"\$\.entries\[0\]\.expires: 20270131 is not an ISO date"):
        load_baseline(path)
    path.write_text(json.dumps({"entries": [{**entry, "expires": "2027-01-31"}]}))
    assert load_baseline(path).entries[0].expires == date(2027, 1, 31)
    assert load_baseline(tmp_path / "absent.json", must_exist=False) == Baseline()


def test_live_fingerprints_leave_the_response_body_out(tmp_path: Path) -> None:
    def live(evidence: str) -> str:
        finding = Finding(
            check="security.authn",
            category="security",
            severity=Severity.ERROR,
            title="an alg:none JWT is accepted",
            location=Location(endpoint="GET /api/books/{book_id}"),
            evidence=evidence,
        )
        return fingerprint(finding, SourceIndex(tmp_path))

    serial = live('expected 401 or 403; got 200: {"isbn":"0000000000000","title":"0","id":1}')
    assert live('expected 401 or 403; got 200: {"isbn":"0824043459624","title":"x","id":2}') == serial
    assert live("expected 401 or 403; got 200: (empty body)") != serial
