"""Fixture backend for ``security.object_access``: notes owned by their creator, topics shared by design.

``notes_project(defect=...)`` writes a small FastAPI app (in-memory), its packet and a conftest that signs real
JWTs: identity A of a role has ``sub`` ``<role>-a``, identity B (``pytest_backend_other_auth_headers``) ``<role>-b``.
The packet marks the note endpoints ``owner_scoped``; the topic endpoints are shared (every caller reads every
topic) and unmarked. Defects (one at a time):

- ``get_any``: ``GET /api/notes/{note_id}`` returns anyone's note;
- ``list_all``: ``GET /api/notes`` lists everyone's notes;
- ``put_any``: ``PUT /api/notes/{note_id}`` changes anyone's note;
- ``delete_any``: ``DELETE /api/notes/{note_id}`` deletes anyone's note;
- ``fake_delete`` (not a defect): ``DELETE`` answers 204 to a note the caller does not own, and deletes nothing.

``NOTES_NO_OTHER=1`` makes the conftest return no second identity, ``NOTES_SAME_OTHER=1`` the first one again.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.backends import write_ini, write_packet

DEFECTS = ("get_any", "list_all", "put_any", "delete_any", "fake_delete")

APP = """
import itertools
import os

import jwt
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Response
from pydantic import BaseModel, Field

DEFECT = {defect!r}
SECRET = os.environ["NOTES_APP_JWT_SECRET"]

app = FastAPI()
NOTES: dict[int, dict] = {{}}
NEXT_ID = itertools.count(1)
TOPICS: dict[int, dict] = {{}}


def caller(authorization: str | None = Header(default=None)) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "missing token", headers={{"WWW-Authenticate": "Bearer"}})
    try:
        claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    except jwt.InvalidTokenError:
        raise HTTPException(401, "invalid token", headers={{"WWW-Authenticate": "Bearer"}}) from None
    if claims.get("role") not in ("member", "editor"):
        raise HTTPException(403, "role not allowed")
    return str(claims["sub"])


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=200)


class NoteOut(NoteIn):
    id: int


class NotePage(BaseModel):
    items: list[NoteOut]
    total: int
    limit: int
    offset: int


class TopicIn(BaseModel):
    name: str = Field(min_length=1, max_length=80)


class TopicOut(TopicIn):
    id: int


def _note(note_id: int, user: str, defect: str) -> dict:
    note = NOTES.get(note_id)
    if note is None or (note["owner"] != user and DEFECT != defect):
        raise HTTPException(404, "no such note")
    return note


@app.post("/api/notes", status_code=201)
def create_note(body: NoteIn, user: str = Depends(caller)) -> NoteOut:
    note_id = next(NEXT_ID)
    NOTES[note_id] = {{"id": note_id, "text": body.text, "owner": user}}
    return NoteOut(id=note_id, text=body.text)


@app.get("/api/notes")
def list_notes(
    user: str = Depends(caller), limit: int = Query(20, ge=1, le=50), offset: int = Query(0, ge=0)
) -> NotePage:
    rows = [n for n in NOTES.values() if DEFECT == "list_all" or n["owner"] == user]
    rows.sort(key=lambda n: n["id"])
    page = [NoteOut(id=n["id"], text=n["text"]) for n in rows[offset : offset + limit]]
    return NotePage(items=page, total=len(rows), limit=limit, offset=offset)


@app.get("/api/notes/{{note_id}}")
def get_note(note_id: int, user: str = Depends(caller)) -> NoteOut:
    note = _note(note_id, user, "get_any")
    return NoteOut(id=note["id"], text=note["text"])


@app.put("/api/notes/{{note_id}}")
def put_note(note_id: int, body: NoteIn, user: str = Depends(caller)) -> NoteOut:
    note = _note(note_id, user, "put_any")
    note["text"] = body.text
    return NoteOut(id=note["id"], text=note["text"])


@app.delete("/api/notes/{{note_id}}", status_code=204)
def delete_note(note_id: int, user: str = Depends(caller)) -> Response:
    note = NOTES.get(note_id)
    if DEFECT == "fake_delete" and note is not None and note["owner"] != user:
        return Response(status_code=204)  # idempotent answer to someone else's note: nothing is deleted
    note = _note(note_id, user, "delete_any")
    del NOTES[note["id"]]
    return Response(status_code=204)


