"""Flighting: the budget optimiser choosing spend per channel and period.

A plan is a matrix of spend, channel × period of the horizon. Adstock is linear, so a
channel's adstocked media under a plan is its history's carry-over plus each period's
spend times the adstock of one unit spent in that period (an impulse), computed once
per response; an evaluation only saturates. Carry-over is credited in full: spend late
in the horizon still counts for the periods of the tail it reaches. A channel given a
fixed pattern keeps its timing (its weekly shares) and only its total is chosen.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from mmm_runner.analysis import budget as bud
from mmm_runner.config.models import BudgetConfig, FlightingConfig

Array = bud.Array


@dataclass(frozen=True)
class Flight:
    """What a per-period plan needs: the response, each channel's impulses and its
    per-period bounds, and the channels whose timing is fixed (their weekly shares)."""

    response: bud.Response
    period_lower: Array  # (M, H)
    period_upper: Array  # (M, H)
    patterns: dict[int, Array]  # channel index -> (H,) shares summing to 1

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.response.channels), self.response.horizon

    @cached_property
    def impulses(self) -> list[Array]:
        """Per channel: the adstock of one unit spent in each period, (H, D or 1, G, P)."""
        out = []
        for channel in self.response.channels:
            groups = channel.history.shape[0]
            n = channel.history.shape[1]
            share = channel.pattern / np.maximum(
                channel.pattern.sum(axis=0, keepdims=True), 1e-300
            )
            periods = self.response.horizon + self.response.tail
            rows = []
            for h in range(self.response.horizon):
                unit = np.zeros((groups, n + periods))
                # a period's spend splits over groups as the current plan splits it
                unit[:, n + h] = share[:, h] / channel.scale
                if channel.per_unit is not None:
                    unit *= channel.per_unit[:, None]
                rows.append(bud._adstocked(channel, unit, n))
            out.append(np.stack(rows))
        return out

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
    patterns: dict[int, Array] = {}
    for m, name in enumerate(names):
        rule = flighting.channels.get(name)
        if rule is not None and rule.period_min is not None:
            period_lower[m] = rule.period_min
        if rule is not None and rule.period_max is not None:
            period_upper[m] = rule.period_max
        if rule is not None and rule.pattern is not None:
            weights = np.asarray(rule.pattern, dtype=float)
            patterns[m] = weights / weights.sum()
        elif lower[m] == upper[m]:  # locked: its current timing
            current = response.channels[m].pattern.sum(axis=0)
            patterns[m] = (
                current / current.sum() if current.sum() > 0 else np.full(horizon, 1 / horizon)
            )
    return Flight(response, period_lower, period_upper, patterns)


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
    fast_response = (
        response
        if draws <= bud.OPTIMISE_DRAWS
        else response.subset(np.sort(rng.choice(draws, bud.OPTIMISE_DRAWS, replace=False)))
    )
    fast = Flight(fast_response, flight_.period_lower, flight_.period_upper, flight_.patterns)
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
    """The fixed-pattern plan as a starting point: free channels spread as the current
    plan spreads them (clipped to their period bounds), fixed ones by their totals."""
    parts = []
    for m in free:
        current = flight_.response.channels[m].pattern.sum(axis=0)
        shares = (
            current / current.sum()
            if current.sum() > 0
            else np.full(current.size, 1 / current.size)
        )
        parts.append(np.clip(start[m] * shares, flight_.period_lower[m], flight_.period_upper[m]))
    parts.extend(np.array([start[m]]) for m in fixed)
    return np.concatenate(parts) if parts else np.zeros(0)
