"""Inline suppressions: ``# backend-gate: ignore[CHECK-ID, ...] [until YYYY-MM-DD] reason`` on a finding's line or
the line above.

Only findings with a file and a line can be suppressed this way (bandit, secrets, hashing, timeouts, ruff, mypy,
docstrings...). The ids are gate check ids (``security.bandit``), matched exactly against ``Finding.check``. The
reason is required: a comment without one suppresses nothing and is reported as a warning. ``until DATE`` right
after the ``]`` makes the suppression run out: from that date on the finding counts again, as a baseline entry's
``expires`` does. A date that is not ``YYYY-MM-DD`` makes the comment suppress nothing (and is reported).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from pytest_backend_agent.findings import Finding
from pytest_backend_agent.noise.fingerprint import SourceIndex

__all__ = ["Suppression", "comments_near", "find_suppression", "parse_suppression", "suggest_check"]

_COMMENT = re.compile(r"#\s*backend-gate:\s*ignore\[(?P<ids>[^\]]*)\](?P<rest>.*)$")
_UNTIL = re.compile(r"\s*until(?![\w-])(?:\s+(?P<date>[^\s:]+))?(?P<rest>.*)$")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Suppression:
    """One ``# backend-gate: ignore[...]`` comment: the check ids it names, its reason, where it is, and its
    expiry (``until``) when it has one.

    ``bad_until`` is the text written after ``until`` when it is not a ``YYYY-MM-DD`` date (``""`` when nothing
    follows): such a comment suppresses nothing.
    """

    checks: tuple[str, ...]
    reason: str
    file: str
    line: int
    until: date | None = None
    bad_until: str | None = None

    def expired(self, today: date) -> bool:
        """Whether its ``until`` date has come (on that date the finding counts again)."""
        return self.until is not None and self.until <= today


def _reason(text: str) -> str:
    return text.strip().lstrip(":-–— ").strip()


def _date(text: str) -> date | None:
    if not _ISO_DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:  # 2027-02-30
        return None


def parse_suppression(text: str, file: str = "", line: int = 0) -> Suppression | None:
    """The suppression comment in one source line, or None when it holds none.

    ``until`` is read only when it directly follows the ``]``; after a ``:`` it is part of the reason.
    """
    match = _COMMENT.search(text)
    if match is None:
        return None
    checks = tuple(part.strip() for part in match["ids"].split(",") if part.strip())
    until = _UNTIL.match(match["rest"])
    if until is None:
        return Suppression(checks, _reason(match["rest"]), file, line)
    written = until["date"] or ""
    expiry = _date(written)
    reason = _reason(until["rest"])
    if expiry is None:
        return Suppression(checks, reason, file, line, bad_until=written)
    return Suppression(checks, reason, file, line, until=expiry)


def comments_near(finding: Finding, sources: SourceIndex) -> list[Suppression]:
    """The suppression comments on the finding's line and on the line above (in that order), whatever they name."""
    place = finding.location
    if not place.file or not place.line:
        return []
    found = []
    for number in (place.line, place.line - 1):
        text = sources.line(place.file, number)
        suppression = parse_suppression(text, place.file, number) if text is not None else None
        if suppression is not None:
            found.append(suppression)
    return found


def find_suppression(finding: Finding, sources: SourceIndex) -> Suppression | None:
    """The comment on the finding's line, else on the line above, that names the finding's check."""
    return next((s for s in comments_near(finding, sources) if finding.check in s.checks), None)


def suggest_check(unknown: str, known: Iterable[str]) -> str | None:
    """The known check id ``unknown`` most likely meant (a typo, another case, the name without its family), or
    None when none is close."""
    ids = sorted(known)
    lowered = {check.lower(): check for check in ids}
    if unknown.lower() in lowered:
        return lowered[unknown.lower()]
    by_name = {check.rsplit(".", 1)[-1].lower(): check for check in ids}
    name = unknown.lower().replace("-", "_")
    if name in by_name:
        return by_name[name]
    close = difflib.get_close_matches(unknown.lower(), list(lowered), n=1, cutoff=0.75)
    if close:
        return lowered[close[0]]
    close = difflib.get_close_matches(name.rsplit(".", 1)[-1], list(by_name), n=1, cutoff=0.75)
    return by_name[close[0]] if close else None
