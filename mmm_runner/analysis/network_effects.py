"""The network classes' reduced form (nested, multivariate, combined) and the channels'
effects through mediators and cross-effects, on NumPy draws.

The pipeline analyses one KPI: the outcomes' value-weighted total (the KPI itself for
one outcome). On the modelling scale that total is linear in every outcome, so its
equation in reduced form has one coefficient per channel (direct plus mediated effects,
weighted over the outcomes), one per column and one intercept. What is not in it
becomes decomposition lines: each mediator's movement that media do not explain, and
each cross-effect's part that media do not explain. A channel's contribution follows its
effect through the cross-effects, period by period with their lags.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from mmm_runner.analysis import effects
from mmm_runner.analysis.effects import Decomposition
from mmm_runner.analysis.posterior import Array, Posterior
from mmm_runner.config.resolve import ModelSpec
from mmm_runner.data.design import Design
from mmm_runner.model import calibration
from mmm_runner.model import network as twin
from mmm_runner.model import network_data as nd
from mmm_runner.model.stan_data import Layout


@dataclass(frozen=True)
class Shape:
    """The structure behind a fit: which path, column and gamma belongs where."""

    outcomes: list[str]
    weights: Array  # (K,) a modelling-scale unit of each outcome in KPI modelling units
    offset: float  # the total's modelling-scale shift: (sum of value_k mean_k - mean) / sd
    scales: list[tuple[float, float]]  # (mean, sd) of each outcome
    paths: list[tuple[str, str]]  # (channel, equation) of each media path
    links: list[tuple[int, int]]  # (mediator, outcome) of each gamma
    xcoef: list[tuple[int, int]]  # (outcome, column), 0-based, of each X coefficient
    n_columns: int  # design columns (the reduced form's X coefficients)
    # (K, M) the transform slot each outcome's paths of each channel use: 0 but for a
    # channel with transforms per outcome (slot s: its s-th feature set)
    slots: npt.NDArray[np.int64]


def shape_of(design: Design, spec: ModelSpec) -> Shape:
    scales = nd.outcome_scales(design, spec)
    weights = nd.outcome_weights(design, spec)
    values = [o.value for o in spec.outcomes] or [1.0]
    total_mean = sum(v * mean for v, (mean, _) in zip(values, scales, strict=True))
    n_med = len(spec.mediators)
    coefs = [spec.coefficients[c.term] for c in design.columns]
    eqs, cols, _ = nd.x_terms(design, spec, coefs, n_med)
    return Shape(
        nd.outcome_names(spec),
        weights,
        (total_mean - design.y_mean) / design.y_sd,
        scales,
        nd.network_paths(spec),
        nd.gamma_links(spec),
        [(e - n_med - 1, c - 1) for e, c in zip(eqs, cols, strict=True)],
        len(design.columns),
        outcome_slots(spec),
    )


def channel_sets(spec: ModelSpec) -> list[list[int]]:
    """Each channel's feature sets (0-based, its own first): its transform slots."""
    out: list[list[int]] = [[] for _ in spec.media]
    for q, (j, _) in enumerate(nd.feature_sets(spec)):
        out[j].append(q)
    return out


def outcome_slots(spec: ModelSpec) -> npt.NDArray[np.int64]:
    """(K, M) the transform slot each outcome's paths of each channel use."""
    outcomes = nd.outcome_names(spec)
    sets = nd.feature_sets(spec)
    out = np.zeros((len(outcomes), len(spec.media)), dtype=np.int64)
    for j, own in enumerate(channel_sets(spec)):
        for s, q in enumerate(own):
            target = sets[q][1]
            if target is not None:
                out[outcomes.index(target), j] = s
    return out


