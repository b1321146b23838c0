"""``data.models``: the packet's tables and fields exist in the backend's ORM, with the types, keys, nullability,
uniqueness, foreign keys and indexes the packet asks for."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_backend_agent.checks.data.common import FAMILY, model_finding, orm_facts, table_candidates
from pytest_backend_agent.checks.data.types import canonical_type, type_compatible
from pytest_backend_agent.findings import CheckOutcome, CheckStatus, Finding, Severity
from pytest_backend_agent.packet.model import DataModel, Field, Packet

if TYPE_CHECKING:
    from pytest_backend_agent.backend.orm import OrmColumn, OrmTable
    from pytest_backend_agent.checks.context import GateContext

__all__ = ["CHECK", "check_models", "column_text", "field_mismatches"]

CHECK = "data.models"
_BOOKKEEPING = {"alembic_version", "django_migrations"}


def column_text(table: OrmTable, column: OrmColumn) -> str:
    """What the ORM declares for a column, in one line (the evidence of a mismatch)."""
    traits = [
        f"{column.type} ({column.family})",
        "nullable" if column.nullable else "not null",
        *(["primary key"] if column.primary_key else []),
        *(["unique"] if column.unique else []),
        "indexed" if column.indexed else "no index leading with it",
        *(f"foreign key to {target}" for target in column.foreign_keys),
    ]
    return f"{table.name}.{column.name}: " + ", ".join(traits) + f" ({table.source})"


def _foreign_key_targets(packet: Packet, target: str) -> set[str]:
    """``books.id`` as the packet writes it, and ``Book.id`` read through the packet's model names."""
    table, _, column = target.rpartition(".")
    named = next((model for model in packet.data_models if model.name == table), None)
    tables = [table, *(table_candidates(named) if named else [])]
    return {f"{name}.{column}" for name in tables}


def field_mismatches(packet: Packet, field: Field, column: OrmColumn) -> list[tuple[str, str]]:
    """What differs between a packet field and its column, as (what, fix) pairs; empty when it matches.

    Only what the packet states is judged: nullability when ``nullable`` is given, keys, uniqueness and indexes
    when they are asked for. An index on a foreign-key column is left to ``data.fk_indexes``.
    """
    found: list[tuple[str, str]] = []
    compatible = type_compatible(field.type, column.family, column.length)
    if compatible is False:
        length = f" of length {column.length}" if column.length is not None else ""
        wanted = canonical_type(field.type)
        found.append(
            (
                f"type {wanted} in the packet, {column.family}{length} ({column.type}) in the model",
                f"Declare the column with a {wanted} type, or correct the packet's type.",
            )
        )
    if field.nullable is not None and field.nullable != column.nullable:
        said, has = ("nullable", "NOT NULL") if field.nullable else ("not nullable", "nullable")
        found.append(
            (
                f"{said} in the packet, {has} in the model",
                f"Make the column {said} (and migrate), or correct the packet.",
            )
        )
    if field.primary_key and not column.primary_key:
        found.append(("primary key in the packet, not in the model", "Make it the primary key (and migrate)."))
    if field.unique and not column.unique:
        found.append(
            (
                "unique in the packet, no unique constraint or unique index on it alone in the model",
                "Add unique=True (or a single-column UniqueConstraint) and a migration for it.",
            )
        )
    if field.foreign_key:
        targets = _foreign_key_targets(packet, field.foreign_key)
        if not targets.intersection(column.foreign_keys):
            has = ", ".join(column.foreign_keys) or "no foreign key"
            found.append(
                (
                    f"foreign key to {field.foreign_key} in the packet, {has} in the model",
                    f"Declare ForeignKey({field.foreign_key!r}) on the column and migrate.",
                )
            )
    if field.indexed and not field.foreign_key and not (column.indexed or column.unique or column.primary_key):
        found.append(
            (
                "indexed in the packet, no index leading with it in the model",
                "Add index=True (or an Index whose first column is it) and a migration for it.",
            )
        )
    return found


def _model_findings(packet: Packet, model: DataModel, table: OrmTable) -> tuple[list[Finding], list[str]]:
    findings: list[Finding] = []
    unjudged: list[str] = []
    for field in model.fields:
        column = table.column(field.name)
        place = f"{model.name}.{field.name}"
        if column is None:
            findings.append(
                model_finding(
                    CHECK,
                    Severity.ERROR,
                    f"{place} has no column in table {table.name}",
                    place,
                    f"columns of {table.name}: {', '.join(table.columns)}",
                    f"Add the column {field.name} to {table.model or model.name} and a migration for it.",
                )
            )
            continue
        if canonical_type(field.type) is None:
            unjudged.append(f"{place}: type {field.type!r} is not one the gate knows, so it was not compared")
        for what, fix in field_mismatches(packet, field, column):
            findings.append(model_finding(CHECK, Severity.ERROR, what, place, column_text(table, column), fix))
    return findings, unjudged


def check_models(context: GateContext, packet: Packet) -> CheckOutcome:
    """Every packet data model has a table and every field a column that matches what the packet states."""
    facts = orm_facts(context)
    evidence = list(facts.problems)
    if facts.unavailable or not facts.tables:
        summary = facts.unavailable or f"no ORM models found ({facts.source})"
        return CheckOutcome(
            check=CHECK,
            family=FAMILY,
            target="orm",
            status=CheckStatus.NOT_VERIFIED,
            summary=summary,
            evidence=evidence,
        )
    tables = facts.tables
    findings: list[Finding] = []
    matched: set[str] = set()
    models_seen: list[dict[str, object]] = []
    for model in packet.data_models:
        table = next((tables[name] for name in table_candidates(model) if name in tables), None)
        if table is None:
            findings.append(
                model_finding(
                    CHECK,
                    Severity.ERROR,
                    f"model {model.name} has no table (looked for {', '.join(table_candidates(model)[:2])})",
                    model.name,
                    f"tables found ({facts.source}): {', '.join(sorted(tables))}",
                    f"Create the {model.name} model and a migration for it, or correct data_models in the packet.",
                )
            )
            continue
        matched.add(table.name)
        found, unjudged = _model_findings(packet, model, table)
        findings.extend(found)
        evidence.extend(unjudged)
        evidence.append(f"{model.name} -> table {table.name} ({len(found)} mismatch(es) in {len(model.fields)} fields)")
        models_seen.append(
            {"name": model.name, "table": table.name, "model": table.model, "fields": list(table.columns)}
        )
    for name in sorted(set(tables) - matched - _BOOKKEEPING):
        findings.append(
            model_finding(
                CHECK,
                Severity.WARNING,
                f"table {name} is not in the packet's data_models",
                name,
                f"declared by {tables[name].model or 'a Table'} ({facts.source})",
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
    summary = (
        f"{len(errors)} data-model mismatch(es) with the packet"
        if errors
        else f"all {len(packet.data_models)} packet models match their tables and columns"
    )
    return CheckOutcome(
        check=CHECK,
        family=FAMILY,
        target="orm",
        status=CheckStatus.FAILED if errors else CheckStatus.PASSED,
        summary=summary,
        evidence=evidence,
        findings=findings,
        observations={"models": models_seen, "source": facts.source},
    )
