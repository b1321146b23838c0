"""Facts read from the backend's files: migrations, declared dependencies, integration libraries."""

from __future__ import annotations

import configparser
import json
import re
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

from pytest_backend_agent.packet.model import Integration
from pytest_backend_agent.report.model import Dependency, ExternalIntegration, Migration

__all__ = [
    "added_since",
    "find_dependencies",
    "find_migrations",
    "observe_integrations",
    "project_root",
    "shown_path",
]

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


def shown_path(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` with forward slashes (``.`` for ``root`` itself), else as it is."""
    try:
        return path.relative_to(root).as_posix() or "."
    except ValueError:
        return str(path)


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


def _npm_declared(text: str) -> list[Dependency]:
    """``dependencies`` of a Node.js ``package.json`` (devDependencies are not runtime dependencies)."""
    try:
        data = json.loads(text)
    except ValueError:
        return []
    runtime = data.get("dependencies") if isinstance(data, dict) else None
    if not isinstance(runtime, dict):
        return []
    return [Dependency(name=str(k), specifier=str(v), declared_in="package.json") for k, v in runtime.items()]


def _declared(name: str, text: str) -> list[Dependency]:
    """The runtime dependencies one file declares (``pyproject.toml``, a ``requirements*.txt``, ``package.json``)."""
    declared: list[Dependency] = []
    if name == "package.json":
        return _npm_declared(text)
    if name == "pyproject.toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            data = {}
        for requirement in data.get("project", {}).get("dependencies", []) or []:
            split = _split(str(requirement))
            if split:
                declared.append(Dependency(name=split[0], specifier=split[1], declared_in=name))
        return declared
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        split = _split(line)
        if split:
            declared.append(Dependency(name=split[0], specifier=split[1], declared_in=name))
    return declared


def _dependency_files(root: Path) -> list[Path]:
    files = [root / "pyproject.toml"] if (root / "pyproject.toml").is_file() else []
    files.extend(
        path for path in sorted(root.glob("requirements*.txt")) if "dev" not in path.name and "test" not in path.name
    )
    if (root / "package.json").is_file():
        files.append(root / "package.json")
    return files


def find_dependencies(root: Path) -> list[Dependency]:
    """Runtime dependencies declared in ``pyproject.toml`` ([project]), ``requirements*.txt`` and ``package.json``."""
    return [
        dependency
        for path in _dependency_files(root)
        for dependency in _declared(path.name, path.read_text(encoding="utf-8", errors="replace"))
    ]


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(  # noqa: S603 - git with fixed arguments, no shell
            ["git", "-C", str(root), *args],  # noqa: S607 - git from PATH, as a developer runs it
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _canonical(name: str) -> str:
    from packaging.utils import canonicalize_name

    return canonicalize_name(name.split("[", 1)[0])


def added_since(root: Path, declared: list[Dependency], ref: str | None) -> tuple[list[Dependency], str]:
    """The dependencies of ``declared`` that the same files did not declare at git ``ref``, and how that was
    decided; every declared dependency when there is no ref or git cannot answer."""
    everything = "every dependency the backend declares (no git base ref: --backend-base, $GITHUB_BASE_REF)"
    if ref is None:
        return declared, everything
    top = _git(root, "rev-parse", "--show-toplevel")
    if top is None:
        return declared, f"every dependency the backend declares ({root} is not in a git repository)"
    resolved = next(
        (
            name
            for name in (ref, f"origin/{ref}")
            if _git(root, "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}")
        ),
        None,
    )
    if resolved is None:
        return declared, f"every dependency the backend declares (git knows no ref {ref!r} or origin/{ref})"
    before: set[str] = set()
    for path in _dependency_files(root):
        relative = path.resolve().relative_to(Path(top.strip()).resolve()).as_posix()
        text = _git(root, "show", f"{resolved}:{relative}")
        if text is not None:
            before.update(_canonical(d.name) for d in _declared(path.name, text))
    added = [d for d in declared if _canonical(d.name) not in before]
    return added, f"dependencies added since git {resolved} ({len(added)} of {len(declared)} declared)"


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
