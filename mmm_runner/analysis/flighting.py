"""Plans finer than one total per channel: spend per channel and period (flighting) or
per channel and group of a panel (cells).

A plan is a matrix of spend, channel × slot (a period of the horizon, or a group).
Adstock is linear, so a channel's adstocked media under a plan is its history's
carry-over plus each slot's spend times the adstock of one unit spent in that slot (an
impulse), computed once per scenario; an evaluation only saturates. Carry-over is
credited in full: spend late in the horizon still counts for the periods of the tail it
reaches. A channel given a fixed pattern keeps its split over the slots (its weekly
shares, or a national channel's groups) and only its total is chosen.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from mmm_runner.analysis import budget as bud
from mmm_runner.config.models import BudgetConfig, FlightingConfig

Array = bud.Array
# Draws the search evaluates: a plan has one number per channel and slot, so each
# gradient costs as many evaluations; the fixed subset keeps the objective smooth, and
# every reported number uses all draws.
SEARCH_DRAWS = 400


@dataclass(frozen=True)
class Flight:
    """What a slot-by-slot plan needs: the response, each channel's impulses, its per-slot
    bounds and current split, and the channels whose split is fixed (their shares)."""

    response: bud.Response
    impulses: list[Array]  # per channel: (S, D or 1, G, P) adstock of a unit in each slot
    period_lower: Array  # (M, S)
    period_upper: Array  # (M, S)
    patterns: dict[int, Array]  # channel index -> (S,) shares summing to 1
    current: Array  # (M, S) each channel's current split over the slots (shares)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.response.channels), self.period_lower.shape[1]

    def parts(self, plan: Array) -> Array:
        """Each channel's part of the (log-)KPI under a plan (M, H): (M, D, G, P)."""
        stacked = []
        for m, channel in enumerate(self.response.channels):
            history, _ = self.response.carried[m]
            carried = history + np.tensordot(plan[m], self.impulses[m], axes=(0, 0))
            stacked.append(bud._part(channel, carried))
        return np.stack(stacked)

    def value(self, plan: Array, config: BudgetConfig) -> Array:
        """Per-draw value of a plan (as ``budget.objective_draws``)."""
        gain, _ = bud.uplift_of(self.response, self.parts(plan))
        if config.objective == "profit":
            margin = config.margin if config.margin is not None else self.response.value
            return np.asarray(margin * gain - plan.sum())
        return np.asarray(self.response.value * gain)


def period_impulses(response: bud.Response) -> list[Array]:
    """Per channel: the adstock of one unit spent in each period, (H, D or 1, G, P); a
    period's spend splits over groups as the current plan splits it."""
    out = []
    for channel in response.channels:
        share = channel.pattern / np.maximum(channel.pattern.sum(axis=0, keepdims=True), 1e-300)
        rows = []
        for h in range(response.horizon):
            unit = np.zeros(channel.pattern.shape)
            unit[:, h] = share[:, h]
            rows.append(_spread(response, channel, unit))
        out.append(np.stack(rows))
    return out


def group_impulses(response: bud.Response) -> list[Array]:
    """Per channel: the adstock of one unit spent in each group over the horizon, with
    that group's current timing, (G, D or 1, G, P)."""
    out = []
    for channel in response.channels:
        rows = []
        for g in range(channel.pattern.shape[0]):
            unit = np.zeros(channel.pattern.shape)
            unit[g] = _shares(channel.pattern[g])
            rows.append(_spread(response, channel, unit))
        out.append(np.stack(rows))
    return out


def _spread(response: bud.Response, channel: bud.Channel, plan: Array) -> Array:
    """The adstock (D or 1, G, P) of one unit of spend laid out as ``plan`` (G, H)."""
    groups, n = channel.history.shape
    periods = response.horizon + response.tail
    unit = np.zeros((groups, n + periods))
    unit[:, n : n + response.horizon] = plan / channel.scale
    if channel.per_unit is not None:  # per-capita media: a group's plan over its people
        unit *= channel.per_unit[:, None]
    return bud._adstocked(channel, unit, n)


def flight(
    response: bud.Response,
    flighting: FlightingConfig,
    names: list[str],
    lower: Array,
    upper: Array,
) -> Flight:
    """The per-period bounds and fixed patterns of a scenario: a period's spend lies within
    its channel's `period_min`/`period_max` (default 0 and the channel's upper bound);
    locked channels and channels with a `pattern` keep their timing."""
    n_channels, horizon = len(names), response.horizon
    period_lower = np.zeros((n_channels, horizon))
    period_upper = np.repeat(upper[:, None], horizon, axis=1)
    current = np.stack([_shares(c.pattern.sum(axis=0)) for c in response.channels])
    patterns: dict[int, Array] = {}
    for m, name in enumerate(names):
        rule = flighting.channels.get(name)
        if rule is not None and rule.period_min is not None:
            period_lower[m] = rule.period_min
        if rule is not None and rule.period_max is not None:
            period_upper[m] = rule.period_max
        if rule is not None and rule.pattern is not None:
            patterns[m] = _shares(np.asarray(rule.pattern, dtype=float))
        elif lower[m] == upper[m]:  # locked: its current timing
            patterns[m] = current[m]
    impulses = period_impulses(response)
    return Flight(response, impulses, period_lower, period_upper, patterns, current)


