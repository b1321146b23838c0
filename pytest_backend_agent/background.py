"""Slow tools run once per session in the background, their results read by every process that needs them.

The process that starts a tool (the only process, or the pytest-xdist controller) writes its result as JSON into
one folder; gate items in any process (every xdist worker gets the folder through ``workerinput``) wait for that
file. Standard library only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["Background", "ToolResult"]

_POLL_S = 0.05


@dataclass(frozen=True)
class ToolResult:
    """How one tool run ended: its exit status and output, or why it did not run (``error``)."""

    command: list[str]
    cwd: str
    returncode: int | None
    stdout: str
    stderr: str
    duration_s: float
    error: str | None = None


class Background:
    """Tool runs of one session, in a folder this process creates (``folder=None``) or was handed (a worker)."""

    def __init__(self, folder: Path | None = None) -> None:
        self._folder = folder
        self._owned = folder is None
        self._lock = threading.Lock()
        self._runs: list[tuple[subprocess.Popen[bytes], threading.Thread]] = []

    @property
    def folder(self) -> Path:
        """The shared folder, created on first use by the process that owns it (once, whichever thread asks)."""
        with self._lock:
            if self._folder is None:
                self._folder = Path(tempfile.mkdtemp(prefix="backend-gate-"))
            return self._folder

    def _path(self, name: str) -> Path:
        return self.folder / f"{name}.json"

    def start(self, name: str, command: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        """Start ``command`` in ``cwd``; its :class:`ToolResult` is written as ``name`` when it ends.

        Its output goes to files, not pipes, and only the tool's own exit is awaited: a process it leaves running
        (mypy's workers) keeps inherited pipes open, which would hold the result back.
        """
        path = self._path(name)  # decided here, before the run: its thread writes exactly there
        started = time.monotonic()
        stdout = path.with_suffix(".stdout").open("w+b")
        stderr = path.with_suffix(".stderr").open("w+b")
        try:
            process = subprocess.Popen(  # noqa: S603 - the gate's own tool commands, no shell
                command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr
            )
        except OSError as error:
            stdout.close()
            stderr.close()
            _write(path, ToolResult(command, str(cwd), None, "", "", 0.0, f"{type(error).__name__}: {error}"))
            return

        def wait() -> None:
            returncode = process.wait()
            duration = round(time.monotonic() - started, 3)
            try:
                texts = []
                for output in (stdout, stderr):
                    output.seek(0)
                    texts.append(output.read().decode("utf-8", errors="replace"))
                    output.close()
                _write(path, ToolResult(command, str(cwd), returncode, texts[0], texts[1], duration))
            except (OSError, ValueError):  # the folder was removed: the session is over and nobody waits for it
                pass

        thread = threading.Thread(target=wait, name=f"backend-gate-{name}", daemon=True)
        thread.start()
        self._runs.append((process, thread))

    def record(self, name: str, result: ToolResult) -> None:
        """Publish ``result`` as ``name`` without running anything (a tool that cannot run says why)."""
        _write(self._path(name), result)

    def result(self, name: str, timeout: float) -> ToolResult | None:
        """The result of ``name`` once its run has ended, waiting up to ``timeout`` seconds (None: still running)."""
        path = self._path(name)
        deadline = time.monotonic() + timeout
        while not path.is_file():
            if time.monotonic() >= deadline:
                return None
            time.sleep(_POLL_S)
        return ToolResult(**json.loads(path.read_text(encoding="utf-8")))

    def close(self) -> None:
        """Stop runs still going and, in the process that created it, remove the folder."""
        for process, thread in self._runs:
            if process.poll() is None:
                process.kill()
            thread.join(timeout=10)
        self._runs.clear()
        if self._owned and self._folder is not None:
            # The folder is not forgotten: a run that outlived the join finds it gone and drops its result,
            # rather than creating a new folder that nobody would remove.
            shutil.rmtree(self._folder, ignore_errors=True)


def _write(path: Path, result: ToolResult) -> None:
    """Write ``result`` whole (a temporary file renamed), so a reader never sees half of it."""
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(asdict(result)), encoding="utf-8")
    os.replace(partial, path)
