"""Budget scenarios: where should the next budget go?

A plan gives each channel a total spend over the horizon, spread over the
periods like its spend of the last ``horizon`` periods (flat when it had
none).  Its value is the KPI it adds, per posterior draw: the channel's
adstock carries history into the horizon and the plan beyond it, so the
uplift of a plan is its effect over the horizon and the carry-over tail,
minus what history alone would give.  Because adstock is linear, each
channel's adstocked series is ``history + budget × unit plan``, which makes
exact evaluation cheap; the saturation is the model's own (NumPy twins).

The optimiser seeds a Latin-hypercube search over the feasible set and
refines the best candidates with SLSQP under the budget equality (for
``kpi``) or inequality (for ``profit``, which may leave money unspent) and
the channel bounds.  Results are reproducible with the run seed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import numpy.typing as npt

from mmm_runner.config.models import BudgetConfig
from mmm_runner.model import transforms

Array = npt.NDArray[np.float64]
OPTIMISE_DRAWS = 1000  # draws the search uses; results are reported on all draws


def channel_bounds(
    budget: BudgetConfig, current: dict[str, float]
) -> dict[str, tuple[float, float]]:
    """Lowest and highest spend of each channel over the horizon.

    Locked channels stay at current spend; absolute min/max win over the
    relative ``change``; channels not named may move by ``default_change``.
    """
    bounds: dict[str, tuple[float, float]] = {}
    for name, spend in current.items():
        rule = budget.channels.get(name)
        if rule is not None and rule.locked:
            bounds[name] = (spend, spend)
        elif rule is not None and (rule.min is not None or rule.max is not None):
            bounds[name] = (rule.min or 0.0, rule.max if rule.max is not None else math.inf)
        else:
            change = (
                rule.change
                if rule is not None and rule.change is not None
                else (budget.default_change)
            )
            bounds[name] = (max(0.0, spend * (1 - change)), spend * (1 + change))
    return bounds


@dataclass(frozen=True)
class Piece:
    """A further transform of a channel's media whose part adds to the channel's: a
    network channel with transforms per outcome has one per further outcome (same
    forms, its own parameters and effect)."""

    adstock_params: dict[str, Array]
    saturation_params: dict[str, Array]
    effect: Array


@dataclass(frozen=True)
class Channel:
    """What the evaluator needs of one channel: its draws and its history."""

    name: str
    adstock: str
    adstock_params: dict[str, Array]  # each (D,), or (D, G) with one set per group
    saturation: str
    saturation_params: dict[str, Array]
    l_max: int
    effect: Array  # (D,) or (D, G): effect at full saturation, KPI (or log KPI) scale
    scale: float  # media_scale
    history: Array  # (G, n) scaled media before the horizon, per group
    pattern: Array  # (G, H) share of the channel's plan in each group and period
    per_unit: Array | None = None  # (G,) modelled media per unit of plan (1 / population)
    # further transforms of the same media, their parts added (adstocked media then has
    # a leading axis: this transform's, then each piece's)
    pieces: tuple[Piece, ...] = ()

    def piece(self, p: int) -> Channel:
        """The channel with piece p's transform and effect instead of its own."""
        piece = self.pieces[p]
        return replace(
            self,
            adstock_params=piece.adstock_params,
            saturation_params=piece.saturation_params,
            effect=piece.effect,
            pieces=(),
        )


@dataclass(frozen=True)
class Response:
    """How the KPI responds to media over the horizon and its tail."""

    channels: tuple[Channel, ...]
    horizon: int
    log_response: bool
    base: Array | None  # (D, G, H + tail) non-media log-scale predictor (log models only)
    noise: Array | None  # (D,) noise sd on the log scale (log models only)
    value: float = 1.0  # money per KPI unit over the horizon (model.kpi_value)

    @property
    def tail(self) -> int:
        return max(c.l_max for c in self.channels) - 1

    def draws(self) -> int:
        return int(self.channels[0].effect.shape[0])

    @cached_property
    def carried(self) -> list[tuple[Array, Array]]:
        """Per channel: adstocked history and adstocked unit plan (see ``carry``)."""
        return [carry(c, self.horizon, self.tail) for c in self.channels]

    @cached_property
    def history_parts(self) -> Array:
        """Each channel's part with no new spend (history's carry-over): (M, D, G, P)."""
        return np.stack(
            [
                _part(c, history)
                for c, (history, _) in zip(self.channels, self.carried, strict=True)
            ]
        )

    def subset(self, index: npt.NDArray[np.int64]) -> Response:
        """The same response on a subset of draws (for a faster search)."""
        channels = tuple(
            Channel(
                c.name,
                c.adstock,
                {k: v[index] for k, v in c.adstock_params.items()},
                c.saturation,
                {k: v[index] for k, v in c.saturation_params.items()},
                c.l_max,
                c.effect[index],
                c.scale,
                c.history,
                c.pattern,
                c.per_unit,
                tuple(
                    Piece(
                        {k: v[index] for k, v in p.adstock_params.items()},
                        {k: v[index] for k, v in p.saturation_params.items()},
                        p.effect[index],
                    )
                    for p in c.pieces
                ),
            )
            for c in self.channels
        )
        return Response(
            channels,
            self.horizon,
            self.log_response,
            None if self.base is None else self.base[index],
            None if self.noise is None else self.noise[index],
            self.value,
        )


