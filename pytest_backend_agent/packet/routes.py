"""Which packet endpoint a concrete request (``GET /books/12``) is for, without trying every endpoint.

The report, the contract's observations, the latency figures and the endpoint-tests check all map recorded
requests to packet endpoints. Fuzzing a large API records tens of thousands of requests, so a scan of every
endpoint for every request grew with their product; the index walks a tree of path segments instead and
remembers each answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from pytest_backend_agent.packet.model import PATH_PARAMETER, Endpoint, template_regex

__all__ = ["EndpointIndex"]


def _segments(path: str) -> list[str]:
    """``/books/12/`` -> ``["books", "12"]`` (query and trailing slash dropped)."""
    return path.split("?", 1)[0].strip("/").split("/")


@dataclass
class _Node:
    literal: dict[str, _Node] = field(default_factory=dict)
    any_value: _Node | None = None
    patterned: list[tuple[re.Pattern[str], _Node]] = field(default_factory=list)
    ends: list[tuple[int, int, Endpoint]] = field(default_factory=list)
    """Endpoints whose path ends here: (parameter count, packet position, endpoint)."""


class EndpointIndex:
    """Packet endpoints by method and path segments; :meth:`find` answers which one a request is for."""

    def __init__(self, endpoints: Iterable[Endpoint]) -> None:
        self._roots: dict[str, _Node] = {}
        self._found: dict[tuple[str, str], Endpoint | None] = {}
        for position, endpoint in enumerate(endpoints):
            node = self._roots.setdefault(endpoint.method, _Node())
            for segment in _segments(endpoint.path):
                node = self._child(node, segment)
            node.ends.append((endpoint.path.count("{"), position, endpoint))

    @staticmethod
    def _child(node: _Node, segment: str) -> _Node:
        if "{" not in segment:
            return node.literal.setdefault(segment, _Node())
        if PATH_PARAMETER.fullmatch(segment):
            if node.any_value is None:
                node.any_value = _Node()
            return node.any_value
        pattern = re.compile(template_regex(segment))  # parameters inside literal text: {name}.json
        for existing, child in node.patterned:
            if existing.pattern == pattern.pattern:
                return child
        child = _Node()
        node.patterned.append((pattern, child))
        return child

    def find(self, method: str, path: str) -> Endpoint | None:
        """The endpoint ``method path`` is for; of several, the one with the fewest parameters, then the first."""
        key = (method.upper(), path.split("?", 1)[0])
        if key not in self._found:
            root = self._roots.get(key[0])
            matches: list[tuple[int, int, Endpoint]] = []
            if root is not None:
                self._walk(root, _segments(key[1]), 0, matches)
            self._found[key] = min(matches, key=lambda match: match[:2])[2] if matches else None
        return self._found[key]

    def _walk(self, node: _Node, segments: list[str], depth: int, matches: list[tuple[int, int, Endpoint]]) -> None:
        if depth == len(segments):
            matches.extend(node.ends)
            return
        segment = segments[depth]
        child = node.literal.get(segment)
        if child is not None:
            self._walk(child, segments, depth + 1, matches)
        if segment and node.any_value is not None:
            self._walk(node.any_value, segments, depth + 1, matches)
        for pattern, patterned in node.patterned:
            if pattern.fullmatch(segment):
                self._walk(patterned, segments, depth + 1, matches)

    def is_for(self, endpoint: Endpoint, method: str, path: str) -> bool:
        """Whether ``method path`` is a request for ``endpoint`` (and for no more specific endpoint)."""
        return self.find(method, path) is endpoint
