"""The baseline file: findings a team has accepted, each by fingerprint, with a reason and an optional expiry.

The file is JSON (format in docs/baselines.md). Loading it checks every entry and stops the run with one
paragraph naming the file and the JSON path when something is wrong. ``--backend-baseline-update`` rewrites it
from a run's findings, keeping the reasons and expiry dates of the entries still seen.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pytest_backend_agent.errors import GateUsageError
from pytest_backend_agent.findings import Finding, Severity
from pytest_backend_agent.noise.comment_warnings import is_comment_warning
from pytest_backend_agent.noise.fingerprint import FINGERPRINT_LENGTH

__all__ = [
    "TODO_REASON",
    "Baseline",
    "BaselineEntry",
    "BaselineUpdate",
    "load_baseline",
    "update_baseline",
    "write_baseline",
]

TODO_REASON = "TODO: explain why this is accepted"
_DOCS = "docs/baselines.md"


class BaselineEntry(BaseModel):
    """One accepted finding: its fingerprint, what it is (for reviewers), why it is accepted, until when."""

    model_config = ConfigDict(extra="forbid")

    fingerprint: str = Field(pattern=f"^[0-9a-f]{{{FINGERPRINT_LENGTH}}}$")
    check: str = Field(min_length=1, description="The check id, e.g. security.bandit")
    title: str = Field(description="The finding's title when it was accepted")
    location: str = Field(description="Where it was, e.g. app/db.py:12 or GET /api/v1/books")
    reason: str = Field(description="Why it is accepted (required)")
    expires: date | None = Field(default=None, description="ISO date from which the acceptance no longer holds")

    @field_validator("reason")
    @classmethod
    def _reason_given(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the reason is empty: say why this finding is accepted")
        return value

    @field_validator("expires", mode="before")
    @classmethod
    def _iso_date(cls, value: object) -> object:
        if value is None:
            return None
        try:
            if not isinstance(value, str):
                raise TypeError
            return date.fromisoformat(value)
        except (TypeError, ValueError):
            raise ValueError(f"{value!r} is not an ISO date (YYYY-MM-DD)") from None


class Baseline(BaseModel):
    """The whole file."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    entries: list[BaselineEntry] = Field(default_factory=list)

    def by_fingerprint(self) -> dict[str, BaselineEntry]:
        """The entries keyed by fingerprint."""
        return {entry.fingerprint: entry for entry in self.entries}


def _json_path(location: Iterable[int | str]) -> str:
    text = "$"
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _error(path: Path, where: str, problem: str) -> GateUsageError:
    return GateUsageError(
        f"backend baseline {path}: {where}: {problem}. Every entry needs fingerprint, check, title, location and "
        f"reason (a non-empty string saying why the finding is accepted), and may have expires (an ISO date such "
        f"as 2027-01-31); no other keys are allowed. Fix the entry or delete it, or rewrite the file from a run "
        f"with --backend-baseline-update (the format is in {_DOCS})."
    )


def load_baseline(path: Path, *, must_exist: bool = True) -> Baseline:
    """Read and check the baseline at ``path``; raise :class:`GateUsageError` naming the JSON path on error.

    When it does not exist and ``must_exist`` is false (``--backend-baseline-update``), an empty baseline.
    """
    __tracebackhide__ = True
    if not path.is_file():
        if not must_exist:
            return Baseline()
        raise GateUsageError(
            f"backend baseline not found: {path} (--backend-baseline, ini backend_baseline). Create it from a run "
            "with --backend-baseline-update, or fix the path."
        )
    try:
        data: Any = json.loads(path.read_bytes())
    except json.JSONDecodeError as error:
        raise GateUsageError(
            f"backend baseline {path} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}. "
            f"Fix the JSON syntax, or rewrite the file with --backend-baseline-update (see {_DOCS})."
        ) from None
    except UnicodeDecodeError:
        raise GateUsageError(f"backend baseline {path} is not UTF-8 text. Save it as UTF-8 JSON.") from None
    try:
        baseline = Baseline.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        problem = first["msg"]
        if first["type"] == "missing":
            problem = "this required key is missing"
        elif first["type"] == "extra_forbidden":
            problem = "this key is not allowed"
        elif first["type"] == "value_error":
            problem = problem.removeprefix("Value error, ")
        more = f" (and {error.error_count() - 1} more problem(s))" if error.error_count() > 1 else ""
        raise _error(path, _json_path(first["loc"]), problem + more) from None
    seen: dict[str, int] = {}
    for index, entry in enumerate(baseline.entries):
        if entry.fingerprint in seen:
            raise _error(
                path,
                f"$.entries[{index}].fingerprint",
                f"{entry.fingerprint} is listed twice (first at $.entries[{seen[entry.fingerprint]}])",
            )
        seen[entry.fingerprint] = index
    return baseline


def write_baseline(path: Path, baseline: Baseline) -> None:
    """Write the baseline atomically (a reader never sees half a file), entries in a stable order."""
    from pytest_backend_agent.report.write import write_json_atomic

    write_json_atomic(path, baseline.model_dump(mode="json", exclude_none=True))


@dataclass(frozen=True)
class BaselineUpdate:
    """What ``--backend-baseline-update`` did."""

    baseline: Baseline
    added: list[BaselineEntry]
    dropped: list[BaselineEntry]
    kept_unjudged: list[BaselineEntry]


def update_baseline(old: Baseline, findings: Iterable[Finding], judged_checks: set[str]) -> BaselineUpdate:
    """A baseline accepting every error and warning finding of this run that no inline comment accepts.

    Entries still seen keep their reason and expiry; new ones get :data:`TODO_REASON`. Entries not seen are
    dropped when their check was fully judged in this run (``judged_checks``: every item of the check ran and
    none was not verified); otherwise they are kept, since this run could not have seen them.
    """
    existing = old.by_fingerprint()
    entries: dict[str, BaselineEntry] = {}
    added: list[BaselineEntry] = []
    for finding in findings:
        if finding.severity is Severity.INFO or finding.fingerprint is None or is_comment_warning(finding):
            continue
        if finding.accepted is not None and finding.accepted.by == "inline":
            continue
        if finding.fingerprint in entries:
            continue
        entry = existing.get(finding.fingerprint)
        if entry is None:
            entry = BaselineEntry(
                fingerprint=finding.fingerprint,
                check=finding.check,
                title=finding.title,
                location=finding.location.describe(),
                reason=TODO_REASON,
            )
            added.append(entry)
        entries[finding.fingerprint] = entry
    dropped: list[BaselineEntry] = []
    kept: list[BaselineEntry] = []
    for entry in old.entries:
        if entry.fingerprint in entries:
            continue
        if entry.check in judged_checks:
            dropped.append(entry)
        else:
            kept.append(entry)
            entries[entry.fingerprint] = entry
    ordered = sorted(entries.values(), key=lambda e: (e.check, e.location, e.title, e.fingerprint))
    return BaselineUpdate(Baseline(entries=ordered), added, dropped, kept)
