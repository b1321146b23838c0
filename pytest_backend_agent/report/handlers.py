"""Where a route is handled: ``METHOD /path`` -> (source file, line) for in-process FastAPI/Starlette and Flask apps."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pytest_backend_agent.packet.model import normalize_path

__all__ = ["route_handlers"]

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


def route_handlers(app: Any) -> dict[str, tuple[Path, int]]:
    """``METHOD /normalized/{}`` -> the handler's file and first line; empty when the app is not introspectable."""
    handlers: dict[str, tuple[Path, int]] = {}
    for _ in range(5):  # unwrap middleware that keeps the app as .app
        if hasattr(app, "routes") or hasattr(app, "url_map"):
            break
        app = getattr(app, "app", None)
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
