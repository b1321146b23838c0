"""``data.migrations``: the migrations build exactly the schema the models declare.

Alembic: every revision is applied to a scratch database (a temporary SQLite file, or ``--backend-scratch-db``)
through the project's ``env.py``, and ``alembic.autogenerate.compare_metadata`` compares the result with the
models. Django: what ``makemigrations --check --dry-run`` computes (Django's autodetector; no database).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_backend_agent.checks.data.common import FAMILY, model_finding, orm_facts, project_folders
from pytest_backend_agent.findings import CheckOutcome, CheckStatus, Finding, Location, Severity
from pytest_backend_agent.packet.model import Packet

if TYPE_CHECKING:
    from pytest_backend_agent.checks.context import GateContext

__all__ = ["CHECK", "check_migrations"]

CHECK = "data.migrations"
_NO_MIGRATION_FIX = {
    "alembic": "Write a migration for it (alembic revision --autogenerate -m '...'), review it and commit it.",
    "django": "Run `python manage.py makemigrations`, review the new migration and commit it.",
}


def _outcome(tool: str, status: CheckStatus, summary: str, **extra: object) -> CheckOutcome:
    return CheckOutcome(check=CHECK, family=FAMILY, target=tool, status=status, summary=summary, **extra)  # type: ignore[arg-type]


def _missing(tool: str) -> CheckOutcome:
    where = {
        "alembic": "no alembic.ini with a script_location, and no env.py beside a versions folder",
        "django": "no manage.py and no DJANGO_SETTINGS_MODULE",
    }[tool]
    finding = Finding(
        check=CHECK,
        category=FAMILY,
        severity=Severity.ERROR,
        title=f"the packet's tech_stack names {tool} but the backend has no {tool} migrations",
        location=Location(),
        evidence=f"searched the project root, the rootdir and the source folder: {where}",
        fix=f"Create the {tool} migrations that build the schema ("
        + ("alembic init, then alembic revision --autogenerate" if tool == "alembic" else "manage.py makemigrations")
        + "), or correct tech_stack.migrations in the packet.",
    )
    return _outcome(tool, CheckStatus.FAILED, f"no {tool} migrations found", findings=[finding])


def _drift_findings(tool: str, items: list[tuple[str, str]]) -> list[Finding]:
    return [
        model_finding(
            CHECK,
            Severity.ERROR,
            f"model change with no migration: {text}",
            place,
            text,
            _NO_MIGRATION_FIX[tool],
        )
        for place, text in items
    ]


def _alembic(context: GateContext) -> CheckOutcome:
    from pytest_backend_agent.backend.alembic_drift import (
        MigrationsFailed,
        NotMigrated,
        find_alembic,
        migrate_and_compare,
    )
    from pytest_backend_agent.backend.scratch_db import scratch_database

    setup = find_alembic(project_folders(context.settings))
    if setup is None:
        return _missing("alembic")
    facts = orm_facts(context)
    evidence = [f"alembic: {setup.ini or setup.env_py}", *facts.problems]
    with scratch_database(context.settings.scratch_db, in_process=context.settings.mode == "app") as scratch:
        if scratch.password:
            context.redactor.add(str(scratch.password))
        evidence.append(f"scratch database: {scratch.how}")
        try:
            drift = migrate_and_compare(setup, scratch.url, facts.metadata)
        except MigrationsFailed as error:
            if not scratch.url.startswith("sqlite"):
                finding = Finding(
                    check=CHECK,
                    category=FAMILY,
                    severity=Severity.ERROR,
                    title="the migrations do not apply to an empty database",
                    location=Location(),
                    evidence=str(error),
                    fix="Run alembic upgrade head on an empty database of the backend's server type and fix the "
                    "revision that raises.",
                )
                return _outcome(
                    "alembic", CheckStatus.FAILED, "upgrade head failed", evidence=evidence, findings=[finding]
                )
            return _outcome(
                "alembic",
                CheckStatus.NOT_VERIFIED,
                f"upgrade head failed on a scratch SQLite database ({error}); give --backend-scratch-db (ini "
                "backend_scratch_db) an empty database of the backend's server type",
                evidence=evidence,
            )
        except NotMigrated as error:
            return _outcome("alembic", CheckStatus.NOT_VERIFIED, str(error), evidence=evidence)
    evidence.extend(drift.evidence)
    findings = _drift_findings("alembic", [(item.place, item.text) for item in drift.items])
    summary = (
        f"{len(findings)} model change(s) with no migration"
        if findings
        else f"the {drift.revisions} migration(s) build the schema the models declare"
    )
    return _outcome(
        "alembic",
        CheckStatus.FAILED if findings else CheckStatus.PASSED,
        summary,
        evidence=evidence,
        findings=findings,
        observations={"revisions": drift.revisions, "drift": [[i.kind, i.place] for i in drift.items]},
    )


def _django(context: GateContext) -> CheckOutcome:
    from pytest_backend_agent.backend.django_orm import django_in_use, pending_django_changes

    folders = project_folders(context.settings)
    if not django_in_use(folders):
        return _missing("django")
    orm_facts(context)  # imports the app first (it may set Django up itself)
    changes, blocking, problem = pending_django_changes(folders)
    if problem:
        return _outcome("django", CheckStatus.NOT_VERIFIED, problem)
    findings = _drift_findings("django", [(change.place, change.description) for change in changes])
    findings += [
        Finding(
            check=CHECK,
            category=FAMILY,
            severity=Severity.ERROR,
            title=text,
            location=Location(),
            evidence=text,
            fix="Run `python manage.py makemigrations` (with --merge for conflicts) and commit the result.",
        )
        for text in blocking
    ]
    summary = (
        f"{len(findings)} problem(s): makemigrations --check would fail"
        if findings
        else "makemigrations --check --dry-run finds no model change without a migration"
    )
    return _outcome(
        "django",
        CheckStatus.FAILED if findings else CheckStatus.PASSED,
        summary,
        findings=findings,
        observations={"drift": [[c.app, c.place, c.description] for c in changes]},
    )


def check_migrations(context: GateContext, packet: Packet, tool: str) -> CheckOutcome:
    """Apply or inspect the backend's ``tool`` migrations and report every model change they lack."""
    if tool == "alembic":
        try:
            import alembic  # noqa: F401
        except ImportError:
            return _outcome("alembic", CheckStatus.NOT_VERIFIED, "Alembic is not installed in this environment")
        return _alembic(context)
    return _django(context)
