"""``init``: write a starter architecture packet from a running or importable backend and its ORM models."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pytest_backend_agent.errors import GateUsageError

__all__ = ["InitRequest", "run_init"]

_PACKET_CONTRACT = "architecture-handover-packet.schema.json"
_FRAMEWORKS = ("fastapi", "starlette", "flask", "django", "litestar", "quart", "falcon")


@dataclass(frozen=True)
class InitRequest:
    """What ``backend-agent init`` was asked to do (paths already resolved against the working directory)."""

    output: Path
    force: bool
    url: str | None
    app: str | None
    src: Path | None
    allow_remote: bool
    openapi: str | None
    cwd: Path
    timeout: float = 10.0


def _open(request: InitRequest) -> Any:
    """A :class:`~pytest_backend_agent.backend.client.Backend` on ``--url`` or ``--app``."""
    from pytest_backend_agent.backend.client import Backend

    if request.url is not None:
        from pytest_backend_agent.backend.live import HttpTransport
        from pytest_backend_agent.settings import is_loopback_host

        parts = urlsplit(request.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise GateUsageError(f"--url must be an http:// or https:// URL with a host, got {request.url!r}.")
        if not request.allow_remote and not is_loopback_host(parts.hostname):
            raise GateUsageError(
                f"--url {request.url} is not a loopback address; init only reads its OpenAPI document, but like the "
                "gate it only talks to 127.0.0.1/localhost/::1 by default. Pass --allow-remote if you mean it."
            )
        return Backend(HttpTransport(), base_url=request.url, mode="url", target=request.url, timeout=request.timeout)
    from pytest_backend_agent.backend.factory import import_app
    from pytest_backend_agent.backend.inprocess import AsgiTransport, WsgiTransport, is_asgi

    assert request.app is not None  # noqa: S101 - the parser requires --url or --app
    if ":" not in request.app:
        raise GateUsageError(f"--app must look like module.path:attribute, e.g. app.main:app; got {request.app!r}.")
    app = import_app(request.app, request.cwd, option="--app")
    transport: Any = AsgiTransport(app, name=request.app, startup_timeout=30.0) if is_asgi(app) else WsgiTransport(app)
    return Backend(transport, base_url="http://testserver", mode="app", target=request.app, timeout=request.timeout)


def _fetch_document(request: InitRequest) -> tuple[dict[str, Any], str, str]:
    """The backend's OpenAPI document, where it came from, and its server path prefix."""
    import httpx

    from pytest_backend_agent.backend.openapi import fetch_backend_document

    backend = _open(request)
    try:
        if request.url is not None:
            try:
                backend.request("GET", "/")
            except httpx.TransportError as error:
                raise GateUsageError(
                    f"--url {request.url} did not answer ({type(error).__name__}: {error}). Start the server first, "
                    "and check the host and port."
                ) from None
        index = fetch_backend_document(backend, "", request.openapi)
    finally:
        backend.close()
    if index is None:
        tried = request.openapi or "/openapi.json, /swagger.json, /api/openapi.json, /docs/openapi.json"
        raise GateUsageError(
            f"{backend.target} serves no OpenAPI document (tried {tried}). init reads the endpoints from it: pass "
            "--openapi PATH with the URL path where the backend serves it, or write the packet by hand "
            "(docs/packet-format.md)."
        )
    source = index.source
    if request.app is not None:
        source = f"{request.app} (in-process) {source.removeprefix(backend.base_url)}"
    return index.document, source, index.prefix


def _source_folder(request: InitRequest) -> Path | None:
    if request.src is not None:
        if not request.src.is_dir():
            raise GateUsageError(
                f"--src {request.src} is not a directory. Point it at the backend's source package (with the models)."
            )
        return request.src
    if request.app:
        top = request.app.partition(":")[0].split(".")[0]
        for base in (request.cwd, request.cwd / "src"):
            if (base / top).is_dir():
                return (base / top).resolve()
    return None


def _framework(request: InitRequest) -> str | None:
    """The web framework of ``--app``'s class (its own class or a base class), when it is a known one."""
    if request.app is None:
        return None
    import sys

    module = sys.modules.get(request.app.partition(":")[0])
    app = getattr(module, request.app.partition(":")[2].removesuffix("()").split(".")[0], None)
    for cls in type(app).__mro__ if app is not None else ():
        top = cls.__module__.split(".")[0]
        if top in _FRAMEWORKS:
            return top
    return None


def run_init(request: InitRequest, write: Any) -> Path:
    """Infer the packet, validate it against the packet contract, write it atomically; ``write`` prints a line.

    Raises :class:`GateUsageError` (nothing written) when the output exists without ``force``, the backend
    cannot be reached or serves no OpenAPI document.
    """
    from pytest_backend_agent.cli.starter_packet import starter_packet
    from pytest_backend_agent.packet.model import Packet
    from pytest_backend_agent.report.write import violations, write_json_atomic

    if request.output.exists() and not request.force:
        raise GateUsageError(
            f"{request.output} already exists; init does not overwrite a packet. Pass --force to replace it, or "
            "--output PATH to write elsewhere."
        )
    document, source, prefix = _fetch_document(request)
    src = _source_folder(request)
    tables = None
    if src is not None:
        from pytest_backend_agent.backend.orm import discover_sqlalchemy_tables

        tables, problems = discover_sqlalchemy_tables(src)
        for problem in problems:
            write(f"warning: {problem}")
    starter = starter_packet(
        document,
        source=source,
        prefix=prefix,
        tables=tables,
        tables_source=str(src),
        framework=_framework(request),
    )
    problems = violations(starter.document, _PACKET_CONTRACT)
    if problems:
        raise AssertionError(f"init built a packet its contract rejects: {problems}")
    Packet.model_validate(starter.document)  # the gate's own loading; a failure here is a bug in init
    write_json_atomic(request.output, starter.document)
    write(f"wrote {request.output}")
    write("inferred:")
    for line in starter.inferred:
        write(f"  - {line}")
    write("the architect must still fill in:")
    for line in starter.to_fill_in:
        write(f"  - {line}")
    write("then check it with: backend-agent validate-packet " + str(request.output))
    return request.output
