"""Reaching a backend over HTTP: a URL the user runs, or a server command the gate starts and stops."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from pytest_backend_agent.errors import GateUsageError

__all__ = ["HttpTransport", "ServerProcess", "free_port", "wait_until_answering"]


class HttpTransport:
    """Requests over real HTTP with one connection pool."""

    def __init__(self) -> None:
        self._client = httpx.Client(follow_redirects=False, trust_env=False)

    def send(self, request: httpx.Request, timeout: float) -> httpx.Response:
        """Send one request with ``timeout`` seconds for each phase."""
        request.extensions["timeout"] = httpx.Timeout(timeout).as_dict()
        response = self._client.send(request)
        response.read()
        return response

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_answering(url: str, deadline: float, alive: object = None) -> bool:
    """Poll ``url`` until any HTTP response arrives (True) or the deadline passes (False).

    ``alive`` is an optional ``subprocess.Popen``: polling stops early when it has exited.
    """
    with httpx.Client(trust_env=False, timeout=1.0) as client:
        while time.monotonic() < deadline:
            if isinstance(alive, subprocess.Popen) and alive.poll() is not None:
                return False
            try:
                client.get(url)
                return True
            except httpx.TransportError:
                time.sleep(0.1)
    return False


class ServerProcess:
    """A backend server started from ``--backend-command`` on a free loopback port."""

    def __init__(self, command: str, *, cwd: Path, startup_timeout: float) -> None:
        self.port = free_port()
        self.command = command.replace("{port}", str(self.port))
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the server
            prefix="backend-gate-server-", suffix=".log", delete=False
        )
        try:
            argv = shlex.split(self.command)
            self.process = subprocess.Popen(  # noqa: S603 - the user's own server command
                argv,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "PORT": str(self.port)},
            )
        except (OSError, ValueError) as error:
            self._log.close()
            raise GateUsageError(
                f"--backend-command {command!r} could not be started: {error}. Check that the program is installed "
                "and on PATH, and that the command works when you run it yourself (with a port number for {port})."
            ) from None
        if not wait_until_answering(self.url, time.monotonic() + startup_timeout, self.process):
            code = self.process.poll()
            tail = self.log_tail()
            self.stop()
            what = (
                f"exited with status {code}"
                if code is not None
                else f"did not answer on {self.url} within {startup_timeout:g} s"
            )
            raise GateUsageError(
                f"--backend-command {self.command!r} {what}. Last lines of its output:\n{tail}\n"
                "Run the command yourself to see it start; make it listen on 127.0.0.1 and the port the gate gives "
                "it, as {port} in the command or in the PORT environment variable, or raise --backend-startup-timeout."
            )

    def log_tail(self, lines: int = 20) -> str:
        """The last lines the server printed."""
        try:
            text = Path(self._log.name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no output captured)"
        tail = text.rstrip().splitlines()[-lines:]
        return "\n".join("    " + line for line in tail) or "    (no output)"

    def stop(self) -> None:
        """Terminate the server's process group, then kill it if it lingers."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=5)
            except (ProcessLookupError, PermissionError):
                pass
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self._log.close()
        Path(self._log.name).unlink(missing_ok=True)


class ServerTransport(HttpTransport):
    """HTTP to a server the gate owns; closing stops the server."""

    def __init__(self, server: ServerProcess) -> None:
        super().__init__()
        self.server = server

    def send(self, request: httpx.Request, timeout: float) -> httpx.Response:
        """Send, and when the server has died say so with the end of its log."""
        try:
            return super().send(request, timeout)
        except httpx.TransportError as error:
            code = self.server.process.poll()
            if code is None:
                raise
            raise httpx.ConnectError(
                f"the backend server exited with status {code}; last lines of its output:\n{self.server.log_tail()}",
                request=request,
            ) from error

    def close(self) -> None:
        """Close connections and stop the server."""
        try:
            super().close()
        finally:
            self.server.stop()
