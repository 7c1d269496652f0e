"""Runs a checked batch plan: the batch folder, resuming, the cluster, the summary.

The batch folder, ``<output_dir>/<timestamp>_batch_<name>/``, sits beside the
run folders it describes: ``summary.csv``/``.json``/``.md`` (every run, ranked by
out-of-sample score), ``compare/`` (the compare-runs tables), and for a sweep the
sweep file and the expanded configs in ``configs/`` (the files the runs read).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from mmm_runner.atomic import copy_file, write_text
from mmm_runner.backend.cache import ProcessRecord
from mmm_runner.batch import cluster, plan, summary
from mmm_runner.batch.work import RunResult, RunTask, run_task
from mmm_runner.errors import RunInterruptedError, UsageError
from mmm_runner.pipeline.folders import create_run_folder
from mmm_runner.pipeline.manifest import RunState, describe_state, manifest_state

CONFIGS = "configs"  # a sweep's expanded configs, inside the batch folder
SETTLE_SECONDS = 10.0  # how long a lost attempt's process of this host may take to end


@dataclass(frozen=True)
class BatchOptions:
    """Choices of `mmm batch` that are not part of any config."""

    output_dir: Path | None = None  # default: the first config's output_dir
    scheduler: str | None = None  # a Dask scheduler address; None: a local cluster
    workers: int | None = None  # local cluster size; None: from the cores
    retries: int = 1  # times a run whose worker died is given to another worker
    rerun: bool = False  # run even configs that have a completed run in output_dir
    plots: bool = True
    command: tuple[str, ...] = ()


class BatchReporter(Protocol):
    """Where a batch reports progress (the CLI draws it; tests record it)."""

    def planned(self, total: int, reused: int) -> None: ...

    def started(self, name: str) -> None: ...

    def finished(self, result: RunResult) -> None: ...

    def note(self, message: str) -> None: ...


class SilentBatchReporter:
    def planned(self, total: int, reused: int) -> None:
        pass

    def started(self, name: str) -> None:
        pass

    def finished(self, result: RunResult) -> None:
        pass

    def note(self, message: str) -> None:
        pass


@dataclass(frozen=True)
class BatchOutcome:
    folder: Path  # the batch folder
    results: list[RunResult]
    summary: summary.BatchSummary
    files: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[RunResult]:
        return [r for r in self.results if not r.succeeded]


def run_batch(
    batch: plan.BatchPlan,
    options: BatchOptions = BatchOptions(),
    reporter: BatchReporter | None = None,
    runner: Callable[[RunTask], RunResult] = run_task,
) -> BatchOutcome:
    """Runs every run of the plan not done already; writes and returns the summary.

    ``runner`` is what a worker does with a task (the pipeline; tests wrap it).
    Raises StorageError when the batch folder cannot be written, UsageError when the
    scheduler cannot be reached, RunInterruptedError on Ctrl-C (after writing the
    summary so far).
    """
    reporter = reporter or SilentBatchReporter()
    out = options.output_dir or Path(batch.runs[0].output_dir)
    started = datetime.now(UTC)
    folder = create_run_folder(out, f"batch_{batch.name}", started.astimezone())
    tasks = _tasks(batch, folder, out, options)
    results = {} if options.rerun else _reused(tasks, out)
    reporter.planned(len(tasks), len(results))
    interrupted = False
    try:
        todo = [t for t in tasks if t.number not in results]
        if todo:
            cores = max(r.cores for r in batch.runs)
            _dispatch(todo, options, cores, out, runner, reporter, results)
    except KeyboardInterrupt:
        interrupted = True
    except UsageError:  # the scheduler cannot be reached: nothing ran, leave nothing behind
        shutil.rmtree(folder, ignore_errors=True)
        raise
    ordered = [results.get(t.number) or RunResult(t.number, t.name, "cancelled") for t in tasks]
    attempts = _other_attempts(out, tasks, ordered, started)
    table = summary.summarise(tasks, ordered, attempts)
    about = _about(batch, options, out, folder, started)
    files = summary.write(table, folder, about, plots=options.plots)
    if interrupted:
        error = RunInterruptedError(
            f"batch interrupted; {sum(r.succeeded for r in ordered)} of {len(ordered)} runs "
            f"had completed (summary in {folder})",
            hint="Rerun the same command: completed runs are reused, the rest run.",
        )
        error.run_dir = str(folder)
        raise error
    return BatchOutcome(folder, ordered, table, files)


def _reused(tasks: list[RunTask], out: Path) -> dict[int, RunResult]:
    """Tasks whose config and data hashes match a completed run in ``out``: that run."""
    done = plan.completed_runs(out)
    return {
        t.number: RunResult(t.number, t.name, "reused", 0, str(done[t.key]))
        for t in tasks
        if t.key in done
    }


def _dispatch(
    todo: list[RunTask],
    options: BatchOptions,
    cores: int,
    out: Path,
    runner: Callable[[RunTask], RunResult],
    reporter: BatchReporter,
    results: dict[int, RunResult],
) -> None:
    """Runs the tasks on the cluster, adding each result to ``results`` as it arrives."""
    names = {t.number: t.name for t in todo}

    def finished(result: RunResult) -> None:
        results[result.number] = result
        reporter.finished(result)

    workers = options.workers or cluster.local_workers(cores)
    where = options.scheduler or f"a local cluster of {workers} worker(s)"
    reporter.note(f"{len(todo)} run(s) on {where}; run folders in {out}")
    with cluster.connect(options.scheduler, workers, options.retries) as client:
        cluster.dispatch(client, todo, runner, lambda n: reporter.started(names[n]), finished)


def _tasks(batch: plan.BatchPlan, folder: Path, out: Path, options: BatchOptions) -> list[RunTask]:
    """One task per run; a sweep's configs are written into the batch folder first."""
    if batch.sweep is not None:
        (folder / CONFIGS).mkdir()
        copy_file(batch.sweep.path, folder / batch.sweep.path.name)
    tasks = []
    for number, run in enumerate(batch.runs, start=1):
        config = run.config
        if run.text is not None:  # the expanded copy: the same bytes, so the same sha256
            config = folder / CONFIGS / f"{run.name}.yaml"
            write_text(config, run.text)
        tasks.append(
            RunTask(
                number=number,
                name=run.name,
                config=config.resolve(),
                config_sha256=run.config_sha256,
                data_sha256=run.data_sha256,
                output_dir=out.resolve(),
                plots=options.plots,
                changes=run.changes,
                command=options.command,
            )
        )
    return tasks


