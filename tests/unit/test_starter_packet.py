"""What ``backend-agent init`` reads off an OpenAPI document and ORM tables (pure functions, no backend)."""

from __future__ import annotations

from typing import Any

from pytest_backend_agent.backend.orm import OrmColumn, OrmTable
from pytest_backend_agent.cli.starter_packet import (
    authentication_from_openapi,
    base_path_of,
    endpoints_from_openapi,
    field_type,
    models_from_tables,
    starter_packet,
)
from pytest_backend_agent.packet.model import Packet
from pytest_backend_agent.report.write import violations

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Shop", "description": "Sells things."},
    "components": {
        "parameters": {"Limit": {"name": "limit", "in": "query", "schema": {"type": "integer"}}},
        "securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-Api-Key"}},
    },
    "security": [{"key": []}],
    "paths": {
        "/v2/items": {
            "get": {
                "summary": "List items",
                "parameters": [{"$ref": "#/components/parameters/Limit"}],
                "responses": {"200": {}, "206": {}, "default": {}},
            },
            "post": {"description": "Create an item.\nMore text.", "responses": {"201": {}, "422": {}}},
        },
        "/v2/items/{id}": {
            "parameters": [{"name": "Page-Size", "in": "query"}],
            "get": {"security": [{}, {"key": []}], "responses": {"2XX": {}}},
            "trace": {"responses": {"200": {}}},
        },
        "/v2/health": {"get": {"security": [], "responses": {"200": {}}}},
    },
}


def test_endpoints_from_the_document() -> None:
    endpoints = {f"{e['method']} {e['path']}": e for e in endpoints_from_openapi(DOCUMENT, "/shop")}
    assert sorted(endpoints) == [
        "GET /shop/v2/health",
        "GET /shop/v2/items",
        "GET /shop/v2/items/{id}",
        "POST /shop/v2/items",
    ]  # TRACE is not a packet method
    items = endpoints["GET /shop/v2/items"]
    assert items == {
        "method": "GET",
        "path": "/shop/v2/items",
        "description": "List items",
        "authentication_required": True,
        "roles": [],
        "paginated": True,
        "success_status": 200,
    }
    assert endpoints["POST /shop/v2/items"]["description"] == "Create an item."
    assert endpoints["POST /shop/v2/items"]["success_status"] == 201
    assert endpoints["POST /shop/v2/items"]["paginated"] is False
    one = endpoints["GET /shop/v2/items/{id}"]
    assert one["authentication_required"] is False  # {} admits anonymous callers
    assert one["paginated"] is True  # a path-level Page-Size query parameter
    assert "success_status" not in one  # only 2XX: no status to hold it to
    assert endpoints["GET /shop/v2/health"]["authentication_required"] is False  # security: [] overrides


def test_base_path_is_the_shared_folder() -> None:
    assert base_path_of(["/api/v1/books", "/api/v1/books/{id}", "/api/v1/auth/token"]) == "/api/v1"
    assert base_path_of(["/api/books"]) == "/api"
    assert base_path_of(["/books", "/authors"]) == ""
    assert base_path_of(["/{tenant}/a/b", "/{tenant}/a/c"]) == ""
    assert base_path_of([]) == ""


def test_authentication_schemes() -> None:
    def scheme(raw: dict[str, Any]) -> dict[str, Any] | None:
        return authentication_from_openapi({"components": {"securitySchemes": {"s": raw}}})

    assert scheme({"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}) == {"scheme": "bearer-jwt"}
    assert scheme({"type": "http", "scheme": "basic"}) == {"scheme": "basic"}
    assert scheme({"type": "apiKey", "in": "header", "name": "X-Key"}) == {"scheme": "api-key", "header": "X-Key"}
    assert scheme({"type": "apiKey", "in": "cookie", "name": "sid"}) == {"scheme": "session"}
    assert scheme({"type": "oauth2", "flows": {"password": {"tokenUrl": "auth/token"}}}) == {
        "scheme": "bearer-jwt",
        "token_endpoint": "/auth/token",
    }
    assert authentication_from_openapi({}) is None


def test_field_types_and_models() -> None:
    assert [
        field_type(n)
        for n in (
            "Integer",
            "BigInteger",
            "String",
            "Text",
            "Boolean",
            "Numeric",
            "DateTime",
            "Date",
            "Uuid",
            "JSON",
            "Float",
            "Enum",
        )
    ] == [
        "integer",
        "integer",
        "string",
        "text",
        "boolean",
        "decimal",
        "datetime",
        "date",
        "uuid",
        "json",
        "float",
        "string",
    ]
    assert field_type("UtcDateTime") == "utcdatetime"  # unknown: kept, and listed for the architect
    table = OrmTable(
        "order_lines",
        None,
        {
            "id": OrmColumn("id", "Integer", True, False, False, (), False),
            "order_id": OrmColumn("order_id", "Integer", False, False, False, ("orders.id",), True),
            "note": OrmColumn("note", "Text", False, True, False, (), False),
        },
    )
    bookkeeping = OrmTable(
        "alembic_version", None, {"version_num": OrmColumn("version_num", "String", True, False, False, (), False)}
    )
    assert models_from_tables({"order_lines": table, "alembic_version": bookkeeping}) == [
        {
            "name": "OrderLines",
            "table": "order_lines",
            "fields": [
                {"name": "id", "type": "integer", "primary_key": True, "nullable": False},
                {"name": "order_id", "type": "integer", "nullable": False, "foreign_key": "orders.id", "indexed": True},
                {"name": "note", "type": "text", "nullable": True},
            ],
        }
    ]


def test_starter_packet_is_valid_and_says_what_is_missing() -> None:
    starter = starter_packet(DOCUMENT, source="http://127.0.0.1:8000/openapi.json")
    assert violations(starter.document, "architecture-handover-packet.schema.json") == []
    packet = Packet.model_validate(starter.document)
    assert packet.project.name == "Shop"
    assert packet.api.base_path == "/v2"
    assert packet.api.authentication is not None
    assert packet.api.authentication.header == "X-Api-Key"
    assert packet.data_models == []
    text = "\n".join(starter.to_fill_in)
    assert "api.roles" in text
    assert "descriptions of GET /v2/items/{id}, GET /v2/health" in text
    assert "pass --src DIR" in text
