"""`mmm run --config FILE`: the whole pipeline, with progress on stderr."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mmm_runner.cli.common import err, handled, out
from mmm_runner.pipeline.context import StageStatus


class RichReporter:
    """Stage lines and per-chain sampling bars on stderr."""

    def __init__(self) -> None:
        self.progress: Progress | None = None
        self.tasks: dict[int, Any] = {}

    def stage_started(self, folder: str) -> None:
        err.print(f"[bold]▸ {folder}[/]")

    def stage_finished(
        self, folder: str, status: StageStatus, seconds: float, message: str
    ) -> None:
        self._stop_progress()
        mark = {
            "completed": "[green]✓[/]",
            "skipped": "[dim]-[/]",
            "failed": "[red]✗[/]",
            "interrupted": "[yellow]![/]",
        }.get(status, " ")
        text = f" {escape(message)}" if message else ""
        err.print(f"  {mark} {folder} {status} in {seconds:.1f} s{text}")

    def note(self, message: str) -> None:
        err.print(f"    [dim]{escape(message)}[/]")

    def sampling(self, chain: int, iteration: int, total: int) -> None:
        if self.progress is None:
            self.progress = Progress(
                TextColumn("    chain {task.fields[chain]}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err,
                transient=True,
            )
            self.progress.start()
        if chain not in self.tasks:
            self.tasks[chain] = self.progress.add_task("", total=total, chain=chain)
        self.progress.update(self.tasks[chain], completed=iteration)

    def _stop_progress(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
            self.tasks = {}


def run_command(
    config: Path = typer.Option(..., "--config", "-c", help="The YAML config file."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
    output_dir: Path | None = typer.Option(
        None, "--output-dir", "-o", help="Folder for the run folder (default: config output_dir)."
    ),
    force_recompile: bool = typer.Option(
        False, "--force-recompile", help="Rebuild the Stan program even if it is cached."
    ),
    plots: bool = typer.Option(
        True, "--plots/--no-plots", help="Draw the PNG plots (skip them to iterate faster)."
    ),
) -> None:
    """Validate, compile (cached), fit, check, explain and optimise; write a run folder."""
    from mmm_runner.pipeline.context import SilentReporter
    from mmm_runner.pipeline.runner import RunOptions, execute

    with handled():
        reporter = SilentReporter() if quiet else RichReporter()
        options = RunOptions(
            output_dir=output_dir,
            force_recompile=force_recompile,
            plots=plots,
            command=tuple(sys.argv),
        )
        outcome = execute(config, options, reporter)
        gates = outcome.manifest.get("gates", {})
        out.print(f"[bold green]✓ run completed[/]: {escape(str(outcome.run_dir))}")
        if gates and not quiet:
            out.print("  gates: " + ", ".join(f"{n} {s}" for s, n in gates.items() if n))
