"""Results judged at session end, handed to pytest's reporters as if items had run.

Coverage, the endpoints the project's own tests call and the claims of a submitted report can only be judged
once every test has run, on the controller. They are not items, but a CI reader expects them where the items
are: in the pass/fail counts, the short summary, ``--junitxml`` (with the same readable properties as an item)
and ``--lf``. One call and one teardown :class:`pytest.TestReport` per result, sent through
``pytest_runtest_logreport``, puts them there.
"""

from __future__ import annotations

from typing import Any, Literal

import pytest

from pytest_backend_agent.findings import CheckOutcome, CheckStatus

__all__ = ["LATE", "late_reports"]

LATE = "backend_gate_late"
"""Attribute set on these reports, so the gate does not take them for results of its own items."""

_OUTCOME: dict[CheckStatus, Literal["passed", "failed", "skipped"]] = {
    CheckStatus.PASSED: "passed",
    CheckStatus.FAILED: "failed",
    CheckStatus.NOT_VERIFIED: "skipped",
}


def late_reports(nodeid: str, outcome: CheckOutcome, *, location: str, failure_text: str) -> list[pytest.TestReport]:
    """The call and teardown reports of one session-end result ``nodeid`` (``backend-gate::verify[...]``)."""
    from pytest_backend_agent.report.junit import junit_properties

    status = _OUTCOME[outcome.status]
    domain = nodeid.split("::", 1)[-1]
    described = f"{nodeid.split('::', 1)[0]}: {outcome.check} {outcome.target}"  # as a gate item's reportinfo
    longrepr: Any = None
    if status == "failed":
        longrepr = failure_text
    elif status == "skipped":
        longrepr = (location, 0, f"Skipped: not verified: {outcome.summary}")
    common: dict[str, Any] = {
        "nodeid": nodeid,
        "location": (location, None, described),
        "keywords": {domain: 1, "backend_gate": 1, outcome.family: 1},
        "duration": outcome.duration_s or 0.0,
        LATE: True,
    }
    call = pytest.TestReport(outcome=status, longrepr=longrepr, when="call", user_properties=[], **common)
    teardown = pytest.TestReport(
        outcome="passed", longrepr=None, when="teardown", user_properties=junit_properties(outcome), **common
    )
    return [call, teardown]
