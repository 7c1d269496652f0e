"""The ``geo_product`` dataset: a long "master flat file" of geo x product series whose
effects vary by geo and by product, crossed, with known truth.

Four geos and three products make twelve weekly series over 104 weeks. A
series' baseline is a shared level plus its geo's offset plus its product's
offset; TV's effect varies by product (some products respond more to TV) and
search's by geo, each as a population value plus one offset per level. This
is what ``(search | geo) + (tv | product)`` in a formula fits, with the series
(``geo|product``) as the groups. The file is long: one row per week x geo x
product x variable, the shape of the reference framework's master flat file.

The transforms see media divided by their mean active level over all rows,
and seasonality counts weeks from the first: the model's own conventions, so
its parameters are the truth's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mmm_runner.data import simulate as sim
from mmm_runner.model.transforms import media_scale

NAME = "geo_product"
SEED = 20241105
START = "2023-01-02"
WEEKS = 104
BASE = 1000.0  # weekly sales of an average series without media
GEO_OFFSET = {"east": -120.0, "north": 90.0, "south": 150.0, "west": -120.0}
PRODUCT_OFFSET = {"bags": 200.0, "hats": -150.0, "shoes": -50.0}
CHANNELS = {
    "tv": sim.Channel(
        "geometric", {"decay": 0.5}, 6, "hill", {"half_saturation": 1.0, "shape": 1.8}
    ),
    "search": sim.Channel(
        "geometric", {"decay": 0.2}, 4, "michaelis_menten", {"half_saturation": 0.8}
    ),
}
BETA = {"tv": 300.0, "search": 200.0}  # sales per week at full saturation, population value
BETA_BY = {  # (column, offset per level): the level's effect is BETA + offset
    "tv": ("product", {"bags": 120.0, "hats": -100.0, "shoes": -20.0}),
    "search": ("geo", {"east": 60.0, "north": -70.0, "south": 30.0, "west": -20.0}),
}
SPEND = {"tv": 4000.0, "search": 1500.0}  # weekly spend per series when active
SIN, COS = 60.0, 25.0  # yearly season, shared
NOISE_SD = 30.0


def simulate_geo_product(seed: int = SEED) -> sim.Simulated:
    """The long dataset, its contribution lines and its truth."""
    rngs = sim.streams(seed, [*CHANNELS, "noise"])
    dates = sim.weekly_dates(START, WEEKS)
    series = [(g, p) for g in GEO_OFFSET for p in PRODUCT_OFFSET]
    spend = {
        key: {
            "tv": sim.flighted_spend(rngs["tv"], WEEKS, SPEND["tv"], 0.5, 3.0),
            "search": sim.flighted_spend(rngs["search"], WEEKS, SPEND["search"], 0.7, 4.0),
        }
        for key in series
    }
    scales = {
        name: media_scale(np.concatenate([spend[key][name] for key in series]))
        for name in CHANNELS
    }
    angle = 2 * np.pi * np.arange(WEEKS, dtype=float) / sim.PERIOD
    season = SIN * np.sin(angle) + COS * np.cos(angle)
    rows, lines_frames = [], []
    totals = dict.fromkeys(CHANNELS, 0.0)
    for geo, product in series:
        levels = {"geo": geo, "product": product}
        lines = {
            name: effect_of(name, levels)
            * sim.channel_effect(spend[(geo, product)][name] / scales[name], channel)
            for name, channel in CHANNELS.items()
        }
        lines["seasonality"] = season
        lines["baseline"] = np.full(WEEKS, BASE + GEO_OFFSET[geo] + PRODUCT_OFFSET[product])
        noise = NOISE_SD * rngs["noise"].standard_normal(WEEKS)
        sales = np.round(sim.sum_lines(lines.values()) + noise, 2)
        lines["noise"] = sales - sim.sum_lines(lines.values())
        for name in CHANNELS:
            totals[name] += float(lines[name].sum())
        values = {"sales": sales, **spend[(geo, product)]}
        for variable, column in values.items():
            rows.append(
                pd.DataFrame(
                    {
                        "date": dates,
                        "geo": geo,
                        "product": product,
                        "variable": variable,
                        "value": column,
                    }
                )
            )
        lines_frames.append(sim.contribution_frame(dates, lines, market=f"{geo}|{product}"))
    data = pd.concat(rows, ignore_index=True).sort_values(
        ["date", "geo", "product", "variable"], kind="stable", ignore_index=True
    )
    truth = _truth(data, spend, scales, totals, seed)
    return sim.Simulated(NAME, data, pd.concat(lines_frames, ignore_index=True), truth)


def effect_of(channel: str, levels: dict[str, str]) -> float:
    """A channel's effect (sales per week at full saturation) in a series."""
    column, offsets = BETA_BY[channel]
    return BETA[channel] + offsets[levels[column]]


def _truth(
    data: pd.DataFrame,
    spend: dict[tuple[str, str], dict[str, np.ndarray]],
    scales: dict[str, float],
    totals: dict[str, float],
    seed: int,
) -> dict[str, Any]:
    head = sim.header(NAME, seed, len(data), "sales", "identity", "series", START)
    spent = {name: sum(sim.cents_total(s[name]) for s in spend.values()) for name in CHANNELS}
    return {
        **head,
        "format": "long",
        "dimensions": ["geo", "product"],
        "intercept": BASE,
        "intercept_offset": {"geo": GEO_OFFSET, "product": PRODUCT_OFFSET},
        "noise_sd": NOISE_SD,
        "seasonality": {"period": sim.PERIOD, "sin": SIN, "cos": COS},
        "media": {
            name: {
                **sim.describe_channel(channel),
                "beta": BETA[name],
                "varies_by": BETA_BY[name][0],
                "beta_by_level": {
                    level: BETA[name] + offset for level, offset in BETA_BY[name][1].items()
                },
                "media_scale": scales[name],
                "total_spend": spent[name],
                "total_contribution": totals[name],
                "roi": totals[name] / spent[name],
            }
            for name, channel in CHANNELS.items()
        },
        "kpi_total": float(data.loc[data["variable"] == "sales", "value"].sum()),
    }
