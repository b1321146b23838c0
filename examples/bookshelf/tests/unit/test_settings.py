"""Settings parsing from environment variables."""

from __future__ import annotations

import json
import logging
import secrets

import pytest

from bookshelf.settings import (
    BootstrapUser,
    RateLimitRule,
    Settings,
    parse_bootstrap_users,
    parse_origins,
    parse_rate_limit,
)

pytestmark = pytest.mark.unit


def test_defaults_without_environment(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bookshelf.settings"):
        settings = Settings.from_env({})
    assert settings.database_url == "sqlite:///./bookshelf.db"
    assert len(settings.jwt_secret) >= 32
    assert settings.token_ttl_seconds == 3600
    assert settings.bootstrap_users == ()
    assert settings.cors_origins == ("https://app.example.com",)
    assert settings.rate_limit_rule == RateLimitRule(requests=60, window_seconds=60)
    assert "BOOKSHELF_JWT_SECRET is not set" in caplog.text
    assert settings.jwt_secret not in caplog.text


def test_random_secret_differs_per_settings() -> None:
    assert Settings.from_env({}).jwt_secret != Settings.from_env({}).jwt_secret


def test_secret_is_not_in_repr() -> None:
    settings = Settings(jwt_secret="s" * 40)
    assert "s" * 40 not in repr(settings)


def test_values_from_environment() -> None:
    users = [{"email": "a@example.org", "password": "pw-1234", "role": "librarian"}]
    env = {
        "BOOKSHELF_DATABASE_URL": "postgresql+psycopg://u:p@db/bookshelf",
        "BOOKSHELF_JWT_SECRET": "x" * 40,
        "BOOKSHELF_TOKEN_TTL_SECONDS": "120",
        "BOOKSHELF_BOOTSTRAP_USERS": json.dumps(users),
        "BOOKSHELF_CORS_ORIGINS": "https://a.example, https://b.example ,",
        "BOOKSHELF_RATE_LIMIT": "off",
    }
    settings = Settings.from_env(env)
    assert settings.database_url == "postgresql+psycopg://u:p@db/bookshelf"
    assert settings.jwt_secret == "x" * 40
    assert settings.token_ttl_seconds == 120
    assert settings.bootstrap_users[0].email == "a@example.org"
    assert settings.bootstrap_users[0].role == "librarian"
    assert settings.cors_origins == ("https://a.example", "https://b.example")
    assert settings.rate_limit_rule is None


def test_invalid_ttl() -> None:
    with pytest.raises(ValueError, match="TTL"):
        Settings.from_env({"BOOKSHELF_JWT_SECRET": "x" * 40, "BOOKSHELF_TOKEN_TTL_SECONDS": "x"})
    with pytest.raises(ValueError, match="TTL"):
        Settings(jwt_secret="x" * 40, token_ttl_seconds=0)


def test_short_secret_is_rejected() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        Settings(jwt_secret=secrets.token_urlsafe(8))


def test_wildcard_origin_is_rejected() -> None:
    with pytest.raises(ValueError, match="CORS"):
        Settings(cors_origins=("*",))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("60/60", RateLimitRule(60, 60.0)),
        (" 3/0.5 ", RateLimitRule(3, 0.5)),
        ("off", None),
        ("OFF", None),
    ],
)
def test_parse_rate_limit(text: str, expected: RateLimitRule | None) -> None:
    assert parse_rate_limit(text) == expected


@pytest.mark.parametrize("text", ["", "60", "a/b", "0/60", "10/0", "10/-1"])
def test_parse_rate_limit_errors(text: str) -> None:
    with pytest.raises(ValueError, match="invalid rate limit"):
        parse_rate_limit(text)


def test_invalid_rate_limit_in_settings() -> None:
    with pytest.raises(ValueError):
        Settings(rate_limit="lots")


def test_parse_origins() -> None:
    assert parse_origins("") == ()
    assert parse_origins("https://x.example") == ("https://x.example",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not valid JSON"),
        ('{"email": "a"}', "must be a JSON list"),
        ('[{"email": "a"}]', "needs string"),
        ('["x"]', "needs string"),
        ('[{"email": "a@x", "password": "p", "role": "admin"}]', "role"),
        ('[{"email": "", "password": "p", "role": "member"}]', "non-empty"),
    ],
)
def test_parse_bootstrap_users_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_bootstrap_users(text)


def test_parse_bootstrap_users() -> None:
    assert parse_bootstrap_users("  ") == ()
    password = secrets.token_urlsafe(12)
    text = json.dumps([{"email": "m@x", "password": password, "role": "member"}])
    users = parse_bootstrap_users(text)
    assert users == (BootstrapUser("m@x", password, "member"),)
    assert password not in repr(users[0])