def _group_params(params: dict[str, Array], group: int) -> dict[str, Array]:
    """One group's parameters when each group has its own set, else all of them."""
    return {k: v[:, group] if v.ndim == 2 else v for k, v in params.items()}


def _shared(params: dict[str, Array]) -> bool:
    return all(v.ndim == 1 for v in params.values())


def _adstocked(channel: Channel, series: Array, skip: int) -> Array:
    """Adstock of per-group series (G, T), periods from ``skip`` on: (D or 1, G, T - skip);
    with pieces, (1 + pieces, D, G, T - skip): the channel's own, then each piece's."""
    if channel.pieces:
        own = [_adstocked(replace(channel, pieces=()), series, skip)]
        more = [_adstocked(channel.piece(p), series, skip) for p in range(len(channel.pieces))]
        draws = max(a.shape[0] for a in own + more)
        return np.stack([np.broadcast_to(a, (draws, *a.shape[1:])) for a in own + more])
    params = channel.adstock_params
    form = transforms.ADSTOCKS[channel.adstock]
    if _shared(params):
        return transforms.apply_adstock(series, form.weights(params, channel.l_max))[..., skip:]
    per_group = [
        transforms.apply_adstock(series[g], form.weights(_group_params(params, g), channel.l_max))
        for g in range(series.shape[0])
    ]
    return np.stack(per_group, axis=1)[..., skip:]


def carry(channel: Channel, horizon: int, tail: int) -> tuple[Array, Array]:
    """History's adstock and a unit plan's adstock over the horizon and tail.

    Adstock is linear, so a plan's adstocked media is ``history + budget / scale
    × unit``: computed once per response, each evaluation only saturates.
    """
    groups, n = channel.history.shape
    periods = horizon + tail
    history = np.zeros((groups, n + periods))
    history[:, :n] = channel.history
    unit = np.zeros((groups, n + periods))
    unit[:, n : n + horizon] = channel.pattern / channel.scale
    if channel.per_unit is not None:  # per-capita media: a group's plan over its people
        unit *= channel.per_unit[:, None]
    return _adstocked(channel, history, n), _adstocked(channel, unit, n)


def _part(channel: Channel, carried: Array) -> Array:
    """A channel's part of the (log-)KPI per draw, group and period from its adstocked media."""
    if channel.pieces:  # its own transform's part plus each piece's
        total = _part(replace(channel, pieces=()), carried[0])
        for p in range(len(channel.pieces)):
            total = total + _part(channel.piece(p), carried[p + 1])
        return total
    draws = channel.effect.shape[0]
    carried = np.broadcast_to(carried, (draws, *carried.shape[1:]))
    params = channel.saturation_params
    form = transforms.SATURATIONS[channel.saturation]
    if _shared(params):
        saturated = form.apply(carried.reshape(draws, -1), params).reshape(carried.shape)
    else:
        saturated = np.stack(
            [form.apply(carried[:, g], _group_params(params, g)) for g in range(carried.shape[1])],
            axis=1,
        )
    effect = channel.effect if channel.effect.ndim == 2 else channel.effect[:, None]
    part: Array = effect[:, :, None] * saturated
    return part


def _channel_part(response: Response, m: int, budget: float) -> Array:
    history, unit = response.carried[m]
    return _part(response.channels[m], history + budget * unit)


def channel_parts(response: Response, budgets: Array) -> Array:
    """Each channel's part of the (log-)KPI per draw, group and period: (M, D, G, P)."""
    return np.stack([_channel_part(response, m, float(b)) for m, b in enumerate(budgets)])


