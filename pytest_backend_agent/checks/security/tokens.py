"""Forging JSON Web Tokens without the backend's secret: alg none, a random key, an expired copy.

Written with hmac and base64 from the standard library; the claims are copied from a real token the
credentials hook returned (decoded without verification), so a backend that skips verification admits them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

__all__ = ["bearer_token", "claims_of", "forge", "is_jwt"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def bearer_token(headers: dict[str, str] | None) -> str | None:
    """The token of an ``Authorization: Bearer ...`` header, or None."""
    for name, value in (headers or {}).items():
        if name.lower() == "authorization":
            scheme, _, token = value.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    pieces = token.split(".")
    if len(pieces) != 3:
        return None
    try:
        header, claims = json.loads(_unb64(pieces[0])), json.loads(_unb64(pieces[1]))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict) or "alg" not in header:
        return None
    return header, claims


def is_jwt(token: str | None) -> bool:
    """Whether ``token`` is a JWS compact token (three base64url parts, a JSON header with ``alg``)."""
    return token is not None and _parts(token) is not None


def claims_of(token: str | None) -> dict[str, Any]:
    """The claims of ``token`` decoded WITHOUT verification (empty when it is no JWT)."""
    parts = _parts(token) if token else None
    return dict(parts[1]) if parts else {}


def _encode(header: dict[str, Any], claims: dict[str, Any], key: bytes | None) -> str:
    signing_input = (
        _b64(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64(json.dumps(claims, separators=(",", ":")).encode())
    )
    if key is None:
        return signing_input + "."
    return signing_input + "." + _b64(hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest())


def forge(kind: str, claims: dict[str, Any], *, now: float | None = None) -> str:
    """A forged token: ``alg_none``, ``other_key`` (HS256 with a random key), ``malformed``.

    The claims get a fresh ``iat`` and an ``exp`` an hour ahead, so only the forgery is wrong.
    """
    moment = int(now if now is not None else time.time())
    fresh = {**claims, "iat": moment, "exp": moment + 3600}
    fresh.setdefault("sub", "1")
    if kind == "alg_none":
        return _encode({"alg": "none", "typ": "JWT"}, fresh, None)
    if kind == "other_key":
        return _encode({"alg": "HS256", "typ": "JWT"}, fresh, secrets.token_bytes(32))
    if kind == "malformed":
        return "not-a-token." + secrets.token_hex(8)
    raise ValueError(f"unknown forgery {kind!r}")
