"""Coverage of the backend's source by the project's own tests: read from pytest-cov, or measured with coverage.py.

When pytest-cov measures the session (``--cov``), its combined data is read at session end, restricted to the
backend's source folder. Otherwise the gate measures itself: coverage.py starts in every pytest process before
the project's conftest files are imported (``pytest_load_initial_conftests``), is restricted to the source
folder, pauses while the gate's own work runs (opening the backend, each gate check), and the data of every
pytest-xdist worker is combined on the controller. Lines and branches are measured; the figure is
coverage.py's total (covered lines and branches over all lines and branches).
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import tempfile
import tomllib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_backend_agent.checks.base import make_outcome
from pytest_backend_agent.findings import CheckOutcome, CheckStatus, Finding, Location, Severity

if TYPE_CHECKING:
    import coverage

__all__ = [
    "DEFAULT_THRESHOLD",
    "MEASUREMENT_KEY",
    "CoverageFigures",
    "FileCoverage",
    "Measurement",
    "coverage_config_file",
    "figures_of",
    "judge_coverage",
    "pytest_cov_coverage",
    "pytest_cov_requested",
    "start_measurement",
]

CHECK = "quality.coverage"
FAMILY = "quality"
DEFAULT_THRESHOLD = 80.0
WORST_FILES = 5
TEST_FILES = ("*/tests/*", "*/test/*", "*/test_*.py", "*/*_test.py", "*/conftest.py")
"""Omitted from the figure even inside the source folder: the tests are not the code under test."""
_SILENCED = [
    "no-data-collected",
    "module-not-imported",
    "module-not-measured",
    "already-imported",
    "include-ignored",
    "couldnt-parse",
    "no-ctracer",
    "no-sysmon",
]


def coverage_config_file(root: Path) -> str | bool:
    """The project's coverage configuration in ``root`` (as coverage.py would find it), or False for none."""
    rc = root / ".coveragerc"
    if rc.is_file():
        return str(rc)
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            data = {}
        if isinstance(data.get("tool"), dict) and "coverage" in data["tool"]:
            return str(pyproject)
    for name in ("setup.cfg", "tox.ini"):
        path = root / name
        if path.is_file() and "[coverage:" in path.read_text(encoding="utf-8", errors="replace"):
            return str(path)
    return False


class Measurement:
    """coverage.py measuring the backend's source folder in this process (lines and branches)."""

    def __init__(self, src: Path, root: Path) -> None:
        import coverage

        self.src = src
        self.root = root
        self.config_file = coverage_config_file(root)
        self.folder = Path(tempfile.mkdtemp(prefix="backend-gate-coverage-"))
        self.cov: coverage.Coverage = coverage.Coverage(
            data_file=str(self.folder / ".coverage"),
            source=[str(src)],
            branch=True,
            config_file=self.config_file,
        )
        self.cov.set_option("run:disable_warnings", _SILENCED)
        self.cov.set_option("run:omit", [*(self.cov.get_option("run:omit") or []), *TEST_FILES])  # type: ignore[misc]
        self.running = False
        self.paused = False
        self.stopped = False

    def start(self) -> None:
        """Start measuring."""
        with _quiet():
            self.cov.start()
        self.running = True

    def pause(self) -> None:
        """Stop counting until :meth:`resume` (the gate's own work is running)."""
        if self.running and not self.paused:
            self.cov.stop()
            self.paused = True

    def resume(self) -> None:
        """Count again after :meth:`pause`."""
        if self.running and self.paused:
            self.cov.start()
            self.paused = False

    def stop(self) -> None:
        """Stop measuring for good and save the data (idempotent)."""
        if self.running:
            self.running = False
            if not self.paused:
                self.cov.stop()
            self.paused = False
            with _quiet():
                self.cov.save()
        self.stopped = True

    def dumps(self) -> str:
        """The data measured in this process, for the xdist controller (base64 of coverage.py's dump)."""
        self.stop()
        with _quiet():
            return base64.b64encode(self.cov.get_data().dumps()).decode("ascii")

    def combine(self, dumps: list[str]) -> None:
        """Add the data other processes measured (from :meth:`dumps`)."""
        from coverage import CoverageData

        self.stop()
        with _quiet():
            data = self.cov.get_data()
            for dumped in dumps:
                other = CoverageData(no_disk=True)
                other.loads(base64.b64decode(dumped))
                data.update(other)

    def close(self) -> None:
        """Stop and remove the data files."""
        if self.running:
            self.running = False
            if not self.paused:
                self.cov.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """coverage.py's own warnings would become errors under a project's ``filterwarnings = error``."""
    from coverage.exceptions import CoverageWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CoverageWarning)
        yield


