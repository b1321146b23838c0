"""Applying a backend's Alembic migrations to a scratch database and comparing the result with its models.

The migrations run in-process, through the project's own ``env.py``, the way Alembic's cookbook runs them from
code: the scratch connection is handed over in ``config.attributes["connection"]``, and the URL is also given as
``sqlalchemy.url``, ``config.attributes["database_url"]`` and in the environment variables ``env.py`` reads whose
names mention a URL or database. The config has no file name, so ``env.py`` does not reconfigure logging. The
environment and ``sys.path`` are restored afterwards.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "AlembicSetup",
    "Drift",
    "DriftItem",
    "MigrationsFailed",
    "NotMigrated",
    "alembic_files_present",
    "describe_diff",
    "find_alembic",
    "migrate_and_compare",
]

_SKIP = {".git", ".venv", "venv", "env", "node_modules", "site-packages", "__pycache__", ".tox", "build", "dist"}
_ENV_NAME = re.compile(r"(?:environ(?:\.get)?\s*[\[(]|getenv\s*\()\s*['\"]([A-Za-z0-9_]+)['\"]")
_URL_WORDS = ("URL", "URI", "DSN", "DATABASE", "DB")
_COMPARE_OPTIONS = (
    "compare_type",
    "compare_server_default",
    "include_object",
    "include_name",
    "include_schemas",
    "version_table",
    "version_table_schema",
)


class MigrationsFailed(Exception):
    """The migrations raised while being applied to the scratch database."""


class NotMigrated(Exception):
    """The migrations could not be applied to the scratch database for a reason that is not the migrations'."""


@dataclass(frozen=True)
class AlembicSetup:
    """Where a project's Alembic migrations are and the ``[alembic]`` options that go with them."""

    script_location: Path
    ini: Path | None = None
    options: dict[str, str] = field(default_factory=dict)
    sys_paths: tuple[str, ...] = ()

    @property
    def env_py(self) -> Path:
        """The project's ``env.py``."""
        return self.script_location / "env.py"


def _walk_env_py(folder: Path) -> Iterator[Path]:
    """Every ``env.py`` beside a ``versions`` folder under ``folder``, not descending into virtualenvs, caches..."""
    for current, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP and not d.startswith("."))
        if "env.py" in files and "versions" in dirs:
            yield Path(current) / "env.py"


def alembic_files_present(folders: list[Path]) -> bool:
    """Whether one of ``folders`` has an ``alembic.ini`` or an ``env.py`` beside a ``versions`` folder below it."""
    if any((folder / "alembic.ini").is_file() for folder in folders):
        return True
    return any(next(_walk_env_py(folder), None) is not None for folder in folders)


def _from_ini(ini: Path) -> AlembicSetup | None:
    from alembic.config import Config

    source = Config(str(ini))
    location = source.get_main_option("script_location")
    if not location:
        return None
    folder = Path(location)
    if not folder.is_absolute():
        folder = ini.parent / folder
    options = {
        key: str(source.get_main_option(key))
        for key in source.file_config.options(source.config_ini_section)
        if key not in ("here", "script_location", "sqlalchemy.url", "prepend_sys_path")
    }
    paths = source.get_prepend_sys_paths_list() or []
    resolved = tuple(str((ini.parent / path).resolve()) for path in paths)
    return AlembicSetup(script_location=folder.resolve(), ini=ini, options=options, sys_paths=resolved)


def find_alembic(folders: list[Path]) -> AlembicSetup | None:
    """The project's Alembic setup: ``alembic.ini``'s ``script_location`` in one of ``folders``, else the first
    folder below them holding an ``env.py`` beside a ``versions`` folder."""
    for folder in folders:
        ini = folder / "alembic.ini"
        if ini.is_file():
            setup = _from_ini(ini)
            if setup is not None and setup.env_py.is_file():
                return setup
    for folder in folders:
        for env_py in _walk_env_py(folder):
            return AlembicSetup(script_location=env_py.parent.resolve())
    return None


@dataclass(frozen=True)
class DriftItem:
    """One difference between the migrated database and the models."""

    kind: str
    place: str
    text: str


@dataclass
class Drift:
    """The result of migrating a scratch database and comparing it with the models."""

    items: list[DriftItem]
    revisions: int
    evidence: list[str]


def _env_names(env_py: Path) -> list[str]:
    try:
        text = env_py.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    names = dict.fromkeys(_ENV_NAME.findall(text))
    return [name for name in names if any(word in name.upper() for word in _URL_WORDS)]


@contextmanager
def _isolated(setup: AlembicSetup, url: str) -> Iterator[list[str]]:
    """The URL in the environment variables ``env.py`` reads, the setup's paths on ``sys.path``; both restored."""
    saved_env = dict(os.environ)
    saved_path = list(sys.path)
    names = _env_names(setup.env_py)
    try:
        for name in names:
            os.environ[name] = url
        sys.path[:0] = [path for path in setup.sys_paths if path not in sys.path]
        yield names
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        sys.path[:] = saved_path


