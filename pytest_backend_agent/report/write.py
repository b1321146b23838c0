"""Validating against the contract and writing atomically: a reader never sees a half-written file."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pytest_backend_agent.contracts import contract_schema
from pytest_backend_agent.findings import CheckStatus, Severity
from pytest_backend_agent.report.model import BackendReport, StageCompletionSignal, VerdictSummary

__all__ = ["ContractViolation", "now_iso", "validate", "write_json_atomic", "write_outputs"]


class ContractViolation(Exception):
    """The gate built a document its own contract rejects (a bug in the gate)."""


def now_iso() -> str:
    """The current UTC time as ISO 8601 with seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def validate(document: dict[str, Any], filename: str) -> None:
    """Raise :class:`ContractViolation` naming the JSON path when ``document`` breaks the contract."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(contract_schema(filename))
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first.absolute_path)
        raise ContractViolation(f"{filename}: {where}: {first.message} ({len(errors)} error(s))")


def write_json_atomic(path: Path, document: dict[str, Any]) -> str:
    """Write ``document`` to ``path`` through a temporary file and a rename; return its sha256."""
    data = (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return hashlib.sha256(data).hexdigest()


def write_outputs(report: BackendReport, report_path: Path, signal_path: Path, rootdir: Path) -> Path | None:
    """Validate and write the report; write the signal when the gate passed, else remove a stale one.

    Returns the signal path when one was written.
    """
    document = report.model_dump(mode="json")
    validate(document, "backend-output-schema.json")
    digest = write_json_atomic(report_path, document)
    if report.gate.verdict != "passed":
        signal_path.unlink(missing_ok=True)
        return None
    try:
        shown = str(report_path.relative_to(rootdir))
    except ValueError:
        shown = str(report_path)
    checks = report.gate.checks
    signal = StageCompletionSignal(
        report_path=shown,
        report_sha256=digest,
        timestamp=now_iso(),
        verdict=VerdictSummary(
            checks_passed=sum(1 for c in checks if c.status is CheckStatus.PASSED),
            checks_not_verified=sum(1 for c in checks if c.status is CheckStatus.NOT_VERIFIED),
            warnings=sum(1 for f in report.gate.findings if f.severity is Severity.WARNING and f.accepted is None),
        ),
    )
    signal_document = signal.model_dump(mode="json")
    validate(signal_document, "stage-completion-signal.schema.json")
    write_json_atomic(signal_path, signal_document)
    return signal_path
