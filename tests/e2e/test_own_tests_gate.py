"""What the project's own tests did, judged end to end: coverage, the endpoints they call, docstrings, the counts."""

from __future__ import annotations

import pytest

from tests.e2e.backends import GateProject, library_packet, read_report, validate_report

pytestmark = pytest.mark.e2e

SIGNAL = ("ARTIFACTS", "system", "stage-completion-signal.json")


def checks_of(report: dict) -> dict[str, dict]:
    return {c["check"]: c for c in report["gate"]["checks"]}


def test_clean_backend_has_measured_figures(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    root = gate_project()
    result = pytester.runpytest("--backend-report")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    report = read_report(root)
    validate_report(report)
    testing = report["testing_coverage"]
    # Every line runs; the `if DEFECT ...` switches of the fixture always go one way (2 of 12 branches count).
    assert testing["line_coverage_percent"] == 100.0
    assert testing["branch_coverage_percent"] == 83.33
    assert testing["coverage_percent"] == 97.62
    assert testing["coverage_min_percent"] == 80.0
    assert testing["coverage_status"].startswith("passed: measured by the gate with coverage.py")
    assert testing["endpoints_tested"] == [e["method"] + " " + e["path"] for e in library_packet()["api"]["endpoints"]]
    assert testing["endpoints_untested"] == []
    # tests/test_library.py has no marker and no unit/api folder; its tests send requests to the app: api tests.
    assert testing["api_tests"] == {"count": 4, "passed": 4, "failed": 0, "skipped": 0}
    assert testing["unit_tests"]["count"] == 0
    assert "sent a request to the in-process app counts as api" in testing["classification"]
    checks = checks_of(report)
    assert checks["quality.docstrings"]["status"] == "passed"
    assert checks["quality.docstrings"]["summary"].startswith("0 of 11 public functions and classes have a docstring")
    assert report["gate"]["dependencies_basis"].startswith("every dependency the backend declares")


def test_coverage_under_the_threshold_fails_and_names_the_worst_files(
    pytester: pytest.Pytester, gate_project: GateProject
) -> None:
    root = gate_project("low_coverage")
    result = pytester.runpytest("--backend-report")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*[[]quality.coverage] library_app/inventory.py:4: 0% covered", "gate FAILED*"])
    report = read_report(root)
    validate_report(report)
    checks = checks_of(report)
    coverage = checks["quality.coverage"]
    assert coverage["status"] == "failed"
    assert [f["location"]["file"] for f in coverage["findings"]] == ["library_app/inventory.py", "library_app/main.py"]
    assert coverage["findings"][0]["evidence"].startswith("missing lines 4, 6-")
    assert coverage["findings"][1]["evidence"] == "missing lines (none); 2 branch(es) never taken"
    assert checks["quality.endpoint_tests"]["status"] == "passed"
    percent = report["testing_coverage"]["coverage_percent"]
    assert 40 < percent < 80
    issues = [line for line in report["known_issues"] if line.startswith("[quality.coverage]")]
    assert issues == [coverage["summary"].join(("[quality.coverage] library_app: ", ""))]
    assert issues[0].endswith("least covered: library_app/inventory.py (0%), library_app/main.py (97.62%)")
    assert not root.joinpath(*SIGNAL).exists()


def test_the_packet_sets_the_coverage_threshold(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    packet = library_packet()
    packet["non_functional"]["coverage_min_percent"] = 40
    root = gate_project("low_coverage", packet=packet)
    result = pytester.runpytest("--backend-report")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    coverage = checks_of(read_report(root))["quality.coverage"]
    assert coverage["status"] == "passed"
    assert "threshold 40% (the packet's non_functional.coverage_min_percent)" in coverage["evidence"]


def test_an_endpoint_no_test_calls_fails_though_the_gate_called_it(
    pytester: pytest.Pytester, gate_project: GateProject
) -> None:
    root = gate_project("untested_endpoint")
    result = pytester.runpytest("--backend-report")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = read_report(root)
    validate_report(report)
    checks = checks_of(report)
    tested = checks["quality.endpoint_tests"]
    assert tested["status"] == "failed"
    assert [f["location"]["endpoint"] for f in tested["findings"]] == ["DELETE /api/books/{book_id}"]
    assert report["known_issues"] == [
        "[quality.endpoint_tests] DELETE /api/books/{book_id}: no test of the project calls this endpoint"
    ]
    assert report["testing_coverage"]["endpoints_untested"] == ["DELETE /api/books/{book_id}"]
    # The gate's own DELETE requests ran the route's body, yet coverage counts only the project's tests.
    coverage = checks["quality.coverage"]
    assert coverage["status"] == "passed"
    delete_line = next(
        number
        for number, text in enumerate((root / "library_app" / "main.py").read_text().splitlines(), 1)
        if "BOOKS.pop(book_id" in text
    )
    assert delete_line in coverage["observations"]["worst"][0]["missing_lines"]


def test_xdist_gives_the_same_coverage_figure(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    root = gate_project("low_coverage")
    pytester.runpytest_subprocess("--backend-report", "-p", "no:xdist")
    serial = read_report(root)
    pytester.runpytest_subprocess("--backend-report", "-n", "2")
    distributed = read_report(root)
    assert serial["testing_coverage"]["coverage_percent"] == distributed["testing_coverage"]["coverage_percent"]
    serial_cov, distributed_cov = checks_of(serial)["quality.coverage"], checks_of(distributed)["quality.coverage"]
    assert serial_cov["observations"]["worst"] == distributed_cov["observations"]["worst"]
    assert "combined from 2 pytest-xdist workers" in distributed["testing_coverage"]["coverage_status"]
    assert checks_of(distributed)["quality.endpoint_tests"]["status"] == "passed"
    assert serial["testing_coverage"]["api_tests"] == distributed["testing_coverage"]["api_tests"]


def test_pytest_cov_data_is_read_instead_of_measuring_twice(
    pytester: pytest.Pytester, gate_project: GateProject
) -> None:
    root = gate_project("low_coverage")
    pytester.runpytest_subprocess("--backend-report")
    own = read_report(root)["testing_coverage"]
    pytester.runpytest_subprocess("--backend-report", "--cov=library_app", "--cov-branch", "--cov-report=")
    read = read_report(root)["testing_coverage"]
    assert read["coverage_status"].startswith("failed: read from pytest-cov")
    assert read["coverage_percent"] == own["coverage_percent"]


def test_a_conftest_that_imports_the_app_does_not_lower_the_figure(
    pytester: pytest.Pytester, gate_project: GateProject
) -> None:
    root = gate_project()
    with (root / "conftest.py").open("a") as conftest:
        conftest.write("\nfrom library_app.main import app  # noqa: E402,F401 - imported before any test runs\n")
    result = pytester.runpytest_subprocess("--backend-report")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    # Measuring starts before conftest.py is imported, so the app's module-level lines count.
    assert read_report(root)["testing_coverage"]["line_coverage_percent"] == 100.0


def test_docstring_threshold_fails_and_names_the_definitions(
    pytester: pytest.Pytester, gate_project: GateProject
) -> None:
    root = gate_project()
    result = pytester.runpytest("--backend-report", "--backend-docstring-min=50")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    docstrings = checks_of(read_report(root))["quality.docstrings"]
    assert docstrings["status"] == "failed"
    assert docstrings["summary"].endswith("below the threshold of 50% (--backend-docstring-min)")
    assert {"Book has no docstring", "caller_role has no docstring"} <= {f["title"] for f in docstrings["findings"]}


def test_a_server_hides_the_requests_of_the_tests(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    import sys

    root = gate_project(
        ini={
            "backend_app": "",
            "backend_command": f"{sys.executable} -m uvicorn library_app.main:app --port {{port}} --log-level warning",
        }
    )
    pytester.runpytest("--backend-report", "-m", "not contract")
    report = read_report(root)
    assert checks_of(report)["quality.endpoint_tests"]["status"] == "not verified"
    assert report["testing_coverage"]["endpoint_tests_status"].startswith("not verified: the gate reaches the backend")
    assert report["testing_coverage"]["line_coverage_percent"] == 100.0
