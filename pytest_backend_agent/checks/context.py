"""What a check runs against: the settings, the packet, the backend (opened lazily), credentials per role."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_backend_agent.background import Background
from pytest_backend_agent.checks.login import Login, login_variables
from pytest_backend_agent.noise.apply import Acceptor
from pytest_backend_agent.packet.routes import EndpointIndex
from pytest_backend_agent.redact import Redactor

if TYPE_CHECKING:
    import pytest

    from pytest_backend_agent.backend.client import Backend
    from pytest_backend_agent.backend.openapi import OpenApiIndex
    from pytest_backend_agent.checks.requests import RequestFormer
    from pytest_backend_agent.noise.baseline import Baseline
    from pytest_backend_agent.packet.load import LoadedPacket
    from pytest_backend_agent.settings import Settings

__all__ = ["Credentials", "GateContext", "other_role_env_var", "role_env_var"]

_UNSET = object()


def role_env_var(role: str) -> str:
    """``librarian`` -> ``BACKEND_AGENT_TOKEN_LIBRARIAN`` (other characters become ``_``)."""
    return "BACKEND_AGENT_TOKEN_" + re.sub(r"[^A-Za-z0-9]", "_", role).upper()


def other_role_env_var(role: str) -> str:
    """``member`` -> ``BACKEND_AGENT_OTHER_TOKEN_MEMBER``: a second identity of the role, for object access."""
    return "BACKEND_AGENT_OTHER_" + role_env_var(role).removeprefix("BACKEND_AGENT_")


class Credentials:
    """Headers per role: the conftest hook first, then a login with ``BACKEND_AGENT_USER_<ROLE>`` and
    ``BACKEND_AGENT_PASSWORD_<ROLE>`` at the packet's token endpoint, then a ready token from the environment.

    Cached for the session; :meth:`fresh` (and ``other(..., fresh=True)``) asks again, which logs in again.
    """

    def __init__(self, context: GateContext) -> None:
        self._context = context
        self._cache: dict[str, dict[str, str] | None] = {}
        self.problems: dict[str, str] = {}
        self.sources: dict[str, str] = {}
        self._other: dict[str, dict[str, str] | None] = {}
        self.other_problems: dict[str, str] = {}
        """Why a role has no second identity (``other``)."""
        self.other_sources: dict[str, str] = {}

    def fresh(self, role: str) -> dict[str, str] | None:
        """Headers for ``role`` fetched anew (fuzzing may have changed or removed the user behind the old ones)."""
        self._cache.pop(role, None)
        return self.headers(role)

    def headers(self, role: str) -> dict[str, str] | None:
        """Headers that authenticate as ``role``, or None (the reason is in ``problems[role]``)."""
        if role not in self._cache:
            self._cache[role] = self._resolve(role, other=False)
        return self._cache[role]

    def _resolve(self, role: str, *, other: bool) -> dict[str, str] | None:
        """Headers of ``role`` (its second identity when ``other``) from the hook, a login, then a ready token."""
        context = self._context
        problems, sources = (self.other_problems, self.other_sources) if other else (self.problems, self.sources)
        hook_name = "pytest_backend_other_auth_headers" if other else "pytest_backend_auth_headers"
        problems.pop(role, None)  # a reason from an earlier lookup no longer holds
        try:
            headers = getattr(context.config.hook, hook_name)(role=role, backend=context.backend, config=context.config)
        except Exception as error:
            problems[role] = context.redact(
                f"the {hook_name} hook raised {type(error).__name__} for role {role!r}: {error}"
            )
            return None
        if headers:
            headers = {str(k): str(v) for k, v in dict(headers).items()}
            context.redactor.add_headers(headers)
            sources[role] = f"{hook_name} hook"
            return dict(headers)
        login = self._login(role, other=other)
        if login is not None:
            if login.headers is None:
                problems[role] = context.redact(login.problem)
            else:
                sources[role] = login.source
            return login.headers
        names = (
            (other_role_env_var(role), "BACKEND_AGENT_OTHER_TOKEN")
            if other
            else (role_env_var(role), "BACKEND_AGENT_TOKEN")
        )
        for name in names:
            token = os.environ.get(name, "").strip()
            if token:
                headers = {"Authorization": token if " " in token else f"Bearer {token}"}
                context.redactor.add_headers(headers)
                sources[role] = f"${name}"
                return headers
        if other:
            problems[role] = (
                f"no second identity of role {role!r}: implement pytest_backend_other_auth_headers(role, backend) in "
                f"conftest.py (another user of the same role), set {login_variables(role, other=True)}, or set "
                f"{other_role_env_var(role)}"
            )
        else:
            problems[role] = (
                f"no credentials for role {role!r}: implement pytest_backend_auth_headers(role, backend) in "
                f"conftest.py, set {login_variables(role)} (the gate logs in at the packet's token_endpoint), or set "
                f"{role_env_var(role)} (or BACKEND_AGENT_TOKEN)"
            )
        return None

    def _login(self, role: str, *, other: bool) -> Login | None:
        """Log in as ``role`` (its second identity when ``other``) from the environment; None when not configured."""
        from pytest_backend_agent.checks.login import log_in

        context = self._context
        return log_in(
            context.backend,
            context.packet.api.authentication,
            context.settings.login,
            login_variables(role, other=other),
            context.redactor.add,
            f"{'a second identity of ' if other else ''}role {role!r}",
        )

    def env_placeholder(self, role: str) -> str:
        """How a reproduction refers to this role's credentials without printing them."""
        source = self.sources.get(role, "")
        return source if source.startswith("$") else f"${role_env_var(role)}"

    def other(self, role: str, *, fresh: bool = False) -> dict[str, str] | None:
        """Headers of a second identity of ``role`` (another user of the same role), or None (why: ``other_problems``).

        From the ``pytest_backend_other_auth_headers`` hook first, then a login with ``BACKEND_AGENT_OTHER_USER_<ROLE>``
        and ``BACKEND_AGENT_OTHER_PASSWORD_<ROLE>``, then ``BACKEND_AGENT_OTHER_TOKEN_<ROLE>``, then
        ``BACKEND_AGENT_OTHER_TOKEN``; cached like :meth:`headers` unless ``fresh``.
        """
        if fresh or role not in self._other:
            self._other[role] = self._resolve(role, other=True)
        return self._other[role]

    def other_placeholder(self, role: str) -> str:
        """How a reproduction refers to the second identity's credentials without printing them."""
        source = self.other_sources.get(role, "")
        return source if source.startswith("$") else f"${other_role_env_var(role)}"


