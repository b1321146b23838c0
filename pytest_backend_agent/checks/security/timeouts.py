"""Outgoing HTTP calls without a timeout (requests, httpx, urllib), found in the AST."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

__all__ = ["UntimedCall", "scan_http_timeouts"]

_VERBS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request", "stream"})
_CLIENTS = frozenset({"Client", "AsyncClient", "Session"})


@dataclass(frozen=True)
class UntimedCall:
    """An HTTP call that can wait forever, at file:line."""

    file: Path
    line: int
    call: str
    why: str
    code: str


def _imports(tree: ast.Module) -> tuple[dict[str, str], dict[str, str]]:
    """Names bound to the modules (``requests``, ``httpx``, ``urllib.request``) and to their functions."""
    modules: dict[str, str] = {}
    functions: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in ("requests", "httpx", "urllib.request", "urllib3"):
                    modules[alias.asname or alias.name] = alias.name
                elif alias.name == "urllib" or alias.name.startswith("urllib."):
                    modules[alias.asname or "urllib"] = "urllib"
        elif isinstance(node, ast.ImportFrom) and node.module in ("requests", "httpx", "urllib.request", "urllib"):
            for alias in node.names:
                if node.module == "urllib" and alias.name == "request":
                    modules[alias.asname or "request"] = "urllib.request"
                else:
                    functions[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return modules, functions


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _resolve(func: ast.expr, modules: dict[str, str], functions: dict[str, str], clients: dict[str, str]) -> str:
    """The canonical name of a called function (``requests.get``, ``httpx.Client.get``), or ""."""
    dotted = _dotted(func)
    if not dotted:
        return ""
    head, _, rest = dotted.partition(".")
    if head in functions:
        return functions[head] + (f".{rest}" if rest else "")
    if head in clients and rest in _VERBS:
        return f"{clients[head]}.{rest}"
    for alias, module in sorted(modules.items(), key=lambda item: -len(item[0])):
        if dotted == alias or dotted.startswith(alias + "."):
            return module + dotted[len(alias) :]
    return ""


def _timeout_state(call: ast.Call, positional_index: int | None) -> str:
    """``missing``, ``none`` (explicitly None) or ``set``."""
    for keyword in call.keywords:
        if keyword.arg == "timeout":
            value = keyword.value
            return "none" if isinstance(value, ast.Constant) and value.value is None else "set"
        if keyword.arg is None:
            return "set"  # **kwargs: cannot tell, do not accuse
    if positional_index is not None and len(call.args) > positional_index:
        return "set"
    return "missing"


def _judge(name: str, call: ast.Call) -> str | None:
    """Why the call has no timeout, or None when it has one (or is not an HTTP call)."""
    library, _, member = name.partition(".")
    if library == "requests":
        verb = member.rsplit(".", 1)[-1]
        if verb in _VERBS and not member.startswith(("Session", "session")) or member.startswith("Session."):
            state = _timeout_state(call, None)
            if state != "set":
                return "requests waits forever without timeout=" if state == "missing" else "timeout=None"
    elif library == "httpx":
        verb = member.rsplit(".", 1)[-1]
        if verb in _VERBS or member in _CLIENTS:
            if _timeout_state(call, None) == "none":
                return "timeout=None switches httpx's default timeout off"
    elif name in ("urllib.request.urlopen",):
        state = _timeout_state(call, 2)
        if state != "set":
            return (
                "urlopen waits for the socket default (forever) without timeout="
                if state == "missing"
                else ("timeout=None")
            )
    return None


def scan_http_timeouts(files: list[Path]) -> list[UntimedCall]:
    """HTTP calls in ``files`` that can hang: requests/urlopen without a timeout, httpx with ``timeout=None``."""
    found: list[UntimedCall] = []
    for path in files:
        try:
            source = path.read_text(encoding="utf-8", errors="replace")
            tree = ast.parse(source, filename=str(path))
        except (OSError, SyntaxError, ValueError):
            continue
        lines = source.splitlines()
        modules, functions = _imports(tree)
        if not modules and not functions:
            continue
        clients: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                made = _resolve(node.value.func, modules, functions, {})
                if made in ("requests.Session", "requests.session"):
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            clients[target.id] = "requests.Session"
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _resolve(node.func, modules, functions, clients)
            why = _judge(name, node) if name else None
            if why:
                code = lines[node.lineno - 1].strip() if 0 < node.lineno <= len(lines) else ""
                found.append(UntimedCall(path, node.lineno, name, why, code))
    return sorted(found, key=lambda c: (str(c.file), c.line))
