"""The gate's command-line options and ini keys, declared once.

Every option ``--backend-NAME`` has an ini twin ``backend_NAME``; the command line wins. This module is
imported when pytest starts, so it uses pytest and the standard library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

__all__ = [
    "DEFAULT_LOGIN",
    "DEFAULT_PACKET",
    "DEFAULT_QUALITY",
    "DEFAULT_REPORT",
    "DEFAULT_SIGNAL",
    "OPTIONS",
    "QUALITY_TOOLS",
    "Option",
    "add_options",
    "gate_requested",
    "parse_login_style",
]

DEFAULT_REPORT = "ARTIFACTS/backend-engineer/backend-implementation-report.json"
DEFAULT_PACKET = "ARTIFACTS/system-architect/architecture-handover-packet.json"
DEFAULT_SIGNAL = "ARTIFACTS/system/stage-completion-signal.json"
QUALITY_TOOLS = ("ruff", "format", "mypy")
DEFAULT_QUALITY = ",".join(QUALITY_TOOLS)
DEFAULT_LOGIN = "json:email"
_LOGIN_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Option:
    """One gate option: its name (``packet`` -> ``--backend-packet`` / ``backend_packet``) and help."""

    name: str
    help: str
    metavar: str = ""
    flag: bool = False

    @property
    def cli(self) -> str:
        """The command-line spelling, e.g. ``--backend-packet``."""
        return "--backend-" + self.name.replace("_", "-")

    @property
    def ini(self) -> str:
        """The ini key, e.g. ``backend_packet``."""
        return "backend_" + self.name

    @property
    def dest(self) -> str:
        """The attribute name on ``config.option``."""
        return "backend_" + self.name


OPTIONS: tuple[Option, ...] = (
    Option("packet", f"architecture packet JSON (default: {DEFAULT_PACKET})", "PATH"),
    Option("config", "project-config.json with the tech stack (default: project-config.json if present)", "PATH"),
    Option("src", "the backend's source folder for static checks (default: the package of --backend-app)", "DIR"),
    Option("app", "an ASGI or WSGI app to gate in-process, as module:attribute (e.g. app.main:app)", "MODULE:ATTR"),
    Option("url", "the base URL of a running backend (loopback only unless --backend-allow-remote)", "URL"),
    Option("command", "a command that starts the backend on the free loopback port in $PORT (and {port})", "CMD"),
    Option("allow_remote", "allow --backend-url to name a host that is not loopback", flag=True),
    Option("openapi", "where the backend serves its OpenAPI document (default: try /openapi.json)", "PATH"),
    Option(
        "login",
        "how the gate logs in at the packet's token_endpoint with $BACKEND_AGENT_USER_<ROLE> and "
        "$BACKEND_AGENT_PASSWORD_<ROLE>: json:email, json:username (any JSON field), or form (OAuth2 password "
        "flow) (default: json:email)",
        "STYLE",
    ),
    Option(
        "signal",
        f"where the stage-completion signal is written when the gate passes (default: {DEFAULT_SIGNAL})",
        "PATH",
    ),
    Option("startup_timeout", "seconds to wait for the backend to answer (default: 30)", "SECONDS"),
    Option("request_timeout", "seconds to wait for one response (default: 10)", "SECONDS"),
    Option(
        "fuzz_examples",
        "Hypothesis examples per operation in the fuzzing phase, valid and invalid mixed (default: 25)",
        "N",
    ),
    Option(
        "fuzz_phases",
        "comma-separated fuzzing phases: examples, coverage, fuzzing, stateful (default: examples,coverage,fuzzing)",
        "PHASES",
    ),
    Option("fuzz_seed", "seed for fuzzing; the one used is printed and stored in the report (default: random)", "S"),
    Option("fuzz_budget", "seconds for the whole fuzz phase, shared by the operations (default: 120)", "SECONDS"),
    Option("fuzz_strict", "let framework-default conformance gaps (undocumented statuses...) fail the gate", flag=True),
    Option(
        "fuzz_fail_on",
        "comma-separated fuzz checks whose failures fail the gate (default: the defect checks)",
        "CHECKS",
    ),
    Option("fuzz_skip_checks", "comma-separated Schemathesis checks not to run while fuzzing", "CHECKS"),
    Option("no_fuzz", "skip the fuzz items (they are reported as not verified)", flag=True),
    Option(
        "bandit_severity", "lowest bandit severity that fails the gate: low, medium or high (default: medium)", "LEVEL"
    ),
    Option(
        "bandit_confidence",
        "lowest bandit confidence that fails the gate: low, medium or high (default: medium)",
        "LEVEL",
    ),
    Option("sarif", "write the gate's findings as SARIF 2.1.0 to PATH (GitHub code scanning)", "PATH"),
    Option(
        "markdown",
        "write a short Markdown summary of the gate to PATH (a PR comment); it is also appended to "
        "$GITHUB_STEP_SUMMARY when that is set",
        "PATH",
    ),
    Option(
        "quality",
        f"static tools the quality checks run on --backend-src, comma-separated, or none (default: {DEFAULT_QUALITY})",
        "TOOLS",
    ),
    Option("no_quality", "skip the quality family: static tools, docstrings, coverage, endpoint tests", flag=True),
    Option("tool_timeout", "seconds a check waits for a background tool such as mypy (default: 300)", "SECONDS"),
    Option(
        "docstring_min",
        "fail quality.docstrings below this percentage of documented public functions and classes "
        "(default: report only)",
        "PERCENT",
    ),
    Option(
        "verify",
        "a backend-implementation-report.json someone submitted: check each of its claims against what the gate "
        "observes (runs the gate, like --backend-report)",
        "PATH",
    ),
    Option(
        "scratch_db",
        "database URL where data.migrations applies the Alembic migrations, best of the backend's server type, e.g. "
        "postgresql+psycopg://127.0.0.1/scratch; it must be empty or hold only these migrations, and keeps the "
        "tables (default: a temporary SQLite file)",
        "URL",
    ),
    Option(
        "baseline",
        "JSON file of accepted findings (fingerprint, reason, optional expiry); they stay in the report but fail "
        "nothing (docs/baselines.md)",
        "PATH",
    ),
    Option(
        "baseline_update",
        "write the --backend-baseline file from this run's findings: reasons and expiry of entries still seen are "
        "kept, new ones get a TODO reason, entries no longer seen are dropped",
        flag=True,
    ),
    Option(
        "fail_on_severity",
        "lowest finding severity that fails the gate: error or warning (default: error)",
        "LEVEL",
    ),
    Option(
        "base",
        "git ref the change is measured against: dependencies_added lists only what was added since it "
        "(default: $GITHUB_BASE_REF or $CI_MERGE_REQUEST_TARGET_BRANCH_NAME when set)",
        "REF",
    ),
)


def parse_login_style(value: str) -> str | None:
    """``--backend-login`` normalised, ``json:FIELD`` or ``form`` (bare ``json``: ``json:email``); None if invalid."""
    value = value.strip()
    if value.lower() == "form":
        return "form"
    kind, sep, field = value.partition(":")
    if kind.lower() != "json":
        return None
    if not sep:
        return DEFAULT_LOGIN
    return f"json:{field}" if _LOGIN_FIELD.match(field) else None


def gate_requested(config: pytest.Config, namespace: object | None = None) -> bool:
    """True when this run asked for the gate: ``--backend-report``, or ``--backend-verify`` / ini ``backend_verify``
    (which imply it). ``namespace``: the options known so far, before pytest has parsed them all."""
    if namespace is None:
        namespace = config.option
    if getattr(namespace, "backend_report", None) is not None:
        return True
    verify = getattr(namespace, "backend_verify", None)
    if verify is not None:
        return bool(str(verify).strip())  # an empty --backend-verify= unsets the ini key
    ini = config.getini("backend_verify")
    return isinstance(ini, str) and bool(ini.strip())


def add_options(parser: pytest.Parser) -> None:
    """Declare ``--backend-report`` and every option with its ini twin."""
    group = parser.getgroup("backend-agent", "backend gate (pytest-backend-agent)")
    group.addoption(
        "--backend-report",
        action="store",
        nargs="?",
        const=DEFAULT_REPORT,
        default=None,
        metavar="PATH",
        dest="backend_report",
        help=f"run the backend gate and write the implementation report (default path: {DEFAULT_REPORT})",
    )
    parser.addini("backend_report", "where the implementation report is written when the gate runs", default="")
    for option in OPTIONS:
        if option.flag:
            group.addoption(option.cli, action="store_true", default=None, dest=option.dest, help=option.help)
            parser.addini(option.ini, option.help, type="bool", default=False)
        else:
            group.addoption(
                option.cli, action="store", default=None, metavar=option.metavar, dest=option.dest, help=option.help
            )
            parser.addini(option.ini, option.help, default="")
