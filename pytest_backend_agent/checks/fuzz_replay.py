"""Reproductions of stateful fuzz findings that replay as pasted against a fresh server.

In a stateful scenario a later call sends values an OpenAPI link took from an earlier answer (the id of the note
just created). Pasted literally, those values name nothing on a fresh server. The reproduction is therefore a bash
snippet:

- each earlier answer a later call uses is captured: ``STEP1=$(curl -sS -X POST ...)`` (with ``-D -`` when a link
  reads one of its headers);
- each linked value is read out of it with ``python3`` following the link's runtime expression (a JSON pointer into
  the body, a header, either with its ``#regex:``), encoded for where it goes (URL-encoded in a path or query, JSON
  in a body): ``NOTE_ID=$(printf '%s' "$STEP1" | python3 -c '...')``;
- the later calls send ``"${NOTE_ID}"`` where the gate's run sent the literal.

Which value came from which answer is what Schemathesis recorded for the step, never a guess by equal values:
``StepInput.transition`` (the link followed, the case it came from, each parameter's expression) and
``StepInput.applied_parameters`` (the values the link did set). A value whose expression cannot be replayed
(``$request.*``, ``$url``, a template with text around the expression, a wildcard pointer, an answer that was not
JSON) stays the literal the gate sent, under a comment saying it came from an earlier answer. Values Hypothesis
generated stay literal: they are the same on every replay.

Only the standard library is imported here; Schemathesis' expression parser is imported when a link is read.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Linked", "ReplayStep", "linked_values", "snippet", "with_placeholders"]

Slot = tuple[str, str | None]
"""Where a step sends a value: (``path``/``query``/``header``/``cookie``/``body``, parameter or top-level body
field; None for the whole body)."""

Render = Callable[[Mapping[Slot, str]], str]
"""A step's curl command, with the given placeholder text sent in place of the values of the given slots."""

_RESERVED = frozenset(
    {"CDPATH", "ENV", "EUID", "GROUPS", "HOME", "HOSTNAME", "IFS", "LANG", "LINENO", "MAIL", "MAILPATH", "OLDPWD"}
    | {"OPTARG", "OPTIND", "PATH", "PPID", "PS1", "PS2", "PS4", "PWD", "RANDOM", "SECONDS", "SHELL", "SHLVL"}
    | {"TERM", "TMPDIR", "UID", "USER"}
)
"""Shell and environment variables a linked value must not overwrite (``PATH`` would stop ``curl`` running)."""
_RESERVED_PREFIX = re.compile(r"^(?:BASH|LC_|STEP\d|BACKEND_)")
_ENCODINGS = {"path": "url", "query": "url", "header": "text", "cookie": "text", "body": "json"}
_SHOWN = {
    "url": 'urllib.parse.quote(v if isinstance(v, str) else json.dumps(v), safe="")',
    "text": "v if isinstance(v, str) else json.dumps(v)",
    "json": "json.dumps(v)",
}
_WHAT = {"path": "path parameter", "query": "query parameter", "header": "header", "cookie": "cookie"}


@dataclass(frozen=True)
class Linked:
    """A value a step sent that an OpenAPI link took from an earlier step's answer."""

    slot: Slot
    expression: Any
    """The link's runtime expression for it (``$response.body#/id``), or a constant, or a nested body template."""
    source: int | None
    """Index, in the scenario, of the step whose answer the link read (None when that step is not known)."""


@dataclass(frozen=True)
class ReplayStep:
    """One call of a stateful scenario, as its reproduction needs it."""

    render: Render
    linked: tuple[Linked, ...] = ()
    answer: Any = None
    """The answer's body as parsed JSON (used to tell an array index from an object key in a pointer)."""
    answered_json: bool = False
    case_id: str = ""


