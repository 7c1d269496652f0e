"""The batch summary: every run on record, ranked by out-of-sample score only.

The ranking reads the compare-runs tables (``comparison.compare``) of the
batch's run folders: PSIS-LOO elpd within runs fit to the same data, or, when no
run has LOO (MAP fits), the mean CRPS of time-series cross-validation. In-sample
fit and the look of the estimates are shown beside it and never rank: picking
the specification whose coefficients look plausible is specification shopping.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from mmm_runner import comparison
from mmm_runner.atomic import write_csv, write_text
from mmm_runner.batch.work import RunResult, RunTask

SUMMARY_CSV: Final = "summary.csv"
SUMMARY_JSON: Final = "summary.json"
SUMMARY_MD: Final = "summary.md"
COMPARE: Final = "compare"  # the compare-runs tables of the batch's run folders
# Scores that rank, in order of preference: column, higher is better, what it is.
SCORES: Final = (
    ("elpd_loo", True, "PSIS-LOO elpd (expected log predictive density; higher is better)"),
    ("cv_crps", False, "mean CRPS of time-series cross-validation (lower is better)"),
)
# Columns of the compare-runs summary carried into the batch table.
FROM_COMPARISON: Final = (
    "elpd_loo",
    "elpd_se",
    "elpd_diff",
    "elpd_diff_se",
    "pareto_k_bad",
    "cv_crps",
    "cv_rmse",
    "cv_mape",
    "r2",
    "worst_gate",
    "fit_method",
    "data_sha256",
)
WHY_THIS_RANKING: Final = (
    "Runs are ranked by how well they predict data they were not fit to, and by nothing "
    "else: {score}, and only among runs fit to the same data (`score_set`). In-sample fit "
    "(R²), the gates and how plausible the coefficients, contributions or ROI look are shown "
    "but never rank: choosing among specifications by how right their estimates look is "
    "specification shopping, which biases the reported effects toward what was expected and "
    "makes their intervals overconfident. Every run of the batch is kept on record, failed "
    "ones included, so the number of specifications tried is part of the result. Differences "
    "within about two standard errors (`elpd_diff_se`) do not separate two runs."
)

NO_SCORE: Final = (
    "No run has an out-of-sample score, so none is ranked: enable `loo` (on a fit with "
    "draws: MCMC, Laplace or Pathfinder) or `cv` to rank them. In-sample fit (R²) and how "
    "plausible the estimates look never rank runs (that would be specification shopping). "
    "Every run of the batch is kept on record, failed ones included."
)


@dataclass(frozen=True)
class BatchSummary:
    table: pd.DataFrame  # one row per run: ranked runs first
    ranked_by: str  # a column of SCORES, or "" when no run has an out-of-sample score
    comparison: comparison.Comparison | None


def summarise(
    tasks: list[RunTask], results: list[RunResult], attempts: dict[int, list[str]]
) -> BatchSummary:
    """The table of every run (``attempts``: task number -> folders of other attempts)."""
    rows = [
        _row(task, result, attempts.get(task.number, []))
        for task, result in zip(tasks, results, strict=True)
    ]
    table = pd.DataFrame(rows)
    with_folder = [i for i, r in enumerate(results) if r.run_dir]
    compared = None
    if with_folder:
        records = [comparison.load_run(Path(str(results[i].run_dir))) for i in with_folder]
        compared = comparison.compare(records)
        scores = compared.summary.reindex(columns=[*FROM_COMPARISON, "loo_set"])
        scores.index = with_folder
        table = table.join(scores)
    table = table.reindex(
        columns=[*table.columns, *(c for c in FROM_COMPARISON if c not in table)]
    )
    ranked, by = rank(table)
    return BatchSummary(ranked[_columns(ranked, tasks)], by, compared)


def _columns(table: pd.DataFrame, tasks: list[RunTask]) -> list[str]:
    """Who and what first, then the scores, then where and why."""
    changes = list(dict.fromkeys(k for t in tasks for k in t.changes))
    head = ["rank", "score_set", "run", "status", "exit_code", *changes]
    tail = ["run_dir", "seconds", "worker", "other_attempts", "error", "config", "data_sha256"]
    middle = [c for c in table.columns if c not in head and c not in tail]
    return [*head, *middle, *tail]


def _row(task: RunTask, result: RunResult, attempts: list[str]) -> dict[str, Any]:
    return {
        "run": task.name,
        "status": result.status,
        "exit_code": result.exit_code,
        **task.changes,
        "run_dir": result.run_dir or "",
        "seconds": result.seconds,
        "worker": result.host,
        "other_attempts": "; ".join(attempts),
        "error": result.error.strip().splitlines()[0] if result.error.strip() else "",
        "config": str(task.config),
    }


def rank(table: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Adds ``rank`` and ``score_set``; sorts ranked runs first. Returns the score used.

    The first score of SCORES that any finished run has ranks the finished runs that
    have it, within each set of runs fit to the same data.
    """
    table = table.copy()
    finished = table["status"].isin(["completed", "reused"])
    by, higher = "", True
    for column, higher_is_better, _ in SCORES:
        if (finished & table[column].notna()).any():
            by, higher = column, higher_is_better
            break
    table.insert(0, "rank", np.nan)
    table.insert(1, "score_set", np.nan)
    if by:
        eligible = finished & table[by].notna()
        # LOO sets come from compare-runs (same data hash, fitted periods, KPI, groups);
        # CV scores compare across runs of the same data file.
        sets = table["loo_set"] if by == "elpd_loo" else _numbered(table["data_sha256"])
        table.loc[eligible, "score_set"] = sets[eligible]
        ranks = table[eligible].groupby("score_set")[by].rank(ascending=not higher, method="min")
        table.loc[eligible, "rank"] = ranks
    order = np.select(
        [table["rank"].notna(), finished], [0, 1], default=2
    )  # ranked, finished unscored, the rest
    table = table.assign(_order=order).sort_values(
        ["_order", "score_set", "rank"], kind="stable", na_position="last"
    )
    return table.drop(columns=["_order", "loo_set"], errors="ignore").reset_index(drop=True), by


