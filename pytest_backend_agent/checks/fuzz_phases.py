"""The fuzzing phases, each a source of Schemathesis cases that a :class:`~.fuzz_judge.Judge` sends and judges.

- ``examples``: the schema's own ``example``/``examples`` values (Schemathesis' ``ExamplesGenerator``);
- ``coverage``: Schemathesis' deterministic boundary and edge-case generator (``CoverageGenerator``: minimum and
  maximum values, lengths at their limits, missing required parameters, wrong types, undeclared methods...);
- ``fuzzing``: Hypothesis generation, valid-shaped and invalid requests drawn from one strategy with the settings
  Schemathesis' CLI uses, so it stops when Hypothesis runs out of new inputs;
- ``stateful``: sequences of calls following the document's OpenAPI links (Schemathesis' state machine).

Each phase is deterministic given the seed: the first two need none, the last two derive theirs from
``--backend-fuzz-seed`` and the operation the way Schemathesis' engine does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_backend_agent.checks.fuzz_judge import Judge

__all__ = ["run_coverage", "run_examples", "run_fuzzing", "run_stateful"]


class _OutOfTime(KeyboardInterrupt):  # noqa: N818 - Hypothesis aborts on KeyboardInterrupt without replaying
    """Raised inside a Hypothesis test to stop generating once the item's budget is spent."""


def _generation_errors() -> tuple[type[Exception], ...]:
    from hypothesis.errors import FailedHealthCheck, Unsatisfiable
    from jsonschema_rs import ValidationError
    from schemathesis.core.errors import InvalidSchema, SerializationNotPossible, UnresolvableReference

    return (
        InvalidSchema,
        Unsatisfiable,
        FailedHealthCheck,
        UnresolvableReference,
        SerializationNotPossible,
        ValidationError,
    )


def _deferred(controller: Any, phase: str) -> list[str]:
    return [f"{phase} phase: {str(error).splitlines()[0][:200]}" for error in controller.deferred_errors]


def run_examples(judge: Judge, operation: Any) -> list[str]:
    """Send the schema's own examples of ``operation``; returns notes on what could not be generated."""
    from schemathesis.generation.drivers import ExamplesGenerator
    from schemathesis.generation.feedback import NO_FEEDBACK
    from schemathesis.generation.overrides import Override

    generator = ExamplesGenerator(operation=operation, override=Override(), feedback=NO_FEEDBACK, fill_missing=False)
    try:
        for case in generator:
            if judge.out_of_time():
                break
            judge.judge(case, "examples")
    except _generation_errors() as error:
        return [f"examples phase: {str(error).splitlines()[0][:200]}"]
    return _deferred(generator.controller, "examples")


def run_coverage(judge: Judge, operation: Any) -> list[str]:
    """Send Schemathesis' deterministic boundary and edge cases for ``operation``, valid and invalid."""
    from schemathesis.generation.coverage import GenerationSession
    from schemathesis.generation.drivers import CoverageGenerator
    from schemathesis.generation.feedback import NO_FEEDBACK
    from schemathesis.generation.overrides import Override

    generation = operation.schema.config.generation_for(operation=operation, phase="coverage")
    # A session of its own: undeclared methods of a path shared by several operations are then probed by each,
    # so what an item sends does not depend on which items ran before it in the process (xdist).
    session = GenerationSession()
    generator = CoverageGenerator(
        operation=operation,
        generation_modes=generation.modes,
        generation_config=generation,
        auth_storage=None,
        override=Override(),
        feedback=NO_FEEDBACK,
        session=session,
    )
    try:
        for case in generator:
            if judge.out_of_time():
                break
            judge.judge(case, "coverage")
    except _generation_errors() as error:
        return [f"coverage phase: {str(error).splitlines()[0][:200]}"]
    finally:
        session.close()
    return _deferred(generator.controller, "coverage")


