"""Findings and check outcomes: the plain data every check returns.

They are pydantic models so they travel as JSON (pytest-xdist carries them from workers on
``report.user_properties``) and so the report contract can be generated from them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CheckOutcome", "CheckStatus", "Finding", "Location", "Severity"]


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

    def one_line(self) -> str:
        """``[check] place: title`` for known_issues and the terminal."""
        return f"[{self.check}] {self.location.describe()}: {self.title}"


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
