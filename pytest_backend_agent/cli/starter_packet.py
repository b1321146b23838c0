"""A starter architecture packet inferred from a backend's OpenAPI document and its ORM models.

Plain functions of data (an OpenAPI document, the tables :mod:`pytest_backend_agent.backend.orm` found): what
can be read off the backend is filled in, what only an architect can decide (roles, budgets, integrations) is
left empty and listed in :attr:`StarterPacket.to_fill_in`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_backend_agent.backend.orm import OrmColumn, OrmTable
from pytest_backend_agent.packet.model import normalize_path

__all__ = [
    "PAGINATION_PARAMETERS",
    "StarterPacket",
    "authentication_from_openapi",
    "base_path_of",
    "endpoints_from_openapi",
    "field_type",
    "models_from_tables",
    "starter_packet",
]

PACKET_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
PAGINATION_PARAMETERS = frozenset(
    {"limit", "page_size", "pagesize", "per_page", "perpage", "page", "offset", "cursor", "size", "max_results"}
)
"""Query parameters (compared case-insensitively, ``-`` read as ``_``) that mark an endpoint as paginated."""

_TYPES: dict[str, tuple[str, ...]] = {
    "integer": ("integer", "biginteger", "smallinteger", "int", "bigint", "smallint"),
    "string": ("string", "unicode", "varchar", "nvarchar", "char", "nchar", "enum"),
    "text": ("text", "unicodetext", "clob"),
    "boolean": ("boolean",),
    "float": ("float", "real", "double", "double_precision"),
    "decimal": ("numeric", "decimal"),
    "datetime": ("datetime", "timestamp"),
    "date": ("date",),
    "uuid": ("uuid",),
    "json": ("json", "jsonb"),
}
_TYPE_OF = {alias: name for name, aliases in _TYPES.items() for alias in aliases}
_MAX_NAMED = 8


@dataclass
class StarterPacket:
    """The inferred packet document, what was inferred, and what the architect must still decide."""

    document: dict[str, Any]
    inferred: list[str] = field(default_factory=list)
    to_fill_in: list[str] = field(default_factory=list)


def _resolve(document: Mapping[str, Any], value: Any) -> Any:
    """Follow one local ``$ref`` (``#/components/...``); anything else is returned as is."""
    if isinstance(value, Mapping) and isinstance(value.get("$ref"), str) and value["$ref"].startswith("#/"):
        target: Any = document
        for part in value["$ref"][2:].split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(target, Mapping) else {}
        return target
    return value


def _requires_auth(document: Mapping[str, Any], operation: Mapping[str, Any]) -> bool:
    """True when every alternative of the operation's security requirements (or the document's) names a scheme;
    an empty alternative ``{}`` means a caller without credentials is admitted."""
    security = operation.get("security", document.get("security"))
    if not isinstance(security, list) or not security:
        return False
    return all(isinstance(requirement, Mapping) and bool(requirement) for requirement in security)


def _success_status(operation: Mapping[str, Any]) -> int | None:
    """The lowest 2xx status the operation declares (None when it declares none, or only ``2XX``/``default``)."""
    statuses = [int(key) for key in (operation.get("responses") or {}) if str(key).isdigit() and 200 <= int(key) < 300]
    return min(statuses) if statuses else None


def _paginated(document: Mapping[str, Any], parameters: list[Any]) -> bool:
    for parameter in parameters:
        resolved = _resolve(document, parameter)
        if not isinstance(resolved, Mapping) or resolved.get("in") != "query":
            continue
        if str(resolved.get("name", "")).lower().replace("-", "_") in PAGINATION_PARAMETERS:
            return True
    return False


def _description(operation: Mapping[str, Any]) -> str:
    for key in ("summary", "description"):
        text = str(operation.get(key) or "").strip()
        if text:
            return text.splitlines()[0].strip()
    return ""


def endpoints_from_openapi(document: Mapping[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    """One packet endpoint per operation of ``document`` (paths prefixed with ``prefix``), in document order.

    ``authentication_required`` comes from the security requirements, ``success_status`` is the lowest
    declared 2xx, ``paginated`` is true when a query parameter such as ``limit`` or ``page_size`` exists;
    ``roles`` is left empty for the architect.
    """
    endpoints: list[dict[str, Any]] = []
    seen: set[str] = set()
    for path, item in (document.get("paths") or {}).items():
        if not isinstance(item, Mapping):
            continue
        shared = list(item.get("parameters") or [])
        for method in PACKET_METHODS:
            operation = item.get(method)
            if not isinstance(operation, Mapping):
                continue
            full = prefix + str(path)
            name = f"{method.upper()} {normalize_path(full)}"
            if name in seen:
                continue
            seen.add(name)
            endpoint: dict[str, Any] = {
                "method": method.upper(),
                "path": full,
                "description": _description(operation),
                "authentication_required": _requires_auth(document, operation),
                "roles": [],
                "paginated": _paginated(document, shared + list(operation.get("parameters") or [])),
            }
            status = _success_status(operation)
            if status is not None:
                endpoint["success_status"] = status
            endpoints.append(endpoint)
    return endpoints


def base_path_of(paths: list[str]) -> str:
    """The literal path segments every endpoint's folder shares (``/api/v1``), or ``""``."""
    folders = [[part for part in path.split("/") if part][:-1] for path in paths]
    if not folders:
        return ""
    common: list[str] = []
    for parts in zip(*folders, strict=False):
        if len(set(parts)) != 1 or parts[0].startswith("{"):
            break
        common.append(parts[0])
    return "/" + "/".join(common) if common else ""


def authentication_from_openapi(document: Mapping[str, Any]) -> dict[str, Any] | None:
    """The packet's ``api.authentication`` from the document's first security scheme, or None."""
    schemes = (document.get("components") or {}).get("securitySchemes") or {}
    for raw in schemes.values():
        scheme = _resolve(document, raw)
        if not isinstance(scheme, Mapping):
            continue
        kind = str(scheme.get("type", "")).lower()
        if kind == "http" and str(scheme.get("scheme", "")).lower() == "basic":
            return {"scheme": "basic"}
        if kind == "http":
            return {"scheme": "bearer-jwt"}
        if kind == "apikey":
            if scheme.get("in") == "cookie":
                return {"scheme": "session"}
            return {"scheme": "api-key", "header": str(scheme.get("name", ""))}
        if kind in ("oauth2", "openidconnect"):
            token_url = ((scheme.get("flows") or {}).get("password") or {}).get("tokenUrl")
            found: dict[str, Any] = {"scheme": "bearer-jwt"}
            if token_url:
                found["token_endpoint"] = str(token_url) if str(token_url).startswith("/") else "/" + str(token_url)
            return found
    return None


def field_type(type_name: str) -> str:
    """The packet's field type for a SQLAlchemy type class name (``String`` -> ``string``); unknown names are
    lower-cased."""
    lowered = type_name.lower()
    return _TYPE_OF.get(lowered, lowered)


def _field(column: OrmColumn) -> dict[str, Any]:
    # The ORM's type family when it knows one (``String(13)`` -> string), else the type's class name.
    kind = column.family if column.family != "other" else field_type(column.type.split("(", 1)[0])
    entry: dict[str, Any] = {"name": column.name, "type": kind}
    if column.primary_key:
        entry["primary_key"] = True  # a primary key is unique and indexed by definition: not repeated
    elif column.unique:
        entry["unique"] = True  # and indexed by its constraint
    entry["nullable"] = column.nullable
    if column.foreign_keys:
        entry["foreign_key"] = column.foreign_keys[0]
    if column.indexed and not column.primary_key and not column.unique:
        entry["indexed"] = True
    return entry


def _class_name(table: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", table) if part) or table


def models_from_tables(tables: Mapping[str, OrmTable]) -> list[dict[str, Any]]:
    """One packet data model per ORM table (Alembic's bookkeeping table left out), fields in column order."""
    models = []
    for name, table in sorted(tables.items()):
        if name == "alembic_version":
            continue
        models.append(
            {
                "name": table.model or _class_name(name),
                "table": name,
                "fields": [_field(column) for column in table.columns.values()],
            }
        )
    return models


def _named(items: list[str]) -> str:
    shown = ", ".join(items[:_MAX_NAMED])
    return shown + (f" and {len(items) - _MAX_NAMED} more" if len(items) > _MAX_NAMED else "")


def starter_packet(
    document: Mapping[str, Any],
    *,
    source: str,
    prefix: str = "",
    tables: Mapping[str, OrmTable] | None = None,
    tables_source: str = "",
    framework: str | None = None,
) -> StarterPacket:
    """A packet document from an OpenAPI ``document`` (fetched from ``source``) and ORM ``tables``."""
    info = document.get("info") or {}
    endpoints = endpoints_from_openapi(document, prefix)
    authentication = authentication_from_openapi(document)
    models = models_from_tables(tables or {})
    tech_stack = {"language": "python"} if framework or tables else {}
    if framework:
        tech_stack["framework"] = framework
    if models:
        tech_stack["orm"] = "sqlalchemy"
    packet: dict[str, Any] = {
        "packet_version": "1.0",
        "project": {
            "name": str(info.get("title") or "backend"),
            "description": str(info.get("description") or "").strip(),
        },
        "tech_stack": tech_stack,
        "api": {
            "base_path": base_path_of([e["path"] for e in endpoints]),
            "openapi": None,
            "authentication": authentication,
            "roles": [],
            "endpoints": endpoints,
        },
        "data_models": models,
        "integrations": [],
        "non_functional": {},
    }
    secured = [e for e in endpoints if e["authentication_required"]]
    result = StarterPacket(document=packet)
    result.inferred.append(
        f"{len(endpoints)} endpoint(s) from the OpenAPI document at {source}: method, path, description, "
        f"authentication_required ({len(secured)} require credentials, from the security requirements), "
        "success_status (lowest declared 2xx), paginated (a limit/page_size-like query parameter)"
    )
    if authentication:
        result.inferred.append(f"api.authentication.scheme = {authentication['scheme']} (from securitySchemes)")
    if tables is not None:
        result.inferred.append(
            f"{len(models)} data model(s) with {sum(len(m['fields']) for m in models)} field(s) from the SQLAlchemy "
            f"metadata in {tables_source}: type, primary_key, unique, nullable, foreign_key, indexed"
        )
    result.to_fill_in.append("api.roles, and the roles allowed on each protected endpoint (api.endpoints[*].roles)")
    result.to_fill_in.append(
        "non_functional: coverage_min_percent, latency_p95_ms, rate_limit, cors_allowed_origins, max_page_size"
    )
    result.to_fill_in.append("integrations (external systems the backend calls), tech_stack.database")
    undescribed = [f"{e['method']} {e['path']}" for e in endpoints if not e["description"]]
    if undescribed:
        result.to_fill_in.append(f"descriptions of {_named(undescribed)}")
    open_endpoints = [f"{e['method']} {e['path']}" for e in endpoints if not e["authentication_required"]]
    if open_endpoints:
        result.to_fill_in.append(
            f"confirm that {_named(open_endpoints)} may be called without credentials "
            "(the document declares no security for them)"
        )
    unknown = sorted({f["type"] for m in models for f in m["fields"] if f["type"] not in _TYPES})
    if unknown:
        result.to_fill_in.append(f"field types the gate's vocabulary lacks: {', '.join(unknown)}")
    if tables is None:
        result.to_fill_in.append("data_models (no source folder was given: pass --src DIR to read the ORM models)")
    if authentication is None and secured:
        result.to_fill_in.append("api.authentication (the document has no securitySchemes)")
    return result
