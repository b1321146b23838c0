"""The "backend gate" section of pytest's terminal summary."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_backend_agent.findings import CheckOutcome, CheckStatus, Finding, Severity, family_counts
from pytest_backend_agent.report.project_files import shown_path

if TYPE_CHECKING:
    from pytest_backend_agent.noise.baseline import BaselineUpdate
    from pytest_backend_agent.report.model import VerificationSection

__all__ = ["SHOWN", "summary_lines"]

SHOWN = 10
"""Findings shown per failed check; the report holds them all."""
CLAIM_CHARS = 200
"""Characters of a claim and of an observation shown per line; the report holds them whole."""


def summary_lines(
    outcomes: list[CheckOutcome],
    *,
    verdict: str | None,
    reasons: list[str],
    report_path: Path | None,
    signal_path: Path | None,
    rootdir: Path,
    problem: str | None,
    fuzz_seed: int | None = None,
    verification: VerificationSection | None = None,
    baseline_update: BaselineUpdate | None = None,
    baseline_path: Path | None = None,
) -> list[tuple[str, dict[str, bool]]]:
    """Lines (with markup) summarising the gate: families x statuses, failures with fixes, the verified claims,
    what was written."""
    lines: list[tuple[str, dict[str, bool]]] = []
    lines.append((f"{'family':<12}{'passed':>8}{'failed':>8}{'not verified':>14}", {"bold": True}))
    for family, row in sorted(family_counts(outcomes).items()):
        text = (
            f"{family:<12}{row[CheckStatus.PASSED]:>8}{row[CheckStatus.FAILED]:>8}{row[CheckStatus.NOT_VERIFIED]:>14}"
        )
        lines.append((text, {"red": row[CheckStatus.FAILED] > 0}))
    checks = [o for o in outcomes if o.family != "verify"]  # claims have their own block below
    failed = [o for o in checks if o.status is CheckStatus.FAILED]
    listed: set[int] = set()
    if failed:
        lines.append(("failed:", {"red": True, "bold": True}))
        for outcome in failed:
            counting = [f for f in outcome.findings if f.accepted is None]
            errors = [f for f in counting if f.severity is Severity.ERROR] or counting
            listed.update(id(finding) for finding in errors)
            for finding in errors[:SHOWN]:
                lines.append((f"  {finding.one_line()}", {"red": True}))
                if finding.fix:
                    lines.append((f"      fix: {finding.fix}", {}))
            if len(errors) > SHOWN:
                lines.append(
                    (f"  ... and {len(errors) - SHOWN} more from {outcome.check} (see the report)", {"red": True})
                )
            if not errors:
                lines.append((f"  [{outcome.check}] {outcome.target}: {outcome.summary}", {"red": True}))
    unverified = [o for o in checks if o.status is CheckStatus.NOT_VERIFIED]
    if unverified:
        lines.append(("not verified:", {"yellow": True, "bold": True}))
        lines.extend((f"  [{o.check}] {o.target}: {o.summary}", {"yellow": True}) for o in unverified)
    warnings = [
        f
        for o in outcomes
        for f in o.findings
        if f.severity is Severity.WARNING and f.accepted is None and id(f) not in listed
    ]
    if warnings:
        lines.append((f"warnings ({len(warnings)}):", {"yellow": True, "bold": True}))
        lines.extend((f"  {w.one_line()}", {"yellow": True}) for w in warnings)
    if verification is not None:
        lines.extend(_verification_lines(verification, rootdir))
    lines.extend(_accepted_lines([f for o in outcomes for f in o.findings]))
    if baseline_update is not None and baseline_path is not None:
        lines.extend(_update_lines(baseline_update, shown_path(baseline_path, rootdir)))
    if fuzz_seed is not None:
        lines.append((f"fuzz seed {fuzz_seed} (replay with --backend-fuzz-seed={fuzz_seed})", {}))
    if problem:
        lines.append((f"report NOT written: {problem}", {"red": True, "bold": True}))
    elif verdict is not None:
        colour = {"green": True} if verdict == "passed" else {"red": True}
        lines.append((f"gate {verdict.upper()}: " + "; ".join(reasons), {**colour, "bold": True}))
        if report_path is not None:
            lines.append((f"report: {shown_path(report_path, rootdir)}", {}))
        if signal_path is not None:
            lines.append((f"stage-completion signal: {shown_path(signal_path, rootdir)}", {}))
    return lines


def _cut(text: str) -> str:
    return text if len(text) <= CLAIM_CHARS else text[: CLAIM_CHARS - 3] + "..."


def _verification_lines(section: VerificationSection, rootdir: Path) -> list[tuple[str, dict[str, bool]]]:
    """The claims of a submitted report: counts, then each contradicted and each unverified claim by node id."""
    counts = section.counts
    total = counts.passed + counts.failed + counts.not_verified
    lines: list[tuple[str, dict[str, bool]]] = [
        (
            f"verification of {section.source}: {total} claims: {counts.passed} confirmed, {counts.failed} "
            f"contradicted, {counts.not_verified} not verified",
            {"bold": True, "red": counts.failed > 0, "green": counts.failed == 0},
        )
    ]
    for claim in section.claims:
        if claim.status is CheckStatus.FAILED:
            text = f"  FAILED {claim.nodeid}: claims {_cut(claim.claim)}; observed: {_cut(claim.observation)}"
            lines.append((text, {"red": True}))
    for claim in section.claims:
        if claim.status is CheckStatus.NOT_VERIFIED:
            text = f"  not verified {claim.nodeid}: claims {_cut(claim.claim)}; {_cut(claim.observation)}"
            lines.append((text, {"yellow": True}))
    return lines


def _accepted_lines(findings: list[Finding]) -> list[tuple[str, dict[str, bool]]]:
    """``N findings accepted by baseline/inline suppressions``, and how many still carry the TODO reason."""
    from pytest_backend_agent.noise.baseline import TODO_REASON

    accepted = [f for f in findings if f.accepted is not None]
    if not accepted:
        return []
    by = Counter(f.accepted.by for f in accepted if f.accepted is not None)
    lines = [
        (
            f"{len(accepted)} finding{'s' if len(accepted) != 1 else ''} accepted by baseline/inline suppressions "
            f"({by['baseline']} baseline, {by['inline']} inline; listed in the report's gate.findings)",
            {"yellow": True},
        )
    ]
    todo = sum(1 for f in accepted if f.accepted is not None and f.accepted.reason == TODO_REASON)
    if todo:
        says = "still says" if todo == 1 else "still say"
        lines.append((f"  {todo} of them {says} '{TODO_REASON}': write the real reason in the baseline", {}))
    return lines


def _entries(count: int, adjective: str = "") -> str:
    return f"{count} {adjective}{'entry' if count == 1 else 'entries'}"


def _update_lines(update: BaselineUpdate, shown: str) -> list[tuple[str, dict[str, bool]]]:
    """What ``--backend-baseline-update`` wrote, added and dropped."""
    from pytest_backend_agent.noise.baseline import TODO_REASON

    entries = len(update.baseline.entries)
    lines: list[tuple[str, dict[str, bool]]] = [(f"baseline updated: {shown}: {_entries(entries)}", {"bold": True})]
    if update.added:
        lines.append(
            (
                f"  {_entries(len(update.added), 'new ')} with the reason "
                f"'{TODO_REASON}': replace it with why each finding is accepted",
                {"yellow": True},
            )
        )
        lines.extend((f"    + [{e.check}] {e.location}: {e.title}", {}) for e in update.added[:SHOWN])
        if len(update.added) > SHOWN:
            lines.append((f"    ... and {len(update.added) - SHOWN} more (see the file)", {}))
    if update.dropped:
        lines.append((f"  dropped {_entries(len(update.dropped))} no longer seen:", {}))
        lines.extend((f"    - [{e.check}] {e.location}: {e.title}", {}) for e in update.dropped)
    if update.kept_unjudged:
        lines.append(
            (
                f"  kept {_entries(len(update.kept_unjudged))} whose "
                "check did not fully run in this session (deselected or not verified)",
                {},
            )
        )
    return lines
