"""The static security items: bandit, hard-coded secrets, password hashing, HTTP calls without a timeout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_backend_agent.checks.context import GateContext
from pytest_backend_agent.checks.security.bandit_scan import BanditRun, at_least, run_bandit
from pytest_backend_agent.checks.security.common import file_location, finding, outcome, relative, source_files
from pytest_backend_agent.findings import CheckOutcome, CheckStatus, Finding

__all__ = ["check_bandit", "check_http_timeouts", "check_password_hashing", "check_secrets"]

# Reported by the dedicated items, so bandit's item does not report them twice.
_DEDICATED = frozenset({"B105", "B106", "B107", "B113"})
_NO_SRC = (
    "no source folder to scan: set --backend-src (ini backend_src) to the backend's source folder "
    "(with --backend-app it defaults to the app's package)"
)


def _src(context: GateContext) -> Path | None:
    return context.settings.src_dir


def _bandit(context: GateContext, src: Path) -> BanditRun:
    run: BanditRun | None = context.shared.get("bandit")
    if run is None:
        run = context.shared["bandit"] = run_bandit(src)
    return run


def _python_files(src: Path) -> list[Path]:
    return list(source_files(src, frozenset({".py"})))


def _no_python(src: Path, root: Path, reader: str) -> str:
    """Why a Python-only scanner cannot judge ``src``: it holds no Python file (a backend in another language)."""
    return (
        f"no Python file under {relative(src, root)} (tests excluded): {reader} reads Python source only, so this "
        "backend's code is not checked here"
    )


def _judged(
    check: str, target: str, findings: list[Finding], passed: str, evidence: list[str], **obs: Any
) -> CheckOutcome:
    if findings:
        summary = f"{len(findings)} finding(s): {findings[0].title}" + (" ..." if len(findings) > 1 else "")
        return outcome(check, target, CheckStatus.FAILED, summary, evidence=evidence, findings=findings, **obs)
    return outcome(check, target, CheckStatus.PASSED, passed, evidence=evidence, **obs)


def check_bandit(context: GateContext) -> CheckOutcome:
    """bandit on the source folder; issues at or above both thresholds fail, with file:line."""
    check, target = "security.bandit", "bandit"
    src = _src(context)
    if src is None:
        return outcome(check, target, CheckStatus.NOT_VERIFIED, _NO_SRC)
    try:
        run = _bandit(context, src)
    except ImportError:
        return outcome(check, target, CheckStatus.NOT_VERIFIED, "bandit is not installed (pip install bandit)")
    severity, confidence = context.settings.bandit_severity, context.settings.bandit_confidence
    root = context.settings.rootdir
    if not run.files:
        return outcome(check, target, CheckStatus.NOT_VERIFIED, _no_python(src, root, "bandit"))
    findings: list[Finding] = []
    below = 0
    for issue in run.issues:
        if issue.test_id in _DEDICATED:
            continue
        if not (at_least(issue.severity, severity) and at_least(issue.confidence, confidence)):
            below += 1
            continue
        findings.append(
            finding(
                check,
                f"bandit {issue.test_id} ({issue.test_name}): {issue.text}",
                file_location(issue.file, issue.line, root),
                evidence=f"severity {issue.severity}, confidence {issue.confidence}: {issue.code}",
                fix=f"See https://bandit.readthedocs.io/en/latest/plugins/index.html for {issue.test_id}; fix the "
                "code (a '# nosec' comment only hides it).",
            )
        )
    evidence = [
        f"bandit {run.version} scanned {len(run.files)} Python file(s) under {relative(src, root)} (tests excluded)",
        f"threshold: severity {severity} and confidence {confidence} or higher fail; {below} issue(s) below it",
    ]
    evidence.extend(f"could not scan {skipped}" for skipped in run.skipped)
    return _judged(
        check,
        target,
        findings,
        f"bandit found nothing at severity {severity}+ and confidence {confidence}+ in {len(run.files)} file(s)",
        evidence,
        files=len(run.files),
        issues=[[relative(i.file, root), i.line, i.test_id, i.severity, i.confidence] for i in run.issues],
    )


def check_secrets(context: GateContext) -> CheckOutcome:
    """Hard-coded secrets: bandit B105-B107 and key-shaped strings in source and config files."""
    from pytest_backend_agent.checks.security.secret_scan import bandit_secrets, scan_secrets

    check, target = "security.secrets", "secrets"
    src = _src(context)
    if src is None:
        return outcome(check, target, CheckStatus.NOT_VERIFIED, _NO_SRC)
    root = context.settings.rootdir
    evidence: list[str] = []
    hits = []
    try:
        run = _bandit(context, src)
        hits.extend(bandit_secrets(run.issues))
        if run.files:
            evidence.append(f"bandit B105-B107 (hard-coded passwords) on {len(run.files)} Python file(s)")
    except ImportError:
        evidence.append("bandit is not installed: names assigned string literals were not checked")
    shaped, scanned = scan_secrets(src)
    hits.extend(shaped)
    evidence.append(
        f"{scanned} source and config file(s) scanned for private keys, API keys, tokens, JWTs and connection "
        "strings with passwords"
    )
    seen: set[tuple[str, int]] = set()
    findings: list[Finding] = []
    for hit in sorted(hits, key=lambda h: (str(h.file), h.line)):
        key = (str(hit.file), hit.line)
        if key in seen:
            continue
        seen.add(key)
        findings.append(
            finding(
                check,
                f"{hit.kind} in the source",
                file_location(hit.file, hit.line, root),
                evidence=f"a literal {hit.preview}",
                fix="Read the secret from the environment or a secret store (os.environ['...']) and rotate the "
                "one that was committed.",
            )
        )
    return _judged(check, target, findings, "no hard-coded secret found", evidence)


def check_password_hashing(context: GateContext) -> CheckOutcome:
    """md5, sha1 or unsalted sha2 applied to a password fails; bcrypt, argon2, scrypt and pbkdf2 pass."""
    from pytest_backend_agent.checks.security.hashing import scan_password_hashing

    check, target = "security.password_hashing", "password-hashing"
    src = _src(context)
    if src is None:
        return outcome(check, target, CheckStatus.NOT_VERIFIED, _NO_SRC)
    files = _python_files(src)
    root = context.settings.rootdir
    if not files:
        return outcome(check, target, CheckStatus.NOT_VERIFIED, _no_python(src, root, "the password-hashing scan"))
    uses, strong = scan_password_hashing(files)
    findings = [
        finding(
            check,
            f"password hashed with {use.algorithm}" + ("" if use.salted else " (unsalted)"),
            file_location(use.file, use.line, root),
            evidence=use.code,
            fix="Hash passwords with a slow, salted algorithm: bcrypt, argon2 (argon2-cffi), scrypt "
            "(hashlib.scrypt) or pbkdf2 (hashlib.pbkdf2_hmac, 600k+ iterations).",
        )
        for use in uses
    ]
    evidence = [f"{len(files)} Python file(s) read"]
    evidence.append(
        f"password hashers in use: {', '.join(sorted(strong))}" if strong else "no known password hasher is called"
    )
    passed = (
        f"passwords are hashed with {', '.join(sorted(strong))}; no fast digest is applied to a password"
        if strong
        else "no fast digest (md5, sha1, unsalted sha2) is applied to a password"
    )
    return _judged(check, target, findings, passed, evidence, hashers=sorted(strong))


def check_http_timeouts(context: GateContext) -> CheckOutcome:
    """Outgoing HTTP calls that can hang: requests or urlopen without a timeout, httpx with timeout=None."""
    from pytest_backend_agent.checks.security.timeouts import scan_http_timeouts

    check, target = "security.http_timeouts", "http-timeouts"
    src = _src(context)
    if src is None:
        return outcome(check, target, CheckStatus.NOT_VERIFIED, _NO_SRC)
    files = _python_files(src)
    root = context.settings.rootdir
    if not files:
        return outcome(check, target, CheckStatus.NOT_VERIFIED, _no_python(src, root, "the HTTP-timeout scan"))
    findings = [
        finding(
            check,
            f"{call.call}(...) has no timeout",
            file_location(call.file, call.line, root),
            evidence=f"{call.why}: {call.code}",
            fix="Pass timeout= (e.g. timeout=10) so a slow or dead peer cannot hold a worker forever.",
        )
        for call in scan_http_timeouts(files)
    ]
    return _judged(
        check,
        target,
        findings,
        "every outgoing HTTP call (requests, httpx, urllib) has a timeout",
        [f"{len(files)} Python file(s) read"],
    )