def transform_slots(
    theta: Array, r: Reduced, shape: Shape, spec: ModelSpec, names: Layout
) -> dict[str, Array]:
    """The pool's transform slots (see ``effects.MIX_THETA``) when a channel has
    transforms per outcome, else {}: slot s holds each channel's s-th feature set
    (its own set where it has fewer), with its share of the channel's reduced-form
    coefficient (its outcome's weighted direct path over the total: validate makes a
    per-outcome channel's coefficients share a sign, so the shares lie in [0, 1] and the
    total is zero only where every outcome's is, the slots then sharing equally);
    ``theta_stated`` stacks every set's draws for the priors' checks (NaN where a channel
    has no such set). ``theta``: the program's draws (draws, all sets' parameters)."""
    owned = channel_sets(spec)
    if all(len(own) == 1 for own in owned):
        return {}
    n_theta = len(names.theta)
    blocks = nd.set_blocks(spec, names.theta_start, n_theta)
    sets = nd.feature_sets(spec)
    n_draws, n_slots = theta.shape[0], max(len(own) for own in owned)
    mix = np.repeat(theta[:, None, :n_theta], n_slots, axis=1)
    stated = np.full((n_slots, n_draws, n_theta), np.nan)
    stated[0] = theta[:, :n_theta]
    share = np.zeros((n_draws, n_slots, len(spec.media)))
    share[:, 0, :] = 1.0
    for j, own in enumerate(owned):
        if len(own) == 1:
            continue
        total = r.beta[:, j]
        for s, q in enumerate(own):
            mix[:, s, blocks[j]] = theta[:, blocks[q]]
            stated[s, :, blocks[j]] = theta[:, blocks[q]]
            k = shape.outcomes.index(str(sets[q][1]))
            part = shape.weights[k] * r.direct[:, k, j]
            with np.errstate(divide="ignore", invalid="ignore"):
                share[:, s, j] = np.where(total != 0, part / total, 1.0 / len(own))
    return {
        effects.MIX_THETA: mix,
        effects.MIX_SHARE: share,
        "theta_stated": stated.reshape(n_slots * n_draws, n_theta),
    }


def outcome_curves(
    post: Posterior,
    design: Design,
    spec: ModelSpec,
    shape: Shape,
    names: Layout,
    media: Array | None = None,
    *,
    slots: Array | None = None,
    channels: Sequence[int] | None = None,
) -> Array | None:
    """Each outcome's curve of each channel, (draws, K, M, rows), when a channel has
    transforms per outcome (None otherwise: every outcome sees the channel's curve);
    ``media`` replaces the design's scaled media; ``slots``: the slots' curves when
    already computed (``effects.slot_curves``); ``channels``: only these (others zero)."""
    if effects.MIX_SHARE not in post.pool:
        return None
    if slots is None:
        slots = effects.slot_curves(post, design, spec, names, media, channels)
    channel = np.arange(len(spec.media))
    out: Array = slots[:, shape.slots, channel[None, :], :]
    return out


def network_curves(
    post: Posterior, design: Design, spec: ModelSpec, shape: Shape, names: Layout
) -> tuple[Array, Array | None]:
    """Each channel's curve (``effects.media_curves``) and each outcome's of it
    (``outcome_curves``), the transform slots' curves computed once."""
    if effects.MIX_SHARE not in post.pool:
        return effects.media_curves(post, design, spec, names), None
    slots = effects.slot_curves(post, design, spec, names)
    return effects.mix_curves(post, slots), outcome_curves(
        post, design, spec, shape, names, slots=slots
    )


# ---------------------------------------------------------------------------
# Reduced form


@dataclass(frozen=True)
class Reduced:
    """Draws (any leading shape) of the structure and of the KPI's reduced form."""

    alpha: Array  # (...,) the KPI's intercept
    beta: Array  # (..., M + X) the KPI's coefficients: channels (direct + mediated), columns
    sigma: Array  # (...,) the KPI's noise sd: of the weighted outcomes' errors
    direct: Array  # (..., K, M) each outcome's direct media coefficients
    beta_med: Array  # (..., paths into mediators)
    gamma: Array  # (..., D, K)
    via: Array  # (..., D, K, M) each channel's effect on each outcome through each mediator
    indirect: Array  # (..., D, M) the same on the KPI
    xcoef: Array  # (..., K, X) each outcome's column coefficients (0 where not in it)


