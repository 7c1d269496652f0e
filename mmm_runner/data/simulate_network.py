"""Seeded simulation of network datasets (nested, multivariate, combined) with known truth.

The network classes model media acting on mediators (brand awareness) and on
outcomes (sales), mediators acting on outcomes, and outcomes acting on each
other (halo and cannibalisation).  Each simulator here draws weekly media
spend, runs that structure forward and returns the data file's rows (a
``date`` column, then outcomes, media, mediators and controls) with a truth
dict: every parameter on the original scale and, per channel and outcome, its
direct, indirect (through mediators), cross (through other outcomes) and
total effect over the simulated weeks, with the proportion mediated.

How the series arise (everything on the original scale):

* a mediator's true value ``M_t = intercept + sum of its paths
  beta * f(x_t / scale) + sigma * eta_t``; what the file shows is ``M_t``
  itself (fully observed), ``M_t + nu * eps_t`` in a share of weeks
  (partially observed, empty elsewhere) or nothing (latent);
* an outcome ``y_kt = intercept + its paths + its controls
  + sum_d gamma_dk M_dt + sum of psi * modulator_t * y_source,t-lag + e_kt``,
  with the errors ``e_t`` of the outcomes correlated;
* a lagged cross-effect has no effect in its first ``lag`` weeks (there is no
  earlier source value); contemporaneous ones are acyclic, so the outcomes of
  a week are computed in their dependency order.

Effects are counterfactual: a channel's total effect on an outcome is the
fall in its sum over the weeks when the channel's spend is removed from every
path, with the same shocks; direct is the channel's own path into the
outcome, indirect is what passes through the mediators
(``gamma * beta_mediator * f``), cross the rest (through other outcomes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from mmm_runner.data import simulate as sim
from mmm_runner.model.transforms import Array, media_scale

Observation = Literal["full", "partial", "latent"]
Draw = Callable[[np.random.Generator, int], Array]

SEEDS = {
    "nested": 20240611,
    "multivariate": 20240612,
    "combined": 20240613,
    "outcome_transforms": 20240614,
}
"""Default seed of each network dataset."""

START = "2022-01-03"
WEEKS = 156


@dataclass(frozen=True)
class Path:
    """A media path: a channel's transformed spend times beta, into one equation.

    A channel may reach a mediator with its own carry-over (awareness builds
    and fades more slowly than sales respond), so each path has its transform.
    """

    channel: str
    beta: float
    transform: sim.Channel


@dataclass(frozen=True)
class Equation:
    """A mediator or an outcome: intercept, media paths, controls and noise sd."""

    name: str
    intercept: float
    noise_sd: float
    paths: tuple[Path, ...]
    controls: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Cross:
    """``psi * modulator_t * source_{t - lag}`` added to the target outcome."""

    source: str
    target: str
    lag: int
    psi: float
    modulator: str | None = None


@dataclass(frozen=True)
class Network:
    """The structure and parameters of a simulated network model.

    ``gamma`` maps (mediator, outcome) to the outcome's change per unit of the
    mediator; ``correlation`` is that of every pair of outcome errors.
    """

    mediators: tuple[Equation, ...]
    outcomes: tuple[Equation, ...]
    gamma: Mapping[tuple[str, str], float] = field(default_factory=dict)
    cross: tuple[Cross, ...] = ()
    correlation: float = 0.0


# ---------------------------------------------------------------------------
# Running a network forward


def path_values(
    paths: Sequence[Path], media: Mapping[str, Array], scales: Mapping[str, float]
) -> dict[str, Array]:
    """Each channel's part of an equation: ``beta * f(x / scale)`` summed over its paths."""
    out: dict[str, Array] = {}
    for path in paths:
        scaled = media[path.channel] / scales[path.channel]
        effect = path.beta * sim.channel_effect(scaled, path.transform)
        out[path.channel] = out[path.channel] + effect if path.channel in out else effect
    return out


