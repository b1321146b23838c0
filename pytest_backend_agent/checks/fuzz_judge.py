"""Sending one generated request and judging its answer: shared by every fuzzing phase.

A :class:`Judge` sends a Schemathesis case through the gate's own transport with the credentials of the role the
packet allows, runs Schemathesis' checks (and the gate's own ``success_status``) on the answer, and groups the
failures by cause into a :class:`Tally`, keeping the first reproduction of each group as ``curl`` (in the stateful
phase, a bash snippet of the scenario that replays as pasted: :mod:`.fuzz_replay`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from pytest_backend_agent.checks.context import GateContext
    from pytest_backend_agent.checks.fuzz_replay import ReplayStep

__all__ = ["Judge", "Seen", "Tally", "Target", "send_case"]

STATE_DEPENDENT = frozenset({404, 409})
SERVER_ERROR = "Server error"  # Schemathesis' title for not_a_server_error
OPERATION_ANSWER_CHECKS = frozenset(
    {
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    }
)
"""Checks that hold an answer to what the document declares for the operation: they do not apply to the router's
own "no such route" answer, which no operation gave."""


@dataclass(frozen=True)
class Target:
    """Who a case is sent as, and what the packet promises for its operation."""

    endpoint: str
    """``METHOD /path`` as the packet names it (or as the document does, for an operation the packet lacks)."""
    role: str | None
    headers: dict[str, str]
    success_status: int | None


@dataclass
class Seen:
    """One group of failures with the same cause (check, title, status) on one operation."""

    endpoint: str
    check: str
    code: str
    title: str
    message: str
    status: int | None
    reproduction: str
    mode: str
    phase: str
    count: int = 1
    by_phase: dict[str, int] = field(default_factory=dict)


@dataclass
class Tally:
    """What the requests of one fuzz item found and cost."""

    requests: int = 0
    by_mode: dict[str, int] = field(default_factory=lambda: {"positive": 0, "negative": 0})
    by_phase: dict[str, int] = field(default_factory=dict)
    negative_rejected: int = 0
    unauthorized: int = 0
    authenticated_positive: int = 0
    seen: dict[tuple[str, str, str, int | None], Seen] = field(default_factory=dict)
    stopped_by_budget: bool = False
    transport_s: float = 0.0
    checks_s: float = 0.0
    state_dependent: int = 0
    router_refused: int = 0
    """Invalid requests whose path matched no route, answered by the router's own 404 (not judged against the
    operation's documented answers)."""
    notes: list[str] = field(default_factory=list)
    phase_s: dict[str, float] = field(default_factory=dict)
    duplicates: int = 0

    def record(self, key: tuple[str, str, str, int | None], phase: str, make: Callable[[], Seen]) -> None:
        """Count one more failure of the group ``key`` (endpoint, check, title, status), making it if new."""
        seen = self.seen.get(key)
        if seen is None:
            seen = self.seen[key] = make()
        else:
            seen.count += 1
        seen.by_phase[phase] = seen.by_phase.get(phase, 0) + 1


def _check_of(failure: Any) -> str:
    """The name of the check a Schemathesis failure comes from."""
    checks = getattr(failure, "checks", ())
    return str(checks[0]) if checks else type(failure).__name__


def _mode_of(case: Any) -> str:
    meta = getattr(case, "meta", None)
    mode = getattr(getattr(meta, "generation", None), "mode", None)
    return "negative" if str(getattr(mode, "value", mode)) == "negative" else "positive"


def _request_key(case: Any) -> str | None:
    """What identifies the request ``case`` sends, with its data mode (None when it cannot be told)."""
    try:
        body = case.body
        return repr(
            (
                _mode_of(case),
                case.method,
                case.formatted_path,
                sorted((case.query or {}).items()),
                sorted((case.headers or {}).items()),
                sorted((case.cookies or {}).items()),
                case.media_type,
                None if type(body).__name__ == "NotSet" else body,
            )
        )
    except Exception:  # an unusual case: send it rather than guess
        return None


