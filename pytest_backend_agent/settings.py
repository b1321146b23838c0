"""One resolved view of the gate's options, ini keys and defaults.

Paths given on the command line are relative to the directory pytest was started in, paths in the ini file
are relative to the ini file, defaults are relative to the rootdir (pytest's own conventions).
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import pytest

from pytest_backend_agent.errors import GateUsageError
from pytest_backend_agent.options import (
    DEFAULT_LOGIN,
    DEFAULT_PACKET,
    DEFAULT_QUALITY,
    DEFAULT_REPORT,
    DEFAULT_SIGNAL,
    QUALITY_TOOLS,
    gate_requested,
    parse_login_style,
)

__all__ = [
    "SETTINGS_KEY",
    "BackendMode",
    "Settings",
    "early_src_dir",
    "gate_enabled",
    "is_loopback_host",
    "resolve_settings",
]

BackendMode = Literal["app", "url", "command"]


@dataclass(frozen=True)
class Settings:
    """Everything the gate needs to know about this run, resolved once at configure time."""

    rootdir: Path
    report_path: Path
    signal_path: Path
    packet_path: Path
    config_path: Path | None
    src_dir: Path | None
    mode: BackendMode
    app: str | None
    url: str | None
    command: str | None
    allow_remote: bool
    openapi_path: str | None
    startup_timeout: float
    request_timeout: float
    quality_tools: tuple[str, ...]
    tool_timeout: float
    docstring_min: float | None
    base_ref: str | None
    fuzz_examples: int = 25
    fuzz_seed: int = 0
    fuzz_seed_given: bool = False
    fuzz_budget: float = 120.0
    fuzz_strict: bool = False
    fuzz_fail_on: tuple[str, ...] | None = None
    fuzz_skip_checks: tuple[str, ...] = ()
    fuzz_phases: tuple[str, ...] = ("examples", "coverage", "fuzzing")
    fuzz_enabled: bool = True
    quality_enabled: bool = True
    bandit_severity: str = "medium"
    bandit_confidence: str = "medium"
    login: str = "json:email"
    """How the gate logs in from ``BACKEND_AGENT_USER_<ROLE>``: ``json:FIELD`` or ``form`` (``--backend-login``)."""
    sarif_path: Path | None = None
    verify_path: Path | None = None
    """A submitted report whose claims the gate checks (``--backend-verify``); None when not verifying."""
    scratch_db: str | None = None
    markdown_path: Path | None = None
    step_summary_path: Path | None = None
    baseline_path: Path | None = None
    baseline_update: bool = False
    fail_on_severity: str = "error"


SETTINGS_KEY = pytest.StashKey[Settings]()


def gate_enabled(config: pytest.Config) -> bool:
    """True when this run asked for the gate (``--backend-report``, or ``--backend-verify`` which implies it)."""
    return gate_requested(config)


class _Resolver:
    """Reads one option from the command line, then the ini file, then a default."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.invocation_dir = config.invocation_params.dir
        self.ini_dir = config.inipath.parent if config.inipath else config.rootpath
        self.cli: Callable[[str], object] = lambda name: config.getoption(name, None)

    def raw(self, name: str) -> tuple[str | None, Path]:
        """The value of ``backend_<name>`` and the directory a relative path in it is relative to."""
        cli = self.cli("backend_" + name)
        if cli == "":
            return None, self.invocation_dir  # an empty option on the command line unsets the ini key
        if cli is not None:
            return str(cli), self.invocation_dir
        ini = self.config.getini("backend_" + name)
        if isinstance(ini, str) and ini.strip():
            return ini.strip(), self.ini_dir
        return None, self.config.rootpath

    def path(self, name: str, default: str | None = None) -> Path | None:
        value, base = self.raw(name)
        if value is None:
            if default is None:
                return None
            value = default
        return (base / value).resolve()

    def level(self, name: str, default: str) -> str:
        """A bandit level (low, medium, high)."""
        value, _ = self.raw(name)
        if value is None:
            return default
        if value.strip().lower() not in ("low", "medium", "high"):
            raise GateUsageError(
                f"--backend-{name.replace('_', '-')} (ini backend_{name}) must be low, medium or high, got {value!r}."
            )
        return value.strip().lower()

    def seconds(self, name: str, default: float) -> float:
        value, _ = self.raw(name)
        if value is None:
            return default
        try:
            seconds = float(value)
        except ValueError:
            seconds = -1.0
        if seconds <= 0:
            raise GateUsageError(
                f"--backend-{name.replace('_', '-')} (ini backend_{name}) must be a positive number of seconds, "
                f"got {value!r}."
            )
        return seconds


