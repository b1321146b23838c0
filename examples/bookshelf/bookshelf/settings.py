"""Runtime settings, read from ``BOOKSHELF_*`` environment variables."""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

ROLES: frozenset[str] = frozenset({"member", "librarian"})

DEFAULT_DATABASE_URL = "sqlite:///./bookshelf.db"
DEFAULT_CORS_ORIGINS = ("https://app.example.com",)
DEFAULT_RATE_LIMIT = "60/60"
DEFAULT_TOKEN_TTL_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class BootstrapUser:
    """A user account that is created at startup when it does not exist yet."""

    email: str
    password: str = field(repr=False)
    role: str

    def __post_init__(self) -> None:
        if not self.email or not self.password:
            raise ValueError("bootstrap users need a non-empty email and password")
        if self.role not in ROLES:
            raise ValueError(f"bootstrap user role must be one of {sorted(ROLES)}")


@dataclass(frozen=True, slots=True)
class RateLimitRule:
    """At most ``requests`` requests per ``window_seconds`` per client address."""

    requests: int
    window_seconds: float


def parse_rate_limit(value: str) -> RateLimitRule | None:
    """Parse ``"<requests>/<seconds>"`` (e.g. ``"60/60"``); ``"off"`` disables limiting."""
    text = value.strip().lower()
    if text in {"off", "none", "0", "disabled"}:
        return None
    requests_text, sep, window_text = text.partition("/")
    try:
        requests = int(requests_text)
        window = float(window_text)
    except ValueError:
        requests, window = 0, 0.0
    if not sep or requests < 1 or window <= 0:
        raise ValueError(f"invalid rate limit {value!r}; expected '<requests>/<seconds>' or 'off'")
    return RateLimitRule(requests=requests, window_seconds=window)


def parse_bootstrap_users(value: str) -> tuple[BootstrapUser, ...]:
    """Parse a JSON list of ``{"email", "password", "role"}`` objects."""
    if not value.strip():
        return ()
    try:
        raw = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError("BOOKSHELF_BOOTSTRAP_USERS is not valid JSON") from exc
    if not isinstance(raw, list):
        raise ValueError("BOOKSHELF_BOOTSTRAP_USERS must be a JSON list")
    users: list[BootstrapUser] = []
    for entry in raw:
        if not isinstance(entry, dict) or not all(
            isinstance(entry.get(key), str) for key in ("email", "password", "role")
        ):
            raise ValueError("each bootstrap user needs string 'email', 'password' and 'role'")
        users.append(
            BootstrapUser(email=entry["email"], password=entry["password"], role=entry["role"])
        )
    return tuple(users)


def parse_origins(value: str) -> tuple[str, ...]:
    """Split a comma-separated list of CORS origins, dropping blanks."""
    return tuple(origin.strip() for origin in value.split(",") if origin.strip())


def _random_secret() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class Settings:
    """Application settings; build from the environment with :meth:`from_env`."""

    database_url: str = DEFAULT_DATABASE_URL
    jwt_secret: str = field(default_factory=_random_secret, repr=False)
    token_ttl_seconds: int = DEFAULT_TOKEN_TTL_SECONDS
    bootstrap_users: tuple[BootstrapUser, ...] = ()
    cors_origins: tuple[str, ...] = DEFAULT_CORS_ORIGINS
    rate_limit: str = DEFAULT_RATE_LIMIT

    def __post_init__(self) -> None:
        if len(self.jwt_secret) < 32:
            raise ValueError("the JWT secret must be at least 32 characters long")
        if self.token_ttl_seconds < 1:
            raise ValueError("the token TTL must be a positive number of seconds")
        if any(origin == "*" for origin in self.cors_origins):
            raise ValueError("'*' is not allowed as a CORS origin (credentials are enabled)")
        parse_rate_limit(self.rate_limit)

    @property
    def rate_limit_rule(self) -> RateLimitRule | None:
        """The parsed rate limit, or ``None`` when limiting is switched off."""
        return parse_rate_limit(self.rate_limit)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``BOOKSHELF_*`` variables (``os.environ`` by default)."""
        env = os.environ if environ is None else environ
        secret = env.get("BOOKSHELF_JWT_SECRET", "")
        if not secret:
            logger.warning(
                "BOOKSHELF_JWT_SECRET is not set; using a random per-process secret, "
                "tokens will not survive a restart or work across worker processes"
            )
            secret = _random_secret()
        try:
            ttl = int(env.get("BOOKSHELF_TOKEN_TTL_SECONDS", str(DEFAULT_TOKEN_TTL_SECONDS)))
        except ValueError as exc:
            raise ValueError("BOOKSHELF_TOKEN_TTL_SECONDS must be an integer") from exc
        origins = env.get("BOOKSHELF_CORS_ORIGINS")
        return cls(
            database_url=env.get("BOOKSHELF_DATABASE_URL") or DEFAULT_DATABASE_URL,
            jwt_secret=secret,
            token_ttl_seconds=ttl,
            bootstrap_users=parse_bootstrap_users(env.get("BOOKSHELF_BOOTSTRAP_USERS", "")),
            cors_origins=DEFAULT_CORS_ORIGINS if origins is None else parse_origins(origins),
            rate_limit=env.get("BOOKSHELF_RATE_LIMIT") or DEFAULT_RATE_LIMIT,
        )
