"""The one exception hierarchy of mmm_runner.

Every failure a user can cause or meet is one of these, carrying a message
that says what is wrong and a hint that says what to do.  Only the CLI maps
them to exit codes (see ``constants.EXIT_CODES``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One finding about a config or data file.

    ``location`` is a YAML path (``model.media[2].adstock.l_max``) or a data
    location (``data/market.csv:m_tv:row 17``); ``fix`` tells the user what to
    change.
    """

    location: str
    message: str
    fix: str = ""
    value: str | None = None
    severity: Severity = "error"
    line: int | None = None  # line in the config file, when known

    def render(self) -> str:
        """The problem as one or two lines of plain text."""
        where = f"{self.location} (line {self.line})" if self.line else self.location
        text = f"{where}: {self.message}"
        if self.value is not None:
            text += f" (found {self.value})"
        if self.fix:
            text += f"\n    fix: {self.fix}"
        return text


class MMMError(Exception):
    """Base class: a failure with a message and a hint for the user."""

    kind = "error"

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.run_dir: str | None = None  # set when the failure happened inside a run folder


class ConfigError(MMMError):
    """The YAML config is invalid; ``problems`` lists every finding."""

    kind = "config"

    def __init__(
        self, message: str, problems: list[Problem] | None = None, hint: str = ""
    ) -> None:
        super().__init__(message, hint)
        self.problems = problems or []


class DataError(ConfigError):
    """The data file is missing, unreadable or fails a check."""

    kind = "data"


class ToolchainError(MMMError):
    """No usable Stan toolchain (compiler, make or Stan headers missing)."""

    kind = "toolchain"


class CompileError(MMMError):
    """A Stan program failed to translate or compile."""

    kind = "compile"


class SamplingError(MMMError):
    """Fitting failed: the sampler or optimiser did not produce a result."""

    kind = "sampling"


class GateError(MMMError):
    """A diagnostics gate failed under the ``publish`` or ``strict`` policy."""

    kind = "gate"


class OptimisationError(MMMError):
    """The budget scenario could not be optimised."""

    kind = "optimisation"


class RunInterruptedError(MMMError):
    """The run was stopped from outside: Ctrl-C or SIGTERM."""

    kind = "interrupted"


class StorageError(MMMError):
    """The run's files could not be written: no space left, a read-only or forbidden folder."""

    kind = "storage"


class UsageError(MMMError):
    """A command was pointed at something it cannot use (e.g. a folder that is not a run)."""

    kind = "usage"


class ReproductionError(MMMError):
    """A run could not be reproduced: its data changed, or the rerun failed or differs."""

    kind = "reproduction"


class BatchError(MMMError):
    """A batch finished, but some of its runs failed or were lost with their worker."""

    kind = "batch"
