"""``POST /auth/token``: exchange e-mail and password for a JWT."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from bookshelf.api.deps import SessionDep, SettingsDep, unauthorized
from bookshelf.models import User
from bookshelf.openapi import problem_responses
from bookshelf.schemas import Token, TokenRequest
from bookshelf.security import DUMMY_PASSWORD_HASH, create_access_token, verify_password

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/token",
    response_model=Token,
    summary="Exchange email and password for a JWT",
    responses=problem_responses(400, 401, 422, 429),
)
def issue_token(body: TokenRequest, session: SessionDep, settings: SettingsDep) -> Token:
    """Return a bearer token for valid credentials; 401 otherwise."""
    email = body.email.strip().lower()
    user = session.scalars(select(User).where(User.email == email)).first()
    # Always run one scrypt verification so unknown e-mails are not faster to reject.
    stored = user.password_hash if user is not None else DUMMY_PASSWORD_HASH
    if not verify_password(body.password, stored) or user is None:
        raise unauthorized("The email or password is incorrect.")
    token = create_access_token(
        str(user.id), user.role, settings.jwt_secret, settings.token_ttl_seconds
    )
    return Token(
        access_token=token,
        token_type="bearer",  # noqa: S106 - the OAuth2 token type, not a secret
        expires_in=settings.token_ttl_seconds,
    )
