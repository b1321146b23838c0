"""The stateful gate plugin, registered only when ``--backend-report`` is given.

Hooks only: checks live in :mod:`pytest_backend_agent.checks`, the report in :mod:`pytest_backend_agent.report`.
Under pytest-xdist every worker collects and runs gate items against its own backend; findings travel to
the controller on ``report.user_properties``; only the controller writes the report.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_backend_agent.checks import FAMILIES, CheckSpec, gate_checks
from pytest_backend_agent.checks.context import GateContext
from pytest_backend_agent.errors import GateUsageError, GateWarning
from pytest_backend_agent.findings import CheckOutcome, CheckStatus
from pytest_backend_agent.items import GATE_NODE, PROPERTY, GateCollector, GateItem
from pytest_backend_agent.noise.baseline import Baseline, BaselineUpdate
from pytest_backend_agent.packet.load import LoadedPacket, load_packet
from pytest_backend_agent.report.late_results import LATE
from pytest_backend_agent.settings import Settings, resolve_settings

if TYPE_CHECKING:
    from pytest_backend_agent.report.model import BackendReport, VerificationSection
    from pytest_backend_agent.report.submitted import SubmittedReport

__all__ = ["GatePlugin"]

_WORK_DIR = "backend_gate_work_dir"
_NO_REPORT = (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR)


class GatePlugin:
    """Adds the gate items, collects their outcomes and writes the report at the end of the session."""

    def __init__(
        self,
        config: pytest.Config,
        settings: Settings,
        loaded: LoadedPacket,
        submitted: SubmittedReport | None = None,
        baseline: Baseline | None = None,
    ) -> None:
        self.config = config
        self.settings = settings
        self.loaded = loaded
        self.submitted = submitted
        self.verification: VerificationSection | None = None
        design = None
        if loaded.packet.api.openapi:
            from pytest_backend_agent.backend.openapi import load_document_file

            design = load_document_file((loaded.path.parent / loaded.packet.api.openapi).resolve())
        work_dir = getattr(config, "workerinput", {}).get(_WORK_DIR)
        self.context = GateContext(
            config, settings, loaded, design, Path(work_dir) if work_dir else None, baseline=baseline
        )
        self.baseline = baseline
        self.baseline_update: BaselineUpdate | None = None
        self.selected: set[str] | None = None
        """Names of the gate items that survived selection (-k, -m), once known."""
        self.specs = {spec.item_name: spec for spec in gate_checks(loaded.packet, settings)}
        self.is_worker = hasattr(config, "workerinput")
        self.families_started = False
        self.outcomes: list[tuple[str, CheckOutcome]] = []
        self.late: list[tuple[str, CheckOutcome]] = []
        """Results judged at session end (coverage, claims): not items, reported to pytest at the end."""
        self.own_tests: dict[str, tuple[list[str], str]] = {}
        self.worker_outputs: dict[str, list[Any]] = {}
        self.started = time.time()
        self.started_at = ""
        self.verdict: str | None = None
        self.fuzz_seed: int | None = None
        self.reasons: list[str] = []
        self.report_path: Path | None = None
        self.signal_path: Path | None = None
        self.problem: str | None = None
        self.step_summary_problem: str | None = None
        self.output_problems: list[str] = []
        """SARIF or Markdown outputs that could not be written (the report itself was)."""

    @classmethod
    def from_config(cls, config: pytest.Config) -> GatePlugin:
        """Resolve the settings and load the packet; bad input raises a usage error naming the fix."""
        settings = resolve_settings(config)
        loaded = load_packet(settings.packet_path)
        if settings.config_path is not None:
            from pytest_backend_agent.packet.load import load_project_config

            load_project_config(settings.config_path)
        warning = loaded.unknown_fields_warning()
        if warning is not None:
            try:
                config.issue_config_time_warning(warning, stacklevel=2)
            except GateWarning as error:  # filterwarnings = error turned it into an exception
                raise GateUsageError(str(error)) from None
        submitted = None
        if settings.verify_path is not None and not hasattr(config, "workerinput"):  # only the controller judges
            from pytest_backend_agent.report.submitted import load_submitted

            submitted = load_submitted(settings.verify_path)
        baseline = None
        if settings.baseline_path is not None:
            from pytest_backend_agent.noise.baseline import load_baseline

            baseline = load_baseline(settings.baseline_path, must_exist=not settings.baseline_update)
        return cls(config, settings, loaded, submitted, baseline)

    # ---- collection -----------------------------------------------------------------------------------
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        from pytest_backend_agent.report.write import now_iso

        self.started = time.time()
        self.started_at = now_iso()

    def _distributing(self, session: pytest.Session) -> bool:
        """True on a pytest-xdist controller (it runs no items; its workers do)."""
        return not self.is_worker and getattr(session.config.option, "dist", "no") != "no"

    def _start_families(self, selected: list[CheckSpec]) -> None:
        """Once per session: let each family start its background work for its selected specs."""
        if self.families_started or self.config.option.collectonly:
            return
        self.families_started = True
        for family in FAMILIES:
            specs = [spec for spec in selected if spec.family == family.name]
            if family.start is not None and specs:
                family.start(self.context, specs)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """The only process starts background work for the items that survived selection (-k, -m, --lf)."""
        if not self.is_worker and not self._distributing(session):
            selected = [item.spec for item in session.items if isinstance(item, GateItem)]
            self.selected = {spec.item_name for spec in selected}
            self._start_families(selected)

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """Hand each xdist worker the folder where the controller's background runs leave their results."""
        node.workerinput[_WORK_DIR] = str(self.context.background.folder)
        # and the controller's fuzz seed, so all of them replay the same run
        node.workerinput["backend_fuzz_seed"] = self.settings.fuzz_seed
        node.workerinput["backend_fuzz_seed_given"] = self.settings.fuzz_seed_given

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        """On the xdist controller, start background work once the first worker has collected (all collect alike)."""
        prefix = GATE_NODE + "::"
        selected = [self.specs[nodeid[len(prefix) :]] for nodeid in ids if nodeid.startswith(prefix)]
        if self.selected is None:
            self.selected = {spec.item_name for spec in selected}
        self._start_families(selected)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """Keep what each xdist worker's families sent (``worker_output``), for ``finish``."""
        for name, data in (getattr(node, "workeroutput", {}) or {}).get(PROPERTY, {}).items():
            self.worker_outputs.setdefault(name, []).append(data)

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        collector = GateCollector.from_parent(
            session, name=GATE_NODE, nodeid=GATE_NODE, specs=list(self.specs.values()), context=self.context
        )
        items.extend(collector.collect())

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> None:
        """Open the backend before the first test, so an unreachable backend stops the run with a clear error."""
        if session.config.option.collectonly:
            return
        if self._distributing(session):
            self.context.backend  # noqa: B018 - preflight on the controller: fail once, clearly
            self.context.close()
            return
        for family in FAMILIES:
            if family.process_start is not None:
                family.process_start(self.context)
        if any(isinstance(item, GateItem) for item in session.items):
            with self._around_gate():
                self.context.backend  # noqa: B018 - opening raises a usage error when it cannot start

    def _around_gate(self) -> contextlib.ExitStack:
        """The families' contexts for the gate's own work (coverage pauses while it runs)."""
        stack = contextlib.ExitStack()
        for family in FAMILIES:
            if family.around_gate is not None:
                stack.enter_context(family.around_gate(self.context))
        return stack

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Generator[None, object, object]:
        """Each of the project's own tests runs inside the families' ``around_test`` contexts."""
        if isinstance(item, GateItem):
            return (yield)
        with contextlib.ExitStack() as stack:
            for family in FAMILIES:
                if family.around_test is not None:
                    stack.enter_context(family.around_test(self.context, item.nodeid))
            return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        """A gate check runs inside the families' ``around_gate`` contexts."""
        if not isinstance(item, GateItem):
            return (yield)
        with self._around_gate():
            return (yield)

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        """Count the project's own tests left out of this run: session-wide judgments need them all."""
        self.context.deselected_tests += sum(1 for item in items if not isinstance(item, GateItem))

    # ---- results --------------------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.is_worker or getattr(report, LATE, False):  # a result judged at session end, already gathered
            return
        payload = [value for key, value in report.user_properties if key == PROPERTY]
        if report.nodeid.startswith(GATE_NODE + "::"):
            if payload and report.when == "teardown":
                self._readable_properties(report, str(payload[-1]))
            if payload and report.when == "call":
                self.outcomes.append((report.nodeid, CheckOutcome.model_validate_json(str(payload[-1]))))
            elif report.failed and not payload:
                spec = self.specs[report.nodeid.split("::", 1)[1]]
                self.outcomes.append(
                    (
                        report.nodeid,
                        CheckOutcome(
                            check=spec.check,
                            family=spec.family,
                            target=spec.target,
                            status=CheckStatus.FAILED,
                            summary=f"the check itself crashed during {report.when}",
                            evidence=[self.context.redact(report.longreprtext[-2000:])],
                        ),
                    )
                )
            return
        keywords, current = self.own_tests.get(report.nodeid, ([], ""))
        keywords = [k for k, v in report.keywords.items() if v] if not keywords else keywords
        if report.failed:
            outcome = "failed"
        elif report.skipped and current != "failed":
            outcome = "skipped"
        elif report.when == "call" and not current:
            outcome = "passed"
        else:
            outcome = current
        if outcome:
            self.own_tests[report.nodeid] = (keywords, outcome)

    @staticmethod
    def _readable_properties(report: pytest.TestReport, payload: str) -> None:
        """Replace the outcome JSON on a gate item's teardown report (the one ``--junitxml`` reads properties from)
        with short named properties; the call report keeps the JSON the gate gathers."""
        from pytest_backend_agent.report.junit import junit_properties

        readable = junit_properties(CheckOutcome.model_validate_json(payload))
        kept: list[tuple[str, object]] = [(k, v) for k, v in report.user_properties if k != PROPERTY]
        report.user_properties = kept + list(readable)

    # ---- the end --------------------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)  # before --junitxml and --lf read the results judged here
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.context.close()
        if session.config.option.collectonly:
            return
        if self.is_worker:
            workeroutput: dict[str, Any] = getattr(self.config, "workeroutput", {})
            workeroutput[PROPERTY] = {
                family.name: family.worker_output(self.context) for family in FAMILIES if family.worker_output
            }
            return
        if exitstatus in _NO_REPORT:
            self.settings.signal_path.unlink(missing_ok=True)
            return
        for family in FAMILIES:
            if family.finish is not None:
                for judged in family.finish(self.context, self.worker_outputs.get(family.name, [])):
                    judged = self.context.acceptor.apply(judged)
                    self.outcomes.append((f"{GATE_NODE}::{judged.check}[{judged.target}]", judged))
                    self.late.append(self.outcomes[-1])
        from pytest_backend_agent.report.build import OwnTests, RunFacts, build_report
        from pytest_backend_agent.report.write import ContractViolation, now_iso, write_outputs

        # Collection order, not arrival order: under xdist outcomes arrive as workers finish, and the report (its
        # checks, the places a known issue lists) must not depend on that.
        order = {f"{GATE_NODE}::{name}": index for index, name in enumerate(self.specs)}
        self.outcomes.sort(key=lambda pair: order.get(pair[0], len(order)))
        own = OwnTests()
        for nodeid, (keywords, outcome) in self.own_tests.items():
            own.add(nodeid, keywords, outcome)
        backend = self.settings.app or self.settings.url or self.settings.command or ""
        mode = {"app": "in-process app", "url": "running server (URL)", "command": "server started by the gate"}
        facts = RunFacts(
            settings=self.settings,
            loaded=self.loaded,
            outcomes=self.outcomes,
            own_tests=own,
            started_at=self.started_at or now_iso(),
            finished_at=now_iso(),
            duration_s=time.time() - self.started,
            backend_mode=mode[self.settings.mode],
            backend_target=self.context.redact(backend),
        )
        report = build_report(facts)
        if self.submitted is not None:
            report = self._verify(report, self.submitted)
        if self.settings.baseline_update and self.settings.baseline_path is not None:
            try:
                self._update_baseline(self.settings.baseline_path)
            except OSError as error:
                self.settings.signal_path.unlink(missing_ok=True)
                self.problem = f"the baseline {self.settings.baseline_path} could not be written: {error}"
                session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
                return
        self._report_late(self.late)
        self.verdict = report.gate.verdict
        self.fuzz_seed = report.gate.fuzz_seed
        self.reasons = report.gate.reasons
        try:
            self.signal_path = write_outputs(
                report, self.settings.report_path, self.settings.signal_path, self.settings.rootdir
            )
            self.report_path = self.settings.report_path
        except (ContractViolation, OSError) as error:
            self.settings.signal_path.unlink(missing_ok=True)
            self.problem = str(error)
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
            self._append_step_summary()
            return
        self._write_side_outputs(session)
        self._append_step_summary()
        if self.verdict != "passed" and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _write_side_outputs(self, session: pytest.Session) -> None:
        """SARIF and the Markdown summary, after the report. One that cannot be written is named; the report
        stands, but the signal is withdrawn and the exit status says a requested output is missing."""
        from pytest_backend_agent.report.write import ContractViolation, write_text_atomic

        outputs = (
            ("--backend-sarif", self.settings.sarif_path, self._write_sarif),
            ("--backend-markdown", self.settings.markdown_path, lambda p: write_text_atomic(p, self._markdown())),
        )
        for option, path, write in outputs:
            if path is None:
                continue
            try:
                write(path)
            except (ContractViolation, OSError) as error:
                self.output_problems.append(f"{option} {self._shown(path)} NOT written: {error}")
                self.settings.signal_path.unlink(missing_ok=True)
                self.signal_path = None
                session.exitstatus = pytest.ExitCode.INTERNAL_ERROR

    def _report_late(self, judged: list[tuple[str, CheckOutcome]]) -> None:
        """Results judged at session end reach pytest's reporters as items' results do (counts, JUnit, --lf)."""
        if not judged:
            return
        from pytest_backend_agent.items import format_outcome
        from pytest_backend_agent.report.late_results import late_reports

        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        if terminal is not None and self.config.get_verbosity() <= 0:
            terminal.write_line("")  # ends the last progress line, so the letters below get one of their own
            terminal.write(f"{GATE_NODE} (judged at session end) ")
        location = self._shown(self.loaded.path)
        for nodeid, outcome in judged:
            for report in late_reports(nodeid, outcome, location=location, failure_text=format_outcome(outcome)):
                self.config.hook.pytest_runtest_logreport(report=report)

    def _verify(self, report: BackendReport, submitted: SubmittedReport) -> BackendReport:
        """Judge the submitted report's claims against ``report`` (built from this run's observations); their
        results join the outcomes as named results, like those the families judge at the end."""
        from pytest_backend_agent.checks.verify import Observed, verify_claims
        from pytest_backend_agent.report.project_files import project_root, shown_path
        from pytest_backend_agent.report.verification import with_verification

        deselected = self.context.deselected_tests + sum(
            int(output.get("deselected", 0)) for output in self.worker_outputs.get("quality", [])
        )
        partial = (
            f"{deselected} of the project's own tests were deselected (-k, -m, --lf), so this run's counts describe "
            "part of the suite"
            if deselected
            else ""
        )
        observed = Observed(
            report=report,
            outcomes=[outcome for _, outcome in self.outcomes],
            root=project_root(self.settings.rootdir, self.settings.src_dir),
            routes=self._app_routes(),
            partial_run=partial,
            redact=self.context.redact,
        )
        judged = [(f"{GATE_NODE}::{o.check}[{o.target}]", o) for o in verify_claims(submitted.claims, observed)]
        self.outcomes.extend(judged)
        self.late.extend(judged)
        report = with_verification(
            report, judged, source=shown_path(submitted.path, self.settings.rootdir), sha256=submitted.sha256
        )
        self.verification = report.verification
        return report

    def _app_routes(self) -> tuple[frozenset[str], bool] | None:
        """The in-process app's route table (None for a server, an app factory, or an app that will not import)."""
        if not self.settings.app or self.settings.app.endswith("()"):  # never call a factory twice
            return None
        from pytest_backend_agent.backend.factory import import_app
        from pytest_backend_agent.report.handlers import route_keys

        try:
            return route_keys(import_app(self.settings.app, self.settings.rootdir))
        except Exception:  # the claims fall back to the OpenAPI document
            return None

    def _markdown(self) -> str:
        """The Markdown summary (``--backend-markdown``, ``$GITHUB_STEP_SUMMARY``) of this run."""
        from pytest_backend_agent.report.markdown import markdown_summary

        return markdown_summary(
            [o for _, o in self.outcomes],
            verdict=self.verdict,
            reasons=self.reasons,
            fuzz_seed=self.fuzz_seed,
            report_path=self.report_path,
            signal_path=self.signal_path,
            rootdir=self.settings.rootdir,
            problem=self.problem,
        )

    def _append_step_summary(self) -> None:
        """Append the Markdown summary to ``$GITHUB_STEP_SUMMARY`` (GitHub Actions), when it is set."""
        path = self.settings.step_summary_path
        if path is None:
            return
        try:
            with path.open("a", encoding="utf-8") as stream:
                stream.write(self._markdown() + "\n")
        except OSError as error:
            self.step_summary_problem = f"$GITHUB_STEP_SUMMARY {path} not written: {error}"

    def _judged_checks(self) -> set[str]:
        """Check ids every item of which ran in this session and none was not verified: a baseline entry of such
        a check that no finding matched is gone, not merely unseen."""
        ran: dict[str, list[CheckStatus]] = {}
        for _, outcome in self.outcomes:
            ran.setdefault(outcome.check, []).append(outcome.status)
        selected = self.selected if self.selected is not None else set(self.specs)
        complete = {spec.check for spec in self.specs.values() if spec.item_name in selected}
        complete -= {spec.check for spec in self.specs.values() if spec.item_name not in selected}
        complete |= {check for check in ran if check not in {spec.check for spec in self.specs.values()}}
        return {check for check in complete if check in ran and CheckStatus.NOT_VERIFIED not in ran[check]}

    def _update_baseline(self, path: Path) -> None:
        """``--backend-baseline-update``: rewrite the baseline from this run's findings, atomically."""
        from pytest_backend_agent.noise.baseline import update_baseline, write_baseline

        findings = [f for _, outcome in self.outcomes for f in outcome.findings]
        update = update_baseline(self.baseline or Baseline(), findings, self._judged_checks())
        write_baseline(path, update.baseline)
        self.baseline_update = update

    def _write_sarif(self, path: Path) -> None:
        """Write the findings as SARIF 2.1.0 (``--backend-sarif``), live ones at their route handler's line."""
        from pytest_backend_agent.report.handlers import route_handlers
        from pytest_backend_agent.report.sarif import build_sarif
        from pytest_backend_agent.report.write import write_json_atomic

        handlers: dict[str, tuple[Path, int]] = {}
        if self.settings.app and not self.settings.app.endswith("()"):  # never call a factory twice
            from pytest_backend_agent.backend.factory import import_app

            try:
                handlers = route_handlers(import_app(self.settings.app, self.settings.rootdir))
            except Exception:  # noqa: S110 - locations fall back to the packet; the SARIF is still written
                pass
        document = build_sarif(
            [o for _, o in self.outcomes], rootdir=self.settings.rootdir, loaded=self.loaded, handlers=handlers
        )
        write_json_atomic(path, document)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.is_worker or (self.verdict is None and self.problem is None):
            return
        from pytest_backend_agent.report.terminal import summary_lines

        terminalreporter.section("backend gate", sep="=", bold=True)
        for text, markup in summary_lines(
            [o for _, o in self.outcomes],
            verdict=self.verdict,
            reasons=self.reasons,
            fuzz_seed=self.fuzz_seed,
            report_path=self.report_path,
            signal_path=self.signal_path,
            rootdir=self.settings.rootdir,
            problem=self.problem,
            verification=self.verification,
            baseline_update=self.baseline_update,
            baseline_path=self.settings.baseline_path,
        ):
            terminalreporter.write_line(text, **markup)
        if self.settings.markdown_path is not None and self.problem is None and not self.output_problems:
            terminalreporter.write_line(f"markdown summary: {self._shown(self.settings.markdown_path)}")
        for problem in self.output_problems:
            terminalreporter.write_line(problem + " (no stage-completion signal)", red=True, bold=True)
        if self.step_summary_problem:
            terminalreporter.write_line(self.step_summary_problem, yellow=True)

    def _shown(self, path: Path) -> str:
        from pytest_backend_agent.report.project_files import shown_path

        return shown_path(path, self.settings.rootdir)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.context.close()
        self.context.background.close()
