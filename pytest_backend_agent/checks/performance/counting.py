"""Counting the statements of one gate request with every ORM counter this process can use.

SQLAlchemy's counter (``statements.py``) is used when SQLAlchemy is installed; Django's (``django_statements.py``)
when Django is configured in this process (the in-process app is a Django app, or uses Django's ORM). Both count
into one :class:`StatementCounter`, so a window is the same for both: only the gate's own request is counted.

Under ASGI the app answers on other threads. SQLAlchemy's listener sees them all; Django's watch sees only the
connections opened while it runs (see ``django_statements.py``), so :meth:`Counting.unseen_connection` tells when a
request may have used a connection it cannot see, and the check says "not verified" instead of a wrong zero.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_backend_agent.checks.performance.statements import StatementCounter, count_statements, describe_pool

if TYPE_CHECKING:
    from pytest_backend_agent.checks.performance.django_statements import DjangoWatch

__all__ = ["UNDER_ASGI", "Counting", "NothingToCount", "Window", "statement_counting"]

UNDER_ASGI = (
    "under ASGI, Django statements are seen only on the gate's thread and on connections opened while the check "
    "runs (Django's ASGI handler opens them on a thread per request); a connection another thread opened earlier "
    "is not seen"
)
_WATCHED = {"SQLAlchemy": "SQLAlchemy engines", "Django": "Django connections"}


class NothingToCount(Exception):  # noqa: N818 - reads as "there is nothing to count with"
    """Neither SQLAlchemy nor Django can be watched in this process."""


@dataclass
class Window:
    """The statements one request ran, and, under a Django watch, its statements and the connections it opened."""

    counts: Counter[str]
    django_statements: int = 0
    django_opened: int = 0

    @property
    def total(self) -> int:
        """How many statements ran."""
        return sum(self.counts.values())


@dataclass
class Counting:
    """The shared counter, the ORMs it listens to, and the Django watch when Django is configured."""

    counter: StatementCounter
    sources: list[str]
    django: DjangoWatch | None
    asgi: bool = False
    """Whether the app is served as ASGI (its requests run on threads other than the gate's)."""

    @contextmanager
    def window(self) -> Iterator[Window]:
        """Count only inside this block; the :class:`Window` is filled in when the block ends."""
        django = self.django
        statements, opened = (django.statements, django.opened) if django else (0, 0)
        seen = Window(Counter())
        with self.counter.window() as counts:
            yield seen
        seen.counts.update(counts)
        if django is not None:
            seen.django_statements = django.statements - statements
            seen.django_opened = django.opened - opened

    def connections(self) -> list[str]:
        """What ran the statements: SQLAlchemy engines with their pools, Django connections."""
        pools = {describe_pool(engine) for engine in self.counter.engines.values()}
        if self.django is not None:
            pools.update(self.django.connections.values())
        return sorted(pools)

    def is_django(self, statement: str) -> bool:
        """Whether a Django connection ran ``statement`` (normalised)."""
        return self.django is not None and statement in self.django.counts

    def notes(self) -> list[str]:
        """Evidence on what the counting cannot see: Django connections under ASGI."""
        return [UNDER_ASGI] if self.django is not None and self.asgi else []

    def nothing_counted(self) -> str:
        """Why no statement was counted: the ORMs watched, and what Django under ASGI cannot show."""
        what = " or ".join(self.sources)
        which = " and ".join(_WATCHED[s] for s in self.sources)
        return "; ".join(
            [f"no {what} statement ran while the endpoint answered (only {which} are counted)", *self.notes()]
        )

    def unseen_connection(self, windows: list[Window]) -> str | None:
        """Under ASGI, why a request that ran Django statements may have run more than were counted, or None.

        Each counted request must have opened a Django connection while it was counted (as a request on Django's
        ASGI handler does, on its own thread). One that opened none may have run its statements on a connection
        opened earlier on another thread, which the watch cannot see; fewer statements would then read as no N+1.
        """
        if not self.notes() or not any(w.django_statements for w in windows):
            return None
        for number, window in enumerate(windows, 1):
            if window.django_opened == 0:
                return (
                    f"counted request {number} opened no Django connection, so some of its statements may have run "
                    f"on a connection opened earlier on another thread, which the gate cannot see ({UNDER_ASGI})"
                )
        return None


@contextmanager
def statement_counting(*, asgi: bool = False) -> Iterator[Counting]:
    """Listen with every counter this process can use; raises :class:`NothingToCount` when there is none.

    ``asgi``: the app is served as ASGI (see :attr:`Counting.asgi`).
    """
    from pytest_backend_agent.checks.performance.django_statements import count_django_statements, django_databases

    counter = StatementCounter()
    sources: list[str] = []
    django: DjangoWatch | None = None
    with ExitStack() as stack:
        try:
            stack.enter_context(count_statements(counter))
            sources.append("SQLAlchemy")
        except ImportError:
            pass
        if django_databases():
            django = stack.enter_context(count_django_statements(counter))
            sources.append("Django")
        if not sources:
            raise NothingToCount(
                "SQLAlchemy is not installed and Django is not set up in this process, and only their statements "
                "can be counted"
            )
        yield Counting(counter, sources, django, asgi)
