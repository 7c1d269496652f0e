"""70_forecast: predictions for the held-out periods, scored against what happened."""

from __future__ import annotations

from mmm_runner import constants, plotting
from mmm_runner.analysis import decomposition
from mmm_runner.atomic import write_csv
from mmm_runner.pipeline.context import RunContext, StageResult


def run(ctx: RunContext) -> StageResult:
    fit = ctx.fit
    design = fit.design
    if design.fitted.all():
        return StageResult("skipped", "no holdout periods (data.holdout: 0)")
    folder = ctx.folder("forecast")
    kpi_rep, expected = fit.kpi_rep, fit.decomposition.expected
    table = decomposition.holdout_table(expected, kpi_rep, design)
    write_csv(table, folder / constants.FORECAST)
    covered = (
        (table["actual"] >= table["predictive_q05"]) & (table["actual"] <= table["predictive_q95"])
    ).mean()
    fitted = decomposition.fitted_values(expected, kpi_rep, design)
    figures = plotting.render_all(
        [("forecast.png", "fitted_vs_actual", (fitted, ctx.spec.kpi))], folder, ctx.plots
    )
    mape = float(table["abs_pct_error"].mean())
    return StageResult(
        message=f"holdout MAPE {mape:.1%}, {covered:.0%} inside the 90% predictive interval",
        artefacts=[constants.FORECAST, *figures],
        summary={"mape": mape, "coverage_90": float(covered), "periods": len(table)},
    )
