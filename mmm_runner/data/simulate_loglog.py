"""A log-log single market with known elasticities.

Sales are multiplicative: ``log sales = intercept + sum over channels of
elasticity * log(1 + adstock(spend / scale)) + price elasticity * log(price) + noise``.
With a log response and media entering as ``log(1 + x)`` (response ``log_log``), the
model's media coefficients are these elasticities, and with ``transform: log`` the
price coefficient is the price elasticity. The transforms see spend divided by its mean
active level over all rows, the model's own convention.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mmm_runner.data import simulate as sim
from mmm_runner.model.transforms import Array, media_scale

SEED = 20241215
START = "2022-01-03"
WEEKS = 156
CHANNELS = {
    "tv": sim.Channel("geometric", {"decay": 0.5}, 6, "log1p", {}),
    "search": sim.Channel("geometric", {"decay": 0.2}, 4, "log1p", {}),
    "social": sim.Channel("geometric", {"decay": 0.35}, 5, "log1p", {}),
}
ELASTICITIES = {"tv": 0.12, "search": 0.08, "social": 0.05}
PRICE_ELASTICITY = -1.8
LOG_INTERCEPT = float(np.log(50_000.0))
NOISE_SD = 0.03  # of log sales


def loglog_example(seed: int = SEED) -> sim.Simulated:
    """The shipped ``loglog`` dataset (date, sales, tv, search, social, price), its truth
    and each term's weekly contribution as the pipeline defines it for log models (what
    removing the term takes from sales, the other terms kept)."""
    rngs = sim.streams(seed, ["tv", "search", "social", "price", "noise"])
    dates = sim.weekly_dates(START, WEEKS)
    spend = {
        "tv": sim.flighted_spend(rngs["tv"], WEEKS, 9_000.0, on_share=0.6, mean_run=4.0),
        "search": sim.phased_spend(rngs["search"], WEEKS, 2_500.0, sd=0.3),
        "social": sim.phased_spend(rngs["social"], WEEKS, 2_000.0, sd=0.35),
    }
    price = sim.price_index(rngs["price"], WEEKS, drift_sd=0.03, noise_sd=0.03)
    scales = {name: media_scale(values) for name, values in spend.items()}
    parts: dict[str, Array] = {
        name: ELASTICITIES[name] * sim.channel_effect(spend[name] / scales[name], channel)
        for name, channel in CHANNELS.items()
    }
    parts["price"] = PRICE_ELASTICITY * np.log(price).astype(float)
    noise = NOISE_SD * rngs["noise"].standard_normal(WEEKS)
    log_sales = LOG_INTERCEPT + sim.sum_lines(parts.values()) + noise
    sales: Array = np.round(np.exp(log_sales), 2).astype(float)
    frame = pd.DataFrame({"date": dates, "sales": sales, **spend, "price": price})
    lines: dict[str, Array] = {
        name: (sales - sales * np.exp(-part)).astype(float) for name, part in parts.items()
    }
    lines["rest"] = sales - sim.sum_lines(lines.values())
    truth: dict[str, Any] = {
        "dataset": "loglog",
        "seed": seed,
        "kpi": "sales",
        "group_column": None,
        "log_intercept": LOG_INTERCEPT,
        "noise_sd_log": NOISE_SD,
        "price_elasticity": PRICE_ELASTICITY,
        "media": {
            name: {
                **sim.describe_channel(channel),
                "elasticity": ELASTICITIES[name],
                "media_scale": scales[name],
                "total_contribution": float(lines[name].sum()),
                "total_spend": sim.cents_total(spend[name]),
            }
            for name, channel in CHANNELS.items()
        },
    }
    return sim.Simulated("loglog", frame, sim.contribution_frame(dates, lines), truth)
