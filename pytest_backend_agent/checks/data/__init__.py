"""The data family: models against the packet (``data.models``), migrations against the models
(``data.migrations``) and indexes on foreign keys (``data.fk_indexes``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pytest_backend_agent.backend.alembic_drift import alembic_files_present
from pytest_backend_agent.checks.base import CheckSpec
from pytest_backend_agent.checks.data.common import FAMILY, project_folders, table_candidates
from pytest_backend_agent.checks.data.fk_indexes import check_fk_indexes
from pytest_backend_agent.checks.data.migrations import check_migrations
from pytest_backend_agent.checks.data.models import check_models
from pytest_backend_agent.packet.model import Packet

if TYPE_CHECKING:
    from pytest_backend_agent.settings import Settings

__all__ = ["data_checks", "migration_tools", "table_candidates"]


def _has_django(folders: list[Path]) -> bool:
    return any((folder / "manage.py").is_file() or any(folder.glob("*/manage.py")) for folder in folders)


def migration_tools(packet: Packet, settings: Settings) -> list[str]:
    """The migration tools to check: those the packet's tech_stack names and those whose files the project has
    (read from the file tree only, so every xdist worker collects the same items)."""
    stack = packet.tech_stack
    declared = (stack.migrations or "").lower()
    django_stack = " ".join(filter(None, (stack.migrations, stack.orm, stack.framework))).lower()
    folders = project_folders(settings)
    tools = []
    if "alembic" in declared or alembic_files_present(folders):
        tools.append("alembic")
    if "django" in django_stack or _has_django(folders):
        tools.append("django")
    return tools


def data_checks(packet: Packet, settings: Settings) -> list[CheckSpec]:
    """``models[orm]``, one ``migrations[<tool>]`` per migration tool, and ``fk_indexes[orm]``, when the packet
    has data models."""
    if not packet.data_models:
        return []
    specs = [
        CheckSpec(
            check="data.models", family=FAMILY, name="models", target="orm", run=lambda c: check_models(c, packet)
        )
    ]
    for tool in migration_tools(packet, settings):
        specs.append(
            CheckSpec(
                check="data.migrations",
                family=FAMILY,
                name="migrations",
                target=tool,
                run=lambda c, tool=tool: check_migrations(c, packet, tool),  # type: ignore[misc]
            )
        )
    specs.append(
        CheckSpec(
            check="data.fk_indexes",
            family=FAMILY,
            name="fk_indexes",
            target="orm",
            run=lambda c: check_fk_indexes(c, packet),
        )
    )
    return specs