def is_loopback_host(host: str) -> bool:
    """True when every address ``host`` resolves to is a loopback address (127.0.0.0/8, ::1)."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(ipaddress.ip_address(str(a).split("%")[0]).is_loopback for a in addresses)


def _report_path(config: pytest.Config, resolver: _Resolver) -> Path:
    cli = config.getoption("backend_report")
    if cli in (DEFAULT_REPORT, "", None):  # None: the gate runs for --backend-verify
        ini = config.getini("backend_report")
        if isinstance(ini, str) and ini.strip():
            return (resolver.ini_dir / ini.strip()).resolve()
        return (config.rootpath / DEFAULT_REPORT).resolve()
    candidate = resolver.invocation_dir / str(cli)
    if str(cli).endswith(".py") or candidate.is_dir():
        raise GateUsageError(
            f"--backend-report took {cli!r} as the report path, but it looks like a test path. Write "
            f"--backend-report=PATH.json to name the report, or put test paths before --backend-report."
        )
    return candidate.resolve()


def _verify_path(resolver: _Resolver, report_path: Path) -> Path | None:
    """The submitted report to verify; it must not be where the gate writes its own report."""
    path = resolver.path("verify")
    if path is not None and path == report_path:
        raise GateUsageError(
            f"--backend-verify (ini backend_verify) names {path}, which is also where the gate writes its own "
            "report, so verifying it would overwrite the claims being verified. Copy the submitted report elsewhere "
            "(e.g. ARTIFACTS/qa/submitted-report.json) and verify that copy, or write the gate's report elsewhere "
            "with --backend-report=PATH."
        )
    return path


def _backend_target(resolver: _Resolver) -> tuple[BackendMode, str]:
    given = {name: resolver.raw(name)[0] for name in ("app", "url", "command")}
    chosen = [name for name, value in given.items() if value]
    if not chosen:
        raise GateUsageError(
            "the backend gate needs a backend: give one of --backend-app module:attr (an ASGI/WSGI app, called "
            "in-process), --backend-url URL (a running server) or --backend-command CMD (a server the gate "
            "starts on the port in {port} and $PORT), or set the ini key backend_app, backend_url or backend_command."
        )
    if len(chosen) > 1:
        names = ", ".join(f"--backend-{name}" for name in chosen)
        raise GateUsageError(f"give only one way to reach the backend, not {names} together.")
    mode: BackendMode = chosen[0]  # type: ignore[assignment]
    value = given[mode]
    assert value is not None  # noqa: S101 - chosen only holds set values
    return mode, value


def _check_app(value: str) -> None:
    module, sep, attr = value.partition(":")
    if not sep or not module or not attr:
        raise GateUsageError(
            f"--backend-app (ini backend_app) must look like module.path:attribute, e.g. app.main:app; got {value!r}."
        )


def _check_url(value: str, allow_remote: bool) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise GateUsageError(
            f"--backend-url (ini backend_url) must be an http:// or https:// URL with a host, got {value!r}."
        )
    if not allow_remote and not is_loopback_host(parts.hostname):
        raise GateUsageError(
            f"--backend-url {value} is not a loopback address: the gate sends probing and fuzzing traffic, so it "
            "only targets 127.0.0.1/localhost/::1 by default. Point it at a local server, or pass "
            "--backend-allow-remote (ini backend_allow_remote = true) if you own that server and mean it."
        )
    return value.rstrip("/")


def _quality_tools(resolver: _Resolver) -> tuple[str, ...]:
    value, _ = resolver.raw("quality")
    names = [name.strip().lower() for name in (value or DEFAULT_QUALITY).split(",") if name.strip()]
    if names == ["none"]:
        return ()
    unknown = [name for name in names if name not in QUALITY_TOOLS]
    if unknown or not names:
        raise GateUsageError(
            f"--backend-quality (ini backend_quality) takes {', '.join(QUALITY_TOOLS)} separated by commas, or none; "
            f"got {value!r}."
        )
    return tuple(name for name in QUALITY_TOOLS if name in names)


def _src_dir(resolver: _Resolver, app: str | None) -> Path | None:
    src = resolver.path("src")
    if src is not None:
        if not src.is_dir():
            raise GateUsageError(
                f"--backend-src (ini backend_src) names {src}, which is not a directory. Point it at the backend's "
                "source folder (the package with the app and its models)."
            )
        return src
    if app:
        top = app.partition(":")[0].split(".")[0]
        for base in (resolver.config.rootpath, resolver.config.rootpath / "src"):
            if (base / top).is_dir():
                return (base / top).resolve()
    return None


FUZZ_CHECK_NAMES = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
    "object_level_authorization",
    "success_status",
)


def _check_names(resolver: _Resolver, name: str) -> tuple[str, ...] | None:
    """A comma-separated list of fuzz check names, each one known (None when the option is not given)."""
    value, _ = resolver.raw(name)
    if value is None:
        return None
    names = tuple(part.strip() for part in value.split(",") if part.strip())
    unknown = [n for n in names if n not in FUZZ_CHECK_NAMES]
    if unknown:
        raise GateUsageError(
            f"--backend-{name.replace('_', '-')} (ini backend_{name}) names unknown check(s) {', '.join(unknown)}; "
            f"known checks: {', '.join(FUZZ_CHECK_NAMES)}."
        )
    return names


FUZZ_PHASES = ("examples", "coverage", "fuzzing", "stateful")
DEFAULT_FUZZ_PHASES = ("examples", "coverage", "fuzzing")


def _fuzz_phases(resolver: _Resolver) -> tuple[str, ...]:
    """The enabled fuzzing phases, in the order they run, each one known and at least one."""
    value, _ = resolver.raw("fuzz_phases")
    if value is None:
        return DEFAULT_FUZZ_PHASES
    names = {part.strip().lower() for part in value.split(",") if part.strip()}
    unknown = sorted(names - set(FUZZ_PHASES))
    if unknown or not names:
        what = f"names unknown phase(s) {', '.join(unknown)}" if unknown else "names no phase"
        raise GateUsageError(
            f"--backend-fuzz-phases (ini backend_fuzz_phases) {what}; give a comma-separated list of "
            f"{', '.join(FUZZ_PHASES)} (default: {','.join(DEFAULT_FUZZ_PHASES)}), or --backend-no-fuzz to skip "
            "fuzzing."
        )
    return tuple(phase for phase in FUZZ_PHASES if phase in names)


def _flag(config: pytest.Config, name: str) -> bool:
    return bool(config.getoption("backend_" + name, None) or config.getini("backend_" + name))


def _count(resolver: _Resolver, name: str, default: int) -> int:
    value, _ = resolver.raw(name)
    if value is None:
        return default
    if not value.isdigit() or int(value) < 1:
        raise GateUsageError(
            f"--backend-{name.replace('_', '-')} (ini backend_{name}) must be a whole number of at least 1, "
            f"got {value!r}."
        )
    return int(value)


def _fuzz_seed(config: pytest.Config, resolver: _Resolver) -> tuple[int, bool]:
    """The fuzz seed: given, handed down by the xdist controller, or drawn at random (and printed)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput and "backend_fuzz_seed" in workerinput:
        return int(workerinput["backend_fuzz_seed"]), bool(workerinput.get("backend_fuzz_seed_given"))
    value, _ = resolver.raw("fuzz_seed")
    if value is None:
        return secrets.randbelow(2**31), False
    try:
        return int(value), True
    except ValueError:
        raise GateUsageError(
            f"--backend-fuzz-seed (ini backend_fuzz_seed) must be an integer, got {value!r}."
        ) from None


