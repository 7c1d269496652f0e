"""`mmm priors --config FILE`: what the priors imply, before any data are fitted."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.markup import escape

from mmm_runner.cli.common import err, handled, out
from mmm_runner.cli.run import RichReporter
from mmm_runner.pipeline.context import SilentReporter
from mmm_runner.priors_explorer import DEFAULT_DRAWS, MIN_DRAWS, PriorsOptions, explore


def priors_command(
    config: Path = typer.Option(..., "--config", "-c", help="The YAML config file."),
    compare: Path | None = typer.Option(
        None, "--compare", help="A second config whose priors are drawn beside the first."
    ),
    output_dir: Path | None = typer.Option(
        None,
        "--output-dir",
        "-o",
        help="Folder for the priors folder (default: config output_dir).",
    ),
    draws: int = typer.Option(
        DEFAULT_DRAWS,
        "--draws",
        min=MIN_DRAWS,
        help="Prior draws per chain (4 chains, after as many warm-up iterations).",
    ),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="Draw the PNG plots."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
) -> None:
    """Sample the priors (no data in the fit): prior predictive KPI, implied effects, flags."""
    with handled():
        reporter = SilentReporter() if quiet else RichReporter()
        options = PriorsOptions(
            output_dir=output_dir,
            compare=compare,
            draws=draws,
            plots=plots,
            command=tuple(sys.argv),
        )
        outcome = explore(config, options, reporter)
        flagged = outcome.flags[outcome.flags["status"] == "flag"]
        out.print(f"[bold green]✓ priors explored[/]: {escape(str(outcome.run_dir))}")
        if flagged.empty:
            out.print("  no flags: the prior predictive is in a plausible range")
        for row in flagged.itertuples():
            err.print(f"  [yellow]⚑ {escape(str(row.check))}[/]: {escape(str(row.detail))}")
            err.print(f"    [cyan]advice[/]: {escape(str(row.advice))}")
