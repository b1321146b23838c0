"""Cross-cutting behaviour: problem+json errors, headers, CORS, rate limiting, OpenAPI."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from tests.api.conftest import assert_problem

pytestmark = pytest.mark.api

API = "/api/v1"


def test_unknown_route_is_404_problem(api_client: Any) -> None:
    body = assert_problem(api_client.get("/no/such/route"), 404)
    assert body["type"] == "about:blank"
    assert body["title"] == "Not Found"


def test_wrong_method_is_405_problem(api_client: Any) -> None:
    response = api_client.put(f"{API}/books")
    assert_problem(response, 405)
    assert response.headers["allow"] == "GET, POST"


def test_security_headers(api_client: Any, auth_headers: dict[str, dict[str, str]]) -> None:
    for response in (
        api_client.get(f"{API}/books", headers=auth_headers["member"]),
        api_client.get("/nowhere"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"


def test_cors_allows_configured_origin_only(make_client: Any) -> None:
    api_client = make_client(cors_origins=("https://app.example.com",))
    preflight = {"Access-Control-Request-Method": "GET"}
    allowed = api_client.options(
        f"{API}/books", headers={"Origin": "https://app.example.com", **preflight}
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    denied = api_client.options(
        f"{API}/books", headers={"Origin": "https://evil.example", **preflight}
    )
    assert "access-control-allow-origin" not in denied.headers
    body = assert_problem(denied, 400)
    assert body["detail"] == "Disallowed CORS origin."
    bad_header = api_client.options(
        f"{API}/books",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Headers": "X-Unknown",
            **preflight,
        },
    )
    assert_problem(bad_header, 400)
    simple = api_client.get(f"{API}/books", headers={"Origin": "https://evil.example"})
    assert simple.headers.get("access-control-allow-origin") != "*"


def test_500_is_a_generic_problem(make_client: Any) -> None:
    client = make_client(raise_server_exceptions=False)

    @client.app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    response = client.get("/boom", headers={"Origin": "https://app.example.com"})
    body = assert_problem(response, 500)
    assert "secret" not in response.text and "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert body["detail"] == "An unexpected error occurred."
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["access-control-allow-origin"] == "https://app.example.com"


def test_500_fallback_handler(make_client: Any) -> None:
    import asyncio

    from starlette.requests import Request

    from bookshelf.problems import unhandled_exception_handler

    request = Request({"type": "http", "method": "GET", "path": "/x", "headers": []})
    response = asyncio.run(unhandled_exception_handler(request, RuntimeError("leak")))
    assert response.status_code == 500
    assert b"leak" not in response.body


def test_error_after_response_started_is_reraised() -> None:
    import asyncio

    from bookshelf.problems import ProblemGuardMiddleware

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("late")

    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    guard = ProblemGuardMiddleware(app)
    with pytest.raises(RuntimeError, match="late"):
        asyncio.run(guard({"type": "http", "path": "/"}, receive, send))
    assert sent[0]["status"] == 200


def test_rate_limit_returns_429_with_retry_after(make_client: Any) -> None:
    client = make_client(rate_limit="3/60")
    for _ in range(3):
        assert client.get("/api/v1/books").status_code == 401
    response = client.get("/api/v1/books", headers={"Origin": "https://app.example.com"})
    body = assert_problem(response, 429)
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert "3 requests per 60 seconds" in body["detail"]
    assert response.headers["access-control-allow-origin"] == "https://app.example.com"
    assert response.headers["x-frame-options"] == "DENY"


def test_default_rate_limit_is_enabled(make_client: Any) -> None:
    client = make_client(rate_limit="60/60")
    statuses = [client.get("/nowhere").status_code for _ in range(61)]
    assert statuses[:60] == [404] * 60 and statuses[60] == 429


def test_oversized_body_is_rejected(api_client: Any, auth_headers: dict[str, Any]) -> None:
    payload = {"isbn": "1234567890", "title": "x" * (70 * 1024)}
    response = api_client.post(f"{API}/books", json=payload, headers=auth_headers["librarian"])
    assert_problem(response, 413)


def test_bootstrap_is_idempotent(make_client: Any, credentials: dict[str, Any]) -> None:
    from bookshelf.bootstrap import ensure_users
    from bookshelf.settings import BootstrapUser

    client = make_client()
    context = client.app.state.context
    users = [BootstrapUser(**user) for user in credentials.values()]
    assert ensure_users(context.session_factory, users) == 0
    fresh = BootstrapUser("new@bookshelf.test", secrets.token_urlsafe(12), "member")
    assert ensure_users(context.session_factory, [*users, fresh]) == 1


EXPECTED_STATUSES = {
    ("post", "/api/v1/auth/token"): {"200", "400", "401", "422", "429"},
    ("get", "/api/v1/books"): {"200", "401", "403", "422", "429"},
    ("post", "/api/v1/books"): {"201", "400", "401", "403", "409", "422", "429"},
    ("get", "/api/v1/books/{book_id}"): {"200", "401", "403", "404", "422", "429"},
    ("delete", "/api/v1/books/{book_id}"): {"204", "401", "403", "404", "422", "429"},
    ("post", "/api/v1/loans"): {"201", "400", "401", "403", "404", "409", "422", "429"},
    ("get", "/api/v1/loans"): {"200", "401", "403", "422", "429"},
}


def test_openapi_documents_statuses_and_problems(api_client: Any) -> None:
    document = api_client.get("/openapi.json").json()
    operations = {
        (method, path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    assert set(operations) == set(EXPECTED_STATUSES)
    for key, statuses in EXPECTED_STATUSES.items():
        responses = operations[key]["responses"]
        assert set(responses) == statuses, key
        for status, response in responses.items():
            if status.startswith("4"):
                content = response["content"]
                assert list(content) == ["application/problem+json"], (key, status)
                assert content["application/problem+json"]["schema"] == {
                    "$ref": "#/components/schemas/Problem"
                }
        if key[1] != "/api/v1/auth/token":
            assert operations[key]["security"] == [{"bearerAuth": []}]
    assert "security" not in operations[("post", "/api/v1/auth/token")]
    assert operations[("delete", "/api/v1/books/{book_id}")]["responses"]["204"].get("content") in (
        None,
        {},
    )
    schemas = document["components"]["schemas"]
    assert {"type", "title", "status", "detail", "instance"} <= set(schemas["Problem"]["required"])
    assert "HTTPValidationError" not in schemas
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "Access token from POST /api/v1/auth/token",
    }
    refs = str(document)
    assert "#/components/schemas/FieldError" in refs and "FieldError" in schemas


def test_streamed_oversized_body_is_rejected(api_client: Any, auth_headers: dict[str, Any]) -> None:
    def chunks() -> Any:
        for _ in range(80):
            yield b"x" * 1024

    headers = {**auth_headers["librarian"], "content-type": "application/json"}
    response = api_client.post(f"{API}/books", content=chunks(), headers=headers)
    body = assert_problem(response, 413)
    assert body["detail"] == "The request body is too large."


def test_plain_options_is_405(api_client: Any) -> None:
    assert_problem(api_client.options(f"{API}/books"), 405)


def test_bootstrap_tolerates_a_concurrent_creator(make_client: Any) -> None:
    from sqlalchemy.orm import Session, sessionmaker

    from bookshelf.bootstrap import ensure_users
    from bookshelf.settings import BootstrapUser

    client = make_client()
    engine = client.app.state.context.engine

    class RacingSession(Session):
        def scalar(self, *args: Any, **kwargs: Any) -> Any:
            return None  # the existence check misses a row another worker just wrote

    factory = sessionmaker(bind=engine, class_=RacingSession)
    existing = BootstrapUser("member@bookshelf.test", secrets.token_urlsafe(12), "member")
    assert ensure_users(factory, [existing]) == 0