class GateContext:
    """Per-process state the checks share. The backend is opened on first use and closed at session end.

    ``background`` holds the session's background tool runs; an xdist worker is handed the controller's folder
    (``work_dir``) so that it reads the results of tools the controller started. ``acceptor`` judges every
    outcome's findings against the baseline (loaded once per process) and inline suppressions.
    """

    def __init__(
        self,
        config: pytest.Config,
        settings: Settings,
        loaded: LoadedPacket,
        design: OpenApiIndex | None,
        work_dir: Path | None = None,
        baseline: Baseline | None = None,
    ) -> None:
        self.config = config
        self.settings = settings
        self.loaded = loaded
        self.packet = loaded.packet
        self.design = design
        self.background = Background(work_dir)
        self.redactor = Redactor()
        from pytest_backend_agent.checks import known_check_ids  # the registry imports this module

        self.acceptor = Acceptor(settings.rootdir, baseline, settings.fail_on_severity, known_checks=known_check_ids())
        """Fingerprints findings and applies the baseline, inline suppressions and the severity threshold."""
        self.credentials = Credentials(self)
        self.endpoints = EndpointIndex(self.packet.api.endpoints)
        """Which packet endpoint a recorded request was for."""
        self._backend: Backend | None = None
        self._backend_document: Any = _UNSET
        self._former: RequestFormer | None = None
        self.cache: dict[str, Any] = {}
        """Per-process objects a family builds once (e.g. the fuzzing schema)."""
        self.shared: dict[str, Any] = {}  # results checks of one family share (a scan run once per process)
        self.deselected_tests = 0
        """How many of the project's own tests this process deselected (-k, -m, --lf)."""

    def redact(self, text: str) -> str:
        """``text`` with every secret the gate knows masked."""
        return self.redactor(text)

    @property
    def backend(self) -> Backend:
        """The backend, opened (imported, started) on first use."""
        if self._backend is None:
            from pytest_backend_agent.backend.factory import open_backend

            self._backend = open_backend(self.settings)
        return self._backend

    @property
    def started(self) -> bool:
        """Whether the backend was opened in this process."""
        return self._backend is not None

    @property
    def backend_document(self) -> OpenApiIndex | None:
        """The backend's own OpenAPI document, fetched once (None when it serves none)."""
        if self._backend_document is _UNSET:
            from pytest_backend_agent.backend.openapi import fetch_backend_document

            self._backend_document = fetch_backend_document(
                self.backend, self.packet.api.base_path, self.settings.openapi_path
            )
        document: OpenApiIndex | None = self._backend_document
        return document

    @property
    def request_document(self) -> OpenApiIndex | None:
        """The document requests are formed from: the architect's when the packet names one, else the backend's."""
        return self.design or self.backend_document

    @property
    def former(self) -> RequestFormer:
        """The shared request former."""
        if self._former is None:
            from pytest_backend_agent.checks.requests import RequestFormer

            self._former = RequestFormer(self)
        return self._former

    def close(self) -> None:
        """Stop the backend if this process opened it."""
        if self._backend is not None:
            backend, self._backend = self._backend, None
            backend.close()
