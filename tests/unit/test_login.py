"""Logging in from BACKEND_AGENT_USER_<ROLE> / BACKEND_AGENT_PASSWORD_<ROLE>: the request the gate sends, how it reads
the answer, and the one-line reason when it cannot log in. Requests go through the gate's real client and WSGI
transport to a small login server written here."""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Callable, Iterable
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from pytest_backend_agent.backend.client import Backend
from pytest_backend_agent.backend.inprocess import WsgiTransport
from pytest_backend_agent.checks.context import Credentials
from pytest_backend_agent.checks.login import (
    Login,
    credential_headers,
    log_in,
    login_body,
    login_variables,
    session_cookies,
    token_from,
)
from pytest_backend_agent.options import parse_login_style
from pytest_backend_agent.packet.model import Authentication
from pytest_backend_agent.redact import MASK, Redactor

USER = "editor@items.test"
PASSWORD = "pw-7Hq2-correct-horse"  # noqa: S105 - a test user's password
TOKEN = "tok-Zr81xXk3aYq0"  # noqa: S105 - the token the server below hands out


class LoginServer:
    """A WSGI login endpoint: ``/login`` answers per ``answer``, and remembers what it received."""

    def __init__(self, answer: str = "access_token") -> None:
        self.answer = answer
        self.received: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)).decode()
        media = environ.get("CONTENT_TYPE", "")
        body: dict[str, Any] = (
            json.loads(raw) if media.startswith("application/json") else dict(urllib.parse.parse_qsl(raw))
        )
        self.received.append((media, body))
        user = body.get("email", body.get("username"))
        headers = [("Content-Type", "application/json")]
        if self.answer == "strict_form" and body.get("grant_type") != "password":
            return self._send(start_response, "422 Unprocessable Entity", headers, {"detail": "grant_type missing"})
        if "email" not in body and "username" not in body:
            return self._send(start_response, "422 Unprocessable Entity", headers, {"detail": "email required"})
        if (user, body.get("password")) != (USER, PASSWORD):
            return self._send(start_response, "401 Unauthorized", headers, {"detail": "wrong email or password"})
        if self.answer == "cookie":
            headers.append(("Set-Cookie", f"sid={TOKEN}; Path=/; HttpOnly"))
            return self._send(start_response, "204 No Content", headers, None)
        answers: dict[str, Any] = {
            "access_token": {"access_token": TOKEN, "token_type": "bearer"},
            "strict_form": {"access_token": TOKEN, "token_type": "bearer"},
            "token": {"token": TOKEN},
            "none": {"ok": True},
        }
        return self._send(start_response, "200 OK", headers, answers[self.answer])

    @staticmethod
    def _send(
        start_response: Callable[..., Any], status: str, headers: list[tuple[str, str]], body: Any
    ) -> list[bytes]:
        start_response(status, headers)
        return [] if body is None else [json.dumps(body).encode()]


def _backend(app: LoginServer) -> Backend:
    return Backend(WsgiTransport(app), base_url="http://testserver", mode="app", target="t", timeout=5)


