"""`mmm batch CONFIG... | --sweep SWEEP.yaml`: many runs on a Dask cluster, one summary."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mmm_runner import constants
from mmm_runner.cli.common import err, handled, out, print_json
from mmm_runner.errors import BatchError, UsageError

if TYPE_CHECKING:
    from mmm_runner.batch.work import RunResult

MARKS = {"completed": "[green]✓[/]", "reused": "[dim]=[/]", "lost": "[red]✗[/]"}


class RichBatchReporter:
    """One bar for the batch: runs done of all, and how many are running and failed.

    Workers report from Dask's event thread, so the counts are kept under a lock.
    """

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("runs"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[state]}"),
            TimeElapsedColumn(),
            console=err,
        )
        self.task = self.progress.add_task("", total=0, state="")
        self.running: set[str] = set()
        self.failed = 0
        self.lock = threading.Lock()

    def planned(self, total: int, reused: int) -> None:
        if reused:
            err.print(f"[dim]{reused} of {total} run(s) already completed in the output folder[/]")
        self.progress.update(self.task, total=total, completed=reused)
        self.progress.start()
        self._show()

    def started(self, name: str) -> None:
        with self.lock:
            self.running.add(name)
            self._show()

    def finished(self, result: RunResult) -> None:
        with self.lock:
            self.running.discard(result.name)
            self.failed += not result.succeeded
            mark = MARKS.get(result.status, "[red]✗[/]")
            code = f" (exit {result.exit_code})" if result.exit_code else ""
            text = f"  {mark} {escape(result.name)} {result.status}{code}"
            if result.error:
                text += f": {escape(result.error.splitlines()[0])}"
            self.progress.console.print(text)
            self.progress.advance(self.task)
            self._show()

    def note(self, message: str) -> None:
        self.progress.console.print(f"[dim]{escape(message)}[/]")

    def stop(self) -> None:
        self.progress.stop()

    def _show(self) -> None:
        state = f"running {len(self.running)}, failed {self.failed}"
        self.progress.update(self.task, state=state)


def batch_command(
    configs: list[Path] = typer.Argument(None, help="Config files to run (or use --sweep)."),
    sweep: Path | None = typer.Option(
        None, "--sweep", "-s", help="A sweep file: a base config and a grid of changes."
    ),
    output_dir: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Folder for the run folders and the batch folder [the first config's "
        "output_dir]; on a remote cluster a path every worker shares.",
    ),
    scheduler: str | None = typer.Option(
        None,
        "--scheduler",
        envvar=constants.ENV_DASK_SCHEDULER,
        help="Address of a running Dask scheduler (tcp://host:8786) [a local cluster].",
    ),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Local cluster size [cores ÷ processes per run]."
    ),
    retries: int = typer.Option(
        1, "--retries", min=0, help="Times a run whose worker died is given to another."
    ),
    rerun: bool = typer.Option(
        False, "--rerun", help="Run every config, even those already completed in --out."
    ),
    name: str | None = typer.Option(
        None, "--name", help="Batch name [the sweep's name, else 'batch']."
    ),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="Draw each run's PNG plots."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
) -> None:
    """Run many configs, or a sweep over a base config, on Dask; rank them by out-of-sample
    score in a batch summary."""
    from mmm_runner.batch import plan
    from mmm_runner.batch.runner import BatchOptions, SilentBatchReporter, run_batch

    with handled():
        if bool(configs) == (sweep is not None):
            raise UsageError(
                "give config files or --sweep FILE (one of the two)",
                hint="e.g. `mmm batch a.yaml b.yaml` or `mmm batch --sweep sweep.yaml`.",
            )
        batch = plan.plan_sweep(sweep, name) if sweep else plan.plan_configs(configs, name)
        options = BatchOptions(
            output_dir=output_dir,
            scheduler=scheduler or None,
            workers=workers,
            retries=retries,
            rerun=rerun,
            plots=plots,
            command=tuple(sys.argv),
        )
        reporter = SilentBatchReporter() if quiet else RichBatchReporter()
        try:
            outcome = run_batch(batch, options, reporter)
        finally:
            if isinstance(reporter, RichBatchReporter):
                reporter.stop()
        summary = outcome.folder / "summary.md"
        if as_json:
            print_json(json.loads((outcome.folder / "summary.json").read_text(encoding="utf-8")))
        else:
            out.print(f"[bold]batch summary[/]: {escape(str(summary))}")
        if outcome.failed:
            raise BatchError(
                f"{len(outcome.failed)} of {len(outcome.results)} run(s) did not complete: "
                + ", ".join(f"{r.name} ({r.status})" for r in outcome.failed[:5])
                + (" …" if len(outcome.failed) > 5 else ""),
                hint=f"See {summary}. Rerunning the same command runs only the runs that "
                "did not complete.",
            )
