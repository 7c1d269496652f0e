"""The network classes' tables and quantities: mediation by path, each outcome's
effects and coefficients, cross-effects, error correlations and per-outcome LOO."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmm_runner.analysis import loo as loo_
from mmm_runner.analysis.effects import Decomposition
from mmm_runner.analysis.intervals import HIGH, LOW
from mmm_runner.analysis.network_effects import Flows, Shape, cross_values, shape_of
from mmm_runner.analysis.posterior import Array, Posterior, import_arviz
from mmm_runner.config.resolve import ModelSpec
from mmm_runner.data.design import Design
from mmm_runner.model import network_data as nd
from mmm_runner.model.stan_data import Layout

Quantities = dict[str, tuple[str, str, Array]]


def share(part: Array, total: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        share: Array = np.where(total != 0, part / total, np.nan)
    return share


def _row(values: Array) -> dict[str, float]:
    finite = values[np.isfinite(values)]
    if not finite.size:
        return {"mean": np.nan, "q05": np.nan, "q95": np.nan}
    return {
        "mean": float(finite.mean()),
        "q05": float(np.quantile(finite, LOW)),
        "q95": float(np.quantile(finite, HIGH)),
    }


def _paths(post: Posterior, spec: ModelSpec, i: int, weights: Array) -> dict[str, Array]:
    """Shares of channel i's effect on the KPI by path, per draw: direct, each mediator
    (and, with cross-effects, what they carry: the rest of its contribution)."""
    direct = np.einsum("k,dk->d", weights, post.pool["direct"][:, :, i])
    via = post.pool["indirect"][:, :, i]
    total = direct + via.sum(axis=1)
    shares = {"direct": share(direct, total)}
    for d, m in enumerate(spec.mediators):
        if spec.media_names[i] in m.channels:
            shares[f"via {m.name}"] = share(via[:, d], total)
    return shares


def mediation_totals(
    post: Posterior, decomposition: Decomposition, design: Design, spec: ModelSpec
) -> pd.DataFrame:
    """Per channel, each path's contribution to the KPI over the fitted periods (direct,
    via each mediator, through cross-effects), the total and the proportion mediated."""
    rows = []
    fitted = design.fitted
    weights = shape_of(design, spec).weights
    for i, name in enumerate(spec.media_names):
        total = decomposition.contributions[name][:, fitted].sum(axis=1)
        own = design.y_sd * post.beta[:, i] * decomposition.curves[:, i, fitted].sum(axis=1)
        shares = _paths(post, spec, i, weights)
        for path, part in shares.items():
            rows.append({"channel": name, "path": path, **_row(own * part)})
        if spec.cross_effects:
            rows.append({"channel": name, "path": "cross-effects", **_row(total - own)})
        rows.append({"channel": name, "path": "total", **_row(total)})
        mediated = share(own * (1.0 - shares["direct"]), total)
        rows.append({"channel": name, "path": "proportion_mediated", **_row(mediated)})
    return pd.DataFrame(rows, columns=["channel", "path", "mean", "q05", "q95"])


def mediation_series(
    post: Posterior, decomposition: Decomposition, design: Design, spec: ModelSpec
) -> pd.DataFrame:
    """Per period and channel, each path's contribution (mean and 90% interval)."""
    frames = []
    dates = design.dates.strftime("%Y-%m-%d")
    weights = shape_of(design, spec).weights
    for i, name in enumerate(spec.media_names):
        contribution = decomposition.contributions[name]
        own = design.y_sd * post.beta[:, i, None] * decomposition.curves[:, i, :]
        parts = {
            path: own * np.nan_to_num(fraction)[:, None]
            for path, fraction in _paths(post, spec, i, weights).items()
        }
        if spec.cross_effects:
            parts["cross-effects"] = contribution - own
        for path, part in parts.items():
            frames.append(
                pd.DataFrame(
                    {
                        "date": dates,
                        "channel": name,
                        "path": path,
                        "mean": part.mean(axis=0),
                        "q05": np.quantile(part, LOW, axis=0),
                        "q95": np.quantile(part, HIGH, axis=0),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def mediator_quantities(
    post: Posterior, design: Design, spec: ModelSpec, shape: Shape
) -> Quantities:
    out: Quantities = {}
    pool = post.pool
    scales = nd.mediator_scales(design)
    for g, (d, k) in enumerate(shape.links):
        m = spec.mediators[d]
        unit = m.column or f"{m.name} (latent units)"
        sd_k = shape.scales[k][1]
        out[f"{m.name}->{shape.outcomes[k]}"] = (
            "mediator",
            f"{shape.outcomes[k]} per {unit}",
            pool["gamma"][:, g] * sd_k / scales[d][1],
        )
    at = 0
    for d, m in enumerate(spec.mediators):
        mean, sd = scales[d]
        unit = m.column or f"{m.name} (latent units)"
        out[f"{m.name}.intercept"] = ("mediator", unit, mean + sd * pool["alpha_med"][:, d])
        out[f"sigma[{m.name}]"] = ("noise", unit, sd * pool["sigma_med"][:, d])
        for channel in m.channels:
            out[f"{channel}->{m.name}"] = (
                "mediator",
                f"{unit} at full saturation",
                sd * pool["beta_med"][:, at],
            )
            at += 1
    partial = [d for d, m in enumerate(spec.mediators) if m.observation == "partial"]
    for i, d in enumerate(partial):
        name = spec.mediators[d].name
        out[f"{name}.observation_noise"] = ("noise", name, scales[d][1] * pool["nu"][:, i])
    return out


# ---------------------------------------------------------------------------
# Several outcomes


def outcome_quantities(
    post: Posterior, design: Design, spec: ModelSpec, shape: Shape, names: Layout
) -> Quantities:
    """Each outcome's own coefficients in its units, the cross-effects in target units
    per source unit, and the error correlations."""
    out: Quantities = {}
    pool = post.pool
    columns = names.beta[len(spec.media) :]
    for k, o in enumerate(spec.outcomes):
        mean, sd = shape.scales[k]
        out[f"{o.name}.intercept"] = ("outcome", o.name, mean + sd * pool["alpha_out"][:, k])
        out[f"sigma[{o.name}]"] = ("noise", o.name, sd * pool["sigma_out"][:, k])
        for channel in o.channels:
            i = spec.media_names.index(channel)
            out[f"{channel}->{o.name}"] = (
                "media",
                f"{o.name} at full saturation",
                sd * pool["direct"][:, k, i],
            )
        for kk, col in shape.xcoef:
            if kk == k:
                out[f"{columns[col]}->{o.name}"] = (
                    "control",
                    f"{o.name} per unit",
                    sd * pool["xcoef_out"][:, k, col] / design.x_sd[col],
                )
    for x, c in enumerate(spec.cross_effects):
        k, j = shape.outcomes.index(c.target), shape.outcomes.index(c.source)
        per_unit = pool["psi"][:, x] * shape.scales[k][1] / shape.scales[j][1]
        out[f"psi[{nd.cross_label(c)}]"] = ("cross", f"{c.target} per {c.source}", per_unit)
    if spec.lkj_eta is not None:
        for a in range(len(shape.outcomes)):
            for b in range(a + 1, len(shape.outcomes)):
                label = f"corr[{shape.outcomes[a]},{shape.outcomes[b]}]"
                out[label] = ("correlation", "correlation", pool["R"][:, a, b])
    return out


def outcome_effects(design: Design, spec: ModelSpec, shape: Shape, flows: Flows) -> pd.DataFrame:
    """Per outcome and channel, over the fitted periods and in the outcome's units: the
    direct effect, each mediator's, what cross-effects carry, the total and the
    proportion mediated."""
    rows = []
    fitted = design.fitted
    for k, outcome in enumerate(shape.outcomes):
        sd = shape.scales[k][1]
        for i, channel in enumerate(spec.media_names):
            own = sd * flows.own[:, k, i][:, fitted].sum(axis=1)
            total = sd * flows.total[:, k, i][:, fitted].sum(axis=1)
            rows.append({"outcome": outcome, "channel": channel, "path": "own", **_row(own)})
            rows.append(
                {
                    "outcome": outcome,
                    "channel": channel,
                    "path": "cross-effects",
                    **_row(total - own),
                }
            )
            rows.append({"outcome": outcome, "channel": channel, "path": "total", **_row(total)})
    return pd.DataFrame(rows, columns=["outcome", "channel", "path", "mean", "q05", "q95"])


def outcome_series(design: Design, spec: ModelSpec, shape: Shape, flows: Flows) -> pd.DataFrame:
    """Per period, outcome and channel: the channel's contribution (cross-effects
    included) in the outcome's units, mean and 90% interval."""
    frames = []
    dates = design.dates.strftime("%Y-%m-%d")
    for k, outcome in enumerate(shape.outcomes):
        sd = shape.scales[k][1]
        for i, channel in enumerate(spec.media_names):
            part = sd * flows.total[:, k, i]
            frames.append(
                pd.DataFrame(
                    {
                        "date": dates,
                        "outcome": outcome,
                        "channel": channel,
                        "mean": part.mean(axis=0),
                        "q05": np.quantile(part, LOW, axis=0),
                        "q95": np.quantile(part, HIGH, axis=0),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def cross_table(post: Posterior, design: Design, spec: ModelSpec, shape: Shape) -> pd.DataFrame:
    """cross_effects.csv: each cross-effect's psi in target units per source unit, the
    probability of its sign, and what it adds to the target over the fitted periods."""
    values = cross_values(design, spec)
    fitted = design.fitted
    rows = []
    for x, c in enumerate(spec.cross_effects):
        k, j = shape.outcomes.index(c.target), shape.outcomes.index(c.source)
        psi = post.pool["psi"][:, x]
        per_unit = psi * shape.scales[k][1] / shape.scales[j][1]
        added = shape.scales[k][1] * psi * values[fitted, x].sum()
        summary = _row(per_unit)
        moved = _row(added)
        rows.append(
            {
                "from": c.source,
                "to": c.target,
                "lag": c.lag,
                "modulator": c.modulator or "",
                "psi_mean": summary["mean"],
                "psi_q05": summary["q05"],
                "psi_q95": summary["q95"],
                "p_positive": float(np.mean(psi > 0)),
                "added_mean": moved["mean"],
                "added_q05": moved["q05"],
                "added_q95": moved["q95"],
            }
        )
    return pd.DataFrame(rows)


def correlation_table(post: Posterior, shape: Shape) -> pd.DataFrame:
    """error_correlation.csv: each pair of outcomes' error correlation."""
    rows = []
    for a in range(len(shape.outcomes)):
        for b in range(a + 1, len(shape.outcomes)):
            rows.append(
                {
                    "outcome_a": shape.outcomes[a],
                    "outcome_b": shape.outcomes[b],
                    **_row(post.pool["R"][:, a, b]),
                }
            )
    return pd.DataFrame(rows)


def outcome_loo(post: Posterior, shape: Shape) -> pd.DataFrame:
    """loo_outcomes.csv: PSIS-LOO of each outcome on its own (its units, the mediators
    integrated out), beside the joint one in loo_summary.csv."""
    az = import_arviz()
    rows = []
    log_lik = post.pool["log_lik_outcome"]
    n_chains = post.n_chains
    for k, outcome in enumerate(shape.outcomes):
        values = log_lik[:, :, k] - np.log(shape.scales[k][1])
        per_chain = values.reshape(n_chains, -1, values.shape[-1])
        idata = az.from_dict(
            posterior={"sigma": post.pool["sigma_out"][:, k].reshape(n_chains, -1)},
            log_likelihood={"log_lik": per_chain},
        )
        result = loo_.compute(idata)
        rows.append({"outcome": outcome, **result.summary().iloc[0].to_dict()})
    return pd.DataFrame(rows)
