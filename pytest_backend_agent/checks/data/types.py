"""Which ORM column types satisfy a packet field's ``type``: the compatibility table, and its reasons.

Leniency, decided once:

- ``string`` accepts string and text columns (a text column holds any string);
- ``text`` accepts text columns and string columns without a length (``VARCHAR`` with no limit), not ``String(50)``;
- ``float`` accepts float and decimal columns; ``decimal`` only decimal (a float would lose cents);
- ``uuid`` accepts native UUID columns and string columns of no length or at least 32 characters (how a UUID is
  kept on SQLite and MySQL);
- ``integer`` accepts every integer size; ``datetime``, ``date``, ``boolean``, ``json``: only their own family.

A packet type the gate does not know is not judged (the evidence says so). Common spellings are read as the
packet's words: ``int``/``bigint`` -> integer, ``str``/``varchar`` -> string, ``bool`` -> boolean,
``timestamp`` -> datetime, ``numeric`` -> decimal, ``jsonb`` -> json and a few more.
"""

from __future__ import annotations

__all__ = ["ACCEPTED", "PACKET_TYPES", "canonical_type", "type_compatible"]

PACKET_TYPES = ("integer", "string", "text", "boolean", "float", "decimal", "datetime", "date", "uuid", "json")

_ALIASES = {
    "int": "integer",
    "bigint": "integer",
    "smallint": "integer",
    "serial": "integer",
    "str": "string",
    "varchar": "string",
    "char": "string",
    "email": "string",
    "enum": "string",
    "bool": "boolean",
    "double": "float",
    "real": "float",
    "number": "float",
    "numeric": "decimal",
    "money": "decimal",
    "timestamp": "datetime",
    "timestamptz": "datetime",
    "jsonb": "json",
    "guid": "uuid",
}

ACCEPTED: dict[str, frozenset[str]] = {
    "integer": frozenset({"integer"}),
    "string": frozenset({"string", "text"}),
    "text": frozenset({"text", "string"}),
    "boolean": frozenset({"boolean"}),
    "float": frozenset({"float", "decimal"}),
    "decimal": frozenset({"decimal"}),
    "datetime": frozenset({"datetime"}),
    "date": frozenset({"date"}),
    "uuid": frozenset({"uuid", "string"}),
    "json": frozenset({"json"}),
}


def canonical_type(packet_type: str) -> str | None:
    """The packet's type in the gate's words (``VARCHAR`` -> ``string``), or None when it is not one it knows."""
    name = packet_type.strip().lower()
    name = _ALIASES.get(name, name)
    return name if name in ACCEPTED else None


def type_compatible(packet_type: str, family: str, length: int | None = None) -> bool | None:
    """Whether a column of ``family`` (and string ``length``) satisfies ``packet_type``; None: not judged."""
    wanted = canonical_type(packet_type)
    if wanted is None:
        return None
    if family not in ACCEPTED[wanted]:
        return False
    if wanted == "text" and family == "string":
        return length is None
    if wanted == "uuid" and family == "string":
        return length is None or length >= 32
    return True
