"""The Stan data of ``stan/network.stan`` for the classes nested, multivariate and combined.

Equations are the mediators, then the outcomes (the KPI alone for the nested
class). Every channel has one feature set (its adstock and saturation, shared
by all its paths), except that a channel with transforms per outcome
(``per_outcome``) has one per outcome it acts on directly; the paths are each
outcome's direct ones (its channels), outcome by outcome, then each mediator's
channels. Outcomes are standardised
each on its own fitted rows (one KPI: the design's ``y``); each observed
mediator is standardised on its observed fitted periods, a latent one keeps
unit scale (its priors fix it). Cross-effects read the source outcome's value
over its sd, uncentred, so a modulated effect vanishes where its modulator is 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from mmm_runner.config.notation import INF, Distribution, centre_and_spread
from mmm_runner.config.resolve import Coefficient, CrossSpec, ModelSpec, default
from mmm_runner.data.design import Design
from mmm_runner.model import calibration, stan_data

Array = npt.NDArray[np.float64]
TYPES = {"full": 1, "partial": 2, "latent": 3}
# A gamma whose prior's sd is at most this share of its mean is pinned: its pairs are
# sampled by their paths' log ratio; a looser one is sampled as a share of its wall,
# the largest value that leaves its pairs' direct paths positive (decision 0022).
PINNED_SPREAD = 0.2


def outcome_names(spec: ModelSpec) -> list[str]:
    """The outcome equations' names: the outcomes, or the KPI alone."""
    return [o.name for o in spec.outcomes] or [spec.kpi]


def outcome_channels(spec: ModelSpec) -> list[tuple[str, ...]]:
    """Per outcome, the channels acting on it directly (every channel for one KPI)."""
    return [o.channels for o in spec.outcomes] or [spec.media_names]


def network_paths(spec: ModelSpec) -> list[tuple[str, str]]:
    """(channel, equation) of every media path, in the program's order."""
    direct = [
        (channel, name)
        for name, channels in zip(outcome_names(spec), outcome_channels(spec), strict=True)
        for channel in spec.media_names
        if channel in channels
    ]
    return direct + [(c, m.name) for m in spec.mediators for c in m.channels]


def feature_sets(spec: ModelSpec) -> list[tuple[int, str | None]]:
    """(channel, outcome) of every feature set (a channel's adstock and saturation with
    its own parameters), in the program's order: one per channel first (set j is
    channel j's; for a channel with transforms per outcome, its first outcome's), then
    each per-outcome channel's set on each further outcome it acts on directly. The
    outcome is None for a set shared by all of a channel's paths, and for a per-outcome
    channel that acts directly on one outcome only or has no transform parameters (its
    transforms per outcome change nothing: it keeps the shared layout and labels)."""
    first: list[tuple[int, str | None]] = []
    more: list[tuple[int, str | None]] = []
    with_params = {p.channel for p in spec.transform_params}
    for j, m in enumerate(spec.media):
        direct = [
            name
            for name, channels in zip(outcome_names(spec), outcome_channels(spec), strict=True)
            if m.name in channels
        ]
        if m.per_outcome and len(direct) > 1 and m.name in with_params:
            first.append((j, direct[0]))
            more += [(j, name) for name in direct[1:]]
        else:
            first.append((j, None))
    return first + more


def path_sets(spec: ModelSpec) -> list[int]:
    """The feature set (0-based) of every media path, in the program's order."""
    sets = feature_sets(spec)
    media = list(spec.media_names)
    out = []
    for channel, equation in network_paths(spec):
        j = media.index(channel)
        own = [q for q, (c, o) in enumerate(sets) if c == j and o == equation]
        out.append(own[0] if own else j)
    return out


def set_labels(spec: ModelSpec, theta: tuple[str, ...], starts: tuple[int, ...]) -> list[str]:
    """The label of every transform parameter of the program's theta: the layout's
    ``channel.stage.param`` for the channels' own sets (suffixed ``[outcome]`` for a
    channel with transforms per outcome), then each further set's, suffixed alike."""
    sets = feature_sets(spec)
    ends = [*starts[1:], len(theta) + 1]
    blocks = [list(theta[a - 1 : b - 1]) for a, b in zip(starts, ends, strict=True)]
    labels = [
        f"{label}[{outcome}]" if outcome is not None else label
        for block, (_, outcome) in zip(blocks, sets, strict=False)
        for label in block
    ]
    for j, outcome in sets[len(starts) :]:
        labels += [f"{label}[{outcome}]" for label in blocks[j]]
    return labels


