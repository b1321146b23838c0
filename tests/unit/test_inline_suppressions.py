"""Inline suppression comments that a team can trust over time: ``until`` dates that run out, malformed dates and
check ids the gate does not have, judged without a pytest session."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pytest_backend_agent.checks import FAMILIES, gate_checks, known_check_ids
from pytest_backend_agent.checks.coverage import CHECK as COVERAGE
from pytest_backend_agent.checks.endpoint_tests import CHECK as ENDPOINT_TESTS
from pytest_backend_agent.checks.quality import TOOLS
from pytest_backend_agent.checks.verify import CHECK as VERIFY
from pytest_backend_agent.findings import Acceptance, CheckOutcome, CheckStatus, Finding, Location, Severity
from pytest_backend_agent.noise.apply import NO_REASON_TITLE, Acceptor
from pytest_backend_agent.noise.baseline import Baseline, update_baseline
from pytest_backend_agent.noise.comment_warnings import BAD_UNTIL_TITLE, is_comment_warning, unknown_check_title
from pytest_backend_agent.noise.inline import parse_suppression, suggest_check
from pytest_backend_agent.packet.load import load_packet
from pytest_backend_agent.settings import Settings

EXAMPLE = Path(__file__).parents[2] / "examples" / "bookshelf"
KNOWN = known_check_ids()
LINE = "        x = md5(p)"
SOURCE = f"""import hashlib


class Users:
    def hash(self, p):
{LINE}
        return x
"""


@pytest.mark.parametrize(
    ("line", "checks", "until", "bad", "reason"),
    [
        ("x  # backend-gate: ignore[security.bandit] until 2027-03-31: migrated in Q1", ("security.bandit",),
         date(2027, 3, 31), None, "migrated in Q1"),
        ("# backend-gate: ignore[security.bandit, quality.ruff] until 2027-03-31 - both", ("security.bandit",
         "quality.ruff"), date(2027, 3, 31), None, "both"),
        ("x  # backend-gate: ignore[security.bandit]   until   2027-03-31   spaced", ("security.bandit",),
         date(2027, 3, 31), None, "spaced"),
        ("x  # backend-gate: ignore[security.bandit] until 2027-03-31", ("security.bandit",), date(2027, 3, 31),
         None, ""),
        ("x  # backend-gate: ignore[security.bandit] until 31/03/2027: why", ("security.bandit",), None,
         "31/03/2027", "why"),
        ("x  # backend-gate: ignore[security.bandit] until 2027-02-30: why", ("security.bandit",), None,
         "2027-02-30", "why"),
        ("x  # backend-gate: ignore[security.bandit] until 20270331: why", ("security.bandit",), None, "20270331",
         "why"),
        ("x  # backend-gate: ignore[security.bandit] until 2027-3-31: why", ("security.bandit",), None, "2027-3-31",
         "why"),
        ("x  # backend-gate: ignore[security.bandit] until: why", ("security.bandit",), None, "", "why"),
        ("x  # backend-gate: ignore[security.bandit] until", ("security.bandit",), None, "", ""),
        ("x  # backend-gate: ignore[security.bandit] until the refactor lands", ("security.bandit",), None, "the",
         "refactor lands"),
        # after a ':' (or as a later word) 'until' is part of the reason; 'untill' is just a word
        ("x  # backend-gate: ignore[security.bandit]: until the refactor lands", ("security.bandit",), None, None,
         "until the refactor lands"),
        ("x  # backend-gate: ignore[security.bandit] fine until 2027-03-31", ("security.bandit",), None, None,
         "fine until 2027-03-31"),
        ("x  # backend-gate: ignore[security.bandit] untill is not the keyword", ("security.bandit",), None, None,
         "untill is not the keyword"),
    ],
)  # fmt: skip
def test_parse_until(line: str, checks: tuple[str, ...], until: date | None, bad: str | None, reason: str) -> None:
    found = parse_suppression(line, "app/auth.py", 3)
    assert found is not None
    assert (found.checks, found.until, found.bad_until, found.reason) == (checks, until, bad, reason)


def test_until_means_what_a_baseline_expires_means() -> None:
    found = parse_suppression("# backend-gate: ignore[security.bandit] until 2027-03-31: why")
    assert found is not None
    assert not found.expired(date(2027, 3, 30))
    assert found.expired(date(2027, 3, 31))
    forever = parse_suppression("# backend-gate: ignore[security.bandit] why")
    assert forever is not None
    assert not forever.expired(date(9999, 1, 1))


@pytest.mark.parametrize(
    ("written", "suggestion"),
    [
        ("security.bandt", "security.bandit"),
        ("security.bandits", "security.bandit"),
        ("Security.Bandit", "security.bandit"),
        ("bandit", "security.bandit"),
        ("password-hashing", "security.password_hashing"),
        ("quality.myp", "quality.mypy"),
        ("secuirty.secrets", "security.secrets"),
        ("E501", None),
        ("B608", None),
        ("nosec", None),
    ],
)
def test_suggest_check(written: str, suggestion: str | None) -> None:
    assert suggest_check(written, KNOWN) == suggestion


def _at(root: Path, comment_line: str, *, above: bool = False) -> Path:
    """``root`` with app/auth.py holding ``comment_line``'s comment on line 6 (the flagged line) or above it."""
    if above:
        source = SOURCE.replace(LINE, f"        {comment_line}\n{LINE}")
    else:
        source = SOURCE.replace(LINE, f"{LINE}  {comment_line}")
    (root / "app").mkdir(parents=True, exist_ok=True)
    (root / "app" / "auth.py").write_text(source)
    return root


