"""Django models as :class:`OrmTable` objects, and the migrations ``makemigrations`` would still write.

Django is configured once per process (``django.setup()``): with ``DJANGO_SETTINGS_MODULE`` when it is set,
else with the settings module the project's ``manage.py`` names. An app that is already set up (a Django
WSGI/ASGI app imported in-process has called ``django.setup()``) is used as it is.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_backend_agent.backend.column_types import django_family
from pytest_backend_agent.backend.orm import OrmColumn, OrmTable

__all__ = [
    "DjangoChange",
    "django_in_use",
    "discover_django_tables",
    "find_manage_py",
    "pending_django_changes",
    "settings_module_from_manage_py",
    "setup_django",
]

_SETTINGS = re.compile(r"DJANGO_SETTINGS_MODULE['\"]\s*,\s*['\"]([\w.]+)['\"]")
_SKIP = {".git", ".venv", "venv", "node_modules", "site-packages", "__pycache__", ".tox", "build", "dist"}


def find_manage_py(folders: list[Path]) -> Path | None:
    """The first ``manage.py`` in one of ``folders`` or a folder just below it."""
    for folder in folders:
        for candidate in [folder / "manage.py", *sorted(folder.glob("*/manage.py"))]:
            if candidate.is_file() and not _SKIP.intersection(candidate.parts):
                return candidate
    return None


def settings_module_from_manage_py(manage_py: Path) -> str | None:
    """The settings module ``manage.py`` sets (``os.environ.setdefault("DJANGO_SETTINGS_MODULE", "x.settings")``)."""
    try:
        match = _SETTINGS.search(manage_py.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return None
    return match.group(1) if match else None


def django_in_use(folders: list[Path]) -> bool:
    """Whether the backend is a Django project: Django is set up here, ``DJANGO_SETTINGS_MODULE`` is set, or there
    is a ``manage.py``."""
    module = sys.modules.get("django.conf")
    if module is not None and getattr(module.settings, "configured", False):
        return True
    return bool(os.environ.get("DJANGO_SETTINGS_MODULE")) or find_manage_py(folders) is not None


def setup_django(folders: list[Path]) -> str | None:
    """Make sure Django's app registry is ready; return why it could not be, or None."""
    try:
        import django
        from django.apps import apps
    except ImportError:
        return "Django is not installed in this environment"
    if apps.ready:
        return None
    manage_py = find_manage_py(folders)
    module = os.environ.get("DJANGO_SETTINGS_MODULE") or (
        settings_module_from_manage_py(manage_py) if manage_py else None
    )
    if not module:
        return "no Django settings module: set DJANGO_SETTINGS_MODULE, or keep a manage.py that sets it"
    if manage_py is not None and str(manage_py.parent) not in sys.path:
        sys.path.insert(0, str(manage_py.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", module)
    try:
        django.setup()
    except Exception as error:
        return f"django.setup() with settings {module} raised {type(error).__name__}: {error}"
    return None


def _project_models(folders: list[Path]) -> list[Any]:
    """The concrete, managed models of apps whose code lives in one of ``folders`` (not Django's own apps)."""
    from django.apps import apps

    roots = [folder.resolve() for folder in folders]
    chosen = []
    for model in apps.get_models():
        meta = model._meta
        path = Path(meta.app_config.path).resolve()
        if meta.proxy or not meta.managed or not any(path == root or root in path.parents for root in roots):
            continue
        chosen.append(model)
    return chosen


def _field_family(field: Any) -> str:
    if field.is_relation and getattr(field, "target_field", None) is not None:
        return django_family(field.target_field.get_internal_type())
    return django_family(field.get_internal_type())


def _leading_and_unique(model: Any) -> tuple[set[str], set[str]]:
    """Field names that lead an index or unique constraint, and those unique on their own."""
    meta = model._meta
    leading: set[str] = set()
    unique: set[str] = set()
    groups: list[tuple[list[str], bool]] = [([f.lstrip("-") for f in index.fields], False) for index in meta.indexes]
    groups += [(list(names), True) for names in meta.unique_together]
    for constraint in meta.constraints:
        names = list(getattr(constraint, "fields", ()) or ())
        if type(constraint).__name__ == "UniqueConstraint" and names:
            groups.append((names, getattr(constraint, "condition", None) is None))
    for names, is_unique in groups:
        if names:
            leading.add(names[0])
            if is_unique and len(names) == 1:
                unique.add(names[0])
    return leading, unique


def _table(model: Any) -> OrmTable:
    meta = model._meta
    leading, unique = _leading_and_unique(model)
    table = OrmTable(name=meta.db_table, model=model.__name__, source="django models")
    for field in meta.concrete_fields:
        foreign: tuple[str, ...] = ()
        if field.is_relation and field.related_model is not None and getattr(field, "target_field", None):
            foreign = (f"{field.related_model._meta.db_table}.{field.target_field.column}",)
        length = getattr(field, "max_length", None)
        table.columns[field.column] = OrmColumn(
            name=field.column,
            type=type(field).__name__ + (f"(max_length={length})" if isinstance(length, int) else ""),
            primary_key=bool(field.primary_key),
            nullable=bool(field.null),
            unique=bool(field.unique) or field.name in unique,
            foreign_keys=foreign,
            indexed=bool(field.db_index or field.unique or field.primary_key) or field.name in leading,
            family=_field_family(field),
            length=length if isinstance(length, int) else None,
        )
        if field.name != field.column:
            table.aliases[field.name] = field.column
    return table


def discover_django_tables(folders: list[Path]) -> tuple[dict[str, OrmTable], list[str]]:
    """The tables of the project's Django models (apps under ``folders``) and the problems met."""
    problem = setup_django(folders)
    if problem:
        return {}, [problem]
    return {table.name: table for table in map(_table, _project_models(folders))}, []


@dataclass(frozen=True)
class DjangoChange:
    """One operation ``makemigrations`` would write: its description and the ``table.column`` it touches."""

    app: str
    description: str
    place: str


def _place(app_label: str, operation: Any) -> str:
    from django.apps import apps
    from django.core.exceptions import FieldDoesNotExist

    model_name = getattr(operation, "model_name", None) or getattr(operation, "name", None)
    try:
        model = apps.get_model(app_label, str(model_name))
    except LookupError:
        return f"{app_label}.{model_name}"
    table = str(model._meta.db_table)
    field_name = getattr(operation, "name", None) if getattr(operation, "model_name", None) else None
    if not field_name:
        return table
    try:
        return f"{table}.{model._meta.get_field(field_name).column}"
    except FieldDoesNotExist:
        return f"{table}.{field_name}"


def pending_django_changes(folders: list[Path]) -> tuple[list[DjangoChange], list[str], str | None]:
    """What ``makemigrations --check --dry-run`` would report: model changes with no migration file, plus apps
    without migrations and conflicting migration leaves, computed with Django's own autodetector (no database
    needed); else why it could not be computed."""
    problem = setup_django(folders)
    if problem:
        return [], [], problem
    from django.apps import apps
    from django.db.migrations.autodetector import MigrationAutodetector
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.questioner import NonInteractiveMigrationQuestioner
    from django.db.migrations.state import ProjectState

    labels = {model._meta.app_label for model in _project_models(folders)}
    loader = MigrationLoader(None, ignore_no_migrations=True)
    conflicts = [
        f"app {app}: conflicting migrations {', '.join(sorted(names))} (run makemigrations --merge)"
        for app, names in loader.detect_conflicts().items()
        if app in labels
    ]
    conflicts += [
        f"app {app} has no migrations package: run `manage.py makemigrations {app}`"
        for app in sorted(labels & set(loader.unmigrated_apps))
    ]
    detector = MigrationAutodetector(
        loader.project_state(),
        ProjectState.from_apps(apps),
        NonInteractiveMigrationQuestioner(specified_apps=labels, dry_run=True),
    )
    changes = detector.changes(graph=loader.graph, trim_to_apps=labels or None)
    found = [
        DjangoChange(app=app, description=operation.describe(), place=_place(app, operation))
        for app, migrations in sorted(changes.items())
        if app in labels
        for migration in migrations
        for operation in migration.operations
    ]
    return found, conflicts, None
