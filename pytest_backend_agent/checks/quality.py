"""Quality checks: the backend's source under ``ruff check``, ``ruff format --check`` and mypy, each with the
project's own configuration.

Each tool runs once per session, started in the background when collection ends (on the pytest-xdist controller,
which runs no tests itself), so it overlaps the project's own tests. Its item, ``backend-gate::mypy[app]``, waits
for the result and turns every diagnostic into a finding at ``file:line``.
"""

from __future__ import annotations

import configparser
import importlib.util
import json
import os
import re
import shlex
import shutil
import sys
import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from pytest_backend_agent.background import ToolResult
from pytest_backend_agent.checks.base import CheckSpec, make_outcome
from pytest_backend_agent.checks.context import GateContext
from pytest_backend_agent.findings import CheckOutcome, CheckStatus, Finding, Location, Severity
from pytest_backend_agent.packet.model import Packet
from pytest_backend_agent.report.project_files import project_root, shown_path
from pytest_backend_agent.settings import Settings

__all__ = [
    "FAMILY",
    "TOOLS",
    "Diagnostic",
    "Tool",
    "judge",
    "parse_mypy",
    "parse_ruff",
    "parse_ruff_format",
    "quality_checks",
    "start",
]

FAMILY = "quality"
MAX_LISTED = 50
"""Findings listed per tool; the summary and the evidence give the full count."""

_MISSING_IMPORT = frozenset({"import-not-found", "import-untyped"})
_FORCE_COLOUR = frozenset({"FORCE_COLOR", "MYPY_FORCE_COLOR", "CLICOLOR_FORCE", "PY_COLORS"})
_MYPY_LINE = re.compile(
    r"^(?P<file>.+?):(?:(?P<line>\d+):)?(?:(?P<column>\d+):)? (?P<severity>error|warning|note): "
    r"(?P<message>.*?)(?:  \[(?P<code>[a-z0-9-]+)\])?$"
)
_HUNK = re.compile(r"^@@ -(?P<line>\d+)(?:,\d+)? \+\d+(?:,\d+)? @@")
_UNPARSABLE = re.compile(r"^error: Failed to parse (?P<file>.+?):(?P<line>\d+):(?P<column>\d+): (?P<message>.*)$")


@dataclass
class Diagnostic:
    """One message of a tool, at a place in the source."""

    file: str
    line: int | None
    column: int | None
    code: str | None
    message: str
    severity: Severity
    fix: str
    notes: list[str] = field(default_factory=list)


def parse_ruff(stdout: str, stderr: str = "") -> list[Diagnostic]:
    """Diagnostics from ``ruff check --output-format=json`` (an empty list when the output is not that JSON)."""
    try:
        entries = json.loads(stdout)
    except ValueError:
        return []
    if not isinstance(entries, list):
        return []
    diagnostics: list[Diagnostic] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        location: dict[str, Any] = entry.get("location") or {}
        code = entry.get("code") or entry.get("name")
        fix: dict[str, Any] | None = entry.get("fix")
        advice = ""
        if fix and fix.get("message"):
            how = "ruff check --fix" if fix.get("applicability") == "safe" else "ruff check --fix --unsafe-fixes"
            advice = f"{fix['message']} (`{how}` applies it)."
        url = entry.get("url")
        rule = f"Rule {code}: {url}" if url else ""
        diagnostics.append(
            Diagnostic(
                file=str(entry.get("filename", "")),
                line=location.get("row"),
                column=location.get("column"),
                code=str(code) if code else None,
                message=str(entry.get("message", "")),
                severity=Severity.ERROR,
                fix=" ".join(part for part in (advice, rule) if part) or "Correct the code, or configure the rule.",
            )
        )
    return diagnostics


