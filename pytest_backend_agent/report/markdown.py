"""The gate's result as a short Markdown summary for CI: a pull-request comment or a GitHub step summary.

Built from the same outcomes as the terminal summary (:mod:`pytest_backend_agent.report.terminal`), whose
findings are already redacted. Long lists are capped ("and N more") so the text fits a PR comment; the report
holds everything.
"""

from __future__ import annotations

import re
from pathlib import Path

from pytest_backend_agent.findings import CheckOutcome, CheckStatus, Finding, Severity, family_counts
from pytest_backend_agent.report.project_files import shown_path

__all__ = ["MAX_FAILURES", "MAX_NOT_VERIFIED", "MAX_REASONS", "markdown_summary"]

MAX_FAILURES = 8
"""Failing findings shown with their fix and reproduction."""
MAX_REASONS = 3
"""Reasons for the verdict shown under the heading (the failures follow anyway)."""
MAX_NOT_VERIFIED = 5
"""Checks shown that could not be verified."""

_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~])")


def _text(value: str) -> str:
    """``value`` on one line, with the characters Markdown would interpret escaped."""
    return _SPECIAL.sub(r"\\\1", " ".join(value.split()))


def _code(value: str) -> str:
    """``value`` as an inline code span (fenced with more backticks than it contains)."""
    value = " ".join(value.split())
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {value} " if value.startswith("`") or value.endswith("`") else value
    return f"{fence}{padded}{fence}"


def _block(value: str, indent: str) -> list[str]:
    """``value`` as a fenced ``sh`` block, indented to sit inside a list item."""
    longest = max((len(run) for run in re.findall(r"`{3,}", value)), default=2)
    fence = "`" * (longest + 1)
    return [f"{indent}{fence}sh", *(f"{indent}{line}" for line in value.splitlines()), f"{indent}{fence}"]


def _failure(finding: Finding) -> list[str]:
    lines = [f"- {_code(finding.check)} {_code(finding.location.describe())}: {_text(finding.title)}"]
    if finding.fix:
        lines.append(f"  - fix: {_text(finding.fix)}")
    if finding.reproduction:
        lines.append("  - reproduce:")
        lines.extend(_block(finding.reproduction, "    "))
    return lines


def _family_table(outcomes: list[CheckOutcome]) -> list[str]:
    lines = ["| family | passed | failed | not verified |", "| --- | ---: | ---: | ---: |"]
    for family, row in sorted(family_counts(outcomes).items()):
        failed = row[CheckStatus.FAILED]
        lines.append(
            f"| {_text(family)} | {row[CheckStatus.PASSED]} | {f'**{failed}**' if failed else failed} "
            f"| {row[CheckStatus.NOT_VERIFIED]} |"
        )
    return lines


def _failures(outcomes: list[CheckOutcome]) -> list[str]:
    shown: list[Finding] = []
    bare: list[CheckOutcome] = []
    for outcome in outcomes:
        if outcome.status is not CheckStatus.FAILED:
            continue
        errors = [f for f in outcome.findings if f.severity is Severity.ERROR] or outcome.findings
        shown.extend(errors)
        if not errors:
            bare.append(outcome)
    total = len(shown) + len(bare)
    if not total:
        return []
    lines = ["", f"### Failures ({total})", ""]
    for finding in shown[:MAX_FAILURES]:
        lines.extend(_failure(finding))
    for outcome in bare[: max(0, MAX_FAILURES - len(shown))]:
        lines.append(f"- {_code(outcome.check)} {_code(outcome.target)}: {_text(outcome.summary)}")
    if total > MAX_FAILURES:
        lines.append(f"- … and {total - MAX_FAILURES} more (see the report)")
    return lines


def _not_verified(outcomes: list[CheckOutcome]) -> list[str]:
    unverified = [o for o in outcomes if o.status is CheckStatus.NOT_VERIFIED]
    if not unverified:
        return []
    lines = ["", f"### Not verified ({len(unverified)})", ""]
    lines.extend(f"- {_code(o.check)} {_code(o.target)}: {_text(o.summary)}" for o in unverified[:MAX_NOT_VERIFIED])
    if len(unverified) > MAX_NOT_VERIFIED:
        lines.append(f"- … and {len(unverified) - MAX_NOT_VERIFIED} more (see the report)")
    return lines


def markdown_summary(
    outcomes: list[CheckOutcome],
    *,
    verdict: str | None,
    reasons: list[str],
    report_path: Path | None,
    signal_path: Path | None,
    rootdir: Path,
    problem: str | None,
    fuzz_seed: int | None = None,
) -> str:
    """The Markdown text: verdict, a table of families, failures with fix and curl, counts, where the report is."""
    if verdict == "passed":
        head = "## ✅ Backend gate passed"
    elif verdict == "failed":
        head = "## ❌ Backend gate failed"
    else:
        head = "## ⚠️ Backend gate: no verdict"
    lines = [head, ""]
    if reasons:
        more = f"; and {len(reasons) - MAX_REASONS} more" if len(reasons) > MAX_REASONS else ""
        lines.append(_text("; ".join(reasons[:MAX_REASONS]) + more))
        lines.append("")
    lines.extend(_family_table(outcomes))
    lines.extend(_failures(outcomes))
    lines.extend(_not_verified(outcomes))
    warnings = sum(1 for o in outcomes for f in o.findings if f.severity is Severity.WARNING)
    lines.append("")
    facts = [f"Warnings: {warnings}" + (" (listed in the report)" if warnings else "")]
    if fuzz_seed is not None:
        facts.append(f"fuzz seed {fuzz_seed} (replay with {_code(f'--backend-fuzz-seed={fuzz_seed}')})")
    lines.append(". ".join(facts) + ".")
    lines.append("")
    if problem:
        lines.append(f"**Report NOT written**: {_text(problem)}")
    elif report_path is not None:
        where = f"Report: {_code(shown_path(report_path, rootdir))}"
        if signal_path is not None:
            where += f"; stage-completion signal: {_code(shown_path(signal_path, rootdir))}"
        lines.append(where)
    return "\n".join(lines) + "\n"
