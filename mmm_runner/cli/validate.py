"""`mmm validate --config FILE`: check a config and its data without compiling."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from mmm_runner.cli.common import err, handled, out, print_json
from mmm_runner.constants import EXIT_CONFIG
from mmm_runner.errors import Problem
from mmm_runner.validation import Validation, validate


def validate_command(
    config: Path = typer.Option(..., "--config", "-c", help="The YAML config file."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout."),
) -> None:
    """Check structure, data and cross-field rules; nothing is compiled or fitted."""
    with handled():
        result = validate(config)
        if as_json:
            print_json(result.as_dict())
        else:
            show(result)
        if not result.ok:
            raise typer.Exit(EXIT_CONFIG)


def show(result: Validation) -> None:
    """Prints a validation outcome for a person (problems on stderr, summary on stdout)."""
    for problem in result.errors:
        err.print(f"  [red]✗[/] {_render(problem)}")
    for problem in result.warnings:
        err.print(f"  [yellow]![/] {_render(problem)}")
    if not result.ok:
        err.print(
            f"[bold red]✗ {escape(str(result.config_path))}: {len(result.errors)} "
            f"error(s), {len(result.warnings)} warning(s)[/]"
        )
        return
    s = result.summary
    groups = f", {len(s['groups'])} groups" if s["groups"] else ""
    out.print(f"[bold green]✓[/] {escape(str(result.config_path))} is valid")
    rows = [
        ("data", f"{s['rows']} rows, {s['date_range'][0]} to {s['date_range'][1]}{groups}"),
        ("model", f"{s['model_class']}, KPI {s['kpi']} ({s['response']})"),
        ("terms", ", ".join(s["terms"])),
        ("parameters", str(s["parameters"])),
    ]
    if s.get("varying"):
        rows.insert(3, ("varying", "; ".join(s["varying"])))
    if s.get("mediators"):
        rows.insert(3, ("mediators", "; ".join(s["mediators"])))
    if s.get("outcomes"):
        rows.insert(2, ("outcomes", "; ".join(s["outcomes"])))
    if s.get("cross_effects"):
        rows.insert(3, ("cross", "; ".join(s["cross_effects"])))
    if s["holdout"]:
        rows.append(("holdout", f"last {s['holdout']} periods"))
    for label, value in rows:
        out.print(f"  {label:>10}: {escape(value)}")


def _render(problem: Problem) -> str:
    return escape(problem.render()).replace("\n    fix:", "\n      [cyan]fix[/]:")
