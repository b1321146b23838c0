"""The stateful reproduction builder on real Schemathesis links, cases and answers, replayed with bash.

No server: the snippet runs under a ``curl`` shell function that answers the capturing call with a canned answer
(the ids a fresh server would hand out) and prints the arguments of the others, so what the failing call would send
is read back exactly as bash expanded it.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from typing import Any

import pytest

from pytest_backend_agent.checks.fuzz_replay import (
    Linked,
    ReplayStep,
    _free_name,
    linked_values,
    snippet,
    with_placeholders,
)

BASE = "http://127.0.0.1:8000"
NOTE = {"type": "object", "properties": {"text": {"type": "string"}}}
DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "t", "version": "1"},
    "paths": {
        "/notes": {
            "post": {
                "operationId": "add_note",
                "parameters": [{"name": "lang", "in": "query", "schema": {"type": "string"}}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": NOTE}}},
                "responses": {"201": {"description": "created"}},
            }
        },
        "/notes/{note_id}": {
            "get": {
                "operationId": "get_note",
                "parameters": [
                    {"name": "note_id", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "lang", "in": "query", "schema": {"type": "string"}},
                    {"name": "X-Revision", "in": "header", "schema": {"type": "string"}},
                ],
                "responses": {"200": {"description": "ok"}},
            }
        },
        "/links": {
            "post": {
                "operationId": "add_link",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"parent": {"type": "integer"}, "label": {"type": "string"}},
                            }
                        }
                    },
                },
                "responses": {"201": {"description": "created"}},
            }
        },
    },
}
GET_NOTE = {
    "operationId": "get_note",
    "parameters": {
        "note_id": "$response.body#/id",  # a pointer into the answer's body
        "X-Revision": "$response.header.ETag#regex:rev-(\\d+)",  # a header, through the link's regex
        "lang": "$request.query.lang",  # the earlier request's own value: not read from an answer
    },
}
ADD_LINK = {"operationId": "add_link", "requestBody": {"parent": "$response.body#/items/1/id"}}

requires_bash = pytest.mark.skipif(
    shutil.which("bash") is None or shutil.which("python3") is None, reason="bash or python3 is not installed"
)


def _schema() -> Any:
    from schemathesis import openapi

    return openapi.from_dict(DOCUMENT)


def _answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Any:
    import httpx
    from schemathesis.core.transport import Response

    request = httpx.Request("POST", f"{BASE}/notes")
    answered = httpx.Response(status, json=body, headers=headers or {}, request=request)
    answered.elapsed = timedelta(milliseconds=5)  # what a transport sets once the answer is read
    return Response.from_any(answered)


def _step(case: Any, linked: tuple[Linked, ...] = (), answer: Any = None) -> ReplayStep:
    def render(values: Any) -> str:
        return str(with_placeholders(case, values).as_curl_command(base_url=BASE))

    return ReplayStep(render, linked, answer, answer is not None, case.id)


def _followed(source: Any, answer: Any, body: Any, definition: dict[str, Any], target: Any, applied: list[Any]) -> Any:
    """The ``StepInput`` Schemathesis' state machine makes when it follows ``definition`` from ``source``'s answer."""
    from schemathesis.generation.stateful.state_machine import StepInput, StepOutput
    from schemathesis.specs.openapi.stateful.links import OpenApiLink

    link = OpenApiLink("Next", "201", definition, source.operation)
    transition = link.extract(StepOutput(_answer(201, body, answer), source))
    return StepInput(case=target, transition=transition, applied_parameters=applied)


def _run(script: str, canned: str) -> list[str]:
    """Run ``script`` with bash, the capturing ``curl`` answering ``canned``; the arguments of the last call."""
    stub = (
        "curl() {\n"
        '  case " $* " in\n'
        f"    *' -sS '*) printf '%b' {canned} ;;\n"
        "    *) printf '%s\\n' \"$@\" ;;\n"
        "  esac\n"
        "}\n"
    )
    done = subprocess.run(  # noqa: S603 - bash runs the snippet under test, nothing else
        ["bash", "-c", stub + script],  # noqa: S607 - bash from PATH, as a user pastes into it
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout.splitlines()


@requires_bash
def test_values_from_a_body_pointer_and_a_header_are_read_from_the_captured_answer() -> None:
    from schemathesis.core.parameters import ParameterLocation

    schema = _schema()
    post = schema["/notes"]["POST"].Case(body={"text": "hi"}, query={"lang": "en"}, media_type="application/json")
    get = schema["/notes/{note_id}"]["GET"].Case(
        path_parameters={"note_id": "n-17"}, query={"lang": "en"}, headers={"X-Revision": "3"}
    )
    applied = [(ParameterLocation.PATH, "note_id"), (ParameterLocation.HEADER, "X-Revision")]
    applied.append((ParameterLocation.QUERY, "lang"))
    step_input = _followed(post, {"ETag": "rev-3"}, {"id": "n-17"}, GET_NOTE, get, applied)
    linked = linked_values(step_input, [post.id])
    assert {value.slot: (value.expression, value.source) for value in linked} == {
        ("path", "note_id"): ("$response.body#/id", 0),
        ("header", "X-Revision"): ("$response.header.ETag#regex:rev-(\\d+)", 0),
        ("query", "lang"): ("$request.query.lang", 0),
    }

    text = snippet([_step(post, answer={"id": "n-17"}), _step(get, linked)])
    lines = text.splitlines()
    # the answer is captured with its headers, since a link reads one of them
    assert lines[0].startswith("STEP1=$(curl -sS -D - -X POST ")
    assert lines[0].endswith(")  # step 1: a later call reads its answer")
    assert lines[1].startswith("NOTE_ID=$(printf '%s' \"$STEP1\" | python3 -c ")
    assert lines[2].startswith("X_REVISION=$(printf '%s' \"$STEP1\" | python3 -c ")
    assert lines[3] == (
        "# step 2: query parameter lang is the value the gate's run took from an earlier request "
        "(link expression $request.query.lang); put yours in its place"
    )
    assert lines[4].endswith("  # step 2: the failing call")
    assert "n-17" not in lines[4]
    assert " -H 'X-Revision: '\"${X_REVISION}\" " in lines[4]
    assert "lang=en" in lines[4]  # left literal, as the comment says

    # a fresh server hands out another id, one that needs encoding in a path
    canned = (
        '\'HTTP/1.1 201 Created\\r\\nETag: rev-99\\r\\nContent-Type: application/json\\r\\n\\r\\n{"id": "n 42/x"}\''
    )
    sent = _run(text, canned)
    assert sent[sent.index("-X") + 1] == "GET"
    assert "X-Revision: 99" in sent
    assert f"{BASE}/notes/n%2042%2Fx?lang=en" in sent


@requires_bash
def test_a_body_field_from_an_array_element_is_sent_as_json() -> None:
    from schemathesis.core.parameters import ParameterLocation

    schema = _schema()
    post = schema["/notes"]["POST"].Case(body={"text": "hi"}, media_type="application/json")
    answer = {"items": [{"id": 1}, {"id": 2}]}
    link = schema["/links"]["POST"].Case(body={"parent": 2, "label": "x"}, media_type="application/json")
    step_input = _followed(post, None, answer, ADD_LINK, link, [(ParameterLocation.BODY, "parent")])
    text = snippet([_step(post, answer=answer), _step(post), _step(link, linked_values(step_input, [post.id]))])
    lines = text.splitlines()
    assert lines[0].startswith("STEP1=$(curl -sS -X POST ")  # the body alone: no link reads a header
    assert "print(json.dumps(v))" in lines[1]
    assert '["items"][1]["id"]' in lines[1]
    assert lines[2].startswith("curl -X POST ")
    assert lines[2].endswith("  # step 2")
    assert '\'{"parent": \'"${PARENT}"\', "label": "x"}\'' in lines[3]

    sent = _run(text, '\'{"items": [{"id": 7}, {"id": 8}]}\'')
    assert '{"parent": 8, "label": "x"}' in sent


def test_a_first_call_is_its_curl_command_alone_and_an_unknown_source_stays_literal() -> None:
    schema = _schema()
    get = schema["/notes/{note_id}"]["GET"].Case(path_parameters={"note_id": "n-17"})
    assert snippet([_step(get)]) == f"curl -X GET {BASE}/notes/n-17"
    orphan = Linked(("path", "note_id"), "$response.body#/id", None)
    text = snippet([_step(get), _step(get, (orphan,))])
    assert "path parameter note_id is the value the gate's run took from an earlier answer" in text
    assert text.splitlines()[-1] == f"curl -X GET {BASE}/notes/n-17  # step 2: the failing call"


def test_placeholders_leave_the_case_alone() -> None:
    case = _schema()["/notes/{note_id}"]["GET"].Case(path_parameters={"note_id": "n-17"}, query={"lang": "en"})
    copy = with_placeholders(case, {("path", "note_id"): "__x__", ("query", "missing"): "__y__"})
    assert copy.formatted_path == "/notes/__x__"
    assert copy.query == {"lang": "en"}
    assert case.path_parameters == {"note_id": "n-17"}


@pytest.mark.parametrize(
    ("base", "taken", "name"),
    [
        ("note_id", set(), "NOTE_ID"),
        ("path", set(), "LINKED_PATH"),
        ("id", {"ID"}, "ID_2"),
        ("1st", set(), "LINKED_1ST"),
    ],
)
def test_variable_names_never_overwrite_the_shells_own(base: str, taken: set[str], name: str) -> None:
    assert _free_name(base, taken) == name


@requires_bash
@pytest.mark.parametrize(
    ("command", "argument"),
    [
        ("printf '%s\\n' 'a/__T__?b'", "a/x y?b"),
        ("printf '%s\\n' '__T__'", "x y"),
        ("printf '%s\\n' __T__", "x y"),
        ("printf '%s\\n' \"a __T__\"", "a x y"),
        ("printf '%s\\n' $'a\\t__T__b'", "a\tx yb"),
    ],
)
def test_a_placeholder_becomes_its_variable_whatever_the_quotes_around_it(command: str, argument: str) -> None:
    from pytest_backend_agent.checks.fuzz_replay import _expand

    expanded, missed = _expand(command, {"__T__": "V"}, {})
    assert missed == set()
    done = subprocess.run(  # noqa: S603 - bash expands the command under test, nothing else
        ["bash", "-c", f"V='x y'; {expanded}"],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert done.stdout == argument + "\n"
