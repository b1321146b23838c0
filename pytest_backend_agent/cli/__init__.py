"""The ``backend-agent`` console command (also ``python -m pytest_backend_agent``), for people and agents outside
pytest.

Exit statuses: 0 success (or "valid"); 1 the document is invalid (``validate-*``); 4 bad input (a missing or
non-JSON file, a bad option, an unreachable backend, an existing output without ``--force``); ``gate`` returns
pytest's own exit status. Heavy modules are imported only by the subcommand that needs them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from pytest_backend_agent.options import DEFAULT_PACKET

__all__ = ["USAGE_ERROR", "build_parser", "main"]

USAGE_ERROR = 4
INVALID = 1

_EPILOG = """exit statuses:
  0  success; the document is valid
  1  the document is invalid (validate-report, validate-packet); every violation is listed with its JSON path
  4  bad input: a missing or non-JSON file, a bad option, an unreachable backend, an existing packet without --force
  gate returns pytest's exit status (0 passed, 1 the gate or a test failed, 4 usage error)

documentation: docs/cli.md"""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error exits with status 4 like the gate's own usage errors."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one subcommand per job, each with its own ``--help``."""
    parser = _Parser(
        prog="backend-agent",
        description="Check a backend against its architecture packet: validate the packet and the report, write a "
        "starter packet, run the gate.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    report = commands.add_parser(
        "validate-report",
        help="check a backend-implementation-report.json against contracts/backend-output-schema.json",
        description="Check an implementation report against contracts/backend-output-schema.json (schema only: "
        "nothing is re-observed). Prints 'valid' (exit 0) or every violation with its JSON path (exit 1); a "
        "missing or non-JSON file exits 4.",
    )
    report.add_argument("file", type=Path, metavar="FILE", help="the report (backend-implementation-report.json)")

    packet = commands.add_parser(
        "validate-packet",
        help="check an architecture packet as the gate reads it",
        description="Check an architecture packet the way the gate loads it (the packet schema, roles declared, no "
        "endpoint listed twice, an api.openapi file that exists). Prints 'valid' (exit 0, with a warning for "
        "fields the gate does not know) or every violation with its JSON path (exit 1); a missing or non-JSON "
        "file exits 4.",
    )
    packet.add_argument("file", type=Path, metavar="FILE", help="the packet (architecture-handover-packet.json)")

    init = commands.add_parser(
        "init",
        help="write a starter packet from a backend's OpenAPI document and ORM models",
        description="Write a starter architecture packet from a backend's OpenAPI document (a running server "
        "with --url, or an app imported in-process with --app) and its SQLAlchemy models (--src, by default the "
        "package of --app). Endpoints get method, path, description, authentication_required (the OpenAPI "
        "security requirements), success_status (lowest declared 2xx) and paginated (a limit/page_size-like "
        "query parameter); roles and budgets are left for the architect, and listed. Exit 0 when written, 4 "
        "on bad input (nothing written).",
    )
    target = init.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--url", metavar="URL", help="base URL of a running backend (loopback only unless --allow-remote)"
    )
    target.add_argument("--app", metavar="MODULE:ATTR", help="an ASGI/WSGI app to import in-process, e.g. app.main:app")
    init.add_argument(
        "--src", type=Path, metavar="DIR", help="source package with the SQLAlchemy models (default: --app's)"
    )
    init.add_argument(
        "--output",
        type=Path,
        default=Path(DEFAULT_PACKET),
        metavar="PATH",
        help=f"where to write (default: {DEFAULT_PACKET})",
    )
    init.add_argument("--force", action="store_true", help="replace an existing packet at --output")
    init.add_argument("--allow-remote", action="store_true", help="let --url name a host that is not loopback")
    init.add_argument("--openapi", metavar="PATH", help="URL path of the OpenAPI document (default: try /openapi.json)")

    commands.add_parser(
        "gate",
        help="run pytest --backend-report with the remaining arguments",
        description="Run pytest with --backend-report in this process, passing every further argument to pytest "
        "unchanged (e.g. backend-agent gate -k contract --backend-app=app.main:app). Adds --backend-report "
        "unless an argument already names it. Exits with pytest's exit status.",
        usage="backend-agent gate [PYTEST ARGS...]",
    )
    return parser


def _write(text: str) -> None:
    sys.stdout.write(text + "\n")


def _validate(kind: str, file: Path) -> int:
    from pytest_backend_agent.cli.validate import validate_packet_file, validate_report_file

    result = validate_report_file(file) if kind == "validate-report" else validate_packet_file(file)
    for warning in result.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    if result.valid:
        _write(f"{file}: valid")
        return 0
    _write(f"{file}: invalid, {len(result.violations)} violation(s):")
    for violation in result.violations:
        _write(f"  {violation}")
    return INVALID


def _gate(arguments: Sequence[str]) -> int:
    import pytest

    rest = list(arguments)
    if rest[:1] == ["--"]:
        rest = rest[1:]
    if not any(arg == "--backend-report" or arg.startswith("--backend-report=") for arg in rest):
        rest.insert(0, "--backend-report")
    return int(pytest.main(rest))


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand and return its exit status (see the module docstring)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["gate"] and arguments[1:] not in (["-h"], ["--help"]):
        return _gate(arguments[1:])
    parsed = build_parser().parse_args(arguments)
    from pytest_backend_agent.errors import GateUsageError

    try:
        if parsed.command in ("validate-report", "validate-packet"):
            return _validate(parsed.command, parsed.file)
        from pytest_backend_agent.cli.init_packet import InitRequest, run_init

        cwd = Path.cwd()
        run_init(
            InitRequest(
                output=(cwd / parsed.output).resolve(),
                force=parsed.force,
                url=parsed.url.rstrip("/") if parsed.url else None,
                app=parsed.app,
                src=(cwd / parsed.src).resolve() if parsed.src else None,
                allow_remote=parsed.allow_remote,
                openapi=parsed.openapi,
                cwd=cwd,
            ),
            _write,
        )
        return 0
    except GateUsageError as error:
        sys.stderr.write(f"error: {error}\n")
        return USAGE_ERROR
