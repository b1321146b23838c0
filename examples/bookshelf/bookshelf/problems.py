"""RFC 9457 ``application/problem+json`` error responses and exception handlers."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any, cast

import fastapi.routing
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldError(BaseModel):
    """One request validation failure (the offending input is never echoed)."""

    loc: list[str | int] = Field(description="Where the error is, e.g. ['body', 'isbn']")
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(description="URI identifying the problem type ('about:blank' here)")
    title: str = Field(description="Short, human-readable summary of the problem type")
    status: int = Field(description="HTTP status code")
    detail: str = Field(description="Explanation specific to this occurrence")
    instance: str = Field(description="URI reference of the request path")
    # Omitted (never null) unless the status is 422.
    errors: list[FieldError] | SkipJsonSchema[None] = Field(
        default=None, description="Validation failures (422 responses only)"
    )


class ProblemResponse(JSONResponse):
    """A JSON response served as ``application/problem+json``."""

    media_type = PROBLEM_MEDIA_TYPE


def status_title(status: int) -> str:
    """Return the standard reason phrase for ``status``."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(
    status: int,
    detail: str,
    instance: str,
    *,
    headers: Mapping[str, str] | None = None,
    errors: list[FieldError] | None = None,
) -> ProblemResponse:
    """Build a problem+json response; ``detail`` must be safe to show to clients."""
    problem = Problem(
        type="about:blank",
        title=status_title(status),
        status=status,
        detail=detail,
        instance=instance,
        errors=errors,
    )
    return ProblemResponse(
        problem.model_dump(exclude_none=True), status_code=status, headers=dict(headers or {})
    )


def _flat_routes(routes: Iterable[Any]) -> Iterable[Any]:
    # FastAPI >= 0.16x keeps included routers nested; iter_route_contexts flattens them.
    flatten = getattr(fastapi.routing, "iter_route_contexts", None)
    return routes if flatten is None else flatten(routes)


def allowed_methods(request: Request) -> str:
    """All methods routed for the request path (Starlette only reports the first route's)."""
    methods: set[str] = set()
    for route in _flat_routes(request.app.router.routes):
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


async def http_exception_handler(request: Request, exc: Exception) -> ProblemResponse:
    """Render HTTP errors (including unknown routes and 405) as problem+json."""
    http_exc = cast(StarletteHTTPException, exc)  # registered for this type only
    status = http_exc.status_code
    detail = http_exc.detail if isinstance(http_exc.detail, str) else status_title(status)
    headers = dict(http_exc.headers or {})
    if status == 405:
        headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
    return problem_response(status, detail, request.url.path, headers=headers)


def _field_errors(errors: Any) -> list[FieldError]:
    return [
        FieldError(
            loc=[part for part in error.get("loc", ()) if isinstance(part, str | int)],
            msg=str(error.get("msg", "invalid value")),
            type=str(error.get("type", "value_error")),
        )
        for error in errors
    ]


async def validation_exception_handler(request: Request, exc: Exception) -> ProblemResponse:
    """Render request validation failures as a 422 problem with an ``errors`` list."""
    errors = _field_errors(cast(RequestValidationError, exc).errors())
    return problem_response(
        422, "The request is not valid; see 'errors'.", request.url.path, errors=errors
    )


def internal_error_response(path: str) -> ProblemResponse:
    """A generic 500 problem that never reveals exception details."""
    return problem_response(500, "An unexpected error occurred.", path)


async def unhandled_exception_handler(request: Request, exc: Exception) -> ProblemResponse:
    """Last-resort handler for errors raised outside :class:`ProblemGuardMiddleware`."""
    return internal_error_response(request.url.path)


class ProblemGuardMiddleware:
    """Turn unhandled exceptions into a 500 problem inside the other middleware.

    Sitting inside CORS and the security-header middleware means 500 responses get
    those headers too. The traceback is logged, never sent.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the wrapped app, answering 500 if it fails before responding."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            if started:
                raise
            logger.exception("unhandled error for %s %s", scope.get("method"), scope.get("path"))
            await internal_error_response(str(scope.get("path", "")))(scope, receive, send)


def install_problem_handlers(app: FastAPI) -> None:
    """Register the problem+json exception handlers on ``app``."""
    app.add_exception_handler(StarletteHTTPException, http_exception_handler)
    app.add_exception_handler(RequestValidationError, validation_exception_handler)
    app.add_exception_handler(Exception, unhandled_exception_handler)
