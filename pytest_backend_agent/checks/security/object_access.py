"""``security.object_access``: one caller must not reach what another caller of the same role created.

Broken object-level authorization (OWASP API1:2023). Only endpoints the packet marks ``owner_scoped`` are probed,
so a resource shared by design (a catalogue every member reads) is never flagged. Per allowed role, identity A
(``pytest_backend_auth_headers``) creates a resource through the packet's ``POST`` on the collection and is seen
to reach it; identity B (``pytest_backend_other_auth_headers``, another user of the same role) then:

- on a single-resource operation (``GET``/``PUT``/``PATCH``/``DELETE /things/{id}``) calls it on A's resource:
  a 2xx is a finding, 403/404 passes, anything else is not verified;
- on a collection ``GET`` lists it: A's id in B's list is a finding.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

import httpx

from pytest_backend_agent.checks.context import GateContext
from pytest_backend_agent.checks.requests import Created, Prepared, Unformable, curl_command, role_for
from pytest_backend_agent.checks.security.common import excerpt, finding, outcome
from pytest_backend_agent.checks.security.owned_lists import holds, paging_of, scan
from pytest_backend_agent.checks.security.tokens import bearer_token, claims_of
from pytest_backend_agent.findings import CheckOutcome, CheckStatus, Finding, Location
from pytest_backend_agent.packet.model import PATH_PARAMETER, Endpoint

__all__ = [
    "CHECK",
    "applies",
    "check_object_access",
    "cannot_own",
    "classify",
    "collection_of",
    "id_key",
    "is_collection",
    "is_single",
    "same_identity",
]

CHECK = "security.object_access"
REFUSED = (403, 404)
GONE = (404, 410)
_VERBS = {"GET": "read", "PUT": "changed", "PATCH": "changed", "DELETE": "deleted"}
_HOOK = "pytest_backend_other_auth_headers"
_FIX = (
    "Look the resource up by its id AND its owner (e.g. WHERE id = :id AND owner_id = :caller) and answer 404 (or "
    "403) to every other caller; if the resource is shared by design, the packet should not mark {target} "
    "owner_scoped."
)
_LIST_FIX = (
    "Filter the list by the caller (e.g. WHERE owner_id = :caller) before paging; if the rows are shared by design, "
    "the packet should not mark {target} owner_scoped."
)


def is_single(endpoint: Endpoint) -> bool:
    """An operation on one resource: GET, PUT, PATCH or DELETE on a path with a parameter."""
    return endpoint.method in _VERBS and bool(PATH_PARAMETER.search(endpoint.path))


def is_collection(endpoint: Endpoint) -> bool:
    """A GET on a collection: a path without parameters."""
    return endpoint.method == "GET" and not PATH_PARAMETER.search(endpoint.path)


def applies(endpoint: Endpoint) -> bool:
    """Whether ``endpoint`` gets an ``object_access`` item: marked ``owner_scoped``, on one resource or a list."""
    return endpoint.owner_scoped and (is_single(endpoint) or is_collection(endpoint))


def classify(status: int) -> str:
    """What identity B's answer on A's resource means: ``reached`` (2xx), ``refused`` (403/404), ``unauthenticated``
    (401: B's credentials were not accepted at all), ``throttled`` (429) or ``unclear``."""
    if 200 <= status < 300:
        return "reached"
    if status in REFUSED:
        return "refused"
    if status == 401:
        return "unauthenticated"
    if status == 429:
        return "throttled"
    return "unclear"


def same_identity(first: dict[str, str], second: dict[str, str]) -> str | None:
    """Why two sets of credentials are one caller (same headers, or bearer JWTs with the same ``sub``), or None."""
    if first == second:
        return "the second identity's headers are the first identity's"
    subject_a = claims_of(bearer_token(first)).get("sub")
    subject_b = claims_of(bearer_token(second)).get("sub")
    if subject_a is not None and subject_a == subject_b:
        return f"both identities' tokens name the same subject (sub {subject_a!r})"
    return None


def id_key(created: Created, stem: str) -> str:
    """The field of a listed row that carries the created id (the one the creation answer carried it in)."""
    if isinstance(created.body, dict):
        for key in ("id", f"{stem}_id", "uuid", "key"):
            value = created.body.get(key)
            if value is not None and str(value) == str(created.id):
                return key
    return "id"


@dataclass
class _Verdict:
    """One role's result."""

    status: CheckStatus
    summary: str
    evidence: list[str]
    finding: Finding | None = None


def _nv(summary: str, evidence: list[str]) -> _Verdict:
    return _Verdict(CheckStatus.NOT_VERIFIED, summary, evidence)


class _Probe:
    """The two identities of one role against one endpoint."""

    def __init__(self, context: GateContext, endpoint: Endpoint, role: str, a: dict[str, str], b: dict[str, str]):
        self.context = context
        self.endpoint = endpoint
        self.role = role
        self.a = a
        self.b = b
        self.evidence: list[str] = []
        self.last = httpx.Response(0)
        """The answer to the request sent last."""

    def _send(self, request: Prepared, who: str) -> int:
        response = self.context.former.send(request)
        self.evidence.append(f"{who}: {request.method} {request.path} -> {response.status_code}")
        self.last = response
        return response.status_code

    def _create(self, collection: str) -> Created | _Verdict:
        try:
            created = self.context.former.create_as(collection, self.role, self.a)
        except Unformable as error:
            return _nv(f"identity A could not create a resource through POST {collection}: {error}", self.evidence)
        self.evidence.append(f"A: POST {created.request.path} created {created.id}")
        return created

    def _finding(
        self, title: str, evidence: str, fix: str, created: Created, request: Prepared, expect: str
    ) -> Finding:
        """An error at the endpoint; its reproduction is A's creation then B's request (credentials as variables)."""
        reproduction = (
            f"# identity A creates a resource (in the gate's run it got the id {created.id})\n"
            f"{curl_command(self.context, created.request)}\n"
            f"# identity B, another {self.role}: {expect}\n"
            f"{curl_command(self.context, request)}"
        )
        return finding(
            CHECK,
            title,
            Location(endpoint=self.endpoint.key),
            evidence=evidence,
            fix=fix.format(target=self.endpoint.key),
            reproduction=reproduction,
        )

    # ---- one resource --------------------------------------------------------------------------------------
    def single(self) -> _Verdict:
        """A creates; A reads it back (when the packet has a GET on it); B calls the operation on it."""
        endpoint, former = self.endpoint, self.context.former
        name = PATH_PARAMETER.findall(endpoint.path)[-1]
        after = endpoint.path.rpartition("{" + name + "}")[2]
        created = self._create(collection_of(endpoint))
        if isinstance(created, _Verdict):
            return created
        path = created.request.path.rstrip("/") + "/" + quote(str(created.id), safe="") + after
        reader = self._reader()
        if reader is not None:
            read = Prepared("GET", path, {}, dict(self.a), None, None, self.role)
            status = self._send(read, "A")
            if not 200 <= status < 300:
                return _nv(f"identity A could not read back what it created: GET {path} -> {status}", self.evidence)
        candidate = former.candidates(endpoint, 1)[0]
        try:
            request = former.prepare(endpoint, candidate, self.role, headers=self.b, path=path)
        except Unformable as error:
            return _nv(str(error), self.evidence)
        request.credential_var = self.context.credentials.other_placeholder(self.role)
        status = self._send(request, "B")
        kind = classify(status)
        as_a = replace(request, headers={**request.headers, **self.a}, credential_var=None)
        if kind == "refused":
            return self._refused(as_a, status)
        if kind == "reached":
            return self._reached(created, request, as_a, reader is not None, status)
        if kind == "unauthenticated":
            return _nv(
                f"identity B was refused as unauthenticated (401): check what {_HOOK} returns for {self.role!r}",
                self.evidence,
            )
        if kind == "throttled":
            return _nv("identity B's request was throttled (429)", self.evidence)
        return _nv(
            f"identity B got {status}, neither a refusal (403/404) nor a success: {excerpt(self.last)}", self.evidence
        )

    def _reader(self) -> Endpoint | None:
        """The packet's GET on the same resource, when the role may call it (to see A reach what it created)."""
        for endpoint in self.context.packet.api.endpoints:
            if endpoint.method == "GET" and endpoint.template == self.endpoint.template:
                allowed = not endpoint.authentication_required or self.role in role_for(endpoint)
                return endpoint if allowed else None
        return None

    def _refused(self, as_a: Prepared, status: int) -> _Verdict:
        """B was refused. A GET was read back by A first; any other operation must now succeed as A (the same
        request), or B's refusal says nothing about ownership."""
        method = self.endpoint.method
        if method != "GET":
            own = self._send(as_a, "A")
            if not 200 <= own < 300:
                return _nv(
                    f"identity A itself got {own} for the same {method}, so B's {status} does not show that the "
                    "resource is kept to its creator",
                    self.evidence,
                )
        return _Verdict(
            CheckStatus.PASSED,
            f"a second {self.role} got {status} for {method} on what the first created",
            self.evidence,
        )

    def _reached(self, created: Created, request: Prepared, as_a: Prepared, reader: bool, status: int) -> _Verdict:
        method = self.endpoint.method
        if method == "DELETE":  # some APIs answer 204 to any DELETE: the resource must really be gone
            check = Prepared("GET", request.path, {}, dict(self.a), None, None, self.role) if reader else as_a
            after = self._send(check, "A")
            if after not in GONE:
                return _nv(
                    f"identity B's DELETE answered {status}, yet A's {check.method} then got {after} (not 404/410): "
                    "the gate cannot tell whether anything was deleted",
                    self.evidence,
                )
        verb = _VERBS[method]
        return _Verdict(
            CheckStatus.FAILED,
            f"another caller of role {self.role!r} {verb} a resource identity A created",
            self.evidence,
            self._finding(
                f"another caller of role {self.role!r} {verb} a resource identity A created",
                f"identity A created {created.id} through POST {created.request.path}; identity B (another "
                f"{self.role}): {request.method} {request.path} -> {status}: {excerpt(self.last)}",
                _FIX,
                created,
                request,
                f"it must get 403 or 404 for {created.id}",
            ),
        )

    # ---- a collection --------------------------------------------------------------------------------------
    def collection(self) -> _Verdict:
        """A creates; A's list holds it; B's list (every page) must not."""
        endpoint = self.endpoint
        created = self._create(endpoint.path)
        if isinstance(created, _Verdict):
            return created
        stem = endpoint.path.rstrip("/").rsplit("/", 1)[-1].rstrip("s")
        key = id_key(created, stem)
        paging = paging_of(self.context, endpoint)
        self.evidence.append(f"paging: {paging.describe()}; rows matched on {key!r}")

        def wanted(rows: list[Any]) -> bool:
            return holds(rows, key, created.id)

        base = Prepared("GET", endpoint.path, {}, dict(self.a), None, None, self.role)
        mine = scan(self.context.former.send, base, paging, wanted)
        self.evidence.append(f"A: its list {mine.describe()}")
        if not mine.found:
            return _nv(
                f"identity A's own list does not show the resource it created ({created.id}): {mine.describe()}",
                self.evidence,
            )
        other = replace(
            base, headers=dict(self.b), credential_var=self.context.credentials.other_placeholder(self.role)
        )
        theirs = scan(self.context.former.send, other, paging, wanted)
        self.evidence.append(f"B: its list {theirs.describe()}")
        if theirs.found:
            title = f"another caller of role {self.role!r} lists a resource identity A created"
            return _Verdict(
                CheckStatus.FAILED,
                title,
                self.evidence,
                self._finding(
                    title,
                    f"identity A created {created.id} through POST {created.request.path}; identity B (another "
                    f"{self.role}) finds a row with {key} {created.id} in GET {endpoint.path} "
                    f"({theirs.rows} row(s) read on {theirs.pages} page(s))",
                    _LIST_FIX,
                    created,
                    theirs.request,
                    f"its list must not hold a row with {key} {created.id}",
                ),
            )
        if theirs.problem:
            return _nv(f"identity B's list could not be read: {theirs.problem}", self.evidence)
        if not theirs.complete:
            return _nv(f"identity B's list was not read to its end: {theirs.describe()}", self.evidence)
        return _Verdict(
            CheckStatus.PASSED,
            f"a second {self.role}'s list does not show what the first created ({theirs.rows} row(s) read)",
            self.evidence,
        )


def collection_of(endpoint: Endpoint) -> str:
    """Where the resources ``endpoint`` reaches are created: the path itself for a list, the path in front of the
    last parameter for one resource (``/notes/{note_id}`` -> ``/notes``)."""
    if is_collection(endpoint):
        return endpoint.path
    name = PATH_PARAMETER.findall(endpoint.path)[-1]
    return endpoint.path.rpartition("{" + name + "}")[0].rstrip("/")


def cannot_own(packet_creator: Endpoint | None, collection: str, role: str) -> str | None:
    """Why callers of ``role`` cannot own a resource of ``collection`` the gate could create, or None."""
    if packet_creator is None:
        return f"the packet has no POST {collection} to create a resource with"
    if packet_creator.authentication_required and role not in role_for(packet_creator):
        return f"role {role!r} may not call {packet_creator.key} (packet), so it owns nothing the gate can create"
    return None


def check_object_access(context: GateContext, endpoint: Endpoint) -> CheckOutcome:
    """For each allowed role with two identities: B must not reach (or list) what A created."""
    target = endpoint.key
    kind = "collection" if is_collection(endpoint) else "single"
    roles = role_for(endpoint)
    if not roles:
        return outcome(
            CHECK,
            target,
            CheckStatus.NOT_VERIFIED,
            "owner_scoped, but authentication_required is false: callers cannot be told apart",
            kind=kind,
        )
    context.config.hook.pytest_backend_reset_state(
        backend=context.backend, config=context.config, operation=f"object_access[{target}]"
    )
    verdicts: dict[str, _Verdict] = {}
    missing: list[str] = []
    collection = collection_of(endpoint)
    creator = context.former.creator(collection)
    for role in roles:
        why = cannot_own(creator, collection, role)
        if why is not None:
            missing.append(why)
            continue
        first = context.credentials.fresh(role)  # fuzzing may have changed the users behind cached credentials
        if first is None:
            missing.append(context.credentials.problems.get(role, f"no credentials for role {role!r}"))
            continue
        second = context.credentials.other(role, fresh=True)
        if second is None:
            missing.append(context.credentials.other_problems.get(role, f"no second identity of role {role!r}"))
            continue
        alike = same_identity(first, second)
        if alike is not None:
            verdicts[role] = _nv(f"{alike}: {_HOOK} must return another user of {role!r}", [])
            continue
        probe = _Probe(context, endpoint, role, first, second)
        verdicts[role] = probe.single() if kind == "single" else probe.collection()
    return _combine(target, kind, verdicts, missing)


def _combine(target: str, kind: str, verdicts: dict[str, _Verdict], missing: list[str]) -> CheckOutcome:
    evidence = [f"{role} {line}" for role, verdict in verdicts.items() for line in verdict.evidence]
    evidence += [f"{role}: {verdict.summary}" for role, verdict in verdicts.items()]
    evidence += [f"not checked: {why}" for why in missing]
    observations: dict[str, Any] = {
        "kind": kind,
        "roles": {role: f"{verdict.status.value}: {verdict.summary}" for role, verdict in verdicts.items()},
    }
    findings = [verdict.finding for verdict in verdicts.values() if verdict.finding is not None]
    if findings:
        return outcome(
            CHECK, target, CheckStatus.FAILED, findings[0].title, evidence=evidence, findings=findings, **observations
        )
    passed = [verdict.summary for verdict in verdicts.values() if verdict.status is CheckStatus.PASSED]
    if passed:
        return outcome(CHECK, target, CheckStatus.PASSED, "; ".join(passed), evidence=evidence, **observations)
    reasons = [f"{role}: {verdict.summary}" for role, verdict in verdicts.items()] + missing
    return outcome(
        CHECK,
        target,
        CheckStatus.NOT_VERIFIED,
        "; ".join(reasons) or "no role to try",
        evidence=evidence,
        **observations,
    )
