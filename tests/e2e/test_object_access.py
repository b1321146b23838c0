"""``security.object_access`` end to end: notes kept to their creator pass; each way of reaching another's fails.

The fixture (``tests/e2e/object_access_backends.py``) has two roles, each with two identities; topics are shared
by design and not marked ``owner_scoped``, so they get no item and no finding.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.backends import read_report, validate_report
from tests.e2e.object_access_backends import OWNED, NotesProject

pytestmark = pytest.mark.e2e

CHECK = "security.object_access"


def _items(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["target"]: c for c in report["gate"]["checks"] if c["check"] == CHECK}


def test_clean_backend_passes_every_item_with_zero_findings(
    pytester: pytest.Pytester, notes_project: NotesProject
) -> None:
    root = notes_project()
    result = pytester.runpytest("--backend-report")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    result.stdout.fnmatch_lines(["*= backend gate =*", "gate PASSED*"])
    report = read_report(root)
    validate_report(report)
    assert report["gate"]["findings"] == []
    items = _items(report)
    assert list(items) == OWNED  # one per owner_scoped endpoint; the shared topics get none
    assert {c["status"] for c in items.values()} == {"passed"}
    for item in items.values():
        assert set(item["observations"]["roles"]) == {"member", "editor"}  # every allowed role with two identities
    assert "B: GET /api/notes/" in " ".join(items["GET /api/notes/{note_id}"]["evidence"])
    assert items["GET /api/notes"]["observations"]["kind"] == "collection"
    assert not any("topics" in c["target"] and c["check"] == CHECK for c in report["gate"]["checks"])
    judged = {c["status"] for c in report["gate"]["checks"] if c["family"] in ("security", "contract")}
    assert judged == {"passed"}  # no other check trips over the second identity either
    authorization = report["security_measures"]["authorization"]
    assert authorization.startswith("role-based"), authorization
    assert authorization.endswith("kept from the first one's resources on 4 of 4 owner-scoped endpoint(s)")


@pytest.mark.parametrize(
    ("defect", "endpoint", "verb"),
    [
        ("get_any", "GET /api/notes/{note_id}", "read"),
        ("list_all", "GET /api/notes", "lists"),
        ("put_any", "PUT /api/notes/{note_id}", "changed"),
        ("delete_any", "DELETE /api/notes/{note_id}", "deleted"),
    ],
)
def test_reaching_another_callers_note_is_an_error_at_its_endpoint(
    pytester: pytest.Pytester, notes_project: NotesProject, defect: str, endpoint: str, verb: str
) -> None:
    root = notes_project(defect)
    result = pytester.runpytest("--backend-report", "-k", "object_access", "--backend-sarif", "gate.sarif")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = read_report(root)
    validate_report(report)
    findings = report["gate"]["findings"]
    assert {f["location"]["endpoint"] for f in findings} == {endpoint}
    assert {f["title"] for f in findings} == {
        f"another caller of role {role!r} {verb} a resource identity A created" for role in ("member", "editor")
    }
    first = findings[0]
    assert (first["check"], first["category"], first["severity"]) == (CHECK, "security", "error")
    reproduction = first["reproduction"]
    assert reproduction.count("curl -i") == 2
    assert "$BACKEND_AGENT_TOKEN_" in reproduction
    assert "$BACKEND_AGENT_OTHER_TOKEN_" in reproduction
    assert "eyJ" not in json.dumps(report)  # the identities' JWTs never appear
    statuses = {target: c["status"] for target, c in _items(report).items()}
    assert statuses.pop(endpoint) == "failed"
    assert set(statuses.values()) == {"passed"}  # the other owner-scoped endpoints stay kept to their creator
    assert report["security_measures"]["authorization"].startswith(f"not enforced: {endpoint}: another caller")
    rules = {r["ruleId"] for r in json.loads((root / "gate.sarif").read_text())["runs"][0]["results"]}
    assert rules == {CHECK}


def test_a_delete_answered_2xx_that_deletes_nothing_is_not_a_finding(
    pytester: pytest.Pytester, notes_project: NotesProject
) -> None:
    """Idempotent 204 to anyone's DELETE, with the note still there: the gate cannot tell, so not verified."""
    root = notes_project("fake_delete")
    result = pytester.runpytest("--backend-report", "-k", "object_access")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    report = read_report(root)
    assert report["gate"]["findings"] == []
    delete = _items(report)["DELETE /api/notes/{note_id}"]
    assert delete["status"] == "not verified"
    assert "yet A's GET then got 200" in delete["summary"]


@pytest.mark.parametrize(
    ("variable", "words"),
    [
        ("NOTES_NO_OTHER", "implement pytest_backend_other_auth_headers(role, backend)"),
        ("NOTES_SAME_OTHER", "pytest_backend_other_auth_headers must return another user of"),
    ],
)
def test_without_a_second_identity_every_item_is_not_verified(
    pytester: pytest.Pytester,
    notes_project: NotesProject,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    words: str,
) -> None:
    root = notes_project("get_any")  # a defect that must not pass as "passed" when it cannot be seen
    monkeypatch.setenv(variable, "1")
    result = pytester.runpytest("--backend-report", "-k", "object_access", "-rs")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    result.assert_outcomes(skipped=len(OWNED))
    items = _items(read_report(root))
    assert {c["status"] for c in items.values()} == {"not verified"}
    assert all(words in c["summary"] for c in items.values()), [c["summary"] for c in items.values()]
    if variable == "NOTES_NO_OTHER":
        result.stdout.fnmatch_lines(["*not verified*BACKEND_AGENT_OTHER_TOKEN_MEMBER*"])


def test_under_xdist_the_finding_and_verdicts_match(pytester: pytest.Pytester, notes_project: NotesProject) -> None:
    root = notes_project("get_any")
    result = pytester.runpytest("--backend-report", "-k", "object_access", "-n", "2")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = read_report(root)
    validate_report(report)
    statuses = {target: c["status"] for target, c in _items(report).items()}
    assert statuses == {target: "failed" if target == "GET /api/notes/{note_id}" else "passed" for target in OWNED}
    assert {f["location"]["endpoint"] for f in report["gate"]["findings"]} == {"GET /api/notes/{note_id}"}


def test_the_second_identity_can_come_from_the_environment(
    pytester: pytest.Pytester, notes_project: NotesProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BACKEND_AGENT_OTHER_TOKEN_MEMBER alone: members are judged, editors listed as not checked; the token is
    a secret like the first identity's."""
    import time

    import jwt

    root = notes_project("get_any")
    secret = "object-access-test-signing-key-0123456789"
    monkeypatch.setenv("NOTES_APP_JWT_SECRET", secret)
    monkeypatch.setenv("NOTES_NO_OTHER", "1")
    now = int(time.time())
    token = jwt.encode({"sub": "member-b", "role": "member", "iat": now, "exp": now + 600}, secret, algorithm="HS256")
    monkeypatch.setenv("BACKEND_AGENT_OTHER_TOKEN_MEMBER", token)
    result = pytester.runpytest("--backend-report", "-k", "object_access")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = read_report(root)
    [found] = report["gate"]["findings"]
    assert found["title"] == "another caller of role 'member' read a resource identity A created"
    assert '"Authorization: Bearer $BACKEND_AGENT_OTHER_TOKEN_MEMBER"' in found["reproduction"]
    item = _items(report)["GET /api/notes/{note_id}"]
    assert "not checked: no second identity of role 'editor'" in " ".join(item["evidence"])
    assert token not in json.dumps(report)
    assert token.split(".")[2] not in result.stdout.str()
