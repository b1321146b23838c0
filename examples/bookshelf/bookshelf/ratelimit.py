"""In-memory sliding-window rate limiting as ASGI middleware."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from bookshelf.problems import problem_response
from bookshelf.settings import RateLimitRule


class SlidingWindowLimiter:
    """Allow at most ``rule.requests`` hits per key within any ``rule.window_seconds``.

    State lives in process memory, so each worker process limits on its own.
    """

    def __init__(
        self,
        rule: RateLimitRule,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self.rule = rule
        self._clock = clock
        self._max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Record a request for ``key``; return ``None`` if allowed, else seconds to wait."""
        now = self._clock()
        window = self.rule.window_seconds
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                if len(self._hits) >= self._max_keys:
                    self._purge(now)
                hits = self._hits[key] = deque()
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= self.rule.requests:
                return hits[0] + window - now
            hits.append(now)
            return None

    def _purge(self, now: float) -> None:
        """Forget keys with no hit inside the current window."""
        cutoff = now - self.rule.window_seconds
        for key in [key for key, hits in self._hits.items() if not hits or hits[-1] <= cutoff]:
            del self._hits[key]

    def __len__(self) -> int:
        return len(self._hits)


def client_key(scope: Scope) -> str:
    """The limiter key: the client address from the ASGI scope."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class RateLimitMiddleware:
    """Answer ``429`` problem+json with ``Retry-After`` once a client exceeds the limit."""

    def __init__(self, app: ASGIApp, limiter: SlidingWindowLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Count HTTP requests per client and reject those over the limit."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        retry_after = self.limiter.hit(client_key(scope))
        if retry_after is None:
            await self.app(scope, receive, send)
            return
        seconds = max(1, math.ceil(retry_after))
        response = problem_response(
            429,
            f"Rate limit of {self.limiter.rule.requests} requests per "
            f"{self.limiter.rule.window_seconds:g} seconds exceeded.",
            str(scope.get("path", "")),
            headers={"Retry-After": str(seconds)},
        )
        await response(scope, receive, send)
