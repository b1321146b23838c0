"""Keeping secrets out of every output: terminal, report, SARIF, reproductions."""

from __future__ import annotations

import re

__all__ = ["SECRET_HEADERS", "Redactor"]

SECRET_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "x-api-key", "api-key", "proxy-authorization"})
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
MASK = "<redacted>"


class Redactor:
    """Replaces every secret it has been told about, and anything shaped like a JWT, with ``<redacted>``."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def add(self, secret: str) -> None:
        """Remember ``secret`` (and, for ``Bearer xyz``, the bare token) so it is never printed."""
        secret = secret.strip()
        if len(secret) >= 4:
            self._secrets.add(secret)
            scheme, _, token = secret.partition(" ")
            if token and scheme.lower() in ("bearer", "basic", "token") and len(token) >= 4:
                self._secrets.add(token.strip())

    def add_headers(self, headers: dict[str, str]) -> None:
        """Remember the values of every header in ``headers`` (credentials from the hook or environment)."""
        for value in headers.values():
            self.add(value)

    def __call__(self, text: str) -> str:
        """``text`` with every known secret masked."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return _JWT.sub(MASK, text)
