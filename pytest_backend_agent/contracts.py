"""The JSON Schema contracts, generated from the models.

``python -m pytest_backend_agent.contracts DIR`` writes them (the repository keeps them in ``contracts/``;
a test fails when the checked-in files drift from the models).
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from pytest_backend_agent.packet.model import Packet
from pytest_backend_agent.report.model import BackendReport, StageCompletionSignal

__all__ = ["CONTRACTS", "contract_schema", "render", "write_contracts"]

_BASE = "https://pytest-backend-agent.dev/contracts/"
CONTRACTS: dict[str, type[BaseModel]] = {
    "architecture-handover-packet.schema.json": Packet,
    "backend-output-schema.json": BackendReport,
    "stage-completion-signal.schema.json": StageCompletionSignal,
}


@functools.cache
def contract_schema(filename: str) -> dict[str, Any]:
    """The JSON Schema 2020-12 document for one contract file."""
    schema = CONTRACTS[filename].model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": _BASE + filename, **schema}


def render(filename: str) -> str:
    """The file text of one contract (stable key order, trailing newline)."""
    return json.dumps(contract_schema(filename), indent=2, sort_keys=False) + "\n"


def write_contracts(folder: Path) -> list[Path]:
    """Write every contract into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for filename in CONTRACTS:
        path = folder / filename
        path.write_text(render(filename), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_contracts(Path(sys.argv[1] if len(sys.argv) > 1 else "contracts")):
        sys.stdout.write(f"wrote {written_path}\n")
