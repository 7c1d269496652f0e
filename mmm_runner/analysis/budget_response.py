"""The posterior's response to budget plans, built from a fit and its decomposition.

Panels: group-level media are split across groups like their recent spend; a
national channel's plan is paid for once and seen in full by every group.
Effects are the population's, or each group's when ``budget_effects`` is
``sum_groups``.  Per-capita models plan spend in totals: a group's spend
becomes media per person, and its effect counts for every person.  Organic
channels are not the budget's to move: only paid channels are planned, and an
organic channel's part stays in the baseline.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from mmm_runner.analysis import budget as bud
from mmm_runner.analysis.effects import MIX_SHARE, Decomposition, channel_params, slot
from mmm_runner.analysis.posterior import Posterior
from mmm_runner.config.resolve import ModelSpec
from mmm_runner.data.design import Design
from mmm_runner.model import hsgp
from mmm_runner.model.stan_data import Layout

Array = npt.NDArray[np.float64]


def last_periods(design: Design, horizon: int) -> list[npt.NDArray[np.int64]]:
    """Row indices of each group's last ``horizon`` periods (fitted or not)."""
    return [np.flatnonzero(design.group == g)[-horizon:] for g in range(design.n_groups)]


def spend_shape(spend: Array) -> Array:
    """Spend as shares of its total (flat when there was none)."""
    total = float(spend.sum())
    shape: Array = spend / total if total > 0 else np.full(spend.shape, 1.0 / spend.size)
    return shape


def _params(
    post: Posterior, names: Layout, channel: str, stage: str, groups: int
) -> dict[str, Array]:
    """A channel's transform draws: (D,) when shared, (D, G) with one set per group."""
    if post.theta_g.shape[1] == 1:
        return channel_params(post, names, channel, stage)
    per_group = [channel_params(post, names, channel, stage, g) for g in range(groups)]
    return {k: np.stack([p[k] for p in per_group], axis=1) for k in per_group[0]}


def _slot_shares(post: Posterior, i: int) -> list[tuple[int, Array]]:
    """Channel i's share of its coefficient in each transform slot it uses (slot 0 and
    each further slot with a share), [] when it has one transform (see effects.MIX_SHARE)."""
    if MIX_SHARE not in post.pool:
        return []
    share = post.pool[MIX_SHARE][:, :, i]
    used = [s for s in range(share.shape[1]) if s == 0 or np.any(share[:, s] != 0)]
    return [(s, share[:, s]) for s in used] if len(used) > 1 else []


def _along(share: Array, effect: Array) -> Array:
    """A per-draw share (D,) laid out like an effect, (D,) or (D, G)."""
    return share if effect.ndim == 1 else share[:, None]


def build_response(
    post: Posterior,
    design: Design,
    spec: ModelSpec,
    names: Layout,
    decomposition: Decomposition,
    horizon: int,
) -> tuple[bud.Response, Array]:
    """The response to plans over ``horizon`` periods, and the current plan (last spend).

    Channels are the paid ones, in the config's order; ``value`` is the mean
    money per KPI unit over the last ``horizon`` periods (1 without a KPI value).
    """
    last = last_periods(design, horizon)
    groups = design.n_groups
    by_group = spec.budget_effects == "sum_groups" and groups > 1
    channels = []
    current = []
    # Per-capita models: each group's population over the planned periods.
    people = (
        np.array([design.population[rows].mean() for rows in last])
        if design.population is not None
        else None
    )
    latest = hsgp.latest_drift(design, spec, post.pool)  # time-varying: latest effectiveness
    for i, media in enumerate(spec.media):
        if media.organic:
            continue
        spend = np.stack([design.spend[rows, i] for rows in last])  # (G, H)
        if media.scope == "national" and groups > 1:
            current.append(float(spend[0].sum()))
            pattern = np.tile(spend_shape(spend[0]), (groups, 1))
        else:
            current.append(float(spend.sum()))
            pattern = spend_shape(spend)
        history = np.stack(
            [
                design.media_scaled[np.flatnonzero(design.group == g), i][-(media.l_max - 1) :]
                if media.l_max > 1
                else np.zeros(0)
                for g in range(groups)
            ]
        )
        effect = (post.beta_g[:, :, i] if by_group else post.beta[:, i]) * design.y_sd
        if media.name in latest:
            drift = latest[media.name]
            effect = effect * (drift[:, None] if effect.ndim == 2 else drift)
        per_unit = None
        if people is not None:
            if not design.log_response:  # per-capita KPI effects, reported in totals
                effect = (effect if effect.ndim == 2 else effect[:, None]) * people[None, :]
            per_unit = 1.0 / people if media.name in spec.per_capita else None
        shares = _slot_shares(post, i)
        own = effect * _along(shares[0][1], effect) if shares else effect
        channels.append(
            bud.Channel(
                media.name,
                media.adstock,
                _params(post, names, media.name, "adstock", groups),
                media.saturation,
                _params(post, names, media.name, "saturation", groups),
                media.l_max,
                own,
                float(design.media_scale[i]),
                history.reshape(groups, -1),
                pattern,
                per_unit,
                tuple(
                    bud.Piece(
                        channel_params(slot(post, s), names, media.name, "adstock"),
                        channel_params(slot(post, s), names, media.name, "saturation"),
                        effect * _along(share, effect),
                    )
                    for s, share in shares[1:]
                ),
            )
        )
    base = noise = None
    tail = max(c.l_max for c in channels) - 1 if channels else 0
    if design.log_response:
        planned = {c.name for c in channels}
        other = sum(v for k, v in decomposition.parts.items() if k not in planned)
        assert isinstance(other, np.ndarray)
        rows = np.stack([np.concatenate([r, np.repeat(r[-1:], tail)]) for r in last])
        base = other[:, rows]  # (D, G, H + tail): the last periods' level without paid media
        noise = post.sigma * design.y_sd
    value = float(np.mean(design.kpi_value[np.concatenate(last)]))
    response = bud.Response(tuple(channels), horizon, design.log_response, base, noise, value)
    return response, np.asarray(current)