def cells(
    response: bud.Response,
    rules: dict[str, dict[str, Any]],
    names: list[str],
    groups: list[str],
    national: set[str],
    lower: Array,
    upper: Array,
) -> Flight:
    """Per group × channel cells of a panel: a cell's spend lies within its bounds
    (``rules[group][channel]``, with min/max; default 0 and the channel's upper bound);
    national channels (paid once, seen everywhere) and locked ones keep their split."""
    n_channels, n_groups = len(names), len(groups)
    cell_lower = np.zeros((n_channels, n_groups))
    cell_upper = np.repeat(upper[:, None], n_groups, axis=1)
    current = np.stack([_shares(c.pattern.sum(axis=1)) for c in response.channels])
    for g, group in enumerate(groups):
        for m, name in enumerate(names):
            rule = rules.get(group, {}).get(name)
            if rule is not None and rule.min is not None:
                cell_lower[m, g] = rule.min
            if rule is not None and rule.max is not None:
                cell_upper[m, g] = rule.max
    impulses = group_impulses(response)
    patterns = {m: current[m] for m in range(n_channels) if lower[m] == upper[m]}
    for m, name in enumerate(names):
        if name in national:  # paid once, seen in full by every group: one cell in effect
            _, unit = response.carried[m]
            impulses[m] = np.repeat(unit[None], n_groups, axis=0)
            patterns[m] = np.full(n_groups, 1.0 / n_groups)
            cell_lower[m], cell_upper[m] = 0.0, upper[m]
    return Flight(response, impulses, cell_lower, cell_upper, patterns, current)


def _shares(values: Array) -> Array:
    total = float(values.sum())
    return values / total if total > 0 else np.full(values.size, 1.0 / values.size)


@dataclass
class FlightPlan:
    """The optimised per-period plan and how the search went."""

    plan: Array  # (M, H)
    value: float
    converged: bool
    message: str
    evaluations: int
    seconds: float


def optimise_flight(
    flight_: Flight,
    config: BudgetConfig,
    lower: Array,
    upper: Array,
    total: float,
    start: Array,
    seed: int,
) -> FlightPlan:
    """The per-period plan maximising the risk-adjusted objective: each channel's total
    within its bounds, each period's spend within its own, the totals adding to
    ``total`` (objective kpi) or at most it (profit). Starts from ``start`` (M,): the
    best fixed-pattern plan, spread as its current pattern, so the search can only
    improve on it."""
    from scipy import optimize  # imported on use

    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    response = flight_.response
    draws = response.draws()
    fast = flight_
    if draws > SEARCH_DRAWS:  # the search on a subset of draws, impulses alike
        index = np.sort(rng.choice(draws, SEARCH_DRAWS, replace=False))
        fast = Flight(
            response.subset(index),
            [imp[:, index] if imp.shape[1] > 1 else imp for imp in flight_.impulses],
            flight_.period_lower,
            flight_.period_upper,
            flight_.patterns,
            flight_.current,
        )
    n_channels, horizon = flight_.shape
    free = [m for m in range(n_channels) if m not in flight_.patterns]
    fixed = sorted(flight_.patterns)
    scale = max(total, 1.0)
    counter = {"n": 0}

    def plan_of(x: Array) -> Array:
        plan = np.zeros((n_channels, horizon))
        at = 0
        for m in free:
            plan[m] = x[at : at + horizon] * scale
            at += horizon
        for m in fixed:
            plan[m] = x[at] * scale * flight_.patterns[m]
            at += 1
        return plan

    def negative(x: Array) -> float:
        counter["n"] += 1
        return -bud.risk_value(fast.value(plan_of(x), config), config) / scale

    x0 = _start(flight_, start, free, fixed) / scale
    bounds = [
        (flight_.period_lower[m, h] / scale, flight_.period_upper[m, h] / scale)
        for m in free
        for h in range(horizon)
    ] + [(lower[m] / scale, upper[m] / scale) for m in fixed]
    constraints = [_total_constraint(plan_of, total, scale, config.objective == "kpi")]
    for m in free:  # each channel's total within its bounds
        constraints.append(
            {"type": "ineq", "fun": lambda x, m=m: plan_of(x)[m].sum() / scale - lower[m] / scale}
        )
        constraints.append(
            {"type": "ineq", "fun": lambda x, m=m: upper[m] / scale - plan_of(x)[m].sum() / scale}
        )
    result = optimize.minimize(
        negative,
        x0,
        method="SLSQP",
        bounds=bounds,
        constraints=constraints,
        options={"maxiter": 300, "ftol": 1e-12},
    )
    plan = plan_of(np.clip(np.asarray(result.x), [b[0] for b in bounds], [b[1] for b in bounds]))
    value = bud.risk_value(fast.value(plan, config), config)
    first = plan_of(x0)
    first_value = bud.risk_value(fast.value(first, config), config)
    if first_value > value:  # never worse than where it started
        return FlightPlan(
            first,
            first_value,
            False,
            "SLSQP did not improve on the start",
            counter["n"],
            time.perf_counter() - started,
        )
    return FlightPlan(
        plan,
        value,
        bool(result.success),
        str(result.message),
        counter["n"],
        time.perf_counter() - started,
    )


def _total_constraint(plan_of, total: float, scale: float, equality: bool):  # type: ignore[no-untyped-def]
    return {
        "type": "eq" if equality else "ineq",
        "fun": lambda x: (total - plan_of(x).sum()) / scale,
    }


def _start(flight_: Flight, start: Array, free: list[int], fixed: list[int]) -> Array:
    """The fixed-pattern plan as a starting point: free channels split as the current
    plan splits them (clipped to their slot bounds), fixed ones by their totals."""
    parts = []
    for m in free:
        split = start[m] * flight_.current[m]
        parts.append(np.clip(split, flight_.period_lower[m], flight_.period_upper[m]))
    parts.extend(np.array([start[m]]) for m in fixed)
    return np.concatenate(parts) if parts else np.zeros(0)