def parse_ruff_format(stdout: str, stderr: str = "") -> list[Diagnostic]:
    """Diagnostics from ``ruff format --check --diff``: one per file it would reformat, at the first line that
    differs, and one per file it cannot parse (reported on stderr).

    The unified diff is read rather than ``--output-format=json``, which only recent ruff versions accept for
    ``format``; the diff has been there since ruff 0.1.
    """
    changed: dict[str, list[int]] = {}
    current: str | None = None
    line: int | None = None
    for raw in stdout.splitlines():
        if raw.startswith("--- "):
            current, line = raw[4:].strip(), None
            changed.setdefault(current, [])
            continue
        if current is None or raw.startswith("+++ "):
            continue
        hunk = _HUNK.match(raw)
        if hunk:
            line = int(hunk["line"])
        elif line is not None and raw.startswith(" "):
            line += 1
        elif line is not None and raw[:1] in ("-", "+"):
            changed[current].append(line)
            line = None  # one place per hunk: its first changed line
    diagnostics = [
        Diagnostic(
            file=path,
            line=lines[0] if lines else None,
            column=None,
            code="unformatted",
            message=f"file would be reformatted by ruff format (differs at line {', '.join(map(str, lines))})"
            if lines
            else "file would be reformatted by ruff format",
            severity=Severity.ERROR,
            fix=f"Run `ruff format {path}`, or configure the formatter in the project's ruff configuration.",
        )
        for path, lines in changed.items()
    ]
    for raw in stderr.splitlines():
        match = _UNPARSABLE.match(raw.strip())
        if match:
            diagnostics.append(
                Diagnostic(
                    file=match["file"],
                    line=int(match["line"]),
                    column=int(match["column"]),
                    code="invalid-syntax",
                    message=match["message"],
                    severity=Severity.ERROR,
                    fix="Correct the syntax error: ruff cannot format (and Python cannot import) the file.",
                )
            )
    return diagnostics


def parse_mypy(stdout: str, stderr: str = "") -> list[Diagnostic]:
    """Diagnostics from mypy's ``file:line:column: severity: message  [code]`` lines; notes join the one before.

    A module mypy cannot find or read types for (``import-not-found``, ``import-untyped``) is a warning: it says
    what mypy could not check, not that the code is wrong. The text format is read rather than ``-O json``, which
    mypy only has since 1.11: the gate runs whichever mypy the backend's environment has.
    """
    diagnostics: list[Diagnostic] = []
    for raw in stdout.splitlines():
        match = _MYPY_LINE.match(raw.rstrip())
        if match is None:
            continue
        if match["severity"] == "note":
            if diagnostics:
                diagnostics[-1].notes.append(match["message"])
            continue
        code = match["code"]
        if code in _MISSING_IMPORT:
            severity = Severity.WARNING
            fix = (
                "Install the package's type stubs or a typed version of it, or set ignore_missing_imports for it "
                "in the mypy configuration; until then the code that uses it is not type-checked."
            )
        else:
            severity = Severity.ERROR if match["severity"] == "error" else Severity.WARNING
            fix = "Correct the code or its annotations" + (
                f"; if mypy is wrong here, write `# type: ignore[{code}]` on the line and say why." if code else "."
            )
        diagnostics.append(
            Diagnostic(
                file=match["file"],
                line=int(match["line"]) if match["line"] else None,
                column=int(match["column"]) if match["column"] else None,
                code=code,
                message=match["message"],
                severity=severity,
                fix=fix,
            )
        )
    return diagnostics


def _has_section(path: Path, section: str) -> bool:
    """Whether the TOML or ini file ``path`` has ``section`` (``tool.ruff``, ``mypy``); an unreadable one counts."""
    if not path.is_file():
        return False
    if path.suffix == ".toml":
        try:
            data: Any = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return True  # let the tool itself say what is wrong with it
        for key in section.split("."):
            data = data.get(key) if isinstance(data, dict) else None
        return data is not None
    parser = configparser.ConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (OSError, configparser.Error):
        return True
    return parser.has_section(section)


@dataclass(frozen=True)
class Tool:
    """A static tool: how it is invoked on the source folder, how it is configured, how its output is read."""

    name: str
    """Its item and check name (``quality.<name>``) and its value in --backend-quality."""
    label: str
    """How messages call it, e.g. ``ruff format``."""
    module: str
    """The Python module run as ``python -m``, and the package to install."""
    arguments: tuple[str, ...]
    """What a person types (and the reproductions show)."""
    machine: tuple[str, ...]
    """Added so that the gate can read the output, whatever the project's configuration says."""
    parse: Callable[[str, str], list[Diagnostic]]
    on_path: bool
    """Whether an executable on PATH will do when the test environment lacks the module (not for mypy, which
    must see the backend's installed dependencies)."""
    per_file: bool
    """Whether a finding is reproduced on its own file (ruff) rather than on the whole source (mypy)."""
    config_files: tuple[str, ...]
    config_sections: tuple[tuple[str, str], ...]
    fallback: tuple[str, ...] = ()
    """Arguments used when the project does not configure the tool."""

    def configured(self, src: Path) -> bool:
        """Whether a configuration of this tool applies to ``src`` (looked for in it and every folder above)."""
        for folder in (src, *src.parents):
            if any((folder / name).is_file() for name in self.config_files):
                return True
            if any(_has_section(folder / name, section) for name, section in self.config_sections):
                return True
        return False

    def command(self, target: str, src: Path) -> list[str] | None:
        """The command that checks ``target``, or None when the tool is not installed."""
        arguments = [*self.arguments, *self.machine, *(() if self.configured(src) else self.fallback), target]
        if importlib.util.find_spec(self.module) is not None:
            return [sys.executable, "-m", self.module, *arguments]
        executable = shutil.which(self.module) if self.on_path else None
        return [executable, *arguments] if executable else None


