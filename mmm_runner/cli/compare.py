"""`mmm compare-runs RUN_DIR ...`: runs side by side, written as CSV and Markdown."""

from __future__ import annotations

import glob
import json
from datetime import datetime
from pathlib import Path

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from mmm_runner import comparison as compare
from mmm_runner import constants
from mmm_runner.cli.common import err, handled, out, print_json
from mmm_runner.errors import UsageError


def compare_command(
    runs: list[str] = typer.Argument(
        None, help="Run folders, or glob patterns such as 'results/*_single_market'."
    ),
    latest: int = typer.Option(
        0, "--latest", "-n", help="Also take the N most recent runs in --results."
    ),
    results: Path = typer.Option(
        Path("results"), "--results", help="Where --latest looks for runs."
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Folder for the tables and plots [results/compare_<time>]."
    ),
    no_plots: bool = typer.Option(False, "--no-plots", help="Write the tables only."),
    as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON on stdout."),
) -> None:
    """Specification, diagnostics, fit, LOO (ArviZ compare) and channels of runs, side by side."""
    with handled():
        folders = run_folders(runs or [], latest, results)
        comparison = compare.compare(some_runs([compare.load_run(f) for f in folders]))
        folder = output or results / f"compare_{datetime.now():%Y%m%d-%H%M%S}"
        written = compare.write(comparison, folder, plots=not no_plots)
        if as_json:
            print_json(
                {
                    "output": str(folder),
                    "files": written,
                    "warnings": comparison.warnings,
                    "problems": comparison.problems,
                    # via pandas' JSON so that missing values print as null, not NaN
                    "runs": json.loads(comparison.summary.to_json(orient="records")),
                    "lift_tests": json.loads(comparison.calibration.to_json(orient="records")),
                }
            )
            return
        show(comparison)
        err.print(f"[dim]written to {escape(str(folder))}: {', '.join(written)}[/]")


def run_folders(patterns: list[str], latest: int, results: Path) -> list[Path]:
    """The run folders named (globs expanded) plus the latest N; duplicates dropped."""
    if latest < 0:
        raise UsageError(
            f"--latest must be a number of runs, found {latest}", hint="Use e.g. --latest 3."
        )
    folders: list[Path] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matches:
            raise UsageError(f"no run folder matches {pattern}", hint="Check the pattern.")
        for match in matches:
            path = Path(match)
            if not path.is_dir():
                raise UsageError(
                    f"{path} is not a folder",
                    hint="Pass run folders such as results/<timestamp>_<name>.",
                )
            folders.append(path)
    if latest:
        found = sorted(
            (
                p
                for p in results.glob("*")
                if (p / compare.METADATA / constants.MANIFEST).is_file()
            ),
            key=lambda p: p.name,
        )
        if not found:
            raise UsageError(f"no runs in {results}", hint="Point --results at a results folder.")
        folders += found[-latest:]
    unique = list(dict.fromkeys(p.resolve() for p in folders))
    if not unique:
        raise UsageError(
            "no runs to compare", hint="Name run folders, or use --latest N (e.g. --latest 3)."
        )
    return unique


def some_runs(records: list[compare.RunRecord]) -> list[compare.RunRecord]:
    """The records, when at least one is a run whose manifest could be read.

    A folder that is not a run is listed among the problems next to real runs; with no
    run at all there is nothing to compare, and writing empty tables would hide that.
    """
    if any(record.manifest for record in records):
        return records
    reasons = "; ".join(
        f"{record.path}: {record.problems[0] if record.problems else 'no manifest'}"
        for record in records
    )
    holding = [r.path for r in records if _holds_runs(r.path)]
    if holding:
        hint = (
            f"{holding[0]} holds run folders: name them, e.g. '{holding[0]}/*', or use "
            f"--latest N --results {holding[0]}."
        )
    else:
        hint = (
            f"Pass run folders such as results/<timestamp>_<name> (each has "
            f"{compare.METADATA}/{constants.MANIFEST}), or use --latest N."
        )
    raise UsageError(f"no run folder to compare: {reasons}", hint=hint)


def _holds_runs(folder: Path) -> bool:
    return any(
        (child / compare.METADATA / constants.MANIFEST).is_file() for child in folder.glob("*")
    )


def show(comparison: compare.Comparison) -> None:
    for warning in comparison.warnings:
        err.print(f"[yellow]![/] {escape(warning)}")
    for run, problems in comparison.problems.items():
        err.print(f"[red]✗[/] {escape(run)}: {escape('; '.join(problems))}")
    table = Table(title="Runs (best LOO first within each data set; full table in the CSV)")
    for column in ("run", "class / fit", "gates", "R²", "holdout MAPE", "CV RMSE"):
        table.add_column(column, overflow="fold")
    for column in ("elpd_loo ± SE", "Δelpd ± SE", "bad k", "elpd_waic ± SE"):
        table.add_column(column, justify="right")
    ordered = comparison.summary.sort_values(["loo_set", "loo_rank"], na_position="last")
    for _, row in ordered.iterrows():
        table.add_row(
            escape(str(row["run"])),
            f"{row['model_class']} / {row['fit_method']}",
            escape(str(row["worst_gate"])),
            _cell(row["r2"]),
            _cell(row["holdout_mape"]),
            _cell(row["cv_rmse"]),
            _pm(row["elpd_loo"], row["elpd_se"]),
            _pm(row["elpd_diff"], row["elpd_diff_se"]),
            _cell(row["pareto_k_bad"]),
            _pm(row["elpd_waic"], row["waic_se"]),
        )
    out.print(table)
    if not comparison.config_diff.empty:
        diff = Table(title="Config differences")
        for column in comparison.config_diff.columns:
            diff.add_column(str(column), overflow="fold")
        for _, row in comparison.config_diff.iterrows():
            diff.add_row(*(escape(str(v)) for v in row))
        out.print(diff)


def _pm(value: float, se: float) -> str:
    return "" if pd.isna(value) else f"{value:.1f} ± {se:.1f}"


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "" if pd.isna(value) else f"{value:.4g}"
    return escape(str(value))