def reduced(v: dict[str, Array], shape: Shape, spec: ModelSpec) -> Reduced:
    lead = v["alpha"].shape[:-1]
    n_med, n_out, n_media = len(spec.mediators), len(shape.outcomes), len(spec.media)
    media = list(spec.media_names)
    mediators = [m.name for m in spec.mediators]
    direct = np.zeros((*lead, n_out, n_media))
    med_paths = []
    beta_into = np.zeros((*lead, n_med, n_media))
    for b, (channel, target) in enumerate(shape.paths):
        j = media.index(channel)
        if target in shape.outcomes:
            direct[..., shape.outcomes.index(target), j] = v["beta"][..., b]
        else:
            beta_into[..., mediators.index(target), j] = v["beta"][..., b]
            med_paths.append(b)
    gamma = np.zeros((*lead, n_med, n_out))
    for g, (d, k) in enumerate(shape.links):
        gamma[..., d, k] += v["gamma"][..., g]
    xcoef = np.zeros((*lead, n_out, shape.n_columns))
    for j, (k, c) in enumerate(shape.xcoef):
        xcoef[..., k, c] = v["xcoef"][..., j]
    via = gamma[..., :, :, None] * beta_into[..., :, None, :]
    w = shape.weights
    alpha_out = v["alpha"][..., n_med:] + np.einsum(
        "...dk,...d->...k", gamma, v["alpha"][..., :n_med]
    )
    sigma_out = v["sigma"][..., n_med:]
    corr = v["R"] if "R" in v else np.ones((*lead, 1, 1))
    cov = corr * sigma_out[..., :, None] * sigma_out[..., None, :]
    return Reduced(
        alpha=shape.offset + alpha_out @ w,
        beta=np.concatenate(
            [
                np.einsum("k,...km->...m", w, direct + via.sum(axis=-3)),
                np.einsum("k,...kc->...c", w, xcoef),
            ],
            axis=-1,
        ),
        sigma=np.sqrt(np.einsum("k,...kl,l->...", w, cov, w)),
        direct=direct,
        beta_med=v["beta"][..., med_paths],
        gamma=gamma,
        via=via,
        indirect=np.einsum("k,...dkm->...dm", w, via),
        xcoef=xcoef,
    )


def stated(r: Reduced, shape: Shape, spec: ModelSpec) -> Array:
    """Each coefficient as its prior states it (an outcome's direct path, its column
    coefficient), the outcomes' draws stacked; where an outcome lacks a term, the draws
    of the outcomes that have it stand in (NaN for a channel that acts on no outcome
    directly, only through mediators: its coefficient prior is not used)."""
    n_media = len(spec.media)
    per_outcome = np.concatenate([r.direct, r.xcoef], axis=-1)  # (draws, K, M + X)
    has = np.zeros(per_outcome.shape[1:], dtype=bool)
    for channel, target in shape.paths:
        if target in shape.outcomes:
            has[shape.outcomes.index(target), spec.media_names.index(channel)] = True
    for k, c in shape.xcoef:
        has[k, n_media + c] = True
    stacked = []
    for k in range(per_outcome.shape[1]):
        column = per_outcome[:, k, :].copy()
        for j in np.flatnonzero(~has[k]):
            donors = np.flatnonzero(has[:, j])
            column[:, j] = per_outcome[:, donors[0], j] if donors.size else np.nan
        stacked.append(column)
    out: Array = np.concatenate(stacked, axis=0)
    return out


# ---------------------------------------------------------------------------
# Channels through the cross-effects


@dataclass(frozen=True)
class Flows:
    """Each channel's effect on each outcome per draw and row, modelling scale of the
    outcome: ``own`` its paths (direct and through mediators), ``total`` with what the
    cross-effects carry on."""

    own: Array  # (draws, K, M, rows)
    total: Array  # (draws, K, M, rows)
    curves: Array  # (draws, M, rows) each channel's saturated adstock


