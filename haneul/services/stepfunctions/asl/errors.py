"""Failures raised while a state runs, named as AWS names them (States.*)."""

from __future__ import annotations


class StatesError(Exception):
    """A state failed with `error` and `cause`.

    `runtime=True` marks failures AWS reports with the prefix "An error occurred while
    executing the state 'X' (entered at the event id #N). "; the engine adds it, since
    only it knows the state and the event id.
    """

    def __init__(self, error: str | None, cause: str | None = None, runtime: bool = False):
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause
        self.runtime = runtime


def runtime(cause: str) -> StatesError:
    return StatesError("States.Runtime", cause, runtime=True)


def query_error(cause: str) -> StatesError:
    return StatesError("States.QueryEvaluationError", cause, runtime=True)


def intrinsic_error(cause: str) -> StatesError:
    return StatesError("States.IntrinsicFailure", cause, runtime=True)


class DefinitionError(Exception):
    """The definition is not valid States Language (CreateStateMachine InvalidDefinition)."""

    def __init__(self, message: str, diagnostics: list[dict] | None = None):
        super().__init__(message)
        self.message = message
        self.diagnostics = diagnostics or []