def channel_uplift(response: Response, m: int, budgets: Array) -> Array:
    """Channel m's uplift per draw at a plan (cheap for identity responses: separable)."""
    if response.log_response:
        coupled: Array = uplift(response, budgets)[1][m]
        return coupled
    part = _channel_part(response, m, float(budgets[m]))
    gain: Array = (part - response.history_parts[m]).sum(axis=(1, 2))
    return gain


def uplift(response: Response, budgets: Array) -> tuple[Array, Array]:
    """KPI a plan adds over history alone: per draw (D,) and per channel (M, D)."""
    return uplift_of(response, channel_parts(response, budgets))


def uplift_of(response: Response, with_plan: Array) -> tuple[Array, Array]:
    """KPI the channels' parts under a plan, (M, D, G, P), add over history alone: per
    draw (D,) and per channel (M, D)."""
    without = response.history_parts
    if not response.log_response:
        per_channel = (with_plan - without).sum(axis=(2, 3))
        return per_channel.sum(axis=0), per_channel
    assert response.base is not None
    assert response.noise is not None
    lift = 0.5 * response.noise[:, None, None] ** 2
    base = response.base + without.sum(axis=0) + lift
    total = np.exp(response.base + with_plan.sum(axis=0) + lift) - np.exp(base)
    # Each channel's share: its own counterfactual removal from the planned total.
    planned = np.exp(response.base + with_plan.sum(axis=0) + lift)
    per_channel = np.stack(
        [
            (planned - planned * np.exp(-(w - wo))).sum(axis=(1, 2))
            for w, wo in zip(with_plan, without, strict=True)
        ]
    )
    return total.sum(axis=(1, 2)), per_channel


def risk_value(draws: Array, config: BudgetConfig) -> float:
    """The objective's summary of uplift draws (mean, a lower quantile, or mean − λ·sd)."""
    if config.risk == "quantile":
        return float(np.quantile(draws, config.risk_quantile))
    if config.risk == "mean_minus_sd":
        return float(draws.mean() - config.risk_lambda * draws.std())
    return float(draws.mean())


def objective_draws(response: Response, budgets: Array, config: BudgetConfig) -> Array:
    """Per-draw value of a plan: KPI uplift (in money with a KPI value), or profit.

    Profit is margin × uplift − spend, the margin being ``budget.margin`` or,
    when only ``model.kpi_value`` is given, the KPI's value.
    """
    gain, _ = uplift(response, budgets)
    if config.objective == "profit":
        margin = config.margin if config.margin is not None else response.value
        return np.asarray(margin * gain - budgets.sum())
    return np.asarray(response.value * gain)


@dataclass
class Optimum:
    """The optimised plan and how the search went."""

    budgets: Array
    value: float
    converged: bool
    message: str
    evaluations: int
    seconds: float
    starts: int
    history: list[float] = field(default_factory=list)


def project(x: Array, lower: Array, upper: Array, total: float) -> Array:
    """The point of {lower ≤ b ≤ upper, Σb = total} nearest to x (bisection on a shift)."""
    low, high = float((lower - x).min()), float((upper - x).max())
    for _ in range(100):
        mid = 0.5 * (low + high)
        if np.clip(x + mid, lower, upper).sum() > total:
            high = mid
        else:
            low = mid
    return np.clip(x + 0.5 * (low + high), lower, upper)


def optimise(
    response: Response,
    config: BudgetConfig,
    lower: Array,
    upper: Array,
    total: float,
    seed: int,
    start: Array | None = None,
    candidates: int = 64,
    refine: int = 3,
) -> Optimum:
    """The plan maximising the risk-adjusted objective within the bounds and total."""
    from scipy import optimize  # imported on use: most commands never optimise a budget

    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    draws = response.draws()
    fast = (
        response
        if draws <= OPTIMISE_DRAWS
        else response.subset(np.sort(rng.choice(draws, OPTIMISE_DRAWS, replace=False)))
    )
    free = upper > lower
    equality = config.objective == "kpi"
    counter = {"n": 0}
    scale = max(total, 1.0)

    def value(budgets: Array) -> float:
        counter["n"] += 1
        return risk_value(objective_draws(fast, budgets, config), config)

    def full(x: Array) -> Array:
        budgets = lower.copy()
        budgets[free] = x * scale
        return budgets

    def negative(x: Array) -> float:
        return -value(full(x)) / scale

    seeds = _seed_points(rng, lower, upper, total, equality, candidates)
    if start is not None:
        seeds = np.vstack([start[None, :], seeds])
    scored = sorted(((value(b), i) for i, b in enumerate(seeds)), reverse=True)
    constraint: Callable[[Array], float] = lambda x: (total - full(x).sum()) / scale  # noqa: E731
    best: tuple[float, Array, bool, str] | None = None
    for _, i in scored[:refine]:
        if not free.any():
            best = (value(lower), lower.copy(), True, "every channel is locked")
            break
        result = optimize.minimize(
            negative,
            seeds[i][free] / scale,
            method="SLSQP",
            bounds=list(zip(lower[free] / scale, upper[free] / scale, strict=True)),
            constraints=[{"type": "eq" if equality else "ineq", "fun": constraint}],
            options={"maxiter": 200, "ftol": 1e-10},
        )
        budgets = full(np.asarray(result.x))
        if equality:
            budgets[free] = project(
                budgets[free], lower[free], upper[free], total - lower[~free].sum()
            )
        candidate = (value(budgets), budgets, bool(result.success), str(result.message))
        if best is None or candidate[0] > best[0]:
            best = candidate
    assert best is not None
    if best[0] < scored[0][0]:  # a seed beat every refinement: keep it, say so
        best = (scored[0][0], seeds[scored[0][1]], False, "SLSQP did not improve on the search")
    return Optimum(
        best[1], best[0], best[2], best[3], counter["n"], time.perf_counter() - started, refine
    )