def set_blocks(spec: ModelSpec, starts: tuple[int, ...], n_theta: int) -> list[slice]:
    """Where each feature set's parameters sit in the program's theta (0-based): the
    layout's blocks for the channels' own sets, then the further sets' appended, each
    the size of its channel's block (``n_theta``: the layout's parameter count)."""
    ends = [*starts[1:], n_theta + 1]
    blocks = [slice(a - 1, b - 1) for a, b in zip(starts, ends, strict=True)]
    size = n_theta
    for j, _ in feature_sets(spec)[len(starts) :]:
        width = blocks[j].stop - blocks[j].start
        blocks.append(slice(size, size + width))
        size += width
    return blocks


def gamma_links(spec: ModelSpec) -> list[tuple[int, int]]:
    """(mediator, outcome) of every gamma, 0-based, in the program's order."""
    names = outcome_names(spec)
    return [
        (d, names.index(k))
        for d, targets in enumerate(spec.mediator_outcomes)
        for k in names
        if k in targets
    ]


def mediator_scales(design: Design) -> list[tuple[float, float]]:
    """(mean, sd) of each mediator over its observed fitted periods; (0, 1) if latent."""
    if design.mediators is None:
        return []
    out = []
    for column in design.mediators.T:
        seen = column[design.fitted & np.isfinite(column)]
        sd = float(seen.std()) if seen.size > 1 else 0.0
        out.append((float(seen.mean()), sd) if sd > 0 else (0.0, 1.0))
    return out


def outcome_scales(design: Design, spec: ModelSpec) -> list[tuple[float, float]]:
    """(mean, sd) of each outcome over the fitted rows (the KPI's own for one KPI)."""
    if design.outcomes is None:
        return [(design.y_mean, design.y_sd)]
    if not spec.standardise:
        return [(0.0, 1.0)] * design.outcomes.shape[1]
    seen = design.outcomes[design.fitted]
    return [(float(c.mean()), float(c.std()) or 1.0) for c in seen.T]


def outcome_values(design: Design, spec: ModelSpec) -> Array:
    """The outcomes on the modelling scale, (rows, K)."""
    if design.outcomes is None:
        return design.y[:, None]
    scales = np.array(outcome_scales(design, spec))
    values: Array = (design.outcomes - scales[:, 0]) / scales[:, 1]
    return values


def outcome_weights(design: Design, spec: ModelSpec) -> Array:
    """What one modelling-scale unit of each outcome is in modelling-scale units of the
    KPI (the value-weighted total): value_k * sd_k / sd_total; (1,) for one KPI."""
    if design.outcomes is None:
        return np.ones(1)
    sd = np.array([s for _, s in outcome_scales(design, spec)])
    weights: Array = np.array([o.value for o in spec.outcomes]) * sd / design.y_sd
    return weights


def contemporaneous_order(names: list[str], crosses: tuple[CrossSpec, ...]) -> list[int] | None:
    """Outcome indices with every same-period source before its target; None if the
    same-period effects form a cycle."""
    sources = {
        k: {names.index(c.source) for c in crosses if c.lag == 0 and c.target == name}
        for k, name in enumerate(names)
    }
    order: list[int] = []
    while len(order) < len(names):
        ready = [k for k in range(len(names)) if k not in order and sources[k] <= set(order)]
        if not ready:
            return None
        order.extend(ready)
    return order


def cross_label(c: CrossSpec) -> str:
    """How reports name a cross-effect: ``a->b``, with its lag when there is one."""
    lag = f" (lag {c.lag})" if c.lag else ""
    return f"{c.source}->{c.target}{lag}"


def pinned(prior: Distribution) -> bool:
    """Whether a gamma's prior pins it (see PINNED_SPREAD)."""
    centre, spread = centre_and_spread(prior)
    return spread <= PINNED_SPREAD * abs(centre)


def media_bounds(coef: Coefficient) -> tuple[float, float]:
    """Bounds of a channel's path into a mediator: only the channel's sign carries over
    (its own bounds are in KPI units)."""
    return (0.0 if coef.lower >= 0 else -INF), INF


