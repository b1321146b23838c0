"""The gate's findings as SARIF 2.1.0, for GitHub code scanning.

Static findings point at file:line. Live findings point at the route handler's source line when the app is
in-process and introspectable; otherwise at the line of the packet that names the endpoint.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from pytest_backend_agent import __version__
from pytest_backend_agent.findings import Acceptance, CheckOutcome, Finding, Severity
from pytest_backend_agent.packet.load import LoadedPacket
from pytest_backend_agent.packet.model import normalize_path

__all__ = ["SARIF_SCHEMA", "build_sarif"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _relative(path: Path, rootdir: Path) -> str:
    try:
        return path.resolve().relative_to(rootdir).as_posix()
    except ValueError:
        return path.resolve().as_uri()


def _packet_line(loaded: LoadedPacket, endpoint: str) -> int:
    method, _, path = endpoint.partition(" ")
    lines = loaded.text.splitlines()
    for index, line in enumerate(lines):
        if f'"{path}"' in line and any(f'"{method}"' in near for near in lines[max(0, index - 4) : index + 5]):
            return index + 1
    return 1


def _location(
    finding: Finding, rootdir: Path, loaded: LoadedPacket, handlers: dict[str, tuple[Path, int]]
) -> tuple[str, int]:
    place = finding.location
    if place.file:
        return place.file, place.line or 1
    if place.endpoint:
        method, _, path = place.endpoint.partition(" ")
        handler = handlers.get(f"{method} {normalize_path(path)}")
        if handler is not None:
            return _relative(handler[0], rootdir), handler[1]
        return _relative(loaded.path, rootdir), _packet_line(loaded, place.endpoint)
    return _relative(loaded.path, rootdir), 1


def _suppression(accepted: Acceptance) -> dict[str, Any]:
    """A SARIF suppression: ``inSource`` for an inline comment, ``external`` for a baseline entry."""
    suppression: dict[str, Any] = {
        "kind": "inSource" if accepted.by == "inline" else "external",
        "status": "accepted",
        "justification": accepted.reason,
    }
    if accepted.expires:
        suppression["properties"] = {"expires": accepted.expires}
    return suppression


def build_sarif(
    outcomes: list[CheckOutcome], *, rootdir: Path, loaded: LoadedPacket, handlers: dict[str, tuple[Path, int]]
) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run: a rule per check id, a result per finding (accepted ones suppressed)."""
    rules: dict[str, dict[str, Any]] = {}
    results: list[dict[str, Any]] = []
    for outcome in outcomes:
        for finding in outcome.findings:
            if finding.check not in rules:
                rules[finding.check] = {
                    "id": finding.check,
                    "name": finding.check.replace(".", "_"),
                    "shortDescription": {"text": f"backend gate check {finding.check}"},
                    "helpUri": "https://github.com/pytest-backend-agent/pytest-backend-agent/blob/main/docs/checks.md",
                    "properties": {"tags": [finding.category]},
                }
            uri, line = _location(finding, rootdir, loaded, handlers)
            text = finding.title
            expired = finding.expired_acceptance
            if expired is not None:
                text += f" (its {expired.by} acceptance expired on {expired.expires})"
            if finding.location.endpoint:
                text = f"{finding.location.endpoint}: {text}"
            if finding.evidence:
                text += f". Observed: {finding.evidence}"
            if finding.fix:
                text += f". Fix: {finding.fix}"
            fingerprint = hashlib.sha256(
                f"{finding.check}|{finding.location.describe()}|{finding.title}".encode()
            ).hexdigest()
            result: dict[str, Any] = {
                "ruleId": finding.check,
                "ruleIndex": list(rules).index(finding.check),
                "level": _LEVEL[finding.severity],
                "message": {"text": text},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": uri, **({} if ":" in uri else {"uriBaseId": "%SRCROOT%"})},
                            "region": {"startLine": line},
                        }
                    }
                ],
                "partialFingerprints": {"backendGate/v1": fingerprint},
            }
            if finding.fingerprint:
                result["partialFingerprints"]["backendGate/stable/v1"] = finding.fingerprint
            if finding.reproduction:
                result["properties"] = {"reproduction": finding.reproduction}
            if finding.accepted is not None:
                result["suppressions"] = [_suppression(finding.accepted)]
            results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "pytest-backend-agent",
                        "version": __version__,
                        "informationUri": "https://github.com/pytest-backend-agent/pytest-backend-agent",
                        "rules": list(rules.values()),
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": rootdir.resolve().as_uri() + "/"}},
                "results": results,
            }
        ],
    }
