"""Which packet endpoints the project's own tests called, observed on the in-process app.

The app's class gets a recording ``__call__`` for the session (restored at its end): every HTTP request an
instance of that class receives is recorded with the test that was running, whatever client sent it
(``TestClient(app)``, ``httpx.ASGITransport``, Flask's test client, an app built by a factory in a test).
Requests the gate sends itself carry a marker in the ASGI scope or WSGI environ and are not recorded.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

from pytest_backend_agent.backend.inprocess import GATE_REQUEST, is_asgi
from pytest_backend_agent.checks.base import make_outcome
from pytest_backend_agent.findings import CheckOutcome, CheckStatus, Finding, Location, Severity
from pytest_backend_agent.packet.model import Endpoint
from pytest_backend_agent.packet.routes import EndpointIndex

__all__ = ["RequestRecorder", "judge_endpoint_tests"]

CHECK = "quality.endpoint_tests"
FAMILY = "quality"
TARGET = "own tests"


class RequestRecorder:
    """Records ``(test node id, method, path)`` for each request an app of one class receives."""

    def __init__(self) -> None:
        self.hits: list[tuple[str, str, str]] = []
        self.current = ""
        self.problem: str | None = None
        self._undo: Callable[[], None] | None = None

    def hit(self, method: str, path: str) -> None:
        """Record one request of the running test."""
        self.hits.append((self.current, method.upper(), path))

    def install(self, app: object) -> bool:
        """Record the requests every instance of ``type(app)`` receives; False (and ``problem``) if it cannot."""
        cls = type(app)
        if not isinstance(cls, type) or cls.__module__ == "builtins":
            self.problem = f"the app is a {cls.__name__}, not an object of a class whose calls can be observed"
            return False
        original = cls.__call__
        own = cls.__dict__.get("__call__")
        recorder = self
        wrapper: Callable[..., Any]
        if is_asgi(app):

            @functools.wraps(original)
            async def recording_asgi(self: Any, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
                if scope.get("type") == "http" and not scope.get(GATE_REQUEST):
                    recorder.hit(str(scope.get("method", "")), str(scope.get("path", "")))
                await original(self, scope, receive, send)

            wrapper = recording_asgi
        else:

            @functools.wraps(original)
            def recording_wsgi(self: Any, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
                if not environ.get(GATE_REQUEST):
                    path = str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", ""))
                    recorder.hit(str(environ.get("REQUEST_METHOD", "")), path)
                result: Iterable[bytes] = original(self, environ, start_response)
                return result

            wrapper = recording_wsgi
        try:
            setattr(cls, "__call__", wrapper)  # noqa: B010 - a dunder set on the class, not the instance
        except (TypeError, AttributeError) as error:
            self.problem = f"the app's class {cls.__qualname__} cannot be wrapped ({error})"
            return False

        def undo() -> None:
            if own is not None:
                setattr(cls, "__call__", own)  # noqa: B010
            else:
                delattr(cls, "__call__")

        self._undo = undo
        return True

    def uninstall(self) -> None:
        """Give the app's class its own ``__call__`` back."""
        if self._undo is not None:
            undo, self._undo = self._undo, None
            undo()


def judge_endpoint_tests(endpoints: list[Endpoint], hits: list[list[str]], problem: str | None) -> CheckOutcome:
    """Failed when a packet endpoint was called by none of the project's own tests."""
    if problem is not None:
        return make_outcome(FAMILY, CHECK, TARGET, CheckStatus.NOT_VERIFIED, problem)
    tests_of: dict[str, set[str]] = {e.key: set() for e in endpoints}
    requesting: set[str] = set()
    index = EndpointIndex(endpoints)
    for nodeid, method, path in hits:
        if nodeid:
            requesting.add(nodeid)
        endpoint = index.find(method, path)
        if endpoint is not None:
            tests_of[endpoint.key].add(nodeid or "(outside any test)")
    untested = [e for e in endpoints if not tests_of[e.key]]
    evidence = [
        f"{len(hits)} request(s) from {len(requesting)} of the project's own tests reached the app",
        *(
            f"{key}: called by {len(tests)} test(s), e.g. {sorted(tests)[0]}"
            for key, tests in tests_of.items()
            if tests
        ),
    ]
    observations: dict[str, Any] = {
        "tested": {key: len(tests) for key, tests in tests_of.items() if tests},
        "untested": [e.key for e in untested],
        "requesting_tests": sorted(requesting),
        "request_count": len(hits),
    }
    if not untested:
        return make_outcome(
            FAMILY,
            CHECK,
            TARGET,
            CheckStatus.PASSED,
            f"every one of the {len(endpoints)} packet endpoints is called by the project's own tests",
            evidence=evidence,
            **observations,
        )
    findings = [
        Finding(
            check=CHECK,
            category=FAMILY,
            severity=Severity.ERROR,
            title="no test of the project calls this endpoint",
            location=Location(endpoint=e.key),
            evidence="none of the requests the project's own tests sent to the app matched it",
            fix=f"Add an integration test that sends {e.key} through the app (e.g. with TestClient(app)) and "
            "checks the answer.",
        )
        for e in untested
    ]
    return make_outcome(
        FAMILY,
        CHECK,
        TARGET,
        CheckStatus.FAILED,
        f"{len(untested)} of {len(endpoints)} packet endpoints are called by no test of the project: "
        + ", ".join(e.key for e in untested),
        evidence=evidence,
        findings=findings,
        **observations,
    )
