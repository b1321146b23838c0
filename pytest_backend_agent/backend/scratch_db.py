"""Where ``data.migrations`` applies the migrations.

In order: the URL of ``--backend-scratch-db``; else, when the in-process app has connected to one PostgreSQL
server, a fresh database created on that server for the check and dropped afterwards (drift in types and
PostgreSQL-only DDL shows only there); else a temporary SQLite file. Each choice says why it was made.
"""

from __future__ import annotations

import gc
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Scratch", "connected_server_engines", "scratch_database"]


@dataclass(frozen=True)
class Scratch:
    """The scratch database's URL, how it was chosen (for the evidence) and its password (to redact)."""

    url: str
    how: str
    password: str | None = None


def connected_server_engines() -> list[Any]:
    """The PostgreSQL engines of this process whose pool holds connections: the app's, once it has served.

    A disposed engine (an app whose lifespan ended) holds none, so engines left over from earlier apps do not
    count."""
    if "sqlalchemy" not in sys.modules:
        return []
    from sqlalchemy.engine import Engine

    found = []
    for candidate in gc.get_objects():
        if isinstance(candidate, Engine) and candidate.dialect.name == "postgresql":
            pool: Any = candidate.pool  # QueuePool counts its connections; other pools say nothing
            if hasattr(pool, "checkedout") and pool.checkedin() + pool.checkedout() > 0:
                found.append(candidate)
    return found


def _sqlite(folder: str, why: str) -> Scratch:
    return Scratch(f"sqlite:///{Path(folder) / 'scratch.db'}", why)


@contextmanager
def scratch_database(url: str | None, *, in_process: bool) -> Iterator[Scratch]:
    """The scratch database for one migration check (see the module docstring); what it created is removed."""
    if url:
        from sqlalchemy.engine import make_url

        yield Scratch(url, "given by --backend-scratch-db", make_url(url).password)
        return
    engines = connected_server_engines() if in_process else []
    servers = {(e.url.host, e.url.port) for e in engines}
    why = "a temporary SQLite file (the backend is not in-process, or not on PostgreSQL)"
    if len(servers) > 1:
        why = "a temporary SQLite file (the app is connected to several PostgreSQL servers; name one with "
        why += "--backend-scratch-db)"
    elif engines:
        engine = engines[0]
        name = f"backend_gate_scratch_{uuid.uuid4().hex[:12]}"
        try:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        except Exception as error:  # noqa: BLE001 - no privilege, no room: fall back and say why
            why = (
                f"a temporary SQLite file: creating a scratch database on the backend's PostgreSQL server failed "
                f"({type(error).__name__}); give --backend-scratch-db an empty database there"
            )
        else:
            scratch = engine.url.set(database=name)
            try:
                yield Scratch(
                    scratch.render_as_string(hide_password=False),
                    "a fresh database on the backend's own PostgreSQL server, dropped afterwards",
                    scratch.password,
                )
            finally:
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                    connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
    with tempfile.TemporaryDirectory(prefix="backend-gate-scratch-") as folder:
        yield _sqlite(folder, why)
