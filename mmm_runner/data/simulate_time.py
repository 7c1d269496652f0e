"""The ``gp_trend`` and ``drift`` datasets: effects that change over time.

``gp_trend``: a baseline that bends, which a straight line cannot follow.

Three years of weekly sales with three channels and a price index, on a baseline
that sags through a downturn in the first year, recovers and then flattens: the
smooth, nonlinear drift a gp trend (``model.trend.type: gp``) is for. The truth
records the trend per week (``trend.values``, zero-mean over the data, as the
model's centred trend is), so a fit's trend can be scored against it.

``drift``: the same three channels on a linear trend, but TV's effect doubles between
weeks 26 and 130 (a smooth S); the truth gives TV's multiplier per week, normalised as
the model's is (1 on average on the log scale), for ``model.media[].time_varying``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mmm_runner.data import simulate as sim
from mmm_runner.model.transforms import media_scale

NAME = "gp_trend"
SEED = 20250302
START = "2022-01-03"
WEEKS = 156
CHANNELS = {
    "tv": sim.Channel(
        "geometric", {"decay": 0.5}, 6, "hill", {"half_saturation": 1.0, "shape": 2.0}
    ),
    "search": sim.Channel(
        "geometric", {"decay": 0.2}, 4, "michaelis_menten", {"half_saturation": 0.8}
    ),
    "social": sim.Channel("geometric", {"decay": 0.35}, 5, "logistic", {"rate": 1.0}),
}
BETAS = {"tv": 14_000.0, "search": 9_000.0, "social": 6_000.0}  # sales at full saturation
INTERCEPT, PRICE = 62_000.0, -15_000.0


def smooth_trend(weeks: int) -> np.ndarray:
    """The baseline's drift in sales: a downturn bottoming out around week 35, a recovery
    overshooting by week 95, then a slow fade (smooth, with curvature changing sign)."""
    t = np.arange(weeks, dtype=float)
    dip = -9_000.0 * np.exp(-0.5 * ((t - 35.0) / 14.0) ** 2)
    recovery = 7_000.0 / (1.0 + np.exp(-(t - 80.0) / 8.0))
    fade = -25.0 * np.maximum(t - 100.0, 0.0)
    return dip + recovery + fade


def simulate_gp_trend(seed: int = SEED) -> sim.Simulated:
    """The dataset, its contribution lines and its truth."""
    trend = smooth_trend(WEEKS)
    series = _series(seed, 9_000.0, 0.55, BETAS, trend)
    centred = trend - trend.mean()
    shape = {
        "type": "smooth",
        "description": "downturn (week 35), recovery (week 80), fade after week 100",
        "values": [round(float(v), 2) for v in centred],
    }
    return series.simulated(NAME, seed, BETAS, shape, {})


@dataclass(frozen=True)
class _Series:
    """A simulated series of either dataset, before its truth is written."""

    frame: pd.DataFrame
    lines: dict[str, np.ndarray]
    scales: dict[str, float]
    noise_sd: float

    def simulated(
        self,
        name: str,
        seed: int,
        betas: dict[str, float],
        trend: dict[str, Any],
        tv_extra: dict[str, Any],
    ) -> sim.Simulated:
        """The dataset with its truth: ``trend`` describes the trend line, ``tv_extra``
        adds to TV's entry."""
        frame, lines = self.frame, self.lines
        kpi_total = float(frame["sales"].to_numpy().sum())
        media = {
            channel: {
                **sim.describe_channel(form),
                "beta": betas[channel],
                "media_scale": self.scales[channel],
                **sim.totals(frame[channel].to_numpy(), lines[channel], kpi_total),
            }
            for channel, form in CHANNELS.items()
        }
        media["tv"].update(tv_extra)
        truth = {
            **sim.header(name, seed, WEEKS, "sales", "identity", None, START),
            "noise_sd": self.noise_sd,
            "intercept": INTERCEPT,
            "trend": {**trend, "total_contribution": float(lines["trend"].sum())},
            "media": media,
            "controls": {
                "price": {"coefficient": PRICE, "total_contribution": float(lines["price"].sum())}
            },
            "baseline_total": float(lines["baseline"].sum()),
            "kpi_total": kpi_total,
            "roi_ranking": sim.roi_ranking(media),
        }
        dates = pd.DatetimeIndex(frame["date"])
        return sim.Simulated(name, frame, sim.contribution_frame(dates, lines), truth)


