"""Discovering the backend's ORM models (SQLAlchemy 2 declarative metadata) from its source package."""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_backend_agent.backend.source import modules_under

__all__ = ["OrmColumn", "OrmTable", "discover_sqlalchemy_tables"]


@dataclass(frozen=True)
class OrmColumn:
    """A column as the ORM declares it."""

    name: str
    type: str
    primary_key: bool
    nullable: bool
    unique: bool
    foreign_keys: tuple[str, ...]
    indexed: bool


@dataclass
class OrmTable:
    """A table as the ORM declares it, with the class that maps it when there is one."""

    name: str
    model: str | None
    columns: dict[str, OrmColumn] = field(default_factory=dict)


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


def _scan_modules(src: Path) -> tuple[list[Any], dict[str, str]]:
    """Metadata objects and mapped classes (table name -> class name) defined in modules under ``src``."""
    from sqlalchemy import MetaData, Table

    metadata: dict[int, Any] = {}
    models: dict[str, str] = {}
    for module in modules_under(src):
        for value in list(vars(module).values()):
            found = value if isinstance(value, MetaData) else getattr(value, "metadata", None)
            if isinstance(found, MetaData):
                metadata[id(found)] = found
            table = getattr(value, "__table__", None) if isinstance(value, type) else None
            if isinstance(table, Table):
                models.setdefault(table.name, value.__name__)
    return list(metadata.values()), models


def discover_sqlalchemy_tables(src: Path) -> tuple[dict[str, OrmTable], list[str]]:
    """Tables declared by SQLAlchemy metadata in ``src`` (imported if needed) and the problems met."""
    if "sqlalchemy" not in sys.modules:
        try:
            import sqlalchemy  # noqa: F401
        except ImportError:
            return {}, ["SQLAlchemy is not installed in this environment"]
    problems = _import_model_modules(src)
    tables: dict[str, OrmTable] = {}
    all_metadata, models = _scan_modules(src)
    for metadata in all_metadata:
        for table in metadata.sorted_tables:
            indexed = {col.name for index in table.indexes for col in index.columns}
            unique = {
                col.name
                for constraint in table.constraints
                if type(constraint).__name__ == "UniqueConstraint" and len(constraint.columns) == 1
                for col in constraint.columns
            }
            unique |= {
                col.name for index in table.indexes if index.unique and len(index.columns) == 1 for col in index.columns
            }
            entry = OrmTable(name=table.name, model=models.get(table.name))
            for column in table.columns:
                entry.columns[column.name] = OrmColumn(
                    name=column.name,
                    type=str(column.type.__class__.__name__),
                    primary_key=bool(column.primary_key),
                    nullable=bool(column.nullable),
                    unique=bool(column.unique) or column.name in unique,
                    foreign_keys=tuple(sorted(fk.target_fullname for fk in column.foreign_keys)),
                    indexed=bool(column.index) or column.name in indexed,
                )
            tables[table.name] = entry
    return tables, problems
