"""30_post_run: fitted values, decomposition, ROI, response curves and their plots."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from mmm_runner import constants, plotting
from mmm_runner.analysis import decomposition
from mmm_runner.analysis.effects import channel_params
from mmm_runner.analysis.posterior import Posterior
from mmm_runner.analysis.priors import Truncated
from mmm_runner.model import transforms
from mmm_runner.pipeline.context import RunContext, StageResult

Array = npt.NDArray[np.float64]


def run(ctx: RunContext) -> StageResult:
    folder = ctx.folder("post_run")
    design, post = ctx.need("design"), ctx.need("post")
    expected, contrib = ctx.need("expected"), ctx.need("contributions")
    kpi = ctx.spec.kpi
    kpi_rep = ctx.need("idata").posterior_predictive["kpi_rep"].values.reshape(post.n_draws, -1)
    fitted = decomposition.fitted_values(expected, kpi_rep, design)
    fitted.to_csv(folder / constants.FITTED_VALUES, index=False)
    jobs: list[plotting.PlotJob] = [
        ("fitted_vs_actual.png", "fitted_vs_actual", (fitted, kpi)),
        ("residuals.png", "residuals", (fitted,)),
    ]
    artefacts = [constants.FITTED_VALUES]
    summary: dict[str, Any] = {}
    if ctx.config.decomposition.enabled:
        rows = decomposition.decomposition_rows(contrib, design)
        totals = decomposition.decomposition_totals(contrib, design)
        roi = decomposition.roi_table(contrib, design, ctx.spec)
        rows.to_csv(folder / constants.DECOMP_ROWS, index=False)
        totals.to_csv(folder / constants.DECOMP_TOTALS, index=False)
        roi.to_csv(folder / constants.ROI, index=False)
        artefacts += [constants.DECOMP_ROWS, constants.DECOMP_TOTALS, constants.ROI]
        if ctx.spec.pooling:
            decomposition.label_totals(contrib, design, ctx.spec).to_csv(
                folder / "decomp_labels.csv", index=False
            )
            artefacts.append("decomp_labels.csv")
        overall = roi[roi["group"] == "all"]
        media = totals[(totals["group"] == "all") & totals["term"].isin(ctx.spec.media_names)]
        jobs.append(("decomposition.png", "decomposition", (rows, kpi)))
        jobs.append(
            (
                "channel_contributions.png",
                "interval_bars",
                (media, "term", "total", f"Channel contributions to {kpi} (90% intervals)"),
            )
        )
        if "roi" in overall:
            jobs.append(
                (
                    "roi.png",
                    "interval_bars",
                    (overall.dropna(subset=["roi"]), "channel", "roi", "ROI (90% intervals)"),
                )
            )
            rois = overall["roi"].to_numpy(dtype=float)
            summary["roi"] = {
                str(c): round(float(v), 4)
                for c, v in zip(overall["channel"], rois, strict=True)
                if np.isfinite(v)
            }
    jobs += _curve_jobs(ctx, post, design)
    jobs.append(("prior_vs_posterior.png", "prior_vs_posterior", (_prior_pairs(ctx, post),)))
    if ctx.config.fit.method == "mcmc":
        jobs.append(
            (
                "rank_plots.png",
                "rank_plots",
                (ctx.need("idata").idata, ["beta"], {"coef": list(ctx.spec.media_names)}),
            )
        )
    figures = plotting.render_all(jobs, folder, ctx.plots)
    return StageResult(artefacts=artefacts + figures, summary=summary)


def _band(values: Array) -> tuple[Array, Array, Array]:
    return (
        np.median(values, axis=0),
        np.quantile(values, 0.05, axis=0),
        np.quantile(values, 0.95, axis=0),
    )


def _curve_jobs(ctx: RunContext, post: Posterior, design: Any) -> list[plotting.PlotJob]:
    """Adstock weights by lag, and the response to a sustained media level per channel."""
    names = ctx.need("names")
    adstock: dict[str, tuple[Array, Array, Array]] = {}
    response: dict[str, tuple[Array, Array, Array]] = {}
    lags: dict[str, Array] = {}
    spend: dict[str, Array] = {}
    typical: dict[str, float] = {}
    for i, media in enumerate(ctx.spec.media):
        weights = transforms.ADSTOCKS[media.adstock].weights(
            channel_params(post, names, media.name, "adstock"), media.l_max
        )
        adstock[media.name] = _band(np.broadcast_to(weights, (post.n_draws, weights.shape[1])))
        lags[media.name] = np.arange(weights.shape[1], dtype=float)
        # A sustained level adstocks to itself (weights sum to one).
        top = max(2.0, 1.2 * float(design.media_scaled[:, i].max()))
        x = np.linspace(0, top, 101)
        sat = transforms.SATURATIONS[media.saturation].apply(
            x[None, :], channel_params(post, names, media.name, "saturation")
        )
        effect = design.y_sd * post.beta[:, i, None] * sat
        response[media.name] = _band(np.broadcast_to(effect, (post.n_draws, x.size)))
        spend[media.name] = x * design.media_scale[i]
        typical[media.name] = float(design.media_scale[i])
    unit = "log KPI" if design.log_response else ctx.spec.kpi
    return [
        (
            "adstock_curves.png",
            "curves",
            (lags, adstock, "Adstock weights by lag", "lag (periods)"),
        ),
        (
            "saturation_curves.png",
            "curves",
            (
                spend,
                response,
                f"Response of {unit} to a sustained media level (dotted: typical active level)",
                "media per period",
                typical,
            ),
        ),
    ]


def _prior_pairs(ctx: RunContext, post: Posterior) -> dict[str, tuple[Array, Array]]:
    names = ctx.need("names")
    pairs: dict[str, tuple[Array, Array]] = {}
    for j, name in enumerate(ctx.spec.media_names):
        coef = ctx.spec.coefficients[name]
        prior = Truncated(coef.prior, coef.lower, coef.upper).sample(4000, seed=j)
        pairs[f"beta[{name}]"] = (prior, post.beta[:, j])
    for p, param in enumerate(ctx.spec.transform_params):
        index = names.theta.index(param.label)
        prior = Truncated(param.prior, param.lower, param.upper).sample(4000, seed=100 + p)
        pairs[param.label] = (prior, post.theta[:, index])
    return pairs
