"""The quality family without pytest sessions: reading ruff and mypy output, judging runs, background runs."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pytest_backend_agent.background import Background, ToolResult
from pytest_backend_agent.checks.quality import MAX_LISTED, TOOLS, judge, parse_mypy, parse_ruff, parse_ruff_format
from pytest_backend_agent.findings import CheckStatus, Severity

RUFF = TOOLS["ruff"]
FORMAT = TOOLS["format"]
MYPY = TOOLS["mypy"]


def ruff_entry(path: str, row: int, code: str | None, message: str, fix: dict | None = None) -> dict:
    return {
        "code": code, "name": "invalid-syntax" if code is None else "rule", "message": message, "filename": path,
        "location": {"row": row, "column": 5}, "end_location": {"row": row, "column": 9}, "fix": fix,
        "url": f"https://docs.astral.sh/ruff/rules/{code}" if code else None, "noqa_row": row, "cell": None,
    }  # fmt: skip


def ran(tool_args: list[str], root: Path, returncode: int, stdout: str = "", stderr: str = "") -> ToolResult:
    return ToolResult([sys.executable, "-m", *tool_args], str(root), returncode, stdout, stderr, 0.5)


def test_ruff_json_becomes_diagnostics_with_their_fixes() -> None:
    output = json.dumps([
        ruff_entry("/p/app/a.py", 1, "F401", "`os` imported but unused",
                   {"applicability": "safe", "message": "Remove unused import: `os`", "edits": []}),
        ruff_entry("/p/app/b.py", 7, None, "unexpected EOF while parsing"),
    ])  # fmt: skip
    unused, syntax = parse_ruff(output)
    assert (unused.file, unused.line, unused.column, unused.code) == ("/p/app/a.py", 1, 5, "F401")
    assert unused.fix.startswith("Remove unused import: `os` (`ruff check --fix` applies it). Rule F401: https://")
    assert (syntax.code, syntax.severity) == ("invalid-syntax", Severity.ERROR)
    assert parse_ruff("ruff failed\n  Cause: TOML parse error") == []


def test_mypy_lines_become_diagnostics_notes_join_and_missing_stubs_only_warn() -> None:
    output = "\n".join([
        "/p/app/a.py:7:12: error: Incompatible return value type (got \"int\", expected \"str\")  [return-value]",
        "/p/app/a.py:2:1: error: Cannot find implementation or library stub for module named \"x\"  [import-not-found]",
        "/p/app/a.py:2:1: note: See https://mypy.readthedocs.io/en/stable/running_mypy.html#missing-imports",
        "/p/app/c.py: error: Duplicate module named \"c\"",
        "Success: no issues found",
    ])  # fmt: skip
    wrong, missing, duplicate = parse_mypy(output)
    assert (wrong.line, wrong.column, wrong.code, wrong.severity) == (7, 12, "return-value", Severity.ERROR)
    assert "# type: ignore[return-value]" in wrong.fix
    assert missing.severity is Severity.WARNING
    assert missing.notes == ["See https://mypy.readthedocs.io/en/stable/running_mypy.html#missing-imports"]
    assert (duplicate.file, duplicate.line, duplicate.code) == ("/p/app/c.py", None, None)


FORMAT_DIFF = """--- app/a.py
+++ app/a.py
@@ -1,3 +1,2 @@
-x = {"a":1,
-  "b":2}
-y=3
+x = {"a": 1, "b": 2}
+y = 3

--- app/d.py
+++ app/d.py
@@ -1,9 +1,9 @@
 def f():
     return 1
-x = [1,
- 2]
 
 
+x = [1, 2]
@@ -20,3 +20,4 @@
 z = 1
 
+
 class A:
