"""The ``geo_population`` dataset: a panel of geos of very different sizes, with known truth.

Eight geos (300 thousand to 6 million people) over 104 weeks. The process is
per capita: each person converts at a geo's own base rate plus the effects of
TV and search exposure per person (spend divided by population), and a geo's
conversions are that rate times its population, plus noise. A model that
divides the KPI and media by population sees one response shared by every
geo; reports and budgets are in totals.

The transforms see per-capita media divided by their mean active level over
all rows, and seasonality counts weeks from the first: the model's own
conventions, so its parameters are the truth's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mmm_runner.data import simulate as sim
from mmm_runner.model.transforms import media_scale

NAME = "geo_population"
SEED = 20240408
START = "2022-01-03"
WEEKS = 104
POPULATION = {  # people
    "geo_a": 300_000,
    "geo_b": 550_000,
    "geo_c": 800_000,
    "geo_d": 1_200_000,
    "geo_e": 2_000_000,
    "geo_f": 3_100_000,
    "geo_g": 4_500_000,
    "geo_h": 6_000_000,
}
CHANNELS = {
    "tv": sim.Channel(
        "geometric", {"decay": 0.5}, 6, "hill", {"half_saturation": 1.0, "shape": 1.8}
    ),
    "search": sim.Channel(
        "geometric", {"decay": 0.2}, 4, "michaelis_menten", {"half_saturation": 0.8}
    ),
}
BETAS = {"tv": 0.0040, "search": 0.0025}  # conversions per person per week at full saturation
SPEND_PER_PERSON = {"tv": 0.030, "search": 0.012}  # weekly spend per person when active
SIN, COS = (0.0010, 0.0), (0.0006, 0.0)  # yearly season of the per-person rate
NOISE_PER_PERSON = 0.0006


def simulate_geo_population(seed: int = SEED) -> sim.Simulated:
    """The dataset, its contribution lines (totals) and its truth."""
    rngs = sim.streams(seed, [*CHANNELS, "rates", "noise"])
    dates = sim.weekly_dates(START, WEEKS)
    rates = dict(
        zip(POPULATION, rngs["rates"].uniform(0.010, 0.016, len(POPULATION)), strict=True)
    )
    spend: dict[str, dict[str, np.ndarray]] = {}
    for geo, people in POPULATION.items():
        spend[geo] = {
            "tv": sim.flighted_spend(
                rngs["tv"], WEEKS, people * SPEND_PER_PERSON["tv"], 0.55, 3.0
            ),
            "search": sim.flighted_spend(
                rngs["search"], WEEKS, people * SPEND_PER_PERSON["search"], 0.7, 4.0
            ),
        }
    per_person = {
        name: np.concatenate([spend[g][name] / p for g, p in POPULATION.items()])
        for name in CHANNELS
    }
    scales = {name: media_scale(values) for name, values in per_person.items()}
    t = np.arange(WEEKS, dtype=float)
    angle = 2 * np.pi * t / sim.PERIOD
    season = SIN[0] * np.sin(angle) + COS[0] * np.cos(angle)
    frames, lines_frames = [], []
    totals = dict.fromkeys(CHANNELS, 0.0)
    spent = dict.fromkeys(CHANNELS, 0.0)
    for geo, people in POPULATION.items():
        lines = {
            name: people
            * BETAS[name]
            * sim.channel_effect(spend[geo][name] / people / scales[name], channel)
            for name, channel in CHANNELS.items()
        }
        lines["seasonality"] = people * season
        lines["baseline"] = np.full(WEEKS, people * rates[geo])
        noise = people * NOISE_PER_PERSON * rngs["noise"].standard_normal(WEEKS)
        kpi = np.round(sim.sum_lines(lines.values()) + noise, 0)
        lines["noise"] = kpi - sim.sum_lines(lines.values())
        for name in CHANNELS:
            totals[name] += float(lines[name].sum())
            spent[name] += sim.cents_total(spend[geo][name])
        frames.append(
            pd.DataFrame(
                {
                    "date": dates,
                    "geo": geo,
                    "conversions": kpi,
                    "population": people,
                    **{name: spend[geo][name] for name in CHANNELS},
                }
            )
        )
        lines_frames.append(sim.contribution_frame(dates, lines, market=geo))
    data = pd.concat(frames, ignore_index=True)
    truth = _truth(data, rates, scales, totals, spent, seed)
    return sim.Simulated(NAME, data, pd.concat(lines_frames, ignore_index=True), truth)


def _truth(
    data: pd.DataFrame,
    rates: dict[str, float],
    scales: dict[str, float],
    totals: dict[str, float],
    spent: dict[str, float],
    seed: int,
) -> dict[str, Any]:
    head = sim.header(NAME, seed, len(data), "conversions", "identity", "geo", START)
    return {
        **head,
        "population_column": "population",
        "population": POPULATION,
        "base_rate_per_person": rates,
        "noise_sd_per_person": NOISE_PER_PERSON,
        "seasonality": {"period": sim.PERIOD, "sin": SIN[0], "cos": COS[0], "per": "person"},
        "media": {
            name: {
                **sim.describe_channel(channel),
                "beta_per_person": BETAS[name],
                "media_scale_per_person": scales[name],
                "total_spend": spent[name],
                "total_contribution": totals[name],
                "roi": totals[name] / spent[name],
            }
            for name, channel in CHANNELS.items()
        },
        "kpi_total": float(data["conversions"].sum()),
    }