def network_data(
    design: Design,
    spec: ModelSpec,
    *,
    prior_only: bool = False,
    save_mu: bool = False,
    use_jacobian: bool = True,
) -> dict[str, Any]:
    """The data of ``stan/network.stan``: mediators, outcomes, paths and cross-effects."""
    names = stan_data.layout(design, spec)
    shared = stan_data.model_fields(design, spec, names)
    n_rows, n_media, n_med = design.n_rows, len(spec.media), len(spec.mediators)
    outcomes = outcome_names(spec)
    n_out = len(outcomes)
    coefs = [spec.coefficients[term] for term in names.beta_terms]
    media = list(spec.media_names)
    path_eq: list[int] = []
    path_set: list[int] = []
    lower: list[float] = []
    upper: list[float] = []
    prior = []
    sets = feature_sets(spec)
    for (channel, equation), q in zip(network_paths(spec), path_sets(spec), strict=True):
        j = media.index(channel)
        path_set.append(q + 1)
        if equation in outcomes:
            path_eq.append(n_med + outcomes.index(equation) + 1)
            lower.append(coefs[j].lower)
            upper.append(coefs[j].upper)
            prior.append(stan_data.prior_code(coefs[j].prior))
        else:
            d = [m.name for m in spec.mediators].index(equation)
            m = spec.mediators[d]
            path_eq.append(d + 1)
            low, high = media_bounds(coefs[j])
            lower.append(low)
            upper.append(high)
            prior.append(stan_data.prior_code(m.media_priors[m.channels.index(channel)]))
    xcoef_eq, xcoef_col, controls = x_terms(design, spec, coefs[n_media:], n_med)
    equations = [*(m.sigma_prior for m in spec.mediators)] + [spec.sigma_prior] * n_out
    links = gamma_links(spec)
    effects = [spec.mediators[d].effect for d, _ in links]
    crosses = spec.cross_effects
    order = contemporaneous_order(outcomes, crosses) or list(range(n_out))
    offsets = [mean / sd for mean, sd in outcome_scales(design, spec)]
    return {
        "T": n_rows,
        "N": int(design.fitted.sum()),
        "fit_rows": (np.flatnonzero(design.fitted) + 1).tolist(),
        "D": n_med,
        "K": n_out,
        "Y": outcome_values(design, spec),
        **_mediator_fields(design, spec),
        "M": n_media,
        "L": shared["L"],
        "X_lag": shared["X_lag"],
        **_set_fields(shared, sets, names.theta_start),
        "B": len(path_eq),
        "path_eq": path_eq,
        "path_set": path_set,
        **_block("beta", lower, upper, prior),
        "KX": len(design.columns),
        "X": design.x,
        "BX": len(controls),
        "xcoef_eq": xcoef_eq,
        "xcoef_col": xcoef_col,
        **_block(
            "xcoef",
            [c.lower for c in controls],
            [c.upper for c in controls],
            [stan_data.prior_code(c.prior) for c in controls],
        ),
        # a stated intercept prior is the outcomes'; mediators (standardised) keep the default
        **_block(
            "alpha",
            None,
            None,
            [stan_data.prior_code(default("intercept"))] * n_med
            + [stan_data.prior_code(spec.intercept.prior)] * n_out,
        ),
        **_block("sigma", None, None, [stan_data.prior_code(p) for p in equations]),
        "G": len(links),
        "gamma_from": [d + 1 for d, _ in links],
        "gamma_to": [k + 1 for _, k in links],
        **_block(
            "gamma",
            [e.lower for e in effects],
            [e.upper for e in effects],
            [stan_data.prior_code(e.prior) for e in effects],
        ),
        "gamma_pinned": [int(pinned(e.prior)) for e in effects],
        **_block("nu", None, None, [stan_data.prior_code(m.noise_prior) for m in spec.mediators]),
        "C": len(crosses),
        "cross_to": [outcomes.index(c.target) + 1 for c in crosses],
        "cross_from": [outcomes.index(c.source) + 1 for c in crosses],
        "cross_lag": [c.lag for c in crosses],
        "cross_mod": cross_modulators(design, spec),
        "y_offset": offsets,
        "outcome_order": [k + 1 for k in order],
        **_block(
            "psi",
            [c.effect.lower for c in crosses],
            [c.effect.upper for c in crosses],
            [stan_data.prior_code(c.effect.prior) for c in crosses],
        ),
        **calibration.network_fields(design, spec, shared["L"]),
        "correlated": int(spec.lkj_eta is not None and n_out > 1),
        "lkj_eta": spec.lkj_eta or 1.0,
        "prior_only": int(prior_only),
        "save_mu": int(save_mu),
        "use_jacobian": int(use_jacobian),
    }


