"""The ``weekly_events`` dataset: the shapes of a real weekly file, with known truth.

Three years of weekly conversions after a 13-week warm-up, and 4 weeks after
the fitting window that a model must leave out:

* ``tv`` and ``search`` are paid (spend); ``newsletter`` is organic (sends, no
  spend);
* ``events`` is a text column (``na``, ``event1``, ``event2``): a categorical
  term with known level effects against ``na``;
* the weeks of US Thanksgiving Day and Christmas Day have known effects;
* ``revenue_per_conversion`` values each conversion, so ROI is in money;
* TV airs heavily in the warm-up weeks, so the window's first weeks carry
  over effect from spend before it (the truth includes that carry-over).

The transforms see media divided by the mean active level of the window's
rows, and trend and seasonality count weeks from the window's start: the
model's own conventions, so its parameters are the truth's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mmm_runner.data import simulate as sim
from mmm_runner.data.calendar import holiday_dates, indicator
from mmm_runner.model.transforms import media_scale

NAME = "weekly_events"
SEED = 20201207
START = "2020-09-07"  # first row (a Monday)
WARMUP, WINDOW, AFTER = 13, 156, 4
WINDOW_START = "2020-12-07"
WINDOW_END = "2023-11-27"

CHANNELS = {
    "tv": sim.Channel(
        "geometric", {"decay": 0.7}, 8, "hill", {"half_saturation": 1.0, "shape": 2.0}
    ),
    "search": sim.Channel(
        "geometric", {"decay": 0.2}, 4, "hill", {"half_saturation": 0.9, "shape": 1.3}
    ),
    "newsletter": sim.Channel(
        "geometric", {"decay": 0.4}, 4, "michaelis_menten", {"half_saturation": 0.8}
    ),
}
ORGANIC = ("newsletter",)
BETAS = {"tv": 1_800.0, "search": 800.0, "newsletter": 1_000.0}  # conversions at full saturation
LEVELS = {"event1": 300.0, "event2": -220.0}  # against the reference level "na"
HOLIDAYS = {"Thanksgiving Day": 450.0, "Christmas Day": -380.0}
INTERCEPT, SLOPE = 4_000.0, 2.0
SIN, COS = (250.0, -90.0), (140.0, 60.0)
VALUE_MEAN = 42.0  # money per conversion


def simulate_weekly_events(seed: int = SEED) -> sim.Simulated:
    """The dataset, its contribution lines and its truth."""
    weeks = WARMUP + WINDOW + AFTER
    dates = sim.weekly_dates(START, weeks)
    rngs = sim.streams(seed, [*CHANNELS, "events", "value", "noise"])
    media = _media(rngs, weeks)
    window = np.zeros(weeks, dtype=bool)
    window[WARMUP : WARMUP + WINDOW] = True
    scales = {name: media_scale(x[window]) for name, x in media.items()}
    t = np.arange(weeks, dtype=float) - WARMUP  # weeks since the window's start
    events = _events(rngs["events"], weeks)
    holidays = holiday_dates("US", None, range(dates.min().year, dates.max().year + 1))
    lines: dict[str, np.ndarray] = {
        name: BETAS[name] * sim.channel_effect(media[name] / scales[name], channel)
        for name, channel in CHANNELS.items()
    }
    lines["events"] = sim.sum_lines((events == level) * effect for level, effect in LEVELS.items())
    lines["holidays"] = sim.sum_lines(
        effect * indicator(dates, "weekly", holidays[name]) for name, effect in HOLIDAYS.items()
    )
    lines["trend"] = SLOPE * t
    angle = 2 * np.pi * t / sim.PERIOD
    lines["seasonality"] = sim.sum_lines(
        a * np.sin((k + 1) * angle) + b * np.cos((k + 1) * angle)
        for k, (a, b) in enumerate(zip(SIN, COS, strict=True))
    )
    expected = INTERCEPT + sim.sum_lines(lines.values())
    noise_sd = sim.NOISE_SHARE * float(expected[window].mean())
    noise = noise_sd * rngs["noise"].standard_normal(weeks)
    kpi = np.round(expected + noise, 0)
    lines["baseline"] = np.full(weeks, INTERCEPT)
    lines["noise"] = kpi - expected
    value = np.round(VALUE_MEAN * np.exp(0.03 * rngs["value"].standard_normal(weeks)), 2)
    frame = pd.DataFrame(
        {
            "date": dates,
            "conversions": kpi,
            "tv": media["tv"],
            "search": media["search"],
            "newsletter": media["newsletter"],
            "events": events,
            "revenue_per_conversion": value,
        }
    )
    truth = _truth(frame, lines, scales, window, noise_sd, seed)
    return sim.Simulated(NAME, frame, sim.contribution_frame(dates, lines), truth)


def _media(rngs: dict[str, np.random.Generator], weeks: int) -> dict[str, np.ndarray]:
    tv = sim.flighted_spend(rngs["tv"], weeks, 12_000.0, on_share=0.5, mean_run=4.0)
    tv[WARMUP - 4 : WARMUP] = sim.to_cents(np.full(4, 30_000.0))  # a heavy pre-window burst
    tv[WARMUP : WARMUP + 2] = 0.0  # then dark: the window opens on carry-over alone
    search = sim.phased_spend(rngs["search"], weeks, 3_000.0, sd=0.15)
    # Sent in bursts (campaign weeks), so its effect is told apart from the baseline.
    sends = sim.flighted_spend(rngs["newsletter"], weeks, 50_000.0, on_share=0.55, mean_run=2.0)
    return {"tv": tv, "search": search, "newsletter": np.round(sends, 0)}


def _events(rng: np.random.Generator, weeks: int) -> np.ndarray:
    draws = rng.random(weeks)
    return np.where(draws < 0.08, "event1", np.where(draws < 0.13, "event2", "na"))


def _truth(
    frame: pd.DataFrame,
    lines: dict[str, np.ndarray],
    scales: dict[str, float],
    window: np.ndarray,
    noise_sd: float,
    seed: int,
) -> dict[str, Any]:
    value = frame["revenue_per_conversion"].to_numpy()
    media = {}
    for name, channel in CHANNELS.items():
        contribution = lines[name][window]
        spend = 0.0 if name in ORGANIC else sim.cents_total(frame[name].to_numpy()[window])
        money = float((contribution * value[window]).sum())
        media[name] = {
            **sim.describe_channel(channel),
            "organic": name in ORGANIC,
            "beta": BETAS[name],
            "media_scale": scales[name],
            "total_spend": spend,
            "total_contribution": float(contribution.sum()),
            "total_value": money,
            "roi": money / spend if spend else None,
        }
    head = sim.header(NAME, seed, len(frame), "conversions", "identity", None, START)
    return {
        **head,
        "window": {"start": WINDOW_START, "end": WINDOW_END, "warmup_weeks": WARMUP},
        "noise_sd": noise_sd,
        "intercept": INTERCEPT,
        "trend": {"type": "linear", "slope": SLOPE},
        "seasonality": sim.seasonality_truth(SIN, COS),
        "media": media,
        "events": {"reference": "na", "levels": LEVELS},
        "holidays": {"country": "US", "effects": HOLIDAYS},
        "kpi_value_column": "revenue_per_conversion",
        "kpi_total": float(frame["conversions"].to_numpy()[window].sum()),
        "carry_over_into_window": {
            "tv_first_week": float(lines["tv"][WARMUP]),
            "note": "TV is dark in the window's first two weeks: their TV contribution is "
            "carry-over of the warm-up burst",
        },
    }
