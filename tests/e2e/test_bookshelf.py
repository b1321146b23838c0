"""The bundled example backend passes the gate, serially and under xdist, with one valid report."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.e2e.backends import read_report, validate_report
from tests.e2e.test_cli import REPORT, cli
from tests.postgres import PostgresServer

pytestmark = pytest.mark.e2e

EXAMPLE = Path(__file__).parents[2] / "examples" / "bookshelf"
_IGNORE = shutil.ignore_patterns("backend-engineer", "system", "*.db", "__pycache__", ".pytest_cache")


@pytest.fixture
def bookshelf(pytester: pytest.Pytester) -> Path:
    """A copy of examples/bookshelf in the pytester folder."""
    shutil.copytree(EXAMPLE, pytester.path, dirs_exist_ok=True, ignore=_IGNORE)
    return pytester.path


def test_bookshelf_passes_the_gate(pytester: pytest.Pytester, bookshelf: Path) -> None:
    result = pytester.runpytest_subprocess("--backend-report", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    result.stdout.fnmatch_lines(
        [
            "*= backend gate =*",
            "contract*22*0*0",
            "data*3*0*0",
            "fuzz*8*0*0",
            "performance*11*0*0",
            "quality*6*0*0",
            "security*22*0*0",
            "gate PASSED*",
        ]
    )
    report = read_report(bookshelf)
    validate_report(report)
    gate = report["gate"]
    assert gate["verdict"] == "passed"
    assert [f for f in gate["findings"] if f["severity"] == "error"] == []
    assert gate["findings"] == []
    owned = next(c for c in gate["checks"] if c["nodeid"] == "backend-gate::object_access[GET /api/v1/loans]")
    assert owned["status"] == "passed", owned  # a second member's list never shows the first member's loan
    assert report["known_issues"] == []
    assert len(report["api_endpoints_implemented"]) == 7
    assert {m["name"] for m in report["data_models_created"]} == {"User", "Book", "Loan"}
    assert [m["tool"] for m in report["database_migrations"]] == ["alembic"]
    assert report["testing_coverage"]["api_tests"]["count"] > 0
    assert report["testing_coverage"]["unit_tests"]["count"] > 0
    assert report["security_measures"]["authentication"] == "JWT"
    assert report["security_measures"]["rate_limiting"] == "implemented"
    assert report["security_measures"]["authorization"].startswith("role-based")
    assert report["security_measures"]["authorization"].endswith("on 1 of 1 owner-scoped endpoint(s)")
    assert {d["name"] for d in report["dependencies_added"]} >= {"fastapi", "sqlalchemy", "alembic"}
    assert (bookshelf / "ARTIFACTS" / "system" / "stage-completion-signal.json").is_file()
    checked = cli("validate-report", "ARTIFACTS/backend-engineer/backend-implementation-report.json", cwd=bookshelf)
    assert (checked.returncode, checked.stdout.strip()) == (0, f"{REPORT}: valid")


def test_bookshelf_passes_the_gate_on_postgresql(
    pytester: pytest.Pytester,
    bookshelf: Path,
    postgres_url: str,
    postgres_server: PostgresServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The example's migrations, models and every check hold on a real PostgreSQL server, not only on SQLite;
    without --backend-scratch-db, data.migrations creates its scratch database on the app's own server."""
    monkeypatch.setenv("BOOKSHELF_DATABASE_URL", postgres_url)
    result = pytester.runpytest_subprocess("--backend-report", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    report = read_report(bookshelf)
    validate_report(report)
    assert report["gate"]["verdict"] == "passed"
    assert report["gate"]["findings"] == []
    assert {m["name"] for m in report["data_models_created"]} == {"User", "Book", "Loan"}
    migrations = next(c for c in report["gate"]["checks"] if c["check"] == "data.migrations")
    assert migrations["status"] == "passed"
    assert any("postgresql+psycopg://" in line for line in migrations["evidence"])
    assert (
        "scratch database: a fresh database on the backend's own PostgreSQL server, dropped afterwards"
        in (migrations["evidence"])
    )
    import psycopg

    with psycopg.connect(postgres_server.admin_url) as connection:
        names = [row[0] for row in connection.execute("SELECT datname FROM pg_database")]
    assert not [name for name in names if name.startswith("backend_gate_scratch_")]  # dropped again
    performance = {c["nodeid"]: c for c in report["gate"]["checks"] if c["family"] == "performance"}
    assert {c["status"] for c in performance.values()} == {"passed"}
    n_plus_one = performance["backend-gate::n-plus-one[GET /api/v1/loans]"]
    assert n_plus_one["observations"]["pools"] == ["postgresql: QueuePool (size 5, max overflow 10, pre-ping)"]


def test_bookshelf_under_xdist_gives_the_same_verdict(pytester: pytest.Pytester, bookshelf: Path) -> None:
    result = pytester.runpytest_subprocess("--backend-report", "-p", "no:cacheprovider", "-n", "2")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    report = read_report(bookshelf)
    validate_report(report)
    assert report["gate"]["verdict"] == "passed"
    assert len(report["gate"]["checks"]) == 72
    assert len({c["nodeid"] for c in report["gate"]["checks"]}) == 72
    assert {c["nodeid"]: c["status"] for c in report["gate"]["checks"] if c["family"] == "quality"} == {
        "backend-gate::ruff[bookshelf]": "passed",
        "backend-gate::format[bookshelf]": "passed",
        "backend-gate::mypy[bookshelf]": "passed",
        "backend-gate::docstrings[bookshelf]": "passed",
        "backend-gate::quality.coverage[bookshelf]": "passed",
        "backend-gate::quality.endpoint_tests[own tests]": "passed",
    }
    assert report["testing_coverage"]["coverage_percent"] > 95
    assert report["testing_coverage"]["endpoints_untested"] == []
