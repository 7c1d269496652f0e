"""Runs the stages in order, each in its numbered folder, keeping the manifest current.

A stage that raises stops the run: its folder and the manifest record the
failure (or the interruption) so a half-finished folder never looks complete.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
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
from mmm_runner.validation import validate

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
        _file_log(run_dir),
        list(options.command),
        force_recompile=options.force_recompile or config.fit.force_recompile,
        plots=options.plots,
    )
    ctx.manifest = _initial_manifest(ctx, validation.config_path)
    _save_manifest(ctx)
    _note_abandoned_runs(ctx, output)
    manifest_file = ctx.folder("run_metadata") / constants.MANIFEST
    with sigterm_as_interrupt(), Heartbeat(manifest_file, ctx.manifest):
        for stage in constants.STAGES:
            _run_stage(ctx, stage)
    ctx.manifest["config"]["copies"] = _config_copies(ctx)
    ctx.manifest.update(status="completed", exit_code=0, finished=_now().isoformat())
    _save_manifest(ctx)
    ctx.log.info("run completed")
    return RunOutcome(run_dir, ctx.manifest)


class _RunLogHandler(logging.FileHandler):
    """The run log: best effort, silent when the disk refuses a line (the run reports it)."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        return


def _file_log(run_dir: Path) -> logging.Logger:
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


def _initial_manifest(ctx: RunContext, config_path: Path) -> dict[str, Any]:
    data_path = ctx.validation.data_path()
    return {
        "run_id": ctx.run_dir.name,
        "name": ctx.config.name,
        "status": "running",
        "exit_code": None,
        "created": ctx.started.isoformat(),
        "finished": None,
        **process_fields(),  # process (pid, host, start_time, boot_id) and heartbeat
        "command": ctx.command,
        "config": {"path": str(config_path.resolve()), "sha256": file_sha256(config_path)},
        "data": {
            "path": str(data_path),
            "sha256": file_sha256(data_path),
            "rows": ctx.validation.summary.get("rows"),
        },
        "model_class": ctx.spec.model_class,
        "fit_method": ctx.config.fit.method,
        "seeds": {"run": ctx.config.seed},
        "options": {"plots": ctx.plots, "force_recompile": ctx.force_recompile},
        "versions": versions(),
        "stan": {},
        "stages": [
            {
                "name": stage,
                "folder": constants.stage_folder(stage),
                "status": "pending",
                "seconds": None,
            }
            for stage in constants.STAGES
        ],
    }


def _config_copies(ctx: RunContext) -> dict[str, str]:
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


def _save_manifest(ctx: RunContext) -> None:
    folder = ctx.folder("run_metadata")
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / constants.MANIFEST, ctx.manifest)


def _stage_record(ctx: RunContext, stage: str) -> dict[str, Any]:
    record: dict[str, Any] = next(s for s in ctx.manifest["stages"] if s["name"] == stage)
    return record


def _run_stage(ctx: RunContext, stage: str) -> None:
    folder = ctx.folder(stage)
    folder.mkdir(parents=True, exist_ok=True)
    name = folder.name
    record = _stage_record(ctx, stage)
    started = time.perf_counter()
    status: dict[str, Any] = {"stage": name, "status": "running", "started": _now().isoformat()}
    write_json(folder / constants.STATUS, status)
    record["status"] = "running"
    _save_manifest(ctx)
    ctx.reporter.stage_started(name)
    ctx.log.info("stage %s started", name)
    try:
        result = STAGE_FUNCTIONS[stage](ctx)
    except KeyboardInterrupt:
        stop_programs_under(cache_root())  # compiled Stan programs still sampling
        _finish(ctx, stage, status, started, "interrupted", "interrupted (Ctrl-C or SIGTERM)")
        ctx.manifest.update(
            status="interrupted", exit_code=constants.EXIT_INTERRUPTED, finished=_now().isoformat()
        )
        _save_manifest(ctx)
        interrupted = RunInterruptedError(
            f"run interrupted during {name}; the folder is marked interrupted",
            hint=f"Rerun with: mmm run --config {ctx.validation.config_path}",
        )
        interrupted.run_dir = str(ctx.run_dir)
        raise interrupted from None
    except MMMError as error:
        _fail(ctx, stage, status, started, error, constants.exit_code(error))
        error.run_dir = str(ctx.run_dir)
        raise
    except OSError as error:
        if error.errno not in STORAGE_ERRNOS:
            _fail(
                ctx, stage, status, started, error, constants.EXIT_FAILURE, traceback.format_exc()
            )
            raise
        storage = storage_error(error, f"stage {name} wrote its files")
        _fail(ctx, stage, status, started, storage, constants.exit_code(storage))
        storage.run_dir = str(ctx.run_dir)
        raise storage from error
    except Exception as error:
        _fail(ctx, stage, status, started, error, constants.EXIT_FAILURE, traceback.format_exc())
        raise
    status.update(message=result.message, artefacts=result.artefacts, summary=result.summary)
    _finish(ctx, stage, status, started, result.status, result.message)


def _fail(
    ctx: RunContext,
    stage: str,
    status: dict[str, Any],
    started: float,
    error: BaseException,
    code: int,
    trace: str = "",
) -> None:
    message = getattr(error, "message", str(error))
    status["error"] = {
        "type": type(error).__name__,
        "message": message,
        "hint": getattr(error, "hint", ""),
    }
    if trace:
        status["error"]["traceback"] = trace
    ctx.manifest.update(
        status="failed",
        exit_code=code,
        finished=_now().isoformat(),
        failed_stage=constants.stage_folder(stage),
    )
    try:
        _finish(ctx, stage, status, started, "failed", message)
    except OSError:
        # The disk that failed the stage may refuse this record too: the error still
        # reaches the user, and the manifest's dead process marks the run abandoned.
        ctx.reporter.stage_finished(ctx.folder(stage).name, "failed", 0.0, message)
    ctx.log.error("stage %s failed: %s", stage, message)


def _finish(
    ctx: RunContext, stage: str, status: dict[str, Any], started: float, outcome: str, message: str
) -> None:
    seconds = round(time.perf_counter() - started, 3)
    folder = ctx.folder(stage)
    status.update(status=outcome, finished=_now().isoformat(), seconds=seconds)
    write_json(folder / constants.STATUS, status)
    record = _stage_record(ctx, stage)
    record.update(status=outcome, seconds=seconds)
    _save_manifest(ctx)
    ctx.reporter.stage_finished(folder.name, outcome, seconds, message)  # type: ignore[arg-type]
    ctx.log.info("stage %s %s in %.2f s %s", folder.name, outcome, seconds, message)