def _seed_points(
    rng: np.random.Generator, lower: Array, upper: Array, total: float, equality: bool, count: int
) -> Array:
    """Latin-hypercube candidates, moved onto the feasible set."""
    finite_upper = np.where(np.isfinite(upper), upper, lower + 2 * max(total, 1.0))
    from scipy.stats import qmc

    unit = qmc.LatinHypercube(d=len(lower), seed=rng).random(count)
    points = lower + unit * (finite_upper - lower)
    out = []
    for p in points:
        if equality or p.sum() > total:
            out.append(project(p, lower, finite_upper, total))
        else:
            out.append(p)
    return np.asarray(out)


# ---------------------------------------------------------------------------
# Target modes: the total is the result


TARGET_STEPS = 30  # bisection steps of target_roi (the total to 1e-9 of its range)


def marginal_config(config: BudgetConfig, response: Response) -> BudgetConfig:
    """target_mroi as a profit problem: maximising value × uplift − target × spend is
    profit with margin value / target, whose optimum funds each channel until its
    marginal ROI (value of an extra unit of spend) falls to the target, or a bound."""
    assert config.target is not None
    return config.model_copy(
        update={"objective": "profit", "margin": response.value / config.target}
    )


def plan_roi(response: Response, budgets: Array, config: BudgetConfig) -> float:
    """The plan's ROI: the (risk-adjusted) value it adds per unit of its spend."""
    gain, _ = uplift(response, budgets)
    spent = float(budgets.sum())
    return risk_value(response.value * gain, config) / spent if spent > 0 else math.inf


def target_roi_plan(
    response: Response, config: BudgetConfig, lower: Array, upper: Array, seed: int
) -> Optimum:
    """target_roi: the largest total (within the bounds) whose best allocation returns
    at least ``target`` per unit of spend; ROI falls as the total grows (diminishing
    returns), so bisection on the total finds it. When even the bounds' largest total
    beats the target that plan is returned; when the smallest misses it, the smallest."""
    assert config.target is not None
    fixed = config.model_copy(update={"objective": "kpi", "mode": "total", "target": None})
    started = time.perf_counter()
    evaluations = 0

    def best(total: float, start: Array | None) -> Optimum:
        nonlocal evaluations
        found = optimise(
            response, fixed, lower, upper, total, seed, start=start, candidates=16, refine=1
        )
        evaluations += found.evaluations
        return found

    def done(found: Optimum, message: str) -> Optimum:
        return replace(
            found,
            message=message,
            evaluations=evaluations,
            seconds=time.perf_counter() - started,
        )

    low, high = float(lower.sum()), float(upper.sum())
    top = best(high, None)
    if plan_roi(response, top.budgets, config) >= config.target:
        return done(top, "the target is met at the bounds' largest total: the bounds bind")
    floor = max(low, 1e-6 * high)
    bottom = best(floor, None)
    if plan_roi(response, bottom.budgets, config) < config.target:
        return done(bottom, "even the bounds' smallest total misses the target")
    for _ in range(TARGET_STEPS):
        middle = 0.5 * (floor + high)
        found = best(middle, project(bottom.budgets * middle / floor, lower, upper, middle))
        if plan_roi(response, found.budgets, config) >= config.target:
            floor, bottom = middle, found
        else:
            high = middle
    return done(bottom, f"the largest total returning the target ({TARGET_STEPS} bisections)")
