"""Counting the SQL statements an in-process app runs while one gate request is in flight.

A listener on SQLAlchemy's ``Engine`` class (``before_cursor_execute``) sees every statement of every engine in
the process, including engines the app created before the listener was added. Counting is switched on only
around the gate's own request, so the project's own tests and the gate's other work are not counted. The app
answers the request on other threads (an ASGI app's event loop, FastAPI's thread pool), so the window is a time
span, not a thread: the gate sends one request at a time, and nothing else in the process is running then.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = ["StatementCounter", "count_statements", "describe_pool", "normalise_sql"]

_STRING = re.compile(r"'(?:[^']|'')*'")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?\b")
_CAST = re.compile(r"::\w+(?:\[\])?")  # PostgreSQL casts psycopg adds to bound parameters: %(x)s::INTEGER
_PLACEHOLDER = re.compile(r"%\(\w+\)s|%s|\$\d+|:\w+|\?")
_IN_LIST = re.compile(r"\(\s*\?(?:\s*,\s*\?)*\s*\)")
_POSTCOMPILE = re.compile(r"\(?__\[POSTCOMPILE_\w+\]\)?")
_SPACE = re.compile(r"\s+")


def normalise_sql(statement: str) -> str:
    """``statement`` with literals and bound parameters as ``?`` (casts dropped), ``IN`` lists as ``(?)``, one space.

    Two statements that differ only in the values they carry normalise to the same text, which is what makes a
    statement run once per row visible as one statement run many times.
    """
    text = _STRING.sub("?", statement)
    text = _POSTCOMPILE.sub("(?)", text)
    text = _CAST.sub("", text)
    text = _PLACEHOLDER.sub("?", text)
    text = _NUMBER.sub("?", text)
    text = _IN_LIST.sub("(?)", text)
    return _SPACE.sub(" ", text).strip()


@dataclass
class StatementCounter:
    """Statements seen while :attr:`active`, by normalised text, and the engines that ran them."""

    active: bool = False
    counts: Counter[str] = field(default_factory=Counter)
    engines: dict[int, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        """The ``before_cursor_execute`` listener."""
        if not self.active:
            return
        with self._lock:
            self.counts[normalise_sql(statement)] += 1
            engine = getattr(conn, "engine", None)
            if engine is not None:
                self.engines.setdefault(id(engine), engine)

    def record(self, statement: str) -> bool:
        """Count ``statement`` (seen by another ORM's hook) if a window is open; return whether it was counted."""
        if not self.active:
            return False
        with self._lock:
            self.counts[normalise_sql(statement)] += 1
        return True

    @contextmanager
    def window(self) -> Iterator[Counter[str]]:
        """Count only inside this block; yields the counts of this block alone."""
        with self._lock:
            before = Counter(self.counts)
            self.active = True
        seen: Counter[str] = Counter()
        try:
            yield seen
        finally:
            with self._lock:
                self.active = False
                seen.update(self.counts - before)


@contextmanager
def count_statements(counter: StatementCounter | None = None) -> Iterator[StatementCounter]:
    """A :class:`StatementCounter` (``counter``, or a new one) listening on every SQLAlchemy engine for the block.

    Raises ImportError when SQLAlchemy is not installed (the app then cannot be using it either).
    """
    from sqlalchemy import Engine, event

    counter = StatementCounter() if counter is None else counter
    event.listen(Engine, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        event.remove(Engine, "before_cursor_execute", counter)


def describe_pool(engine: Any) -> str:
    """``postgresql: QueuePool (size 5, max overflow 10, pre-ping)``: the engine's dialect and connection pool."""
    pool = engine.pool
    parts: list[str] = []
    size = getattr(pool, "size", None)
    if callable(size):
        try:
            parts.append(f"size {int(size())}")
        except (TypeError, ValueError):
            pass
    overflow = getattr(pool, "_max_overflow", None)
    if isinstance(overflow, int):
        parts.append(f"max overflow {overflow}")
    if getattr(pool, "_pre_ping", False):
        parts.append("pre-ping")
    detail = f" ({', '.join(parts)})" if parts else ""
    return f"{engine.dialect.name}: {type(pool).__name__}{detail}"
