"""50_model_selection: PSIS-LOO summary, Pareto k per period, and cross-validation."""

from __future__ import annotations

from mmm_runner import constants, plotting
from mmm_runner.analysis.posterior import row_labels
from mmm_runner.pipeline.context import RunContext, StageResult
from mmm_runner.pipeline.stages.diagnostics import loo_result


def run(ctx: RunContext) -> StageResult:
    folder = ctx.folder("model_selection")
    if not ctx.config.loo.enabled:
        return StageResult("skipped", "loo disabled in the config")
    result = loo_result(ctx)
    if result is None:
        return StageResult("skipped", "LOO needs posterior draws; MAP gives a point estimate")
    design = ctx.need("design")
    labels = [label for label, keep in zip(row_labels(design), design.fitted, strict=True) if keep]
    summary = result.summary()
    summary.to_csv(folder / constants.LOO_SUMMARY, index=False)
    result.pointwise(labels).to_csv(folder / constants.PARETO_K, index=False)
    figures = plotting.render_all(
        [("pareto_k.png", plotting.pareto_k, (result.pareto_k, labels))], folder, ctx.plots
    )
    row = summary.iloc[0]
    return StageResult(
        message=f"elpd_loo {row.elpd_loo:.1f} (SE {row.se:.1f}), {row.k_bad} bad k",
        artefacts=[constants.LOO_SUMMARY, constants.PARETO_K, *figures],
        summary={
            "elpd_loo": float(row.elpd_loo),
            "se": float(row.se),
            "p_loo": float(row.p_loo),
            "k_bad": int(row.k_bad),
        },
    )