def _numbered(values: pd.Series) -> pd.Series:
    codes = {v: i + 1 for i, v in enumerate(dict.fromkeys(values.dropna()))}
    return values.map(codes)


# --- writing --------------------------------------------------------------------------------


def write(
    summary: BatchSummary, folder: Path, about: dict[str, Any], plots: bool = True
) -> list[str]:
    """summary.csv, summary.json and summary.md, and the compare-runs tables in compare/."""
    written = [SUMMARY_CSV, SUMMARY_JSON, SUMMARY_MD]
    write_csv(summary.table, folder / SUMMARY_CSV)
    runs = json.loads(summary.table.to_json(orient="records"))  # NaN -> null
    document = {**about, "ranked_by": summary.ranked_by, "runs": runs}
    write_text(folder / SUMMARY_JSON, json.dumps(document, indent=2, default=str) + "\n")
    write_text(folder / SUMMARY_MD, markdown(summary, about))
    if summary.comparison is not None:
        files = comparison.write(summary.comparison, folder / COMPARE, plots=plots)
        written += [f"{COMPARE}/{name}" for name in files]
    return written


def markdown(summary: BatchSummary, about: dict[str, Any]) -> str:
    table = summary.table
    counts = table["status"].value_counts()
    said = ", ".join(f"{n} {status}" for status, n in counts.items())
    parts = [f"# Batch {about.get('name', '')}", "", f"{len(table)} runs: {said}."]
    parts += [f"Run folders: `{about.get('output_dir', '')}`.", ""]
    if about.get("sweep"):
        sweep = about["sweep"]
        parts += [f"Sweep `{sweep['file']}` over base `{sweep['base']}`.", ""]
    parts += ["## How the runs are ranked", ""]
    if summary.ranked_by:
        score = next(text for column, _, text in SCORES if column == summary.ranked_by)
        parts.append(WHY_THIS_RANKING.format(score=score))
    else:
        parts.append(NO_SCORE)
    parts += ["", "## Runs", "", comparison.markdown_table(_shown(table)), ""]
    failed = table[~table["status"].isin(["completed", "reused"])]
    if not failed.empty:
        parts += ["## Runs that did not complete", ""]
        for _, row in failed.iterrows():
            code = "" if pd.isna(row["exit_code"]) else f" (exit {int(row['exit_code'])})"
            where = f" — `{row['run_dir']}`" if row["run_dir"] else ""
            parts.append(f"- `{row['run']}`: {row['status']}{code}: {row['error']}{where}")
        parts.append("")
    retried = table[table["other_attempts"] != ""]
    if not retried.empty:
        parts += ["## Other attempts (lost with their worker, never complete)", ""]
        parts += [f"- `{r['run']}`: {r['other_attempts']}" for _, r in retried.iterrows()]
        parts.append("")
    if summary.comparison is not None:
        parts += [
            f"The compare-runs tables behind this one are in `{COMPARE}/` (`comparison.md`: "
            "diagnostics, LOO with ArviZ compare, config differences, channels).",
            "",
        ]
    return "\n".join(parts)


def _shown(table: pd.DataFrame) -> pd.DataFrame:
    """The columns a person reads first; the CSV has them all."""
    hidden = {"config", "data_sha256", "worker", "error", "other_attempts", "seconds"}
    # Scores no run has (LOO of MAP fits, CV without `cv`) would be empty columns.
    empty = {c for c in table.columns if c != "rank" and table[c].isna().all()}
    shown = table[[c for c in table.columns if c not in hidden | empty]].copy()
    shown["run_dir"] = shown["run_dir"].map(lambda p: Path(p).name if p else "")
    return shown