@dataclass(frozen=True)
class _Capture:
    """How to read one value out of an earlier step's captured answer, and how to encode it for its new place."""

    source: int
    kind: str  # "body" or "header"
    locator: tuple[str | int, ...]  # the keys and indices into the body, or (header name,)
    regex: str | None
    encoding: str  # "url", "text" or "json"
    base_name: str

    @property
    def key(self) -> tuple[Any, ...]:
        return (self.source, self.kind, self.locator, self.regex, self.encoding)

    def program(self, with_headers: bool) -> str:
        """The ``python3 -c`` program that prints the value from the captured answer on its standard input."""
        imports = {"json", "sys"}
        if self.kind == "body":
            text = (
                'json.loads(sys.stdin.read().partition("\\r\\n\\r\\n")[2])' if with_headers else "json.load(sys.stdin)"
            )
            value = text + "".join(f"[{k}]" if isinstance(k, int) else f"[{json.dumps(k)}]" for k in self.locator)
        else:
            imports.add("email")
            head = 'sys.stdin.read().partition("\\r\\n\\r\\n")[0].partition("\\r\\n")[2]'
            value = f"email.message_from_string({head})[{json.dumps(self.locator[0])}]"
        if self.regex is not None:
            imports.add("re")
            value = f"re.search({json.dumps(self.regex)}, {value}).group(1)"
        if self.encoding == "url":
            imports.add("urllib.parse")
        return f"import {','.join(sorted(imports))}; v = {value}; print({_SHOWN[self.encoding]})"


@dataclass
class _Plan:
    """What the snippet captures, decided step by step (a step only reads answers of steps before it)."""

    steps: Sequence[ReplayStep]
    names: dict[tuple[Any, ...], str] = field(default_factory=dict)
    reads: dict[int, list[_Capture]] = field(default_factory=dict)
    headers: set[int] = field(default_factory=set)

    def command(self, index: int) -> tuple[str, list[str]]:
        """Step ``index``'s command with its linked values as shell variables, and notes on those left literal."""
        step = self.steps[index]
        notes: list[str] = []
        wanted: dict[Slot, _Capture] = {}
        for linked in step.linked:
            capture = self._capture(linked, index)
            if isinstance(capture, _Capture):
                wanted[linked.slot] = capture
            elif capture:
                notes.append(capture)
        while True:
            names = self._names(wanted)
            tokens = {slot: f"__backend_gate_slot{number}__" for number, slot in enumerate(wanted)}
            raw = step.render(tokens)
            searched = {slot: (f'"{token}"' if slot[0] == "body" else token) for slot, token in tokens.items()}
            expanded, missed = _expand(raw, {searched[slot]: names[slot] for slot in wanted}, body_tokens=searched)
            failed = [slot for slot in wanted if searched[slot] in missed or searched[slot] not in raw]
            if not failed:
                break
            for slot in failed:
                notes.append(_literal_note(slot, wanted.pop(slot).base_name, "it could not be put in the command"))
        for slot, capture in wanted.items():
            if capture.key not in self.names:
                self.names[capture.key] = names[slot]
                self.reads.setdefault(capture.source, []).append(capture)
                if capture.kind == "header":
                    self.headers.add(capture.source)
        return expanded, notes

    def _names(self, wanted: Mapping[Slot, _Capture]) -> dict[Slot, str]:
        """A shell variable per slot: the one already reading the same value, or a new one named after the slot."""
        taken = set(self.names.values())
        chosen: dict[tuple[Any, ...], str] = {}
        names: dict[Slot, str] = {}
        for slot, capture in wanted.items():
            known = self.names.get(capture.key) or chosen.get(capture.key)
            if known is None:
                known = _free_name(capture.base_name, taken)
                taken.add(known)
                chosen[capture.key] = known
            names[slot] = known
        return names

    def _capture(self, linked: Linked, index: int) -> _Capture | str:
        """How to read ``linked`` from its earlier answer, or the note to print when it stays literal ("" if the
        link set a constant)."""
        location, name = linked.slot
        base_name = name if name is not None else "body"
        expression = linked.expression
        if not isinstance(expression, str):
            return _literal_note(linked.slot, base_name, "a nested body template") if _mentions(expression) else ""
        parsed = _parse(expression)
        if parsed is None:
            if "$" not in expression:
                return ""  # a constant the link sets: the same on every replay
            return _literal_note(linked.slot, base_name, f"link expression {expression}", _origin(expression))
        if linked.source is None or not 0 <= linked.source < index:
            return _literal_note(linked.slot, base_name, f"{expression} of a call not in this scenario")
        kind, locator, regex = parsed
        if kind == "body":
            source = self.steps[linked.source]
            if not source.answered_json:
                return _literal_note(linked.slot, base_name, f"{expression} of an answer that was not JSON")
            path = _json_path(source.answer, str(locator[0]))
            if path is None:
                return _literal_note(linked.slot, base_name, f"{expression}, which that answer does not hold")
            locator = path
        return _Capture(linked.source, kind, locator, regex, _ENCODINGS[location], base_name)

    def program(self, capture: _Capture) -> str:
        """The line that reads ``capture`` into its variable."""
        code = capture.program(with_headers=capture.source in self.headers)
        return (
            f"{self.names[capture.key]}=$(printf '%s' \"$STEP{capture.source + 1}\" | python3 -c {shlex.quote(code)})"
        )


