"""Stable fingerprints of findings: the same defect in the same place gets the same one run after run.

A fingerprint is the first 16 hex digits of a SHA-256 over four parts, each normalised:

- the check id;
- the place: the endpoint (``METHOD /path`` as in the packet), the data model, or for a file the path, the
  enclosing function or class (``Book.save``, ``<module>``) and the text of the finding's source line with its
  whitespace collapsed and a trailing comment dropped. Line numbers are not part of it, so code moving up or
  down leaves the fingerprint alone;
- the title and the evidence, with numbers, UUIDs, timestamps, hex strings and 0x-numbers masked and whitespace
  collapsed, so counts, ids and timings that change from run to run do not change it.

Fuzzing evidence keeps only its fixed fields (failure code, status, data mode): the failure message quotes
generated data, which depends on the seed. The evidence of other findings at an endpoint (live probes) stops
where a JSON body starts (``{`` or ``[``): what the backend answered holds data earlier requests created, which
differs between a serial run and an xdist worker.
"""

from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from pytest_backend_agent.findings import Finding

__all__ = ["FINGERPRINT_LENGTH", "SourceIndex", "fingerprint", "normalise_line", "normalise_text", "place_key"]

FINGERPRINT_LENGTH = 16

_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE)
_TIMESTAMP = re.compile(
    r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b"
    r"|\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b"
)
_HEX_PREFIXED = re.compile(r"\b0x[0-9a-f]+\b", re.IGNORECASE)
_HEX = re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:[.,_]\d+)*(?:e[-+]?\d+)?(?![\w])", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_TRAILING_COMMENT = re.compile(r"\s+#[^'\"]*$")
_JSON_BODY = re.compile(r"[{\[]")
_FIXED_FIELDS = {"fuzz.operation": 2}
"""Checks whose evidence starts with fixed ``; ``-separated fields followed by free text quoting generated data."""


def normalise_text(text: str) -> str:
    """``text`` with UUIDs, timestamps, hex strings and numbers masked and whitespace collapsed."""
    text = _UUID.sub("<uuid>", text)
    text = _TIMESTAMP.sub("<time>", text)
    text = _HEX_PREFIXED.sub("<hex>", text)
    text = _HEX.sub("<hex>", text)
    text = _NUMBER.sub("<n>", text)
    return _SPACE.sub(" ", text).strip()


def normalise_line(line: str) -> str:
    """A source line as the fingerprint sees it: whitespace collapsed, a trailing ``# comment`` dropped."""
    return _SPACE.sub(" ", _TRAILING_COMMENT.sub("", line)).strip()


def _symbols(source: str) -> list[tuple[int, int, str]]:
    """``(first line, last line, qualified name)`` of every function and class, outer before inner."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    found: list[tuple[int, int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                found.append((first, child.end_lineno or child.lineno, name))
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


@dataclass
class _SourceFile:
    lines: list[str]
    symbols: list[tuple[int, int, str]]


@dataclass
class SourceIndex:
    """Source files read once per process, for line texts, enclosing symbols and inline suppressions.

    Paths in findings are relative to ``rootdir`` (or absolute when outside it).
    """

    rootdir: Path
    _files: dict[str, _SourceFile | None] = field(default_factory=dict)

    def _file(self, name: str) -> _SourceFile | None:
        if name not in self._files:
            path = Path(name) if Path(name).is_absolute() else self.rootdir / name
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                self._files[name] = None
            else:
                symbols = _symbols(text) if path.suffix == ".py" else []
                self._files[name] = _SourceFile(text.splitlines(), symbols)
        return self._files[name]

    def line(self, name: str, number: int) -> str | None:
        """The raw text of line ``number`` (1-based) of file ``name``, or None when there is no such line."""
        source = self._file(name)
        if source is None or not 0 < number <= len(source.lines):
            return None
        return source.lines[number - 1]

    def symbol(self, name: str, number: int) -> str:
        """The innermost function or class around line ``number`` of ``name`` (``<module>`` outside any)."""
        source = self._file(name)
        inner = "<module>"
        for first, last, qualified in source.symbols if source else []:
            if first <= number <= last:
                inner = qualified  # outer scopes come first, so the last match is the innermost
        return inner


def place_key(finding: Finding, sources: SourceIndex) -> str:
    """The place part of the fingerprint (no line number)."""
    place = finding.location
    parts = [f"endpoint={place.endpoint}" if place.endpoint else "", f"model={place.model}" if place.model else ""]
    if place.file:
        parts.append(f"file={place.file}")
        if place.line:
            text = sources.line(place.file, place.line)
            if text is not None:
                parts.append(f"in={sources.symbol(place.file, place.line)}")
                parts.append(f"line={normalise_line(text)}")
    return "|".join(part for part in parts if part) or "(backend)"


def _evidence(finding: Finding) -> str:
    """The part of the evidence that identifies the finding: no generated data, no response bodies."""
    fixed = _FIXED_FIELDS.get(finding.check)
    if fixed is not None:
        return "; ".join(finding.evidence.split("; ")[:fixed])
    if finding.location.endpoint and not finding.location.file:
        return _JSON_BODY.split(finding.evidence, maxsplit=1)[0]
    return finding.evidence


def fingerprint(finding: Finding, sources: SourceIndex) -> str:
    """The finding's stable fingerprint (see the module docstring and docs/baselines.md)."""
    parts = (
        "v1",
        finding.check,
        place_key(finding, sources),
        normalise_text(finding.title),
        normalise_text(_evidence(finding)),
    )
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:FINGERPRINT_LENGTH]
