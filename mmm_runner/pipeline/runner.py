"""Runs the stages in order, each in its numbered folder, keeping the manifest current.

A stage that raises stops the run: its folder and the manifest record the
failure (or the interruption) so a half-finished folder never looks complete.
"""

from __future__ import annotations

import functools
import logging
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mmm_runner import constants
from mmm_runner.backend.toolchain import cache_root
from mmm_runner.errors import MMMError, RunInterruptedError
from mmm_runner.hashing import file_sha256
from mmm_runner.pipeline.context import Reporter, RunContext, SilentReporter, StageResult
from mmm_runner.pipeline.folders import STORAGE_ERRNOS, create_run_folder, storage_error
from mmm_runner.pipeline.interrupts import sigterm_as_interrupt, stop_programs_under
from mmm_runner.pipeline.manifest import (
    Heartbeat,
    abandoned_runs,
    process_fields,
    versions,
    write_json,
)
from mmm_runner.pipeline.stages import (
    diagnostics,
    forecast,
    model_fit,
    model_selection,
    optimisation,
    post_run,
    pre_run,
    run_metadata,
)
from mmm_runner.validation import Validation, validate

StageFn = Callable[[RunContext], StageResult]
STAGE_FUNCTIONS: dict[str, StageFn] = {
    "run_metadata": run_metadata.run,
    "pre_run": pre_run.run,
    "model_fit": model_fit.run,
    "post_run": post_run.run,
    "diagnostics": diagnostics.run,
    "model_selection": model_selection.run,
    "optimisation": optimisation.run,
    "forecast": forecast.run,
}
assert tuple(STAGE_FUNCTIONS) == constants.STAGES


@dataclass(frozen=True)
class RunOptions:
    """Command-line choices that are not part of the config."""

    output_dir: Path | None = None
    force_recompile: bool = False
    plots: bool = True
    command: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunOutcome:
    run_dir: Path
    manifest: dict[str, Any]


def _now() -> datetime:
    return datetime.now(UTC)


def execute(
    config_path: Path, options: RunOptions = RunOptions(), reporter: Reporter | None = None
) -> RunOutcome:
    """Validates, then runs every stage; raises the first stage's error.

    Invalid configs or data raise ConfigError before any folder is created.
    """
    reporter = reporter or SilentReporter()
    validation = validate(config_path)
    validation.raise_for_errors()
    assert validation.loaded is not None
    config = validation.loaded.config
    started = _now()
    output = options.output_dir or Path(config.output_dir)
    run_dir = create_run_folder(output, config.name, started.astimezone())
    ctx = RunContext(
        validation,
        run_dir,
        started,
        reporter,
        file_log(run_dir),
        list(options.command),
        force_recompile=options.force_recompile or config.fit.force_recompile,
        plots=options.plots,
    )
    try:
        ctx.manifest = _initial_manifest(ctx)
        save_manifest(ctx)
        _note_abandoned_runs(ctx, output)
        stages = [
            (stage, functools.partial(STAGE_FUNCTIONS[stage], ctx)) for stage in constants.STAGES
        ]
        run_stages(ctx, stages, what="run", rerun="mmm run")
        ctx.manifest["config"]["copies"] = config_copies(ctx)
        ctx.manifest.update(status="completed", exit_code=0, finished=_now().isoformat())
        save_manifest(ctx)
        ctx.log.info("run completed")
    finally:
        close_log(ctx.log)
    return RunOutcome(run_dir, ctx.manifest)


