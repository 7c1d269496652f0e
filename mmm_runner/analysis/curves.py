"""Bands of each channel's adstock weights and response curve, and prior/posterior pairs.

What the 30_post_run figures draw, computed from the posterior: the median
and the run's interval (see ``intervals``) over draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mmm_runner.analysis.effects import MIX_SHARE, MIX_THETA, channel_params, slot
from mmm_runner.analysis.intervals import median_band
from mmm_runner.analysis.posterior import Posterior
from mmm_runner.analysis.priors import Truncated
from mmm_runner.config.resolve import ModelSpec
from mmm_runner.data.design import Design
from mmm_runner.model import hsgp, transforms
from mmm_runner.model.stan_data import Layout

Array = npt.NDArray[np.float64]
Band = tuple[Array, Array, Array]  # median, lower, upper
PRIOR_DRAWS = 4000


@dataclass(frozen=True)
class ChannelCurves:
    """Per channel: adstock weights by lag and the response to a sustained media level."""

    lags: dict[str, Array]
    adstock: dict[str, Band]
    media: dict[str, Array]  # media per period on the response curve's x axis
    response: dict[str, Band]
    typical: dict[str, float]  # the channel's typical active level (its media scale)


def channel_curves(
    post: Posterior, design: Design, spec: ModelSpec, names: Layout
) -> ChannelCurves:
    """Adstock and response bands of every channel (the first group's transforms; a
    time-varying channel's at its latest effectiveness). A channel with several
    transform slots (transforms per outcome) shows its slots' mix, each weighted by its
    share of the coefficient: the response is its effect on the KPI."""
    out = ChannelCurves({}, {}, {}, {}, {})
    latest = hsgp.latest_drift(design, spec, post.pool)  # time-varying: as the budget plans
    slots = (
        [slot(post, s) for s in range(post.pool[MIX_THETA].shape[1])]
        if MIX_SHARE in post.pool
        else [post]
    )
    for i, media in enumerate(spec.media):
        # A sustained level adstocks to itself (weights sum to one).
        top = max(2.0, 1.2 * float(design.media_scaled[:, i].max()))
        x = np.linspace(0, top, 101)
        weights = np.zeros((post.n_draws, max(media.l_max, 1)))
        sat = np.zeros((post.n_draws, x.size))
        for s, part in enumerate(slots):
            share = part.pool[MIX_SHARE][:, s, i, None] if len(slots) > 1 else 1.0
            weights = weights + share * transforms.ADSTOCKS[media.adstock].weights(
                channel_params(part, names, media.name, "adstock"), media.l_max
            )
            sat = sat + share * transforms.SATURATIONS[media.saturation].apply(
                x[None, :], channel_params(part, names, media.name, "saturation")
            )
        out.adstock[media.name] = median_band(weights)
        out.lags[media.name] = np.arange(weights.shape[1], dtype=float)
        effect = design.y_sd * post.beta[:, i, None] * sat
        if media.name in latest:
            effect = effect * latest[media.name][:, None]
        out.response[media.name] = median_band(np.broadcast_to(effect, (post.n_draws, x.size)))
        out.media[media.name] = x * design.media_scale[i]
        out.typical[media.name] = float(design.media_scale[i])
    return out


def response_unit(design: Design, spec: ModelSpec) -> str:
    """What a channel's response curve is measured in (the modelled KPI)."""
    unit = f"log {spec.kpi}" if design.log_response else spec.kpi
    return unit if design.population is None else f"{unit} per capita"


def prior_posterior_pairs(
    post: Posterior, spec: ModelSpec, names: Layout
) -> dict[str, tuple[Array, Array]]:
    """Prior and posterior draws of each media coefficient and transform parameter."""
    pairs: dict[str, tuple[Array, Array]] = {}
    for j, name in enumerate(spec.media_names):
        if name in spec.roi_channels:
            continue  # its prior is on its ROI, not on the coefficient
        if np.isnan(post.beta_stated[:, j]).all():
            continue  # no coefficient of its own (a channel acting only through mediators)
        coef = spec.coefficients[name]
        prior = Truncated(coef.prior, coef.lower, coef.upper).sample(PRIOR_DRAWS, seed=j)
        pairs[f"beta[{name}]"] = (prior, post.beta_stated[:, j])
    for p, param in enumerate(spec.transform_params):
        index = names.theta.index(param.label)
        prior = Truncated(param.prior, param.lower, param.upper).sample(PRIOR_DRAWS, seed=100 + p)
        pairs[param.label] = (prior, post.theta_stated(index, post.theta[:, index]))
    return pairs