MEASUREMENT_KEY = pytest.StashKey["Measurement | None"]()
"""The measurement of this process, started early by the plugin (None: pytest-cov measures, or none can)."""


def pytest_cov_requested(namespace: Any) -> bool:
    """Whether pytest-cov will measure this session (``--cov`` given and not ``--no-cov``)."""
    return bool(getattr(namespace, "cov_source", None)) and not getattr(namespace, "no_cov", False)


def start_measurement(src: Path, root: Path) -> Measurement | None:
    """Start measuring ``src`` now; None when coverage.py is not installed."""
    try:
        measurement = Measurement(src, root)
    except ImportError:
        return None
    measurement.start()
    return measurement


def pytest_cov_coverage(config: pytest.Config) -> coverage.Coverage | None:
    """pytest-cov's Coverage object when pytest-cov measures this session (after its runtestloop: combined)."""
    plugin = config.pluginmanager.getplugin("_cov")
    if plugin is None or getattr(plugin, "_disabled", False) or getattr(plugin.options, "no_cov", False):
        return None
    controller = getattr(plugin, "cov_controller", None)
    cov: coverage.Coverage | None = getattr(controller, "cov", None)
    return cov


@dataclass(frozen=True)
class FileCoverage:
    """One source file's figures."""

    path: str
    percent: float
    statements: int
    missing_lines: list[int]
    missing_branches: int


@dataclass
class CoverageFigures:
    """What a coverage measurement found over the source folder."""

    percent: float
    line_percent: float
    branch_percent: float | None
    statements: int
    covered_lines: int
    branches: int
    covered_branches: int
    method: str
    files: list[FileCoverage] = field(default_factory=list)

    def worst(self, count: int = WORST_FILES) -> list[FileCoverage]:
        """The ``count`` files with the lowest figure (most missing lines first among equals), below 100%."""
        below = [f for f in self.files if f.missing_lines or f.missing_branches]
        return sorted(below, key=lambda f: (f.percent, -len(f.missing_lines), f.path))[:count]


def figures_of(cov: coverage.Coverage, src: Path, root: Path, method: str) -> CoverageFigures:
    """Read ``cov``'s data for the files under ``src`` (raises coverage's ``NoDataError`` when it has none)."""
    with tempfile.TemporaryDirectory(prefix="backend-gate-coverage-") as folder, _quiet():
        out = Path(folder) / "coverage.json"
        cov.json_report(outfile=str(out), include=[str(src / "*")], omit=list(TEST_FILES), ignore_errors=True)
        report = json.loads(out.read_text(encoding="utf-8"))
    totals = report["totals"]
    files: list[FileCoverage] = []
    for name, entry in sorted(report["files"].items()):
        summary = entry["summary"]
        path = Path(name) if Path(name).is_absolute() else Path.cwd() / name
        try:
            shown = path.resolve().relative_to(root).as_posix()
        except ValueError:
            shown = str(path)
        files.append(
            FileCoverage(
                path=shown,
                percent=round(float(summary["percent_covered"]), 2),
                statements=int(summary["num_statements"]),
                missing_lines=list(entry.get("missing_lines", [])),
                missing_branches=int(summary.get("missing_branches", 0)),
            )
        )
    statements = int(totals["num_statements"])
    branches = int(totals.get("num_branches", 0))
    has_branches = bool(report.get("meta", {}).get("branch_coverage"))
    return CoverageFigures(
        percent=round(float(totals["percent_covered"]), 2),
        line_percent=round(100.0 * int(totals["covered_lines"]) / statements, 2) if statements else 100.0,
        branch_percent=(round(100.0 * int(totals["covered_branches"]) / branches, 2) if branches else 100.0)
        if has_branches
        else None,
        statements=statements,
        covered_lines=int(totals["covered_lines"]),
        branches=branches,
        covered_branches=int(totals.get("covered_branches", 0)),
        method=method,
        files=files,
    )


