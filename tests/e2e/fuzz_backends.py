"""A fixture backend for the fuzzing phases: each defect is reached by one phase's kind of input only.

- ``boundary``: ``GET /api/shelves?limit=`` fails with a 500 when ``limit`` equals its declared ``maximum`` (100),
  the value Schemathesis' coverage phase sends;
- ``example``: ``GET /api/codes/{code}`` fails when ``code`` equals the example the schema declares (built at run
  time, so no literal in the source gives it away to Hypothesis' constant mining);
- ``stateful``: ``GET /api/notes/{note_id}`` fails for a note that exists; ids are random, so only following the
  OpenAPI link from ``POST /api/notes`` (``$response.body#/id``) reaches one.

``phase_project(defect=...)`` writes it with its packet into the pytester folder; the clean one has none of these.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.backends import render, write_ini, write_packet

PHASE_APP = """from typing import Any
from uuid import uuid4

from fastapi import FastAPI, HTTPException, Path, Query
from pydantic import BaseModel, Field

DEFECT = __DEFECT__
EXAMPLE = "-".join(["shelf", "omega", str(6 * 7)])
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"description": "error"} for status in (400, 404, 409, 422)
}
app = FastAPI(responses=ERRORS)
NOTES: dict[str, dict[str, str]] = {}


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=200)


class NoteOut(NoteIn):
    id: str


@app.get("/api/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/api/shelves")
def shelves(limit: int = Query(10, ge=1, le=100)) -> list[int]:
    if DEFECT == "boundary" and limit == 100:  # pragma: no cover - a defect's branch
        raise OverflowError("the last page is computed one past the end")
    return list(range(min(limit, 3)))


@app.get("/api/codes/{code}")
def code(
    code: str = Path(openapi_examples={"shelf": {"value": EXAMPLE}}),
) -> dict[str, str]:
    if DEFECT == "example" and code == EXAMPLE:  # pragma: no cover - a defect's branch
        raise LookupError("the shelf code table is not loaded")
    return {"code": code}


@app.post(
    "/api/notes",
    status_code=201,
    responses={
        201: {
            "links": {
                "GetNote": {
                    "operationId": "get_note",
                    "parameters": {"note_id": "$response.body#/id"},
                }
            }
        }
    },
)
def add_note(note: NoteIn) -> NoteOut:
    note_id = uuid4().hex
    NOTES[note_id] = {"id": note_id, "text": note.text}
    return NoteOut(**NOTES[note_id])


@app.get("/api/notes/{note_id}", operation_id="get_note")
def get_note(note_id: str) -> NoteOut:
    if note_id not in NOTES:
        raise HTTPException(404, "no such note")
    if DEFECT == "stateful":  # pragma: no cover - a defect's branch
        raise KeyError("the note index is out of sync")
    return NoteOut(**NOTES[note_id])
"""


def phase_packet(*extra: dict[str, Any]) -> dict[str, Any]:
    """The packet of the phase fixture, with ``extra`` endpoints appended."""
    endpoints = [
        {"method": "GET", "path": "/api/health", "authentication_required": False},
        {"method": "GET", "path": "/api/shelves", "authentication_required": False},
        {"method": "GET", "path": "/api/codes/{code}", "authentication_required": False},
        {"method": "POST", "path": "/api/notes", "authentication_required": False, "success_status": 201},
        {"method": "GET", "path": "/api/notes/{note_id}", "authentication_required": False},
        *extra,
    ]
    return {
        "packet_version": "1.0",
        "project": {"name": "shelves"},
        "api": {"base_path": "/api", "endpoints": endpoints},
    }


PhaseProject = Callable[..., Path]


@pytest.fixture
def phase_project(pytester: pytest.Pytester) -> PhaseProject:
    """Write the phase fixture backend with ``defect`` (or clean) and its packet; return its folder."""

    def make(
        defect: str | None = None, *, packet: dict[str, Any] | None = None, ini: dict[str, str] | None = None
    ) -> Path:
        root = pytester.path
        (root / "shelf_app").mkdir(exist_ok=True)
        (root / "shelf_app" / "__init__.py").write_text("")
        (root / "shelf_app" / "main.py").write_text(render(PHASE_APP, defect, "shelf_app"))
        write_packet(root, packet or phase_packet())
        keys = {
            "backend_app": "shelf_app.main:app",
            "backend_src": "shelf_app",
            "backend_fuzz_examples": "25",
            "backend_fuzz_seed": "3",
            "backend_no_quality": "true",
            **(ini or {}),
        }
        write_ini(root, keys)
        return root

    return make
