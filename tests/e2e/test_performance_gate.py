"""The performance family end to end, on SQLite and on PostgreSQL: each defect is caught and named; clean passes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.backends import read_report, validate_report
from tests.e2e.perf_backends import BUDGET_MS, DATABASE_VARIABLE, EDITOR_TOKEN, MAX_PAGE_SIZE, PerfProject

DJANGO_AUTHOR_QUERY = (
    'SELECT "shelf_author"."id", "shelf_author"."name" FROM "shelf_author" WHERE "shelf_author"."id" = ? LIMIT ?'
)

pytestmark = pytest.mark.e2e


def _run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, database_url: str, *args: str
) -> tuple[pytest.RunResult, dict[str, Any]]:
    monkeypatch.setenv(DATABASE_VARIABLE, database_url)
    result = pytester.runpytest("--backend-report", *args)
    report = read_report(pytester.path)
    validate_report(report)
    return result, report


def _checks(report: dict[str, Any], check: str) -> dict[str, dict[str, Any]]:
    return {c["target"]: c for c in report["gate"]["checks"] if c["check"] == check}


def test_clean_backend_passes_every_performance_check_with_zero_findings(
    pytester: pytest.Pytester, perf_project: PerfProject, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    perf_project()
    result, report = _run(pytester, monkeypatch, database_url, "-m", "performance")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    result.stdout.fnmatch_lines(["*= backend gate =*", "performance*9*0*0", "gate PASSED*"])
    assert report["gate"]["findings"] == []
    statuses = {c["nodeid"]: c["status"] for c in report["gate"]["checks"]}
    assert set(statuses.values()) == {"passed"}, statuses
    n_plus_one = _checks(report, "performance.n_plus_one")
    assert set(n_plus_one) == {"GET /api/authors", "GET /api/books"}
    authors = n_plus_one["GET /api/authors"]
    assert authors["observations"]["rows"][1] > authors["observations"]["rows"][0]
    dialect = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    assert any(p.startswith(f"{dialect}: QueuePool") for p in authors["observations"]["pools"]), authors
    pagination = _checks(report, "performance.pagination")
    assert pagination["GET /api/authors"]["summary"].startswith(f"refuses limit={MAX_PAGE_SIZE + 1} with 422")
    assert any("connection pool: " + dialect in line for line in pagination["GET /api/authors"]["evidence"])
    latency = _checks(report, "performance.latency")
    assert len(latency) == 5
    read = latency["GET /api/authors/{author_id}"]["observations"]["latency"]
    assert read["samples"] >= 20
    assert read["p95_ms"] <= BUDGET_MS
    notes = "\n".join(report["performance_notes"])
    assert f"GET /api/authors/{{author_id}}: p50 {read['p50_ms']:.1f} ms, p95 {read['p95_ms']:.1f} ms" in notes
    assert EDITOR_TOKEN not in json.dumps(report)


def test_n_plus_one_names_the_endpoint_and_the_repeated_statement(
    pytester: pytest.Pytester, perf_project: PerfProject, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    perf_project("n_plus_one")
    result, report = _run(pytester, monkeypatch, database_url, "-k", "n-plus-one")
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()[-3000:]
    checks = _checks(report, "performance.n_plus_one")
    assert checks["GET /api/books"]["status"] == "passed"
    assert checks["GET /api/authors"]["status"] == "failed"
    [found] = report["gate"]["findings"]
    assert found["location"]["endpoint"] == "GET /api/authors"
    assert found["category"] == "performance"
    assert "FROM books" in found["title"]
    assert "WHERE ? = books.author_id" in found["title"]
    rows = checks["GET /api/authors"]["observations"]["rows"]
    assert f"times for {rows[0]} rows and" in found["title"]
    assert f"times for {rows[1]} rows" in found["title"]
    result.stdout.fnmatch_lines(["*n-plus-one*GET /api/authors*"])


def test_endpoint_slower_than_its_budget_fails_with_its_figures(
    pytester: pytest.Pytester, perf_project: PerfProject, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    perf_project("slow")
    result, report = _run(pytester, monkeypatch, database_url, "-k", "latency")
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()[-3000:]
    checks = _checks(report, "performance.latency")
    assert {t: c["status"] for t, c in checks.items()} == {
        "GET /api/authors/{author_id}": "failed",
        "GET /api/authors": "passed",
        "GET /api/books": "passed",
        # -k latency: no other check sent them a request, and the gate does not create data just to time it
        "POST /api/authors": "not verified",
        "POST /api/books": "not verified",
    }
    [found] = report["gate"]["findings"]
    assert found["location"]["endpoint"] == "GET /api/authors/{author_id}"
    figures = checks["GET /api/authors/{author_id}"]["observations"]["latency"]
    assert figures["p95_ms"] > BUDGET_MS
    assert found["title"] == f"p95 latency {figures['p95_ms']:.1f} ms is over the packet's budget of {BUDGET_MS} ms"
    assert any("OVER the packet's p95 budget" in note for note in report["performance_notes"])


def test_unpaginated_list_fails(
    pytester: pytest.Pytester, perf_project: PerfProject, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    perf_project("unpaginated")
    result, report = _run(pytester, monkeypatch, database_url, "-k", "pagination")
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()[-3000:]
    checks = _checks(report, "performance.pagination")
    assert checks["GET /api/books"]["status"] == "passed"
    assert checks["GET /api/authors"]["status"] == "failed"
    [found] = report["gate"]["findings"]
    assert found["location"]["endpoint"] == "GET /api/authors"
    assert found["title"].startswith(f"not paginated: returns every row ({MAX_PAGE_SIZE + 1})")


def test_limit_above_max_page_size_fails(
    pytester: pytest.Pytester, perf_project: PerfProject, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    perf_project("limit_above_max")
    result, report = _run(pytester, monkeypatch, database_url, "-k", "pagination")
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()[-3000:]
    checks = _checks(report, "performance.pagination")
    assert checks["GET /api/books"]["status"] == "passed"
    [found] = report["gate"]["findings"]
    assert found["location"]["endpoint"] == "GET /api/authors"
    limit = MAX_PAGE_SIZE + 1
    assert found["title"] == f"accepts limit={limit}, above max_page_size {MAX_PAGE_SIZE}, and returns {limit} rows"


def test_seed_hook_makes_rows_the_api_cannot_create(
    pytester: pytest.Pytester, perf_project: PerfProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    perf_project("n_plus_one", seed_hook=True)
    result, report = _run(pytester, monkeypatch, f"sqlite:///{tmp_path / 'seeded.db'}", "-k", "n-plus-one")
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()[-3000:]
    authors = _checks(report, "performance.n_plus_one")["GET /api/authors"]
    assert authors["status"] == "failed"
    assert any("added by the pytest_backend_seed hook" in line for line in authors["evidence"])


def test_over_http_n_plus_one_is_not_verified_and_latency_still_measured(
    pytester: pytest.Pytester, perf_project: PerfProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    command = f"{sys.executable} -m uvicorn perf_app.main:app --port {{port}}"
    perf_project("slow", ini={"backend_app": "", "backend_command": command})
    result, report = _run(pytester, monkeypatch, f"sqlite:///{tmp_path / 'http.db'}", "-m", "performance")
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()[-3000:]
    for check in _checks(report, "performance.n_plus_one").values():
        assert check["status"] == "not verified"
        assert check["summary"].startswith("statement counting needs the app in-process")
    latency = _checks(report, "performance.latency")
    assert latency["GET /api/authors/{author_id}"]["status"] == "failed"
    assert latency["GET /api/authors"]["status"] == "passed"
    pagination = _checks(report, "performance.pagination")["GET /api/authors"]
    assert pagination["status"] == "passed"
    assert "connection pool: not observed (the app runs in another process)" in pagination["evidence"]


def _django_n_plus_one(pytester: pytest.Pytester) -> tuple[pytest.RunResult, dict[str, Any], dict[str, Any]]:
    """A gate run of the Django shelf's N+1 item (in its own process: Django is set up once per process)."""
    result = pytester.runpytest_subprocess("--backend-report", "-k", "n-plus-one", "-p", "no:xdist")
    report = read_report(pytester.path)
    validate_report(report)
    return result, report, _checks(report, "performance.n_plus_one")["GET /api/books"]