def outcome_order(network: Network) -> list[str]:
    """Outcomes ordered so that contemporaneous sources come before their targets."""
    names = [eq.name for eq in network.outcomes]
    sources = {
        name: {c.source for c in network.cross if c.lag == 0 and c.target == name}
        for name in names
    }
    order: list[str] = []
    while len(order) < len(names):
        ready = [n for n in names if n not in order and sources[n] <= set(order)]
        if not ready:
            raise ValueError("contemporaneous cross-effects form a cycle")
        order.extend(ready)
    return order


def run_network(
    network: Network,
    media: Mapping[str, Array],
    scales: Mapping[str, float],
    controls: Mapping[str, Array],
    shocks: Mapping[str, Array],
    without: str | None = None,
) -> dict[str, Array]:
    """Every equation's true series (mediators' M and outcomes), from standard shocks.

    ``without`` names a channel whose spend is set to zero everywhere (its
    counterfactual); the shocks are the same, so differences are its effect.
    """
    if without is not None:
        media = {**media, without: np.zeros_like(media[without])}
    values: dict[str, Array] = {}
    for eq in network.mediators:
        values[eq.name] = _structural(eq, media, scales, controls) + eq.noise_sd * shocks[eq.name]
    base = {}
    for eq in network.outcomes:
        mediated = sum(
            (g * values[d] for (d, k), g in network.gamma.items() if k == eq.name),
            start=np.zeros(len(shocks[eq.name])),
        )
        noise = eq.noise_sd * shocks[eq.name]
        base[eq.name] = _structural(eq, media, scales, controls) + mediated + noise
    values.update(_with_cross_effects(network, base, controls))
    return values


def _structural(
    eq: Equation,
    media: Mapping[str, Array],
    scales: Mapping[str, float],
    controls: Mapping[str, Array],
) -> Array:
    weeks = len(next(iter(media.values())))
    total = np.full(weeks, eq.intercept)
    for part in path_values(eq.paths, media, scales).values():
        total = total + part
    for name, coef in eq.controls.items():
        total = total + coef * controls[name]
    return total


def _with_cross_effects(
    network: Network, base: Mapping[str, Array], controls: Mapping[str, Array]
) -> dict[str, Array]:
    """Outcomes week by week, adding the cross-effects to their other terms."""
    order = outcome_order(network)
    out = {name: np.zeros_like(series) for name, series in base.items()}
    weeks = len(next(iter(base.values())))
    for t in range(weeks):
        for name in order:
            value = base[name][t]
            for c in network.cross:
                if c.target == name and t >= c.lag:
                    scale = 1.0 if c.modulator is None else controls[c.modulator][t]
                    value += c.psi * scale * out[c.source][t - c.lag]
            out[name][t] = value
    return out


def outcome_shocks(
    rng: np.random.Generator, names: Sequence[str], weeks: int, correlation: float
) -> dict[str, Array]:
    """Standard-normal shocks of the outcomes with every pair correlated ``correlation``."""
    k = len(names)
    corr = np.full((k, k), correlation) + (1.0 - correlation) * np.eye(k)
    draws = rng.standard_normal((weeks, k)) @ np.linalg.cholesky(corr).T
    return {name: draws[:, i] for i, name in enumerate(names)}


# ---------------------------------------------------------------------------
# Truth


def channel_effects(
    network: Network,
    media: Mapping[str, Array],
    scales: Mapping[str, float],
    controls: Mapping[str, Array],
    shocks: Mapping[str, Array],
) -> dict[str, dict[str, dict[str, float]]]:
    """Per channel and outcome: direct, indirect, cross and total effect, proportion mediated."""
    actual = run_network(network, media, scales, controls, shocks)
    own = {eq.name: path_values(eq.paths, media, scales) for eq in network.outcomes}
    via = {eq.name: path_values(eq.paths, media, scales) for eq in network.mediators}
    out: dict[str, dict[str, dict[str, float]]] = {}
    for channel in media:
        removed = run_network(network, media, scales, controls, shocks, without=channel)
        out[channel] = {}
        for eq in network.outcomes:
            direct = float(own[eq.name][channel].sum()) if channel in own[eq.name] else 0.0
            indirect = 0.0
            for (mediator, outcome), g in network.gamma.items():
                if outcome == eq.name and channel in via[mediator]:
                    indirect += g * float(via[mediator][channel].sum())
            total = float((actual[eq.name] - removed[eq.name]).sum())
            out[channel][eq.name] = {
                "direct": direct,
                "indirect": indirect,
                "cross": total - direct - indirect,
                "total": total,
                "proportion_mediated": indirect / total if total != 0 else 0.0,
            }
    return out


