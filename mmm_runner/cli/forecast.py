"""`mmm forecast RUN_DIR --plan PLAN.csv`: the KPI under a future plan, from a run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from mmm_runner.cli.common import err, handled, out, print_json

if TYPE_CHECKING:
    from mmm_runner.planning import Forecast


def forecast_command(
    run_dir: Path = typer.Argument(..., help="A completed MCMC run folder."),
    plans: list[Path] = typer.Option(
        ...,
        "--plan",
        "-p",
        help="CSV of future periods: date (and group), every channel's media and spend, "
        "every control's values. Give --plan several times to compare scenarios.",
    ),
    name: str | None = typer.Option(None, "--name", help="Label of the forecast folder."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
) -> None:
    """Forecast the KPI and each channel's contribution over a plan (90% intervals),
    carry-over from the run's history included; written to RUN_DIR/80_plans/."""
    with handled():
        from mmm_runner.planning import compare_plans, forecast

        results = []
        for plan in plans:
            err.print(f"[bold]forecasting[/] {escape(str(plan))} with {escape(str(run_dir))}")
            label = name if name and len(plans) == 1 else (f"{name}_{plan.stem}" if name else None)
            results.append(forecast(run_dir, plan, label))
        scenarios = compare_plans(run_dir, results) if len(results) > 1 else None
        if as_json:
            print_json(
                {
                    "forecasts": [{"folder": str(r.folder), **r.summary} for r in results],
                    "scenarios": str(scenarios) if scenarios else None,
                }
            )
            return
        for result in results:
            show(result)
        if scenarios is not None:
            out.print(f"[bold]scenarios[/] side by side: {escape(str(scenarios))}")


def show(result: Forecast) -> None:
    """One forecast's totals on the console."""
    total = result.summary["kpi_total"]
    out.print(
        f"[bold green]✓[/] {result.summary['periods']} period(s): KPI "
        f"{total['mean']:,.0f} (90% {total['q05']:,.0f} to {total['q95']:,.0f})"
    )
    for channel, row in result.summary["channels"].items():
        c = row["contribution"]
        out.print(
            f"  {channel:>12}: spend {row['spend']:,.0f}, contribution {c['mean']:,.0f} "
            f"({c['q05']:,.0f} to {c['q95']:,.0f})"
        )
    out.print(f"  written to {escape(str(result.folder))}")