def channel_flows(
    post: Posterior,
    design: Design,
    spec: ModelSpec,
    shape: Shape,
    curves: Array,
    by_outcome: Array | None = None,
) -> Flows:
    """``curves``: each channel's (draws, M, rows); ``by_outcome``: each outcome's
    (draws, K, M, rows) where a channel has transforms per outcome."""
    pool = post.pool
    per_outcome = pool["direct"] + pool["via"].sum(axis=1)  # (draws, K, M)
    seen = curves[:, None, :, :] if by_outcome is None else by_outcome
    own = per_outcome[..., None] * seen
    if not spec.cross_effects:
        return Flows(own, own, curves)
    total = own.copy()
    modulators = nd.cross_modulators(design, spec)
    order = nd.contemporaneous_order(shape.outcomes, spec.cross_effects) or []
    links = [
        (x, shape.outcomes.index(c.target), shape.outcomes.index(c.source), c.lag)
        for x, c in enumerate(spec.cross_effects)
    ]
    for t in range(design.n_rows):
        for k in order:
            for x, target, source, lag in links:
                if target == k and t >= lag:
                    carried = (
                        pool["psi"][:, x, None] * modulators[t, x] * total[:, source, :, t - lag]
                    )
                    total[:, k, :, t] += carried
    return Flows(own, total, curves)


def cross_values(design: Design, spec: ModelSpec) -> Array:
    """The cross-effects' regressors (rows, C), as the program builds them."""
    scales = nd.outcome_scales(design, spec)
    names = nd.outcome_names(spec)
    data = {
        "C": len(spec.cross_effects),
        "y_offset": [mean / sd for mean, sd in scales],
        "cross_mod": nd.cross_modulators(design, spec),
        "cross_from": [names.index(c.source) + 1 for c in spec.cross_effects],
        "cross_lag": [c.lag for c in spec.cross_effects],
    }
    return twin.cross_values(data, nd.outcome_values(design, spec))


def cross_lines(
    post: Posterior, design: Design, spec: ModelSpec, shape: Shape, flows: Flows
) -> dict[str, Array]:
    """Each cross-effect's part of the KPI that media do not explain (KPI units): psi
    times its regressor, less what the channels' effects on its source carry. In
    held-out rows the regressor is the source's forecast, never its observed value."""
    if not spec.cross_effects:
        return {}
    values = cross_regressors(post, design, spec, shape, flows)
    modulators = nd.cross_modulators(design, spec)
    out = {}
    n_rows = design.n_rows
    for x, c in enumerate(spec.cross_effects):
        k, j = shape.outcomes.index(c.target), shape.outcomes.index(c.source)
        media = np.zeros((post.n_draws, n_rows))
        if c.lag < n_rows:
            media[:, c.lag :] = flows.total[:, j, :, : n_rows - c.lag].sum(axis=1)
        media *= modulators[None, :, x]
        part = post.pool["psi"][:, x, None] * (values[:, :, x] - media)
        out[f"cross: {nd.cross_label(c)}"] = design.y_sd * shape.weights[k] * part
    return out


def cross_average(design: Design, spec: ModelSpec) -> Array:
    """Each cross-effect's regressor averaged over the fitted rows, (C,): where an
    outcome's intercept prior is stated (see stan/network.stan)."""
    values: Array = cross_values(design, spec)[design.fitted].mean(axis=0)
    return values


def cross_regressors(
    post: Posterior, design: Design, spec: ModelSpec, shape: Shape, flows: Flows
) -> Array:
    """The cross-effects' regressors per draw, (draws, rows, C): the data's in fitted
    rows; in held-out rows the modulator times the source's forecast mean where the
    source falls in a held-out row (as the program's mu_out), run row by row in the
    outcomes' same-period order."""
    observed = cross_values(design, spec)
    out = np.repeat(observed[None], post.n_draws, axis=0)
    held = np.flatnonzero(~design.fitted)
    if held.size == 0:
        return out
    base = _outcome_means(post, design, spec, shape, flows)  # (draws, rows, K), no cross
    y = np.repeat(nd.outcome_values(design, spec)[None], post.n_draws, axis=0)
    modulators = nd.cross_modulators(design, spec)
    offset = np.array([mean / sd for mean, sd in shape.scales])
    order = nd.contemporaneous_order(shape.outcomes, spec.cross_effects) or []
    links = [
        (x, shape.outcomes.index(c.target), shape.outcomes.index(c.source), c.lag)
        for x, c in enumerate(spec.cross_effects)
    ]
    for t in held:
        for k in order:
            value = base[:, t, k].copy()
            for x, target, source, lag in links:
                if target != k:
                    continue
                out[:, t, x] = (
                    modulators[t, x] * (y[:, t - lag, source] + offset[source])
                    if t >= lag
                    else 0.0
                )
                value += post.pool["psi"][:, x] * out[:, t, x]
            y[:, t, k] = value
    return out