def test_django_list_without_select_related_fails_naming_the_author_query(
    pytester: pytest.Pytester, django_perf_project: PerfProject, database_url: str
) -> None:
    django_perf_project("n_plus_one", database_url=database_url)
    result, report, books = _django_n_plus_one(pytester)
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()[-3000:]
    assert books["status"] == "failed"
    n1, n2 = books["observations"]["rows"]
    assert (n1, n2) == (2, 12)
    [found] = report["gate"]["findings"]
    assert found["check"] == "performance.n_plus_one"
    assert found["location"]["endpoint"] == "GET /api/books"
    assert found["title"] == f"N+1 queries: `{DJANGO_AUTHOR_QUERY}` ran 2 times for 2 rows and 12 times for 12 rows"
    assert "select_related()" in found["fix"]
    vendor = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    assert books["observations"]["pools"] == [f"{vendor}: Django connection 'default' (CONN_MAX_AGE 0)"]
    assert "Django" in books["observations"]["counted"]
    result.stdout.fnmatch_lines(["*n-plus-one*GET /api/books*"])


def test_django_list_with_select_related_passes_with_zero_findings(
    pytester: pytest.Pytester, django_perf_project: PerfProject, database_url: str
) -> None:
    django_perf_project(database_url=database_url)
    result, report, books = _django_n_plus_one(pytester)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    assert report["gate"]["findings"] == []
    assert books["status"] == "passed"
    assert books["observations"]["rows"] == [2, 12]
    statements = books["observations"]["statements"]
    assert statements[0] == statements[1] > 0
    assert (
        books["summary"]
        == f"{statements[0]} statement(s) for 2 rows, {statements[1]} for 12: the statements do not grow with the rows"
    )


@pytest.mark.parametrize("defect", [None, "n_plus_one"])
def test_django_under_asgi_counts_the_connections_its_request_threads_open(
    pytester: pytest.Pytester, django_perf_project: PerfProject, tmp_path: Path, defect: str | None
) -> None:
    django_perf_project(defect, database_url=f"sqlite:///{tmp_path / 'asgi.db'}", asgi=True)
    result, report, books = _django_n_plus_one(pytester)
    assert books["status"] == ("failed" if defect else "passed"), books
    assert any(line.startswith("under ASGI, Django statements are seen only") for line in books["evidence"])
    if defect:
        assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()[-3000:]
        [found] = report["gate"]["findings"]
        assert DJANGO_AUTHOR_QUERY in found["title"]
    else:
        assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
        assert report["gate"]["findings"] == []
