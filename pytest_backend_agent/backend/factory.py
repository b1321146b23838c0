"""Opening the backend the settings name, with an actionable error for each way it can fail."""

from __future__ import annotations

import importlib
import sys
import traceback
from pathlib import Path
from typing import Any

import httpx

from pytest_backend_agent.backend.client import Backend
from pytest_backend_agent.errors import GateUsageError
from pytest_backend_agent.settings import Settings

__all__ = ["import_app", "open_backend"]


def _user_frame(error: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(error.__traceback__) if "importlib" not in f.filename]
    if not frames:
        return ""
    frame = frames[-1]
    return f" (at {frame.filename}:{frame.lineno})"


def import_app(spec: str, rootdir: Path, option: str = "--backend-app") -> Any:
    """Import ``module:attr`` (``attr`` may be dotted, or end in ``()`` to call an app factory).

    ``option`` is how the user named the app (it starts every error message).
    """
    __tracebackhide__ = True
    module_name, _, attr = spec.partition(":")
    root = str(rootdir)
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and module_name.startswith(error.name):
            raise GateUsageError(
                f"{option} {spec}: there is no module {module_name!r} on sys.path (the rootdir {rootdir} is "
                "on it). Check the spelling, run pytest from the project root, or set pytest's `pythonpath` ini key "
                "to the folder that holds the package."
            ) from None
        raise GateUsageError(
            f"{option} {spec}: importing {module_name!r} failed: {error}{_user_frame(error)}. Install the "
            "backend's dependencies in this environment (pip install -e .), then run the gate again."
        ) from None
    except Exception as error:
        raise GateUsageError(
            f"{option} {spec}: importing {module_name!r} raised {type(error).__name__}: {error}"
            f"{_user_frame(error)}. Fix the error (python -c 'import {module_name}' shows it too)."
        ) from None
    target: Any = module
    factory = attr.endswith("()")
    for part in attr.removesuffix("()").split("."):
        if not hasattr(target, part):
            raise GateUsageError(
                f"{option} {spec}: module {module_name!r} has no attribute {part!r}. Name the app object "
                f"(e.g. {module_name}:app) or an app factory followed by () (e.g. {module_name}:create_app())."
            )
        target = getattr(target, part)
    if factory:
        try:
            target = target()
        except Exception as error:
            raise GateUsageError(
                f"{option} {spec}: calling the app factory raised {type(error).__name__}: {error}{_user_frame(error)}."
            ) from None
    if not callable(target):
        raise GateUsageError(f"{option} {spec} is a {type(target).__name__}, not an ASGI or WSGI application.")
    return target


def _open_app(settings: Settings) -> Backend:
    from pytest_backend_agent.backend.inprocess import AsgiTransport, WsgiTransport, is_asgi

    assert settings.app is not None  # noqa: S101 - mode app has an app
    app = import_app(settings.app, settings.rootdir)
    if is_asgi(app):
        transport: Any = AsgiTransport(app, name=settings.app, startup_timeout=settings.startup_timeout)
        kind = "asgi"
    else:
        transport = WsgiTransport(app)
        kind = "wsgi"
    return Backend(
        transport,
        base_url="http://testserver",
        mode=f"app ({kind}, in-process)",
        target=settings.app,
        timeout=settings.request_timeout,
    )


def _open_url(settings: Settings) -> Backend:
    from pytest_backend_agent.backend.live import HttpTransport

    assert settings.url is not None  # noqa: S101 - mode url has a url
    transport = HttpTransport()
    backend = Backend(
        transport, base_url=settings.url, mode="url", target=settings.url, timeout=settings.request_timeout
    )
    try:
        backend.request("GET", "/")
    except httpx.TransportError as error:
        backend.close()
        raise GateUsageError(
            f"--backend-url {settings.url} did not answer ({type(error).__name__}: {error}). Start the server first "
            "(or let the gate start it with --backend-command 'CMD {port}'), and check the host and port."
        ) from None
    backend.records.clear()
    return backend


def _open_command(settings: Settings) -> Backend:
    from pytest_backend_agent.backend.live import ServerProcess, ServerTransport

    assert settings.command is not None  # noqa: S101 - mode command has a command
    server = ServerProcess(settings.command, cwd=settings.rootdir, startup_timeout=settings.startup_timeout)
    return Backend(
        ServerTransport(server),
        base_url=server.url,
        mode="command",
        target=settings.command,
        timeout=settings.request_timeout,
    )


def open_backend(settings: Settings) -> Backend:
    """Import or start the backend and make sure it answers; raise :class:`GateUsageError` if it cannot."""
    __tracebackhide__ = True
    if settings.mode == "app":
        return _open_app(settings)
    if settings.mode == "url":
        return _open_url(settings)
    return _open_command(settings)
