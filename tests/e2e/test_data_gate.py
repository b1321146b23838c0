"""The data family end to end: models against the packet, migrations against the models, indexes on foreign keys.

Every fixture backend runs on SQLite and on a real PostgreSQL server (``database_url``); on PostgreSQL the
Alembic migrations are applied to a second fresh PostgreSQL database (``--backend-scratch-db``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.backends import read_report, validate_report
from tests.e2e.data_backends import DataProject, data_packet

pytestmark = pytest.mark.e2e


def _run(pytester: pytest.Pytester, scratch_db: str | None, *extra: str, subprocess: bool = False) -> Any:
    args = ["--backend-report", "-m", "data", *extra]
    if scratch_db:
        args.append(f"--backend-scratch-db={scratch_db}")
    return pytester.runpytest_subprocess(*args) if subprocess else pytester.runpytest(*args)


def _statuses(report: dict[str, Any]) -> dict[str, str]:
    return {c["nodeid"]: c["status"] for c in report["gate"]["checks"] if c["family"] == "data"}


def _findings(report: dict[str, Any], check: str) -> list[dict[str, Any]]:
    return [f for f in report["gate"]["findings"] if f["check"] == check]


def test_clean_backend_has_zero_findings(
    pytester: pytest.Pytester, data_project: DataProject, database_url: str, scratch_db: str | None
) -> None:
    root = data_project(database_url=database_url)
    result = _run(pytester, scratch_db)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    report = read_report(root)
    validate_report(report)
    assert report["gate"]["verdict"] == "passed"
    assert report["gate"]["findings"] == []
    assert _statuses(report) == {
        "backend-gate::models[orm]": "passed",
        "backend-gate::migrations[alembic]": "passed",
        "backend-gate::fk_indexes[orm]": "passed",
    }
    assert {(m["name"], m["table"]) for m in report["data_models_created"]} == {
        ("Author", "authors"),
        ("Book", "books"),
    }
    migrations = next(c for c in report["gate"]["checks"] if c["check"] == "data.migrations")
    server = "postgresql" if scratch_db else "sqlite"
    assert any(line.startswith("applied 1 revision(s)") and server in line for line in migrations["evidence"])
    assert [m["path"] for m in report["database_migrations"]] == ["migrations/versions/0001_initial.py"]


def test_a_column_missing_from_the_migrations_is_named(
    pytester: pytest.Pytester, data_project: DataProject, database_url: str, scratch_db: str | None
) -> None:
    root = data_project("unmigrated_column", database_url=database_url)
    result = _run(pytester, scratch_db)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = read_report(root)
    validate_report(report)
    assert _statuses(report)["backend-gate::migrations[alembic]"] == "failed"
    assert _statuses(report)["backend-gate::models[orm]"] == "passed"
    [finding] = _findings(report, "data.migrations")
    assert finding["location"]["model"] == "authors.country"
    assert finding["title"].startswith("model change with no migration: column authors.country")
    result.stdout.fnmatch_lines(["*data.migrations] authors.country: model change with no migration*"])


def test_a_model_the_code_lacks_is_named(
    pytester: pytest.Pytester, data_project: DataProject, database_url: str, scratch_db: str | None
) -> None:
    root = data_project("missing_model", database_url=database_url)
    result = _run(pytester, scratch_db)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = read_report(root)
    assert _statuses(report)["backend-gate::models[orm]"] == "failed"
    assert _statuses(report)["backend-gate::migrations[alembic]"] == "passed"
    [finding] = _findings(report, "data.models")
    assert finding["location"]["model"] == "Review"
    assert "model Review has no table" in finding["title"]


def test_a_foreign_key_without_an_index_fails_when_the_packet_asks_for_one(
    pytester: pytest.Pytester, data_project: DataProject, database_url: str, scratch_db: str | None
) -> None:
    root = data_project("fk_unindexed", database_url=database_url)
    result = _run(pytester, scratch_db)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = read_report(root)
    assert _statuses(report) == {
        "backend-gate::models[orm]": "passed",
        "backend-gate::migrations[alembic]": "passed",
        "backend-gate::fk_indexes[orm]": "failed",
    }
    [finding] = _findings(report, "data.fk_indexes")
    assert finding["location"]["model"] == "Book.author_id"
    assert finding["severity"] == "error"
    assert "foreign key to authors.id has no index" in finding["title"]


def test_a_foreign_key_without_an_index_is_a_warning_when_the_packet_is_silent(
    pytester: pytest.Pytester, data_project: DataProject, tmp_path: Path
) -> None:
    packet = data_packet()
    author_id = next(f for f in packet["data_models"][1]["fields"] if f["name"] == "author_id")
    author_id["indexed"] = False
    root = data_project("fk_unindexed", database_url=f"sqlite:///{tmp_path / 'app.db'}", packet=packet)
    result = _run(pytester, None)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    report = read_report(root)
    assert report["gate"]["verdict"] == "passed"
    [finding] = report["gate"]["findings"]
    assert (finding["check"], finding["severity"], finding["location"]["model"]) == (
        "data.fk_indexes",
        "warning",
        "Book.author_id",
    )


def test_type_nullability_and_unique_mismatches_are_named(
    pytester: pytest.Pytester, data_project: DataProject, database_url: str, scratch_db: str | None
) -> None:
    root = data_project("mismatch", database_url=database_url)
    result = _run(pytester, scratch_db)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = read_report(root)
    validate_report(report)
    assert _statuses(report)["backend-gate::migrations[alembic]"] == "passed"
    named = {f["location"]["model"]: f["title"] for f in _findings(report, "data.models")}
    assert named == {
        "Book.price": "type decimal in the packet, integer (Integer()) in the model",
        "Book.title": "not nullable in the packet, nullable in the model",
        "Book.isbn": named["Book.isbn"],
    }
    assert named["Book.isbn"].startswith("unique in the packet, no unique constraint")
    evidence = next(f["evidence"] for f in _findings(report, "data.models") if f["location"]["model"] == "Book.isbn")
    assert evidence.startswith("books.isbn: String(length=13) (string), not null")


@pytest.mark.parametrize("defect", [None, "missing_migration"])
def test_django_backend(
    pytester: pytest.Pytester, django_project: DataProject, database_url: str, defect: str | None
) -> None:
    root = django_project(defect, database_url=database_url)
    result = _run(pytester, None, subprocess=True)
    report = read_report(root)
    validate_report(report)
    assert _statuses(report)["backend-gate::models[orm]"] == "passed"
    assert _statuses(report)["backend-gate::fk_indexes[orm]"] == "passed"
    assert {m["source"] for m in report["data_models_created"]} == {"django models"}
    if defect is None:
        assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
        assert report["gate"]["findings"] == []
        assert _statuses(report)["backend-gate::migrations[django]"] == "passed"
        return
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert _statuses(report)["backend-gate::migrations[django]"] == "failed"
    [finding] = _findings(report, "data.migrations")
    assert finding["location"]["model"] == "books.pages"
    assert finding["title"] == "model change with no migration: Add field pages to book"


def test_a_scratch_database_that_is_not_a_url_is_a_usage_error(
    pytester: pytest.Pytester, data_project: DataProject, tmp_path: Path
) -> None:
    root = data_project(database_url=f"sqlite:///{tmp_path / 'app.db'}")
    result = pytester.runpytest("--backend-report", "--backend-scratch-db=scratch.db")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--backend-scratch-db (ini backend_scratch_db) must be a SQLAlchemy database URL*"])
    assert not (root / "ARTIFACTS" / "backend-engineer").exists()
