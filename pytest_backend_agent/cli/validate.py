"""``validate-report`` and ``validate-packet``: a document against its contract, every violation with its JSON path."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Validation", "validate_packet_file", "validate_report_file"]

REPORT_CONTRACT = "backend-output-schema.json"


@dataclass
class Validation:
    """What a validation found: violations (the document is invalid) and warnings (it is valid but suspicious)."""

    path: Path
    violations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """True when nothing breaks the contract."""
        return not self.violations


def validate_report_file(path: Path) -> Validation:
    """Check an implementation report against ``contracts/backend-output-schema.json`` (the schema generated from
    the report models the gate writes with); a missing or non-JSON file raises :class:`GateUsageError`."""
    from pytest_backend_agent.packet.load import read_json
    from pytest_backend_agent.report.write import violations

    data, _ = read_json(path, "implementation report")
    return Validation(path, violations(data, REPORT_CONTRACT))


def validate_packet_file(path: Path) -> Validation:
    """Check an architecture packet as the gate loads it (the packet models, which also check that endpoint roles
    are declared and no endpoint is listed twice), and that an ``api.openapi`` file it names exists; unknown
    fields are warnings. A missing or non-JSON file raises :class:`GateUsageError`."""
    from pydantic import ValidationError

    from pytest_backend_agent.errors import GateUsageError
    from pytest_backend_agent.packet.load import LoadedPacket, packet_problems, read_json, unknown_fields
    from pytest_backend_agent.packet.model import Packet

    data, _ = read_json(path, "architecture packet")
    try:
        packet = Packet.model_validate(data)
    except ValidationError as error:
        return Validation(path, packet_problems(error))
    result = Validation(path)
    if packet.api.openapi:
        from pytest_backend_agent.backend.openapi import load_document_file

        try:
            load_document_file((path.parent / packet.api.openapi).resolve())
        except GateUsageError as error:
            result.violations.append(f"$.api.openapi: {error}")
    loaded = LoadedPacket(packet=packet, path=path, sha256="", unknown_fields=tuple(unknown_fields(packet)))
    warning = loaded.unknown_fields_warning()
    if warning is not None:
        result.warnings.append(str(warning))
    return result