def describe_equation(eq: Equation) -> dict[str, Any]:
    """An equation's parameters as written to the truth."""
    return {
        "intercept": eq.intercept,
        "noise_sd": eq.noise_sd,
        "media": {
            path.channel: {"beta": path.beta, **sim.describe_channel(path.transform)}
            for path in eq.paths
        },
        "controls": dict(eq.controls),
    }


def network_truth(
    name: str,
    seed: int,
    weeks: int,
    network: Network,
    observation: Mapping[str, dict[str, Any]],
    media: Mapping[str, Array],
    scales: Mapping[str, float],
    controls: Mapping[str, Array],
    shocks: Mapping[str, Array],
) -> dict[str, Any]:
    """The truth dict: structure, parameters, spend and per-channel effects."""
    return {
        "dataset": name,
        "seed": seed,
        "rows": weeks,
        "date_column": "date",
        "frequency": "weekly",
        "start": START,
        "outcomes": {eq.name: describe_equation(eq) for eq in network.outcomes},
        "mediators": {
            eq.name: {**describe_equation(eq), **observation[eq.name]} for eq in network.mediators
        },
        "gamma": {
            d: {k: g for (d2, k), g in network.gamma.items() if d2 == d}
            for d in {d for d, _ in network.gamma}
        },
        "cross_effects": [
            {
                "from": c.source,
                "to": c.target,
                "lag": c.lag,
                "psi": c.psi,
                "modulator": c.modulator,
                "first_effect_week": c.lag + 1,
            }
            for c in network.cross
        ],
        "error_correlation": network.correlation,
        "media_scale": dict(scales),
        "total_spend": {channel: sim.cents_total(spend) for channel, spend in media.items()},
        "effects": channel_effects(network, media, scales, controls, shocks),
    }


# ---------------------------------------------------------------------------
# Shared pieces of the three datasets


def _channel(decay: float, l_max: int, saturation: str, **params: float) -> sim.Channel:
    return sim.Channel("geometric", {"decay": decay}, l_max, saturation, params)


# Sales respond within weeks; awareness builds and fades more slowly.
SALES_TRANSFORMS = {
    "tv": _channel(0.5, 6, "logistic", rate=1.0),
    "search": _channel(0.2, 4, "michaelis_menten", half_saturation=0.8),
    "social": _channel(0.35, 6, "logistic", rate=1.2),
    "display": _channel(0.3, 4, "michaelis_menten", half_saturation=0.8),
}
AWARENESS_TRANSFORMS = {
    "tv": _channel(0.75, 10, "logistic", rate=0.8),
    "social": _channel(0.6, 8, "logistic", rate=1.0),
    "display": _channel(0.5, 6, "michaelis_menten", half_saturation=1.0),
}
CHANNELS = ("tv", "search", "social", "display")


def media_plan(
    rngs: Mapping[str, np.random.Generator], weeks: int, channels: Sequence[str]
) -> dict[str, Array]:
    """Weekly spend: flighted TV and display, phased search and social."""
    plans = {
        "tv": lambda r: sim.flighted_spend(r, weeks, 9_000.0, on_share=0.55, mean_run=4.0),
        "search": lambda r: sim.phased_spend(r, weeks, 2_500.0, sd=0.2),
        "social": lambda r: sim.phased_spend(r, weeks, 2_000.0, sd=0.3),
        "display": lambda r: sim.flighted_spend(r, weeks, 3_000.0, on_share=0.5, mean_run=3.0),
    }
    return {channel: plans[channel](rngs[channel]) for channel in channels}


def awareness_equation(
    channels: Sequence[str], betas: Mapping[str, float], shared_transforms: bool = False
) -> Equation:
    """Brand awareness in percentage points, built by the upper-funnel channels; with
    ``shared_transforms`` each channel builds it with its sales adstock and saturation."""
    forms = SALES_TRANSFORMS if shared_transforms else AWARENESS_TRANSFORMS
    paths = tuple(Path(c, betas[c], forms[c]) for c in channels if c in AWARENESS_TRANSFORMS)
    return Equation("awareness", 25.0, 1.2, paths)


