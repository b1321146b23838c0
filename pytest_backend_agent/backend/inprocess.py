"""Calling an ASGI or WSGI app in-process, with the ASGI lifespan run exactly as a server runs it.

ASGI apps run on their own event loop in a helper thread (an anyio blocking portal), so an app's async
engine, its lifespan state and its requests all share one loop, as under uvicorn. Each request comes from
a distinct loopback client address, so a per-client rate limiter in the app does not throttle the gate's
own checks.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import itertools
import urllib.parse
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

import anyio
import anyio.from_thread
import httpx

from pytest_backend_agent.backend.client import CLIENT_EXTENSION
from pytest_backend_agent.errors import GateUsageError

__all__ = ["GATE_REQUEST", "AsgiTransport", "WsgiTransport", "is_asgi"]

GATE_REQUEST = "backend_gate.request"
"""Key set in the ASGI scope / WSGI environ of every request the gate sends, so observers can leave them out."""

_ADDRESSES = itertools.count(1)
_FIXED_CLIENT: contextvars.ContextVar[str | None] = contextvars.ContextVar("backend_gate_client", default=None)
_PATH_INFO: contextvars.ContextVar[str | None] = contextvars.ContextVar("backend_gate_path_info", default=None)


def client_address() -> str:
    """A fresh loopback address for one in-process request (127.0.x.y)."""
    n = next(_ADDRESSES)
    return f"127.0.{(n // 250) % 250}.{n % 250 + 1}"


def is_asgi(app: object) -> bool:
    """True for an ASGI app (async callable of scope, receive, send), False for WSGI."""
    call = type(app).__call__ if not inspect.isfunction(app) else None
    if inspect.iscoroutinefunction(app) or (call is not None and inspect.iscoroutinefunction(call)):
        return True
    try:
        parameters = inspect.signature(app).parameters  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return len(parameters) == 3


async def _acknowledge_lifespan(receive: Any, send: Any) -> None:
    """Answer a lifespan scope without running the app's startup or shutdown again (see :class:`_DistinctClients`)."""
    while True:
        message = await receive()
        if message.get("type") == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message.get("type") == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class _DistinctClients:
    """ASGI middleware giving each HTTP request its own loopback client address.

    It also keeps the app to the one lifespan :class:`AsgiTransport` runs, as a server does: Schemathesis'
    in-process transport starts a lifespan of the app it is handed when a check re-sends a request, and its pytest
    plugin ends every such lifespan after each test, which would run the app's shutdown (closing its engine, its
    in-memory database) while the gate still serves it. Such a lifespan is acknowledged here and goes no further.
    """

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") == "lifespan":
            await _acknowledge_lifespan(receive, send)
            return
        if scope.get("type") == "http":
            scope = dict(scope)
            scope["client"] = (_FIXED_CLIENT.get() or client_address(), 50000)
            scope[GATE_REQUEST] = True
        await self.app(scope, receive, send)


class AsgiTransport:
    """An ASGI app on its own event loop, lifespan started, requests sent through httpx."""

    def __init__(self, app: Any, *, name: str, startup_timeout: float) -> None:
        from asgi_lifespan import LifespanManager, LifespanNotSupported

        self._stack = contextlib.ExitStack()
        self._portal = self._stack.enter_context(anyio.from_thread.start_blocking_portal())

        async def make_manager() -> Any:
            return LifespanManager(app, startup_timeout=startup_timeout, shutdown_timeout=startup_timeout)

        manager = self._portal.call(make_manager)
        served = app
        try:
            self._stack.enter_context(self._portal.wrap_async_context_manager(manager))
            served = manager.app
        except LifespanNotSupported:
            served = app
        except BaseException as error:
            self._stack.close()
            raise GateUsageError(
                f"--backend-app {name}: the app's lifespan startup failed with {type(error).__name__}: {error}. "
                "The gate runs the startup handlers exactly as a server would; run the app under uvicorn to see "
                "the full error, fix it, and run the gate again."
            ) from None
        self.app = _DistinctClients(served)
        """The app as the gate serves it (lifespan state injected, distinct clients), for in-process fuzzing."""
        self._client: httpx.AsyncClient = self._portal.call(self._make_client, self.app)

    @staticmethod
    async def _make_client(app: Any) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    async def _send(self, request: httpx.Request, timeout: float) -> httpx.Response:
        token = _FIXED_CLIENT.set(request.extensions.get(CLIENT_EXTENSION))
        try:
            with anyio.fail_after(timeout):
                response = await self._client.send(request)
                await response.aread()
        finally:
            _FIXED_CLIENT.reset(token)
        return response

    def send(self, request: httpx.Request, timeout: float) -> httpx.Response:
        """Send one request on the app's loop."""
        try:
            return self._portal.call(self._send, request, timeout)
        except TimeoutError:
            raise httpx.ReadTimeout(f"no response within {timeout} s", request=request) from None

    def close(self) -> None:
        """Close the client, run the lifespan shutdown, stop the loop."""
        try:
            self._portal.call(self._client.aclose)
        finally:
            self._stack.close()


def _path_info(request: httpx.Request) -> str:
    """The request's path as PEP 3333 has a server put it in ``PATH_INFO``: percent-decoded bytes read as latin-1."""
    return urllib.parse.unquote_to_bytes(request.url.raw_path.split(b"?", 1)[0]).decode("latin-1")


class _DistinctWsgiClients:
    """WSGI middleware giving each request its own loopback REMOTE_ADDR.

    It also sets ``PATH_INFO`` as a WSGI server does: httpx's WSGI transport puts the path decoded as UTF-8 there,
    which a PEP 3333 app (Django re-encodes it as latin-1) cannot read when it holds a character beyond latin-1.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path_info = _PATH_INFO.get()
        if path_info is not None:
            environ["PATH_INFO"] = path_info
        environ["REMOTE_ADDR"] = _FIXED_CLIENT.get() or client_address()
        environ[GATE_REQUEST] = True
        return self.app(environ, start_response)


class WsgiTransport:
    """A WSGI app called in-process through httpx."""

    def __init__(self, app: Any) -> None:
        self.app = _DistinctWsgiClients(app)
        """The app as the gate serves it (distinct clients), for in-process fuzzing."""
        transport = httpx.WSGITransport(app=self.app, raise_app_exceptions=False)
        self._client = httpx.Client(transport=transport, base_url="http://testserver")

    def send(self, request: httpx.Request, timeout: float) -> httpx.Response:
        """Call the app (WSGI has no timeout of its own; the app runs to completion)."""
        token = _FIXED_CLIENT.set(request.extensions.get(CLIENT_EXTENSION))
        path_token = _PATH_INFO.set(_path_info(request))
        try:
            response = self._client.send(request)
            response.read()
        finally:
            _PATH_INFO.reset(path_token)
            _FIXED_CLIENT.reset(token)
        return response

    def close(self) -> None:
        """Close the client."""
        self._client.close()