RUFF_FALLBACK_RULES = "E4,E7,E9,F"
"""Without a project configuration, ruff's long-standing default rules (syntax, pyflakes: likely defects, not
style); the built-in default of recent ruff versions is much wider and changes between versions."""

_RUFF_FILES = ("ruff.toml", ".ruff.toml")
_RUFF_SECTIONS = (("pyproject.toml", "tool.ruff"),)
TOOLS: dict[str, Tool] = {
    "ruff": Tool(
        "ruff",
        "ruff check",
        "ruff",
        # --no-fix: a project configured with `fix = true` must not have its files edited by the gate.
        ("check", "--no-fix"),
        # --force-exclude: the project's own exclusions hold even for the folder named on the command line.
        ("--force-exclude", "--output-format=json"),
        parse_ruff,
        on_path=True,
        per_file=True,
        config_files=_RUFF_FILES,
        config_sections=_RUFF_SECTIONS,
        fallback=(f"--select={RUFF_FALLBACK_RULES}",),
    ),
    "format": Tool(
        "format",
        "ruff format",
        "ruff",
        ("format", "--check", "--diff"),
        ("--force-exclude",),
        parse_ruff_format,
        on_path=True,
        per_file=True,
        config_files=_RUFF_FILES,
        config_sections=_RUFF_SECTIONS,
    ),
    "mypy": Tool(
        "mypy",
        "mypy",
        "mypy",
        (),
        ("--show-column-numbers", "--show-absolute-path", "--show-error-codes", "--no-pretty", "--no-error-summary",
         "--no-color-output"),
        parse_mypy,
        on_path=False,
        per_file=False,
        config_files=("mypy.ini", ".mypy.ini"),
        config_sections=(("pyproject.toml", "tool.mypy"), ("setup.cfg", "mypy")),
    ),
}  # fmt: skip


def _where(settings: Settings) -> tuple[Path, str] | None:
    """The folder a tool runs in (the backend's project root, where its configuration is) and its target."""
    if settings.src_dir is None:
        return None
    cwd = project_root(settings.rootdir, settings.src_dir)
    return cwd, shown_path(settings.src_dir, cwd)


def start(context: GateContext, specs: list[CheckSpec]) -> None:
    """Start each selected tool in the background (the items wait for it); record at once why one cannot run."""
    where = _where(context.settings)
    src = context.settings.src_dir
    if where is None or src is None:
        return
    cwd, target = where
    env = {key: value for key, value in os.environ.items() if key not in _FORCE_COLOUR}
    for spec in specs:
        tool = TOOLS[spec.name]
        command = tool.command(target, src)
        if command is None:
            reason = f"{tool.module} is not installed in the environment that runs pytest (pip install {tool.module})"
            context.background.record(tool.name, ToolResult([], str(cwd), None, "", "", 0.0, reason))
        else:
            context.background.start(tool.name, command, cwd, env)


def _reproduction(tool: Tool, result: ToolResult, rootdir: Path, target: str | None = None) -> str:
    """The command a person runs to see the same, in the folder the gate ran it in (``target``: one file)."""
    command = [*result.command[:-1], target] if target else result.command
    shown = shlex.join(["python" if part == sys.executable else part for part in command if part not in tool.machine])
    cwd = shown_path(Path(result.cwd), rootdir)
    return shown if cwd == "." else f"cd {shlex.quote(cwd)} && {shown}"