@app.post("/api/topics", status_code=201)
def create_topic(body: TopicIn, user: str = Depends(caller)) -> TopicOut:
    topic_id = len(TOPICS) + 1
    TOPICS[topic_id] = {{"id": topic_id, "name": body.name}}
    return TopicOut(**TOPICS[topic_id])


@app.get("/api/topics")
def list_topics(user: str = Depends(caller)) -> list[TopicOut]:
    return [TopicOut(**t) for t in TOPICS.values()]  # shared by design: every caller reads every topic


@app.get("/api/topics/{{topic_id}}")
def get_topic(topic_id: int, user: str = Depends(caller)) -> TopicOut:
    if topic_id not in TOPICS:
        raise HTTPException(404, "no such topic")
    return TopicOut(**TOPICS[topic_id])
"""

CONFTEST = """
import os
import secrets
import time

os.environ.setdefault("NOTES_APP_JWT_SECRET", secrets.token_urlsafe(32))

import jwt
import pytest


def _token(role, who):
    now = int(time.time())
    claims = {"sub": f"{role}-{who}", "role": role, "iat": now - 60, "exp": now + 3600}
    return {"Authorization": "Bearer " + jwt.encode(claims, os.environ["NOTES_APP_JWT_SECRET"], algorithm="HS256")}


@pytest.hookimpl(optionalhook=True)
def pytest_backend_auth_headers(role):
    return _token(role, "a") if role in ("member", "editor") else None


@pytest.hookimpl(optionalhook=True)
def pytest_backend_other_auth_headers(role):
    if os.environ.get("NOTES_NO_OTHER") or role not in ("member", "editor"):
        return None
    return _token(role, "a" if os.environ.get("NOTES_SAME_OTHER") else "b")
"""

OWNED = ["GET /api/notes", "GET /api/notes/{note_id}", "PUT /api/notes/{note_id}", "DELETE /api/notes/{note_id}"]
"""The packet's owner_scoped endpoints, in packet order."""


def notes_packet() -> dict[str, Any]:
    """The packet of the notes app: note endpoints owner_scoped, topic endpoints shared."""
    roles = ["member", "editor"]

    def endpoint(key: str, **extra: Any) -> dict[str, Any]:
        method, path = key.split(" ", 1)
        return {"method": method, "path": path, "authentication_required": True, "roles": roles, **extra}

    return {
        "packet_version": "1.0",
        "project": {"name": "notes", "description": "object-level authorization fixture backend"},
        "tech_stack": {"language": "python", "framework": "fastapi"},
        "api": {
            "base_path": "/api",
            "authentication": {"scheme": "bearer-jwt"},
            "roles": roles,
            "endpoints": [
                endpoint("POST /api/notes", success_status=201),
                endpoint("GET /api/notes", paginated=True, owner_scoped=True),
                endpoint("GET /api/notes/{note_id}", owner_scoped=True),
                endpoint("PUT /api/notes/{note_id}", owner_scoped=True),
                endpoint("DELETE /api/notes/{note_id}", success_status=204, owner_scoped=True),
                endpoint("POST /api/topics", success_status=201),
                endpoint("GET /api/topics"),
                endpoint("GET /api/topics/{topic_id}"),
            ],
        },
        "non_functional": {"max_page_size": 50},
    }


NotesProject = Callable[..., Path]


@pytest.fixture
def notes_project(pytester: pytest.Pytester) -> NotesProject:
    """Write the notes fixture backend (``defect`` = None or one of :data:`DEFECTS`) and return its folder."""

    def make(defect: str | None = None) -> Path:
        assert defect is None or defect in DEFECTS, defect
        root = pytester.path
        package = root / "notes_app"
        package.mkdir(exist_ok=True)
        (package / "__init__.py").write_text("")
        (package / "main.py").write_text(textwrap.dedent(APP).format(defect=defect or ""))
        (root / "conftest.py").write_text(textwrap.dedent(CONFTEST))
        write_packet(root, notes_packet())
        keys = {
            "backend_app": "notes_app.main:app",
            "backend_src": "notes_app",
            "backend_no_fuzz": "true",
            "backend_no_quality": "true",
        }
        write_ini(root, keys, pythonpath=False)
        return root

    return make
