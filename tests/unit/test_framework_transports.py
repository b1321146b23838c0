"""The gate's in-process transports with what Starlette and Django apps need: one lifespan per app, WSGI cases sent
through the gate's own client, and the router's own 404 told apart from an operation's."""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Callable, Iterable
from types import SimpleNamespace
from typing import Any

import pytest

from pytest_backend_agent.backend.client import Backend
from pytest_backend_agent.backend.inprocess import AsgiTransport, WsgiTransport
from pytest_backend_agent.checks.fuzz_judge import Judge, Tally, Target, send_case

DOCUMENT = {
    "openapi": "3.0.3",
    "info": {"title": "t", "version": "1"},
    "paths": {
        "/api/items/{item_id}": {
            "post": {
                "parameters": [
                    {"name": "item_id", "in": "path", "required": True, "schema": {"type": "integer"}},
                    {"name": "q", "in": "query", "schema": {"type": "string"}},
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "responses": {"200": {"description": "ok"}},
            }
        }
    },
}


class LifespanApp:
    """A raw ASGI app that counts its lifespan events and answers every request with 200."""

    def __init__(self) -> None:
        self.events: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                self.events.append(message["type"])
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})


def test_a_second_lifespan_does_not_run_the_apps_shutdown_while_the_gate_serves_it() -> None:
    """Schemathesis starts a lifespan of the app it is handed when a check re-sends a request, and its pytest plugin
    ends every such lifespan after each test: the app's own shutdown must not run until the gate closes it."""
    from schemathesis.python import asgi

    app = LifespanApp()
    transport = AsgiTransport(app, name="t", startup_timeout=5)
    try:
        with asgi.get_client(transport.app) as client:
            assert client.get("/").status_code == 200
        asgi.shutdown_lifespans()
        assert app.events == ["lifespan.startup"]
        import httpx

        assert transport.send(httpx.Request("GET", "http://testserver/"), 5).status_code == 200
    finally:
        transport.close()
    assert app.events == ["lifespan.startup", "lifespan.shutdown"]


def echo_wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """A WSGI app answering what it received."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    seen = {
        "method": environ["REQUEST_METHOD"],
        "path": environ["PATH_INFO"],
        "query": environ.get("QUERY_STRING", ""),
        "content_type": environ.get("CONTENT_TYPE", ""),
        "body": environ["wsgi.input"].read(length).decode(),
    }
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(seen).encode()]


def test_a_case_bound_to_a_wsgi_app_goes_through_the_gate_transport() -> None:
    """Bound to a WSGI app, Schemathesis serialises a case for werkzeug (``path``, ``query_string``); the gate sends
    it with its own client, so it must serialise it as for an HTTP client."""
    from schemathesis import openapi

    backend = Backend(WsgiTransport(echo_wsgi), base_url="http://testserver", mode="app", target="t", timeout=5)
    schema = openapi.from_dict(DOCUMENT)
    schema.app = backend.app
    operation = schema["/api/items/{item_id}"]["POST"]
    case = operation.Case(
        path_parameters={"item_id": 3}, query={"q": "x y"}, body={"name": "é"}, media_type="application/json"
    )
    answer = send_case(SimpleNamespace(backend=backend, request_document=None), case)  # type: ignore[arg-type]
    seen = answer.json()
    assert seen["method"] == "POST"
    assert seen["path"] == "/api/items/3"
    assert seen["query"] == "q=x+y"
    assert seen["content_type"] == "application/json"
    assert json.loads(seen["body"]) == {"name": "é"}
    assert [record.path for record in backend.records] == ["/api/items/3"]


def _starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def one(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"item {request.path_params['item_id']} is not here", status_code=404)

    return Starlette(routes=[Route("/api/items/{item_id:int}", one)])


@pytest.mark.parametrize(("path", "by_router"), [("/api/items/0.5", True), ("/api/items/7", False)])
def test_the_routers_own_404_is_told_apart_from_the_operations(path: str, by_router: bool) -> None:
    """``/api/items/0.5`` matches no ``{item_id:int}`` route: the framework's "Not Found" page answers, which fuzzing
    does not hold to the operation's documented answers; the operation's own 404 still is."""
    backend = Backend(
        AsgiTransport(_starlette_app(), name="t", startup_timeout=5),
        base_url="http://testserver",
        mode="app",
        target="t",
        timeout=5,
    )
    try:
        context = SimpleNamespace(
            cache={},
            backend=backend,
            packet=SimpleNamespace(api=SimpleNamespace(base_path="/api")),
            settings=SimpleNamespace(fuzz_skip_checks=[]),
        )
        judge = Judge(context, lambda case: TARGET, [], time.monotonic() + 60, Tally())  # type: ignore[arg-type]
        response = backend.request("GET", path)
        assert response.status_code == 404
        assert judge._router_refused(SimpleNamespace(method="get"), TARGET, response) is by_router
    finally:
        backend.close()


TARGET = Target("GET /api/items/{item_id}", None, {}, None)


@pytest.mark.parametrize("path", ["/api/items/%F1%8A%A2%95", "/api/items/\U0004a895", "/api/caf%C3%A9", "/api/%FF"])
def test_wsgi_path_info_is_what_a_server_puts_there(path: str) -> None:
    """PEP 3333: ``PATH_INFO`` holds the percent-decoded bytes read as latin-1 (Django encodes it back to bytes and
    raised on the UTF-8 text httpx put there, a false server error on an id the fuzzer drew beyond latin-1)."""
    import httpx

    transport = WsgiTransport(echo_wsgi)
    try:
        answer = transport.send(httpx.Request("GET", "http://testserver" + path), 5)
    finally:
        transport.close()
    expected = httpx.URL("http://testserver" + path).raw_path
    assert answer.json()["path"].encode("latin-1") == urllib.parse.unquote_to_bytes(expected)
