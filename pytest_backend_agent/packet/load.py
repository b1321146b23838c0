"""Loading the packet (and the optional project config) with errors a person can act on."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from pytest_backend_agent.errors import GateUsageError, GateWarning
from pytest_backend_agent.packet.model import Packet

__all__ = [
    "LoadedPacket",
    "json_path",
    "load_packet",
    "load_project_config",
    "packet_problems",
    "read_json",
    "unknown_fields",
]

_PACKET_DOCS = "docs/packet-format.md"


@dataclass(frozen=True)
class LoadedPacket:
    """A validated packet with where it came from."""

    packet: Packet
    path: Path
    sha256: str
    unknown_fields: tuple[str, ...] = ()
    text: str = ""

    def unknown_fields_warning(self) -> GateWarning | None:
        """A warning naming fields the gate ignores (likely typos), or None."""
        if not self.unknown_fields:
            return None
        return GateWarning(
            f"architecture packet {self.path} has fields the gate does not know and ignores: "
            f"{', '.join(self.unknown_fields)}. Check their spelling against {_PACKET_DOCS}."
        )


def json_path(location: Sequence[int | str]) -> str:
    """``("api", "endpoints", 2, "method")`` -> ``$.api.endpoints[2].method``."""
    text = "$"
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def read_json(path: Path, what: str, option: str | None = None) -> tuple[Any, bytes]:
    """The parsed JSON of ``path`` and its bytes; :class:`GateUsageError` when it is missing or not JSON.

    ``option`` is the pytest option that names the file, mentioned in the error for a missing file.
    """
    __tracebackhide__ = True
    if not path.is_file():
        where = (
            f"Write it there, or point {option} at it (ini key {option.removeprefix('--').replace('-', '_')})."
            if option
            else "Check the path."
        )
        raise GateUsageError(f"{what} not found: {path}. {where}")
    raw = path.read_bytes()
    try:
        return json.loads(raw), raw
    except json.JSONDecodeError as error:
        raise GateUsageError(
            f"{what} {path} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}. "
            "Fix the JSON syntax (a JSON linter shows the spot)."
        ) from None
    except UnicodeDecodeError:
        raise GateUsageError(f"{what} {path} is not UTF-8 text. Save it as UTF-8 JSON.") from None


def unknown_fields(model: BaseModel, location: tuple[int | str, ...] = ()) -> Iterator[str]:
    """The JSON path of every field in ``model`` (and the models inside it) that its class does not declare."""
    for key in model.model_extra or {}:
        yield json_path((*location, key))
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            yield from unknown_fields(value, (*location, name))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield from unknown_fields(item, (*location, name, index))


def packet_problems(error: ValidationError) -> list[str]:
    """Each problem pydantic found in a packet, as ``$.json.path: message``."""
    return [f"{json_path(item['loc'])}: {item['msg']}" for item in error.errors()]


def load_packet(path: Path) -> LoadedPacket:
    """Read and validate the packet; raise :class:`GateUsageError` naming the file and JSON path on error."""
    __tracebackhide__ = True
    data, raw = read_json(path, "architecture packet", "--backend-packet")
    try:
        packet = Packet.model_validate(data)
    except ValidationError as error:
        problems = packet_problems(error)[:5]
        more = f" (and {error.error_count() - 5} more)" if error.error_count() > 5 else ""
        raise GateUsageError(
            f"architecture packet {path} does not match the packet schema: "
            + "; ".join(problems)
            + more
            + f". Fix those fields (every field is explained in {_PACKET_DOCS}; the JSON Schema is "
            "contracts/architecture-handover-packet.schema.json)."
        ) from None
    return LoadedPacket(
        packet=packet,
        path=path,
        sha256=hashlib.sha256(raw).hexdigest(),
        unknown_fields=tuple(unknown_fields(packet)),
        text=raw.decode("utf-8"),
    )


def load_project_config(path: Path) -> dict[str, Any]:
    """Read project-config.json (free-form JSON object with the tech stack)."""
    __tracebackhide__ = True
    data, _ = read_json(path, "project config", "--backend-config")
    if not isinstance(data, dict):
        raise GateUsageError(f"project config {path} must hold a JSON object at $, not {type(data).__name__}.")
    return data
