"""Reaching the backend: in-process ASGI/WSGI, a live URL, or a server the gate starts."""

from __future__ import annotations

from pytest_backend_agent.backend.client import Backend, RequestRecord
from pytest_backend_agent.backend.factory import open_backend

__all__ = ["Backend", "RequestRecord", "open_backend"]
