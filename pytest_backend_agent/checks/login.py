"""Logging in from configuration, so a backend in any language needs no Python conftest.

``BACKEND_AGENT_USER_<ROLE>`` and ``BACKEND_AGENT_PASSWORD_<ROLE>`` (``BACKEND_AGENT_OTHER_USER_<ROLE>`` /
``BACKEND_AGENT_OTHER_PASSWORD_<ROLE>`` for a second identity) are posted to the packet's
``api.authentication.token_endpoint`` in the shape ``--backend-login`` names (``json:email`` by default,
``json:FIELD`` or ``form``); the token in the answer (``access_token`` or ``token``) becomes the role's headers in
the packet's scheme. The password and the token are handed to the redactor before anything can print them.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from pytest_backend_agent.backend.client import Backend
    from pytest_backend_agent.packet.model import Authentication

__all__ = [
    "Login",
    "LoginVariables",
    "credential_headers",
    "log_in",
    "login_body",
    "login_variables",
    "session_cookies",
    "token_from",
]

TOKEN_FIELDS = ("access_token", "token")


@dataclass(frozen=True)
class LoginVariables:
    """The names of the two environment variables that hold one identity's user and password."""

    user: str
    password: str

    def values(self) -> tuple[str, str]:
        """The user (stripped) and the password (as given); empty strings for unset variables."""
        return os.environ.get(self.user, "").strip(), os.environ.get(self.password, "")

    def __str__(self) -> str:
        return f"${self.user} and ${self.password}"


def login_variables(role: str, *, other: bool = False) -> LoginVariables:
    """``editor`` -> ``BACKEND_AGENT_USER_EDITOR`` / ``BACKEND_AGENT_PASSWORD_EDITOR`` (``OTHER_`` for the second)."""
    suffix = re.sub(r"[^A-Za-z0-9]", "_", role).upper()
    prefix = "BACKEND_AGENT_OTHER_" if other else "BACKEND_AGENT_"
    return LoginVariables(f"{prefix}USER_{suffix}", f"{prefix}PASSWORD_{suffix}")


def login_body(style: str, user: str, password: str) -> dict[str, Any]:
    """The keyword arguments of ``Backend.request`` that send ``user`` and ``password`` in ``style``.

    ``json:FIELD`` -> ``{"json": {FIELD: user, "password": password}}``; ``form`` -> the OAuth2 password flow as a
    form (``grant_type=password&username=...&password=...``), as FastAPI's ``OAuth2PasswordRequestForm`` reads it.
    """
    if style == "form":
        return {"data": {"grant_type": "password", "username": user, "password": password}}
    field = style.partition(":")[2] or "email"
    return {"json": {field: user, "password": password}}


def token_from(response: httpx.Response) -> str | None:
    """The token in a login answer: a JSON object's ``access_token`` (OAuth2) or ``token``, else None."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, Mapping):
        return None
    for field in TOKEN_FIELDS:
        token = body.get(field)
        if isinstance(token, str) and token.strip():
            return token.strip()
    return None


def session_cookies(response: httpx.Response) -> dict[str, str]:
    """The cookies a login answer sets (``Set-Cookie``), name to value; expired (empty) ones left out."""
    cookies: dict[str, str] = {}
    for header in response.headers.get_list("set-cookie"):
        name, sep, value = header.split(";", 1)[0].partition("=")
        if sep and name.strip() and value.strip().strip('"'):
            cookies[name.strip()] = value.strip()
    return cookies


def credential_headers(authentication: Authentication | None, token: str) -> dict[str, str]:
    """The headers that carry ``token`` in the packet's scheme: its API-key header, else ``Authorization: Bearer``."""
    if authentication is not None and authentication.scheme.lower() == "api-key" and authentication.header:
        return {authentication.header: token}
    return {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True)
class Login:
    """What logging in from configuration gave: headers and where they came from, or the reason there are none."""

    headers: dict[str, str] | None
    source: str = ""
    problem: str = ""


def _excerpt(response: httpx.Response, limit: int = 160) -> str:
    text = " ".join(response.text.split())
    return text[:limit] + ("..." if len(text) > limit else "")


def log_in(
    backend: Backend,
    authentication: Authentication | None,
    style: str,
    variables: LoginVariables,
    secret: Callable[[str], None],
    who: str,
) -> Login | None:
    """Log in with ``variables`` as the packet says; None when neither variable is set.

    ``secret`` is called with the password before the request is sent, and with every credential value before
    it is returned. ``who`` names the identity in reasons (``role 'editor'``). A failure (a variable missing, no
    token endpoint, a transport error, a non-2xx answer, no token in the answer) is a :class:`Login` with a
    one-line ``problem`` that names the variables, never an exception.
    """
    user, password = variables.values()
    if not user and not password:
        return None
    if password:
        secret(password)
    if not user or not password:
        given, missing = (variables.user, variables.password) if user else (variables.password, variables.user)
        return Login(None, problem=f"no credentials for {who}: ${given} is set but ${missing} is not; set both")
    scheme = authentication.scheme.lower() if authentication is not None else ""
    if scheme == "basic":
        encoded = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        headers = {"Authorization": f"Basic {encoded}"}
        secret(headers["Authorization"])
        return Login(headers, source=f"HTTP basic authentication with {variables}")
    endpoint = authentication.token_endpoint if authentication is not None else None
    if not endpoint:
        return Login(
            None,
            problem=f"no credentials for {who}: {variables} are set, but the packet names no "
            "api.authentication.token_endpoint to log in at; add it to the packet",
        )
    where = f"POST {endpoint} with {variables}"
    try:
        response = backend.request("POST", endpoint, **login_body(style, user, password))
    except Exception as error:  # a transport error, a timeout: the role is not verified, the run goes on
        return Login(None, problem=f"logging in as {who} failed: {where} raised {type(error).__name__}: {error}")
    status = response.status_code
    if not 200 <= status < 300:
        hint = " (wrong user or password?)" if status in (401, 403) else ""
        if status in (400, 415, 422):
            hint = f" (the gate sent {_shape(style)}; does backend_login name the body the endpoint expects?)"
        return Login(None, problem=f"logging in as {who} failed: {where} answered {status}{hint}: {_excerpt(response)}")
    if scheme == "session":
        cookies = session_cookies(response)
        if not cookies:
            return Login(None, problem=f"logging in as {who} failed: {where} answered {status} but set no cookie")
        for value in cookies.values():
            secret(value)
        headers = {"Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items())}
    else:
        token = token_from(response)
        if token is None:
            return Login(
                None,
                problem=f"logging in as {who} failed: {where} answered {status} without a token "
                f"(a JSON object with a non-empty string {' or '.join(TOKEN_FIELDS)})",
            )
        secret(token)
        headers = credential_headers(authentication, token)
    for value in headers.values():
        secret(value)
    return Login(headers, source=f"login: {where}")


def _shape(style: str) -> str:
    if style == "form":
        return "a form grant_type=password&username=...&password=..."
    return f'JSON {{"{style.partition(":")[2]}": ..., "password": ...}}'
