"""The pure parts of the session-end judgments: coverage figures, endpoint tests, docstrings, the report lines."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pytest_backend_agent.backend.inprocess import GATE_REQUEST
from pytest_backend_agent.checks.coverage import (
    CoverageFigures,
    FileCoverage,
    coverage_config_file,
    judge_coverage,
    line_ranges,
)
from pytest_backend_agent.checks.docstrings import docstring_coverage
from pytest_backend_agent.checks.endpoint_tests import RequestRecorder, judge_endpoint_tests
from pytest_backend_agent.findings import CheckOutcome, CheckStatus, Finding, Location, Severity
from pytest_backend_agent.packet.model import Endpoint
from pytest_backend_agent.report.build import OwnTests, classify_test
from pytest_backend_agent.report.project_files import added_since, find_dependencies


def figures(*files: FileCoverage, percent: float = 70.0) -> CoverageFigures:
    return CoverageFigures(
        percent=percent,
        line_percent=percent,
        branch_percent=None,
        statements=100,
        covered_lines=70,
        branches=0,
        covered_branches=0,
        method="measured",
        files=list(files),
    )


def test_line_ranges() -> None:
    assert line_ranges([9, 1, 2, 3, 7, 10]) == "1-3, 7, 9-10"
    assert line_ranges([]) == ""


def test_coverage_below_the_threshold_names_the_five_worst_files() -> None:
    files = [FileCoverage(f"app/m{i}.py", float(10 * i), 10, [i + 1, i + 2], 0) for i in range(7)]
    files.append(FileCoverage("app/full.py", 100.0, 10, [], 0))
    outcome = judge_coverage(figures(*files), "", target="app", threshold=80, threshold_source="the default")
    assert outcome.status is CheckStatus.FAILED
    assert [f.location.file for f in outcome.findings] == [f"app/m{i}.py" for i in range(5)]
    assert outcome.findings[1].location.line == 2
    assert outcome.findings[1].evidence == "missing lines 2-3"
    assert "below the threshold of 80%" in outcome.summary


def test_coverage_at_the_threshold_passes_and_none_is_not_verified() -> None:
    passed = judge_coverage(figures(percent=80.0), "", target="app", threshold=80, threshold_source="packet")
    assert passed.status is CheckStatus.PASSED
    assert passed.observations["percent"] == 80.0
    missing = judge_coverage(None, "why not", target="app", threshold=80, threshold_source="packet")
    assert (missing.status, missing.summary) == (CheckStatus.NOT_VERIFIED, "why not")


def test_coverage_configuration_is_found_like_coverage_py_finds_it(tmp_path: Path) -> None:
    assert coverage_config_file(tmp_path) is False
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert coverage_config_file(tmp_path) is False
    (tmp_path / "pyproject.toml").write_text("[tool.coverage.run]\nomit = ['x']\n")
    assert coverage_config_file(tmp_path) == str(tmp_path / "pyproject.toml")
    (tmp_path / ".coveragerc").write_text("[run]\n")
    assert coverage_config_file(tmp_path) == str(tmp_path / ".coveragerc")


ENDPOINTS = [
    Endpoint(method="GET", path="/books/{book_id}", authentication_required=False),
    Endpoint(method="GET", path="/books/search", authentication_required=False),
    Endpoint(method="DELETE", path="/books/{book_id}", authentication_required=False),
]


def test_endpoints_no_test_called_are_findings() -> None:
    hits = [["t.py::test_a", "GET", "/books/12"], ["t.py::test_b", "GET", "/health"]]
    outcome = judge_endpoint_tests(ENDPOINTS, hits, None)
    assert outcome.status is CheckStatus.FAILED
    assert [f.location.endpoint for f in outcome.findings] == ["GET /books/search", "DELETE /books/{book_id}"]
    assert outcome.observations["requesting_tests"] == ["t.py::test_a", "t.py::test_b"]
    assert outcome.observations["tested"] == {"GET /books/{book_id}": 1}
    assert judge_endpoint_tests(ENDPOINTS, [], "no app").status is CheckStatus.NOT_VERIFIED


class AsgiApp:
    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.calls += 1


class WsgiApp:
    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        return [b"ok"]


def test_the_recorder_sees_the_tests_requests_to_any_instance_but_not_the_gates() -> None:
    recorder = RequestRecorder()
    app = AsgiApp()
    assert recorder.install(app)
    try:
        recorder.current = "t.py::test_x"
        asyncio.run(
            AsgiApp()(  # another instance of the same class: an app built by a factory in a test
                {"type": "http", "method": "get", "path": "/books/1"}, None, None
            )
        )
        asyncio.run(app({"type": "http", "method": "GET", "path": "/books/2", GATE_REQUEST: True}, None, None))
        asyncio.run(app({"type": "lifespan"}, None, None))
        assert app.calls == 2
    finally:
        recorder.uninstall()
    assert "__call__" in AsgiApp.__dict__
    assert not hasattr(AsgiApp.__call__, "__wrapped__")
    assert recorder.hits == [("t.py::test_x", "GET", "/books/1")]


def test_the_recorder_sees_wsgi_requests_and_refuses_a_function() -> None:
    recorder = RequestRecorder()
    assert recorder.install(WsgiApp())
    try:
        assert WsgiApp()({"REQUEST_METHOD": "DELETE", "SCRIPT_NAME": "/api", "PATH_INFO": "/b/1"}, None) == [b"ok"]
        WsgiApp()({"REQUEST_METHOD": "GET", "PATH_INFO": "/x", GATE_REQUEST: True}, None)
    finally:
        recorder.uninstall()
    assert recorder.hits == [("", "DELETE", "/api/b/1")]

    def function_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        return []

    assert not recorder.install(function_app)
    assert recorder.problem is not None
    assert "function" in recorder.problem


def test_docstring_coverage_counts_public_definitions(tmp_path: Path) -> None:
    src = tmp_path / "app"
    (src / "tests").mkdir(parents=True)
    (src / "models.py").write_text(
        '"""Module."""\n'
        "from typing import overload\n\n"
        "def documented():\n    '''Yes.'''\n\n"
        "def bare():\n    pass\n\n"
        "def _private():\n    pass\n\n"
        "@overload\ndef f(x: int) -> int: ...\n\n"
        "class Thing:\n    '''A thing.'''\n"
        "    def method(self):\n        pass\n"
        "    def __init__(self):\n        pass\n"
        "    @property\n    def size(self):\n        '''Size.'''\n"
        "    @size.setter\n    def size(self, value):\n        pass\n"
    )
    (src / "tests" / "test_models.py").write_text("def test_x():\n    pass\n")
    (src / "broken.py").write_text("def (:\n")
    found = docstring_coverage(src, tmp_path)
    assert found.total == 5
    assert [(m.file, m.line, m.name) for m in found.missing] == [
        ("app/models.py", 7, "bare"),
        ("app/models.py", 18, "Thing.method"),
    ]
    assert found.percent == 60.0
    assert found.problems
    assert found.problems[0].startswith("app/broken.py could not be read")


def test_a_test_that_sent_requests_is_an_api_test_unless_marked_or_placed() -> None:
    assert classify_test("tests/test_books.py::test_a", [], sent_requests=True) == "api"
    assert classify_test("tests/test_books.py::test_a", ["unit"], sent_requests=True) == "unit"
    assert classify_test("tests/integration/test_books.py::test_a", [], sent_requests=True) == "integration"
    assert classify_test("tests/test_books.py::test_a", []) == "unit"
    own = OwnTests()
    own.add("tests/test_a.py::test_one", [], "passed")
    own.add("tests/test_a.py::test_two", [], "failed")
    assert own.count("api", frozenset({"tests/test_a.py::test_one"})).model_dump() == {
        "count": 1,
        "passed": 1,
        "failed": 0,
        "skipped": 0,
    }
    assert own.count("unit").count == 2
    assert own.failed_ids == ["tests/test_a.py::test_two"]


def _outcome(check: str, status: CheckStatus, *titles: str) -> CheckOutcome:
    return CheckOutcome(
        check=check,
        family="quality",
        target="app",
        status=status,
        summary=f"{check} summary",
        findings=[
            Finding(
                check=check,
                category="quality",
                severity=Severity.ERROR,
                title=title,
                location=Location(file="app/x.py", line=i + 1),
            )
            for i, title in enumerate(titles)
        ],
    )


def test_known_issues_has_one_line_per_failing_item() -> None:
    from pytest_backend_agent.report.build import _known_issues

    class Facts:
        outcomes = [
            ("a", _outcome("quality.ruff", CheckStatus.FAILED, "F401 unused", "E711 comparison")),
            ("b", _outcome("quality.mypy", CheckStatus.FAILED, "return-value wrong")),
            ("c", _outcome("quality.docstrings", CheckStatus.PASSED)),
        ]

        class own_tests:  # noqa: N801 - shaped like OwnTests
            failed_ids: list[str] = []

    assert _known_issues(Facts()) == [  # type: ignore[arg-type]
        "[quality.ruff] app: quality.ruff summary (first: app/x.py:1: F401 unused)",
        "[quality.mypy] app/x.py:1: return-value wrong",
    ]


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(root), *args],
        check=True,
        capture_output=True,
    )


@pytest.mark.skipif(subprocess.run(["git", "--version"], capture_output=True).returncode != 0, reason="no git")
def test_dependencies_added_since_the_git_base(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["fastapi>=0.1", "PyJWT"]\n')
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "add", "pyproject.toml")
    _git(tmp_path, "commit", "-q", "-m", "base")
    _git(tmp_path, "checkout", "-q", "-b", "feature")
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = ["fastapi>=0.2", "pyjwt", "sqlalchemy[asyncio]>=2"]\n'
    )
    (tmp_path / "requirements.txt").write_text("uvicorn\n")
    declared = find_dependencies(tmp_path)
    added, basis = added_since(tmp_path, declared, "main")
    assert [d.name for d in added] == ["sqlalchemy[asyncio]", "uvicorn"]
    assert basis == "dependencies added since git main (2 of 4 declared)"
    everything, why = added_since(tmp_path, declared, "no-such-branch")
    assert everything == declared
    assert "git knows no ref 'no-such-branch'" in why
    assert added_since(tmp_path, declared, None)[1].startswith("every dependency the backend declares (no git base")
