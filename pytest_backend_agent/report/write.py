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

__all__ = [
    "ContractViolation",
    "now_iso",
    "validate",
    "violations",
    "write_json_atomic",
    "write_outputs",
    "write_text_atomic",
]


class ContractViolation(Exception):
    """The gate built a document its own contract rejects (a bug in the gate)."""


def now_iso() -> str:
    """The current UTC time as ISO 8601 with seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def _path_order(error: Any) -> list[tuple[int, int, str]]:
    """Sort key for a jsonschema error: its path, list indexes in numeric order."""
    return [(1, 0, part) if isinstance(part, str) else (0, int(part), "") for part in error.absolute_path]


def violations(document: object, filename: str) -> list[str]:
    """Every way ``document`` breaks the contract ``filename``, as ``$.json.path: message``, in path order."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(contract_schema(filename))
    errors = sorted(validator.iter_errors(document), key=_path_order)
    return [
        "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path) + f": {error.message}"
        for error in errors
    ]


def validate(document: dict[str, Any], filename: str) -> None:
    """Raise :class:`ContractViolation` naming the JSON path when ``document`` breaks the contract."""
    problems = violations(document, filename)
    if problems:
        raise ContractViolation(f"{filename}: {problems[0]} ({len(problems)} error(s))")


def write_json_atomic(path: Path, document: dict[str, Any]) -> str:
    """Write ``document`` to ``path`` through a temporary file and a rename; return its sha256."""
    return _write_atomic(path, (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def write_text_atomic(path: Path, text: str) -> str:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file and a rename; return its sha256."""
    return _write_atomic(path, text.encode("utf-8"))


def _write_atomic(path: Path, data: bytes) -> str:
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
