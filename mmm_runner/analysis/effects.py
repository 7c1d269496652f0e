"""Each term's effect per draw and period, rebuilt in NumPy from the posterior.

The media transforms are the NumPy twins of the Stan functions, so the
linear predictor here equals the Stan program's (a test checks it to 1e-8).
Contributions are on the KPI scale:

* identity response: each term's part of the fitted mean (media: coefficient
  times saturation; controls, trend and seasonality: coefficient times the
  uncentred column; the intercept is the baseline), summing to the fit;
* log response: each term's counterfactual removal, E[KPI] minus E[KPI]
  without that term, with ``baseline`` = exp(intercept) and an
  ``interaction`` line for what multiplicative effects add beyond the sum.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from mmm_runner.analysis.posterior import Posterior
from mmm_runner.config.resolve import ModelSpec
from mmm_runner.data.design import Design
from mmm_runner.model import hsgp, transforms
from mmm_runner.model.stan_data import Layout

Array = npt.NDArray[np.float64]
BASELINE = "baseline"
INTERACTION = "interaction"
# Transform slots (Posterior.pool) of a channel whose effect is a sum of transforms of
# its media (network channels with transforms per outcome): slot s's parameters in the
# layout of ``theta`` (draws, S, P) and its share of each channel's coefficient
# (draws, S, M); a channel with one transform has share 1 in slot 0.
MIX_THETA = "mix_theta"
MIX_SHARE = "mix_share"


def channel_params(
    post: Posterior, names: Layout, channel: str, stage: str, group: int = 0
) -> dict[str, Array]:
    """The draws of one channel's adstock or saturation parameters, by name."""
    prefix = f"{channel}.{stage}."
    theta = post.theta_for(group)
    return {
        label.removeprefix(prefix): theta[:, i]
        for i, label in enumerate(names.theta)
        if label.startswith(prefix)
    }


def media_curves(
    post: Posterior, design: Design, spec: ModelSpec, names: Layout, media: Array | None = None
) -> Array:
    """Saturated adstock of every channel, shape (draws, M, rows).

    ``media`` replaces the design's scaled media (same shape) for scenarios. A posterior
    with transform slots (a network channel with transforms per outcome) gives each
    channel the mix of its slots' curves weighted by their shares of its coefficient,
    so the coefficient times the curve is still the channel's effect.
    """
    if MIX_SHARE not in post.pool:
        return _curves(post, design, spec, names, media)
    return mix_curves(post, slot_curves(post, design, spec, names, media))


def mix_curves(post: Posterior, slots: Array) -> Array:
    """Each channel's slots' curves (``slot_curves``) weighted by their shares of its
    coefficient, (draws, M, rows)."""
    mixed: Array = np.einsum("dsm,dsmt->dmt", post.pool[MIX_SHARE], slots)
    return mixed


def slot(post: Posterior, s: int) -> Posterior:
    """The posterior with transform slot ``s``'s parameters as its transforms."""
    return replace(post, theta_g=post.pool[MIX_THETA][:, s : s + 1, :])


def slot_curves(
    post: Posterior,
    design: Design,
    spec: ModelSpec,
    names: Layout,
    media: Array | None = None,
    channels: Sequence[int] | None = None,
) -> Array:
    """Every transform slot's saturated adstock of every channel (of ``channels`` only,
    the others left zero), (draws, S, M, rows). A slot that holds a channel's first
    slot's parameters (a channel with one transform, or fewer than S) repeats its curve
    without computing it again."""
    mix = post.pool[MIX_THETA]
    chosen = range(len(spec.media)) if channels is None else channels
    first = _curves(slot(post, 0), design, spec, names, media, chosen)
    out = np.repeat(first[:, None], mix.shape[1], axis=1)
    for s in range(1, mix.shape[1]):
        own = [
            i
            for i in chosen
            if not np.array_equal(
                mix[:, s, _param_index(names, spec.media[i].name)],
                mix[:, 0, _param_index(names, spec.media[i].name)],
            )
        ]
        if own:
            out[:, s, own] = _curves(slot(post, s), design, spec, names, media, own)[:, own]
    return out


def _param_index(names: Layout, channel: str) -> list[int]:
    """Where a channel's transform parameters sit in ``theta``."""
    return [p for p, label in enumerate(names.theta) if label.startswith(f"{channel}.")]


def _curves(
    post: Posterior,
    design: Design,
    spec: ModelSpec,
    names: Layout,
    media: Array | None,
    channels: Iterable[int] | None = None,
) -> Array:
    """Saturated adstock of every channel (of ``channels`` only, the others left zero)."""
    scaled = design.media_scaled if media is None else media
    warmup = design.warmup_scaled  # carried into the window's first periods
    depth = warmup.shape[1]
    out = np.zeros((post.n_draws, len(spec.media), design.n_rows))
    chosen = set(range(len(spec.media)) if channels is None else channels)
    for i, term in enumerate(spec.media):
        if i not in chosen:
            continue
        for g in range(design.n_groups):
            rows = design.group == g
            series = np.concatenate([warmup[g, :, i], scaled[rows, i]])
            out[:, i, rows] = transforms.transform(
                series,
                term.adstock,
                channel_params(post, names, term.name, "adstock", g),
                term.saturation,
                channel_params(post, names, term.name, "saturation", g),
                term.l_max,
            )[:, depth:]
    return with_drift(out, post, design, spec)


