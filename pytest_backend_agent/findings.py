"""Findings and check outcomes: the plain data every check returns.

They are pydantic models so they travel as JSON (pytest-xdist carries them from workers on
``report.user_properties``) and so the report contract can be generated from them.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Acceptance", "CheckOutcome", "CheckStatus", "Finding", "Location", "Severity", "family_counts"]


class Severity(StrEnum):
    """How much a finding matters: only ``error`` fails the gate."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class CheckStatus(StrEnum):
    """What a check established: it passed, it failed, or it could not be observed."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_VERIFIED = "not verified"


class Location(BaseModel):
    """Where a finding is: an endpoint (``METHOD /path``), a file and line, or a data model."""

    model_config = ConfigDict(extra="forbid")

    endpoint: str | None = Field(default=None, description="METHOD /path as in the packet")
    file: str | None = Field(default=None, description="Path relative to the project root")
    line: int | None = Field(default=None, ge=1)
    model: str | None = Field(default=None, description="Data model or table, e.g. Book.isbn")

    def describe(self) -> str:
        """A short human-readable place, e.g. ``GET /api/v1/books`` or ``app/db.py:12``."""
        parts: list[str] = []
        if self.endpoint:
            parts.append(self.endpoint)
        if self.model:
            parts.append(self.model)
        if self.file:
            parts.append(f"{self.file}:{self.line}" if self.line else self.file)
        return ", ".join(parts) or "(backend)"


class Acceptance(BaseModel):
    """Why a finding is accepted: a baseline entry or an inline ``# backend-gate: ignore[...]`` comment."""

    model_config = ConfigDict(extra="forbid")

    by: Literal["baseline", "inline"] = Field(description="baseline (--backend-baseline) or inline (a source comment)")
    reason: str = Field(description="Why it is accepted, as its author wrote it")
    expires: str | None = Field(
        default=None,
        description="ISO date from which the acceptance no longer holds (a baseline entry's expires, an inline "
        "comment's until)",
    )


class Finding(BaseModel):
    """One defect or observation, with the place, the evidence and the fix."""

    model_config = ConfigDict(extra="forbid")

    check: str = Field(description="Check id, e.g. contract.auth")
    category: str = Field(description="contract, data, security, quality, fuzz, performance")
    severity: Severity
    title: str = Field(description="One line saying what is wrong")
    location: Location
    evidence: str = Field(default="", description="What the gate observed (secrets redacted)")
    fix: str = Field(default="", description="What to do about it")
    reproduction: str | None = Field(default=None, description="A command that reproduces it (curl)")
    fingerprint: str | None = Field(
        default=None,
        description="Stable id of the finding for baselines: check, place (no line number) and normalised evidence",
    )
    accepted: Acceptance | None = Field(
        default=None, description="Set when a baseline entry or an inline suppression accepts it: it fails nothing"
    )
    expired_acceptance: Acceptance | None = Field(
        default=None,
        description="A baseline entry's or inline comment's acceptance whose expiry date has come: the finding counts "
        "again",
    )

    def one_line(self) -> str:
        """``[check] place: title`` for known_issues and the terminal (with a note when its acceptance expired)."""
        line = f"[{self.check}] {self.location.describe()}: {self.title}"
        if self.expired_acceptance is not None:
            line += f" (its {self.expired_acceptance.by} acceptance expired on {self.expired_acceptance.expires})"
        return line


class CheckOutcome(BaseModel):
    """The result of one gate check (one pytest item)."""

    model_config = ConfigDict(extra="forbid")

    check: str = Field(description="Check id, e.g. contract.implemented")
    family: str = Field(description="Check family: contract, data, ...")
    target: str = Field(description="What was checked, e.g. GET /api/v1/books")
    status: CheckStatus
    summary: str = Field(description="One sentence saying what was established")
    evidence: list[str] = Field(default_factory=list, description="Observations behind the status")
    findings: list[Finding] = Field(default_factory=list)
    observations: dict[str, Any] = Field(
        default_factory=dict, description="Machine-readable facts the report is built from"
    )
    duration_s: float = 0.0


def family_counts(outcomes: Iterable[CheckOutcome]) -> dict[str, dict[CheckStatus, int]]:
    """How many outcomes of each family passed, failed and were not verified, families in the order first seen:
    the counts the terminal, the Markdown summary and the report's ``gate.families`` all show."""
    families: dict[str, dict[CheckStatus, int]] = {}
    for outcome in outcomes:
        row = families.setdefault(outcome.family, dict.fromkeys(CheckStatus, 0))
        row[outcome.status] += 1
    return families
