"""Finding the backend's OpenAPI document and indexing its operations by method and path template."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from pytest_backend_agent.backend.client import Backend
from pytest_backend_agent.errors import GateUsageError
from pytest_backend_agent.packet.model import normalize_path

__all__ = ["OpenApiIndex", "fetch_backend_document", "load_document_file"]

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_CANDIDATES = ("/openapi.json", "{base}/openapi.json", "/swagger.json", "/api/openapi.json", "/docs/openapi.json")


@dataclass
class OpenApiIndex:
    """An OpenAPI document with its operations keyed by ``METHOD /normalized/{}``."""

    document: dict[str, Any]
    source: str
    prefix: str = ""
    operations: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def build(cls, document: dict[str, Any], source: str) -> OpenApiIndex:
        """Index ``document``; paths are prefixed with the path of its first server URL, if any."""
        prefix = ""
        servers = document.get("servers") or []
        if servers and isinstance(servers[0], dict):
            prefix = urlsplit(str(servers[0].get("url", ""))).path.rstrip("/")
        index = cls(document=document, source=source, prefix=prefix)
        for path, item in (document.get("paths") or {}).items():
            if not isinstance(item, dict):
                continue
            for method in _METHODS:
                if method in item:
                    full = prefix + path
                    index.operations[f"{method.upper()} {normalize_path(full)}"] = (path, method.upper())
        return index

    def find(self, method: str, path: str) -> tuple[str, str] | None:
        """The document's own ``(path, METHOD)`` for a packet endpoint, or None when it lacks it."""
        return self.operations.get(f"{method.upper()} {normalize_path(path)}")

    def secured(self, method: str, path: str) -> bool:
        """Whether the document requires security for the operation at its own ``path``."""
        operation = (self.document.get("paths") or {}).get(path, {}).get(method.lower(), {})
        security = operation.get("security", self.document.get("security"))
        return bool(security) and any(bool(requirement) for requirement in security)

    def endpoint_keys(self) -> list[str]:
        """Every ``METHOD /full/path`` the document declares (with its own parameter names)."""
        return sorted(f"{method} {self.prefix}{path}" for path, method in self.operations.values())


def _parse(response: httpx.Response) -> dict[str, Any] | None:
    if response.status_code != 200:
        return None
    try:
        data = response.json()
    except ValueError:
        return None
    if isinstance(data, dict) and ("openapi" in data or "swagger" in data) and "paths" in data:
        return data
    return None


def fetch_backend_document(backend: Backend, base_path: str, configured: str | None) -> OpenApiIndex | None:
    """Fetch the backend's OpenAPI document from ``configured`` or the usual places; None when it has none."""
    candidates = [configured] if configured else [c.format(base=base_path.rstrip("/")) for c in _CANDIDATES]
    for path in dict.fromkeys(candidates):
        try:
            document = _parse(backend.request("GET", path))
        except httpx.TransportError:
            return None
        if document is not None:
            return OpenApiIndex.build(document, f"{backend.base_url}{path}")
    return None


def load_document_file(path: Path) -> OpenApiIndex:
    """Load the architect's OpenAPI document (JSON, or YAML when PyYAML is installed)."""
    __tracebackhide__ = True
    if not path.is_file():
        raise GateUsageError(
            f"the packet's api.openapi names {path}, which does not exist. Fix the path (relative to the packet) or "
            "set api.openapi to null."
        )
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml

            document = yaml.safe_load(text)
        else:
            document = json.loads(text)
    except ImportError:
        raise GateUsageError(f"{path} is YAML; install PyYAML (pip install pyyaml) or convert it to JSON.") from None
    except Exception as error:
        raise GateUsageError(f"OpenAPI document {path} could not be parsed: {error}.") from None
    if not isinstance(document, dict) or "paths" not in document:
        raise GateUsageError(f"OpenAPI document {path} has no top-level 'paths' ($.paths); is it an OpenAPI file?")
    return OpenApiIndex.build(document, str(path))