def resolve_settings(config: pytest.Config) -> Settings:
    """Read and check every gate option; raise :class:`GateUsageError` with the fix when one is wrong."""
    resolver = _Resolver(config)
    allow_remote = bool(config.getoption("backend_allow_remote", None) or config.getini("backend_allow_remote"))
    mode, value = _backend_target(resolver)
    app = url = command = None
    if mode == "app":
        _check_app(value)
        app = value
    elif mode == "url":
        url = _check_url(value, allow_remote)
    else:
        command = value  # {port} is optional: the server may read the PORT environment variable instead
    config_path = resolver.path("config")
    if config_path is None and (config.rootpath / "project-config.json").is_file():
        config_path = config.rootpath / "project-config.json"
    openapi, _ = resolver.raw("openapi")
    seed, seed_given = _fuzz_seed(config, resolver)
    packet_path = resolver.path("packet", DEFAULT_PACKET)
    signal_path = resolver.path("signal", DEFAULT_SIGNAL)
    assert packet_path is not None  # noqa: S101 - a default is given
    assert signal_path is not None  # noqa: S101 - a default is given
    report_path = _report_path(config, resolver)
    baseline_path, baseline_update, fail_on_severity = _noise(config, resolver)
    return Settings(
        rootdir=config.rootpath,
        report_path=report_path,
        signal_path=signal_path,
        packet_path=packet_path,
        config_path=config_path,
        src_dir=_src_dir(resolver, app),
        mode=mode,
        app=app,
        url=url,
        command=command,
        allow_remote=allow_remote,
        openapi_path=openapi,
        login=_login(resolver),
        startup_timeout=resolver.seconds("startup_timeout", 30.0),
        request_timeout=resolver.seconds("request_timeout", 10.0),
        fuzz_examples=_count(resolver, "fuzz_examples", 25),
        fuzz_seed=seed,
        fuzz_seed_given=seed_given,
        fuzz_budget=resolver.seconds("fuzz_budget", 120.0),
        fuzz_strict=_flag(config, "fuzz_strict"),
        fuzz_fail_on=_check_names(resolver, "fuzz_fail_on"),
        fuzz_skip_checks=_check_names(resolver, "fuzz_skip_checks") or (),
        fuzz_phases=_fuzz_phases(resolver),
        fuzz_enabled=not _flag(config, "no_fuzz"),
        quality_enabled=not _flag(config, "no_quality"),
        bandit_severity=resolver.level("bandit_severity", "medium"),
        bandit_confidence=resolver.level("bandit_confidence", "medium"),
        sarif_path=resolver.path("sarif"),
        verify_path=_verify_path(resolver, report_path),
        scratch_db=_scratch_db(resolver),
        markdown_path=resolver.path("markdown"),
        step_summary_path=_step_summary(),
        quality_tools=_quality_tools(resolver),
        tool_timeout=resolver.seconds("tool_timeout", 300.0),
        docstring_min=_percent(resolver, "docstring_min"),
        base_ref=_base_ref(resolver),
        baseline_path=baseline_path,
        baseline_update=baseline_update,
        fail_on_severity=fail_on_severity,
    )


