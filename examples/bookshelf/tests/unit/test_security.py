"""Password hashing and JWT handling."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from bookshelf.security import (
    create_access_token,
    decode_access_token,
    hash_password,
    verify_password,
)

pytestmark = pytest.mark.unit

SECRET = secrets.token_urlsafe(32)


def test_hash_has_scrypt_format_and_random_salt() -> None:
    password = secrets.token_urlsafe(12)
    first, second = hash_password(password), hash_password(password)
    scheme, n, r, p, salt, digest = first.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert salt and digest
    assert first != second
    assert verify_password(password, first)
    assert verify_password(password, second)


def test_wrong_password_is_rejected() -> None:
    stored = hash_password(secrets.token_urlsafe(12))
    assert not verify_password("not-the-password", stored)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plain",
        "bcrypt$16384$8$1$c2FsdA$ZGlnZXN0",
        "scrypt$x$8$1$c2FsdA$ZGlnZXN0",
        "scrypt$16384$8$1$c2FsdA$",
        "scrypt$16384$8$1$***$ZGlnZXN0",
        "scrypt$1048576$32$16$c2FsdA$ZGlnZXN0",
        "scrypt$3$8$1$c2FsdA$ZGlnZXN0",
        "scrypt$16384$8$1$c2FsdA$ZGlnZXN0$extra",
    ],
)
def test_malformed_hashes_never_verify(stored: str) -> None:
    assert verify_password("anything", stored) is False


def test_token_round_trip() -> None:
    now = datetime.now(UTC)
    token = create_access_token("42", "member", SECRET, 60, now=now)
    claims = decode_access_token(token, SECRET)
    assert claims.subject == "42"
    assert claims.role == "member"
    assert claims.expires_at - claims.issued_at == timedelta(seconds=60)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "HS256"


def test_expired_token_is_rejected() -> None:
    past = datetime.now(UTC) - timedelta(hours=2)
    token = create_access_token("1", "member", SECRET, 60, now=past)
    with pytest.raises(jwt.ExpiredSignatureError):
        decode_access_token(token, SECRET)


def test_wrong_secret_is_rejected() -> None:
    token = create_access_token("1", "member", secrets.token_urlsafe(32), 60)
    with pytest.raises(jwt.InvalidSignatureError):
        decode_access_token(token, SECRET)


def test_alg_none_is_rejected() -> None:
    token = jwt.encode(
        {"sub": "1", "role": "librarian", "iat": 0, "exp": 2**40}, None, algorithm="none"
    )
    with pytest.raises(jwt.InvalidAlgorithmError):
        decode_access_token(token, SECRET)


def test_other_hmac_algorithm_is_rejected() -> None:
    now = int(datetime.now(UTC).timestamp())
    payload = {"sub": "1", "role": "member", "iat": now, "exp": now + 60}
    long_secret = secrets.token_urlsafe(64)
    token = jwt.encode(payload, long_secret, algorithm="HS512")
    with pytest.raises(jwt.InvalidAlgorithmError):
        decode_access_token(token, long_secret)


@pytest.mark.parametrize("missing", ["exp", "iat", "sub"])
def test_required_claims(missing: str) -> None:
    now = int(datetime.now(UTC).timestamp())
    payload = {"sub": "1", "role": "member", "iat": now, "exp": now + 60}
    del payload[missing]
    token = jwt.encode(payload, SECRET, algorithm="HS256")
    with pytest.raises(jwt.MissingRequiredClaimError):
        decode_access_token(token, SECRET)


def test_role_claim_is_required() -> None:
    now = int(datetime.now(UTC).timestamp())
    token = jwt.encode({"sub": "1", "iat": now, "exp": now + 60}, SECRET, algorithm="HS256")
    with pytest.raises(jwt.InvalidTokenError, match="role"):
        decode_access_token(token, SECRET)
