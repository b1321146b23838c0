"""Pure helpers: redaction, test classification, atomic writing, contract validation, loopback detection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_backend_agent.redact import Redactor
from pytest_backend_agent.report.build import classify_test
from pytest_backend_agent.report.write import ContractViolation, validate, write_json_atomic
from pytest_backend_agent.settings import is_loopback_host


def test_redactor_masks_known_secrets_and_jwts() -> None:
    redact = Redactor()
    redact.add_headers({"Authorization": "Bearer s3cr3t-token"})
    text = "sent Bearer s3cr3t-token and s3cr3t-token and eyJhbGciOi.eyJzdWIiOiIx.sig_abc"
    assert redact(text) == "sent <redacted> and <redacted> and <redacted>"


@pytest.mark.parametrize(
    ("nodeid", "keywords", "kind"),
    [
        ("tests/unit/test_a.py::test_x", [], "unit"),
        ("tests/api/test_a.py::test_x", [], "api"),
        ("tests/e2e/test_a.py::test_x", [], "integration"),
        ("tests/test_a.py::test_x", ["integration"], "integration"),
        ("tests/test_a.py::test_x", [], "unit"),
        ("tests/unit/test_a.py::test_x", ["api"], "api"),
    ],
)
def test_classify_test(nodeid: str, keywords: list[str], kind: str) -> None:
    assert classify_test(nodeid, keywords) == kind


def test_atomic_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "report.json"
    digest = write_json_atomic(target, {"a": 1})
    assert json.loads(target.read_text()) == {"a": 1}
    assert len(digest) == 64
    assert [p.name for p in target.parent.iterdir()] == ["report.json"]


def test_validation_names_the_json_path() -> None:
    expected = r"stage-completion-signal.schema.json: \$: 'report_path' is a required"
    with pytest.raises(ContractViolation, match=expected):
        validate({"stage": "backend-engineer"}, "stage-completion-signal.schema.json")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("192.0.2.1", False),
        ("10.0.0.1", False),
    ],
)
def test_loopback_detection(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_known_issues_name_one_cause_once_with_every_place() -> None:
    from pytest_backend_agent.findings import CheckOutcome, CheckStatus, Finding, Location, Severity
    from pytest_backend_agent.report.build import OwnTests, _known_issues

    def outcome(endpoint: str) -> CheckOutcome:
        finding = Finding(
            check="fuzz.operation",
            category="fuzz",
            severity=Severity.ERROR,
            title="ignored_auth: API accepts requests without authentication",
            location=Location(endpoint=endpoint),
        )
        return CheckOutcome(
            check="fuzz.operation",
            family="fuzz",
            target=endpoint,
            status=CheckStatus.FAILED,
            summary="x",
            findings=[finding],
        )

    class Facts:
        outcomes = [("a", outcome("GET /a")), ("b", outcome("POST /b"))]
        own_tests = OwnTests()

    assert _known_issues(Facts()) == [  # type: ignore[arg-type]
        "[fuzz.operation] GET /a, POST /b: ignored_auth: API accepts requests without authentication"
    ]