def observe_mediator(
    rng: np.random.Generator, true: Array, observation: Observation, share: float, noise_sd: float
) -> tuple[Array | None, dict[str, Any]]:
    """The mediator column as written (None when latent) and its observation truth."""
    weeks = len(true)
    if observation == "latent":
        return None, {"observation": "latent", "observed_weeks": 0}
    if observation == "full":
        return np.round(true, 2), {"observation": "full", "observed_weeks": weeks}
    if observation != "partial":
        raise ValueError(f"observation must be full, partial or latent, not {observation!r}")
    n_obs = max(2, round(share * weeks))
    weeks_seen = np.sort(rng.choice(weeks, size=n_obs, replace=False))
    column = np.full(weeks, np.nan)
    column[weeks_seen] = np.round(true[weeks_seen] + noise_sd * rng.standard_normal(n_obs), 2)
    return column, {
        "observation": "partial",
        "observed_weeks": int(n_obs),
        "observation_noise_sd": noise_sd,
    }


def _frame(
    weeks: int,
    outcomes: Mapping[str, Array],
    media: Mapping[str, Array],
    mediators: Mapping[str, Array | None],
    controls: Mapping[str, Array],
) -> pd.DataFrame:
    columns: dict[str, Any] = {"date": sim.weekly_dates(START, weeks)}
    columns.update({name: np.round(values, 2) for name, values in outcomes.items()})
    columns.update(media)
    columns.update({name: values for name, values in mediators.items() if values is not None})
    columns.update(controls)
    return pd.DataFrame(columns)


def _simulate(
    name: str,
    seed: int,
    weeks: int,
    network: Network,
    channels: Sequence[str],
    controls_of: Mapping[str, Draw],
    observation: Observation,
    observed_share: float,
    survey_noise_sd: float,
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Array]]:
    """Draws media, controls and shocks, runs the network and writes data and truth
    (and the first outcome's contribution lines)."""
    mediator_names = [eq.name for eq in network.mediators]
    outcome_names = [eq.name for eq in network.outcomes]
    rngs = sim.streams(
        seed, [*CHANNELS, *controls_of, "mediator_noise", "outcome_noise", "survey"]
    )
    media = media_plan(rngs, weeks, channels)
    controls = {c: draw(rngs[c], weeks) for c, draw in controls_of.items()}
    scales = {channel: media_scale(spend) for channel, spend in media.items()}
    shocks = {d: rngs["mediator_noise"].standard_normal(weeks) for d in mediator_names}
    shocks.update(outcome_shocks(rngs["outcome_noise"], outcome_names, weeks, network.correlation))
    values = run_network(network, media, scales, controls, shocks)
    columns: dict[str, Array | None] = {}
    seen: dict[str, dict[str, Any]] = {}
    for eq in network.mediators:
        columns[eq.name], seen[eq.name] = observe_mediator(
            rngs["survey"], values[eq.name], observation, observed_share, survey_noise_sd
        )
    frame = _frame(weeks, {k: values[k] for k in outcome_names}, media, columns, controls)
    truth = network_truth(name, seed, weeks, network, seen, media, scales, controls, shocks)
    lines = (
        single_outcome_lines(network, media, scales, controls, shocks, values)
        if len(network.outcomes) == 1
        else total_lines(network, media, scales, controls, shocks, values)
    )
    return frame, truth, lines


