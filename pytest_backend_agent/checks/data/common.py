"""What the data checks share: the family's names, findings about a model, and the ORM read once per process."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_backend_agent.findings import Finding, Location, Severity
from pytest_backend_agent.packet.model import DataModel, Packet
from pytest_backend_agent.report.project_files import project_root

if TYPE_CHECKING:
    from pytest_backend_agent.backend.orm import OrmTable
    from pytest_backend_agent.checks.context import GateContext
    from pytest_backend_agent.settings import Settings

__all__ = [
    "FAMILY",
    "OrmFacts",
    "model_finding",
    "orm_facts",
    "packet_model_for",
    "project_folders",
    "table_candidates",
]

FAMILY = "data"


def model_finding(check: str, severity: Severity, title: str, model: str, evidence: str, fix: str) -> Finding:
    """A data finding located at ``model`` (``Book`` or ``Book.isbn``)."""
    return Finding(
        check=check,
        category=FAMILY,
        severity=severity,
        title=title,
        location=Location(model=model),
        evidence=evidence,
        fix=fix,
    )


def _snake(name: str) -> str:
    out = ""
    for index, char in enumerate(name):
        if char.isupper() and index and not name[index - 1].isupper():
            out += "_"
        out += char.lower()
    return out


def table_candidates(model: DataModel) -> list[str]:
    """Table names that would implement ``model``: its ``table``, else common spellings of its name."""
    if model.table:
        return [model.table]
    snake = _snake(model.name)
    plural = snake[:-1] + "ies" if snake.endswith("y") else snake + ("es" if snake.endswith("s") else "s")
    return [plural, snake, model.name, model.name.lower()]


def packet_model_for(packet: Packet, table: str) -> DataModel | None:
    """The packet model a table implements, if the packet names one."""
    return next((model for model in packet.data_models if table in table_candidates(model)), None)


def project_folders(settings: Settings) -> list[Path]:
    """Where the backend's project files are: its project root (nearest pyproject.toml above the source), the
    rootdir and the source folder, without repeats."""
    folders = [project_root(settings.rootdir, settings.src_dir), settings.rootdir]
    if settings.src_dir is not None:
        folders.append(settings.src_dir)
    return list(dict.fromkeys(folder.resolve() for folder in folders))


@dataclass
class OrmFacts:
    """The backend's tables as its ORM declares them, read once per process."""

    tables: dict[str, OrmTable] = field(default_factory=dict)
    metadata: list[Any] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    source: str = "sqlalchemy metadata"
    unavailable: str | None = None
    """Why no ORM could be read at all (no source folder...)."""


def _read(context: GateContext) -> OrmFacts:
    settings = context.settings
    folders = project_folders(settings)
    if settings.mode == "app":
        context.backend  # noqa: B018 - importing the app registers its models (and sets Django up)
    from pytest_backend_agent.backend.django_orm import discover_django_tables, django_in_use

    if django_in_use(folders):
        tables, problems = discover_django_tables(folders)
        return OrmFacts(tables=tables, problems=problems, source="django models")
    if settings.src_dir is None:
        return OrmFacts(unavailable="no source folder to inspect: set --backend-src (ini backend_src)")
    from pytest_backend_agent.backend.orm import discover_sqlalchemy

    tables, metadata, problems = discover_sqlalchemy(settings.src_dir)
    return OrmFacts(tables=tables, metadata=metadata, problems=problems)


def orm_facts(context: GateContext) -> OrmFacts:
    """The backend's ORM tables: Django models in a Django project, else SQLAlchemy metadata under the source
    folder; read on first use in this process and shared by the data checks."""
    facts = context.shared.get("data.orm")
    if not isinstance(facts, OrmFacts):
        facts = _read(context)
        context.shared["data.orm"] = facts
    return facts