def _other_attempts(
    out: Path, tasks: list[RunTask], results: list[RunResult], since: datetime
) -> dict[int, list[str]]:
    """Folders this batch started for a task besides its result's: lost attempts (abandoned
    once their worker died), each named with its state."""
    by_key = {t.key: t.number for t in tasks}
    kept = {r.run_dir for r in results if r.run_dir}
    found: dict[int, list[str]] = {}
    for run_dir, manifest in plan.runs_since(out, set(by_key), since).items():
        if str(run_dir) in kept:
            continue
        state = _settled_state(manifest)
        found.setdefault(by_key[plan.manifest_key(manifest)], []).append(
            f"{run_dir.name} ({describe_state(manifest, state)})"
        )
    return found


def _settled_state(manifest: dict[str, Any], seconds: float = SETTLE_SECONDS) -> RunState:
    """A lost attempt's state once its process has had a moment to end.

    The scheduler sees a worker gone when its connection drops, which can be before
    the kernel has removed the process; a process of another host is judged by its
    heartbeat instead (abandoned ten minutes after its last beat), so is not waited for.
    """
    process = ProcessRecord.from_dict(manifest.get("process"))
    deadline = time.monotonic() + (seconds if process is not None and process.here else 0)
    state = manifest_state(manifest)
    while state == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
        state = manifest_state(manifest)
    return state


def _about(
    batch: plan.BatchPlan, options: BatchOptions, out: Path, folder: Path, started: datetime
) -> dict[str, Any]:
    about: dict[str, Any] = {
        "name": batch.name,
        "batch_dir": str(folder),
        "output_dir": str(out.resolve()),
        "created": started.isoformat(),
        "finished": datetime.now(UTC).isoformat(),
        "command": list(options.command),
        "scheduler": options.scheduler or "local",
        "sources": [str(p) for p in batch.sources],
    }
    if batch.sweep is not None:
        about["sweep"] = {
            "file": str(batch.sweep.path),
            "base": str(batch.sweep.base),
            "grid": batch.sweep.grid,
            "runs": len(batch.sweep.runs),
        }
    return about
