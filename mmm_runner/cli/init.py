"""`mmm init --data FILE`: write a commented starter config for a data file."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from mmm_runner.atomic import write_text
from mmm_runner.cli.common import err, handled, out
from mmm_runner.cli.validate import show
from mmm_runner.constants import EXIT_CONFIG
from mmm_runner.data.load import read_table
from mmm_runner.errors import ConfigError, Problem
from mmm_runner.starter import classify, describe, render
from mmm_runner.validation import validate


def init_command(
    data: Path = typer.Option(..., "--data", "-d", help="CSV (or Parquet) data file."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Where to write the config (default: config/<data>.yaml)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write a commented starter config: columns classified as date, group, KPI, media
    (exposure paired with spend, organic), controls and categories, mediators (class nested)
    and several KPI columns (class multivariate; both: combined), each guess explained."""
    with handled():
        target = output or (Path("config") if Path("config").is_dir() else Path(".")) / (
            f"{data.stem}.yaml"
        )
        if target.exists() and not force:
            raise ConfigError(f"{target} exists", hint="choose --output, or pass --force")
        frame = read_table(data)
        try:
            columns = classify(frame, data)
        except ValueError as exc:
            raise ConfigError(
                f"cannot classify the columns of {data}: {exc}", [Problem(str(data), str(exc))]
            ) from exc
        text = render(columns, data, target)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_text(target, text)
        out.print(
            f"wrote [bold]{escape(str(target))}[/]: edit it, then run "
            f"`mmm validate --config {escape(str(target))}`"
        )
        for line in describe(columns):
            out.print(f"  guessed: {escape(line)}")
        result = validate(target)
        show(result)
        if not result.ok:
            err.print("[yellow]the starter config needs edits before it is valid (see above)[/]")
            raise typer.Exit(EXIT_CONFIG)
