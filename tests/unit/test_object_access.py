"""The decisions of ``security.object_access``: which endpoints get an item, what an answer means, reading lists."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from pytest_backend_agent.checks.context import other_role_env_var, role_env_var
from pytest_backend_agent.checks.requests import Created, Prepared
from pytest_backend_agent.checks.security import security_checks
from pytest_backend_agent.checks.security.object_access import (
    applies,
    cannot_own,
    classify,
    collection_of,
    id_key,
    is_collection,
    is_single,
    same_identity,
)
from pytest_backend_agent.checks.security.owned_lists import MAX_PAGES, Paging, holds, page_size, scan
from pytest_backend_agent.checks.security.tokens import forge
from pytest_backend_agent.packet.model import Endpoint, Packet
from pytest_backend_agent.settings import Settings


def _endpoint(key: str, **extra: Any) -> Endpoint:
    method, path = key.split(" ", 1)
    fields: dict[str, Any] = {"authentication_required": True, "roles": ["member"], **extra}
    return Endpoint(method=method, path=path, **fields)


@pytest.mark.parametrize(
    ("key", "single", "collection"),
    [
        ("GET /notes/{note_id}", True, False),
        ("PUT /notes/{note_id}", True, False),
        ("PATCH /users/{user_id}/notes/{note_id}", True, False),
        ("DELETE /notes/{note_id}", True, False),
        ("GET /notes", False, True),
        ("POST /notes", False, False),
        ("POST /notes/{note_id}/share", False, False),
        ("HEAD /notes/{note_id}", False, False),
    ],
)
def test_which_operations_are_probed(key: str, single: bool, collection: bool) -> None:
    endpoint = _endpoint(key, owner_scoped=True)
    assert (is_single(endpoint), is_collection(endpoint)) == (single, collection)
    assert applies(endpoint) == (single or collection)
    assert not applies(_endpoint(key))  # never without owner_scoped: shared resources are not probed


def test_the_collection_a_resource_is_created_in() -> None:
    assert collection_of(_endpoint("GET /notes")) == "/notes"
    assert collection_of(_endpoint("DELETE /notes/{note_id}")) == "/notes"
    assert collection_of(_endpoint("GET /users/{user_id}/notes/{note_id}/text")) == "/users/{user_id}/notes"


def test_a_role_owns_only_what_it_may_create() -> None:
    creator = _endpoint("POST /api/v1/loans", roles=["member"])
    assert cannot_own(creator, "/api/v1/loans", "member") is None
    assert "role 'librarian' may not call POST /api/v1/loans" in str(cannot_own(creator, "/api/v1/loans", "librarian"))
    assert cannot_own(None, "/notes", "member") == "the packet has no POST /notes to create a resource with"
    assert cannot_own(_endpoint("POST /notes", authentication_required=False, roles=[]), "/notes", "x") is None


@pytest.mark.parametrize(
    ("status", "kind"),
    [(200, "reached"), (204, "reached"), (403, "refused"), (404, "refused"), (401, "unauthenticated")]
    + [(429, "throttled"), (409, "unclear"), (422, "unclear"), (500, "unclear"), (302, "unclear")],
)
def test_what_identity_bs_answer_means(status: int, kind: str) -> None:
    assert classify(status) == kind


def _jwt(sub: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + forge("other_key", {"sub": sub, "role": "member"})}


def test_two_identities_must_be_two_callers() -> None:
    a, b = _jwt("1"), _jwt("2")
    assert same_identity(a, b) is None
    assert same_identity(a, dict(a)) == "the second identity's headers are the first identity's"
    assert "same subject (sub '1')" in str(same_identity(a, _jwt("1")))  # another token of the same user
    assert same_identity({"X-Api-Key": "k1"}, {"X-Api-Key": "k2"}) is None


def _created(ident: Any, body: Any) -> Created:
    return Created(ident, Prepared("POST", "/notes", {}, {}, {}, "application/json", "member"), body)


def test_the_listed_rows_are_matched_on_the_field_that_carried_the_id() -> None:
    assert id_key(_created(7, {"id": 7, "text": "x"}), "note") == "id"
    assert id_key(_created("a1", {"note_id": "a1", "id": None}), "note") == "note_id"
    assert id_key(_created("u-9", {"uuid": "u-9"}), "note") == "uuid"
    assert id_key(_created("12", None), "note") == "id"  # read from a Location header


def test_a_row_holds_the_id_as_number_or_text() -> None:
    rows: list[Any] = [{"id": 1}, {"id": "7"}, "noise", {"other": 3}, {"id": None}]
    assert holds(rows, "id", 7)
    assert holds(rows, "id", "1")
    assert not holds(rows, "id", 3)
    assert not holds(rows, "uuid", 1)


def test_the_largest_page_to_ask_for() -> None:
    assert page_size(100, 50) == 50
    assert page_size(20, None) == 20
    assert page_size(None, 80) == 80
    assert page_size(None, None) == 100


def test_the_query_of_each_page() -> None:
    offset = Paging("limit", 50, "offset", None)
    assert offset.params(0, 0) == {"limit": 50}
    assert offset.params(2, 100) == {"limit": 50, "offset": 100}
    pages = Paging("per_page", 25, None, "page", first_page=1)
    assert pages.params(0, 0) == {"per_page": 25}
    assert pages.params(1, 25) == {"per_page": 25, "page": 2}
    assert Paging(None, None, None, "page", first_page=0).params(3, 0) == {"page": 3}
    assert not Paging("limit", 10).follows


class _List:
    """A list of ``rows`` ids served ``limit``/``offset`` style (or every row when ``cap`` is None)."""

    def __init__(self, ids: list[int], cap: int | None = None, status: int = 200, total: bool = True) -> None:
        self.ids, self.cap, self.status, self.total = ids, cap, status, total
        self.sent: list[dict[str, Any]] = []

    def __call__(self, request: Prepared) -> httpx.Response:
        self.sent.append(dict(request.query))
        limit = int(request.query.get("limit", self.cap or len(self.ids)))
        offset = int(request.query.get("offset", 0))
        page = [{"id": i} for i in self.ids[offset : offset + limit]]
        body: Any = {"items": page, "total": len(self.ids)} if self.total else page
        return httpx.Response(self.status, content=json.dumps(body).encode())


_BASE = Prepared("GET", "/notes", {}, {"Authorization": "Bearer x"}, None, None, "member")


def test_scan_follows_offsets_until_it_finds_the_id() -> None:
    served = _List(list(range(1, 131)))
    found = scan(served, _BASE, Paging("limit", 50, "offset", None), lambda rows: holds(rows, "id", 120))
    assert (found.found, found.pages) == (True, 3)
    assert served.sent == [{"limit": 50}, {"limit": 50, "offset": 50}, {"limit": 50, "offset": 100}]
    assert found.request.query == {"limit": 50, "offset": 100}  # the page to show in a reproduction


def test_scan_reads_to_the_end_before_saying_absent() -> None:
    served = _List(list(range(1, 61)))
    absent = scan(served, _BASE, Paging("limit", 50, "offset", None), lambda rows: holds(rows, "id", 999))
    assert (absent.found, absent.complete, absent.rows, absent.pages) == (False, True, 60, 2)


def test_a_full_page_without_a_way_to_the_next_is_not_the_whole_list() -> None:
    served = _List(list(range(1, 31)), cap=20)
    partial = scan(served, _BASE, Paging("limit", 20), lambda rows: holds(rows, "id", 25))
    assert (partial.found, partial.complete) == (False, False)
    assert "not all" in partial.describe()
    plain = scan(_List([1, 2, 3], total=False), _BASE, Paging(), lambda rows: holds(rows, "id", 9))
    assert (plain.found, plain.complete) == (False, True)  # no paging at all: the answer is the list


def test_a_refused_or_shapeless_list_is_a_problem_not_an_absence() -> None:
    refused = scan(_List([1], status=403), _BASE, Paging("limit", 10, "offset", None), lambda rows: False)
    assert (refused.found, refused.complete, refused.problem) == (False, False, "GET /notes -> 403")

    def text(request: Prepared) -> httpx.Response:
        return httpx.Response(200, text="hello")

    shapeless = scan(text, _BASE, Paging(), lambda rows: False)
    assert shapeless.problem == "the answer holds no list of rows"


def test_scan_gives_up_after_the_page_budget() -> None:
    served = _List(list(range(1, 10_000)))
    endless = scan(served, _BASE, Paging("limit", 1, "offset", None), lambda rows: holds(rows, "id", 9_999_999))
    assert (endless.found, endless.complete, endless.pages) == (False, False, MAX_PAGES)


def test_the_second_identitys_variable_follows_the_first_ones_naming() -> None:
    assert other_role_env_var("member") == "BACKEND_AGENT_OTHER_TOKEN_MEMBER"
    assert other_role_env_var("read-only") == "BACKEND_AGENT_OTHER_TOKEN_READ_ONLY"
    assert role_env_var("read-only") == "BACKEND_AGENT_TOKEN_READ_ONLY"


def test_items_only_for_owner_scoped_endpoints_after_rbac(tmp_path: Path) -> None:
    roles = ["member"]
    packet = Packet.model_validate(
        {
            "packet_version": "1.0",
            "project": {"name": "p"},
            "api": {
                "roles": roles,
                "endpoints": [
                    {"method": "POST", "path": "/notes", "authentication_required": True, "owner_scoped": True},
                    {"method": "GET", "path": "/notes", "authentication_required": True, "owner_scoped": True},
                    {"method": "GET", "path": "/notes/{id}", "authentication_required": True, "owner_scoped": True},
                    {"method": "GET", "path": "/topics", "authentication_required": True, "roles": roles},
                ],
            },
        }
    )
    settings = Settings(
        rootdir=tmp_path,
        report_path=tmp_path / "report.json",
        signal_path=tmp_path / "signal.json",
        packet_path=tmp_path / "packet.json",
        config_path=None,
        src_dir=None,
        mode="app",
        app="app:app",
        url=None,
        command=None,
        allow_remote=False,
        openapi_path=None,
        startup_timeout=5.0,
        request_timeout=5.0,
        quality_tools=(),
        tool_timeout=5.0,
        docstring_min=None,
        base_ref=None,
    )
    names = [spec.item_name for spec in security_checks(packet, settings)]
    owned = [name for name in names if name.startswith("object_access[")]
    assert owned == ["object_access[GET /notes]", "object_access[GET /notes/{id}]"]
    assert names.index(owned[0]) > names.index("rbac[GET /topics]")
    assert names.index(owned[-1]) < names.index("cors[preflight]")