def _hypothesis_settings(schema: Any, operation: Any | None, phase: str) -> Any:
    """The Hypothesis settings Schemathesis' CLI uses for ``phase`` (quiet, no deadline, no database, no ci)."""
    from hypothesis import HealthCheck, settings

    base = schema.config.get_hypothesis_settings(operation=operation, phase=phase, apply_ci_profile=False)
    return settings(base, suppress_health_check=list(HealthCheck))


def run_fuzzing(judge: Judge, operation: Any, seed: int) -> list[str]:
    """Send Hypothesis-generated cases, valid-shaped and invalid mixed, as Schemathesis' fuzzing phase does."""
    from hypothesis import given
    from hypothesis import seed as seeded
    from hypothesis import strategies as st
    from schemathesis.generation import derive_operation_seed

    schema = operation.schema
    modes = schema.config.generation_for(operation=operation, phase="fuzzing").modes
    try:
        strategy = st.one_of([operation.as_strategy(generation_mode=mode) for mode in modes])
    except _generation_errors() as error:
        return [f"fuzzing phase: no request can be generated ({str(error).splitlines()[0][:200]})"]

    @seeded(derive_operation_seed(seed, operation.label))
    @_hypothesis_settings(schema, operation, "fuzzing")  # type: ignore[untyped-decorator]
    @given(strategy)
    def fuzz(case: Any) -> None:
        if judge.out_of_time():
            raise _OutOfTime
        judge.judge(case, "fuzzing")

    try:
        fuzz()
    except _OutOfTime:
        pass
    except _generation_errors():
        return ["fuzzing phase: no request can be generated for this operation (it takes no such input)"]
    return []


def run_stateful(judge: Judge, schema: Any, seed: int) -> list[str]:
    """Run sequences of calls that follow the document's OpenAPI links, judging every response."""
    from hypothesis import reject
    from hypothesis import seed as seeded
    from hypothesis.errors import Flaky
    from hypothesis.stateful import run_state_machine_as_test
    from schemathesis.core.errors import NoLinksFound
    from schemathesis.core.transport import Response
    from schemathesis.generation import derive_operation_seed
    from schemathesis.generation.feedback import NO_FEEDBACK
    from schemathesis.generation.stateful.state_machine import StepOutput

    try:
        machine = schema.build_state_machine(feedback=NO_FEEDBACK, link_calibration=None)
    except NoLinksFound as error:
        return [f"stateful phase: {str(error).splitlines()[0]}"]

    class GateStateMachine(machine):  # type: ignore[misc, valid-type]
        def step(self, input: Any) -> Any:  # noqa: A002 - Schemathesis' own parameter name
            case = input.case
            if judge.out_of_time():
                reject()
            judge.step_input = input  # the link this call follows, for the reproductions of its findings
            target, answered = judge.send(case, "stateful")
            if answered is None:  # the app raised: nothing to follow from here
                reject()
            response = Response.from_any(answered)
            self.after_call(response, case)
            judge.assess(case, target, answered, "stateful", recorder=self.recorder)
            judge.remember_step(case, target, answered)
            return StepOutput(response, case)

        def setup(self) -> None:
            judge.steps = []  # a new scenario: its reproductions start afresh
            super().setup()

    try:
        GateStateMachine()  # raises NoLinksFound when no link connects the selected operations
    except NoLinksFound as error:
        return [f"stateful phase: {str(error).splitlines()[0]}"]
    seeded(derive_operation_seed(seed, "stateful"))(GateStateMachine)
    try:
        run_state_machine_as_test(GateStateMachine, settings=_hypothesis_settings(schema, None, "stateful"))
    except Flaky:  # as Schemathesis' engine does: the scenarios end, what they found is kept
        return [
            "stateful phase: ended early because the same steps got different answers (the API's state changed "
            "between scenarios); the findings of the scenarios before are kept"
        ]
    except _generation_errors() as error:
        return [f"stateful phase: {str(error).splitlines()[0][:200]}"]
    finally:
        judge.steps = None
        judge.step_input = None
    return []