def snippet(steps: Sequence[ReplayStep]) -> str:
    """The reproduction of a scenario whose last step failed: one line per call, replayable as pasted with bash.

    Earlier answers a later call uses are captured into ``STEP<n>`` and the linked values read from them into
    variables the later calls send; a call nothing reads from is a plain ``curl``. With no earlier step it is just
    the failing call.
    """
    *earlier, _ = steps
    if not earlier:
        return steps[-1].render({})
    plan = _Plan(steps)
    commands = [plan.command(index) for index in range(len(steps))]
    lines: list[str] = []
    for index, (command, notes) in enumerate(commands):
        number = index + 1
        lines.extend(f"# step {number}: {note}" for note in notes)
        if index == len(steps) - 1:
            lines.append(f"{command}  # step {number}: the failing call")
        elif index in plan.reads:
            flags = "-sS -D -" if index in plan.headers else "-sS"
            captured = f"curl {flags} {command[len('curl ') :]}" if command.startswith("curl ") else command
            lines.append(f"STEP{number}=$({captured})  # step {number}: a later call reads its answer")
            lines.extend(plan.program(capture) for capture in plan.reads[index])
        else:
            lines.append(f"{command}  # step {number}")
    return "\n".join(lines)


def _literal_note(slot: Slot, name: str, why: str, origin: str = "answer") -> str:
    location = slot[0]
    what = ("body" if slot[1] is None else f"body field {name}") if location == "body" else f"{_WHAT[location]} {name}"
    return f"{what} is the value the gate's run took from an earlier {origin} ({why}); put yours in its place"


def _origin(expression: str) -> str:
    """What a link expression reads: an earlier ``request`` (``$request.*``, ``$url``, ``$method``) or ``answer``."""
    return "request" if expression.lstrip("{").startswith(("$request", "$url", "$method")) else "answer"


def _mentions(template: Any) -> bool:
    """Whether a body template holds a runtime expression anywhere."""
    if isinstance(template, str):
        return "$" in template
    if isinstance(template, dict):
        return any(_mentions(k) or _mentions(v) for k, v in template.items())
    if isinstance(template, list):
        return any(_mentions(v) for v in template)
    return False


def _parse(expression: str) -> tuple[str, tuple[str | int, ...], str | None] | None:
    """``("body", (pointer,), regex)`` or ``("header", (name,), regex)`` for a single ``$response`` expression.

    None for anything else: a constant, ``$request.*``, ``$url``, ``$method``, ``$statusCode``, text around the
    expression, a wildcard pointer (an inferred link picks one of several matches), an unparsable expression.
    """
    from schemathesis.specs.openapi.expressions import nodes, parser

    try:
        parsed = parser.parse(expression)
    except Exception:
        return None
    if len(parsed) != 1:
        return None
    [node] = parsed
    extractor = getattr(node, "extractor", None)
    regex = extractor.value.pattern if extractor is not None else None
    if isinstance(node, nodes.BodyResponse):
        pointer = (node.pointer or "#")[1:]
        if "*" in pointer.split("/"):
            return None
        return "body", (pointer,), regex
    if isinstance(node, nodes.HeaderResponse):
        return "header", (node.parameter,), regex
    return None


def _json_path(document: Any, pointer: str) -> tuple[str | int, ...] | None:
    """The keys and indices ``pointer`` walks in ``document`` (as Schemathesis resolves it), or None if it cannot."""
    if not pointer:
        return ()
    if not pointer.startswith("/"):
        return None
    path: list[str | int] = []
    target = document
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(target, dict) and token in target:
            path.append(token)
            target = target[token]
        elif isinstance(target, list) and token.isdigit() and int(token) < len(target):
            path.append(int(token))
            target = target[int(token)]
        else:
            return None
    return tuple(path)


def _free_name(base: str, taken: set[str]) -> str:
    """``base`` as a shell variable name (``note_id`` -> ``NOTE_ID``) that is not taken and not the shell's own."""
    name = re.sub(r"\W", "_", base.upper(), flags=re.ASCII).strip("_") or "VALUE"
    if name[0].isdigit() or name in _RESERVED or _RESERVED_PREFIX.match(name):
        name = f"LINKED_{name}"
    candidate, suffix = name, 2
    while candidate in taken:
        candidate, suffix = f"{name}_{suffix}", suffix + 1
    return candidate


