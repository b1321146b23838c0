"""Warnings about ``# backend-gate: ignore[...]`` comments that cannot do what their author meant.

Each is a warning finding at the comment's file:line, in the outcome of the check whose finding the comment sits
next to (the same place a comment without a reason has always been reported):

- the comment names the finding's check but has no reason, or a ``until`` date that is not ``YYYY-MM-DD``: it
  suppresses nothing;
- the comment names an id the gate has no check for (``security.bandt``): it can never suppress anything. The
  warning names the closest known id when there is one.

Their titles all start with :data:`COMMENT_WARNING_PREFIX`; a baseline never records them
(:func:`is_comment_warning`): the fix is to correct the comment.
"""

from __future__ import annotations

from pytest_backend_agent.findings import CheckOutcome, Finding, Location, Severity
from pytest_backend_agent.noise.inline import Suppression, suggest_check

__all__ = [
    "BAD_UNTIL_TITLE",
    "COMMENT_WARNING_PREFIX",
    "NO_REASON_TITLE",
    "comment_warnings",
    "is_comment_warning",
    "unknown_check_title",
]

COMMENT_WARNING_PREFIX = "backend-gate: ignore[...] "
NO_REASON_TITLE = COMMENT_WARNING_PREFIX + "comment without a reason suppresses nothing"
BAD_UNTIL_TITLE = COMMENT_WARNING_PREFIX + "comment with a malformed 'until' date suppresses nothing"
_EXAMPLE = "'# backend-gate: ignore[security.bandit] until 2027-03-31: the query text is a constant'"


def unknown_check_title(check: str, suggestion: str | None) -> str:
    """The title of the warning about a comment naming ``check``, which the gate does not have."""
    title = f"{COMMENT_WARNING_PREFIX}names '{check}', which is not a check id of the gate"
    return title + (f" (did you mean '{suggestion}'?)" if suggestion else "")


def is_comment_warning(finding: Finding) -> bool:
    """Whether ``finding`` is one of these warnings about a suppression comment."""
    return finding.severity is Severity.WARNING and finding.title.startswith(COMMENT_WARNING_PREFIX)


def _ids(comment: Suppression) -> str:
    return f"ignore[{', '.join(comment.checks)}]"


def _warning(comment: Suppression, outcome: CheckOutcome, title: str, evidence: str, fix: str) -> Finding:
    return Finding(
        check=outcome.check,
        category=outcome.family,
        severity=Severity.WARNING,
        title=title,
        location=Location(file=comment.file, line=comment.line),
        evidence=evidence,
        fix=fix,
    )


def comment_warnings(
    comment: Suppression, outcome: CheckOutcome, *, own: bool, known: frozenset[str] | None
) -> list[Finding]:
    """The warnings about ``comment``, found next to a finding of ``outcome``.

    ``own``: the comment names that finding's check (so its missing reason or malformed date is why the finding
    was not accepted). ``known``: the gate's check ids (None: ids are not judged).
    """
    warnings: list[Finding] = []
    if own and comment.bad_until is not None:
        written = f"'until {comment.bad_until}'" if comment.bad_until else "'until' without a date"
        warnings.append(
            _warning(
                comment,
                outcome,
                BAD_UNTIL_TITLE,
                f"{_ids(comment)} {written}: the date must be YYYY-MM-DD",
                f"Write the date as YYYY-MM-DD right after 'until', then the reason, e.g. {_EXAMPLE}; or drop "
                "'until' (to start the reason with the word 'until', put a ':' after the ']').",
            )
        )
    elif own and not comment.reason:
        warnings.append(
            _warning(
                comment,
                outcome,
                NO_REASON_TITLE,
                f"{_ids(comment)} with nothing after the ']'"
                if comment.until is None
                else f"{_ids(comment)} until {comment.until.isoformat()} with no reason after the date",
                "Say why the finding is accepted after the ']' (and after an 'until' date), e.g. "
                "'# backend-gate: ignore[security.bandit] the query text is a constant', or fix the code.",
            )
        )
    unknown = [check for check in comment.checks if known is not None and check not in known]
    for check in unknown:
        suggestion = suggest_check(check, known or ())
        warnings.append(
            _warning(
                comment,
                outcome,
                unknown_check_title(check, suggestion),
                f"{_ids(comment)}: the gate has no check '{check}', so this comment suppresses none of its findings",
                (f"Write '{suggestion}'" if suggestion else "Name a gate check id (docs/checks.md)")
                + " in the brackets: the ids are the gate's check ids, as in the finding's [check], not a tool's "
                "rule codes (E501, B608).",
            )
        )
    return warnings