def _outcome_means(
    post: Posterior, design: Design, spec: ModelSpec, shape: Shape, flows: Flows
) -> Array:
    """Each outcome's mean without its cross-effects, modelling scale, (draws, rows, K):
    its intercept, its channels (direct and through mediators: ``flows.own``), the
    mediators' own movement and its columns."""
    pool = post.pool
    media = flows.own.sum(axis=2)  # (draws, K, rows)
    mean = pool["alpha_out"][:, :, None] + media
    if spec.mediators:
        structural = np.stack(
            [
                pool["alpha_med"][:, d, None]
                + np.einsum("dm,dmt->dt", mediator_row(pool, spec, d), flows.curves)
                for d in range(len(spec.mediators))
            ],
            axis=1,
        )  # (draws, Dm, rows)
        surprise = pool["med_mean"].transpose(0, 2, 1) - structural
        mean = mean + np.einsum("dek,det->dkt", pool["gamma_matrix"], surprise)
        mean = mean + np.einsum("dek,de->dk", pool["gamma_matrix"], pool["alpha_med"])[:, :, None]
    mean = mean + np.einsum("dkc,tc->dkt", pool["xcoef_out"], design.x)
    out: Array = mean.transpose(0, 2, 1)
    return out


def carried_betas(
    post: Posterior, design: Design, spec: ModelSpec, decomposition: Decomposition
) -> Array:
    """The KPI's channel coefficients scaled by how far the cross-effects carried each
    channel's effect over the fitted periods (contribution with them over without)."""
    beta = post.beta.copy()
    fitted = design.fitted
    for i, name in enumerate(spec.media_names):
        own = design.y_sd * post.beta[:, i] * decomposition.curves[:, i, fitted].sum(axis=1)
        carried = decomposition.contributions[name][:, fitted].sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(own != 0, carried / own, 1.0)
        beta[:, i] = post.beta[:, i] * ratio
    return beta


def slot_ratios(post: Posterior, design: Design, spec: ModelSpec, names: Layout) -> Array:
    """How far the cross-effects carried each transform slot's part of each channel's
    effect over the fitted periods, (draws, S, M): the part's contribution with them over
    without (1 where the part is zero). The flows are linear in the outcomes' own effects,
    so a slot's flows are the channels' flows with only the outcomes that use the slot;
    one ratio for the whole channel would bend its response where slots' curves differ
    (a halo carries on only its source outcome's transform)."""
    shape = shape_of(design, spec)
    curves, by_outcome = network_curves(post, design, spec, shape, names)
    assert by_outcome is not None  # a posterior with transform slots
    n_slots = post.pool[effects.MIX_SHARE].shape[1]
    fitted = design.fitted
    out = np.ones((post.n_draws, n_slots, len(spec.media)))
    for s in range(n_slots):
        uses = (shape.slots == s)[None, :, :, None]  # (1, K, M, 1)
        flows = channel_flows(post, design, spec, shape, curves, by_outcome * uses)
        own = np.einsum("k,dkm->dm", shape.weights, flows.own[..., fitted].sum(axis=-1))
        carried = np.einsum("k,dkm->dm", shape.weights, flows.total[..., fitted].sum(axis=-1))
        with np.errstate(divide="ignore", invalid="ignore"):
            out[:, s] = np.where(own != 0, carried / own, 1.0)
    return out


def carried_posterior(
    post: Posterior, design: Design, spec: ModelSpec, names: Layout, decomposition: Decomposition
) -> Posterior:
    """The posterior the budget plans with when outcomes carry effects on to others: each
    channel's coefficient scaled by how far the cross-effects carried its effect over the
    fitted periods (``carried_betas``). With transform slots each slot's part is scaled
    by its own ratio (``slot_ratios``): the coefficient by the share-weighted ratio, the
    shares renormalised (kept where the carried coefficient is exactly zero)."""
    beta = carried_betas(post, design, spec, decomposition)
    pool = post.pool
    if effects.MIX_SHARE in pool:
        share = pool[effects.MIX_SHARE]
        parts = share * slot_ratios(post, design, spec, names)  # (draws, S, M)
        ratio = parts.sum(axis=1)  # (draws, M)
        n_media = len(spec.media)
        beta[:, :n_media] = post.beta[:, :n_media] * ratio
        with np.errstate(divide="ignore", invalid="ignore"):
            carried = np.where(ratio[:, None] != 0, parts / ratio[:, None], share)
        pool = {**pool, effects.MIX_SHARE: carried}
    return replace(post, beta=beta, beta_g=beta[:, None, :], pool=pool)


