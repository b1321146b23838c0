"""The one place every check outcome passes through to have its findings fingerprinted and judged for acceptance.

``run_check`` calls :meth:`Acceptor.apply` on each item's outcome (in whichever process runs it) and the gate
calls it on the outcomes judged at session end, so xdist workers and the controller agree. It

1. gives every finding its fingerprint;
2. marks findings accepted by an inline comment (static findings) or by an unexpired baseline entry; an expired
   comment (``until DATE``) or entry leaves the finding counting, with a note (``expired_acceptance``);
3. reports, as warnings at the comment's file:line, the suppression comments near a finding that cannot do what
   their author meant: one naming the finding's check without a reason or with a malformed ``until`` date (it
   suppresses nothing), and one naming a check id the gate does not have (with the closest one);
4. recomputes the status: a failed item whose every failing finding is accepted passes ("N accepted
   findings"); with ``--backend-fail-on-severity warning`` a passed item with an unaccepted warning fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pytest_backend_agent.findings import Acceptance, CheckOutcome, CheckStatus, Finding, Severity
from pytest_backend_agent.noise.baseline import Baseline, BaselineEntry
from pytest_backend_agent.noise.comment_warnings import NO_REASON_TITLE, comment_warnings, is_comment_warning
from pytest_backend_agent.noise.fingerprint import SourceIndex, fingerprint
from pytest_backend_agent.noise.inline import Suppression, comments_near, find_suppression

__all__ = ["AGGREGATE_CHECKS", "NO_REASON_TITLE", "Acceptor", "failing_severities", "is_comment_warning"]

AGGREGATE_CHECKS = frozenset({"quality.coverage", "quality.docstrings"})
"""Checks that judge a total against a threshold: accepting the findings they list does not make the total pass."""


def failing_severities(threshold: str) -> frozenset[Severity]:
    """The severities that fail the gate at ``--backend-fail-on-severity`` ``threshold``."""
    return frozenset({Severity.ERROR, Severity.WARNING}) if threshold == "warning" else frozenset({Severity.ERROR})


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


@dataclass
class Acceptor:
    """Applies a baseline, inline suppressions and the severity threshold to outcomes.

    ``known_checks`` are the check ids an inline comment may name (the gate's registry); None leaves the ids of
    comments unjudged.
    """

    rootdir: Path
    baseline: Baseline | None = None
    threshold: str = "error"
    today: date = field(default_factory=date.today)
    known_checks: frozenset[str] | None = None
    sources: SourceIndex = field(init=False)
    _entries: dict[str, BaselineEntry] = field(init=False)

    def __post_init__(self) -> None:
        self.sources = SourceIndex(self.rootdir)
        self._entries = self.baseline.by_fingerprint() if self.baseline is not None else {}

    def _accept(self, finding: Finding, comments: dict[tuple[str, int], tuple[Suppression, bool]]) -> None:
        """Judge one finding; note the comments near it in ``comments``, with whether one was the finding's own
        (the comment naming its check, whose missing reason or malformed date is then reported)."""
        finding.fingerprint = fingerprint(finding, self.sources)
        for comment in comments_near(finding, self.sources):
            comments.setdefault((comment.file, comment.line), (comment, False))
        expired: Acceptance | None = None
        suppression = find_suppression(finding, self.sources)
        if suppression is not None:
            comments[(suppression.file, suppression.line)] = (suppression, True)
        if suppression is not None and suppression.reason and suppression.bad_until is None:
            until = suppression.until.isoformat() if suppression.until is not None else None
            acceptance = Acceptance(by="inline", reason=suppression.reason, expires=until)
            if not suppression.expired(self.today):
                finding.accepted = acceptance
                return
            expired = acceptance
        entry = self._entries.get(finding.fingerprint)
        if entry is None:
            finding.expired_acceptance = expired
            return
        acceptance = Acceptance(
            by="baseline", reason=entry.reason, expires=entry.expires.isoformat() if entry.expires else None
        )
        if entry.expires is not None and entry.expires <= self.today:
            finding.expired_acceptance = expired or acceptance
        else:
            finding.accepted = acceptance

    def _unlisted_errors(self, outcome: CheckOutcome) -> bool:
        """Whether the check counted more errors than it listed as findings (a tool's long output)."""
        counted = outcome.observations.get("errors")
        listed = sum(1 for f in outcome.findings if f.severity is Severity.ERROR)
        return isinstance(counted, int) and counted > listed

    def apply(self, outcome: CheckOutcome) -> CheckOutcome:
        """``outcome`` with its findings fingerprinted and judged, and its status recomputed (changed in place)."""
        comments: dict[tuple[str, int], tuple[Suppression, bool]] = {}
        for finding in outcome.findings:
            self._accept(finding, comments)
        for comment, own in comments.values():
            for warning in comment_warnings(comment, outcome, own=own, known=self.known_checks):
                warning.fingerprint = fingerprint(warning, self.sources)
                outcome.findings.append(warning)
        self._restatus(outcome)
        return outcome

    def _restatus(self, outcome: CheckOutcome) -> None:
        failing = failing_severities(self.threshold)
        accepted = [f for f in outcome.findings if f.accepted is not None and f.severity is not Severity.INFO]
        counting = [f for f in outcome.findings if f.accepted is None and f.severity in failing]
        if outcome.status is CheckStatus.FAILED:
            if not accepted:
                return
            if counting or outcome.check in AGGREGATE_CHECKS or self._unlisted_errors(outcome):
                outcome.summary += f" ({_plural(len(accepted), 'accepted finding')} did not change this)"
                return
            outcome.status = CheckStatus.PASSED
            outcome.summary = (
                f"{_plural(len(accepted), 'accepted finding')}, nothing else failed (without them: {outcome.summary})"
            )
        elif outcome.status is CheckStatus.PASSED:
            warnings = [f for f in counting if f.severity is Severity.WARNING]
            if warnings and Severity.WARNING in failing:
                outcome.status = CheckStatus.FAILED
                count = _plural(len(warnings), "warning")
                outcome.summary += f"; fails on {count} (--backend-fail-on-severity warning)"
            elif accepted:
                outcome.summary += f" ({_plural(len(accepted), 'accepted finding')})"
