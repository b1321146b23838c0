"""The Django statement watch: which threads' statements it counts, its window, and what it leaves behind.

Django is configured once per process and the suite's in-process gate runs must not see it configured (the data
family would read every later fixture as a Django project), so the watch runs in a fresh interpreter on a real
SQLite file and prints what it saw.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from pytest_backend_agent.checks.performance.counting import UNDER_ASGI, Counting, Window
from pytest_backend_agent.checks.performance.django_statements import DjangoWatch, django_databases
from pytest_backend_agent.checks.performance.statements import StatementCounter, normalise_sql

SCRIPT = """
import json, sys, threading

import django
from django.conf import settings

settings.configure(DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": sys.argv[1]}})
django.setup()

from django.db import connection, connections
from django.db.backends.signals import connection_created

from pytest_backend_agent.checks.performance.django_statements import count_django_statements, django_databases
from pytest_backend_agent.checks.performance.statements import StatementCounter


def query(sql, params):
    with connections["default"].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


query("CREATE TABLE author (id integer primary key, name text)", None)
query("INSERT INTO author (name) VALUES (%s)", ["Le Guin"])

# a thread that opened its connection before the watch, and runs a statement when asked (a kept worker thread)
ready, ask, done = threading.Event(), threading.Event(), threading.Event()

def kept_worker():
    query("SELECT 1", None)
    ready.set()
    ask.wait()
    query("SELECT name FROM author WHERE id = %s", [1])
    done.set()

kept = threading.Thread(target=kept_worker)
kept.start()
ready.wait()
theirs_ran = []

def theirs(execute, sql, params, many, context):
    theirs_ran.append(sql)
    return execute(sql, params, many, context)

def fresh_worker():
    # a thread made for one request, with the app's own wrapper around it (its connection opens inside the block)
    with connections["default"].execute_wrapper(theirs):
        query("SELECT name FROM author WHERE id = %s", [1])
    fresh_wrappers.extend(getattr(w, "__name__", type(w).__name__) for w in connections["default"].execute_wrappers)

fresh_wrappers = []
counter = StatementCounter()
with count_django_statements(counter) as watch:
    query("SELECT name FROM author WHERE id = %s", [1])  # the gate's thread, outside a window: not counted
    with counter.window() as main_seen:
        for number in (1, 2):
            query("SELECT name FROM author WHERE id = %s", [number])
    with counter.window() as fresh_seen:
        thread = threading.Thread(target=fresh_worker)
        thread.start()
        thread.join()
    opened_fresh = watch.opened
    with counter.window() as kept_seen:
        ask.set()
        done.wait()
    kept.join()
    opened_total = watch.opened
    during = len(connection.execute_wrappers)
after = len(connection.execute_wrappers)
query("SELECT 2", None)
print(json.dumps({
    "databases": django_databases(),
    "main": dict(main_seen),
    "fresh": dict(fresh_seen),
    "kept": dict(kept_seen),
    "opened_fresh": opened_fresh,
    "opened_total": opened_total,
    "theirs_ran": len(theirs_ran),
    "fresh_wrappers_after_their_block": fresh_wrappers,
    "connections": watch.connections,
    "django_counts": dict(watch.counts),
    "wrappers_during": during,
    "wrappers_after": after,
    "receivers_after": len(connection_created.receivers),
    "counted_after": sum(counter.counts.values()),
}))
"""


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What the watch saw in a fresh interpreter (see :data:`SCRIPT`)."""
    database = tmp_path_factory.mktemp("django-watch") / "watch.sqlite3"
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(  # noqa: S603 - this interpreter running a fixed script
        [sys.executable, "-c", SCRIPT, str(database)],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


AUTHOR = "SELECT name FROM author WHERE id = ?"


def test_the_gates_thread_is_counted_only_inside_the_window(watched: dict[str, Any]) -> None:
    assert watched["databases"] == ["default"]
    assert watched["main"] == {AUTHOR: 2}
    assert watched["connections"] == {"default": "sqlite: Django connection 'default' (CONN_MAX_AGE 0)"}


def test_a_connection_opened_on_another_thread_during_the_check_is_counted(watched: dict[str, Any]) -> None:
    assert watched["fresh"] == {AUTHOR: 1}
    assert watched["opened_fresh"] == 1
    # the app's own execute_wrapper block around it still ran, and popped its own wrapper, not the gate's
    assert watched["theirs_ran"] == 1
    assert watched["fresh_wrappers_after_their_block"] == ["DjangoWatch"]


def test_a_connection_another_thread_opened_before_the_check_is_not_seen(watched: dict[str, Any]) -> None:
    # the limit the check reports under ASGI: no statement counted, and no connection opened in that window
    assert watched["kept"] == {}
    assert watched["opened_total"] == watched["opened_fresh"]


def test_the_watch_leaves_no_wrapper_and_no_receiver_behind(watched: dict[str, Any]) -> None:
    assert watched["wrappers_during"] == 1
    assert watched["wrappers_after"] == 0
    assert watched["receivers_after"] == 0
    assert watched["counted_after"] == 3
    assert watched["django_counts"] == {AUTHOR: 3}


def test_without_django_configured_there_is_no_django_database() -> None:
    # this process never configures Django (see the module docstring)
    assert django_databases() == []


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (  # Django on PostgreSQL and SQLite before its cursor converts: %s placeholders, LIMIT 21 from .get()
            'SELECT "shelf_author"."id", "shelf_author"."name" FROM "shelf_author" '
            'WHERE "shelf_author"."id" = %s LIMIT 21',
            'SELECT "shelf_author"."id", "shelf_author"."name" FROM "shelf_author" '
            'WHERE "shelf_author"."id" = ? LIMIT ?',
        ),
        (  # SQLite's qmark form of the same statement
            'SELECT "shelf_author"."id" FROM "shelf_author" WHERE "shelf_author"."id" = ? LIMIT 21',
            'SELECT "shelf_author"."id" FROM "shelf_author" WHERE "shelf_author"."id" = ? LIMIT ?',
        ),
        (  # prefetch_related's IN list, and a pyformat parameter
            'SELECT "b"."id" FROM "shelf_book" "b" WHERE "b"."author_id" IN (%s, %s, %s) AND "b"."title" = %(t)s',
            'SELECT "b"."id" FROM "shelf_book" "b" WHERE "b"."author_id" IN (?) AND "b"."title" = ?',
        ),
    ],
)
def test_django_statements_normalise_alike_on_both_databases(statement: str, expected: str) -> None:
    assert normalise_sql(statement) == expected


