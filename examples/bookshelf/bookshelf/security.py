"""Password hashing (scrypt) and JWT access tokens (HS256)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_DKLEN = 32
SALT_BYTES = 16
JWT_ALGORITHM = "HS256"
_MAXMEM = 64 * 1024 * 1024


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=_MAXMEM
    )


def hash_password(password: str) -> str:
    """Hash ``password`` as ``scrypt$n$r$p$salt$hash`` with a fresh random salt."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_DKLEN)
    return "$".join(
        [
            "scrypt",
            str(SCRYPT_N),
            str(SCRYPT_R),
            str(SCRYPT_P),
            _b64encode(salt),
            _b64encode(digest),
        ]
    )


def verify_password(password: str, stored: str) -> bool:
    """Check ``password`` against a stored hash in constant time; malformed hashes fail."""
    try:
        scheme, n_text, r_text, p_text, salt_text, digest_text = stored.split("$")
        n, r, p = int(n_text), int(r_text), int(p_text)
        salt, expected = _b64decode(salt_text), _b64decode(digest_text)
    except ValueError:
        return False
    if scheme != "scrypt" or not expected or n > 2**20 or r > 32 or p > 16:
        return False
    try:
        actual = _scrypt(password, salt, n, r, p, len(expected))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


# Verified against when the e-mail is unknown, so both paths cost one scrypt run.
DUMMY_PASSWORD_HASH = hash_password(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """The claims of a verified access token."""

    subject: str
    role: str
    issued_at: datetime
    expires_at: datetime


def create_access_token(
    subject: str,
    role: str,
    secret: str,
    ttl_seconds: int,
    *,
    now: datetime | None = None,
) -> str:
    """Sign an HS256 JWT carrying ``sub``, ``role``, ``iat`` and ``exp``."""
    issued = (now or datetime.now(UTC)).replace(microsecond=0)
    payload = {
        "sub": subject,
        "role": role,
        "iat": issued,
        "exp": issued + timedelta(seconds=ttl_seconds),
    }
    return jwt.encode(payload, secret, algorithm=JWT_ALGORITHM)


def decode_access_token(token: str, secret: str) -> TokenClaims:
    """Verify an access token; raises :class:`jwt.InvalidTokenError` when it is not valid.

    Only HS256 is accepted (so ``alg: none`` and algorithm confusion are refused) and
    ``exp``, ``iat`` and ``sub`` must be present.
    """
    payload = jwt.decode(
        token,
        secret,
        algorithms=[JWT_ALGORITHM],
        options={"require": ["exp", "iat", "sub"]},
    )
    role = payload.get("role")
    if not isinstance(role, str):
        raise jwt.InvalidTokenError("token has no role claim")
    return TokenClaims(
        subject=str(payload["sub"]),
        role=role,
        issued_at=datetime.fromtimestamp(payload["iat"], UTC),
        expires_at=datetime.fromtimestamp(payload["exp"], UTC),
    )