def _login(resolver: _Resolver) -> str:
    """The login body's shape: ``json:FIELD`` (default ``json:email``) or ``form``."""
    value, _ = resolver.raw("login")
    if value is None:
        return DEFAULT_LOGIN
    style = parse_login_style(value)
    if style is None:
        raise GateUsageError(
            f"--backend-login (ini backend_login) must be json:email (the default), json:username or json:FIELD for "
            f"another JSON field, or form (the OAuth2 password flow, application/x-www-form-urlencoded); got "
            f"{value!r}. It names how the gate posts $BACKEND_AGENT_USER_<ROLE> and $BACKEND_AGENT_PASSWORD_<ROLE> "
            "to the packet's api.authentication.token_endpoint."
        )
    return style


def _scratch_db(resolver: _Resolver) -> str | None:
    value, _ = resolver.raw("scratch_db")
    if value is None:
        return None
    scheme, sep, rest = value.partition("://")
    if not sep or not scheme or not scheme.replace("+", "").replace("_", "").isalnum():
        raise GateUsageError(
            "--backend-scratch-db (ini backend_scratch_db) must be a SQLAlchemy database URL such as "
            "postgresql+psycopg://user@127.0.0.1:5432/scratch or sqlite:///scratch.db; the value given is not one "
            "(it is not repeated here in case it holds a password)."
        )
    return value


def _noise(config: pytest.Config, resolver: _Resolver) -> tuple[Path | None, bool, str]:
    """The baseline path, whether to update it, and the severity that fails the gate."""
    baseline = resolver.path("baseline")
    update = _flag(config, "baseline_update")
    if update and baseline is None:
        raise GateUsageError(
            "--backend-baseline-update needs the file to write: give --backend-baseline=PATH (ini backend_baseline), "
            "e.g. --backend-baseline=backend-baseline.json."
        )
    value, _ = resolver.raw("fail_on_severity")
    severity = (value or "error").strip().lower()
    if severity not in ("error", "warning"):
        raise GateUsageError(
            f"--backend-fail-on-severity (ini backend_fail_on_severity) must be error (only errors fail the gate) or "
            f"warning (warnings fail it too), got {value!r}."
        )
    return baseline, update, severity


def _percent(resolver: _Resolver, name: str) -> float | None:
    value, _ = resolver.raw(name)
    if value is None:
        return None
    try:
        percent = float(value)
    except ValueError:
        percent = -1.0
    if not 0 <= percent <= 100:
        raise GateUsageError(
            f"--backend-{name.replace('_', '-')} (ini backend_{name}) must be a percentage from 0 to 100, "
            f"got {value!r}."
        )
    return percent


def _step_summary() -> Path | None:
    """``$GITHUB_STEP_SUMMARY``: the file GitHub Actions shows on the run's summary page, when set."""
    value = os.environ.get("GITHUB_STEP_SUMMARY", "").strip()
    return Path(value) if value else None


def _base_ref(resolver: _Resolver) -> str | None:
    value, _ = resolver.raw("base")
    if value is not None:
        return value
    for variable in ("GITHUB_BASE_REF", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME"):
        if os.environ.get(variable, "").strip():
            return os.environ[variable].strip()
    return None


def early_src_dir(config: pytest.Config, namespace: object) -> Path | None:
    """The source folder as far as it can be known before pytest parses its options (for measuring coverage
    from the very start); None when it cannot be known yet or is wrong (the real resolution reports that)."""
    resolver = _Resolver(config)
    resolver.cli = lambda name: getattr(namespace, name, None)
    try:
        app, _ = resolver.raw("app")
        return _src_dir(resolver, app)
    except GateUsageError:
        return None