def judge(tool: Tool, result: ToolResult, rootdir: Path) -> CheckOutcome:
    """The outcome of one finished tool run: failed on any error diagnostic, or when the tool itself failed."""
    check = f"{FAMILY}.{tool.name}"
    target = result.command[-1]
    cwd = Path(result.cwd)
    diagnostics = tool.parse(result.stdout, result.stderr)
    errors = [d for d in diagnostics if d.severity is Severity.ERROR]
    ran = f"ran `{_reproduction(tool, result, rootdir)}`: exit status {result.returncode} after {result.duration_s:g} s"
    evidence = [ran]
    fallback = bool(tool.fallback) and all(argument in result.command for argument in tool.fallback)
    if fallback:
        evidence.append(
            f"no {tool.module} configuration applies to {target}, so the gate chose {' '.join(tool.fallback)}; "
            f"configure {tool.module} in the project to set your own bar"
        )
    codes = Counter(d.code or "?" for d in diagnostics)
    if diagnostics:
        files = {d.file for d in diagnostics}
        evidence.append(
            f"{len(errors)} error(s), {len(diagnostics) - len(errors)} warning(s) in {len(files)} file(s); by code: "
            + ", ".join(f"{code} x{count}" for code, count in codes.most_common())
        )
    findings: list[Finding] = []
    for diagnostic in sorted(diagnostics, key=lambda d: d.severity is not Severity.ERROR)[:MAX_LISTED]:
        path = Path(diagnostic.file)
        absolute = path if path.is_absolute() else cwd / path
        shown = shown_path(absolute, rootdir)
        place = shown + "".join(f":{n}" for n in (diagnostic.line, diagnostic.column) if n)
        findings.append(
            Finding(
                check=check,
                category=FAMILY,
                severity=diagnostic.severity,
                title=f"{diagnostic.code} {diagnostic.message}" if diagnostic.code else diagnostic.message,
                location=Location(file=shown, line=diagnostic.line or None),
                evidence=" ".join([f"{tool.label} at {place}", *diagnostic.notes]),
                fix=diagnostic.fix,
                reproduction=_reproduction(tool, result, rootdir, shown_path(absolute, cwd) if tool.per_file else None),
            )
        )
    if len(diagnostics) > MAX_LISTED:
        evidence.append(f"{len(diagnostics) - MAX_LISTED} more not listed: run the command above to see them all")
    observations: dict[str, Any] = {
        "tool": tool.label,
        "command": result.command,
        "project_configuration": not fallback if tool.fallback else None,
        "exit_status": result.returncode,
        "duration_s": result.duration_s,
        "errors": len(errors),
        "warnings": len(diagnostics) - len(errors),
        "codes": dict(codes),
    }
    if errors:
        files_with_errors = len({d.file for d in errors})
        summary = f"{tool.label} reports {len(errors)} error(s) in {files_with_errors} file(s) of {target}"
        status = CheckStatus.FAILED
    elif (result.returncode != 0 and not diagnostics) or result.returncode not in (0, 1):
        output = (result.stderr.strip() or result.stdout.strip())[-1500:]
        summary = f"{tool.label} could not check {target} (exit status {result.returncode})"
        status = CheckStatus.FAILED
        findings.append(
            Finding(
                check=check,
                category=FAMILY,
                severity=Severity.ERROR,
                title=f"{tool.label} failed before it could check the source",
                location=Location(file=shown_path(cwd, rootdir)),
                evidence=output or "(no output)",
                fix=f"Run the command yourself and correct what it says, usually the project's {tool.module} "
                "configuration.",
                reproduction=_reproduction(tool, result, rootdir),
            )
        )
    else:
        status = CheckStatus.PASSED
        warned = len(diagnostics)
        summary = f"{tool.label} reports no error in {target}" + (f" ({warned} warning(s))" if warned else "")
    return make_outcome(FAMILY, check, target, status, summary, evidence=evidence, findings=findings, **observations)


def check_tool(context: GateContext, tool: Tool) -> CheckOutcome:
    """Wait for the tool's background run and judge it."""
    settings = context.settings
    where = _where(settings)
    check = f"{FAMILY}.{tool.name}"
    if where is None:
        return make_outcome(
            FAMILY,
            check,
            _target(settings),
            CheckStatus.NOT_VERIFIED,
            "no source folder to check: set --backend-src (ini backend_src)",
        )
    result = context.background.result(tool.name, settings.tool_timeout)
    if result is None or result.error is not None:
        return make_outcome(
            FAMILY,
            check,
            where[1],
            CheckStatus.NOT_VERIFIED,
            result.error
            if result is not None and result.error
            else f"{tool.label} did not finish within {settings.tool_timeout:g} s (--backend-tool-timeout)",
        )
    return judge(tool, result, settings.rootdir)


def _target(settings: Settings) -> str:
    where = _where(settings)
    return where[1] if where is not None else "src"


def quality_checks(packet: Packet, settings: Settings) -> list[CheckSpec]:
    """One item per tool named by --backend-quality, in a fixed order (ruff check, ruff format, mypy)."""
    target = _target(settings)
    return [
        CheckSpec(
            check=f"{FAMILY}.{name}",
            family=FAMILY,
            name=name,
            target=target,
            run=partial(check_tool, tool=TOOLS[name]),
            location=settings.src_dir,
        )
        for name in settings.quality_tools
    ]
