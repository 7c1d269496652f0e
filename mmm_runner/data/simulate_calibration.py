"""A confounded single market with a lift test, with known truth.

Unobserved demand drives sales, and TV spend follows demand (the media plan
buys more TV in strong weeks), so a model that does not see demand credits TV
with part of demand's effect. A go-dark test (TV switched off for eight weeks
while it would have run) measured the sales TV adds, with a standard error: the
experiment that calibrates the model. Search runs independently of demand.

The transforms see media divided by their mean active level over all rows,
the model's own convention, so the truth's coefficients are the model's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mmm_runner.data import simulate as sim
from mmm_runner.model.transforms import media_scale

SEED = 20241201
START = "2022-01-03"
WEEKS = 156
CHANNELS = {
    "tv": sim.Channel(
        "geometric", {"decay": 0.5}, 6, "hill", {"half_saturation": 1.0, "shape": 1.5}
    ),
    "search": sim.Channel(
        "geometric", {"decay": 0.2}, 4, "michaelis_menten", {"half_saturation": 0.8}
    ),
}
BETAS = {"tv": 6_000.0, "search": 5_000.0}  # sales per week at full saturation
INTERCEPT = 40_000.0
DEMAND_EFFECT = 2_500.0  # sales per standard deviation of demand
DEMAND_PULL = 0.5  # how strongly TV spend follows demand (log scale)
PLAN_NOISE = 0.3  # what else moves TV spend (log scale)
NOISE_SD = 800.0
TEST_WEEKS = (110, 118)  # the go-dark window [first, last) in weeks from the start
MEASURED_AFTER = 4  # weeks after the window over which the lift was still measured
TEST_SE_SHARE = 0.08  # the test's standard error, as a share of its true lift


def simulate_confounded(seed: int = SEED) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The data (date, sales, tv, search; demand not in the file) and the truth, with the
    lift test as a config entry (``truth['lift_test']``)."""
    shipped = confounded_example(seed)
    return shipped.data, shipped.truth


def confounded_example(seed: int = SEED) -> sim.Simulated:
    """The shipped ``confounded`` dataset, with its weekly contribution lines."""
    rngs = sim.streams(seed, ["demand", "tv", "search", "noise", "test", "plan"])
    dates = sim.weekly_dates(START, WEEKS)
    demand = _ar1(rngs["demand"], WEEKS, 0.85)
    on = sim.flight_mask(rngs["tv"], WEEKS, 0.6, 4.0)
    first, last = TEST_WEEKS
    on[first:last] = True  # TV was planned for the test window; the test took it off
    plan = DEMAND_PULL * demand + PLAN_NOISE * rngs["plan"].standard_normal(WEEKS)
    tv = sim.to_cents(np.where(on, 8_000.0 * np.exp(plan), 0.0))
    search = sim.phased_spend(rngs["search"], WEEKS, 3_000.0, sd=0.25)
    spend = {"tv": tv, "search": search}
    scales = {name: media_scale(values) for name, values in spend.items()}
    effect = {
        name: BETAS[name] * sim.channel_effect(spend[name] / scales[name], channel)
        for name, channel in CHANNELS.items()
    }
    noise = NOISE_SD * rngs["noise"].standard_normal(WEEKS)
    sales = np.round(INTERCEPT + sum(effect.values()) + DEMAND_EFFECT * demand + noise, 2)
    dark = tv.copy()
    dark[first:last] = 0.0
    without = BETAS["tv"] * sim.channel_effect(dark / scales["tv"], CHANNELS["tv"])
    measured = slice(first, last + MEASURED_AFTER)
    true_lift = float((without - effect["tv"])[measured].sum())  # negative: TV went dark
    se = TEST_SE_SHARE * abs(true_lift)
    observed = true_lift + se * float(rngs["test"].standard_normal())
    frame = pd.DataFrame({"date": dates, "sales": sales, "tv": tv, "search": search})
    lines = {
        "baseline": np.full(WEEKS, INTERCEPT),
        **effect,
        "demand": DEMAND_EFFECT * demand,
    }
    lines["noise"] = sales - sim.sum_lines(lines.values())
    truth = {
        "dataset": "confounded",
        "seed": seed,
        "kpi": "sales",
        "group_column": None,
        "media": {
            name: {
                **sim.describe_channel(channel),
                "beta": BETAS[name],
                "media_scale": scales[name],
                "total_contribution": float(effect[name].sum()),
                "total_spend": sim.cents_total(spend[name]),
                "roi": float(effect[name].sum()) / sim.cents_total(spend[name]),
            }
            for name, channel in CHANNELS.items()
        },
        "demand_effect": DEMAND_EFFECT,
        "demand_tv_correlation": float(np.corrcoef(demand[on], np.log(tv[on]))[0, 1]),
        "true_lift": true_lift,
        "lift_test": {
            "channel": "tv",
            "start": str(dates[first].date()),
            "end": str(dates[last - 1].date()),
            "measured_until": str(dates[last - 1 + MEASURED_AFTER].date()),
            "spend_change": -sim.cents_total(tv[first:last]),
            "lift": round(observed, 2),
            "se": round(se, 2),
        },
    }
    return sim.Simulated("confounded", frame, sim.contribution_frame(dates, lines), truth)


def _ar1(rng: np.random.Generator, weeks: int, phi: float) -> np.ndarray:
    """A standardised AR(1) series."""
    shocks = rng.standard_normal(weeks)
    out = np.zeros(weeks)
    for t in range(weeks):
        out[t] = (phi * out[t - 1] if t else 0.0) + shocks[t]
    standard: np.ndarray = (out - out.mean()) / out.std()
    return standard
