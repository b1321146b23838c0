"""``data.fk_indexes``: every foreign-key column has an index that leads with it.

Neither PostgreSQL nor SQLite indexes a foreign-key column by itself, so joins and the referenced row's
deletes scan the whole child table. Django's ``ForeignKey`` is indexed by default; SQLAlchemy's is not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_backend_agent.checks.data.common import FAMILY, model_finding, orm_facts, packet_model_for
from pytest_backend_agent.checks.data.models import column_text
from pytest_backend_agent.findings import CheckOutcome, CheckStatus, Finding, Severity
from pytest_backend_agent.packet.model import Packet

if TYPE_CHECKING:
    from pytest_backend_agent.checks.context import GateContext

__all__ = ["CHECK", "check_fk_indexes"]

CHECK = "data.fk_indexes"


def check_fk_indexes(context: GateContext, packet: Packet) -> CheckOutcome:
    """One finding per foreign-key column with no index leading with it: an error when the packet's field says
    ``indexed: true``, else a warning."""
    facts = orm_facts(context)
    if facts.unavailable or not facts.tables:
        return CheckOutcome(
            check=CHECK,
            family=FAMILY,
            target="orm",
            status=CheckStatus.NOT_VERIFIED,
            summary=facts.unavailable or f"no ORM models found ({facts.source})",
            evidence=list(facts.problems),
        )
    findings: list[Finding] = []
    checked = 0
    for table in facts.tables.values():
        model = packet_model_for(packet, table.name)
        for column in table.columns.values():
            if not column.foreign_keys or column.name in table.composite_fk_members:
                continue
            checked += 1
            if column.indexed or column.primary_key:
                continue
            field = next((f for f in (model.fields if model else []) if table.column(f.name) is column), None)
            asked = field is not None and field.indexed
            place = f"{model.name if model else table.model or table.name}.{field.name if field else column.name}"
            findings.append(
                model_finding(
                    CHECK,
                    Severity.ERROR if asked else Severity.WARNING,
                    f"foreign key to {', '.join(column.foreign_keys)} has no index"
                    + (" (the packet asks for one)" if asked else ""),
                    place,
                    column_text(table, column)
                    + "; PostgreSQL and SQLite do not index foreign-key columns by themselves",
                    f"Add index=True to {table.name}.{column.name} (or an Index whose first column is it) and a "
                    "migration that creates it.",
                )
            )
    errors = [f for f in findings if f.severity is Severity.ERROR]
    summary = (
        f"{len(findings)} of {checked} foreign-key column(s) have no index"
        if findings
        else f"all {checked} foreign-key column(s) have an index leading with them"
    )
    return CheckOutcome(
        check=CHECK,
        family=FAMILY,
        target="orm",
        status=CheckStatus.FAILED if errors else CheckStatus.PASSED,
        summary=summary,
        evidence=[f"{len(facts.tables)} table(s) read from the {facts.source}"],
        findings=findings,
        observations={"foreign_keys": checked, "unindexed": [f.location.model for f in findings]},
    )
