"""Bad input: a clear one-paragraph error naming the file, JSON path or option; no traceback; no report."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.e2e.backends import GateProject, library_packet

pytestmark = pytest.mark.e2e

REPORT = Path("ARTIFACTS/backend-engineer/backend-implementation-report.json")
PACKET = Path("ARTIFACTS/system-architect/architecture-handover-packet.json")


def assert_clean_error(result: pytest.RunResult, root: Path, *fragments: str) -> None:
    """Exit status 4, ``ERROR: `` then every ``*``-separated fragment in order, no traceback, no report."""
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = result.stderr.str()
    assert text.startswith("ERROR: "), text
    position = 0
    for fragment in (piece for pattern in fragments for piece in pattern.split("*") if piece):
        found = text.find(fragment, position)
        assert found >= 0, f"{fragment!r} not found after position {position} in:\n{text}"
        position = found + len(fragment)
    assert "Traceback" not in text + result.stdout.str()
    assert not (root / REPORT).exists()


def test_missing_packet(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    root = gate_project()
    (root / PACKET).unlink()
    result = pytester.runpytest("--backend-report")
    assert_clean_error(
        result, root, "*architecture packet not found: *architecture-handover-packet.json*--backend-packet*"
    )


def test_packet_that_is_not_json(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    root = gate_project()
    (root / PACKET).write_text('{"packet_version": "1.0",,}')
    result = pytester.runpytest("--backend-report")
    assert_clean_error(result, root, "*architecture-handover-packet.json is not valid JSON*line 1, column 26*")


def test_packet_that_breaks_the_schema_names_the_json_path(
    pytester: pytest.Pytester, gate_project: GateProject
) -> None:
    packet = library_packet()
    packet["api"]["endpoints"][2]["method"] = "FETCH"
    del packet["api"]["endpoints"][0]["authentication_required"]
    root = gate_project(packet=packet)
    result = pytester.runpytest("--backend-report")
    assert_clean_error(
        result,
        root,
        "*does not match the packet schema:*$.api.endpoints[0].authentication_required:"
        " Field required*$.api.endpoints[2].method: Input should be 'GET'*docs/packet-format.md*",
    )


def test_endpoint_role_outside_api_roles(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    packet = library_packet()
    packet["api"]["endpoints"][1]["roles"] = ["admin"]
    root = gate_project(packet=packet)
    result = pytester.runpytest("--backend-report")
    assert_clean_error(result, root, "*$.api: Value error, endpoints[1] (GET /api/books) names role(s) ['admin']*")


def test_unknown_packet_field_is_a_warning(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    packet = library_packet()
    packet["api"]["endpoints"][0]["authentification"] = True
    gate_project(packet=packet)
    result = pytester.runpytest("--backend-report", "-W", "default")
    assert "has fields the gate does not know and ignores: $.api.endpoints[0].authentification" in (result.stdout.str())


def test_app_that_does_not_import(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    root = gate_project(ini={"backend_app": "no_such_module.main:app"})
    result = pytester.runpytest("--backend-report")
    assert_clean_error(result, root, "*--backend-app no_such_module.main:app: there is no module*pythonpath*")


def test_app_whose_import_raises(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    root = gate_project()
    (root / "library_app" / "main.py").write_text("raise RuntimeError('DATABASE_URL is not set')\n")
    result = pytester.runpytest("--backend-report")
    assert_clean_error(
        result, root, "*importing 'library_app.main' raised RuntimeError: DATABASE_URL is not set*main.py:1*"
    )


def test_app_attribute_missing(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    root = gate_project(ini={"backend_app": "library_app.main:application"})
    result = pytester.runpytest("--backend-report")
    assert_clean_error(result, root, "*has no attribute 'application'*")


def test_no_backend_named(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    root = gate_project()
    (root / "pyproject.toml").write_text("[tool.pytest.ini_options]\naddopts = '-p no:cacheprovider'\n")
    result = pytester.runpytest("--backend-report")
    assert_clean_error(result, root, "*the backend gate needs a backend: give one of --backend-app*")


def test_server_command_that_dies(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    root = gate_project()
    command = f"{sys.executable} -c \"print('boom: no config'); raise SystemExit(3)\" {{port}}"
    result = pytester.runpytest("--backend-report", f"--backend-command={command}", "--backend-app=")
    assert_clean_error(
        result, root, "*--backend-command*exited with status 3. Last lines of its output:", "*boom: no config*"
    )


def test_url_that_refuses_connections(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    from pytest_backend_agent.backend.live import free_port

    root = gate_project(ini={"backend_app": ""})
    result = pytester.runpytest("--backend-report", f"--backend-url=http://127.0.0.1:{free_port()}")
    assert_clean_error(result, root, "*--backend-url http://127.0.0.1:* did not answer*Start the server first*")


def test_remote_url_is_refused_without_allow_remote(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    root = gate_project(ini={"backend_app": ""})
    result = pytester.runpytest("--backend-report", "--backend-url=http://192.0.2.10:8000")
    assert_clean_error(
        result, root, "*--backend-url http://192.0.2.10:8000 is not a loopback address*--backend-allow-remote*"
    )


def test_report_option_swallowing_a_test_path(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    root = gate_project()
    (root / "tests").mkdir(exist_ok=True)
    result = pytester.runpytest("--backend-report", "tests")
    assert_clean_error(result, root, "*--backend-report took 'tests' as the report path*--backend-report=PATH*")


def test_project_config_that_is_not_an_object(pytester: pytest.Pytester, gate_project: GateProject) -> None:
    root = gate_project()
    (root / "project-config.json").write_text(json.dumps(["python"]))
    result = pytester.runpytest("--backend-report")
    assert_clean_error(result, root, "*project config *project-config.json must hold a JSON object at $*")
