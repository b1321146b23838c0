"""The ``backend-agent`` console command end to end, run as ``python -m pytest_backend_agent`` in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.backends import PACKET_PATH, GateProject, library_packet, read_report
from tests.e2e.servers import serving, uvicorn

pytestmark = pytest.mark.e2e

REPO = Path(__file__).parents[2]
REPORT = Path("ARTIFACTS") / "backend-engineer" / "backend-implementation-report.json"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m pytest_backend_agent ARGS`` in ``cwd``, with this checkout's package first on the path."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "-m", "pytest_backend_agent", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_pyproject_declares_the_console_script() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["backend-agent"] == "pytest_backend_agent.cli:main"


def test_every_subcommand_has_help(tmp_path: Path) -> None:
    top = cli("--help", cwd=tmp_path)
    assert top.returncode == 0
    assert "exit statuses" in top.stdout
    for command, phrase in [
        ("validate-report", "every violation with its JSON path"),
        ("validate-packet", "the way the gate loads it"),
        ("init", "starter architecture packet"),
        ("gate", "passing every further argument to pytest"),
    ]:
        result = cli(command, "--help", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert phrase in " ".join(result.stdout.split()), command
    unknown = cli("frobnicate", cwd=tmp_path)
    assert unknown.returncode == 4
    assert "invalid choice" in unknown.stderr


def test_validate_report_valid_and_broken(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    root = gate_project()
    pytester.runpytest("--backend-report", "--backend-no-quality", "-m", "contract or data")
    valid = cli("validate-report", str(REPORT), cwd=root)
    assert (valid.returncode, valid.stdout.strip()) == (0, f"{REPORT}: valid")

    broken: dict[str, Any] = read_report(root)
    broken["gate"]["verdict"] = "maybe"
    del broken["known_issues"]
    broken["api_endpoints_implemented"][1]["method"] = 5
    (root / "broken.json").write_text(json.dumps(broken))
    result = cli("validate-report", "broken.json", cwd=root)
    assert result.returncode == 1
    assert "broken.json: invalid, 3 violation(s):" in result.stdout
    assert "  $: 'known_issues' is a required property" in result.stdout
    assert "  $.api_endpoints_implemented[1].method: 5 is not of type 'string'" in result.stdout
    assert "  $.gate.verdict: 'maybe' is not one of ['passed', 'failed']" in result.stdout

    (root / "not-json.json").write_text("{ nope")
    for name in ("missing.json", "not-json.json"):
        bad = cli("validate-report", name, cwd=root)
        assert bad.returncode == 4, bad.stdout
        assert name in bad.stderr
        assert "Traceback" not in bad.stderr


def test_validate_packet_both_ways(tmp_path: Path) -> None:
    good = library_packet()
    good["notes_for_qa"] = "an extra field"
    (tmp_path / "good.json").write_text(json.dumps(good))
    result = cli("validate-packet", "good.json", cwd=tmp_path)
    assert (result.returncode, result.stdout.strip()) == (0, "good.json: valid")
    assert "$.notes_for_qa" in result.stderr  # a warning, not a violation

    bad = library_packet()
    bad["api"]["endpoints"][0]["method"] = "FETCH"
    del bad["api"]["endpoints"][1]["authentication_required"]
    bad["api"]["openapi"] = "design/openapi.json"
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    result = cli("validate-packet", "bad.json", cwd=tmp_path)
    assert result.returncode == 1
    assert "$.api.endpoints[0].method: Input should be 'GET'" in result.stdout
    assert "$.api.endpoints[1].authentication_required: Field required" in result.stdout

    missing_file = library_packet()
    missing_file["api"]["openapi"] = "design/openapi.json"
    (tmp_path / "names-a-missing-file.json").write_text(json.dumps(missing_file))
    result = cli("validate-packet", "names-a-missing-file.json", cwd=tmp_path)
    assert result.returncode == 1
    assert "$.api.openapi: the packet's api.openapi names" in result.stdout

    (tmp_path / "binary.json").write_bytes(b"\xff\xfe")
    for name in ("absent.json", "binary.json"):
        result = cli("validate-packet", name, cwd=tmp_path)
        assert result.returncode == 4
        assert name in result.stderr


def _endpoints(packet: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{e['method']} {e['path']}": e for e in packet["api"]["endpoints"]}


def _assert_inferred_library(packet: dict[str, Any]) -> None:
    """What init must read off the fixture library backend."""
    endpoints = _endpoints(packet)
    assert sorted(endpoints) == [
        "DELETE /api/books/{book_id}",
        "GET /api/books",
        "GET /api/books/{book_id}",
        "GET /api/health",
        "POST /api/books",
    ]
    assert {key: e["authentication_required"] for key, e in endpoints.items()} == {
        "DELETE /api/books/{book_id}": True,
        "GET /api/books": True,
        "GET /api/books/{book_id}": True,
        "GET /api/health": False,
        "POST /api/books": True,
    }
    assert endpoints["POST /api/books"]["success_status"] == 201
    assert endpoints["DELETE /api/books/{book_id}"]["success_status"] == 204
    assert endpoints["GET /api/health"]["description"] == "Health"
    assert all(e["roles"] == [] and e["paginated"] is False for e in endpoints.values())
    assert packet["api"]["base_path"] == "/api"
    assert packet["api"]["authentication"] == {"scheme": "bearer-jwt"}


def test_init_in_process_then_gate(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    root = gate_project()
    (root / PACKET_PATH).unlink()
    result = cli("init", "--app", "library_app.main:app", cwd=root)
    assert result.returncode == 0, result.stderr
    assert f"wrote {root / PACKET_PATH}" in result.stdout
    assert "the architect must still fill in:" in result.stdout
    assert "api.roles" in result.stdout

    packet = json.loads((root / PACKET_PATH).read_text())
    _assert_inferred_library(packet)
    assert packet["tech_stack"] == {"language": "python", "framework": "fastapi", "orm": "sqlalchemy"}
    models = {m["name"]: m for m in packet["data_models"]}
    assert sorted(models) == ["Book", "Loan"]
    assert models["Book"]["table"] == "books"
    assert models["Book"]["fields"][:2] == [
        {"name": "id", "type": "integer", "primary_key": True, "nullable": False},
        {"name": "isbn", "type": "string", "unique": True, "nullable": False},
    ]
    assert models["Loan"]["fields"][1] == {
        "name": "book_id",
        "type": "integer",
        "nullable": False,
        "foreign_key": "books.id",
        "indexed": True,
    }
    assert cli("validate-packet", str(PACKET_PATH), cwd=root).returncode == 0

    before = (root / PACKET_PATH).read_bytes()
    again = cli("init", "--app", "library_app.main:app", cwd=root)
    assert again.returncode == 4
    assert "--force" in again.stderr
    assert (root / PACKET_PATH).read_bytes() == before

    pyproject = root / "pyproject.toml"  # as strict as the bookshelf: a warning the command causes would crash it
    pyproject.write_text(pyproject.read_text().replace("filterwarnings = [", 'filterwarnings = ["error", '))
    gate = cli("gate", "-p", "no:cacheprovider", cwd=root)
    assert "= backend gate =" in gate.stdout, gate.stdout[-3000:]
    assert gate.returncode == 0, gate.stdout[-3000:]
    report = read_report(root)
    assert report["gate"]["verdict"] == "passed"
    assert {c["check"] for c in report["gate"]["checks"]} >= {"contract.implemented", "contract.auth", "data.models"}
    assert [f for f in report["gate"]["findings"] if f["check"] == "data.models"] == []
    assert cli("validate-report", str(REPORT), cwd=root).returncode == 0


@pytest.fixture
def live_server(gate_project: GateProject) -> Iterator[tuple[Path, str]]:
    """The clean fixture backend served by uvicorn on a free loopback port: (its folder, its URL)."""
    root = gate_project()
    with serving(uvicorn("library_app.main:app", "warning"), root) as url:
        yield root, url


def test_init_from_a_live_server(live_server: tuple[Path, str]) -> None:
    root, url = live_server
    result = cli("init", "--url", url, "--src", "library_app", "--output", "out/packet.json", cwd=root)
    assert result.returncode == 0, result.stderr
    assert f"{url}/openapi.json" in result.stdout
    packet = json.loads((root / "out" / "packet.json").read_text())
    _assert_inferred_library(packet)
    assert [m["name"] for m in packet["data_models"]] == ["Book", "Loan"]
    assert "framework" not in packet["tech_stack"]  # not knowable over HTTP

    remote = cli("init", "--url", "http://10.255.255.1:8000", "--output", "x.json", cwd=root)
    assert remote.returncode == 4
    assert "--allow-remote" in remote.stderr
    assert not (root / "x.json").exists()


def test_init_without_a_backend_says_what_to_do(tmp_path: Path) -> None:
    from pytest_backend_agent.backend.live import free_port

    missing = cli("init", cwd=tmp_path)
    assert missing.returncode == 4
    assert "one of the arguments --url --app is required" in missing.stderr
    silent = cli("init", "--url", f"http://127.0.0.1:{free_port()}", cwd=tmp_path)
    assert silent.returncode == 4
    assert "did not answer" in silent.stderr
    assert "Traceback" not in silent.stderr
    unknown = cli("init", "--app", "no_such_module:app", cwd=tmp_path)
    assert unknown.returncode == 4
    assert "--app no_such_module:app: there is no module" in unknown.stderr
    assert not (tmp_path / PACKET_PATH).exists()
