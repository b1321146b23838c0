"""A throw-away PostgreSQL server for the data-layer tests, started on loopback by the tests themselves.

Which server:

- ``BACKEND_AGENT_TEST_POSTGRES_URL`` (e.g. ``postgresql://postgres@127.0.0.1:5432/postgres``): a server you run
  yourself; each test gets its own database on it, dropped afterwards.
- otherwise, when PostgreSQL's ``initdb`` and ``pg_ctl`` are installed (Debian: ``apt-get install postgresql``),
  one cluster per pytest process in a temporary folder, on a free loopback port, with trust authentication; it is
  stopped at the end of the session. As root the server runs as the ``postgres`` user (PostgreSQL refuses root).
- neither: the PostgreSQL variants are skipped, saying why, unless ``BACKEND_AGENT_REQUIRE_POSTGRES=1`` (set by
  ``.ci/run``), which turns the skip into an error so CI cannot pass without them.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["PostgresServer", "database_url", "find_pg_bin", "postgres_server", "postgres_url"]

URL_VARIABLE = "BACKEND_AGENT_TEST_POSTGRES_URL"
REQUIRE_VARIABLE = "BACKEND_AGENT_REQUIRE_POSTGRES"


def find_pg_bin() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: on PATH, else Debian's ``/usr/lib/postgresql/*/bin``."""
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(os.path.realpath(initdb)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """A PostgreSQL cluster in a temporary folder, or a server named by ``BACKEND_AGENT_TEST_POSTGRES_URL``."""

    def __init__(
        self,
        admin_url: str,
        data_dir: Path | None = None,
        run_as: list[str] | None = None,
        bin_dir: Path | None = None,
    ) -> None:
        self.admin_url = admin_url
        self._data_dir = data_dir
        self._run_as = run_as or []
        self._bin_dir = bin_dir

    @classmethod
    def start(cls, bin_dir: Path) -> PostgresServer:
        """initdb a cluster in a fresh temporary folder and start it on a free loopback port."""
        run_as: list[str] = []
        data_dir = Path(tempfile.mkdtemp(prefix="backend-agent-pg-"))
        if os.geteuid() == 0:
            run_as = ["runuser", "-u", "postgres", "--"]
            shutil.chown(data_dir, "postgres", "postgres")
        cluster = data_dir / "cluster"
        subprocess.run(
            [*run_as, str(bin_dir / "initdb"), "-D", str(cluster), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
            check=True,
            capture_output=True,
            cwd=data_dir,
        )
        port = _free_port()
        options = f"-p {port} -k {data_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        subprocess.run(
            [*run_as, str(bin_dir / "pg_ctl"), "-D", str(cluster), "-o", options, "-l", str(data_dir / "log"), "-w"]
            + ["start"],
            check=True,
            capture_output=True,
            cwd=data_dir,
        )
        return cls(f"postgresql://postgres@127.0.0.1:{port}/postgres", data_dir, run_as, bin_dir)

    def stop(self) -> None:
        """Stop the cluster this object started and remove its folder (a server of the user's is left alone)."""
        if self._data_dir is None or self._bin_dir is None:
            return
        subprocess.run(
            [*self._run_as, str(self._bin_dir / "pg_ctl"), "-D", str(self._data_dir / "cluster"), "-m", "fast"]
            + ["stop"],
            check=False,
            capture_output=True,
            cwd=self._data_dir,
        )
        shutil.rmtree(self._data_dir, ignore_errors=True)

    def _execute(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(statement)  # type: ignore[arg-type]

    def create_database(self) -> str:
        """A new empty database; returns its SQLAlchemy URL (``postgresql+psycopg://``)."""
        name = f"gate_{uuid.uuid4().hex[:12]}"
        self._execute(f'CREATE DATABASE "{name}"')
        base = self.admin_url.rsplit("/", 1)[0]
        return f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)

    def drop_database(self, url: str) -> None:
        """Drop a database made by :meth:`create_database`, closing what is still connected to it."""
        name = url.rsplit("/", 1)[1]
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server per pytest process (see the module docstring for which)."""
    url = os.environ.get(URL_VARIABLE)
    if url:
        yield PostgresServer(url)
        return
    bin_dir = find_pg_bin()
    if bin_dir is None:
        reason = (
            "PostgreSQL is not installed (no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin): install it "
            f"(Debian: apt-get install postgresql) or set {URL_VARIABLE} to a server of yours"
        )
        if os.environ.get(REQUIRE_VARIABLE) == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    server = PostgresServer.start(bin_dir)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, as a SQLAlchemy URL; dropped afterwards."""
    url = postgres_server.create_database()
    try:
        yield url
    finally:
        postgres_server.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database for one test as a SQLAlchemy URL: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'gate-test.db'}"
    return str(request.getfixturevalue("postgres_url"))