def _set_fields(
    shared: dict[str, Any], sets: list[tuple[int, str | None]], starts: tuple[int, ...]
) -> dict[str, Any]:
    """Feature sets: the channels' own (the shared fields, set j is channel j), then the
    further sets of channels with transforms per outcome, each a copy of its channel's
    forms, bounds and priors with parameters of its own appended to theta."""
    n_media = len(starts)
    per_set = ("adstock_type", "l_max", "saturation_type")
    per_param = ("theta_lower", "theta_upper", "theta_prior")
    out: dict[str, Any] = {key: list(shared[key]) for key in (*per_set, *per_param)}
    out["theta_start"] = list(starts)
    args = [np.asarray(shared["theta_prior_args"], dtype=float).reshape(-1, 3)]
    size = int(shared["P"])
    ends = [*starts[1:], size + 1]
    for j, _ in sets[n_media:]:
        block = slice(starts[j] - 1, ends[j] - 1)
        for key in per_set:
            out[key].append(shared[key][j])
        out["theta_start"].append(size + 1)
        for key in per_param:
            out[key] += list(shared[key][block])
        args.append(args[0][block])
        size += block.stop - block.start
    return {
        "Q": len(sets),
        "set_channel": [j + 1 for j, _ in sets],
        **out,
        "P": size,
        "theta_prior_args": np.concatenate(args, axis=0).reshape(-1, 3),
    }


def cross_modulators(design: Design, spec: ModelSpec) -> Array:
    """Each cross-effect's modulator per row (ones where it has none), (rows, C)."""
    columns = [
        np.ones(design.n_rows) if c.modulator is None else design.modulators[c.modulator]
        for c in spec.cross_effects
    ]
    return np.column_stack(columns) if columns else np.zeros((design.n_rows, 0))


def x_terms(
    design: Design, spec: ModelSpec, coefs: list[Coefficient], n_med: int
) -> tuple[list[int], list[int], list[Coefficient]]:
    """Each outcome's X coefficients: every trend, season and calendar column, and the
    columns of its own controls (all controls for one KPI)."""
    own_controls = [o.controls for o in spec.outcomes] or [spec.controls]
    eqs, cols, out = [], [], []
    for k, controls in enumerate(own_controls):
        for c, (column, coef) in enumerate(zip(design.columns, coefs, strict=True)):
            if column.term in spec.controls and column.term not in controls:
                continue
            eqs.append(n_med + k + 1)
            cols.append(c + 1)
            out.append(coef)
    return eqs, cols, out


def _mediator_fields(design: Design, spec: ModelSpec) -> dict[str, Any]:
    """The mediators' observations on their own standardised scale, and their types."""
    n_rows, n_med = design.n_rows, len(spec.mediators)
    observations = design.mediators if design.mediators is not None else np.zeros((n_rows, 0))
    # held-out periods are forecasts: their mediator values are not known in advance
    observed = np.isfinite(observations) & design.fitted[:, None]
    values = np.zeros((n_rows, n_med))
    for d, (mean, sd) in enumerate(mediator_scales(design)):
        values[:, d] = np.where(observed[:, d], (observations[:, d] - mean) / sd, 0.0)
    return {
        "med_value": values,
        "med_observed": observed.astype(int),
        "med_type": [TYPES[m.observation] for m in spec.mediators],
    }


def _block(
    prefix: str,
    lower: list[float] | None,
    upper: list[float] | None,
    priors: list[tuple[int, list[float]]],
) -> dict[str, Any]:
    """Bounds (when the program has them) and prior codes and arguments of a block."""
    out: dict[str, Any] = {
        f"{prefix}_prior": [code for code, _ in priors],
        f"{prefix}_prior_args": np.array([args for _, args in priors], dtype=float).reshape(-1, 3),
    }
    if lower is not None and upper is not None:
        out[f"{prefix}_lower"] = lower
        out[f"{prefix}_upper"] = upper
    return out