"""


def test_ruff_format_diff_gives_one_diagnostic_per_file_at_its_first_change() -> None:
    stderr = "error: Failed to parse app/c.py:2:1: unexpected EOF while parsing\n2 files would be reformatted\n"
    first, second, unparsable = parse_ruff_format(FORMAT_DIFF, stderr)
    assert (first.file, first.line, first.code) == ("app/a.py", 1, "unformatted")
    assert first.message == "file would be reformatted by ruff format (differs at line 1)"
    assert (second.file, second.line) == ("app/d.py", 3)
    assert second.message.endswith("(differs at line 3, 22)")
    assert second.fix.startswith("Run `ruff format app/d.py`")
    assert (unparsable.file, unparsable.line, unparsable.column) == ("app/c.py", 2, 1)
    assert unparsable.code == "invalid-syntax"
    assert parse_ruff_format("", "2 files already formatted\n") == []


def test_judge_names_unformatted_files_relative_to_the_rootdir(tmp_path: Path) -> None:
    project = tmp_path / "backend"
    outcome = judge(FORMAT, ran(["ruff", "format", "--check", "--diff", "--force-exclude", "app"], project, 1,
                                FORMAT_DIFF), tmp_path)  # fmt: skip
    assert outcome.status is CheckStatus.FAILED
    assert [f.one_line() for f in outcome.findings] == [
        "[quality.format] backend/app/a.py:1: unformatted file would be reformatted by ruff format (differs at line 1)",
        "[quality.format] backend/app/d.py:3: unformatted file would be reformatted by ruff format "
        "(differs at line 3, 22)",
    ]
    assert outcome.findings[0].reproduction == "cd backend && python -m ruff format --check --diff app/a.py"


def test_judge_fails_on_errors_with_places_and_reproductions(tmp_path: Path) -> None:
    output = json.dumps([ruff_entry(str(tmp_path / "app" / "a.py"), 3, "F821", "Undefined name `x`")])
    command = ["ruff", "check", "--no-fix", "--force-exclude", "--output-format=json", "app"]
    outcome = judge(RUFF, ran(command, tmp_path, 1, output), tmp_path)
    assert outcome.status is CheckStatus.FAILED
    assert outcome.summary == "ruff check reports 1 error(s) in 1 file(s) of app"
    (finding,) = outcome.findings
    assert finding.one_line() == "[quality.ruff] app/a.py:3: F821 Undefined name `x`"
    assert finding.reproduction == "python -m ruff check --no-fix app/a.py"
    assert outcome.observations["errors"] == 1
    assert outcome.observations["project_configuration"] is True


def test_judge_passes_a_clean_run_and_says_when_the_fallback_rules_were_used(tmp_path: Path) -> None:
    command = ["ruff", "check", "--no-fix", "--force-exclude", "--output-format=json", "--select=E4,E7,E9,F", "app"]
    outcome = judge(RUFF, ran(command, tmp_path, 0, "[]"), tmp_path)
    assert outcome.status is CheckStatus.PASSED
    assert outcome.findings == []
    assert any("no ruff configuration applies to app, so the gate chose --select=E4,E7,E9,F" in line
               for line in outcome.evidence)  # fmt: skip
    assert outcome.observations["project_configuration"] is False


def test_judge_passes_when_mypy_only_warns(tmp_path: Path) -> None:
    output = f'{tmp_path}/app/a.py:1:1: error: Library stubs not installed for "yaml"  [import-untyped]\n'
    outcome = judge(MYPY, ran(["mypy", "app"], tmp_path, 1, output), tmp_path)
    assert outcome.status is CheckStatus.PASSED
    assert outcome.summary == "mypy reports no error in app (1 warning(s))"
    assert [f.severity for f in outcome.findings] == [Severity.WARNING]


@pytest.mark.parametrize(("returncode", "stdout"), [(2, ""), (1, ""), (-9, "")])
def test_a_tool_that_fails_without_diagnostics_fails_the_check(tmp_path: Path, returncode: int, stdout: str) -> None:
    stderr = "pyproject.toml: [mypy]: Unrecognized option: strictx = 1"
    outcome = judge(MYPY, ran(["mypy", "app"], tmp_path, returncode, stdout, stderr), tmp_path)
    assert outcome.status is CheckStatus.FAILED
    assert outcome.summary == f"mypy could not check app (exit status {returncode})"
    (finding,) = outcome.findings
    assert finding.title == "mypy failed before it could check the source"
    assert finding.evidence == stderr


def test_judge_lists_at_most_max_listed_findings_but_counts_them_all(tmp_path: Path) -> None:
    many = [ruff_entry(str(tmp_path / "a.py"), row, "E711", "Comparison to None") for row in range(1, MAX_LISTED + 8)]
    outcome = judge(RUFF, ran(["ruff", "check", "."], tmp_path, 1, json.dumps(many)), tmp_path)
    assert len(outcome.findings) == MAX_LISTED
    assert outcome.summary == f"ruff check reports {MAX_LISTED + 7} error(s) in 1 file(s) of ."
    assert "7 more not listed: run the command above to see them all" in outcome.evidence


def test_tool_configuration_is_found_above_the_source(tmp_path: Path) -> None:
    src = tmp_path / "project" / "app"
    src.mkdir(parents=True)
    assert not RUFF.configured(src)
    assert not MYPY.configured(src)
    (tmp_path / "project" / "pyproject.toml").write_text("[project]\nname = 'x'\n[tool.mypy]\nstrict = true\n")
    assert MYPY.configured(src)
    assert not RUFF.configured(src)
    command = RUFF.command("app", src)
    assert command is not None
    assert command[-2:] == ["--select=E4,E7,E9,F", "app"]
    (tmp_path / "ruff.toml").write_text("line-length = 100\n")
    assert RUFF.configured(src)
    assert (RUFF.command("app", src) or [])[-2:] == ["--output-format=json", "app"]


def test_a_tool_that_is_not_installed_has_no_command(tmp_path: Path) -> None:
    missing = replace(MYPY, module="no_such_module_for_backend_gate")
    assert missing.command("app", tmp_path) is None


def test_background_results_are_read_from_the_shared_folder(tmp_path: Path) -> None:
    owner = Background()
    try:
        owner.start("echo", [sys.executable, "-c", "import sys; print('out'); sys.exit(3)"], tmp_path)
        worker = Background(owner.folder)  # an xdist worker is handed the folder
        result = worker.result("echo", timeout=30)
        assert result is not None
        assert (result.returncode, result.stdout.strip(), result.cwd, result.error) == (3, "out", str(tmp_path), None)
        worker.close()
        assert owner.folder.is_dir(), "a worker never removes the controller's folder"
    finally:
        folder = owner.folder
        owner.close()
    assert not folder.exists()


def test_background_waits_no_longer_than_asked_and_stops_runs_at_close(tmp_path: Path) -> None:
    owner = Background()
    owner.start("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], tmp_path)
    started = time.monotonic()
    assert owner.result("sleeper", timeout=0.2) is None
    owner.close()
    assert time.monotonic() - started < 10


def test_background_records_a_command_that_cannot_start(tmp_path: Path) -> None:
    owner = Background()
    try:
        owner.start("ghost", [str(tmp_path / "no-such-program")], tmp_path)
        result = owner.result("ghost", timeout=1)
        assert result is not None
        assert result.returncode is None
        assert result.error is not None
        assert result.error.startswith("FileNotFoundError")
    finally:
        owner.close()


def test_runs_that_end_together_share_one_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: the folder was created lazily by whichever run ended first, so two runs ending together
    could each create one, and a result landed in a folder nobody read (its item waited for the timeout)."""
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    make_folder = tempfile.mkdtemp

    def slow_make_folder(*args: Any, **kwargs: Any) -> str:
        time.sleep(0.2)  # widens the window in which a second run could also find no folder yet
        return make_folder(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkdtemp", slow_make_folder)
    go = tmp_path / "go"
    barrier = f"import os, time\nwhile not os.path.exists({str(go)!r}):\n    time.sleep(0.001)\n"
    names = [f"tool{index}" for index in range(8)]
    owner = Background()
    try:
        for name in names:
            owner.start(name, [sys.executable, "-c", barrier], tmp_path)
        time.sleep(1.0)  # every run is waiting at the barrier
        go.touch()
        time.sleep(1.0)  # every run ends, and writes its result, before anything here asks for one
        results = {name: owner.result(name, timeout=5) for name in names}
        assert [name for name, result in results.items() if result is None] == []
        assert len(list(private_tmp.iterdir())) == 1
    finally:
        owner.close()
    assert list(private_tmp.iterdir()) == []


def test_a_child_the_tool_leaves_running_does_not_hold_its_result(tmp_path: Path) -> None:
    """A tool may start processes that outlive it (mypy's workers) and inherit its output: the result is the
    tool's own exit, not theirs."""
    leaves_a_child = (
        "import subprocess, sys\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n"
        "print('done')\n"
    )
    owner = Background()
    try:
        owner.start("parent", [sys.executable, "-c", leaves_a_child], tmp_path)
        result = owner.result("parent", timeout=10)
        assert result is not None, "the result waited for the child the tool left running"
        assert (result.returncode, result.stdout.strip()) == (0, "done")
    finally:
        owner.close()
