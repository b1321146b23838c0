"""Hard-coded secrets: bandit's B105-B107 on Python code, and key-shaped strings in source and config files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pytest_backend_agent.checks.security.bandit_scan import BanditIssue
from pytest_backend_agent.checks.security.common import source_files

__all__ = ["SECRET_TESTS", "SecretHit", "bandit_secrets", "scan_secrets"]

SECRET_TESTS = frozenset({"B105", "B106", "B107"})
CONFIG_SUFFIXES = frozenset({".py", ".json", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".conf", ".env", ".properties"})
# Source code of other languages: scanned for key-shaped strings only, like Python (``name = value`` in code is
# mostly a variable, not a setting).
CODE_SUFFIXES = frozenset(
    {".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx", ".go", ".java", ".kt", ".rb", ".php", ".cs", ".rs"}
)
# Words bandit's name-based tests flag that are vocabulary, not secrets (OAuth token types, field names ...).
_VOCABULARY = frozenset(
    {
        "bearer",
        "basic",
        "digest",
        "token",
        "jwt",
        "password",
        "passwd",
        "secret",
        "access_token",
        "refresh_token",
        "token_type",
        "hs256",
        "rs256",
        "none",
        "null",
        "true",
        "false",
    }
)
_PLACEHOLDER = re.compile(r"^(\$\{?|<|%\(|\{|\*{3,}|x{4,}$|changeme$|change-me$|your[-_])", re.IGNORECASE)

# (kind, pattern): the value is group "value" when present, else the whole match.
_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("private key", re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----")),
    ("AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),
    ("Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b")),
    ("Stripe secret key", re.compile(r"\b[sr]k_live_[0-9A-Za-z]{16,}\b")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("JSON Web Token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    (
        "connection string with a password",
        re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@'\"]+:(?P<value>[^\s@'\"/]+)@[^\s'\"]+", re.IGNORECASE),
    ),
)
# name = "value" in config files (.env, YAML, TOML, JSON, INI); Python assignments are bandit's B105-B107.
_CONFIG_ASSIGNMENT = re.compile(
    r"""(?ix)["']?(?P<name>[a-z0-9_.-]*(?:secret|api[_-]?key|private[_-]?key|token|passw(?:or)?d|pwd)[a-z0-9_.-]*)["']?
    \s*[:=]\s*["']?(?P<value>[^\s"',#}\]]{8,})"""
)


@dataclass(frozen=True)
class SecretHit:
    """A hard-coded secret: where, what kind, and a masked preview (the value itself is never kept)."""

    file: Path
    line: int
    kind: str
    preview: str


def mask(value: str) -> str:
    """``s3cr3t-value`` -> ``s3…(12 chars)``: enough to find it, not enough to use it."""
    return f"{value[:2]}…({len(value)} chars)"


def looks_like_secret(value: str) -> bool:
    """A literal that could be a credential: not vocabulary, a path, a URL, a sentence or a placeholder."""
    value = value.strip()
    return (
        len(value) >= 6
        and value.lower() not in _VOCABULARY
        and not value.startswith(("/", "http://", "https://", "."))
        and not any(ch.isspace() for ch in value)
        and not _PLACEHOLDER.search(value)
    )


def bandit_secrets(issues: list[BanditIssue]) -> list[SecretHit]:
    """bandit's hard-coded password findings whose literal looks like a credential."""
    hits = []
    for issue in issues:
        if issue.test_id not in SECRET_TESTS:
            continue
        match = re.search(r":\s*'(.*)'\s*$", issue.text)
        value = match.group(1) if match else ""
        if match and not looks_like_secret(value):
            continue
        hits.append(SecretHit(issue.file, issue.line, f"hard-coded password ({issue.test_id})", mask(value)))
    return hits


def scan_secrets(src: Path) -> tuple[list[SecretHit], int]:
    """Key-shaped strings in source and config files under ``src`` (tests excluded); also the file count."""
    hits: list[SecretHit] = []
    files = list(source_files(src, CONFIG_SUFFIXES | CODE_SUFFIXES | frozenset({".env", ".env.example"})))
    files += [p for p in source_files(src) if p.name.startswith(".env") and p not in files]
    for path in files:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        is_code = path.suffix == ".py" or path.suffix in CODE_SUFFIXES
        for number, line in enumerate(text.splitlines(), start=1):
            for kind, pattern in _SHAPES:
                for match in pattern.finditer(line):
                    value = match.groupdict().get("value") or match.group(0)
                    if kind.startswith("connection") and not looks_like_secret(value):
                        continue
                    hits.append(SecretHit(path, number, kind, mask(value)))
            if not is_code:
                for match in _CONFIG_ASSIGNMENT.finditer(line):
                    value = match.group("value")
                    if looks_like_secret(value) and "://" not in value:
                        hits.append(SecretHit(path, number, f"hard-coded {match.group('name')}", mask(value)))
    return hits, len(files)