def _finding(line: int = 6, check: str = "security.bandit") -> Finding:
    return Finding(
        check=check,
        category="security",
        severity=Severity.ERROR,
        title="bandit B324 (hashlib): weak hash",
        location=Location(file="app/auth.py", line=line),
        evidence="severity medium, confidence high: x = md5(p)",
    )


def _outcome(*findings: Finding) -> CheckOutcome:
    return CheckOutcome(
        check=findings[0].check,
        family="security",
        target="bandit",
        status=CheckStatus.FAILED,
        summary="1 finding(s): weak hash",
        findings=list(findings),
    )


def _judge(
    root: Path, *findings: Finding, today: date = date(2027, 1, 1), baseline: Baseline | None = None
) -> CheckOutcome:
    acceptor = Acceptor(root, baseline, today=today, known_checks=KNOWN)
    return acceptor.apply(_outcome(*findings or (_finding(),)))


def test_an_unexpired_until_accepts_the_finding_with_its_date(tmp_path: Path) -> None:
    root = _at(tmp_path, "# backend-gate: ignore[security.bandit] until 2027-03-31: md5 names files, not secrets")
    outcome = _judge(root, today=date(2027, 3, 30))
    assert outcome.status is CheckStatus.PASSED
    assert [f.accepted for f in outcome.findings] == [
        Acceptance(by="inline", reason="md5 names files, not secrets", expires="2027-03-31")
    ]


def test_an_expired_until_counts_again_and_is_marked_expired(tmp_path: Path) -> None:
    root = _at(tmp_path, "# backend-gate: ignore[security.bandit] until 2027-03-31: md5 names files", above=True)
    outcome = _judge(root, _finding(7), today=date(2027, 3, 31))
    assert outcome.status is CheckStatus.FAILED
    (finding,) = outcome.findings
    assert finding.accepted is None
    assert finding.expired_acceptance == Acceptance(by="inline", reason="md5 names files", expires="2027-03-31")
    assert finding.one_line().endswith("(its inline acceptance expired on 2027-03-31)")


def test_an_expired_until_leaves_an_unexpired_baseline_entry_to_accept(tmp_path: Path) -> None:
    root = _at(tmp_path, "# backend-gate: ignore[security.bandit] until 2020-01-01: old")
    first = _judge(root)
    assert first.findings[0].fingerprint is not None
    baseline = update_baseline(Baseline(), first.findings, {"security.bandit"}).baseline
    outcome = _judge(root, baseline=baseline)
    assert outcome.status is CheckStatus.PASSED
    assert outcome.findings[0].accepted is not None
    assert outcome.findings[0].accepted.by == "baseline"
    assert outcome.findings[0].expired_acceptance is None


@pytest.mark.parametrize("written", ["until 31/03/2027: why", "until 2027-02-30: why", "until: why", "until"])
def test_a_malformed_until_suppresses_nothing_and_warns_at_the_comment(tmp_path: Path, written: str) -> None:
    root = _at(tmp_path, f"# backend-gate: ignore[security.bandit] {written}", above=True)
    outcome = _judge(root, _finding(7))
    assert outcome.status is CheckStatus.FAILED
    bandit, warning = outcome.findings
    assert bandit.accepted is None
    assert bandit.expired_acceptance is None
    assert warning.title == BAD_UNTIL_TITLE
    assert (warning.severity, warning.location) == (Severity.WARNING, Location(file="app/auth.py", line=6))
    assert "YYYY-MM-DD" in warning.evidence
    assert warning.fingerprint is not None


def test_an_until_without_a_reason_is_a_comment_without_a_reason(tmp_path: Path) -> None:
    outcome = _judge(_at(tmp_path, "# backend-gate: ignore[security.bandit] until 2099-01-01"))
    assert outcome.status is CheckStatus.FAILED
    assert [f.title for f in outcome.findings[1:]] == [NO_REASON_TITLE]
    assert outcome.findings[1].evidence == "ignore[security.bandit] until 2099-01-01 with no reason after the date"


