"""What the project's own tests did in this session: the coverage they reached and the endpoints they called.

These are the quality family's session-wide hooks. In every process that runs tests, ``process_start`` takes
over the coverage measurement the plugin started before the conftest files were imported (or notes that
pytest-cov measures) and starts recording the requests the app receives; ``around_test`` names the running
test; ``around_gate`` pauses coverage while the gate does its own work, so that the figure is the project's
tests' alone. ``worker_output`` sends an xdist worker's data to the controller, and ``finish`` judges there.

Both judgments describe the whole suite, so they are "not verified" when the run deselected any of the
project's own tests (``-k``, ``-m``, ``--lf``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_backend_agent.checks.base import make_outcome
from pytest_backend_agent.checks.coverage import (
    DEFAULT_THRESHOLD,
    MEASUREMENT_KEY,
    Measurement,
    figures_of,
    judge_coverage,
    pytest_cov_coverage,
    start_measurement,
)
from pytest_backend_agent.checks.endpoint_tests import RequestRecorder, judge_endpoint_tests
from pytest_backend_agent.errors import GateUsageError
from pytest_backend_agent.findings import CheckOutcome
from pytest_backend_agent.report.project_files import project_root, shown_path

if TYPE_CHECKING:
    from pytest_backend_agent.checks.context import GateContext

__all__ = ["around_gate", "around_test", "finish", "process_start", "start_early", "worker_output"]


@dataclass
class Observer:
    """This process's observation of the project's own tests."""

    measurement: Measurement | None = None
    coverage_problem: str | None = None
    late_start: bool = False
    recorder: RequestRecorder = field(default_factory=RequestRecorder)
    started: bool = False


OBSERVER_KEY = pytest.StashKey[Observer]()


def _observer(config: pytest.Config) -> Observer:
    observer = config.stash.get(OBSERVER_KEY, None)
    if observer is None:
        observer = config.stash[OBSERVER_KEY] = Observer()
    return observer


def _measurement(config: pytest.Config) -> Measurement | None:
    """This process's coverage measurement: taken over by ``process_start``, or still the early one."""
    return _observer(config).measurement or config.stash.get(MEASUREMENT_KEY, None)


def _root(src: Path, rootdir: Path) -> Path:
    return project_root(rootdir, src)


def start_early(config: pytest.Config, namespace: Any) -> None:
    """Start measuring coverage before the project's conftest files import the backend (plugin wiring calls it)."""
    from pytest_backend_agent.checks.coverage import pytest_cov_requested
    from pytest_backend_agent.settings import early_src_dir

    if any(getattr(namespace, name, False) for name in ("collectonly", "help", "version")):
        return
    if pytest_cov_requested(namespace):
        return
    if getattr(namespace, "backend_no_quality", False) or config.getini("backend_no_quality"):
        return  # nothing will judge coverage or the endpoints the tests call: measuring them is needless work
    src = early_src_dir(config, namespace)
    if src is None:
        return
    measurement = start_measurement(src, _root(src, config.rootpath))
    config.stash[MEASUREMENT_KEY] = measurement
    if measurement is not None:
        config.add_cleanup(measurement.close)


def _cov_controller(config: pytest.Config) -> Any:
    plugin = config.pluginmanager.getplugin("_cov")
    controller = getattr(plugin, "cov_controller", None) if plugin is not None else None
    return controller if getattr(controller, "started", False) else None


def process_start(context: GateContext) -> None:
    """Before this process's first test, and before the gate opens the backend: own the coverage measurement,
    import the app (an app factory is called once more, for its class) and record the requests it receives."""
    config = context.config
    observer = _observer(config)
    if observer.started:
        return
    observer.started = True
    settings = context.settings
    if settings.src_dir is None:
        observer.coverage_problem = "no source folder to measure: set --backend-src (ini backend_src)"
    elif pytest_cov_coverage(config) is None:
        observer.measurement = config.stash.get(MEASUREMENT_KEY, None)
        if observer.measurement is None:
            observer.measurement = start_measurement(settings.src_dir, _root(settings.src_dir, settings.rootdir))
            observer.late_start = True
            if observer.measurement is not None:
                config.add_cleanup(observer.measurement.close)
        if observer.measurement is None:
            observer.coverage_problem = "coverage.py is not installed (pip install coverage)"
    if settings.mode != "app":
        observer.recorder.problem = (
            "the gate reaches the backend through a server (--backend-url / --backend-command), so it cannot see "
            "which requests the project's own tests send; run the gate with --backend-app to observe them"
        )
        return
    try:
        app = _import_app(context)  # measured: the project's tests import the same modules
    except GateUsageError as error:
        observer.recorder.problem = f"the app could not be imported: {error}"
        return
    if observer.recorder.install(app):
        config.add_cleanup(observer.recorder.uninstall)


def _import_app(context: GateContext) -> object:
    from pytest_backend_agent.backend.factory import import_app

    assert context.settings.app is not None  # noqa: S101 - mode app has an app
    return import_app(context.settings.app, context.settings.rootdir)


@contextlib.contextmanager
def around_test(context: GateContext, nodeid: str) -> Iterator[None]:
    """While one of the project's tests runs (setup to teardown), its requests are attributed to it."""
    recorder = _observer(context.config).recorder
    recorder.current = nodeid
    try:
        yield
    finally:
        recorder.current = ""