def _config(setup: AlembicSetup, url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(setup.script_location))
    for key, value in setup.options.items():
        config.set_main_option(key, value.replace("%", "%%"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    return config


def _upgrade(setup: AlembicSetup, engine: Any, url: str) -> tuple[dict[str, Any], int]:
    """Run ``upgrade head`` through the project's env.py; the options it configured and the revision count."""
    from alembic.runtime.environment import EnvironmentContext
    from alembic.script import ScriptDirectory

    config = _config(setup, url)
    try:
        script = ScriptDirectory.from_config(config)
        revisions = sum(1 for _ in script.walk_revisions())
    except Exception as error:
        raise NotMigrated(f"Alembic cannot read {setup.script_location}: {type(error).__name__}: {error}") from error

    def upgrade(revision: Any, context: Any) -> Any:
        return script._upgrade_revs("head", revision)

    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            with EnvironmentContext(
                config, script, fn=upgrade, as_sql=False, starting_rev=None, destination_rev="head"
            ) as environment:
                script.run_env()
                options = dict(environment.context_opts)
    except Exception as error:
        raise MigrationsFailed(f"{type(error).__name__}: {error}") from error
    return options, revisions


def migrate_and_compare(setup: AlembicSetup, url: str, fallback_metadata: list[Any]) -> Drift:
    """Apply every migration to the scratch database at ``url`` and compare it with the models' metadata (the
    ``target_metadata`` env.py configures, else ``fallback_metadata``)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    shown = engine.url.render_as_string(hide_password=True)
    try:
        with _isolated(setup, url) as names:
            options, revisions = _upgrade(setup, engine, url)
        evidence = [f"applied {revisions} revision(s) from {setup.script_location} to {shown}"]
        if names:
            evidence.append(f"env.py reads {', '.join(names)}: set to the scratch database while migrating")
        version_table = options.get("version_table") or "alembic_version"
        schema = options.get("version_table_schema")
        if revisions and not inspect(engine).has_table(version_table, schema=schema):
            raise NotMigrated(
                f"after upgrade head the scratch database has no {version_table} table: {setup.env_py} migrated "
                "another database. Make env.py use config.attributes['connection'] when it is given (Alembic's "
                "cookbook: 'Sharing a Connection across one or more programmatic migration commands'), or "
                "config.get_main_option('sqlalchemy.url')"
            )
        metadata: Any = options.get("target_metadata") or fallback_metadata
        if not metadata:
            raise NotMigrated(f"{setup.env_py} sets no target_metadata and no SQLAlchemy metadata was found")
        compare_opts = {key: options[key] for key in _COMPARE_OPTIONS if key in options}
        compare_opts["target_metadata"] = metadata
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts=compare_opts)
            diffs = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    items = [describe_diff(diff) for entry in diffs for diff in (entry if isinstance(entry, list) else [entry])]
    return Drift(items=items, revisions=revisions, evidence=evidence)


def _columns(constraint: Any) -> str:
    names = [getattr(column, "name", str(column)) for column in getattr(constraint, "columns", [])]
    return ",".join(names) or "?"


def _table_name(obj: Any) -> str:
    table = getattr(obj, "table", None)
    return str(getattr(table, "name", None) or getattr(obj, "name", "?"))


def describe_diff(diff: Any) -> DriftItem:  # noqa: PLR0911 - one branch per kind of diff
    """A readable item for one entry of ``compare_metadata``'s result, naming ``table`` or ``table.column``."""
    kind = str(diff[0])
    if kind in ("add_table", "remove_table"):
        table = diff[1]
        where = (
            "the models declare it but no migration creates it"
            if kind == "add_table"
            else ("the migrations create it but no model declares it")
        )
        return DriftItem(kind, table.name, f"table {table.name}: {where}")
    if kind in ("add_column", "remove_column"):
        table, column = diff[2], diff[3]
        where = (
            "in the model but no migration adds it"
            if kind == "add_column"
            else ("created by the migrations but not in the model")
        )
        return DriftItem(kind, f"{table}.{column.name}", f"column {table}.{column.name} ({column.type}): {where}")
    if kind == "modify_nullable":
        table, column, old = diff[2], diff[3], diff[5]
        after, model = ("nullable", "NOT NULL") if old else ("NOT NULL", "nullable")
        text = f"{table}.{column} is {after} after the migrations, {model} in the model"
        return DriftItem(kind, f"{table}.{column}", text)
    if kind.startswith("modify_"):
        table, column, old, new = diff[2], diff[3], diff[5], diff[6]
        what = kind.removeprefix("modify_")
        return DriftItem(
            kind, f"{table}.{column}", f"{what} of {table}.{column}: the migrations give {old}, the model says {new}"
        )
    if kind in ("add_index", "remove_index", "add_constraint", "remove_constraint", "add_fk", "remove_fk"):
        obj = diff[1]
        table = _table_name(obj)
        noun = {"index": "index", "constraint": "constraint", "fk": "foreign key"}[kind.split("_", 1)[1]]
        where = (
            "in the model but no migration creates it"
            if kind.startswith("add")
            else ("created by the migrations but not in the model")
        )
        name = getattr(obj, "name", None)
        label = f"{noun} {name} " if name else f"{noun} "
        return DriftItem(kind, f"{table}.{_columns(obj)}", f"{label}on {table}({_columns(obj)}): {where}")
    return DriftItem(kind, "?", " ".join(str(part) for part in diff))
