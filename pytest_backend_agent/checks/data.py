"""Data-model checks: the packet's tables and fields exist in the backend's ORM metadata."""

from __future__ import annotations

from pytest_backend_agent.checks.base import CheckSpec
from pytest_backend_agent.checks.context import GateContext
from pytest_backend_agent.findings import CheckOutcome, CheckStatus, Finding, Location, Severity
from pytest_backend_agent.packet.model import DataModel, Packet

__all__ = ["data_checks", "table_candidates"]

FAMILY = "data"
CHECK = "data.models"
_BOOKKEEPING = {"alembic_version", "django_migrations"}


def _snake(name: str) -> str:
    out = ""
    for index, char in enumerate(name):
        if char.isupper() and index and not name[index - 1].isupper():
            out += "_"
        out += char.lower()
    return out


def _finding(severity: Severity, title: str, model: str, evidence: str, fix: str) -> Finding:
    return Finding(
        check=CHECK,
        category=FAMILY,
        severity=severity,
        title=title,
        location=Location(model=model),
        evidence=evidence,
        fix=fix,
    )


def table_candidates(model: DataModel) -> list[str]:
    """Table names that would implement ``model``: its ``table``, else common spellings of its name."""
    if model.table:
        return [model.table]
    snake = _snake(model.name)
    plural = snake[:-1] + "ies" if snake.endswith("y") else snake + ("es" if snake.endswith("s") else "s")
    return [plural, snake, model.name, model.name.lower()]


def check_models(context: GateContext, packet: Packet) -> CheckOutcome:
    """Every packet data model has a table, and every field a column, in the SQLAlchemy metadata."""
    src = context.settings.src_dir
    if src is None:
        return CheckOutcome(
            check=CHECK,
            family=FAMILY,
            target="orm",
            status=CheckStatus.NOT_VERIFIED,
            summary="no source folder to inspect: set --backend-src (ini backend_src)",
        )
    if context.settings.mode == "app":
        context.backend  # noqa: B018 - importing the app registers its models
    from pytest_backend_agent.backend.orm import discover_sqlalchemy_tables

    tables, problems = discover_sqlalchemy_tables(src)
    evidence = list(problems)
    if not tables:
        return CheckOutcome(
            check=CHECK,
            family=FAMILY,
            target="orm",
            status=CheckStatus.NOT_VERIFIED,
            summary=f"no SQLAlchemy models found under {src}",
            evidence=evidence,
        )
    findings: list[Finding] = []
    matched: set[str] = set()
    models_seen: list[dict[str, object]] = []
    for model in packet.data_models:
        table = next((tables[name] for name in table_candidates(model) if name in tables), None)
        if table is None:
            findings.append(
                _finding(
                    Severity.ERROR,
                    f"model {model.name} has no table (looked for {', '.join(table_candidates(model)[:2])})",
                    model.name,
                    f"tables found: {', '.join(sorted(tables))}",
                    f"Create the {model.name} model and a migration for it, or correct data_models in the packet.",
                )
            )
            continue
        matched.add(table.name)
        missing = [f.name for f in model.fields if f.name not in table.columns]
        for name in missing:
            findings.append(
                _finding(
                    Severity.ERROR,
                    f"{model.name}.{name} has no column in table {table.name}",
                    f"{model.name}.{name}",
                    f"columns of {table.name}: {', '.join(table.columns)}",
                    f"Add the column {name} to {table.model or model.name} and a migration for it.",
                )
            )
        evidence.append(
            f"{model.name} -> table {table.name} ({len(model.fields) - len(missing)}/{len(model.fields)}"
            " fields present)"
        )
        models_seen.append(
            {"name": model.name, "table": table.name, "model": table.model, "fields": list(table.columns)}
        )
    extra = sorted(set(tables) - matched - _BOOKKEEPING)
    for name in extra:
        findings.append(
            _finding(
                Severity.WARNING,
                f"table {name} is not in the packet's data_models",
                name,
                f"declared by {tables[name].model or 'a Table'} in the ORM metadata",
                "Add it to data_models in the packet if it is meant to exist.",
            )
        )
        models_seen.append(
            {
                "name": tables[name].model or name,
                "table": name,
                "model": tables[name].model,
                "fields": list(tables[name].columns),
            }
        )
    errors = [f for f in findings if f.severity is Severity.ERROR]
    status = CheckStatus.FAILED if errors else CheckStatus.PASSED
    summary = (
        f"{len(errors)} data-model mismatch(es) with the packet"
        if errors
        else f"all {len(packet.data_models)} packet models have their tables and columns"
    )
    return CheckOutcome(
        check=CHECK,
        family=FAMILY,
        target="orm",
        status=status,
        summary=summary,
        evidence=evidence,
        findings=findings,
        observations={"models": models_seen},
    )


def data_checks(packet: Packet) -> list[CheckSpec]:
    """One item comparing ORM metadata with ``data_models`` (when the packet has any)."""
    if not packet.data_models:
        return []
    return [
        CheckSpec(
            check=CHECK, family=FAMILY, name="models", target="orm", run=lambda context: check_models(context, packet)
        )
    ]
