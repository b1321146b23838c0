"""The whole gate on a Starlette (ASGI) and a Django (WSGI) API: each clean app passes with zero findings, and one
defect in each is caught and placed at its endpoint.

Fuzzing runs with its default phases and examples (seed 7), beside the contract, data, security and performance
families; only the quality family is off. Each run is a fresh process (``runpytest_subprocess``): Django is set up
once per process, and Hypothesis and Schemathesis keep process-wide state.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.backends import read_report, validate_report
from tests.e2e.framework_backends import FrameworkProject, django_items_project, starlette_project

pytestmark = pytest.mark.e2e

__all__ = ["django_items_project", "starlette_project"]

FAMILIES = {"contract", "data", "fuzz", "performance", "security"}


def _assert_clean(report: dict[str, Any]) -> None:
    """Zero findings, a passed verdict, every family present, and every operation really fuzzed."""
    validate_report(report)
    assert report["gate"]["findings"] == []
    assert report["gate"]["verdict"] == "passed"
    checks = report["gate"]["checks"]
    assert {c["family"] for c in checks} == FAMILIES
    assert "failed" not in {c["status"] for c in checks}
    assert {c["status"] for c in checks if c["family"] in ("contract", "data", "security")} == {"passed"}
    fuzzed = {c["target"]: c for c in checks if c["check"] == "fuzz.operation" and c["target"] != "undeclared"}
    assert len(fuzzed) == 5
    for target, check in fuzzed.items():
        assert check["status"] == "passed", target
        observations = check["observations"]
        assert observations["fuzz_requests"] > 0, target
        assert observations["by_phase"]["coverage"] > 0, target
        if target != "GET /api/health":  # nothing to generate for an operation without input
            assert observations["by_phase"]["fuzzing"] > 0, target
    assert report["security_measures"]["authentication"] == "JWT"
    assert report["security_measures"]["input_validation"].startswith("validated")


def _findings(report: dict[str, Any], check: str, endpoint: str) -> list[dict[str, Any]]:
    return [f for f in report["gate"]["findings"] if f["check"] == check and f["location"]["endpoint"] == endpoint]


def test_clean_starlette_app_passes_the_whole_gate(
    pytester: pytest.Pytester, starlette_project: FrameworkProject
) -> None:
    root = starlette_project()
    result = pytester.runpytest_subprocess("--backend-report", "-p", "no:xdist")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-4000:]
    report = read_report(root)
    _assert_clean(report)
    statuses = {(c["check"], c["target"]): c["status"] for c in report["gate"]["checks"]}
    # SQLAlchemy statements are counted in-process: the N+1 check really ran on the list
    assert statuses[("performance.n_plus_one", "GET /api/items")] == "passed"
    # the invalid ids the router refuses itself (/api/items/0.5 under {item_id:int}) are said, not hidden
    one = next(c for c in report["gate"]["checks"] if c["check"] == "fuzz.operation" and "{item_id}" in c["target"])
    assert any("matched no route" in line for line in one["evidence"]), one["evidence"]


def test_clean_starlette_app_passes_under_xdist(pytester: pytest.Pytester, starlette_project: FrameworkProject) -> None:
    root = starlette_project()
    result = pytester.runpytest_subprocess("--backend-report", "-n", "2")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-4000:]
    _assert_clean(read_report(root))


def test_starlette_list_answering_without_a_token_fails(
    pytester: pytest.Pytester, starlette_project: FrameworkProject
) -> None:
    root = starlette_project("list_ignores_missing_token")
    result = pytester.runpytest_subprocess("--backend-report", "-p", "no:xdist")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = read_report(root)
    validate_report(report)
    assert report["gate"]["verdict"] == "failed"
    auth = _findings(report, "contract.auth", "GET /api/items")
    assert auth, report["gate"]["findings"]
    assert auth[0]["severity"] == "error"
    assert "protected endpoint answers 200 without credentials" in auth[0]["title"]
    assert auth[0]["reproduction"].startswith("curl ")
    assert "Authorization" not in auth[0]["reproduction"]
    assert _findings(report, "security.authn", "GET /api/items")
    # only the defective endpoint is accused
    accused = {f["location"]["endpoint"] for f in report["gate"]["findings"]}
    assert accused == {"GET /api/items"}, report["gate"]["findings"]


def test_clean_django_app_passes_the_whole_gate(
    pytester: pytest.Pytester, django_items_project: FrameworkProject
) -> None:
    root = django_items_project()
    result = pytester.runpytest_subprocess("--backend-report", "-p", "no:xdist")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-4000:]
    report = read_report(root)
    _assert_clean(report)
    statuses = {(c["check"], c["target"]): c["status"] for c in report["gate"]["checks"]}
    assert statuses[("data.migrations", "django")] == "passed"
    # Django's statements are counted in-process: the N+1 check really ran on the list
    assert statuses[("performance.n_plus_one", "GET /api/items")] == "passed"
    assert statuses[("data.models", "orm")] == "passed"
    assert {m["source"] for m in report["data_models_created"]} == {"django models"}


def test_django_server_error_on_a_name_is_found_by_fuzzing(
    pytester: pytest.Pytester, django_items_project: FrameworkProject
) -> None:
    root = django_items_project("ascii_labels")
    result = pytester.runpytest_subprocess("--backend-report", "-p", "no:xdist")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = read_report(root)
    validate_report(report)
    found = _findings(report, "fuzz.operation", "POST /api/items")
    assert [f["title"] for f in found] == ["not_a_server_error: Server error"], report["gate"]["findings"]
    finding = found[0]
    assert finding["severity"] == "error"
    assert finding["reproduction"].startswith("curl -X POST ")
    assert "http://127.0.0.1:8000/api/items" in finding["reproduction"]
    assert "$BACKEND_AGENT_TOKEN_EDITOR" in finding["reproduction"]
    assert "--backend-fuzz-seed=7" in finding["fix"]
    assert {f["location"]["endpoint"] for f in report["gate"]["findings"]} == {"POST /api/items"}
