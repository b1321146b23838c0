"""HTTP API routers mounted under ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from bookshelf.api import auth, books, loans

API_PREFIX = "/api/v1"


def build_api_router() -> APIRouter:
    """Return the ``/api/v1`` router with every endpoint included."""
    router = APIRouter(prefix=API_PREFIX)
    router.include_router(auth.router)
    router.include_router(books.router)
    router.include_router(loans.router)
    return router
