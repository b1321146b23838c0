"""Discovering the backend's ORM models (SQLAlchemy 2 declarative metadata, SQLModel) from its source package."""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_backend_agent.backend.column_types import sqlalchemy_family, sqlalchemy_length
from pytest_backend_agent.backend.source import modules_under

__all__ = ["OrmColumn", "OrmTable", "discover_sqlalchemy", "discover_sqlalchemy_tables"]


@dataclass(frozen=True)
class OrmColumn:
    """A column as the ORM declares it.

    ``indexed`` means an index can serve lookups by this column alone: it is the leading column of an index, of
    a unique constraint, or of the primary key.
    """

    name: str
    type: str
    primary_key: bool
    nullable: bool
    unique: bool
    foreign_keys: tuple[str, ...]
    indexed: bool
    family: str = "other"
    length: int | None = None


@dataclass
class OrmTable:
    """A table as the ORM declares it, with the class that maps it when there is one.

    ``aliases`` maps attribute or field names that differ from the column name to it (a Django ``ForeignKey``
    ``author`` is the column ``author_id``).
    """

    name: str
    model: str | None
    columns: dict[str, OrmColumn] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    source: str = "sqlalchemy metadata"
    composite_fk_members: set[str] = field(default_factory=set)
    """Columns that are a later (not the leading) column of a multi-column foreign key."""

    def column(self, name: str) -> OrmColumn | None:
        """The column called ``name``, or the one an attribute of that name maps."""
        found = self.columns.get(name)
        if found is None and name in self.aliases:
            found = self.columns.get(self.aliases[name])
        return found


def _module_name(path: Path, src: Path) -> str:
    relative = path.relative_to(src.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _import_model_modules(src: Path) -> list[str]:
    """Import the modules under ``src`` that mention SQLAlchemy, so their models register; return failures."""
    problems: list[str] = []
    if not (src / "__init__.py").is_file():
        return [f"{src} is not a Python package (no __init__.py)"]
    parent = str(src.parent)
    if parent not in sys.path:
        sys.path.insert(0, parent)
    for path in sorted(src.rglob("*.py")):
        if "migrations" in path.parts or "tests" in path.parts or path.name.startswith("test_"):
            continue
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if "sqlalchemy" not in text and "sqlmodel" not in text:
            continue
        name = _module_name(path, src)
        if name in sys.modules:
            continue
        try:
            importlib.import_module(name)
        except Exception as error:
            problems.append(f"importing {name} raised {type(error).__name__}: {error}")
    return problems


def _scan_modules(src: Path) -> tuple[list[Any], dict[str, Any]]:
    """Metadata objects and mapped classes (table name -> class) defined in modules under ``src``."""
    from sqlalchemy import MetaData, Table

    metadata: dict[int, Any] = {}
    models: dict[str, Any] = {}
    for module in modules_under(src):
        for value in list(vars(module).values()):
            found = value if isinstance(value, MetaData) else getattr(value, "metadata", None)
            if isinstance(found, MetaData):
                metadata[id(found)] = found
            table = getattr(value, "__table__", None) if isinstance(value, type) else None
            if isinstance(table, Table):
                models.setdefault(table.name, value)
    return list(metadata.values()), models


def _aliases(model: Any) -> dict[str, str]:
    """Mapped attribute name -> column name, where they differ."""
    from sqlalchemy import inspect

    try:
        mapper = inspect(model)
    except Exception:
        return {}
    aliases: dict[str, str] = {}
    for attribute in getattr(mapper, "column_attrs", []):
        columns = getattr(attribute, "columns", [])
        if len(columns) == 1 and getattr(columns[0], "name", attribute.key) != attribute.key:
            aliases[attribute.key] = columns[0].name
    return aliases


def _type_text(column_type: Any) -> str:
    try:
        text = repr(column_type)
    except Exception:
        text = type(column_type).__name__
    return text if len(text) <= 60 else text[:57] + "..."


def table_from_sqlalchemy(table: Any, model: Any = None) -> OrmTable:
    """An :class:`OrmTable` read from a SQLAlchemy ``Table`` (and the class mapping it, if any)."""
    leading = {index.columns[0].name for index in table.indexes if len(index.columns)}
    unique: set[str] = set()
    composite: set[str] = set()
    for constraint in table.constraints:
        kind = type(constraint).__name__
        columns = list(constraint.columns)
        if kind == "ForeignKeyConstraint" and len(columns) > 1:
            composite |= {column.name for column in columns[1:]}
        if kind in ("UniqueConstraint", "PrimaryKeyConstraint") and columns:
            leading.add(columns[0].name)
            if kind == "UniqueConstraint" and len(columns) == 1:
                unique.add(columns[0].name)
    unique |= {index.columns[0].name for index in table.indexes if index.unique and len(index.columns) == 1}
    primary = [column.name for column in table.primary_key.columns]
    entry = OrmTable(name=table.name, model=model.__name__ if model is not None else None)
    entry.composite_fk_members = composite
    if model is not None:
        entry.aliases = _aliases(model)
    for column in table.columns:
        entry.columns[column.name] = OrmColumn(
            name=column.name,
            type=_type_text(column.type),
            primary_key=bool(column.primary_key),
            nullable=bool(column.nullable),
            unique=bool(column.unique) or column.name in unique or primary == [column.name],
            foreign_keys=tuple(sorted(fk.target_fullname for fk in column.foreign_keys)),
            indexed=bool(column.index) or bool(column.unique) or column.name in leading,
            family=sqlalchemy_family(column.type),
            length=sqlalchemy_length(column.type),
        )
    return entry


def discover_sqlalchemy(src: Path) -> tuple[dict[str, OrmTable], list[Any], list[str]]:
    """Tables declared by SQLAlchemy metadata in ``src`` (imported if needed), the ``MetaData`` objects holding
    them, and the problems met."""
    if "sqlalchemy" not in sys.modules:
        try:
            import sqlalchemy  # noqa: F401
        except ImportError:
            return {}, [], ["SQLAlchemy is not installed in this environment"]
    problems = _import_model_modules(src)
    tables: dict[str, OrmTable] = {}
    all_metadata, models = _scan_modules(src)
    for metadata in all_metadata:
        for table in metadata.sorted_tables:
            tables[table.name] = table_from_sqlalchemy(table, models.get(table.name))
    return tables, all_metadata, problems


def discover_sqlalchemy_tables(src: Path) -> tuple[dict[str, OrmTable], list[str]]:
    """Tables declared by SQLAlchemy metadata in ``src`` (imported if needed) and the problems met."""
    tables, _, problems = discover_sqlalchemy(src)
    return tables, problems