def _without_mutated_credentials(case: Any, target: Target) -> Target:
    """``target`` without its credentials when ``case`` deliberately leaves out or spoils a credential header.

    The coverage phase tests a required header by omitting it or sending a wrong one; re-adding the gate's
    credentials over it would answer 200 and turn Schemathesis' ``missing_required_header`` into a false alarm.
    Such a case is sent (and reproduced) as anonymous, with the case's own version of the header.
    """
    phase = getattr(getattr(case, "meta", None), "phase", None)
    if getattr(getattr(phase, "name", None), "value", None) != "coverage":
        return target  # a mutated header in generated data: the gate's credentials replace it, as before
    data = getattr(phase, "data", None)
    location = getattr(getattr(data, "parameter_location", None), "value", None)
    parameter = getattr(data, "parameter", None)
    if location != "header" or not isinstance(parameter, str):
        return target
    if not any(name.lower() == parameter.lower() for name in target.headers):
        return target
    return Target(target.endpoint, None, {}, target.success_status)


class Judge:
    """Sends cases and tallies what their answers break, for one fuzz item (one operation, or the stateful run)."""

    def __init__(
        self,
        context: GateContext,
        target_of: Callable[[Any], Target],
        excluded_checks: list[Any],
        deadline: float,
        tally: Tally,
    ) -> None:
        self.context = context
        self.target_of = target_of
        self.excluded = excluded_checks
        self.deadline = deadline
        self.tally = tally
        self.check_status = "success_status" not in context.settings.fuzz_skip_checks
        self.reports_server_errors = "not_a_server_error" not in context.settings.fuzz_skip_checks
        self.sent: set[str] = set()
        """Requests already sent by this item's per-operation phases (the same request is judged once)."""
        self.steps: list[ReplayStep] | None = None
        """In the stateful phase, the scenario's earlier calls (a finding's reproduction replays them first)."""
        self.step_input: Any = None
        """In the stateful phase, Schemathesis' ``StepInput`` of the call being sent (the link it followed)."""

    def out_of_time(self) -> bool:
        """Whether the item's time budget is spent (noted in the tally)."""
        if time.monotonic() > self.deadline:
            self.tally.stopped_by_budget = True
            return True
        return False

    def send(self, case: Any, phase: str) -> tuple[Target, httpx.Response | None]:
        """Send ``case`` with the target's credentials; None (and a finding) when the app raised instead."""
        target = _without_mutated_credentials(case, self.target_of(case))
        case.headers = {**(case.headers or {}), **target.headers}  # the gate's credentials, not generated ones
        mode = _mode_of(case)
        tally = self.tally
        sent = time.perf_counter()
        try:
            response: httpx.Response | None = send_case(self.context, case)
        except Exception as error:  # in-process, an unhandled exception escapes the app
            response = None
            self._unhandled(case, target, error, mode, phase)
        tally.transport_s += time.perf_counter() - sent
        tally.requests += 1
        tally.by_mode[mode] += 1
        tally.by_phase[phase] = tally.by_phase.get(phase, 0) + 1
        return target, response

    def assess(self, case: Any, target: Target, response: httpx.Response, phase: str, recorder: Any = None) -> None:
        """Run every check on ``response`` and tally its failures."""
        tally = self.tally
        mode = _mode_of(case)
        started = time.perf_counter()
        status = int(response.status_code)
        if mode == "negative" and 400 <= status < 500:
            tally.negative_rejected += 1
        if target.role is not None and mode == "positive":
            tally.authenticated_positive += 1
            tally.unauthorized += status == 401
        from schemathesis.core.failures import Failure, FailureGroup

        failures: list[Any] = []
        try:
            case.validate_response(
                response, headers=dict(case.headers), excluded_checks=self.excluded, recorder=recorder
            )
        except FailureGroup as group:
            failures = list(group.exceptions)
        except Failure as single:
            failures = [single]
        except Exception as error:  # a check that re-sends the request in-process met an exception in the app
            self._unhandled(case, target, error, mode, phase)
        tally.checks_s += time.perf_counter() - started
        if failures and mode == "negative" and status == 404 and self._router_refused(case, target, response):
            tally.router_refused += 1
            failures = [failure for failure in failures if _check_of(failure) not in OPERATION_ANSWER_CHECKS]
        expected = target.success_status if self.check_status else None
        if mode == "positive" and expected and 200 <= status < 300 and status != expected:
            title = f"answers {status} where the packet says {expected}"
            tally.record(
                (target.endpoint, "success_status", title, status),
                phase,
                lambda: Seen(
                    target.endpoint,
                    "success_status",
                    "GATE-STATUS",
                    title,
                    "",
                    status,
                    self._curl(case, target),
                    mode,
                    phase,
                ),
            )
        for failure in failures:
            check = _check_of(failure)
            if check == "positive_data_acceptance" and status in STATE_DEPENDENT:
                tally.state_dependent += 1  # a duplicate or a missing referenced resource, not a schema problem
                continue
            if check == "status_code_conformance" and status >= 500 and self.reports_server_errors:
                continue  # the same 5xx is already a not_a_server_error finding
            tally.record(
                (target.endpoint, check, failure.title, status),
                phase,
                lambda f=failure, c=check: Seen(  # type: ignore[misc]
                    target.endpoint,
                    c,
                    f.code,
                    f.title,
                    self.context.redact(f.message)[:400],
                    status,
                    self._reproduction(case, target, f),
                    mode,
                    phase,
                ),
            )

    def _reproduction(self, case: Any, target: Target, failure: Any) -> str:
        """The request that shows ``failure``. For ignored auth that is Schemathesis' probe, not the case: the same
        request without the gate's credentials, or with the invalid credential the probe sent."""
        scenario = str(getattr(failure, "scenario", ""))
        if _check_of(failure) != "ignored_auth" or scenario not in ("no_auth", "invalid_auth") or target.role is None:
            return self._curl(case, target)
        from schemathesis.core.parameters import ParameterLocation
        from schemathesis.specs.openapi._auth_retry import get_security_parameters, remove_auth, set_auth_for_case

        parameters = get_security_parameters(case.operation)
        probe = remove_auth(case, parameters)
        ours = {name.lower() for name in target.headers}
        for name in [name for name in probe.headers or {} if name.lower() in ours]:
            del probe.headers[name]
        invalid: dict[str, str] = {}
        if scenario == "invalid_auth" and parameters:
            set_auth_for_case(probe, parameters[0])
            if parameters[0].location == ParameterLocation.HEADER:
                invalid[parameters[0].name] = str(probe.headers[parameters[0].name])
        curl = self._curl(probe, Target(target.endpoint, None, {}, target.success_status))
        for name, value in invalid.items():  # a made-up credential, not a secret: shown so the paste reproduces it
            curl = curl.replace(f"'{name}: [Filtered]'", f"'{name}: {value}'")
        return curl

    def _router_refused(self, case: Any, target: Target, response: httpx.Response) -> bool:
        """Whether ``response`` is the backend's stable "no such route" answer: an invalid path parameter (``0.5``
        for an integer id) that the route's own pattern (``{item_id:int}``, ``<int:item_id>``) does not match is
        refused by the router before the operation runs, with the framework's 404 page rather than the operation's
        documented 404."""
        import httpx

        from pytest_backend_agent.checks.unrouted import fingerprint, router_answer

        if not isinstance(response, httpx.Response):
            return False
        answer = router_answer(self.context, str(case.method).upper(), target.headers, target.role)
        return answer is not None and fingerprint(response, response.request.url.path) == answer

    def _unhandled(self, case: Any, target: Target, error: Exception, mode: str, phase: str) -> None:
        """Tally an exception that escaped the app in-process: over HTTP the same bug is a 500, grouped with them."""
        message = f"unhandled {type(error).__name__} in the app: " + self.context.redact(str(error))[:300]
        self.tally.record(
            (target.endpoint, "not_a_server_error", SERVER_ERROR, 500),
            phase,
            lambda: Seen(
                target.endpoint,
                "not_a_server_error",
                "ST101",
                SERVER_ERROR,
                message,
                500,
                self._curl(case, target),
                mode,
                phase,
            ),
        )

    def judge(self, case: Any, phase: str) -> None:
        """Send ``case`` and judge the answer, unless the item already sent the very same request."""
        key = _request_key(case)
        if key is not None:
            if key in self.sent:
                self.tally.duplicates += 1
                return
            self.sent.add(key)
        target, response = self.send(case, phase)
        if response is not None:
            self.assess(case, target, response, phase)

    def _curl(self, case: Any, target: Target) -> str:
        """The reproduction of ``case``: its curl command, or in the stateful phase the scenario so far as a bash
        snippet that replays as pasted (see :mod:`.fuzz_replay`)."""
        if not self.steps:
            return self._command(case, target)
        from pytest_backend_agent.checks import fuzz_replay

        return self.context.redact(fuzz_replay.snippet([*self.steps, self._replay_step(case, target, None)]))

    def _command(self, case: Any, target: Target) -> str:
        """``case`` as one curl command, credentials named by their environment variable, secrets redacted."""
        context = self.context
        headers = target.headers
        shown = {name: value for name, value in headers.items() if name.lower() != "authorization"}
        if target.role is not None and any(name.lower() == "authorization" for name in headers):
            value = next(v for k, v in headers.items() if k.lower() == "authorization")
            scheme = value.split(" ", 1)[0] if " " in value else "Bearer"
            shown["Authorization"] = f"{scheme} {context.credentials.env_placeholder(target.role)}"
        base = context.backend.base_url
        if context.backend.app is not None:
            base = "http://127.0.0.1:8000"
        document = context.request_document
        prefix = document.prefix if document is not None else ""
        curl = str(case.as_curl_command(headers=shown, base_url=base + prefix))
        if "Authorization" in shown:  # Schemathesis masks the header itself; name the variable that holds it instead
            # double quotes, so the shell expands the variable that holds the credentials
            curl = curl.replace("'Authorization: [Filtered]'", f'"Authorization: {shown["Authorization"]}"')
        return context.redact(curl)

    def _replay_step(self, case: Any, target: Target, response: httpx.Response | None) -> ReplayStep:
        """The call ``case`` as a step of the stateful scenario's reproduction."""
        from pytest_backend_agent.checks.fuzz_replay import ReplayStep, linked_values, with_placeholders

        credentials = {name.lower() for name in target.headers}
        linked = tuple(  # a header the gate's credentials replaced was not sent as the link set it
            value
            for value in linked_values(self.step_input, [step.case_id for step in self.steps or ()])
            if not (value.slot[0] == "header" and str(value.slot[1]).lower() in credentials)
        )
        answer, answered_json = _json_answer(response)

        def render(values: Any) -> str:
            # the command alone: Schemathesis appends warnings about unprintable characters after a blank line
            return self._command(with_placeholders(case, values), target).split("\n\n", 1)[0]

        return ReplayStep(render, linked, answer, answered_json, str(case.id))

    def remember_step(self, case: Any, target: Target, response: httpx.Response) -> None:
        """In the stateful phase, keep a call the scenario's later calls build on, with the answer it got."""
        if self.steps is not None:
            self.steps.append(self._replay_step(case, target, response))


