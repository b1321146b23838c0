"""The static tools end to end: ruff check, ruff format and mypy on the fixture backend's source, each a gate item.

Assertions look at the three tool checks only, so that other checks of the quality family can join the run.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pytest_backend_agent.checks.quality import TOOLS
from tests.e2e.backends import GateProject, read_report, validate_report

pytestmark = pytest.mark.e2e

CLEAN = {"backend-gate::ruff[library_app]": "passed", "backend-gate::format[library_app]": "passed",
         "backend-gate::mypy[library_app]": "passed"}  # fmt: skip
# Each module has exactly one defect, found by exactly one tool.
RUFF_ERROR = "import os\n\n\ndef price(cents: int) -> int:\n    return cents // 100\n"
FORMAT_ERROR = "def price(cents: int) -> int:\n    return cents//100\n"
MYPY_ERROR = "def price(cents: int) -> str:\n    return cents / 100\n"


def tool_statuses(root: Path) -> dict[str, str]:
    checks = read_report(root)["gate"]["checks"]
    return {c["nodeid"]: c["status"] for c in checks if c["check"].removeprefix("quality.") in TOOLS}


def add_module(root: Path, source: str, name: str = "pricing") -> Path:
    (root / "library_app" / f"{name}.py").write_text(source)
    return root


def test_a_clean_backend_passes_every_tool_with_zero_findings(
    pytester: pytest.Pytester, gate_project: GateProject
) -> None:
    root = gate_project()
    result = pytester.runpytest("--backend-report")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    assert tool_statuses(root) == CLEAN
    assert [f for f in read_report(root)["gate"]["findings"] if f["category"] == "quality"] == []


@pytest.mark.parametrize(
    ("source", "tool", "issue"),
    [
        (RUFF_ERROR, "ruff", "[quality.ruff] library_app/pricing.py:1: F401 `os` imported but unused"),
        (FORMAT_ERROR, "format", "[quality.format] library_app/pricing.py:2: unformatted file would be reformatted "
                                 "by ruff format (differs at line 2)"),
        (MYPY_ERROR, "mypy", '[quality.mypy] library_app/pricing.py:2: return-value Incompatible return value type '
                             '(got "float", expected "str")'),
    ],
    ids=["ruff-error", "format-error", "mypy-error"],
)  # fmt: skip
def test_a_tool_error_fails_the_gate_and_is_named(
    pytester: pytest.Pytester, gate_project: GateProject, source: str, tool: str, issue: str
) -> None:
    root = add_module(gate_project(), source)
    result = pytester.runpytest("--backend-report")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert tool_statuses(root) == {**CLEAN, f"backend-gate::{tool}[library_app]": "failed"}
    report = read_report(root)
    validate_report(report)
    assert report["gate"]["verdict"] == "failed"
    assert [line for line in report["known_issues"] if line.startswith(f"[quality.{tool}]")] == [issue]
    result.stdout.fnmatch_lines(["*gate FAILED*", f"FAILED backend-gate::{tool}[[]library_app]*"])
    assert not (root / "ARTIFACTS" / "system" / "stage-completion-signal.json").exists()


def test_the_failure_text_gives_place_fix_and_command(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    add_module(gate_project(), RUFF_ERROR)
    result = pytester.runpytest("--backend-report")
    result.stdout.fnmatch_lines([
        "*quality.ruff failed on library_app: ruff check reports 1 error(s) in 1 file(s) of library_app",
        "*ran `python -m ruff check --no-fix --select=E4,E7,E9,F library_app`: exit status 1 after *",
        "*no ruff configuration applies to library_app, so the gate chose --select=E4,E7,E9,F*",
        "*[[]error] library_app/pricing.py:1: F401 `os` imported but unused",
        "*saw: ruff check at library_app/pricing.py:1:8",
        "*fix: Remove unused import: `os` (`ruff check --fix` applies it). Rule F401: https://*",
        "*reproduce: python -m ruff check --no-fix --select=E4,E7,E9,F library_app/pricing.py",
    ])  # fmt: skip


def test_the_projects_own_configuration_sets_the_bar(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    root = add_module(add_module(gate_project(), RUFF_ERROR), MYPY_ERROR, "billing")
    with (root / "pyproject.toml").open("a") as pyproject:
        pyproject.write('\n[tool.ruff.lint]\nignore = ["F401"]\n\n[tool.mypy]\ndisable_error_code = ["return-value"]\n')
    pytester.runpytest("--backend-report")
    assert tool_statuses(root) == CLEAN
    ruff = next(c for c in read_report(root)["gate"]["checks"] if c["check"] == "quality.ruff")
    assert ruff["observations"]["project_configuration"] is True
    assert "--select=E4,E7,E9,F" not in ruff["observations"]["command"]


def test_a_tool_that_cannot_read_the_configuration_fails_loudly(
    pytester: pytest.Pytester, gate_project: GateProject
) -> None:
    root = gate_project()
    with (root / "pyproject.toml").open("a") as pyproject:
        pyproject.write("\n[tool.ruff]\nline-lengthx = 100\n")
    result = pytester.runpytest("--backend-report")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([
        "*quality.ruff failed on library_app: ruff check could not check library_app (exit status 2)",
        "*[[]error] .: ruff check failed before it could check the source",
        "*line-lengthx*",
    ])  # fmt: skip
    statuses = tool_statuses(root)
    assert statuses["backend-gate::ruff[library_app]"] == statuses["backend-gate::format[library_app]"] == "failed"
    assert statuses["backend-gate::mypy[library_app]"] == "passed"


def test_backend_quality_chooses_the_tools(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    root = add_module(gate_project(), MYPY_ERROR)
    pytester.runpytest("--backend-report", "--backend-quality=mypy,ruff")
    assert tool_statuses(root) == {"backend-gate::ruff[library_app]": "passed",
                                   "backend-gate::mypy[library_app]": "failed"}  # fmt: skip
    pytester.runpytest("--backend-report", "--backend-quality=none")
    assert tool_statuses(root) == {}


def test_an_unknown_tool_is_a_usage_error(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    gate_project(ini={"backend_quality": "ruff,pylint"})
    result = pytester.runpytest("--backend-report")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --backend-quality (ini backend_quality) takes ruff, format, mypy*"
                                 "got 'ruff,pylint'."])  # fmt: skip


def test_a_deselected_tool_does_not_run(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    root = gate_project()
    pytester.runpytest("--backend-report", "-k", "not ruff and not format")
    assert tool_statuses(root) == {"backend-gate::mypy[library_app]": "passed"}
    assert not (root / ".ruff_cache").exists(), "ruff ran although its items were deselected"
    pytester.runpytest("--backend-report", "-m", "quality")
    assert tool_statuses(root) == CLEAN
    assert (root / ".ruff_cache").is_dir()


def test_a_tool_that_is_not_installed_is_not_verified_never_passed(
    pytester: pytest.Pytester, gate_project: GateProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = gate_project()
    monkeypatch.setitem(TOOLS, "mypy", replace(TOOLS["mypy"], module="no_such_mypy_for_the_gate"))
    result = pytester.runpytest("--backend-report", "-rs")
    result.stdout.fnmatch_lines([
        "SKIPPED [[]1] library_app:1: not verified: no_such_mypy_for_the_gate is not installed in the environment "
        "that runs pytest "
        "(pip install no_such_mypy_for_the_gate)",
    ])  # fmt: skip
    assert tool_statuses(root) == {**CLEAN, "backend-gate::mypy[library_app]": "not verified"}


def test_under_xdist_workers_read_the_controllers_results(
    pytester: pytest.Pytester,
    gate_project: GateProject,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = add_module(add_module(gate_project(), RUFF_ERROR), MYPY_ERROR, "billing")
    private_tmp = tmp_path_factory.mktemp("tmpdir")
    monkeypatch.setenv("TMPDIR", str(private_tmp))  # where the runs below create their shared folder
    serial = pytester.runpytest_subprocess("--backend-report", "-p", "no:xdist")
    serial_report = read_report(root)
    distributed = pytester.runpytest_subprocess("--backend-report", "-n", "2")
    distributed_report = read_report(root)
    assert serial.ret == distributed.ret == pytest.ExitCode.TESTS_FAILED
    validate_report(distributed_report)

    def tools(report: dict) -> list[tuple]:
        return sorted(
            (c["nodeid"], c["status"], c["summary"], [f["title"] for f in c["findings"]])
            for c in report["gate"]["checks"] if c["check"].removeprefix("quality.") in TOOLS
        )  # fmt: skip

    assert tools(serial_report) == tools(distributed_report)
    assert [status for _, status, _, _ in tools(distributed_report)] == ["passed", "failed", "failed"]
    leftovers = [path.name for path in private_tmp.iterdir() if path.name.startswith("backend-gate-")]
    assert leftovers == [], "the folder the tools' results were shared through was left behind"
