"""One run of a batch, as a worker does it: the ordinary single-run pipeline.

A task and its result are small frozen records that travel between processes
(and machines); the run itself writes its folder under the task's output path,
exactly as `mmm run` would. A failure becomes a result, never an exception, so
one bad run cannot stop the batch.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mmm_runner import constants
from mmm_runner.errors import MMMError, RunInterruptedError

if TYPE_CHECKING:
    from mmm_runner.pipeline.context import Reporter

# completed: ran to the end; failed: a stage failed (exit_code says how); interrupted:
# stopped by a signal; lost: the worker running it died (every retry too); reused: a
# completed run with the same config and data hashes was already in the output folder;
# cancelled: the batch stopped before it ran.
Status = Literal["completed", "failed", "interrupted", "lost", "reused", "cancelled"]


@dataclass(frozen=True)
class RunTask:
    """A run to do: a validated config file and where its run folder goes."""

    number: int  # position in the batch, from 1
    name: str
    config: Path
    config_sha256: str
    data_sha256: str
    output_dir: Path
    plots: bool = True
    changes: dict[str, Any] = field(default_factory=dict)  # sweep path -> value
    command: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        """What identifies the run: the sha256 of its config file and of its data file."""
        return self.config_sha256, self.data_sha256


@dataclass(frozen=True)
class RunResult:
    """What became of a task."""

    number: int
    name: str
    status: Status
    exit_code: int | None = None
    run_dir: str | None = None
    error: str = ""
    seconds: float = 0.0
    host: str = ""  # the worker's address

    @property
    def succeeded(self) -> bool:
        return self.status in ("completed", "reused")


def run_task(task: RunTask, reporter: Reporter | None = None) -> RunResult:
    """Runs one task's config through the pipeline; every failure becomes its result."""
    from mmm_runner.pipeline.runner import RunOptions, execute

    started = time.perf_counter()
    options = RunOptions(output_dir=task.output_dir, plots=task.plots, command=task.command)

    def result(status: Status, code: int | None, run_dir: str | None, error: str) -> RunResult:
        seconds = round(time.perf_counter() - started, 3)
        return RunResult(task.number, task.name, status, code, run_dir, error, seconds)

    try:
        outcome = execute(task.config, options, reporter)
    except RunInterruptedError as error:
        return result("interrupted", constants.exit_code(error), error.run_dir, error.message)
    except MMMError as error:
        message = error.message + (f" (hint: {error.hint})" if error.hint else "")
        return result("failed", constants.exit_code(error), error.run_dir, message)
    except Exception as error:  # a bug: recorded with its traceback, the batch goes on
        text = f"internal error: {type(error).__name__}: {error}\n{traceback.format_exc()}"
        return result("failed", constants.EXIT_FAILURE, getattr(error, "run_dir", None), text)
    return result("completed", constants.EXIT_OK, str(outcome.run_dir), "")