def _json_answer(response: httpx.Response | None) -> tuple[Any, bool]:
    """The answer's body as JSON and True, or (None, False) when it is not JSON (read as links read it: an answer
    without a ``Content-Type`` is JSON)."""
    if response is None:
        return None, False
    content_type = response.headers.get("content-type", "application/json").lower()
    if "json" not in content_type:
        return None, False
    try:
        return response.json(), True
    except ValueError:
        return None, False


def send_case(context: GateContext, case: Any) -> httpx.Response:
    """Send a generated case through the gate's own transport (one event loop, distinct clients, recorded).

    The case is serialised as for an HTTP client whatever the app is: bound to a WSGI app, Schemathesis would
    serialise it for werkzeug's test client (``path``, ``query_string``), which the gate does not call. Multipart
    bodies and cookies, which the gate's transport does not build, go through Schemathesis' ``case.call()``.
    """
    from schemathesis.transport.requests import REQUESTS_TRANSPORT

    backend = context.backend
    document = context.request_document
    base = backend.base_url + (document.prefix if document is not None else "")
    kwargs = REQUESTS_TRANSPORT.serialize_case(case, base_url=base)
    if "files" in kwargs or kwargs.get("cookies"):
        return case.call()  # type: ignore[no-any-return]
    path = str(kwargs["url"])[len(backend.base_url) :]
    data, content = kwargs.get("data"), kwargs.get("content")
    if isinstance(data, str | bytes):  # a raw body: httpx takes it as content
        data, content = None, data.encode() if isinstance(data, str) else data
    return backend.request(
        str(kwargs["method"]),
        path,
        headers={str(k): str(v) for k, v in (kwargs.get("headers") or {}).items()},
        params=kwargs.get("params") or None,
        json=kwargs.get("json"),
        data=data,
        content=content.encode() if isinstance(content, str) else content,
    )