def single_outcome_lines(
    network: Network,
    media: Mapping[str, Array],
    scales: Mapping[str, float],
    controls: Mapping[str, Array],
    shocks: Mapping[str, Array],
    values: Mapping[str, Array],
) -> dict[str, Array]:
    """The first outcome's weekly contribution lines, adding up to it (without
    cross-effects): its baseline (its intercept plus gamma times each mediator's), each
    channel's total effect (direct and through the mediators), each control, each
    mediator's own noise passed on, and the outcome's noise."""
    kpi = network.outcomes[0]
    gamma = {d: g for (d, k), g in network.gamma.items() if k == kpi.name}
    mediators = {eq.name: eq for eq in network.mediators}
    weeks = len(values[kpi.name])
    lines: dict[str, Array] = {
        "baseline": np.full(
            weeks, kpi.intercept + sum(g * mediators[d].intercept for d, g in gamma.items())
        )
    }
    for channel in media:
        removed = run_network(network, media, scales, controls, shocks, without=channel)
        lines[channel] = values[kpi.name] - removed[kpi.name]
    for name, coef in kpi.controls.items():
        lines[name] = coef * controls[name]
    for d, g in gamma.items():
        lines[f"{d}_other"] = g * mediators[d].noise_sd * shocks[d]
    lines["noise"] = values[kpi.name] - sim.sum_lines(lines.values())
    return lines


def total_lines(
    network: Network,
    media: Mapping[str, Array],
    scales: Mapping[str, float],
    controls: Mapping[str, Array],
    shocks: Mapping[str, Array],
    values: Mapping[str, Array],
) -> dict[str, Array]:
    """The outcomes' total per week, taken apart: each channel's effect on it (what
    removing the channel's spend takes away: direct, through mediators and carried by
    cross-effects) and the rest."""
    names = [eq.name for eq in network.outcomes]
    total = sum((values[k] for k in names), start=np.zeros(len(values[names[0]])))
    lines: dict[str, Array] = {}
    for channel in media:
        removed = run_network(network, media, scales, controls, shocks, without=channel)
        lines[channel] = sum((values[k] - removed[k] for k in names), start=np.zeros_like(total))
    lines["rest"] = total - sim.sum_lines(lines.values())
    return lines


def _price(rng: np.random.Generator, weeks: int) -> Array:
    return sim.price_index(rng, weeks)


def _promo(rng: np.random.Generator, weeks: int) -> Array:
    return sim.promo_flags(rng, weeks, share=0.2)


# ---------------------------------------------------------------------------
# The three datasets


NESTED_AWARENESS_BETAS = {"tv": 12.0, "social": 6.0, "display": 4.0}  # points at saturation
NESTED_SALES_BETAS = {"tv": 8_000.0, "search": 10_000.0, "social": 2_000.0, "display": 3_000.0}
NESTED_GAMMA = 600.0  # sales per awareness point