def _series(
    seed: int,
    tv_level: float,
    tv_on_share: float,
    betas: dict[str, float],
    trend: np.ndarray,
    tv_effectiveness: np.ndarray | None = None,
) -> _Series:
    """Three channels and a price index on ``trend``; TV's effect is scaled per week by
    ``tv_effectiveness`` when given."""
    rngs = sim.streams(seed, [*CHANNELS, "price", "noise"])
    dates = sim.weekly_dates(START, WEEKS)
    media = {
        "tv": sim.flighted_spend(rngs["tv"], WEEKS, tv_level, on_share=tv_on_share, mean_run=4.0),
        "search": sim.phased_spend(rngs["search"], WEEKS, 3_000.0, sd=0.2),
        "social": sim.phased_spend(rngs["social"], WEEKS, 2_000.0, sd=0.25),
    }
    price = sim.price_index(rngs["price"], WEEKS)
    scales = {name: media_scale(x) for name, x in media.items()}
    lines: dict[str, np.ndarray] = {
        name: betas[name] * sim.channel_effect(media[name] / scales[name], channel)
        for name, channel in CHANNELS.items()
    }
    if tv_effectiveness is not None:
        lines["tv"] = lines["tv"] * tv_effectiveness
    lines["price"] = PRICE * price
    lines["trend"] = trend
    expected = INTERCEPT + sim.sum_lines(lines.values())
    noise_sd = sim.NOISE_SHARE * float(expected.mean())
    kpi = sim.to_cents(expected + noise_sd * rngs["noise"].standard_normal(WEEKS))
    lines["baseline"] = np.full(WEEKS, INTERCEPT)
    lines["noise"] = kpi - expected
    frame = pd.DataFrame({"date": dates, "sales": kpi, **media, "price": price})
    return _Series(frame, lines, scales, noise_sd)


# ---------------------------------------------------------------------------
# drift: a channel whose effect doubles over two years

DRIFT_NAME = "drift"
DRIFT_SEED = 20250311
DRIFT_BETAS = {"tv": 20_000.0, "search": 8_000.0, "social": 5_000.0}
DRIFT_SLOPE = 20.0


def tv_effectiveness(weeks: int) -> np.ndarray:
    """TV's effect relative to its first weeks: flat for half a year, doubling over the
    next two years along a smooth S, flat again after."""
    t = np.arange(weeks, dtype=float)
    ramp = np.clip((t - 26.0) / 104.0, 0.0, 1.0)
    smooth = ramp * ramp * (3.0 - 2.0 * ramp)  # smoothstep: no kinks at the ends
    out: np.ndarray = 2.0**smooth
    return out


def simulate_drift(seed: int = DRIFT_SEED) -> sim.Simulated:
    """The dataset, its contribution lines and its truth."""
    effectiveness = tv_effectiveness(WEEKS)
    trend = sim.linear_trend(WEEKS, DRIFT_SLOPE)
    series = _series(seed, 10_000.0, 0.6, DRIFT_BETAS, trend, effectiveness)
    # the model's multiplier is 1 on average on the log scale: tv's beta is then the
    # generating beta times the geometric mean of its effectiveness
    centre = float(np.exp(np.log(effectiveness).mean()))
    tv = {
        "beta_average": DRIFT_BETAS["tv"] * centre,
        "multiplier": [round(float(v), 6) for v in effectiveness / centre],
        "effectiveness_doubles": "weeks 26 to 130",
    }
    shape = {"type": "linear", "slope": DRIFT_SLOPE}
    return series.simulated(DRIFT_NAME, seed, DRIFT_BETAS, shape, tv)
