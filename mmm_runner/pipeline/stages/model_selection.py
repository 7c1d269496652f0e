"""50_model_selection: PSIS-LOO and WAIC summaries, Pareto k per period, and cross-validation."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from mmm_runner import constants, plotting
from mmm_runner.analysis.posterior import row_labels
from mmm_runner.analysis.waic import VAR_HIGH, Waic
from mmm_runner.atomic import write_csv
from mmm_runner.pipeline.context import RunContext, StageResult
from mmm_runner.pipeline.cross_validation import cross_validate, summarise


def run(ctx: RunContext) -> StageResult:
    folder = ctx.folder("model_selection")
    messages: list[str] = []
    artefacts: list[str] = []
    summary: dict[str, Any] = {}
    if ctx.config.loo.enabled:
        _loo(ctx, messages, artefacts, summary)
    else:
        messages.append("loo disabled in the config (no PSIS-LOO, no WAIC)")
    cv = ctx.config.cv
    if cv is not None and cv.enabled:
        started = time.perf_counter()
        assert ctx.validation.frame is not None
        folds = cross_validate(
            ctx.validation.frame,
            ctx.config,
            ctx.spec,
            ctx.fit.compiled,
            ctx.fit.toolchain,
            note=ctx.reporter.note,
        )
        write_csv(folds, folder / constants.CV_FOLDS)
        table = summarise(folds, cv)
        write_csv(table, folder / constants.CV_SUMMARY)
        artefacts += [constants.CV_FOLDS, constants.CV_SUMMARY]
        row = table.iloc[0]
        summary.update(
            cv_folds=int(row["folds"]),
            cv_rmse=float(row["rmse"]),
            cv_crps=float(row["crps"]),
            cv_seconds=round(time.perf_counter() - started, 2),
        )
        messages.append(f"CV {int(row['folds'])} folds: RMSE {row['rmse']:,.4g}")
    if not artefacts:
        return StageResult("skipped", "; ".join(messages))
    return StageResult(message="; ".join(messages), artefacts=artefacts, summary=summary)


def _loo(
    ctx: RunContext, messages: list[str], artefacts: list[str], summary: dict[str, Any]
) -> None:
    folder = ctx.folder("model_selection")
    result = ctx.score.loo
    if result is None:
        messages.append(ctx.score.reason)
        return
    design = ctx.fit.design
    labels = [label for label, keep in zip(row_labels(design), design.fitted, strict=True) if keep]
    table = result.summary()
    write_csv(table, folder / constants.LOO_SUMMARY)
    write_csv(result.pointwise(labels), folder / constants.PARETO_K)
    figures = plotting.render_all(
        [("pareto_k.png", "pareto_k", (result.pareto_k, labels))], folder, ctx.plots
    )
    row = table.iloc[0]
    messages.append(f"elpd_loo {row.elpd_loo:.1f} (SE {row.se:.1f}), {row.k_bad} bad k")
    artefacts += [constants.LOO_SUMMARY, constants.PARETO_K, *figures]
    summary.update(
        elpd_loo=float(row.elpd_loo),
        se=float(row.se),
        p_loo=float(row.p_loo),
        k_bad=int(row.k_bad),
    )
    if ctx.score.waic is not None:
        _waic(ctx.score.waic, folder, messages, artefacts, summary)


def _waic(
    result: Waic, folder: Path, messages: list[str], artefacts: list[str], summary: dict[str, Any]
) -> None:
    table = result.summary()
    write_csv(table, folder / constants.WAIC_SUMMARY)
    row = table.iloc[0]
    note = f", {row.var_high} var(log_lik) > {VAR_HIGH}" if row.var_high else ""
    messages.append(f"elpd_waic {row.elpd_waic:.1f} (SE {row.se:.1f}){note}")
    artefacts.append(constants.WAIC_SUMMARY)
    summary.update(
        elpd_waic=float(row.elpd_waic),
        waic_se=float(row.se),
        p_waic=float(row.p_waic),
        waic_var_high=int(row.var_high),
    )
