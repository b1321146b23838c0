"""Facts read from the backend's files: migrations, declared dependencies, integration libraries."""

from __future__ import annotations

import configparser
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

from pytest_backend_agent.packet.model import Integration
from pytest_backend_agent.report.model import Dependency, ExternalIntegration, Migration

__all__ = ["find_dependencies", "find_migrations", "observe_integrations", "project_root"]

_SKIP = {
    ".git",
    ".venv",
    "venv",
    "env",
    "node_modules",
    "__pycache__",
    ".tox",
    ".nox",
    "site-packages",
    "build",
    "dist",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "ARTIFACTS",
}
_REVISION = re.compile(r"^revision\s*(?::\s*str)?\s*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)


def _walk(root: Path, pattern: str) -> Iterator[Path]:
    for path in sorted(root.rglob(pattern)):
        if not _SKIP.intersection(path.relative_to(root).parts):
            yield path


def project_root(rootdir: Path, src: Path | None) -> Path:
    """The folder of the backend's own pyproject.toml (nearest above its source), else the rootdir."""
    if src is not None:
        for folder in (src, *src.parents):
            if (folder / "pyproject.toml").is_file() or (folder / "requirements.txt").is_file():
                return folder
            if folder == rootdir:
                break
    return rootdir


def _alembic_versions(root: Path) -> list[Path]:
    folders: list[Path] = []
    ini = root / "alembic.ini"
    if ini.is_file():
        parser = configparser.ConfigParser(defaults={"here": str(root)})
        try:
            parser.read(ini, encoding="utf-8")
            location = parser.get("alembic", "script_location", fallback="")
        except configparser.Error:
            location = ""
        if location:
            folder = Path(location)
            folder = folder if folder.is_absolute() else root / folder
            folders.append(folder / "versions")
    folders.extend(path.parent / "versions" for path in _walk(root, "env.py") if (path.parent / "versions").is_dir())
    return list(dict.fromkeys(f.resolve() for f in folders if f.is_dir()))


def find_migrations(root: Path) -> list[Migration]:
    """Alembic revisions, Django migrations and plain SQL migration files under ``root``."""
    found: dict[Path, Migration] = {}
    for folder in _alembic_versions(root):
        for path in sorted(folder.glob("*.py")):
            if path.name == "__init__.py":
                continue
            match = _REVISION.search(path.read_text(encoding="utf-8", errors="replace"))
            found[path] = Migration(
                path=str(path.relative_to(root)), tool="alembic", revision=match.group(1) if match else None
            )
    for path in _walk(root, "migrations/[0-9]*.py"):
        if path not in found and "versions" not in path.parts:
            found[path] = Migration(path=str(path.relative_to(root)), tool="django", revision=path.stem)
    for path in _walk(root, "migrations/*.sql"):
        found[path] = Migration(path=str(path.relative_to(root)), tool="sql", revision=path.stem)
    return sorted(found.values(), key=lambda m: m.path)


def _split(requirement: str) -> tuple[str, str] | None:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        parsed = Requirement(requirement)
    except InvalidRequirement:
        return None
    name = parsed.name + (f"[{','.join(sorted(parsed.extras))}]" if parsed.extras else "")
    return name, str(parsed.specifier)


def find_dependencies(root: Path) -> list[Dependency]:
    """Runtime dependencies declared in ``pyproject.toml`` ([project]) and ``requirements*.txt``."""
    declared: list[Dependency] = []
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError:
            data = {}
        for requirement in data.get("project", {}).get("dependencies", []) or []:
            split = _split(str(requirement))
            if split:
                declared.append(Dependency(name=split[0], specifier=split[1], declared_in="pyproject.toml"))
    for requirements in sorted(root.glob("requirements*.txt")):
        if "dev" in requirements.name or "test" in requirements.name:
            continue
        for line in requirements.read_text(encoding="utf-8", errors="replace").splitlines():
            line = line.split("#", 1)[0].strip()
            if not line or line.startswith("-"):
                continue
            split = _split(line)
            if split:
                declared.append(Dependency(name=split[0], specifier=split[1], declared_in=requirements.name))
    return declared


_INTEGRATION_MODULES = {
    "email": (
        "smtplib",
        "aiosmtplib",
        "sendgrid",
        "mailgun",
        "postmarker",
        "fastapi_mail",
        "flask_mail",
        "django.core.mail",
    ),
    "payment": ("stripe", "paypalrestsdk", "braintree", "adyen"),
    "storage": ("boto3", "botocore", "google.cloud.storage", "azure.storage", "minio"),
    "queue": ("celery", "kombu", "pika", "aiokafka", "kafka", "rq", "dramatiq", "arq"),
    "cache": ("redis", "pymemcache", "aiocache"),
    "http": ("httpx", "requests", "aiohttp", "urllib.request"),
}


def observe_integrations(integrations: list[Integration], src: Path | None) -> list[ExternalIntegration]:
    """For each packet integration, whether the backend's source imports a library of its kind."""
    imports: dict[str, str] = {}
    if src is not None and src.is_dir():
        pattern = re.compile(r"^\s*(?:from|import)\s+([\w.]+)", re.MULTILINE)
        for path in _walk(src, "*.py"):
            if "tests" in path.parts:
                continue
            for module in pattern.findall(path.read_text(encoding="utf-8", errors="replace")):
                imports.setdefault(module, str(path.relative_to(src.parent)))
    result: list[ExternalIntegration] = []
    for integration in integrations:
        libraries = _INTEGRATION_MODULES.get(integration.kind.lower(), ())
        hit = next(
            (
                (lib, where)
                for module, where in imports.items()
                for lib in libraries
                if module == lib or module.startswith(lib + ".")
            ),
            None,
        )
        if hit:
            status, evidence = "observed", f"{hit[1]} imports {hit[0]}"
        elif src is None:
            status, evidence = "not verified", "no source folder to inspect (--backend-src)"
        else:
            known = ", ".join(libraries) or "no known library for this kind"
            status, evidence = "not verified", f"no import of a {integration.kind or 'known'} library ({known})"
        result.append(
            ExternalIntegration(
                name=integration.name,
                kind=integration.kind,
                required=integration.required,
                status=status,  # type: ignore[arg-type]
                evidence=evidence,
            )
        )
    return result
