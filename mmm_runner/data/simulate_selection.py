"""The ``selection`` dataset: twelve candidate precision controls, three of which matter.

Three years of weekly sales with two channels, a price index and twelve
controls a modeller might try (weather, competitor activity, the economy).
Only ``temperature``, ``rainfall`` and ``competitor_promo`` move sales; the
other nine are noise with the same shapes. Price is a confounder: promotions
cut it and raise search spend at the same time, so it must stay in the model
with its own prior, never selected away.

The truth records each control's effect per unit and per standard deviation
of the control in KPI standard deviations (the modelling scale of
``model.standardise``), so inclusion can be checked against it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mmm_runner.data import simulate as sim
from mmm_runner.model.transforms import media_scale

NAME = "selection"
SEED = 20250113
START = "2022-01-03"
WEEKS = 156
CHANNELS = {
    "tv": sim.Channel(
        "geometric", {"decay": 0.5}, 6, "hill", {"half_saturation": 1.0, "shape": 2.0}
    ),
    "search": sim.Channel(
        "geometric", {"decay": 0.2}, 4, "michaelis_menten", {"half_saturation": 0.8}
    ),
}
BETAS = {"tv": 16_000.0, "search": 11_000.0}  # sales at full saturation
INTERCEPT, SLOPE, PRICE = 60_000.0, 15.0, -20_000.0
# The three controls that matter, in sales per unit of the control.
EFFECTS = {"temperature": 180.0, "rainfall": -50.0, "competitor_promo": -2_800.0}
NULLS = (
    "humidity",
    "wind_speed",
    "sunshine_hours",
    "pollen_count",
    "fuel_price",
    "consumer_confidence",
    "unemployment_rate",
    "local_events",
    "stock_index",
)


def simulate_selection(seed: int = SEED) -> sim.Simulated:
    """The dataset, its contribution lines and its truth."""
    rngs = sim.streams(seed, [*CHANNELS, "price", "controls", "noise"])
    dates = sim.weekly_dates(START, WEEKS)
    price, promo = _price(rngs["price"])
    media = {
        "tv": sim.flighted_spend(rngs["tv"], WEEKS, 10_000.0, on_share=0.55, mean_run=4.0),
        # promotions (a low price) come with more search spend: price confounds search
        "search": sim.phased_spend(
            rngs["search"], WEEKS, 4_000.0, shape=np.where(promo, 2.0, 1.0), phase_sd=0.25
        ),
    }
    controls = _controls(rngs["controls"])
    scales = {name: media_scale(x) for name, x in media.items()}
    lines: dict[str, np.ndarray] = {
        name: BETAS[name] * sim.channel_effect(media[name] / scales[name], channel)
        for name, channel in CHANNELS.items()
    }
    lines["price"] = PRICE * price
    for name, values in controls.items():
        lines[name] = EFFECTS.get(name, 0.0) * values
    lines["trend"] = sim.linear_trend(WEEKS, SLOPE)
    expected = INTERCEPT + sim.sum_lines(lines.values())
    noise_sd = sim.NOISE_SHARE * float(expected.mean())
    kpi = sim.to_cents(expected + noise_sd * rngs["noise"].standard_normal(WEEKS))
    lines["baseline"] = np.full(WEEKS, INTERCEPT)
    lines["noise"] = kpi - expected
    frame = pd.DataFrame({"date": dates, "sales": kpi, **media, "price": price, **controls})
    truth = _truth(frame, lines, scales, noise_sd, seed)
    return sim.Simulated(NAME, frame, sim.contribution_frame(dates, lines), truth)


def _price(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A price index around 1 with promotion weeks (about one in six) 15% below it, and
    which weeks those are."""
    drift = 1.0 + np.cumsum(rng.normal(0.0, 0.004, WEEKS))
    promo = rng.random(WEEKS) < 0.16
    return np.round(drift * np.where(promo, 0.85, 1.0), 4), promo


def _controls(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Twelve weekly controls in their own units; each null one has the shape of a real
    series (seasonal, autocorrelated, skewed or 0/1), so shape alone gives nothing away."""
    t = np.arange(WEEKS)
    season = np.sin(2 * np.pi * (t - 13) / sim.PERIOD)

    def ar1(sd: float, phi: float = 0.6) -> np.ndarray:
        out = np.zeros(WEEKS)
        shocks = rng.normal(0.0, sd, WEEKS)
        for i in range(WEEKS):
            out[i] = (phi * out[i - 1] if i else 0.0) + shocks[i]
        return out

    def flags(share: float) -> np.ndarray:
        return (rng.random(WEEKS) < share).astype(float)

    values = {
        "temperature": 12.0 + 8.0 * season + ar1(2.5),
        "rainfall": rng.gamma(2.0, 12.0, WEEKS),
        "competitor_promo": flags(0.25),
        "humidity": 70.0 - 4.0 * season + ar1(4.0),
        "wind_speed": rng.gamma(4.0, 4.0, WEEKS),
        "sunshine_hours": 30.0 + 6.0 * season + ar1(6.0),
        "pollen_count": np.maximum(0.0, 20.0 + 15.0 * season + ar1(15.0)),
        "fuel_price": 1.6 + np.cumsum(rng.normal(0.0, 0.02, WEEKS)),
        "consumer_confidence": 100.0 + ar1(3.0, phi=0.9),
        "unemployment_rate": 5.0 + ar1(0.15, phi=0.95),
        "local_events": flags(0.2),
        "stock_index": 3_000.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, WEEKS))),
    }
    return {name: np.round(x, 3) for name, x in values.items()}


def _truth(
    frame: pd.DataFrame,
    lines: dict[str, np.ndarray],
    scales: dict[str, float],
    noise_sd: float,
    seed: int,
) -> dict[str, Any]:
    kpi = frame["sales"].to_numpy()
    kpi_total = float(kpi.sum())
    media = {
        name: {
            **sim.describe_channel(channel),
            "beta": BETAS[name],
            "media_scale": scales[name],
            **sim.totals(frame[name].to_numpy(), lines[name], kpi_total),
        }
        for name, channel in CHANNELS.items()
    }
    sd_kpi = float(kpi.std())

    def control(name: str, role: str, effect: float) -> dict[str, Any]:
        sd_x = float(frame[name].std(ddof=0))
        return {
            "role": role,
            "coefficient": effect,
            "standardised": effect * sd_x / sd_kpi,  # KPI sds per sd of the control
            "total_contribution": float(lines[name].sum()),
        }

    controls = {"price": control("price", "confounder", PRICE)}
    for name in [*EFFECTS, *NULLS]:
        controls[name] = control(name, "precision", EFFECTS.get(name, 0.0))
    head = sim.header(NAME, seed, WEEKS, "sales", "identity", None, START)
    return {
        **head,
        "noise_sd": noise_sd,
        "intercept": INTERCEPT,
        "trend": {
            "type": "linear",
            "slope": SLOPE,
            "total_contribution": float(lines["trend"].sum()),
        },
        "media": media,
        "controls": controls,
        "nonzero_precision": list(EFFECTS),
        "baseline_total": float(lines["baseline"].sum()),
        "kpi_total": kpi_total,
        "roi_ranking": sim.roi_ranking(media),
    }
