"""Application factory and the module-level ASGI ``app``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from bookshelf import __version__
from bookshelf.api import build_api_router
from bookshelf.api.deps import AppContext
from bookshelf.bootstrap import ensure_users
from bookshelf.db import create_db_engine, create_session_factory
from bookshelf.middleware import (
    BodySizeLimitMiddleware,
    ProblemCORSMiddleware,
    SecurityHeadersMiddleware,
)
from bookshelf.migrate import upgrade_to_head
from bookshelf.openapi import ProblemAwareFastAPI
from bookshelf.problems import ProblemGuardMiddleware, install_problem_handlers
from bookshelf.ratelimit import RateLimitMiddleware, SlidingWindowLimiter
from bookshelf.settings import Settings

MAX_BODY_BYTES = 64 * 1024


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the Bookshelf application (settings default to the environment)."""
    settings = settings or Settings.from_env()
    engine = create_db_engine(settings.database_url)
    context = AppContext(
        settings=settings, engine=engine, session_factory=create_session_factory(engine)
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        upgrade_to_head(engine)
        ensure_users(context.session_factory, settings.bootstrap_users)
        try:
            yield
        finally:
            engine.dispose()

    app = ProblemAwareFastAPI(
        title="Bookshelf",
        version=__version__,
        description="Book lending service for a small library.",
        lifespan=lifespan,
    )
    app.state.context = context
    install_problem_handlers(app)
    app.include_router(build_api_router())

    # add_middleware wraps: the last one added is the outermost.
    app.add_middleware(ProblemGuardMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=MAX_BODY_BYTES)
    rule = settings.rate_limit_rule
    if rule is not None:
        app.add_middleware(RateLimitMiddleware, limiter=SlidingWindowLimiter(rule))
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(
        ProblemCORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_credentials=True,
        allow_methods=["GET", "POST", "DELETE"],
        allow_headers=["Authorization", "Content-Type"],
        expose_headers=["Retry-After"],
    )
    return app


app = create_app()
