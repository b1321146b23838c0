"""Request dependencies: settings, database sessions, authentication and roles."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

import jwt
from fastapi import Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bookshelf.models import User
from bookshelf.schemas import DEFAULT_PAGE_SIZE, MAX_ID, MAX_PAGE_SIZE
from bookshelf.security import decode_access_token
from bookshelf.settings import Settings

BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}

bearer_scheme = HTTPBearer(
    scheme_name="bearerAuth",
    bearerFormat="JWT",
    description="Access token from POST /api/v1/auth/token",
    auto_error=False,
)


@dataclass(frozen=True, slots=True)
class AppContext:
    """Per-application state shared with request handlers."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]


def get_context(request: Request) -> AppContext:
    """Return the :class:`AppContext` stored on the application."""
    context = request.app.state.context
    if not isinstance(context, AppContext):  # pragma: no cover - set by create_app
        raise RuntimeError("application context is not configured")
    return context


def get_settings(context: Annotated[AppContext, Depends(get_context)]) -> Settings:
    """Return the application settings."""
    return context.settings


def get_session(context: Annotated[AppContext, Depends(get_context)]) -> Iterator[Session]:
    """Yield a database session that is closed after the request."""
    with context.session_factory() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def unauthorized(detail: str) -> HTTPException:
    """A 401 error carrying the ``WWW-Authenticate: Bearer`` challenge."""
    return HTTPException(status_code=401, detail=detail, headers=BEARER_CHALLENGE)


def get_current_user(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    session: SessionDep,
    settings: SettingsDep,
) -> User:
    """Resolve the bearer token to an existing user, or fail with 401."""
    if credentials is None:
        raise unauthorized("A bearer token is required.")
    try:
        claims = decode_access_token(credentials.credentials, settings.jwt_secret)
        user_id = int(claims.subject)
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise unauthorized("The bearer token is invalid or has expired.") from exc
    user = session.get(User, user_id) if 1 <= user_id <= MAX_ID else None
    if user is None:
        raise unauthorized("The bearer token is invalid or has expired.")
    return user


def require_roles(*roles: str) -> Callable[[User], User]:
    """Build a dependency that admits only authenticated users with one of ``roles``."""

    def dependency(user: Annotated[User, Depends(get_current_user)]) -> User:
        if user.role not in roles:
            raise HTTPException(status_code=403, detail="Your role may not perform this action.")
        return user

    return dependency


AnyRole = Annotated[User, Depends(require_roles("member", "librarian"))]
Librarian = Annotated[User, Depends(require_roles("librarian"))]
Member = Annotated[User, Depends(require_roles("member"))]


@dataclass(frozen=True, slots=True)
class Pagination:
    """Validated ``limit``/``offset`` query parameters."""

    limit: int
    offset: int


def get_pagination(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size")] = (
        DEFAULT_PAGE_SIZE
    ),
    offset: Annotated[int, Query(ge=0, le=MAX_ID, description="Items to skip")] = 0,
) -> Pagination:
    """Read pagination parameters (limit 1..100, default 20; offset >= 0).

    Unknown query parameters are a 422, so a typo such as ``?limt=5`` is not ignored.
    """
    unknown = sorted(set(request.query_params) - {"limit", "offset"})
    if unknown:
        raise RequestValidationError(
            [
                {
                    "type": "extra_forbidden",
                    "loc": ("query", name),
                    "msg": "Unknown query parameter",
                }
                for name in unknown
            ]
        )
    return Pagination(limit=limit, offset=offset)


PaginationDep = Annotated[Pagination, Depends(get_pagination)]
