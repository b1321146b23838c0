"""Shared pieces of the security checks: outcomes, findings and the source files they read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from pytest_backend_agent.checks.base import make_outcome
from pytest_backend_agent.findings import CheckOutcome, CheckStatus, Finding, Location, Severity

__all__ = [
    "FAMILY",
    "excerpt",
    "file_location",
    "finding",
    "outcome",
    "relative",
    "source_files",
]

FAMILY = "security"
_TEST_DIRS = frozenset({"tests", "test", "testing"})
_SKIP_DIRS = frozenset({"__pycache__", ".venv", "venv", "node_modules", ".git", ".mypy_cache", ".pytest_cache"})


def outcome(
    check: str,
    target: str,
    status: CheckStatus,
    summary: str,
    *,
    evidence: list[str] | None = None,
    findings: list[Finding] | None = None,
    **observations: Any,
) -> CheckOutcome:
    """A security check outcome."""
    return make_outcome(FAMILY, check, target, status, summary, evidence=evidence, findings=findings, **observations)


def finding(
    check: str,
    title: str,
    location: Location,
    *,
    evidence: str = "",
    fix: str = "",
    reproduction: str | None = None,
    severity: Severity = Severity.ERROR,
) -> Finding:
    """A finding in the ``security`` category."""
    return Finding(
        check=check,
        category=FAMILY,
        severity=severity,
        title=title,
        location=location,
        evidence=evidence,
        fix=fix,
        reproduction=reproduction,
    )


def is_test_path(path: Path, root: Path) -> bool:
    """True for test code: a folder named tests/test, ``test_*.py``, ``*_test.py`` or ``conftest.py``."""
    parts = path.relative_to(root).parts
    name = path.name
    return (
        any(part in _TEST_DIRS for part in parts[:-1])
        or name == "conftest.py"
        or (name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py")))
    )


def source_files(src: Path, suffixes: frozenset[str] | None = None) -> Iterator[Path]:
    """Files under ``src`` (tests, caches and virtualenvs excluded), sorted; only ``suffixes`` when given."""
    for path in sorted(src.rglob("*")):
        relative_parts = path.relative_to(src).parts
        if any(part in _SKIP_DIRS for part in relative_parts) or not path.is_file():
            continue
        if is_test_path(path, src):
            continue
        if suffixes is not None and path.suffix not in suffixes and path.name not in suffixes:
            continue
        yield path


def relative(path: Path | str, rootdir: Path) -> str:
    """``path`` relative to the project root when it is inside it, with forward slashes."""
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(rootdir).as_posix()
    except ValueError:
        return resolved.as_posix()


def file_location(path: Path | str, line: int | None, rootdir: Path) -> Location:
    """A file:line location relative to the project root."""
    return Location(file=relative(path, rootdir), line=line if line and line >= 1 else None)


def excerpt(response: httpx.Response, limit: int = 240) -> str:
    """The start of a response body on one line."""
    text = response.text.strip().replace("\n", " ")
    return text[:limit] + ("..." if len(text) > limit else "")