def test_a_typo_in_a_check_id_warns_with_the_close_one(tmp_path: Path) -> None:
    outcome = _judge(_at(tmp_path, "# backend-gate: ignore[security.bandt] md5 names files"))
    assert outcome.status is CheckStatus.FAILED
    bandit, warning = outcome.findings
    assert bandit.accepted is None
    assert warning.title == unknown_check_title("security.bandt", "security.bandit")
    assert warning.title.endswith("names 'security.bandt', which is not a check id of the gate (did you mean "
                                  "'security.bandit'?)")  # fmt: skip
    assert (warning.check, warning.severity) == ("security.bandit", Severity.WARNING)
    assert warning.location == Location(file="app/auth.py", line=6)


def test_an_unknown_id_next_to_a_known_one_still_warns_while_the_known_one_accepts(tmp_path: Path) -> None:
    root = _at(tmp_path, "# backend-gate: ignore[security.bandit, E501] reviewed", above=True)
    outcome = _judge(root, _finding(7))
    assert outcome.status is CheckStatus.PASSED
    bandit, warning = outcome.findings
    assert bandit.accepted == Acceptance(by="inline", reason="reviewed")
    assert warning.title == unknown_check_title("E501", None)
    assert "not a tool's rule codes" in warning.fix
    assert (warning.location.line, warning.accepted) == (6, None)


def test_a_comment_with_known_ids_only_adds_no_finding(tmp_path: Path) -> None:
    """No false alarm: every id of the registry, and a comment about another check next to this finding."""
    every = ", ".join(sorted(KNOWN))
    outcome = _judge(_at(tmp_path, f"# backend-gate: ignore[{every}] until 2099-01-01: all of them"))
    assert [f.accepted is not None for f in outcome.findings] == [True]
    other = _judge(_at(tmp_path / "b", "# backend-gate: ignore[security.secrets] a test key"))
    assert len(other.findings) == 1
    assert other.status is CheckStatus.FAILED


def test_ids_are_not_judged_without_the_registry(tmp_path: Path) -> None:
    root = _at(tmp_path, "# backend-gate: ignore[security.bandt] md5 names files")
    assert len(Acceptor(root).apply(_outcome(_finding())).findings) == 1


def test_one_comment_near_two_findings_warns_once_per_check(tmp_path: Path) -> None:
    root = _at(tmp_path, "# backend-gate: ignore[security.bandt] md5 names files", above=True)
    outcome = _judge(root, _finding(7), _finding(6))  # the comment line is flagged too, still one warning
    assert [f.title for f in outcome.findings].count(unknown_check_title("security.bandt", "security.bandit")) == 1


def test_comment_warnings_never_enter_a_baseline(tmp_path: Path) -> None:
    root = _at(tmp_path, "# backend-gate: ignore[security.bandit, secrets] until 31/12/2027: x", above=True)
    outcome = _judge(root, _finding(7))
    warnings = [f for f in outcome.findings if f.severity is Severity.WARNING]
    assert [f.title for f in warnings] == [BAD_UNTIL_TITLE, unknown_check_title("secrets", "security.secrets")]
    assert all(is_comment_warning(f) for f in warnings)
    entries = update_baseline(Baseline(), outcome.findings, set()).baseline.entries
    assert [entry.title for entry in entries] == [_finding().title]


def _everything_on(root: Path) -> Settings:
    """Settings turning every family and tool on for the bookshelf example."""
    return Settings(
        rootdir=root,
        report_path=root / "report.json",
        signal_path=root / "signal.json",
        packet_path=root / "ARTIFACTS" / "system-architect" / "architecture-handover-packet.json",
        config_path=None,
        src_dir=root / "bookshelf",
        mode="app",
        app="bookshelf.main:app",
        url=None,
        command=None,
        allow_remote=False,
        openapi_path=None,
        startup_timeout=5.0,
        request_timeout=5.0,
        quality_tools=tuple(TOOLS),
        tool_timeout=5.0,
        docstring_min=80.0,
        base_ref=None,
        fuzz_phases=("examples", "coverage", "fuzzing", "stateful"),
    )


def test_the_known_ids_are_the_ids_the_registry_produces() -> None:
    """Each family's declared ids cover what its specs produce for a packet that uses every check (the bookshelf
    example with everything on), and nothing else is declared but the outcomes judged at session end."""
    settings = _everything_on(EXAMPLE)
    packet = load_packet(settings.packet_path).packet
    declared = {family.name: set(family.checks) for family in FAMILIES}
    produced: dict[str, set[str]] = {}
    for spec in gate_checks(packet, settings):
        produced.setdefault(spec.family, set()).add(spec.check)
    for family, checks in produced.items():
        assert checks <= declared[family], family
    at_session_end = {COVERAGE, ENDPOINT_TESTS}
    assert declared["quality"] - produced["quality"] == at_session_end
    assert KNOWN == set().union(*produced.values()) | at_session_end | {VERIFY}


def test_every_known_id_is_documented() -> None:
    checks_page = (Path(__file__).parents[2] / "docs" / "checks.md").read_text()
    assert [check for check in sorted(KNOWN) if f"`{check}`" not in checks_page] == []
