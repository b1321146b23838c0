"""Loading the packet: the example is accepted, and each kind of mistake is named with its JSON path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_backend_agent.errors import GateUsageError
from pytest_backend_agent.packet.load import json_path, load_packet
from pytest_backend_agent.packet.model import Endpoint, normalize_path
from tests.unit.test_contracts import EXAMPLE_PACKET


def test_example_packet_loads() -> None:
    loaded = load_packet(EXAMPLE_PACKET)
    assert loaded.packet.project.name == "bookshelf"
    assert [e.key for e in loaded.packet.api.endpoints][:2] == ["POST /api/v1/auth/token", "GET /api/v1/books"]
    assert loaded.unknown_fields == ()
    assert len(loaded.sha256) == 64


def test_unknown_fields_are_listed(tmp_path: Path) -> None:
    data = json.loads(EXAMPLE_PACKET.read_text())
    data["api"]["endpoints"][1]["rolez"] = ["x"]
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    loaded = load_packet(path)
    assert loaded.unknown_fields == ("$.api.endpoints[1].rolez",)
    warning = loaded.unknown_fields_warning()
    assert warning is not None
    assert "$.api.endpoints[1].rolez" in str(warning)


def test_duplicate_endpoint_is_refused(tmp_path: Path) -> None:
    data = json.loads(EXAMPLE_PACKET.read_text())
    data["api"]["endpoints"].append(dict(data["api"]["endpoints"][3], path="/api/v1/books/{id}"))
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    with pytest.raises(GateUsageError, match=r"endpoints\[7\] \(GET /api/v1/books/\{id\}\) is listed twice"):
        load_packet(path)


def test_json_path() -> None:
    assert json_path(("api", "endpoints", 2, "method")) == "$.api.endpoints[2].method"
    assert json_path(()) == "$"


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("/a/{id}", "/a/12", True),
        ("/a/{id}", "/a/12?x=1", True),
        ("/a/{id}", "/a/12/b", False),
        ("/a/{id}", "/a/", False),
        ("/a.b/{id}", "/aXb/1", False),
    ],
)
def test_endpoint_matches_concrete_paths(template: str, path: str, expected: bool) -> None:
    assert Endpoint(method="GET", path=template, authentication_required=False).matches(path) is expected


def test_normalize_path() -> None:
    assert normalize_path("/books/{book_id}/") == "/books/{}"
    assert normalize_path("/") == "/"
