"""Docstring coverage of the backend's public functions and classes, read from the source with ``ast``.

Counted: module-level functions and classes, and the methods of those classes, whose names do not start with
an underscore; ``@overload`` stubs and property setters and deleters are not counted (they share the
documented definition). Files under ``tests``, ``test`` and ``migrations`` folders, ``test_*.py`` and
``conftest.py`` are skipped. The check is reported; it fails only under ``--backend-docstring-min``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_backend_agent.checks.base import CheckSpec, make_outcome
from pytest_backend_agent.checks.context import GateContext
from pytest_backend_agent.findings import CheckOutcome, CheckStatus, Finding, Location, Severity
from pytest_backend_agent.packet.model import Packet
from pytest_backend_agent.report.project_files import project_root, shown_path
from pytest_backend_agent.settings import Settings

__all__ = ["DocstringCoverage", "docstring_checks", "docstring_coverage"]

CHECK = "quality.docstrings"
FAMILY = "quality"
MAX_LISTED = 50
_SKIPPED_FOLDERS = {"tests", "test", "migrations", "__pycache__", ".venv", "venv", "build", "dist"}


@dataclass(frozen=True)
class Undocumented:
    """A public function or class without a docstring."""

    file: str
    line: int
    name: str


@dataclass
class DocstringCoverage:
    """Public definitions counted, and the undocumented ones."""

    total: int
    missing: list[Undocumented]
    problems: list[str]

    @property
    def percent(self) -> float:
        """Documented share of public definitions (100 when there are none)."""
        return round(100.0 * (self.total - len(self.missing)) / self.total, 2) if self.total else 100.0


def _skipped_decorator(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for decorator in node.decorator_list:
        name = ast.unparse(decorator)
        if name in ("overload", "typing.overload") or name.endswith((".setter", ".deleter")):
            return True
    return False


def _public(name: str) -> bool:
    return not name.startswith("_")


def _definitions(tree: ast.Module) -> list[tuple[str, ast.AST]]:
    found: list[tuple[str, ast.AST]] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _public(node.name):
            if not _skipped_decorator(node):
                found.append((node.name, node))
        elif isinstance(node, ast.ClassDef) and _public(node.name):
            found.append((node.name, node))
            for member in node.body:
                if (
                    isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef)
                    and _public(member.name)
                    and not _skipped_decorator(member)
                ):
                    found.append((f"{node.name}.{member.name}", member))
    return found


def docstring_coverage(src: Path, root: Path) -> DocstringCoverage:
    """Count the public functions and classes under ``src`` and those without a docstring (paths from ``root``)."""
    total = 0
    missing: list[Undocumented] = []
    problems: list[str] = []
    for path in sorted(src.rglob("*.py")):
        relative = path.relative_to(src)
        if _SKIPPED_FOLDERS.intersection(relative.parts[:-1]) or path.name == "conftest.py":
            continue
        if path.name.startswith("test_") or path.name.endswith("_test.py"):
            continue
        try:
            shown = path.relative_to(root).as_posix()
        except ValueError:
            shown = str(path)
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except (SyntaxError, UnicodeDecodeError, OSError) as error:
            problems.append(f"{shown} could not be read: {type(error).__name__}: {error}")
            continue
        for name, node in _definitions(tree):
            assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)  # noqa: S101
            total += 1
            if ast.get_docstring(node) is None:
                missing.append(Undocumented(shown, node.lineno, name))
    return DocstringCoverage(total, missing, problems)


def check_docstrings(context: GateContext) -> CheckOutcome:
    """Report the docstring coverage; fail under ``--backend-docstring-min`` when it is set."""
    settings = context.settings
    src = settings.src_dir
    if src is None:
        return make_outcome(
            FAMILY,
            CHECK,
            "src",
            CheckStatus.NOT_VERIFIED,
            "no source folder to read: set --backend-src (ini backend_src)",
        )
    root = project_root(settings.rootdir, src)
    target = shown_path(src, root)
    found = docstring_coverage(src, root)
    threshold = settings.docstring_min
    figure = (
        f"{found.total - len(found.missing)} of {found.total} public functions and classes have a docstring "
        f"({found.percent:g}%)"
    )
    evidence = [figure, *found.problems]
    evidence.extend(f"no docstring: {m.file}:{m.line} {m.name}" for m in found.missing[:MAX_LISTED])
    if len(found.missing) > MAX_LISTED:
        evidence.append(f"... and {len(found.missing) - MAX_LISTED} more")
    observations: dict[str, Any] = {
        "percent": found.percent,
        "documented": found.total - len(found.missing),
        "total": found.total,
        "threshold": threshold,
    }
    if threshold is None or found.percent >= threshold:
        bar = "no threshold set (--backend-docstring-min)" if threshold is None else f"threshold {threshold:g}%"
        return make_outcome(
            FAMILY, CHECK, target, CheckStatus.PASSED, f"{figure}; {bar}", evidence=evidence, **observations
        )
    findings = [
        Finding(
            check=CHECK,
            category=FAMILY,
            severity=Severity.ERROR,
            title=f"{m.name} has no docstring",
            location=Location(file=m.file, line=m.line),
            fix="Say in a docstring what it does and returns.",
        )
        for m in found.missing[:MAX_LISTED]
    ]
    return make_outcome(
        FAMILY,
        CHECK,
        target,
        CheckStatus.FAILED,
        f"{figure}, below the threshold of {threshold:g}% (--backend-docstring-min)",
        evidence=evidence,
        findings=findings,
        **observations,
    )


def docstring_checks(packet: Packet, settings: Settings) -> list[CheckSpec]:
    """One item reading the docstrings of the source folder."""
    src = settings.src_dir
    target = shown_path(src, project_root(settings.rootdir, src)) if src is not None else "src"
    return [CheckSpec(check=CHECK, family=FAMILY, name="docstrings", target=target, run=check_docstrings, location=src)]
