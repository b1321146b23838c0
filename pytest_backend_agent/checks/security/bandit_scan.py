"""Running bandit through its own Python API on the backend's source folder (tests excluded)."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

from pytest_backend_agent.checks.security.common import is_test_path, source_files

__all__ = ["LEVELS", "BanditIssue", "BanditRun", "at_least", "run_bandit"]

LEVELS = ("low", "medium", "high")


@dataclass(frozen=True)
class BanditIssue:
    """One issue bandit reported."""

    test_id: str
    test_name: str
    severity: str
    confidence: str
    text: str
    file: Path
    line: int
    code: str


@dataclass(frozen=True)
class BanditRun:
    """What bandit reported: its issues, the files it scanned, and files it could not parse."""

    issues: list[BanditIssue]
    files: list[Path]
    skipped: list[str]
    version: str


def run_bandit(src: Path) -> BanditRun:
    """Scan every Python file under ``src`` except tests with bandit's default profile (all plugins)."""
    stevedore = logging.getLogger("stevedore")
    quiet = stevedore.level
    stevedore.setLevel(logging.CRITICAL)  # bandit's optional formatters (sarif_om, ...) log errors when absent
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # stevedore warns about a deprecated argument bandit still passes
            import bandit
            from bandit.core import config as bandit_config
            from bandit.core import manager as bandit_manager
    finally:
        stevedore.setLevel(quiet)

    files = [path for path in source_files(src, frozenset({".py"})) if not is_test_path(path, src)]
    bandit_logger = logging.getLogger("bandit")
    level = bandit_logger.level
    bandit_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            manager = bandit_manager.BanditManager(bandit_config.BanditConfig(), "file", quiet=True)
            manager.files_list = [str(path) for path in files]
            manager.run_tests()
    finally:
        bandit_logger.setLevel(level)
    issues = [
        BanditIssue(
            test_id=str(issue.test_id),
            test_name=str(issue.test),
            severity=str(issue.severity).lower(),
            confidence=str(issue.confidence).lower(),
            text=str(issue.text),
            file=Path(issue.fname),
            line=int(issue.lineno or 1),
            code=_line(Path(issue.fname), int(issue.lineno or 1)),
        )
        for issue in manager.get_issue_list()
    ]
    issues.sort(key=lambda i: (str(i.file), i.line, i.test_id))
    skipped = [f"{name}: {reason}" for name, reason in manager.skipped]
    return BanditRun(issues=issues, files=files, skipped=skipped, version=str(bandit.__version__))


def _line(path: Path, line: int) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def at_least(level: str, threshold: str) -> bool:
    """Whether bandit level ``level`` (low/medium/high; undefined counts as low) reaches ``threshold``."""
    rank = {name: index for index, name in enumerate(LEVELS)}
    return rank.get(level, 0) >= rank.get(threshold, 1)
