"""The library API of ``backends.py`` with an OAuth2 password-flow login and no conftest: the gate logs in itself.

``form_login_project(defect=...)`` writes ``gate_project``'s app with one more route, ``POST /api/token``, which reads
FastAPI's ``OAuth2PasswordRequestForm`` (``grant_type=password&username=...&password=...``) and answers
``{"access_token": ..., "token_type": "bearer"}`` with the role's token. The users and passwords come from
``LIBRARY_<ROLE>_USER`` / ``LIBRARY_<ROLE>_PASSWORD``; the fixture sets those, and ``BACKEND_AGENT_USER_<ROLE>`` /
``BACKEND_AGENT_PASSWORD_<ROLE>`` to the same, and ``backend_login = form``. The packet names ``/api/token`` as its
``token_endpoint``. Quality is off (there are no own tests) and so is fuzzing, as in ``gate_project``.

Defects: those of ``backends.py``'s APP, and ``echo_password``: a refused login repeats the password it was given.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.backends import GateProject, library_packet, render

__all__ = ["LOGIN_ROLES", "FormLoginProject", "form_login_packet", "form_login_project"]

LOGIN_ROLES = ("member", "librarian")

TOKEN_ROUTE = '''

from os import environ  # noqa: E402
from secrets import compare_digest  # noqa: E402

from fastapi.security import OAuth2PasswordRequestForm  # noqa: E402

ACCOUNTS = {"member": "__MEMBER__", "librarian": "__LIBRARIAN__"}


@app.post("/api/token", responses={401: {"description": "wrong username or password"}})
def issue_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> dict[str, str]:
    """The OAuth2 password flow: a bearer token for a known user and password."""
    for role, token in ACCOUNTS.items():
        user = environ.get(f"LIBRARY_{role.upper()}_USER", "")
        password = environ.get(f"LIBRARY_{role.upper()}_PASSWORD", "")
        if user and form.username == user and compare_digest(form.password.encode(), password.encode()):
            return {"access_token": token, "token_type": "bearer"}
    detail = "wrong username or password"
    if DEFECT == "echo_password":  # pragma: no cover - a defect's branch
        detail += f": {form.password!r} is not the password of {form.username}"
    raise HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})
'''

FormLoginProject = Callable[..., Path]


def form_login_packet() -> dict[str, Any]:
    """``library_packet`` with ``POST /api/token`` as its public token endpoint."""
    packet = library_packet()
    packet["api"]["authentication"] = {"scheme": "bearer-jwt", "token_endpoint": "/api/token"}
    packet["api"]["endpoints"].insert(
        1,
        {
            "method": "POST",
            "path": "/api/token",
            "description": "Exchange username and password for a bearer token (OAuth2 password flow)",
            "authentication_required": False,
            "success_status": 200,
        },
    )
    return packet


@pytest.fixture
def form_login_project(gate_project: GateProject, monkeypatch: pytest.MonkeyPatch) -> FormLoginProject:
    """Write the library API with its OAuth2 form login, the users in the environment, no conftest; return its
    folder. ``ini``: more ini keys."""
    for role in LOGIN_ROLES:
        user, password = f"{role}@library.test", secrets.token_urlsafe(16)
        monkeypatch.setenv(f"LIBRARY_{role.upper()}_USER", user)
        monkeypatch.setenv(f"LIBRARY_{role.upper()}_PASSWORD", password)
        monkeypatch.setenv(f"BACKEND_AGENT_USER_{role.upper()}", user)
        monkeypatch.setenv(f"BACKEND_AGENT_PASSWORD_{role.upper()}", password)

    def make(defect: str | None = None, *, ini: dict[str, str] | None = None) -> Path:
        module = "library_app"
        keys = {"backend_login": "form", "backend_no_quality": "true", **(ini or {})}
        root = gate_project(
            defect, ini=keys, credentials=False, packet=form_login_packet(), module=module, own_tests=False
        )
        main = root / module / "main.py"
        main.write_text(main.read_text() + render(TOKEN_ROUTE, defect, module))
        return root

    return make
