"""Pure parts of the fuzz family on real Schemathesis cases: phase names, request identity, credentials."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_backend_agent.checks.fuzz_judge import Target, _request_key, _without_mutated_credentials
from pytest_backend_agent.errors import GateUsageError
from pytest_backend_agent.settings import DEFAULT_FUZZ_PHASES, _fuzz_phases

DOCUMENT = {
    "openapi": "3.0.3",
    "info": {"title": "t", "version": "1"},
    "paths": {
        "/items": {
            "get": {
                "parameters": [
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 9}},
                    {"name": "Authorization", "in": "header", "required": True, "schema": {"type": "string"}},
                ],
                "responses": {"200": {"description": "ok"}},
            }
        }
    },
}
TARGET = Target("GET /items", "member", {"Authorization": "Bearer t"}, None)


class _Raw:
    def __init__(self, value: str | None) -> None:
        self.value = value

    def raw(self, name: str) -> tuple[str | None, None]:
        assert name == "fuzz_phases"
        return self.value, None


def coverage_cases() -> list[Any]:
    from schemathesis import GenerationMode, openapi
    from schemathesis.generation.drivers import CoverageGenerator
    from schemathesis.generation.feedback import NO_FEEDBACK
    from schemathesis.generation.overrides import Override

    operation = openapi.from_dict(DOCUMENT)["/items"]["GET"]
    generation = operation.schema.config.generation_for(operation=operation, phase="coverage")
    return list(
        CoverageGenerator(
            operation=operation,
            generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
            generation_config=generation,
            auth_storage=None,
            override=Override(),
            feedback=NO_FEEDBACK,
        )
    )


@pytest.mark.parametrize(
    ("value", "phases"),
    [
        (None, DEFAULT_FUZZ_PHASES),
        ("stateful, fuzzing", ("fuzzing", "stateful")),
        ("EXAMPLES,coverage,fuzzing,stateful", ("examples", "coverage", "fuzzing", "stateful")),
    ],
)
def test_phases_are_parsed_in_run_order(value: str | None, phases: tuple[str, ...]) -> None:
    assert _fuzz_phases(_Raw(value)) == phases  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["examples,stateless", " , "])
def test_bad_phases_name_the_option(value: str) -> None:
    with pytest.raises(GateUsageError, match=r"--backend-fuzz-phases \(ini backend_fuzz_phases\)"):
        _fuzz_phases(_Raw(value))  # type: ignore[arg-type]


def test_coverage_reaches_the_declared_maximum_and_requests_are_told_apart() -> None:
    cases = coverage_cases()
    limits = [case.query.get("limit") for case in cases if case.query]
    assert 9 in limits or "9" in limits
    keys = [_request_key(case) for case in cases]
    assert None not in keys
    assert _request_key(cases[0]) == _request_key(cases[0])
    assert len(set(keys)) > 1


def test_only_a_coverage_case_that_spoils_the_credential_header_goes_without_credentials() -> None:
    spoiling = [
        case for case in coverage_cases() if getattr(case.meta.phase.data, "parameter", None) == "Authorization"
    ]
    assert spoiling
    for case in spoiling:
        assert _without_mutated_credentials(case, TARGET) == Target("GET /items", None, {}, None)
    other = next(c for c in coverage_cases() if getattr(c.meta.phase.data, "parameter", None) == "limit")
    assert _without_mutated_credentials(other, TARGET) is TARGET