class _RunLogHandler(logging.FileHandler):
    """The run log: best effort, silent when the disk refuses a line (the run reports it)."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        return


def file_log(run_dir: Path) -> logging.Logger:
    """The run log in 00_run_metadata (cmdstanpy's warnings land there too)."""
    folder = run_dir / constants.stage_folder("run_metadata")
    folder.mkdir(parents=True, exist_ok=True)
    log = logging.getLogger(f"mmm_runner.run.{run_dir.name}")
    log.setLevel(logging.INFO)
    log.propagate = False
    handler = _RunLogHandler(folder / constants.RUN_LOG, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    cmdstan_log = logging.getLogger("cmdstanpy")
    cmdstan_log.addHandler(handler)  # sampler warnings land in the run log too
    return log


def close_log(log: logging.Logger) -> None:
    """Detaches and closes a run log, from cmdstanpy's logger too.

    A process that does many runs (a batch worker, a notebook) would otherwise keep
    every earlier run's file open and write later runs' sampler warnings into it.
    """
    cmdstan_log = logging.getLogger("cmdstanpy")
    for handler in list(log.handlers):
        if isinstance(handler, _RunLogHandler):
            log.removeHandler(handler)
            cmdstan_log.removeHandler(handler)
            handler.close()


def _initial_manifest(ctx: RunContext) -> dict[str, Any]:
    return {
        "run_id": ctx.run_dir.name,
        "name": ctx.config.name,
        "status": "running",
        "exit_code": None,
        "created": ctx.started.isoformat(),
        "finished": None,
        **process_fields(),  # process (pid, host, start_time, boot_id) and heartbeat
        "command": ctx.command,
        **sources(ctx.validation),
        "model_class": ctx.spec.model_class,
        "fit_method": ctx.config.fit.method,
        "seeds": {"run": ctx.config.seed},
        "options": {"plots": ctx.plots, "force_recompile": ctx.force_recompile},
        "versions": versions(),
        "stan": {},
        "stages": stage_records(constants.STAGES),
    }


def sources(validation: Validation) -> dict[str, Any]:
    """A manifest's ``config`` and ``data`` records: paths, hashes and the data's rows."""
    data_path = validation.data_path()
    return {
        "config": {
            "path": str(validation.config_path.resolve()),
            "sha256": file_sha256(validation.config_path),
        },
        "data": {
            "path": str(data_path),
            "sha256": file_sha256(data_path),
            "rows": validation.summary.get("rows"),
        },
    }


def stage_records(stages: Sequence[str]) -> list[dict[str, Any]]:
    """A manifest's ``stages``: each stage pending in its numbered folder."""
    return [
        {
            "name": stage,
            "folder": constants.stage_folder(stage, stages),
            "status": "pending",
            "seconds": None,
        }
        for stage in stages
    ]


def config_copies(ctx: RunContext) -> dict[str, str]:
    """sha256 of the config copies in 00_run_metadata: `mmm reproduce` reruns from them."""
    folder = ctx.folder("run_metadata")
    names = (constants.CONFIG_AS_GIVEN, constants.CONFIG_RESOLVED)
    return {name: file_sha256(folder / name) for name in names if (folder / name).is_file()}


def _note_abandoned_runs(ctx: RunContext, output: Path) -> None:
    """Points at earlier runs in the output folder left "running" by a process now gone."""
    found = [(d, why) for d, why in abandoned_runs(output) if d != ctx.run_dir]
    if found:
        names = ", ".join(d.name for d, _ in found[:3]) + (" …" if len(found) > 3 else "")
        ctx.reporter.note(f"{len(found)} earlier run(s) in {output} were abandoned: {names}")
        for run_dir, why in found:
            ctx.log.info("earlier run %s: %s", run_dir.name, why)


def save_manifest(ctx: RunContext) -> None:
    """Writes the manifest to 00_run_metadata (atomically)."""
    folder = ctx.folder("run_metadata")
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / constants.MANIFEST, ctx.manifest)


# --- the stage loop -------------------------------------------------------------------------


def run_stages(
    ctx: RunContext,
    stages: Sequence[tuple[str, Callable[[], StageResult]]],
    what: str,
    rerun: str,
) -> None:
    """Runs ``(stage, function)`` pairs in order, each in its numbered folder (by position).

    Each folder gets its ``status.json`` and the manifest's record of the stage
    (``ctx.manifest["stages"]``, see ``stage_records``) follows it, under the
    manifest's heartbeat and with SIGTERM taken as Ctrl-C. The first stage that
    raises stops the loop: its folder and the manifest record the failure (or
    the interruption: ``what`` interrupted ..., "Rerun with: ``rerun`` --config ...").
    """
    names = [stage for stage, _ in stages]
    manifest_file = ctx.folder("run_metadata") / constants.MANIFEST
    with sigterm_as_interrupt(), Heartbeat(manifest_file, ctx.manifest):
        for stage, function in stages:
            folder = ctx.run_dir / constants.stage_folder(stage, names)
            _StageRun(ctx, stage, folder).run(function, what, rerun)


@dataclass
class _StageRun:
    """One stage under way: its folder, its status.json and its record in the manifest."""

    ctx: RunContext
    stage: str
    folder: Path
    status: dict[str, Any] = field(default_factory=dict)
    started: float = 0.0

    def run(self, function: Callable[[], StageResult], what: str, rerun: str) -> None:
        ctx, name = self.ctx, self.folder.name
        self.folder.mkdir(parents=True, exist_ok=True)
        self.started = time.perf_counter()
        self.status = {"stage": name, "status": "running", "started": _now().isoformat()}
        write_json(self.folder / constants.STATUS, self.status)
        self._record()["status"] = "running"
        save_manifest(ctx)
        ctx.reporter.stage_started(name)
        ctx.log.info("stage %s started", name)
        try:
            result = function()
        except KeyboardInterrupt:
            stop_programs_under(cache_root())  # compiled Stan programs still sampling
            self._finish("interrupted", "interrupted (Ctrl-C or SIGTERM)")
            ctx.manifest.update(
                status="interrupted",
                exit_code=constants.EXIT_INTERRUPTED,
                finished=_now().isoformat(),
            )
            save_manifest(ctx)
            interrupted = RunInterruptedError(
                f"{what} interrupted during {name}; the folder is marked interrupted",
                hint=f"Rerun with: {rerun} --config {ctx.validation.config_path}",
            )
            interrupted.run_dir = str(ctx.run_dir)
            raise interrupted from None
        except MMMError as error:
            self._fail(error, constants.exit_code(error))
            error.run_dir = str(ctx.run_dir)
            raise
        except OSError as error:
            if error.errno not in STORAGE_ERRNOS:
                self._fail(error, constants.EXIT_FAILURE, traceback.format_exc())
                raise
            storage = storage_error(error, f"stage {name} wrote its files")
            self._fail(storage, constants.exit_code(storage))
            storage.run_dir = str(ctx.run_dir)
            raise storage from error
        except Exception as error:
            self._fail(error, constants.EXIT_FAILURE, traceback.format_exc())
            raise
        self.status.update(
            message=result.message, artefacts=result.artefacts, summary=result.summary
        )
        self._finish(result.status, result.message)

    def _record(self) -> dict[str, Any]:
        stages = self.ctx.manifest["stages"]
        record: dict[str, Any] = next(s for s in stages if s["name"] == self.stage)
        return record

    def _fail(self, error: BaseException, code: int, trace: str = "") -> None:
        message = getattr(error, "message", str(error))
        self.status["error"] = {
            "type": type(error).__name__,
            "message": message,
            "hint": getattr(error, "hint", ""),
        }
        if trace:
            self.status["error"]["traceback"] = trace
        self.ctx.manifest.update(
            status="failed",
            exit_code=code,
            finished=_now().isoformat(),
            failed_stage=self.folder.name,
        )
        try:
            self._finish("failed", message)
        except OSError:
            # The disk that failed the stage may refuse this record too: the error still
            # reaches the user, and the manifest's dead process marks the run abandoned.
            self.ctx.reporter.stage_finished(self.folder.name, "failed", 0.0, message)
        self.ctx.log.error("stage %s failed: %s", self.stage, message)

    def _finish(self, outcome: str, message: str) -> None:
        seconds = round(time.perf_counter() - self.started, 3)
        self.status.update(status=outcome, finished=_now().isoformat(), seconds=seconds)
        write_json(self.folder / constants.STATUS, self.status)
        self._record().update(status=outcome, seconds=seconds)
        save_manifest(self.ctx)
        name = self.folder.name
        self.ctx.reporter.stage_finished(name, outcome, seconds, message)  # type: ignore[arg-type]
        self.ctx.log.info("stage %s %s in %.2f s %s", name, outcome, seconds, message)