def _expand(command: str, variables: Mapping[str, str], body_tokens: Mapping[Slot, str]) -> tuple[str, set[str]]:
    """``command`` with each placeholder token replaced by its variable, quoted for where the token stands.

    Inside single quotes (or ``$'...'``) the quotes close before ``"${NAME}"`` and reopen after it
    (``'/notes/'"${NOTE_ID}"'?lang=en'``), bare it becomes ``"${NAME}"`` and inside double quotes ``${NAME}``. A body
    token (the JSON string ``"__...__"``) only counts inside single quotes, where its double quotes are literal.
    Returns the tokens that were not replaced.
    """
    body = {token for slot, token in body_tokens.items() if slot[0] == "body"}
    out: list[str] = []
    state = "bare"
    opened = 0  # len(out) when the current quotes opened
    replaced: set[str] = set()
    index = 0
    while index < len(command):
        token = next((t for t in variables if command.startswith(t, index)), None)
        if token is not None and (token not in body or state in ("single", "ansi")):
            index += len(token)
            replaced.add(token)
            variable = f'"${{{variables[token]}}}"'
            if state == "double":
                out.append(variable[1:-1])
                continue
            if state != "bare":
                if opened == len(out):  # the quotes opened right before it: drop them instead of closing them
                    del out[-(1 if state == "single" else 2) :]
                else:
                    out.append("'")
            out.append(variable)
            if state != "bare":
                if command.startswith("'", index):  # and closed right after it: nothing to reopen
                    index += 1
                    state = "bare"
                else:
                    out.append("'" if state == "single" else "$'")
                    opened = len(out)
            continue
        char = command[index]
        out.append(char)
        index += 1
        if char == "\\" and state in ("bare", "double", "ansi") and index < len(command):
            out.append(command[index])
            index += 1
        elif state == "bare" and char == "'":
            state, opened = "single", len(out)
        elif state == "bare" and char == '"':
            state = "double"
        elif state == "bare" and char == "$" and command.startswith("'", index):
            out.append("'")
            index += 1
            state, opened = "ansi", len(out)
        elif (state in ("single", "ansi") and char == "'") or (state == "double" and char == '"'):
            state = "bare"
    return "".join(out), set(variables) - replaced


def with_placeholders(case: Any, values: Mapping[Slot, str]) -> Any:
    """A copy of the Schemathesis ``case`` sending ``values`` in the given slots (the case itself is untouched).

    A slot the case does not send, or a body field of a body that is not JSON, keeps the case's own value.
    """
    if not values:
        return case
    path = dict(case.path_parameters or {})
    query = dict(case.query or {})
    headers = type(case.headers)(case.headers or {}) if case.headers is not None else None
    cookies = dict(case.cookies or {})
    body = case.body
    json_body = "json" in (case.media_type or "")
    for (location, name), value in values.items():
        container = {"path": path, "query": query, "header": headers, "cookie": cookies}.get(location)
        if container is not None and name in container:
            container[name] = value
        elif location == "body" and json_body:
            if name is None:
                body = value
            elif isinstance(body, dict) and name in body:
                body = {**body, name: value}
    return type(case)(
        case.operation,
        case.method,
        case.path,
        id=case.id,
        path_parameters=path,
        headers=headers,
        cookies=cookies,
        query=query,
        body=body,
        media_type=case.media_type,
        multipart_content_types=case.multipart_content_types,
    )


def linked_values(step_input: Any, earlier_case_ids: Sequence[str]) -> tuple[Linked, ...]:
    """The values of a Schemathesis ``StepInput`` its link set, each with its expression and the step it read.

    ``applied_parameters`` lists what the link did set (a link's value may be skipped to explore other inputs);
    ``transition.parent_id`` is the id of the case whose answer the link read.
    """
    transition = getattr(step_input, "transition", None)
    if transition is None:
        return ()
    parent = transition.parent_id
    source = earlier_case_ids.index(parent) if parent in earlier_case_ids else None
    found: list[Linked] = []
    for location, name in getattr(step_input, "applied_parameters", ()):
        where = str(getattr(location, "value", location))
        if where == "body":
            template = transition.request_body.definition if transition.request_body is not None else None
            if name is None:
                expression = template
            else:
                expression = template.get(name) if isinstance(template, dict) else None
        else:
            extracted = transition.parameters.get(location.container_name, {}).get(name)
            expression = extracted.definition if extracted is not None else None
        if expression is not None:
            found.append(Linked((where, name), expression, source))
    return tuple(found)