def simulate_nested(
    seed: int = SEEDS["nested"],
    weeks: int = WEEKS,
    observation: Observation = "full",
    observed_share: float = 0.2,
    channels: Sequence[str] = CHANNELS,
    shared_transforms: bool = False,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Sales with brand awareness as a mediator.

    Awareness (percentage points) is built by TV, social and display (those
    of ``channels``); sales respond to every channel directly, to awareness
    (``gamma`` per point) and to price.  ``observation``: awareness is in the
    file every week (``"full"``), only in ``observed_share`` of the weeks as a
    noisy survey (``"partial"``), or not at all (``"latent"``).
    """
    frame, truth, _ = _nested(
        seed, weeks, observation, observed_share, channels, shared_transforms
    )
    return frame, truth


def _nested(
    seed: int,
    weeks: int,
    observation: Observation,
    observed_share: float,
    channels: Sequence[str],
    shared_transforms: bool,
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Array]]:
    network = Network(
        mediators=(awareness_equation(channels, NESTED_AWARENESS_BETAS, shared_transforms),),
        outcomes=(
            Equation(
                "sales",
                40_000.0,
                1_200.0,
                tuple(Path(c, NESTED_SALES_BETAS[c], SALES_TRANSFORMS[c]) for c in channels),
                {"price": -15_000.0},
            ),
        ),
        gamma={("awareness", "sales"): NESTED_GAMMA},
    )
    frame, truth, lines = _simulate(
        "nested",
        seed,
        weeks,
        network,
        channels,
        {"price": _price},
        observation,
        observed_share,
        1.5,
    )
    return frame, {"model_class": "nested", **truth}, lines


PRODUCT_BETAS = {
    "product_a": {"tv": 9_000.0, "search": 7_000.0, "social": 3_000.0},
    "product_b": {"tv": 5_000.0, "search": 4_000.0, "social": 4_000.0},
}
PRODUCT_INTERCEPTS = {"product_a": 50_000.0, "product_b": 30_000.0}
PRODUCT_NOISE = {"product_a": 1_500.0, "product_b": 1_000.0}
HALO = Cross("product_a", "product_b", 2, 0.15)
"""Product A's sales two weeks earlier lift product B's."""
CANNIBALISATION = Cross("product_b", "product_a", 0, -0.2)
"""Product B's sales in the same week take from product A's."""
ERROR_CORRELATION = 0.4


def _products(
    channels: Sequence[str], promotion: bool, extra: Mapping[str, float]
) -> tuple[tuple[Equation, ...], tuple[Cross, ...]]:
    """The two products' equations and their cross-effects.

    With ``promotion``, product B's promotion weeks lift its sales and only
    then does it cannibalise A (the cross-effect is modulated by the flag).
    """
    outcomes = tuple(
        Equation(
            name,
            PRODUCT_INTERCEPTS[name] - extra.get(name, 0.0),
            PRODUCT_NOISE[name],
            tuple(Path(c, betas[c], SALES_TRANSFORMS[c]) for c in channels if c in betas),
            {"promo_b": 6_000.0} if promotion and name == "product_b" else {},
        )
        for name, betas in PRODUCT_BETAS.items()
    )
    cannibal = (
        Cross("product_b", "product_a", 0, -0.3, "promo_b") if promotion else CANNIBALISATION
    )
    return outcomes, (HALO, cannibal)


def simulate_multivariate(
    seed: int = SEEDS["multivariate"],
    weeks: int = WEEKS,
    promotion: bool = False,
    channels: Sequence[str] = ("tv", "search", "social"),
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Sales of two products sharing the media, with a halo and cannibalisation.

    Each product has its own media coefficients; A's sales lift B's two weeks
    later (halo), B's take from A's in the same week (cannibalisation, only in
    B's promotion weeks with ``promotion``); the products' errors correlate
    0.4.
    """
    frame, truth, _ = _multivariate(seed, weeks, promotion, channels)
    return frame, truth


def _multivariate(
    seed: int, weeks: int, promotion: bool, channels: Sequence[str]
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Array]]:
    outcomes, cross = _products(channels, promotion, {})
    network = Network((), outcomes, {}, cross, ERROR_CORRELATION)
    controls: dict[str, Draw] = {"promo_b": _promo} if promotion else {}
    frame, truth, lines = _simulate(
        "multivariate", seed, weeks, network, channels, controls, "full", 1.0, 0.0
    )
    return frame, {"model_class": "multivariate", **truth}, lines


# TV sells product A within a week or two and product B over two months: same forms,
# different carry-over (and a slightly different saturation) per product.
OUTCOME_TV = {
    "product_a": _channel(0.15, 8, "logistic", rate=1.0),
    "product_b": _channel(0.75, 8, "logistic", rate=0.7),
}


