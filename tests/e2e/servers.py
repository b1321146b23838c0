"""Live servers for tests that reach a backend over HTTP: started on a loopback port, stopped afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pytest_backend_agent.backend.live import free_port, wait_until_answering


def uvicorn(app: str, log_level: str = "critical") -> list[str]:
    """The command that serves the ASGI ``app`` (``module:attr``) with uvicorn on ``{port}``."""
    return [sys.executable, "-m", "uvicorn", app, "--port", "{port}", "--log-level", log_level]


@contextmanager
def serving(
    command: list[str], cwd: Path, *, health: str = "/", port: int | None = None, quiet: bool = False
) -> Iterator[str]:
    """Run ``command`` (``{port}`` replaced, ``PORT`` set) in ``cwd`` until the block ends; yields its base URL.

    The server must answer ``health`` within 20 s. ``port`` reuses an address (a fresh server where an earlier one
    ran); by default a free one is chosen.
    """
    chosen = port or free_port()
    output = subprocess.DEVNULL if quiet else None
    server = subprocess.Popen(  # noqa: S603 - the tests' own fixture servers, on loopback
        [part.replace("{port}", str(chosen)) for part in command],
        cwd=cwd,
        env={**os.environ, "PORT": str(chosen)},
        stdout=output,
        stderr=output,
    )
    try:
        url = f"http://127.0.0.1:{chosen}"
        assert wait_until_answering(url + health, time.monotonic() + 20, server), f"{command} did not answer"
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
