"""OpenAPI helpers: document error responses as problem+json with a ``Problem`` schema."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from bookshelf.problems import PROBLEM_MEDIA_TYPE, Problem

PROBLEM_REF = "#/components/schemas/Problem"

_DESCRIPTIONS = {
    400: "The request body could not be decoded (e.g. it is not UTF-8)",
    401: "Missing, invalid or expired bearer token (or wrong credentials)",
    403: "The caller's role may not use this operation",
    404: "The resource does not exist",
    409: "The request conflicts with the current state",
    422: "The request failed validation",
    429: "Too many requests; see the Retry-After header",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Return a FastAPI ``responses=`` mapping documenting ``statuses`` as problem+json."""
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        response: dict[str, Any] = {
            "description": _DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}},
        }
        if status == 401:
            response["headers"] = {
                "WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}
            }
        if status == 429:
            response["headers"] = {
                "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}
            }
        responses[status] = response
    return responses


def problem_component_schemas() -> dict[str, Any]:
    """JSON schemas for ``Problem`` and the models it references, keyed by name."""
    schema = Problem.model_json_schema(
        ref_template="#/components/schemas/{model}", mode="serialization"
    )
    definitions: dict[str, Any] = dict(schema.pop("$defs", {}))
    definitions["Problem"] = schema
    return definitions


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """Generate the OpenAPI document of ``app`` including the problem schemas."""
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(problem_component_schemas())
    return document


class ProblemAwareFastAPI(FastAPI):
    """FastAPI whose ``/openapi.json`` includes the ``Problem`` schema."""

    def openapi(self) -> dict[str, Any]:
        """Return (and cache) the OpenAPI document."""
        if not self.openapi_schema:
            self.openapi_schema = build_openapi(self)
        return self.openapi_schema
