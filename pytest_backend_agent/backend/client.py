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

__all__ = ["CLIENT_EXTENSION", "Backend", "RequestRecord", "Transport"]

CLIENT_EXTENSION = "backend_gate_client"
MAX_THROTTLE_WAIT_S = 30.0  # total time a session may wait on Retry-After before checks say "not verified"
MAX_ONE_WAIT_S = 5.0


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
        self.throttle_budget_s = MAX_THROTTLE_WAIT_S
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
        client: str | None = None,
        honour_throttling: bool = True,
    ) -> httpx.Response:
        """Send ``method path`` to the backend and return the response (transport errors propagate).

        ``client`` fixes the client address an in-process app sees (a rate-limit burst from one client); by
        default every in-process request comes from its own loopback address. Over HTTP it is ignored.
        A 429 with a short ``Retry-After`` is waited out and retried once, within a session budget
        (``honour_throttling=False`` for the rate-limit burst itself); a 429 that remains is returned.
        """
        response = self._send_once(method, path, headers, params, json, data, content, client)
        if response.status_code == 429 and honour_throttling:
            wait = _retry_after(response.headers.get("retry-after"))
            if wait is not None and wait <= min(MAX_ONE_WAIT_S, self.throttle_budget_s):
                self.throttle_budget_s -= wait
                time.sleep(wait)
                response = self._send_once(method, path, headers, params, json, data, content, client)
        return response

    def _send_once(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | None,
        params: Mapping[str, Any] | None,
        json: Any,
        data: Mapping[str, Any] | None,
        content: bytes | None,
        client: str | None,
    ) -> httpx.Response:
        request = httpx.Request(
            method.upper(),
            self.base_url + path,
            headers=dict(headers or {}),
            params=_clean_params(params),
            json=json,
            data=data,
            content=content,
        )
        if client is not None:
            request.extensions[CLIENT_EXTENSION] = client
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


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds only), or None."""
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds >= 0 else None


def _clean_params(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not params:
        return None
    return {key: value for key, value in params.items() if value is not None}