def simulate_outcome_transforms(
    seed: int = SEEDS["outcome_transforms"], weeks: int = WEEKS
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The two products of :func:`simulate_multivariate` (halo from A to B two weeks
    later, no promotions, independent errors), TV with its own carry-over on each: fast
    on A (decay 0.15), slow on B (decay 0.75). Search and social share their transforms."""
    frame, truth, _ = _outcome_transforms(seed, weeks)
    return frame, truth


def _outcome_transforms(
    seed: int, weeks: int
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Array]]:
    channels = ("tv", "search", "social")
    shared, _ = _products(channels, False, {})
    outcomes = tuple(
        Equation(
            eq.name,
            eq.intercept,
            eq.noise_sd,
            tuple(
                Path(p.channel, p.beta, OUTCOME_TV[eq.name]) if p.channel == "tv" else p
                for p in eq.paths
            ),
            eq.controls,
        )
        for eq in shared
    )
    network = Network((), outcomes, {}, (HALO,), 0.0)
    frame, truth, lines = _simulate(
        "outcome_transforms", seed, weeks, network, channels, {}, "full", 1.0, 0.0
    )
    return frame, {"model_class": "multivariate", **truth}, lines


COMBINED_GAMMA = {"product_a": 500.0, "product_b": 300.0}  # sales per awareness point


def simulate_combined(
    seed: int = SEEDS["combined"],
    weeks: int = WEEKS,
    observation: Observation = "full",
    observed_share: float = 0.2,
    promotion: bool = False,
    channels: Sequence[str] = CHANNELS,
    shared_transforms: bool = False,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The two products of :func:`simulate_multivariate`, both fed by brand awareness.

    Awareness is built as in :func:`simulate_nested` and lifts both
    products; intercepts are lowered by the awareness baseline's share so
    sales levels match the multivariate dataset.
    """
    frame, truth, _ = _combined(
        seed, weeks, observation, observed_share, promotion, channels, shared_transforms
    )
    return frame, truth


def _combined(
    seed: int,
    weeks: int,
    observation: Observation,
    observed_share: float,
    promotion: bool,
    channels: Sequence[str],
    shared_transforms: bool,
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Array]]:
    awareness = awareness_equation(channels, NESTED_AWARENESS_BETAS, shared_transforms)
    extra = {k: g * awareness.intercept for k, g in COMBINED_GAMMA.items()}
    outcomes, cross = _products(channels, promotion, extra)
    network = Network(
        (awareness,),
        outcomes,
        {("awareness", k): g for k, g in COMBINED_GAMMA.items()},
        cross,
        ERROR_CORRELATION,
    )
    controls: dict[str, Draw] = {"promo_b": _promo} if promotion else {}
    frame, truth, lines = _simulate(
        "combined", seed, weeks, network, channels, controls, observation, observed_share, 1.5
    )
    return frame, {"model_class": "combined", **truth}, lines


def simulate_nested_example(seed: int = SEEDS["nested"]) -> sim.Simulated:
    """The shipped ``nested`` dataset: awareness fully observed, transforms shared by a
    channel's paths (as the nested class models them), with contribution lines."""
    frame, truth, lines = _nested(seed, WEEKS, "full", 1.0, CHANNELS, shared_transforms=True)
    truth = {**truth, "kpi": "sales", "group_column": None}
    contributions = sim.contribution_frame(sim.weekly_dates(START, len(frame)), lines)
    return sim.Simulated("nested", frame, contributions, truth)


def simulate_multivariate_example(seed: int = SEEDS["multivariate"]) -> sim.Simulated:
    """The shipped ``multivariate`` dataset: two products, a halo from A to B two weeks
    later and B's promotions taking from A in the same week, correlated errors; the
    contribution lines are of the products' total."""
    frame, truth, lines = _multivariate(seed, WEEKS, True, ("tv", "search", "social"))
    truth = {**truth, "kpi": "total", "group_column": None}
    contributions = sim.contribution_frame(sim.weekly_dates(START, len(frame)), lines)
    return sim.Simulated("multivariate", frame, contributions, truth)


def simulate_combined_example(seed: int = SEEDS["combined"]) -> sim.Simulated:
    """The shipped ``combined`` dataset: the two products of the multivariate one, both
    lifted by brand awareness (observed every week), transforms shared by a channel's
    paths; the contribution lines are of the products' total."""
    frame, truth, lines = _combined(seed, WEEKS, "full", 1.0, True, CHANNELS, True)
    truth = {**truth, "kpi": "total", "group_column": None}
    contributions = sim.contribution_frame(sim.weekly_dates(START, len(frame)), lines)
    return sim.Simulated("combined", frame, contributions, truth)


def simulate_outcome_transforms_example(seed: int = SEEDS["outcome_transforms"]) -> sim.Simulated:
    """The shipped ``outcome_transforms`` dataset: two products with a halo, TV's
    carry-over fast on product A and slow on product B; the contribution lines are of
    the products' total."""
    frame, truth, lines = _outcome_transforms(seed, WEEKS)
    truth = {**truth, "kpi": "total", "group_column": None}
    contributions = sim.contribution_frame(sim.weekly_dates(START, len(frame)), lines)
    return sim.Simulated("outcome_transforms", frame, contributions, truth)