def line_ranges(lines: list[int]) -> str:
    """``[1, 2, 3, 7, 9, 10]`` -> ``1-3, 7, 9-10``."""
    ranges: list[str] = []
    start = previous = None
    for line in sorted(lines):
        if previous is not None and line == previous + 1:
            previous = line
            continue
        if start is not None:
            ranges.append(f"{start}-{previous}" if previous != start else str(start))
        start = previous = line
    if start is not None:
        ranges.append(f"{start}-{previous}" if previous != start else str(start))
    return ", ".join(ranges)


def judge_coverage(
    figures: CoverageFigures | None, problem: str, *, target: str, threshold: float, threshold_source: str
) -> CheckOutcome:
    """Failed below ``threshold`` (naming the worst files and their missing lines), not verified without figures."""
    if figures is None:
        return make_outcome(FAMILY, CHECK, target, CheckStatus.NOT_VERIFIED, problem)
    branches = (
        f", branches {figures.branch_percent:g}% ({figures.covered_branches}/{figures.branches})"
        if figures.branch_percent is not None
        else ", branches not measured"
    )
    evidence = [
        f"{figures.method}",
        f"total {figures.percent:g}%: lines {figures.line_percent:g}% ({figures.covered_lines}/{figures.statements})"
        f"{branches}, over {len(figures.files)} file(s)",
        f"threshold {threshold:g}% ({threshold_source})",
    ]
    worst = figures.worst()
    evidence.extend(
        f"{f.path}: {f.percent:g}%, missing lines {line_ranges(f.missing_lines) or '(none)'}"
        + (f", {f.missing_branches} branch(es) never taken" if f.missing_branches else "")
        for f in worst
    )
    observations: dict[str, Any] = {
        "percent": figures.percent,
        "line_percent": figures.line_percent,
        "branch_percent": figures.branch_percent,
        "threshold": threshold,
        "method": figures.method,
        "files": len(figures.files),
        "worst": [
            {
                "path": f.path,
                "percent": f.percent,
                "missing_lines": f.missing_lines,
                "missing_branches": f.missing_branches,
            }
            for f in worst
        ],
    }
    if figures.percent >= threshold:
        return make_outcome(
            FAMILY,
            CHECK,
            target,
            CheckStatus.PASSED,
            f"the project's own tests cover {figures.percent:g}% of {target} (threshold {threshold:g}%)",
            evidence=evidence,
            **observations,
        )
    findings = [
        Finding(
            check=CHECK,
            category=FAMILY,
            severity=Severity.ERROR,
            title=f"{f.percent:g}% covered",
            location=Location(file=f.path, line=min(f.missing_lines) if f.missing_lines else None),
            evidence=f"missing lines {line_ranges(f.missing_lines) or '(none)'}"
            + (f"; {f.missing_branches} branch(es) never taken" if f.missing_branches else ""),
            fix="Write tests that run these lines (or delete code nothing needs).",
        )
        for f in worst
    ]
    return make_outcome(
        FAMILY,
        CHECK,
        target,
        CheckStatus.FAILED,
        f"the project's own tests cover {figures.percent:g}% of {target}, below the threshold of "
        f"{threshold:g}%; least covered: " + ", ".join(f"{f.path} ({f.percent:g}%)" for f in worst),
        evidence=evidence,
        findings=findings,
        **observations,
    )