@contextlib.contextmanager
def around_gate(context: GateContext) -> Iterator[None]:
    """While the gate does its own work, coverage pauses (the gate's requests must not count)."""
    measurement = _measurement(context.config)
    controller = _cov_controller(context.config)
    if measurement is not None:
        measurement.pause()
    if controller is not None:
        controller.pause()
    try:
        yield
    finally:
        if controller is not None:
            controller.resume()
        if measurement is not None:
            measurement.resume()


def worker_output(context: GateContext) -> dict[str, Any]:
    """What an xdist worker observed: its coverage data, the requests of its tests, what it deselected."""
    observer = _observer(context.config)
    observer.recorder.uninstall()
    measurement = _measurement(context.config)
    return {
        "coverage": measurement.dumps() if measurement is not None else None,
        "coverage_problem": observer.coverage_problem,
        "late_start": observer.late_start,
        "hits": sorted({(nodeid, method, path) for nodeid, method, path in observer.recorder.hits}),
        "recorder_problem": observer.recorder.problem,
        "deselected": context.deselected_tests,
    }


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


def finish(context: GateContext, outputs: list[Any]) -> list[CheckOutcome]:
    """On the controller: judge coverage and the endpoints the project's tests called, over every process."""
    from pytest_backend_agent.checks.endpoint_tests import CHECK as ENDPOINT_CHECK
    from pytest_backend_agent.checks.endpoint_tests import TARGET as ENDPOINT_TARGET
    from pytest_backend_agent.findings import CheckStatus

    observer = _observer(context.config)
    observer.recorder.uninstall()
    settings = context.settings
    src = settings.src_dir
    root = _root(src, settings.rootdir) if src is not None else settings.rootdir
    target = shown_path(src, root) if src is not None else "src"
    deselected = context.deselected_tests + sum(int(o.get("deselected", 0)) for o in outputs)
    if deselected:
        why = (
            f"{deselected} of the project's own tests were deselected (-k, -m, --lf); coverage and the endpoints "
            "the tests call describe the whole suite, so a partial run does not judge them"
        )
        return [
            judge_coverage(None, why, target=target, threshold=0, threshold_source=""),
            make_outcome("quality", ENDPOINT_CHECK, ENDPOINT_TARGET, CheckStatus.NOT_VERIFIED, why),
        ]
    return [_judge_coverage(context, observer, outputs, target, root), _judge_endpoints(context, observer, outputs)]


def _judge_coverage(
    context: GateContext, observer: Observer, outputs: list[Any], target: str, root: Path
) -> CheckOutcome:
    from coverage.exceptions import CoverageException

    settings = context.settings
    packet_min = context.packet.non_functional.coverage_min_percent
    threshold = DEFAULT_THRESHOLD if packet_min is None else float(packet_min)
    threshold_source = (
        "the packet's non_functional.coverage_min_percent"
        if packet_min is not None
        else "the default: the packet sets no non_functional.coverage_min_percent"
    )
    problem = observer.coverage_problem or next(
        (o["coverage_problem"] for o in outputs if o.get("coverage_problem")), None
    )
    if settings.src_dir is None or problem:
        return judge_coverage(
            None, problem or "no source folder", target=target, threshold=threshold, threshold_source=threshold_source
        )
    src = settings.src_dir
    cov = pytest_cov_coverage(context.config)
    if cov is not None:
        branch = (
            "lines and branches" if cov.get_option("run:branch") else "lines only (run pytest-cov with --cov-branch)"
        )
        method = (
            f"read from pytest-cov {_package_version('pytest-cov')} (--cov), restricted to {target}; {branch}; the "
            "gate's own checks were not measured"
        )
    else:
        measurement = _measurement(context.config)
        if measurement is None:
            measurement = start_measurement(src, root)  # the controller measured nothing itself: only combine
            if measurement is None:
                return judge_coverage(
                    None,
                    "coverage.py is not installed (pip install coverage)",
                    target=target,
                    threshold=threshold,
                    threshold_source=threshold_source,
                )
            context.config.add_cleanup(measurement.close)
        dumps = [o["coverage"] for o in outputs if o.get("coverage")]
        measurement.combine(dumps)
        cov = measurement.cov
        where = f", combined from {len(dumps)} pytest-xdist workers" if outputs else ""
        late = observer.late_start or any(o.get("late_start") for o in outputs)
        method = (
            f"measured by the gate with coverage.py {_package_version('coverage')} over {target} (lines and "
            f"branches) while the project's own tests ran{where}; the gate's own checks were not measured"
            + ("; measuring started at session start, after the conftest files were imported" if late else "")
        )
    try:
        figures = figures_of(cov, src, root, method)
    except CoverageException as error:
        return judge_coverage(
            None,
            f"coverage.py has no data for {target}: {error}",
            target=target,
            threshold=threshold,
            threshold_source=threshold_source,
        )
    return judge_coverage(figures, "", target=target, threshold=threshold, threshold_source=threshold_source)


def _judge_endpoints(context: GateContext, observer: Observer, outputs: list[Any]) -> CheckOutcome:
    hits: list[list[str]] = [list(hit) for hit in observer.recorder.hits]
    problem = observer.recorder.problem
    for output in outputs:
        hits.extend(list(hit) for hit in output.get("hits", []))
        problem = problem or output.get("recorder_problem")
    if not outputs and not observer.started and problem is None:
        problem = "no process of this run observed the project's own tests"
    return judge_endpoint_tests(context.packet.api.endpoints, hits, problem)
