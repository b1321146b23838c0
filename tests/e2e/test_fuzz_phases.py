"""The fuzzing phases: each finds the defect only its kind of input reaches, names itself, and replays the same."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

import pytest

from tests.e2e.backends import read_report, validate_report
from tests.e2e.fuzz_backends import PhaseProject, phase_packet
from tests.e2e.servers import serving, uvicorn

pytestmark = pytest.mark.e2e

ALL_PHASES = "--backend-fuzz-phases=examples,coverage,fuzzing,stateful"
NOTE_IDS = re.compile(r"\b[0-9a-f]{32}\b")
"""The fixture's note ids (``uuid4().hex``): a reproduction holding one only works against the gate's own run."""


def fuzz_findings(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in report["gate"]["findings"] if f["check"] == "fuzz.operation"]


def fuzz_item(report: dict[str, Any], target: str) -> dict[str, Any]:
    return next(c for c in report["gate"]["checks"] if c["check"] == "fuzz.operation" and c["target"] == target)


@pytest.mark.parametrize(
    ("defect", "endpoint", "phase", "selection", "without"),
    [
        ("boundary", "GET /api/shelves", "coverage", "fuzz and shelves", "examples,fuzzing"),
        # the coverage phase starts from the schema's examples too, so it is left out with the examples phase
        ("example", "GET /api/codes/{code}", "examples", "fuzz and codes", "fuzzing"),
    ],
)
def test_each_phase_finds_what_only_its_inputs_reach(
    pytester: pytest.Pytester,
    phase_project: PhaseProject,
    defect: str,
    endpoint: str,
    phase: str,
    selection: str,
    without: str,
) -> None:
    root = phase_project(defect)
    result = pytester.runpytest_subprocess("--backend-report", "-k", selection)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = read_report(root)
    validate_report(report)
    [finding] = [f for f in fuzz_findings(report) if f["severity"] == "error"]
    assert finding["location"]["endpoint"] == endpoint
    assert finding["title"].startswith("not_a_server_error")
    assert f"found in the {phase} phase" in finding["evidence"]
    assert finding["reproduction"].startswith("curl ")
    assert fuzz_item(report, endpoint)["observations"]["by_phase"][phase] > 0
    # Without that phase Hypothesis' generation does not reach it: the phase is what finds it.
    result = pytester.runpytest_subprocess("--backend-report", "-k", selection, f"--backend-fuzz-phases={without}")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    assert fuzz_findings(read_report(root)) == []


def test_stateful_phase_follows_the_link_to_the_created_resource(
    pytester: pytest.Pytester, phase_project: PhaseProject
) -> None:
    root = phase_project("stateful")
    result = pytester.runpytest_subprocess("--backend-report", "-k", "fuzz and notes")
    result.assert_outcomes(passed=2)  # random ids never name a created note, and fuzz[stateful] is off by default
    assert fuzz_findings(read_report(root)) == []

    def stateful_findings() -> set[tuple[str, str]]:
        result = pytester.runpytest_subprocess("--backend-report", "-k", "fuzz and stateful", ALL_PHASES)
        result.assert_outcomes(failed=1)
        report = read_report(root)
        validate_report(report)
        findings = fuzz_findings(report)
        assert all("found in the stateful phase" in f["evidence"] for f in findings)
        failing = next(f for f in findings if f["location"]["endpoint"] == "GET /api/notes/{note_id}")
        # the reproduction is the sequence: the POST that created the note, its answer captured, then the GET that
        # failed, sending the id read from that answer
        first_call, *_, last_call = failing["reproduction"].splitlines()
        assert first_call.startswith("STEP1=$(curl -sS -X POST")
        assert "/api/notes" in first_call
        assert last_call.startswith("curl -X GET")
        assert last_call.endswith("the failing call")
        assert '"${NOTE_ID}"' in last_call
        # the app's random note ids appear nowhere, so the whole reproduction is the same between runs
        assert not NOTE_IDS.search(failing["reproduction"])
        return {(f["location"]["endpoint"], f["title"], f["reproduction"]) for f in findings}

    first = stateful_findings()
    assert ("GET /api/notes/{note_id}", "not_a_server_error: Server error") in {(e, t) for e, t, _ in first}
    assert stateful_findings() == first  # the same seed replays the same sequence


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None, reason="curl or bash is missing")
def test_stateful_reproduction_replays_as_pasted_against_a_fresh_server(
    pytester: pytest.Pytester, phase_project: PhaseProject
) -> None:
    from pytest_backend_agent.backend.live import free_port

    root = phase_project("stateful", ini={"backend_app": ""})
    port = free_port()
    with serving(uvicorn("shelf_app.main:app"), root, health="/api/health", port=port) as url:
        result = pytester.runpytest_subprocess(
            "--backend-report", f"--backend-url={url}", "-k", "fuzz and stateful", ALL_PHASES
        )
    result.assert_outcomes(failed=1)
    finding = next(
        f
        for f in fuzz_findings(read_report(root))
        if f["location"]["endpoint"] == "GET /api/notes/{note_id}" and f["title"].startswith("not_a_server_error")
    )
    reproduction = finding["reproduction"]
    assert not NOTE_IDS.search(reproduction)  # no id the gate's server handed out
    assert re.search(r'/api/notes/"\$\{NOTE_ID\}"  # step \d+: the failing call$', reproduction)

    # Pasted as printed into bash against a fresh server of the same app, on the same address: a curl function
    # writes each call's status to stderr (the calls' own output, which the snippet captures, is untouched).
    with serving(uvicorn("shelf_app.main:app"), root, health="/api/health", port=port):
        replay = subprocess.run(  # noqa: S603 - the reproduction is a shell snippet by design
            ["bash", "-c", "curl() { command curl -w '%{stderr}%{http_code}\\n' \"$@\"; }\n" + reproduction],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    statuses = replay.stderr.split()
    assert statuses[-1] == "500", replay.stderr  # the failing step fails again
    assert "201" in statuses[:-1]  # after the POST that created the note it reads


def test_clean_backend_passes_every_phase_and_a_missing_operation_is_not_verified(
    pytester: pytest.Pytester, phase_project: PhaseProject
) -> None:
    extra = {"method": "GET", "path": "/api/archive", "authentication_required": False}
    root = phase_project(packet=phase_packet(extra))
    result = pytester.runpytest_subprocess("--backend-report", "-k", "fuzz", ALL_PHASES)
    result.assert_outcomes(passed=7, skipped=1)  # fuzz[undeclared] passes: the backend has nothing more
    report = read_report(root)
    assert fuzz_findings(report) == []
    missing = fuzz_item(report, "GET /api/archive")
    assert missing["status"] == "not verified"
    assert "lacks this packet operation" in missing["summary"]
    for item in report["gate"]["checks"]:
        if item["check"] == "fuzz.operation" and item["target"] not in ("GET /api/archive", "stateful", "undeclared"):
            assert set(item["observations"]["by_phase"]) == {"examples", "coverage", "fuzzing"}
            assert item["observations"]["by_phase"]["coverage"] > 0
    assert fuzz_item(report, "stateful")["observations"]["by_phase"]["stateful"] > 0
    assert fuzz_item(report, "undeclared")["summary"] == (
        "the backend's OpenAPI document declares no operation beyond the packet's"
    )


def test_an_operation_beyond_the_packet_is_fuzzed_too(pytester: pytest.Pytester, phase_project: PhaseProject) -> None:
    packet = phase_packet()
    packet["api"]["endpoints"] = [e for e in packet["api"]["endpoints"] if e["path"] != "/api/shelves"]
    root = phase_project("boundary", packet=packet)
    result = pytester.runpytest_subprocess("--backend-report", "-k", "fuzz and undeclared")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = read_report(root)
    validate_report(report)
    item = fuzz_item(report, "undeclared")
    assert item["status"] == "failed"
    assert item["evidence"][0].startswith("operations beyond the packet, from ")
    assert item["evidence"][0].endswith(": GET /api/shelves")
    [finding] = [f for f in fuzz_findings(report) if f["severity"] == "error"]
    assert finding["location"]["endpoint"] == "GET /api/shelves"
    assert finding["title"].startswith("not_a_server_error")
    assert "in the coverage phase" in finding["evidence"]
    assert "-k 'fuzz and undeclared'" in finding["fix"]
    assert "limit=100" in finding["reproduction"]


def test_same_seed_gives_the_same_findings_across_phases(
    pytester: pytest.Pytester, phase_project: PhaseProject
) -> None:
    root = phase_project("boundary")

    def findings() -> set[tuple[str, str, str, str]]:
        pytester.runpytest_subprocess("--backend-report", "-k", "fuzz and shelves")
        return {
            (f["location"]["endpoint"], f["title"], f["evidence"], f["reproduction"])
            for f in fuzz_findings(read_report(root))
        }

    first = findings()
    assert first
    assert findings() == first


def test_unknown_phase_is_a_usage_error(pytester: pytest.Pytester, phase_project: PhaseProject) -> None:
    phase_project()
    result = pytester.runpytest("--backend-report", "--backend-fuzz-phases=examples,stateless")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--backend-fuzz-phases (ini backend_fuzz_phases) names unknown phase(s) stateless" in result.stderr.str()
    assert "Traceback" not in result.stderr.str()
