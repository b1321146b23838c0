"""Reading a report someone submitted for verification (``--backend-verify``), with errors a person can act on.

The file must match ``contracts/backend-output-schema.json``, except that its ``gate`` section may be missing: that
section is what the gate adds, not a claim, and a report written by hand or by another agent often has none.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from pytest_backend_agent.errors import GateUsageError
from pytest_backend_agent.packet.load import json_path, read_json
from pytest_backend_agent.report.model import (
    ApiEndpoint,
    DataModelCreated,
    Dependency,
    ExternalIntegration,
    Migration,
    SecurityMeasures,
    TestingCoverage,
)

__all__ = ["Claims", "SubmittedReport", "load_submitted"]

_CONTRACT = "contracts/backend-output-schema.json"
_SHOWN_ERRORS = 3


class Claims(BaseModel):
    """The sections of a report that make claims about the backend."""

    model_config = ConfigDict(extra="ignore")

    api_endpoints_implemented: list[ApiEndpoint]
    data_models_created: list[DataModelCreated]
    database_migrations: list[Migration]
    external_integrations: list[ExternalIntegration]
    testing_coverage: TestingCoverage
    security_measures: SecurityMeasures
    dependencies_added: list[Dependency]


@dataclass(frozen=True)
class SubmittedReport:
    """A validated submitted report: its claims, where it came from and its digest."""

    claims: Claims
    path: Path
    sha256: str


def _schema() -> dict[str, Any]:
    """The report contract, with ``gate`` optional (it is the gate's own section, not a claim)."""
    from pytest_backend_agent.contracts import contract_schema

    schema = dict(contract_schema("backend-output-schema.json"))
    schema["required"] = [name for name in schema.get("required", []) if name != "gate"]
    return schema


def _problems(document: Any) -> list[str]:
    """``$.json.path: message`` for each way ``document`` breaks the contract, most specific first."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    validator = Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
    problems = []
    for error in errors:
        if error.context:  # anyOf / oneOf: name the alternative that came closest
            error = best_match(error.context) or error
        problems.append(f"{json_path(list(error.absolute_path))}: {error.message}")
    return problems


def load_submitted(path: Path) -> SubmittedReport:
    """Read and validate the report at ``path``; raise :class:`GateUsageError` naming the file and JSON path."""
    __tracebackhide__ = True
    data, raw = read_json(path, "submitted report", "--backend-verify")
    problems = _problems(data)
    if problems:
        more = f" (and {len(problems) - _SHOWN_ERRORS} more)" if len(problems) > _SHOWN_ERRORS else ""
        raise GateUsageError(
            f"submitted report {path} (--backend-verify) does not match the report contract {_CONTRACT}: "
            + "; ".join(problems[:_SHOWN_ERRORS])
            + more
            + ". Fix those fields (docs/report-format.md explains each; the gate section may be left out), or ask "
            "for a report written by pytest --backend-report."
        )
    try:
        claims = Claims.model_validate(data)
    except ValidationError as error:  # the contract and the models agree; this is a safety net
        first = error.errors()[0]
        raise GateUsageError(
            f"submitted report {path} (--backend-verify): {json_path(first['loc'])}: {first['msg']}. Fix that field "
            "(docs/report-format.md)."
        ) from None
    return SubmittedReport(claims=claims, path=path, sha256=hashlib.sha256(raw).hexdigest())
