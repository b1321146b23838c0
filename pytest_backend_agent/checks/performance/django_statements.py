"""Counting the SQL statements a Django app runs while one gate request is in flight.

Django has no process-wide statement event like SQLAlchemy's ``Engine`` listener. Each connection object runs the
*execute wrappers* in its own ``execute_wrappers`` list around every statement of its cursors (Django's "Database
instrumentation", ``connection.execute_wrapper()``), and connection objects are per thread: ``django.db.connections``
is thread-critical, so a thread sees only the connections it made itself. The watch therefore puts one wrapper:

- on every connection of the calling thread, the gate's own: a WSGI app answers the gate's request on it;
- on every connection opened anywhere in the process while the check runs, through the ``connection_created``
  signal: Django's ASGI handler runs each request's synchronous code (middleware, views, the ORM) on a thread made
  for that request, whose connections are opened during that request.

What it cannot see: a connection that another thread opened before the watch started and still holds (an ASGI app
of another framework calling the ORM from a thread pool it keeps). :attr:`DjangoWatch.opened` counts the
connections opened while a window was open, so a caller can tell a request that ran on fresh connections from one
that may have run on an unseen one.

``CaptureQueriesContext`` is not used: it relies on ``queries_log`` of the calling thread's connection only, and
needs ``request_started``'s ``reset_queries`` receiver disconnected while it runs, a change to the app's signals.

Statements are counted into a shared :class:`StatementCounter`, so the window is the SQLAlchemy counter's: counting
is on only while the gate's own request is in flight.
"""

from __future__ import annotations

import sys
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pytest_backend_agent.checks.performance.statements import StatementCounter, normalise_sql

__all__ = ["DjangoWatch", "count_django_statements", "describe_connection", "django_databases"]

_DUMMY = "django.db.backends.dummy"


def django_databases() -> list[str]:
    """The aliases of the databases Django is configured with in this process; empty when Django is not set up here.

    Django is never imported for this: an app that uses it has imported and configured it already.
    """
    conf = sys.modules.get("django.conf")
    if conf is None:
        return []
    settings = conf.settings
    if not settings.configured:
        return []
    databases = getattr(settings, "DATABASES", None) or {}
    return [alias for alias, options in databases.items() if (options or {}).get("ENGINE", _DUMMY) != _DUMMY]


def describe_connection(connection: Any) -> str:
    """``postgresql: Django connection 'default' (CONN_MAX_AGE 0)``: the vendor, the alias and how it is kept."""
    options = getattr(connection, "settings_dict", {}) or {}
    parts = [f"CONN_MAX_AGE {options.get('CONN_MAX_AGE', 0)}"]
    if (options.get("OPTIONS") or {}).get("pool"):
        parts.append("pool")
    return f"{connection.vendor}: Django connection {connection.alias!r} ({', '.join(parts)})"


@dataclass(eq=False)
class DjangoWatch:
    """The execute wrapper put on Django connections; what it counted, and the connections opened meanwhile."""

    counter: StatementCounter
    counts: Counter[str] = field(default_factory=Counter)
    """Django's share of :attr:`StatementCounter.counts`, by normalised statement."""
    statements: int = 0
    """How many statements were counted (all windows)."""
    opened: int = 0
    """How many connections were opened while a window was open (all windows)."""
    connections: dict[str, str] = field(default_factory=dict)
    """:func:`describe_connection` of each alias that ran a counted statement."""
    _attached: list[Any] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        """The execute wrapper: count ``sql`` when a window is open, then run it unchanged."""
        if self.counter.record(sql):
            connection = context.get("connection")
            with self._lock:
                self.counts[normalise_sql(sql)] += 1
                self.statements += 1
                if connection is not None:
                    self.connections.setdefault(connection.alias, describe_connection(connection))
        return execute(sql, params, many, context)

    def attach(self, connection: Any) -> None:
        """Wrap ``connection``'s statements (innermost, so a block of the app's own wrappers still pops its own)."""
        with self._lock:
            if any(wrapper is self for wrapper in connection.execute_wrappers):
                return
            connection.execute_wrappers.insert(0, self)
            self._attached.append(connection)

    def connection_created(self, sender: Any, connection: Any, **kwargs: Any) -> None:
        """The ``connection_created`` receiver: watch a connection opened on any thread."""
        if self.counter.active:
            with self._lock:
                self.opened += 1
        self.attach(connection)

    def detach(self) -> None:
        """Take the wrapper off every connection it was put on."""
        with self._lock:
            attached, self._attached = self._attached, []
        for connection in attached:
            wrappers = connection.execute_wrappers
            for index, wrapper in enumerate(wrappers):
                if wrapper is self:
                    del wrappers[index]
                    break


@contextmanager
def count_django_statements(counter: StatementCounter) -> Iterator[DjangoWatch]:
    """A :class:`DjangoWatch` counting into ``counter`` for the duration of the block (see the module docstring).

    Call it only when :func:`django_databases` is not empty.
    """
    from django.db import connections
    from django.db.backends.signals import connection_created

    watch = DjangoWatch(counter)
    uid = f"backend-gate-statements-{uuid.uuid4().hex}"
    connection_created.connect(watch.connection_created, weak=False, dispatch_uid=uid)
    try:
        for connection in connections.all():
            watch.attach(connection)
        yield watch
    finally:
        connection_created.disconnect(dispatch_uid=uid)
        watch.detach()
