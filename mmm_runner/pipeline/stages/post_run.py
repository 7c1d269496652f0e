"""30_post_run: fitted values, decomposition, ROI, response curves and their plots."""

from __future__ import annotations

from typing import Any

import numpy as np

from mmm_runner import constants, plotting
from mmm_runner.analysis import decomposition
from mmm_runner.analysis.calibration import lift_table
from mmm_runner.analysis.curves import channel_curves, prior_posterior_pairs, response_unit
from mmm_runner.analysis.drift import drift_table
from mmm_runner.analysis.selection import selection_table
from mmm_runner.atomic import write_csv
from mmm_runner.pipeline.context import Fit, RunContext, StageResult


def run(ctx: RunContext) -> StageResult:
    folder = ctx.folder("post_run")
    fit = ctx.fit
    design, kpi = fit.design, ctx.spec.kpi
    fitted = decomposition.fitted_values(fit.decomposition.expected, fit.kpi_rep, design)
    write_csv(fitted, folder / constants.FITTED_VALUES)
    jobs: list[plotting.PlotJob] = [
        ("fitted_vs_actual.png", "fitted_vs_actual", (fitted, kpi)),
        ("residuals.png", "residuals", (fitted,)),
    ]
    artefacts = [constants.FITTED_VALUES]
    summary: dict[str, Any] = {}
    if ctx.config.decomposition.enabled:
        artefacts += _decomposition(ctx, jobs, summary)
    if ctx.spec.selection is not None:
        selected = selection_table(fit.post, design, ctx.spec, fit.names)
        write_csv(selected, folder / constants.SELECTION)
        artefacts.append(constants.SELECTION)
        jobs.append(("selection.png", "selection", (selected,)))
    if ctx.spec.time_varying:
        drift = drift_table(fit.post, design, ctx.spec)
        write_csv(drift, folder / constants.DRIFT)
        artefacts.append(constants.DRIFT)
        jobs.append(("time_varying_effects.png", "time_varying_effects", (drift,)))
    jobs += _curve_jobs(ctx, fit)
    pairs = prior_posterior_pairs(fit.post, ctx.spec, fit.names)
    jobs.append(("prior_vs_posterior.png", "prior_vs_posterior", (pairs,)))
    if fit.method == "mcmc":
        coefs = {"coef": list(ctx.spec.media_names)}
        jobs.append(("rank_plots.png", "rank_plots", (fit.posterior.idata, ["beta"], coefs)))
    figures = plotting.render_all(jobs, folder, ctx.plots)
    return StageResult(artefacts=artefacts + figures, summary=summary)


def _decomposition(
    ctx: RunContext, jobs: list[plotting.PlotJob], summary: dict[str, Any]
) -> list[str]:
    """Writes the decomposition tables (and the class's own) and queues their figures."""
    folder, fit, kpi = ctx.folder("post_run"), ctx.fit, ctx.spec.kpi
    contrib, design = fit.decomposition.contributions, fit.design
    rows = decomposition.decomposition_rows(contrib, design)
    totals = decomposition.decomposition_totals(contrib, design)
    roi = decomposition.roi_table(contrib, design, ctx.spec)
    tables = {
        constants.DECOMP_ROWS: rows,
        constants.DECOMP_TOTALS: totals,
        constants.ROI: roi,
        **ctx.model_class.extra_tables(fit.post, fit.decomposition, design, ctx.spec, fit.names),
    }
    if ctx.spec.lift_tests:
        draws = ctx.model_class.model_lifts(
            fit.post, design, ctx.spec, fit.names, fit.decomposition.curves
        )
        lifts = lift_table(design, ctx.spec, draws)
        tables[constants.CALIBRATION] = lifts
        jobs.append(("calibration.png", "lift_tests", (lifts,)))
    for name, table in tables.items():
        write_csv(table, folder / name)
    jobs += ctx.model_class.extra_figures(tables, ctx.spec)
    overall = roi[roi["group"] == "all"]
    media = totals[(totals["group"] == "all") & totals["term"].isin(ctx.spec.media_names)]
    jobs.append(("decomposition.png", "decomposition", (rows, kpi)))
    title = f"Channel contributions to {kpi} (90% intervals)"
    jobs.append(("channel_contributions.png", "interval_bars", (media, "term", "total", title)))
    if "roi" in overall:
        shown = overall.dropna(subset=["roi"])
        jobs.append(("roi.png", "interval_bars", (shown, "channel", "roi", "ROI (90% intervals)")))
        rois = overall["roi"].to_numpy(dtype=float)
        summary["roi"] = {
            str(c): round(float(v), 4)
            for c, v in zip(overall["channel"], rois, strict=True)
            if np.isfinite(v)
        }
    return list(tables)


def _curve_jobs(ctx: RunContext, fit: Fit) -> list[plotting.PlotJob]:
    """Adstock weights by lag, and the response to a sustained media level per channel."""
    curves = channel_curves(fit.post, fit.design, ctx.spec, fit.names)
    return plotting.curve_jobs(curves, response_unit(fit.design, ctx.spec))
