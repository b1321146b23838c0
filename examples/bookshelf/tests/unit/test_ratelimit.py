"""The sliding-window limiter."""

from __future__ import annotations

import pytest

from bookshelf.ratelimit import SlidingWindowLimiter, client_key
from bookshelf.settings import RateLimitRule

pytestmark = pytest.mark.unit


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_allows_up_to_limit_then_blocks() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(RateLimitRule(3, 10), clock=clock)
    assert [limiter.hit("a") for _ in range(3)] == [None, None, None]
    clock.now += 4
    assert limiter.hit("a") == pytest.approx(6)
    assert limiter.hit("b") is None  # other clients are independent


def test_window_slides() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(RateLimitRule(2, 10), clock=clock)
    limiter.hit("a")
    clock.now += 5
    limiter.hit("a")
    assert limiter.hit("a") is not None
    clock.now += 5  # the first hit has left the window
    assert limiter.hit("a") is None
    assert limiter.hit("a") is not None


def test_blocked_requests_do_not_extend_the_window() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(RateLimitRule(1, 10), clock=clock)
    limiter.hit("a")
    for _ in range(5):
        clock.now += 1
        assert limiter.hit("a") is not None
    clock.now += 5
    assert limiter.hit("a") is None


def test_stale_keys_are_purged() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(RateLimitRule(1, 10), clock=clock, max_keys=2)
    limiter.hit("a")
    limiter.hit("b")
    assert len(limiter) == 2
    clock.now += 11
    limiter.hit("c")
    assert len(limiter) == 1


def test_client_key() -> None:
    assert client_key({"type": "http", "client": ("10.0.0.1", 1234)}) == "10.0.0.1"
    assert client_key({"type": "http", "client": None}) == "unknown"
    assert client_key({"type": "http"}) == "unknown"
