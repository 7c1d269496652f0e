"""`mmm reproduce RUN_DIR`: rerun a run from its own resolved config and compare."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from mmm_runner import constants
from mmm_runner.cli.common import err, handled, out, print_json
from mmm_runner.reproduction import Reproduction, reproduce


def reproduce_command(
    run_dir: Path = typer.Argument(..., help="The run folder to reproduce."),
    output_dir: Path | None = typer.Option(
        None,
        "--output-dir",
        "-o",
        help="Keep the rerun here (with reproduction.json); by default it is discarded.",
    ),
    data: Path | None = typer.Option(
        None, "--data", help="The run's data file where it lives now (same sha256 required)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON on stdout."),
) -> None:
    """Exit 0 when every result is identical, 7 when any differs or the rerun fails (for CI).

    Exit 2, before rerunning anything, when RUN_DIR is not a completed run (also
    one still running or abandoned) or its data file or config copies changed.
    """
    with handled():
        err.print(f"[bold]reproducing[/] {escape(str(run_dir))} (a full rerun)")
        result = reproduce(run_dir, output_dir, data)
        if as_json:
            print_json(result.as_dict())
        else:
            show(result)
        if not result.identical:
            raise typer.Exit(constants.EXIT_MISMATCH)


def show(result: Reproduction) -> None:
    for change in result.environment:
        err.print(f"  [yellow]![/] environment changed: {escape(change)}")
    if result.identical:
        out.print(
            f"[bold green]✓ reproduced[/]: {len(result.compared)} artefacts identical "
            "(draws bit for bit; timings and paths aside; figures not compared)"
        )
        return
    out.print(f"[bold red]✗ not reproduced[/]: {len(result.differences)} artefact(s) differ")
    for difference in result.differences:
        out.print(f"  [red]✗[/] {escape(difference.artefact)}: {escape(difference.detail)}")