def _counting(*, asgi: bool) -> Counting:
    counter = StatementCounter()
    return Counting(counter, ["SQLAlchemy", "Django"], DjangoWatch(counter), asgi)


def test_under_asgi_a_request_that_opened_no_django_connection_is_not_trusted() -> None:
    counting = _counting(asgi=True)
    fresh = Window(Counter({AUTHOR: 3}), django_statements=3, django_opened=1)
    reused = Window(Counter({AUTHOR: 1}), django_statements=1, django_opened=0)
    assert counting.unseen_connection([fresh, fresh]) is None
    unseen = counting.unseen_connection([fresh, reused])
    assert unseen is not None
    assert unseen.startswith("counted request 2 opened no Django connection")
    assert counting.notes() == [UNDER_ASGI]
    # statements SQLAlchemy counted alone say nothing about Django connections
    assert counting.unseen_connection([Window(Counter({AUTHOR: 2})), Window(Counter({AUTHOR: 12}))]) is None
    # a WSGI app answers on the gate's own thread, whose connections are all watched
    assert _counting(asgi=False).unseen_connection([fresh, reused]) is None
    assert _counting(asgi=False).notes() == []


def test_nothing_counted_names_what_is_watched() -> None:
    assert _counting(asgi=False).nothing_counted() == (
        "no SQLAlchemy or Django statement ran while the endpoint answered (only SQLAlchemy engines and Django "
        "connections are counted)"
    )
    assert _counting(asgi=True).nothing_counted().endswith(f"; {UNDER_ASGI}")
    counter = StatementCounter()
    assert Counting(counter, ["SQLAlchemy"], None, asgi=True).nothing_counted() == (
        "no SQLAlchemy statement ran while the endpoint answered (only SQLAlchemy engines are counted)"
    )
