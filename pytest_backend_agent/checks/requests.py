"""Forming a request the backend should accept, for checks that need a successful call.

Request data comes from Schemathesis' positive-data strategies over the OpenAPI document (minimal example
first, then a few seeded variations). Path parameters and body fields that name another resource
(``{book_id}``, ``"book_id": ...``) are filled with a resource the gate creates first through the packet's
own create endpoint (``POST /api/v1/books``), with credentials of a role allowed to call it.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from pytest_backend_agent.packet.model import PATH_PARAMETER, Endpoint, normalize_path

if TYPE_CHECKING:
    from pytest_backend_agent.checks.context import GateContext

__all__ = ["UNCREATED", "Candidate", "Created", "Prepared", "RequestFormer", "Unformable", "curl_command"]

UNCREATED = "could not create a resource"
"""How a note of :attr:`Prepared.notes` begins when a resource the request refers to could not be created."""

DEFAULT_ROLE = "default"
MAX_DEPTH = 3


class Unformable(Exception):  # noqa: N818 - reads as "the request is unformable"
    """The gate could not form the request (no credentials, no creator for a parameter, ...)."""


@dataclass(frozen=True)
class Candidate:
    """Generated request data for one operation."""

    path_parameters: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    media_type: str | None = None


@dataclass
class Prepared:
    """A concrete request, ready to send."""

    method: str
    path: str
    query: dict[str, Any]
    headers: dict[str, str]
    body: Any
    media_type: str | None
    role: str | None
    notes: list[str] = field(default_factory=list)
    credential_var: str | None = None
    """The variable a reproduction names for the credentials (default: the role's, ``$BACKEND_AGENT_TOKEN_<ROLE>``)."""


@dataclass(frozen=True)
class Created:
    """A resource the gate created: its id, the request that created it and the answer's JSON (None if not JSON)."""

    id: Any
    request: Prepared
    body: Any


def curl_command(context: GateContext, request: Prepared) -> str:
    """A paste-able curl for ``request``: credentials replaced by the environment variable that holds them."""
    url = context.backend.base_url + request.path
    if request.query:
        url += "?" + str(httpx.QueryParams({k: v for k, v in request.query.items() if v is not None}))
    if url.startswith("http://testserver"):
        url = url.replace("http://testserver", "http://127.0.0.1:8000", 1)
    parts = ["curl", "-i", "-X", request.method, shlex.quote(url)]
    for name, value in request.headers.items():
        if name.lower() == "authorization" and request.role:
            placeholder = request.credential_var or context.credentials.env_placeholder(request.role)
            if " " in os.environ.get(placeholder.lstrip("$"), ""):
                parts += ["-H", f'"{name}: {placeholder}"']  # the variable holds the scheme as well
            else:
                scheme = value.split(" ", 1)[0] if " " in value else "Bearer"
                parts += ["-H", f'"{name}: {scheme} {placeholder}"']
        else:
            parts += ["-H", shlex.quote(f"{name}: {value}")]
    if request.body is not None and request.media_type == "application/json":
        import json

        parts += ["-H", shlex.quote("Content-Type: application/json"), "--data", shlex.quote(json.dumps(request.body))]
    elif request.body is not None:
        parts += ["--data", shlex.quote(str(httpx.QueryParams(request.body)))]
    return context.redact(" ".join(parts))


def role_for(endpoint: Endpoint) -> list[str]:
    """The roles whose credentials can call ``endpoint`` (``default`` when it needs auth but names none)."""
    if not endpoint.authentication_required:
        return []
    return list(endpoint.roles) or [DEFAULT_ROLE]


def _plural_forms(stem: str) -> set[str]:
    forms = {stem, stem + "s", stem + "es"}
    if stem.endswith("y"):
        forms.add(stem[:-1] + "ies")
    return forms


def _extract_id(response: httpx.Response, stem: str) -> Any:
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("id", f"{stem}_id", "uuid", "key"):
            if data.get(key) is not None:
                return data[key]
    location = response.headers.get("location")
    if location:
        return location.rstrip("/").rsplit("/", 1)[-1]
    return None


class RequestFormer:
    """Forms and sends requests on behalf of the checks (one per process, shared)."""

    def __init__(self, context: GateContext) -> None:
        self.context = context
        self._schema: Any = None
        self._schema_failed = False
        self._variation = 0
        self._simplest: dict[str, list[Candidate]] = {}
        """Each endpoint's first candidate, drawn once: Hypothesis' simplest example, the same whatever the seed."""
        self._unused: dict[str, list[Candidate]] = {}
        """Per creating endpoint, candidates drawn for an earlier creation and never sent."""

    # ---- generation -------------------------------------------------------------------------------------
    def _openapi_schema(self) -> Any:
        document = self.context.request_document
        if document is None or self._schema_failed:
            return None
        if self._schema is None:
            try:
                from schemathesis import openapi

                self._schema = openapi.from_dict(document.document)
            except Exception:
                self._schema_failed = True
                return None
        return self._schema

    def candidates(self, endpoint: Endpoint, limit: int = 8) -> list[Candidate]:
        """Positive request data for ``endpoint``: minimal example first; a placeholder when no schema helps.

        The minimal example is the same on every draw, so ``limit=1`` is drawn once per endpoint and remembered.
        """
        if limit == 1:
            if endpoint.key not in self._simplest:
                self._simplest[endpoint.key] = self._candidates(endpoint, 1)
            return list(self._simplest[endpoint.key])
        return self._candidates(endpoint, limit)

    def lazy_candidates(self, endpoint: Endpoint, limit: int = 8) -> Iterator[Candidate]:
        """:meth:`candidates`, drawing the other ``limit - 1`` only when the caller goes past the minimal one."""
        yield from self.candidates(endpoint, 1)
        if limit > 1:
            yield from self._candidates(endpoint, limit)[1:]

    def _for_creation(self, creator: Endpoint, tries: int = 8) -> Iterator[Candidate]:
        """Up to ``tries`` candidates to create a resource with: the minimal one, then ones an earlier creation
        drew and never sent, then (once) a fresh draw. Each is handed out once, so unique fields stay fresh."""
        yield from self.candidates(creator, 1)
        pool = self._unused.setdefault(creator.key, [])
        drew = False
        for _ in range(tries - 1):
            if not pool:
                if drew:
                    return
                pool.extend(self._candidates(creator, tries)[1:])
                drew = True
                if not pool:
                    return
            yield pool.pop(0)

    def _candidates(self, endpoint: Endpoint, limit: int) -> list[Candidate]:
        document = self.context.request_document
        found = document.find(endpoint.method, endpoint.path) if document else None
        schema = self._openapi_schema()
        if found is None or schema is None:
            return [self._placeholder(endpoint)]
        try:
            operation = schema[found[0]][found[1]]
            cases = self._draw(operation, limit)
        except Exception:
            return [self._placeholder(endpoint)]
        return cases or [self._placeholder(endpoint)]

    def _draw(self, operation: Any, limit: int) -> list[Candidate]:
        from hypothesis import HealthCheck, Phase, given, seed, settings
        from schemathesis import GenerationMode
        from schemathesis.core import NOT_SET

        strategy = operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
        drawn: list[Candidate] = []
        self._variation += 1

        @seed(self._variation)
        @settings(
            max_examples=limit,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
            derandomize=False,
        )
        @given(strategy)
        def collect(case: Any) -> None:
            if len(drawn) < limit:
                headers = {k: str(v) for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
                drawn.append(
                    Candidate(
                        dict(case.path_parameters or {}),
                        dict(case.query or {}),
                        headers,
                        None if case.body is NOT_SET else case.body,
                        case.media_type,
                    )
                )

        collect()
        return drawn

    @staticmethod
    def _placeholder(endpoint: Endpoint) -> Candidate:
        return Candidate(path_parameters={name: 1 for name in PATH_PARAMETER.findall(endpoint.path)})

    # ---- preparation ------------------------------------------------------------------------------------
    def auth_headers(self, role: str | None) -> dict[str, str]:
        """Headers for ``role`` (empty for None); raises :class:`Unformable` when there are none."""
        if role is None:
            return {}
        headers = self.context.credentials.headers(role)
        if headers is None:
            raise Unformable(self.context.credentials.problems.get(role, f"no credentials for role {role!r}"))
        return headers

    def prepare(
        self,
        endpoint: Endpoint,
        candidate: Candidate,
        role: str | None,
        *,
        create_prerequisites: bool = True,
        depth: int = 0,
        headers: dict[str, str] | None = None,
        path: str | None = None,
    ) -> Prepared:
        """Turn generated data into a concrete request, creating referenced resources first.

        ``headers`` authenticate instead of ``role``'s own (another identity of the role); ``path`` is a concrete
        path sent as it is (its parameters are neither generated nor created).
        """
        notes: list[str] = []
        concrete = path
        path = endpoint.path if concrete is None else concrete
        for name in PATH_PARAMETER.findall(endpoint.path) if concrete is None else []:
            value: Any = candidate.path_parameters.get(name, 1)
            if create_prerequisites:
                collection = path.split("{" + name + "}", 1)[0].rstrip("/")
                created = self._create_in(collection, depth, notes)
                if created is not None:
                    value = created
            path = path.replace("{" + name + "}", str(value), 1)
        body = candidate.body
        if create_prerequisites and isinstance(body, dict):
            body = dict(body)
            for key in list(body):
                match = re.fullmatch(r"(.+?)_?[iI]d", key)
                if match and key not in ("id", "uuid"):
                    created = self._create_for_stem(match.group(1).lower(), depth, notes)
                    if created is not None:
                        body[key] = created
        sent = dict(candidate.headers)
        sent.update(self.auth_headers(role) if headers is None else headers)
        return Prepared(endpoint.method, path, dict(candidate.query), sent, body, candidate.media_type, role, notes)

    def creator(self, collection: str) -> Endpoint | None:
        """The packet's ``POST`` endpoint on ``collection`` (parameter names ignored), or None."""
        return self._creator(collection)

    def _creator(self, collection: str) -> Endpoint | None:
        template = normalize_path(collection)
        for endpoint in self.context.packet.api.endpoints:
            if endpoint.method == "POST" and endpoint.template == template:
                return endpoint
        return None

    def _create_for_stem(self, stem: str, depth: int, notes: list[str]) -> Any:
        forms = _plural_forms(stem)
        for endpoint in self.context.packet.api.endpoints:
            last = endpoint.path.rstrip("/").rsplit("/", 1)[-1].lower()
            if endpoint.method == "POST" and "{" not in endpoint.path and last in forms:
                return self._create_in(endpoint.path, depth, notes)
        return None

    def create(self, collection: str, notes: list[str] | None = None) -> Any:
        """Create one resource in ``collection`` through the packet's ``POST collection``; its id, or None."""
        return self._create_in(collection, 0, notes if notes is not None else [])

    def create_as(self, collection: str, role: str | None, headers: dict[str, str]) -> Created:
        """Create one resource in ``collection`` as exactly the identity ``headers`` (of ``role``).

        Unlike :meth:`create`, no other role is tried: the resource must belong to that caller. Prerequisites the
        request names (``{book_id}``, ``"book_id"``) are created as usual, with the roles' own credentials.
        Raises :class:`Unformable` saying why when nothing was created.
        """
        creator = self._creator(collection)
        if creator is None:
            raise Unformable(f"the packet has no POST {collection} to create one with")
        stem = collection.rstrip("/").rsplit("/", 1)[-1].rstrip("s")
        last = "no request could be formed"
        for candidate in self._for_creation(creator):
            prepared = self.prepare(creator, candidate, role, headers=headers)
            response = self.send(prepared)
            last = f"{creator.key} answered {response.status_code}"
            if 200 <= response.status_code < 300:
                created = _extract_id(response, stem)
                if created is not None:
                    try:
                        body = response.json()
                    except ValueError:
                        body = None
                    return Created(created, prepared, body)
                last += " without an id (in the JSON body or a Location header)"
            if response.status_code in (401, 403, 429):
                break
        raise Unformable(f"nothing was created: {last}")

    def _create_in(self, collection: str, depth: int, notes: list[str]) -> Any:
        creator = self._creator(collection)
        if creator is None or depth >= MAX_DEPTH:
            return None
        roles: list[str | None] = [*role_for(creator)] or [None]
        stem = collection.rstrip("/").rsplit("/", 1)[-1].rstrip("s")
        why: list[str] = []
        for role in roles:
            if role is not None and self.context.credentials.headers(role) is None:
                problem = self.context.credentials.problems.get(role, "")
                why.append(f"no credentials for role {role!r}" + (f" ({problem})" if problem else ""))
                continue
            statuses: list[int] = []
            for candidate in self._for_creation(creator):
                try:
                    prepared = self.prepare(creator, candidate, role, depth=depth + 1)
                except Unformable as error:
                    why.append(f"as {role or 'anonymous'}: {error}")
                    break
                response = self.send(prepared)
                statuses.append(response.status_code)
                if 200 <= response.status_code < 300:
                    created = _extract_id(response, stem)
                    if created is not None:
                        notes.extend(prepared.notes)
                        notes.append(f"created {creator.key} -> {created} (as {role or 'anonymous'})")
                        return created
            if statuses:
                answers = ", ".join(str(status) for status in dict.fromkeys(statuses))
                why.append(f"as {role or 'anonymous'} it answered {answers} ({len(statuses)} tries)")
        notes.append(f"{UNCREATED} through {creator.key} to refer to: " + ("; ".join(why) or "no role to try"))
        return None

    # ---- sending ----------------------------------------------------------------------------------------
    def send(self, request: Prepared, *, headers: dict[str, str] | None = None) -> httpx.Response:
        """Send ``request`` (optionally with other headers instead of its own)."""
        json_body = data = None
        if request.body is not None:
            if request.media_type in (None, "application/json") or (request.media_type or "").endswith("+json"):
                json_body = request.body
            elif isinstance(request.body, dict):
                data = request.body
        return self.context.backend.request(
            request.method,
            request.path,
            headers=request.headers if headers is None else headers,
            params=request.query,
            json=json_body,
            data=data,
        )

    def formed(self, endpoint: Endpoint, role: str | None, limit: int = 8) -> Iterator[Prepared]:
        """Prepared requests for ``endpoint`` as ``role``, one per candidate (prerequisites created lazily)."""
        for candidate in self.lazy_candidates(endpoint, limit):
            yield self.prepare(endpoint, candidate, role)
