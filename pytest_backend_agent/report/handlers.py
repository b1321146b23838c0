"""Where a route is handled: ``METHOD /path`` -> (source file, line) for in-process FastAPI/Starlette and Flask apps."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pytest_backend_agent.packet.model import normalize_path

__all__ = ["route_handlers", "route_keys"]

_FLASK_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def _source(function: Any) -> tuple[Path, int] | None:
    function = inspect.unwrap(function)
    try:
        file = inspect.getsourcefile(function)
        _, line = inspect.getsourcelines(function)
    except (TypeError, OSError):
        return None
    return (Path(file).resolve(), max(1, line)) if file else None


def _starlette_routes(app: Any) -> Iterable[Any]:
    try:
        import fastapi.routing

        flatten = getattr(fastapi.routing, "iter_route_contexts", None)
    except ImportError:
        flatten = None
    routes = getattr(app, "routes", None) or []
    return list(flatten(routes)) if flatten is not None else list(routes)


def _unwrap(app: Any) -> Any:
    """The FastAPI/Starlette or Flask app inside middleware that keeps it as ``.app`` (None when there is none)."""
    for _ in range(5):
        if hasattr(app, "routes") or hasattr(app, "url_map"):
            return app
        app = getattr(app, "app", None)
        if app is None:
            return None
    return None


def route_keys(app: Any) -> tuple[frozenset[str], bool] | None:
    """Every ``METHOD /normalized/{}`` the app routes, and whether that list is complete (False when a mounted
    sub-application or host routes paths the list cannot show); None when the app is not introspectable."""
    app = _unwrap(app)
    if app is None:
        return None
    keys: set[str] = set()
    url_map = getattr(app, "url_map", None)
    if url_map is not None:
        for rule in url_map.iter_rules():
            path = normalize_path(_FLASK_PARAM.sub(r"{\1}", str(rule.rule)))
            keys.update(f"{method} {path}" for method in rule.methods or ())
        return frozenset(keys), True
    complete = True
    for route in _starlette_routes(app):
        route_path = getattr(route, "path", None)
        methods = getattr(route, "methods", None)
        if isinstance(route_path, str) and methods:
            keys.update(f"{method} {normalize_path(route_path)}" for method in methods)
        elif "websocket" not in type(route).__name__.lower():  # Mount, Host, a route for any method
            complete = False
    return frozenset(keys), complete


def route_handlers(app: Any) -> dict[str, tuple[Path, int]]:
    """``METHOD /normalized/{}`` -> the handler's file and first line; empty when the app is not introspectable."""
    handlers: dict[str, tuple[Path, int]] = {}
    app = _unwrap(app)
    if app is None:
        return handlers
    url_map = getattr(app, "url_map", None)
    if url_map is not None and hasattr(app, "view_functions"):
        for rule in url_map.iter_rules():
            place = _source(app.view_functions.get(rule.endpoint))
            if place is not None:
                path = _FLASK_PARAM.sub(r"{\1}", str(rule.rule))
                for method in rule.methods or ():
                    handlers.setdefault(f"{method} {normalize_path(path)}", place)
        return handlers
    for route in _starlette_routes(app):
        endpoint = getattr(route, "endpoint", None)
        route_path = getattr(route, "path", None)
        if endpoint is None or not isinstance(route_path, str):
            continue
        place = _source(endpoint)
        if place is not None:
            for method in getattr(route, "methods", None) or ():
                handlers.setdefault(f"{method} {normalize_path(route_path)}", place)
    return handlers