def with_drift(curves: Array, post: Posterior, design: Design, spec: ModelSpec) -> Array:
    """Curves (draws, M, rows) with each time-varying channel's effectiveness multiplier
    applied (held at its latest value after the fitted periods)."""
    if not spec.time_varying or "tvp_z" not in post.pool:
        return curves
    drift = hsgp.drift_multipliers(design, spec, post.pool)
    for i, name in enumerate(spec.time_varying):
        curves[:, spec.media_names.index(name), :] *= drift[:, i, :]
    return curves


def linear_predictor(
    post: Posterior, design: Design, spec: ModelSpec, names: Layout, curves: Array | None = None
) -> Array:
    """The modelling-scale mean of every row, shape (draws, rows)."""
    curves = media_curves(post, design, spec, names) if curves is None else curves
    m = len(spec.media)
    mu = np.zeros((post.n_draws, design.n_rows))
    for g in range(design.n_groups):
        rows = design.group == g
        beta = post.beta_g[:, g, :]
        mu[:, rows] = (
            post.alpha_g[:, g, None]
            + np.einsum("dm,dmt->dt", beta[:, :m], curves[:, :, rows])
            + beta[:, m:] @ design.x[rows].T
        )
    return mu


def log_scale_parts(
    post: Posterior, design: Design, spec: ModelSpec, names: Layout, curves: Array | None = None
) -> dict[str, Array]:
    """Each term's part of the original-scale linear predictor (KPI or log KPI).

    The parts sum to the fitted mean (identity) or to the log of the fitted
    median (log response); the intercept part is ``baseline``.  Each group
    uses its own coefficients.
    """
    curves = media_curves(post, design, spec, names) if curves is None else curves
    m = len(spec.media)
    terms = [BASELINE, *spec.media_names, *dict.fromkeys(c.term for c in design.columns)]
    parts = {term: np.zeros((post.n_draws, design.n_rows)) for term in terms}
    for g in range(design.n_groups):
        rows = design.group == g
        beta = post.beta_g[:, g, :]
        intercept = design.y_mean + design.y_sd * post.alpha_g[:, g]
        for i, name in enumerate(spec.media_names):
            parts[name][:, rows] = design.y_sd * beta[:, i, None] * curves[:, i, rows]
        for j, column in enumerate(design.columns):
            per_unit = beta[:, m + j] * design.y_sd / design.x_sd[j]
            intercept = intercept - per_unit * design.x_mean[j]
            parts[column.term][:, rows] += per_unit[:, None] * design.x_raw[None, rows, j]
        parts[BASELINE][:, rows] = intercept[:, None]
    if design.population is not None:  # per capita -> totals
        if design.log_response:
            parts[BASELINE] = parts[BASELINE] + np.log(design.population)[None, :]
        else:
            parts = {term: part * design.population[None, :] for term, part in parts.items()}
    return parts


def _row_noise(post: Posterior, design: Design) -> Array:
    """The noise scale of every row on the original log scale, (draws, rows)."""
    noise: Array = post.sigma_g[:, design.group] * design.y_sd
    return noise


def expected_kpi(parts: dict[str, Array], post: Posterior, design: Design) -> Array:
    """E[KPI] per draw and row (for log models exp(eta + sigma^2 / 2))."""
    eta = sum(parts.values())
    assert isinstance(eta, np.ndarray)
    if not design.log_response:
        return eta
    return np.asarray(np.exp(eta + 0.5 * _row_noise(post, design) ** 2))


def contributions(
    post: Posterior, design: Design, spec: ModelSpec, names: Layout, curves: Array | None = None
) -> dict[str, Array]:
    """Every term's contribution to the KPI per draw and row (see the module notes)."""
    return decompose(post, design, spec, names, curves).contributions


@dataclass(frozen=True)
class Decomposition:
    """The fit taken apart, per draw and row: what post-run, gates and budget read.

    ``parts`` sum to the modelling-scale mean on the original scale (KPI or
    log KPI); ``contributions`` are on the KPI scale (see the module notes);
    ``expected`` is E[KPI].
    """

    curves: Array  # (draws, M, rows) saturated adstock of each channel
    parts: dict[str, Array]
    contributions: dict[str, Array]
    expected: Array  # (draws, rows)


def decompose(
    post: Posterior,
    design: Design,
    spec: ModelSpec,
    names: Layout,
    curves: Array | None = None,
    extra: dict[str, Array] | None = None,
) -> Decomposition:
    """Curves, parts, contributions and E[KPI], each computed once.

    ``extra``: parts of the original-scale predictor that a model class adds beyond the
    additive terms (e.g. a mediator's own movement), (draws, rows) each.
    """
    curves = media_curves(post, design, spec, names) if curves is None else curves
    parts = {**log_scale_parts(post, design, spec, names, curves), **(extra or {})}
    mean = expected_kpi(parts, post, design)
    if not design.log_response:
        return Decomposition(curves, parts, parts, mean)
    noise = 0.5 * _row_noise(post, design) ** 2
    out: dict[str, Array] = {BASELINE: np.exp(parts[BASELINE] + noise)}
    total_other = np.zeros_like(mean)
    for term, part in parts.items():
        if term == BASELINE:
            continue
        out[term] = mean - mean * np.exp(-part)
        total_other += out[term]
    out[INTERACTION] = mean - out[BASELINE] - total_other
    return Decomposition(curves, parts, out, mean)
