"""One interface for every way of reaching a backend.

A :class:`Backend` sends a request and returns an ``httpx.Response``; it records each request it sent
(method, path, status, time) so that latency figures in the report come from what was measured.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from pytest_backend_agent.redact import SECRET_HEADERS

__all__ = ["Backend", "RequestRecord", "Transport"]


@dataclass(frozen=True)
class RequestRecord:
    """One request the gate sent and what came back (status 0: no response)."""

    method: str
    path: str
    status: int
    elapsed_ms: float
    credentials: bool = False


class Transport(Protocol):
    """The part that differs between in-process apps and live servers."""

    def send(self, request: httpx.Request, timeout: float) -> httpx.Response:
        """Send one request and return the fully read response."""

    def close(self) -> None:
        """Release everything (run the lifespan shutdown, stop the server)."""


class Backend:
    """A reachable backend. ``mode`` is ``app``, ``url`` or ``command``; ``target`` says which, for reports."""

    def __init__(self, transport: Transport, *, base_url: str, mode: str, target: str, timeout: float) -> None:
        self._transport = transport
        self.base_url = base_url.rstrip("/")
        self.mode = mode
        self.target = target
        self.timeout = timeout
        self.records: list[RequestRecord] = []
        self._closed = False

    @property
    def app(self) -> Any:
        """The in-process ASGI/WSGI callable (None when the backend is reached over HTTP)."""
        return getattr(self._transport, "app", None)

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """Send ``method path`` to the backend and return the response (transport errors propagate)."""
        request = httpx.Request(
            method.upper(),
            self.base_url + path,
            headers=dict(headers or {}),
            params=_clean_params(params),
            json=json,
            data=data,
            content=content,
        )
        started = time.perf_counter()
        status = 0
        try:
            response = self._transport.send(request, self.timeout)
            status = response.status_code
            return response
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            sent_credentials = any(name.lower() in SECRET_HEADERS for name in (headers or {}))
            self.records.append(RequestRecord(method.upper(), path, status, round(elapsed, 3), sent_credentials))

    def close(self) -> None:
        """Stop the backend (idempotent)."""
        if not self._closed:
            self._closed = True
            self._transport.close()


def _clean_params(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not params:
        return None
    return {key: value for key, value in params.items() if value is not None}