def _log_in(
    monkeypatch: pytest.MonkeyPatch,
    app: LoginServer,
    *,
    style: str = "json:email",
    scheme: str = "bearer-jwt",
    endpoint: str | None = "/login",
    header: str | None = None,
    user: str | None = USER,
    password: str | None = PASSWORD,
) -> tuple[Login | None, Redactor]:
    variables = login_variables("editor")
    for name, value in ((variables.user, user), (variables.password, password)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    redactor = Redactor()
    authentication = Authentication(scheme=scheme, token_endpoint=endpoint, header=header)
    return log_in(_backend(app), authentication, style, variables, redactor.add, "role 'editor'"), redactor


@pytest.mark.parametrize(
    ("value", "style"),
    [
        ("json:email", "json:email"),
        ("json", "json:email"),
        (" JSON:username ", "json:username"),
        ("json:login_name", "json:login_name"),
        ("form", "form"),
        ("FORM", "form"),
        ("xml", None),
        ("json:", None),
        ("json:a b", None),
        ("form:username", None),
    ],
)
def test_login_styles(value: str, style: str | None) -> None:
    assert parse_login_style(value) == style


def test_variables_are_spelled_like_the_token_variables() -> None:
    assert str(login_variables("read-only")) == "$BACKEND_AGENT_USER_READ_ONLY and $BACKEND_AGENT_PASSWORD_READ_ONLY"
    other = login_variables("member", other=True)
    assert (other.user, other.password) == ("BACKEND_AGENT_OTHER_USER_MEMBER", "BACKEND_AGENT_OTHER_PASSWORD_MEMBER")


def test_request_bodies() -> None:
    assert login_body("json:email", "u", "p") == {"json": {"email": "u", "password": "p"}}
    assert login_body("json:username", "u", "p") == {"json": {"username": "u", "password": "p"}}
    assert login_body("form", "u", "p") == {"data": {"grant_type": "password", "username": "u", "password": "p"}}


@pytest.mark.parametrize(
    ("content", "token"),
    [
        (b'{"access_token": "abc", "token_type": "bearer"}', "abc"),
        (b'{"token": "xyz"}', "xyz"),
        (b'{"access_token": "", "token": "xyz"}', "xyz"),
        (b'{"access_token": 12}', None),
        (b'["abc"]', None),
        (b"abc", None),
        (b"", None),
    ],
)
def test_the_token_is_read_from_access_token_or_token(content: bytes, token: str | None) -> None:
    assert token_from(httpx.Response(200, content=content)) == token


def test_session_cookies_are_read_from_set_cookie() -> None:
    response = httpx.Response(
        200, headers=[("Set-Cookie", "sid=abc; Path=/; HttpOnly"), ("Set-Cookie", "old=; Max-Age=0")]
    )
    assert session_cookies(response) == {"sid": "abc"}


def test_the_token_goes_in_the_packets_header() -> None:
    assert credential_headers(Authentication(scheme="bearer-jwt"), "t1") == {"Authorization": "Bearer t1"}
    assert credential_headers(Authentication(scheme="api-key", header="X-API-Key"), "t1") == {"X-API-Key": "t1"}
    assert credential_headers(None, "t1") == {"Authorization": "Bearer t1"}


@pytest.mark.parametrize("answer", ["access_token", "token"])
def test_a_json_login_gives_a_bearer_header_and_both_secrets_are_redacted(
    monkeypatch: pytest.MonkeyPatch, answer: str
) -> None:
    app = LoginServer(answer)
    login, redactor = _log_in(monkeypatch, app)
    assert login is not None
    assert login.headers == {"Authorization": f"Bearer {TOKEN}"}
    assert login.source == "login: POST /login with $BACKEND_AGENT_USER_EDITOR and $BACKEND_AGENT_PASSWORD_EDITOR"
    assert app.received == [("application/json", {"email": USER, "password": PASSWORD})]
    assert redactor(f"{PASSWORD} {TOKEN}") == f"{MASK} {MASK}"
    assert redactor(USER) == USER  # the user name is not a secret


def test_json_username(monkeypatch: pytest.MonkeyPatch) -> None:
    app = LoginServer()
    login, _ = _log_in(monkeypatch, app, style="json:username")
    assert login is not None
    assert login.headers is not None
    assert app.received == [("application/json", {"username": USER, "password": PASSWORD})]


def test_a_form_login_is_the_oauth2_password_flow(monkeypatch: pytest.MonkeyPatch) -> None:
    app = LoginServer("strict_form")
    login, _ = _log_in(monkeypatch, app, style="form")
    assert login is not None
    assert login.headers == {"Authorization": f"Bearer {TOKEN}"}
    media, body = app.received[0]
    assert media == "application/x-www-form-urlencoded"
    assert body == {"grant_type": "password", "username": USER, "password": PASSWORD}


def test_a_wrong_password_names_the_variables_and_the_status(monkeypatch: pytest.MonkeyPatch) -> None:
    login, redactor = _log_in(monkeypatch, LoginServer(), password="not-the-password")
    assert login is not None
    assert login.headers is None
    assert login.problem == (
        "logging in as role 'editor' failed: POST /login with $BACKEND_AGENT_USER_EDITOR and "
        '$BACKEND_AGENT_PASSWORD_EDITOR answered 401 (wrong user or password?): {"detail": "wrong email or password"}'
    )
    assert redactor("not-the-password") == MASK  # registered before it was sent


def test_a_body_the_endpoint_refuses_points_at_backend_login(monkeypatch: pytest.MonkeyPatch) -> None:
    login, _ = _log_in(monkeypatch, LoginServer("strict_form"))
    assert login is not None
    assert login.headers is None
    assert 'answered 422 (the gate sent JSON {"email": ..., "password": ...}; does backend_login name' in (
        login.problem
    )


def test_an_answer_without_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    login, _ = _log_in(monkeypatch, LoginServer("none"))
    assert login is not None
    assert login.headers is None
    assert login.problem.endswith(
        "answered 200 without a token (a JSON object with a non-empty string access_token or token)"
    )


def test_no_token_endpoint_in_the_packet(monkeypatch: pytest.MonkeyPatch) -> None:
    app = LoginServer()
    login, _ = _log_in(monkeypatch, app, endpoint=None)
    assert login is not None
    assert login.headers is None
    assert "the packet names no api.authentication.token_endpoint" in login.problem
    assert "$BACKEND_AGENT_USER_EDITOR and $BACKEND_AGENT_PASSWORD_EDITOR" in login.problem
    assert app.received == []


@pytest.mark.parametrize(("user", "password", "missing"), [(USER, None, "PASSWORD"), (None, PASSWORD, "USER")])
def test_half_a_login_is_a_reason_not_a_fallback(
    monkeypatch: pytest.MonkeyPatch, user: str | None, password: str | None, missing: str
) -> None:
    app = LoginServer()
    login, redactor = _log_in(monkeypatch, app, user=user, password=password)
    assert login is not None
    assert login.headers is None
    assert login.problem.endswith(f"but $BACKEND_AGENT_{missing}_EDITOR is not; set both")
    assert app.received == []
    if password:
        assert redactor(password) == MASK


def test_nothing_set_is_no_login(monkeypatch: pytest.MonkeyPatch) -> None:
    login, _ = _log_in(monkeypatch, LoginServer(), user=None, password=None)
    assert login is None


def test_basic_authentication_needs_no_request(monkeypatch: pytest.MonkeyPatch) -> None:
    app = LoginServer()
    login, redactor = _log_in(monkeypatch, app, scheme="basic", endpoint=None)
    assert login is not None
    assert login.headers is not None
    scheme, _, encoded = login.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(encoded).decode() == f"{USER}:{PASSWORD}"
    assert redactor(encoded) == MASK
    assert app.received == []


def test_a_session_login_sends_the_cookie_back(monkeypatch: pytest.MonkeyPatch) -> None:
    login, redactor = _log_in(monkeypatch, LoginServer("cookie"), scheme="session")
    assert login is not None
    assert login.headers == {"Cookie": f"sid={TOKEN}"}
    assert redactor(TOKEN) == MASK


def test_an_api_key_scheme_puts_the_token_in_its_header(monkeypatch: pytest.MonkeyPatch) -> None:
    login, _ = _log_in(monkeypatch, LoginServer(), scheme="api-key", header="X-API-Key")
    assert login is not None
    assert login.headers == {"X-API-Key": TOKEN}


def test_a_transport_error_is_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        raise ConnectionError("the server went away")

    variables = login_variables("editor")
    monkeypatch.setenv(variables.user, USER)
    monkeypatch.setenv(variables.password, PASSWORD)
    backend = Backend(WsgiTransport(broken), base_url="http://testserver", mode="app", target="t", timeout=5)
    login = log_in(
        backend,
        Authentication(scheme="bearer", token_endpoint="/login"),
        "json:email",
        variables,
        Redactor().add,
        "role 'editor'",
    )
    assert login is not None
    assert login.headers is None
    assert login.problem.startswith("logging in as role 'editor' failed: POST /login with $BACKEND_AGENT_USER_EDITOR")
    assert "raised" in login.problem


class _Hooks:
    """The two credentials hooks as pluggy calls them, answering ``answer`` (None: no conftest implements them)."""

    def __init__(self, answer: dict[str, str] | None = None) -> None:
        self.answer = answer

    def pytest_backend_auth_headers(self, **_: Any) -> dict[str, str] | None:
        return self.answer

    def pytest_backend_other_auth_headers(self, **_: Any) -> dict[str, str] | None:
        return None


def _credentials(app: LoginServer, hook_answer: dict[str, str] | None = None) -> Credentials:
    """The gate's Credentials on a context holding what they read: hooks, backend, packet, settings, redactor."""
    redactor = Redactor()
    context: Any = SimpleNamespace(
        config=SimpleNamespace(hook=_Hooks(hook_answer)),
        backend=_backend(app),
        packet=SimpleNamespace(
            api=SimpleNamespace(authentication=Authentication(scheme="bearer", token_endpoint="/login"))
        ),
        settings=SimpleNamespace(login="json:email"),
        redactor=redactor,
        redact=redactor,
    )
    return Credentials(context)


def test_credentials_log_in_after_the_hook_and_before_a_ready_token(monkeypatch: pytest.MonkeyPatch) -> None:
    app = LoginServer()
    monkeypatch.setenv("BACKEND_AGENT_USER_EDITOR", USER)
    monkeypatch.setenv("BACKEND_AGENT_PASSWORD_EDITOR", PASSWORD)
    monkeypatch.setenv("BACKEND_AGENT_TOKEN_EDITOR", "a-ready-token-not-used")
    credentials = _credentials(app)
    assert credentials.headers("editor") == {"Authorization": f"Bearer {TOKEN}"}
    assert credentials.headers("editor") is not None
    assert len(app.received) == 1  # cached
    assert credentials.fresh("editor") == {"Authorization": f"Bearer {TOKEN}"}
    assert len(app.received) == 2  # fresh credentials are a new login
    assert credentials.env_placeholder("editor") == "$BACKEND_AGENT_TOKEN_EDITOR"
    assert "editor" not in credentials.problems

    hooked = _credentials(app, {"Authorization": "Bearer from-the-hook"})
    assert hooked.headers("editor") == {"Authorization": "Bearer from-the-hook"}
    assert len(app.received) == 2  # the hook answered: no login


def test_a_second_identity_logs_in_with_the_other_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    app = LoginServer()
    monkeypatch.setenv("BACKEND_AGENT_OTHER_USER_EDITOR", USER)
    monkeypatch.setenv("BACKEND_AGENT_OTHER_PASSWORD_EDITOR", PASSWORD)
    credentials = _credentials(app)
    assert credentials.other("editor", fresh=True) == {"Authorization": f"Bearer {TOKEN}"}
    assert credentials.other_placeholder("editor") == "$BACKEND_AGENT_OTHER_TOKEN_EDITOR"
    monkeypatch.setenv("BACKEND_AGENT_OTHER_PASSWORD_EDITOR", "wrong-other-password")
    assert credentials.other("editor", fresh=True) is None
    assert "$BACKEND_AGENT_OTHER_PASSWORD_EDITOR answered 401" in credentials.other_problems["editor"]
    assert credentials.headers("editor") is None  # the first identity has no variables of its own
    assert "$BACKEND_AGENT_USER_EDITOR and $BACKEND_AGENT_PASSWORD_EDITOR" in credentials.problems["editor"]