# ---------------------------------------------------------------------------
# Mediators


def mediator_lines(
    post: Posterior, design: Design, spec: ModelSpec, shape: Shape, curves: Array
) -> dict[str, Array]:
    """Each mediator's movement that media do not explain, passed on to the KPI through
    its gammas (observed periods only; KPI units)."""
    extra = {}
    pool = post.pool
    for d, m in enumerate(spec.mediators):
        structural = pool["alpha_med"][:, d, None] + np.einsum(
            "dm,dmt->dt", mediator_row(pool, spec, d), curves
        )
        surprise = pool["med_mean"][:, :, d] - structural
        gamma = pool["gamma_matrix"][:, d, :] @ shape.weights
        extra[f"{m.name}_other"] = design.y_sd * gamma[:, None] * surprise
    return extra


def mediator_row(pool: dict[str, Array], spec: ModelSpec, d: int) -> Array:
    """Mediator d's media coefficients over all channels (0 for those not building it)."""
    at = sum(len(m.channels) for m in spec.mediators[:d])
    out = np.zeros((pool["beta_med"].shape[0], len(spec.media)))
    for i, channel in enumerate(spec.mediators[d].channels):
        out[:, spec.media_names.index(channel)] = pool["beta_med"][:, at + i]
    return out


def network_lifts(
    post: Posterior, design: Design, spec: ModelSpec, names: Layout, curves: Array
) -> dict[str, Array]:
    """Each lift test's lift per draw in the units it was measured (the twin of the
    program's lift_pred): the channel's change in saturated adstock over the measured
    periods (each outcome's own, for a channel with transforms per outcome) times each
    outcome's own coefficient of it (direct and through the mediators), carried through
    the cross-effects period by period, weighted over the outcomes as measured."""
    tests = calibration.place(design, spec)
    if not tests:
        return {}
    shape = shape_of(design, spec)
    pool = post.pool
    own = pool["direct"] + pool["via"].sum(axis=1)  # (draws, K, M)
    modulators = nd.cross_modulators(design, spec)
    order = nd.contemporaneous_order(shape.outcomes, spec.cross_effects) or list(
        range(len(shape.outcomes))
    )
    weights, sd = calibration.measured_weights(design, spec, tests)
    tested = sorted({test.channel for test in tests})
    base = outcome_curves(post, design, spec, shape, names, channels=tested)
    out = {}
    for e, test in enumerate(tests):
        m = test.channel
        changed = calibration.changed_media(design, test) / design.media_scale
        # each outcome's change in the channel's saturated adstock: (draws, K, measured)
        moved = outcome_curves(post, design, spec, shape, names, changed, channels=[m])
        if moved is None or base is None:
            change = effects.media_curves(post, design, spec, names, changed)[:, m, test.measured]
            change = (change - curves[:, m, test.measured])[:, None, :]
        else:
            change = moved[:, :, m][..., test.measured] - base[:, :, m][..., test.measured]
        change = np.broadcast_to(change, (post.n_draws, len(shape.outcomes), change.shape[-1]))
        delta = np.zeros((post.n_draws, len(test.measured), len(shape.outcomes)))
        for r, t in enumerate(test.measured):
            for k in order:
                value = own[:, k, m] * change[:, k, r]
                for x, c in enumerate(spec.cross_effects):
                    if shape.outcomes.index(c.target) == k and r >= c.lag:
                        j = shape.outcomes.index(c.source)
                        value = (
                            value + pool["psi"][:, x] * modulators[t, x] * delta[:, r - c.lag, j]
                        )
                delta[:, r, k] = value
        out[test.name] = sd[e] * delta.sum(axis=1) @ weights[e]
    return out
