"""The checked-in contracts equal what the models generate, and the example packet validates unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from pytest_backend_agent.contracts import CONTRACTS, render

ROOT = Path(__file__).parents[2]
EXAMPLE_PACKET = (
    ROOT / "examples" / "bookshelf" / "ARTIFACTS" / "system-architect" / ("architecture-handover-packet.json")
)


@pytest.mark.parametrize("filename", sorted(CONTRACTS))
def test_checked_in_contract_matches_the_models(filename: str) -> None:
    checked_in = (ROOT / "contracts" / filename).read_text(encoding="utf-8")
    assert checked_in == render(filename), (
        f"contracts/{filename} drifted from the models: run `python -m pytest_backend_agent.contracts contracts`"
    )


@pytest.mark.parametrize("filename", sorted(CONTRACTS))
def test_contract_is_a_valid_2020_12_schema(filename: str) -> None:
    schema = json.loads((ROOT / "contracts" / filename).read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_example_packet_validates_unchanged() -> None:
    schema = json.loads((ROOT / "contracts" / "architecture-handover-packet.schema.json").read_text())
    packet = json.loads(EXAMPLE_PACKET.read_text())
    Draft202012Validator(schema).validate(packet)


def test_report_contract_requires_the_handoff_sections() -> None:
    schema = json.loads((ROOT / "contracts" / "backend-output-schema.json").read_text())
    assert set(schema["required"]) >= {
        "api_endpoints_implemented",
        "data_models_created",
        "database_migrations",
        "external_integrations",
        "testing_coverage",
        "security_measures",
        "known_issues",
        "dependencies_added",
        "performance_notes",
        "gate",
    }
    endpoint = schema["$defs"]["ApiEndpoint"]
    assert set(endpoint["required"]) >= {"method", "path", "description", "authentication_required"}
    assert set(schema["$defs"]["TestingCoverage"]["required"]) >= {"unit_tests", "integration_tests", "api_tests"}
    assert set(schema["$defs"]["SecurityMeasures"]["required"]) == {
        "authentication",
        "authorization",
        "input_validation",
        "rate_limiting",
    }
