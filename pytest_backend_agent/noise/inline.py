"""Inline suppressions: ``# backend-gate: ignore[CHECK-ID, ...] reason`` on a finding's line or the line above.

Only findings with a file and a line can be suppressed this way (bandit, secrets, hashing, timeouts, ruff, mypy,
docstrings...). The reason is required: a comment without one suppresses nothing and is reported as a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pytest_backend_agent.findings import Finding
from pytest_backend_agent.noise.fingerprint import SourceIndex

__all__ = ["Suppression", "find_suppression", "parse_suppression"]

_COMMENT = re.compile(r"#\s*backend-gate:\s*ignore\[(?P<ids>[^\]]*)\](?P<reason>.*)$")


@dataclass(frozen=True)
class Suppression:
    """One ``# backend-gate: ignore[...]`` comment: the check ids it names, its reason, where it is."""

    checks: tuple[str, ...]
    reason: str
    file: str
    line: int


def parse_suppression(text: str, file: str = "", line: int = 0) -> Suppression | None:
    """The suppression comment in one source line, or None when it holds none."""
    match = _COMMENT.search(text)
    if match is None:
        return None
    checks = tuple(part.strip() for part in match["ids"].split(",") if part.strip())
    reason = match["reason"].strip().lstrip(":-–— ").strip()
    return Suppression(checks, reason, file, line)


def find_suppression(finding: Finding, sources: SourceIndex) -> Suppression | None:
    """The comment on the finding's line, else on the line above, that names the finding's check."""
    place = finding.location
    if not place.file or not place.line:
        return None
    for number in (place.line, place.line - 1):
        text = sources.line(place.file, number)
        suppression = parse_suppression(text, place.file, number) if text is not None else None
        if suppression is not None and finding.check in suppression.checks:
            return suppression
    return None
