"""Seeded simulation of the datasets shipped with known truth.

Three datasets are generated, each from its own seed, so that a fitted model
can be checked against the parameters and contributions that produced it:

* ``single_market``: one market, six media channels covering every adstock and
  saturation form, a price index and a promotion flag;
* ``panel``: six markets sharing trend and seasonality, with a national TV
  channel and market-level search and social whose coefficients vary by market;
* ``pooled``: six sub-channels in three labelled groups whose coefficients are
  drawn around their group's mean.

The media effects go through :mod:`mmm_runner.model.transforms`, the same code
the fitted model is tested against, so the truth and the model share one
definition of every transform.  Conventions (see ``data/README.md``):

* media columns are spend; a channel enters the transforms divided by its
  ``media_scale`` computed over all rows of the file (all markets together);
* identity response: ``kpi = intercept + sum(beta * transform) +
  sum(gamma * control) + trend + seasonality + noise``;
* log response: ``log(kpi)`` is that sum, and a term's contribution is the fall
  in the mean KPI when the term is removed;
* contributions are written per row and term, with the noise as a term, so
  they add up to the KPI.

Run ``python -m mmm_runner.data.simulate [--out data]`` to regenerate the files.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from mmm_runner.model.transforms import Array, media_scale, transform

Response = Literal["identity", "log"]
Mask = npt.NDArray[np.bool_]

PERIOD = 52.18
"""Weeks in a year: the period of the yearly Fourier seasonality."""

ORDER = 2
"""Number of Fourier harmonics in the seasonality."""

NOISE_SHARE = 0.04
"""Noise standard deviation of an identity response, as a share of the mean KPI."""

SEEDS = {"single_market": 20220139, "panel": 20230326, "pooled": 20220278}
"""Default seed of each shipped dataset; the committed files use these."""


@dataclass(frozen=True)
class Channel:
    """A media channel's carry-over and diminishing-returns forms with their parameters.

    Parameters
    ----------
    adstock, saturation
        Names registered in ``transforms.ADSTOCKS`` and ``transforms.SATURATIONS``.
    adstock_params, saturation_params
        Parameter values by name; kept apart because names can clash between
        the two forms (Weibull and tanh both have a ``scale``).
    l_max
        Adstock window in periods.
    """

    adstock: str
    adstock_params: Mapping[str, float]
    l_max: int
    saturation: str
    saturation_params: Mapping[str, float]


@dataclass(frozen=True)
class Coefficients:
    """The coefficients of a linear predictor: everything in it apart from the data.

    Attributes
    ----------
    intercept
        Baseline level (on the log scale for a log response).
    betas, gammas
        Media coefficients (effect at full saturation) and control coefficients.
    slope, sin, cos
        Linear trend per week and Fourier seasonality coefficients.
    log_noise_sd
        Noise sd of a log response; an identity response's noise sd is set
        from its mean KPI instead (see ``respond``).
    """

    intercept: float
    betas: Mapping[str, float]
    gammas: Mapping[str, float]
    slope: float
    sin: tuple[float, ...]
    cos: tuple[float, ...]
    log_noise_sd: float = 0.0


@dataclass(frozen=True)
class Series:
    """One market's simulated weeks: the columns the model sees and how the KPI arose.

    Attributes
    ----------
    media, controls
        Model inputs by column name, as written to the data file.
    kpi
        The KPI as written (rounded to cents).
    lines
        Contribution of each term per week, including ``baseline`` and
        ``noise`` (and ``interaction`` for a log response); they sum to the
        unrounded KPI.
    noise_sd
        Standard deviation of the noise (on the log scale for a log response).
    """

    media: dict[str, Array]
    controls: dict[str, Array]
    kpi: Array
    lines: dict[str, Array]
    noise_sd: float


@dataclass(frozen=True)
class Simulated:
    """A generated dataset: the data file, its per-term contributions and its truth."""

    name: str
    data: pd.DataFrame
    contributions: pd.DataFrame
    truth: dict[str, Any]


# ---------------------------------------------------------------------------
# Building blocks


def streams(seed: int, names: Sequence[str]) -> dict[str, np.random.Generator]:
    """Independent random generators, one per named component, all from one seed.

    Spawning a stream per component means changing how one component is drawn
    (or adding one) leaves every other component's draws unchanged.
    """
    children = np.random.default_rng(seed).spawn(len(names))
    return dict(zip(names, children, strict=True))


def weekly_dates(start: str, weeks: int) -> pd.DatetimeIndex:
    """Consecutive Mondays from ``start``, which must itself be a Monday."""
    first = pd.Timestamp(start)
    if first.dayofweek != 0:
        raise ValueError(f"weekly series start on a Monday, not {first:%A %Y-%m-%d}")
    return pd.date_range(first, periods=weeks, freq="W-MON")


def linear_trend(weeks: int, slope: float) -> Array:
    """``slope * t`` for ``t = 0, 1, ..., weeks - 1``."""
    return slope * np.arange(weeks, dtype=float)


def fourier_seasonality(weeks: int, sin: Sequence[float], cos: Sequence[float]) -> Array:
    """Yearly seasonality ``sum_k sin_k sin(2 pi k t / P) + cos_k cos(2 pi k t / P)``."""
    t = np.arange(weeks, dtype=float)
    season = np.zeros(weeks)
    for k, (a, b) in enumerate(zip(sin, cos, strict=True), start=1):
        angle = 2.0 * np.pi * k * t / PERIOD
        season += a * np.sin(angle) + b * np.cos(angle)
    return season


def to_cents(x: Array) -> Array:
    """Rounds currency to cents, as it is written to the data file."""
    return np.round(x, 2)


def wobble(rng: np.random.Generator, weeks: int, sd: float) -> Array:
    """Mean-one lognormal multipliers: week-to-week variation of a spend level."""
    return np.exp(rng.normal(-(sd**2) / 2.0, sd, weeks))


def flight_mask(rng: np.random.Generator, weeks: int, on_share: float, mean_run: float) -> Mask:
    """Weeks a flighted channel is on air, in contiguous bursts.

    A two-state Markov chain whose long-run share of on weeks is ``on_share``
    and whose on-runs last ``mean_run`` weeks on average, so bursts look like
    real flighting rather than scattered single weeks.
    """
    stop = 1.0 / mean_run
    start = stop * on_share / (1.0 - on_share)
    draws = rng.random(weeks + 1)
    on = np.zeros(weeks, dtype=bool)
    state = bool(draws[0] < on_share)
    for t in range(weeks):
        on[t] = state
        state = bool(draws[t + 1] >= stop) if state else bool(draws[t + 1] < start)
    return on


def flighted_spend(
    rng: np.random.Generator,
    weeks: int,
    level: float,
    on_share: float,
    mean_run: float,
    sd: float = 0.3,
) -> Array:
    """Spend in bursts: about ``level`` in on weeks, zero otherwise, rounded to cents."""
    on = flight_mask(rng, weeks, on_share, mean_run)
    return to_cents(np.where(on, level * wobble(rng, weeks, sd), 0.0))


def always_on_spend(
    rng: np.random.Generator,
    weeks: int,
    level: float,
    sd: float = 0.2,
    shape: Array | None = None,
) -> Array:
    """Spend every week around ``level`` (times an optional shape), rounded to cents."""
    pattern = np.ones(weeks) if shape is None else shape
    return to_cents(level * pattern * wobble(rng, weeks, sd))


def phased_spend(
    rng: np.random.Generator,
    weeks: int,
    level: float,
    sd: float = 0.2,
    shape: Array | None = None,
    phase_weeks: int = 8,
    phase_sd: float = 0.45,
    dark_share: float = 0.08,
) -> Array:
    """Always-on spend whose budget is reset every few weeks, with occasional dark weeks.

    Budget phases and pauses give an always-on channel the variation a model
    needs to tell its effect from the baseline, as planned budget changes do.
    """
    phases = -(-weeks // phase_weeks)
    multipliers = np.repeat(
        np.exp(rng.normal(-(phase_sd**2) / 2.0, phase_sd, phases)), phase_weeks
    )[:weeks]
    dark = rng.random(weeks) < dark_share
    pattern = np.ones(weeks) if shape is None else shape
    return to_cents(np.where(dark, 0.0, level * pattern * multipliers * wobble(rng, weeks, sd)))


def seasonal_shape(season: Array, strength: float) -> Array:
    """``1 + strength * season / max|season|``: a spend multiplier that follows demand."""
    return 1.0 + strength * season / float(np.abs(season).max())


def price_index(
    rng: np.random.Generator,
    weeks: int,
    drift_sd: float = 0.015,
    persistence: float = 0.95,
    noise_sd: float = 0.01,
) -> Array:
    """A price index around 1: a slow AR(1) drift plus weekly noise, to 4 decimals."""
    shocks = rng.normal(0.0, drift_sd, weeks)
    drift = np.zeros(weeks)
    # Start from the drift's stationary spread so early weeks are not special.
    drift[0] = shocks[0] / np.sqrt(1.0 - persistence**2)
    for t in range(1, weeks):
        drift[t] = persistence * drift[t - 1] + shocks[t]
    return np.round(1.0 + drift + rng.normal(0.0, noise_sd, weeks), 4)


def promo_flags(rng: np.random.Generator, weeks: int, share: float = 0.15) -> Array:
    """A 0/1 promotion indicator, on in about ``share`` of weeks."""
    return (rng.random(weeks) < share).astype(float)


def positive_normal(rng: np.random.Generator, mean: float, sd: float, size: int) -> Array:
    """Draws from Normal(mean, sd) truncated to positive values (by redrawing)."""
    draws = rng.normal(mean, sd, size)
    while (draws <= 0).any():
        bad = draws <= 0
        draws[bad] = rng.normal(mean, sd, int(bad.sum()))
    return draws


# ---------------------------------------------------------------------------
# Media effects and the response


def channel_effect(scaled: Array, channel: Channel) -> Array:
    """Saturated adstock of a scaled media series: the share of beta earned each week."""
    effect: Array = transform(
        scaled,
        channel.adstock,
        as_draw(channel.adstock_params),
        channel.saturation,
        as_draw(channel.saturation_params),
        channel.l_max,
    )[0]
    return effect


def as_draw(params: Mapping[str, float]) -> dict[str, Array]:
    """Parameter values as a single posterior draw, the shape the transforms expect."""
    return {name: np.array([value], dtype=float) for name, value in params.items()}


def linear_terms(
    media: Mapping[str, Array],
    scales: Mapping[str, float],
    channels: Mapping[str, Channel],
    controls: Mapping[str, Array],
    coefs: Coefficients,
) -> dict[str, Array]:
    """Each term's part of the linear predictor (without the intercept), in model order.

    Media first (``beta * transform(x / scale)``), then controls
    (``gamma * control``, uncentred), then ``trend`` and ``seasonality``.
    """
    weeks = len(next(iter(media.values())))
    terms = {
        name: coefs.betas[name] * channel_effect(media[name] / scales[name], channel)
        for name, channel in channels.items()
    }
    terms.update({name: gamma * controls[name] for name, gamma in coefs.gammas.items()})
    terms["trend"] = linear_trend(weeks, coefs.slope)
    terms["seasonality"] = fourier_seasonality(weeks, coefs.sin, coefs.cos)
    return terms


def identity_lines(
    terms: Mapping[str, Array], intercept: float, noise: Array
) -> tuple[Array, dict[str, Array]]:
    """KPI and contribution lines of an identity response.

    Each term contributes its own value, the intercept is the ``baseline`` and
    the noise is a line of its own, so the lines add up to the KPI.
    """
    lines = dict(terms)
    lines["baseline"] = np.full(len(noise), intercept)
    lines["noise"] = noise
    kpi = intercept + sum_lines(terms.values()) + noise
    return kpi, lines


def log_lines(
    terms: Mapping[str, Array], intercept: float, noise: Array, noise_sd: float
) -> tuple[Array, dict[str, Array]]:
    """KPI and contribution lines of a log response.

    ``log(kpi) = eta + noise``.  A term's contribution is how much the mean KPI
    ``exp(eta + sd^2 / 2)`` falls when the term is removed from ``eta``; the
    ``baseline`` is the mean KPI with every term removed.  Removals do not add
    up on a multiplicative scale, so an ``interaction`` line takes the rest,
    and a ``noise`` line takes the gap between the observed and mean KPI.
    """
    eta = intercept + sum_lines(terms.values())
    lift = noise_sd**2 / 2.0
    mean = np.exp(eta + lift)
    lines = {name: mean - np.exp(eta - part + lift) for name, part in terms.items()}
    lines["baseline"] = np.full(len(eta), np.exp(intercept + lift))
    lines["interaction"] = mean - sum_lines(lines.values())
    kpi = np.exp(eta + noise)
    lines["noise"] = kpi - mean
    return kpi, lines


def sum_lines(lines: Iterable[Array]) -> Array:
    """Elementwise sum of equally long series."""
    total: Array = np.array(list(lines), dtype=float).sum(axis=0)
    return total


def respond(
    terms: Mapping[str, Array],
    intercept: float,
    shock: Array,
    response: Response,
    log_noise_sd: float,
) -> tuple[Array, dict[str, Array], float]:
    """KPI, contribution lines and noise sd for standard-normal ``shock``.

    An identity response gets noise with sd ``NOISE_SHARE`` of its mean
    expected KPI, so the signal-to-noise ratio does not depend on the KPI's
    units; a log response uses ``log_noise_sd`` (already relative).
    """
    if response == "identity":
        expected = intercept + sum_lines(terms.values())
        noise_sd = NOISE_SHARE * float(expected.mean())
        kpi, lines = identity_lines(terms, intercept, noise_sd * shock)
    elif response == "log":
        noise_sd = log_noise_sd
        kpi, lines = log_lines(terms, intercept, noise_sd * shock, noise_sd)
    else:
        raise ValueError(f"response must be 'identity' or 'log', not {response!r}")
    return kpi, lines, noise_sd


# ---------------------------------------------------------------------------
# Files and truth


def data_frame(
    dates: pd.DatetimeIndex, kpi_name: str, series: Series, market: str | None = None
) -> pd.DataFrame:
    """The data file's rows for one market: date, [market,] KPI, media, controls."""
    columns: dict[str, Any] = {"date": dates}
    if market is not None:
        columns["market"] = market
    columns[kpi_name] = series.kpi
    columns.update(series.media)
    columns.update(series.controls)
    return pd.DataFrame(columns)


def contribution_frame(
    dates: pd.DatetimeIndex, lines: Mapping[str, Array], market: str | None = None
) -> pd.DataFrame:
    """Contribution lines in long form: date, [market,] term, contribution."""
    names = list(lines)
    frame = pd.DataFrame(
        {
            "date": np.repeat(dates.to_numpy(), len(names)),
            "term": np.tile(np.array(names, dtype=object), len(dates)),
            "contribution": np.column_stack([lines[name] for name in names]).ravel(),
        }
    )
    if market is not None:
        frame.insert(1, "market", market)
    return frame


def describe_channel(channel: Channel) -> dict[str, Any]:
    """A channel's transforms as written to the truth file."""
    return {
        "adstock": {
            "type": channel.adstock,
            "l_max": channel.l_max,
            **{name: float(value) for name, value in channel.adstock_params.items()},
        },
        "saturation": {
            "type": channel.saturation,
            **{name: float(value) for name, value in channel.saturation_params.items()},
        },
    }


def totals(spend: Array, contribution: Array, kpi_total: float) -> dict[str, float]:
    """Total spend and contribution of a channel, its share of the KPI and its ROI."""
    spent = cents_total(spend)
    earned = float(contribution.sum())
    return {
        "total_spend": spent,
        "total_contribution": earned,
        "share": earned / kpi_total,
        "roi": earned / spent,
    }


def cents_total(x: Array) -> float:
    """Sum of amounts in cents, without the float dust of adding decimals."""
    return round(float(x.sum()), 2)


def roi_ranking(media: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Channel names from the highest true ROI to the lowest."""
    return sorted(media, key=lambda name: -float(media[name]["roi"]))


def seasonality_truth(sin: Sequence[float], cos: Sequence[float]) -> dict[str, Any]:
    """The seasonality's form and coefficients as written to the truth file."""
    return {
        "type": "fourier",
        "period": PERIOD,
        "order": ORDER,
        "sin": [float(a) for a in sin],
        "cos": [float(b) for b in cos],
    }


def header(
    name: str,
    seed: int,
    rows: int,
    kpi: str,
    response: Response,
    group: str | None,
    start: str,
) -> dict[str, Any]:
    """The truth file's description of the dataset itself."""
    return {
        "dataset": name,
        "seed": seed,
        "rows": rows,
        "kpi": kpi,
        "response": response,
        "date_column": "date",
        "group_column": group,
        "frequency": "weekly",
        "start": start,
    }


def write_dataset(sim: Simulated, out: Path) -> list[Path]:
    """Writes ``<name>.csv``, ``<name>_truth.json`` and ``<name>_contributions.csv``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [
        out / f"{sim.name}.csv",
        out / f"{sim.name}_truth.json",
        out / f"{sim.name}_contributions.csv",
    ]
    # Fixed line endings and date format so the files are identical on every platform.
    csv_options: dict[str, Any] = {
        "index": False,
        "date_format": "%Y-%m-%d",
        "lineterminator": "\n",
    }
    sim.data.to_csv(paths[0], **csv_options)
    paths[1].write_text(json.dumps(sim.truth, indent=2) + "\n", encoding="utf-8")
    sim.contributions.to_csv(paths[2], **csv_options)
    return paths


# ---------------------------------------------------------------------------
# single_market


SINGLE_MARKET_CHANNELS = {
    "tv": Channel("geometric", {"decay": 0.6}, 8, "hill", {"half_saturation": 1.1, "shape": 2.0}),
    "search": Channel(
        "geometric", {"decay": 0.2}, 4, "hill", {"half_saturation": 0.9, "shape": 1.3}
    ),
    "social": Channel("geometric", {"decay": 0.35}, 6, "logistic", {"rate": 1.2}),
    "display": Channel(
        "geometric", {"decay": 0.3}, 4, "michaelis_menten", {"half_saturation": 0.8}
    ),
    "radio": Channel(
        "delayed", {"decay": 0.6, "peak": 2.0}, 8, "hill", {"half_saturation": 1.0, "shape": 1.5}
    ),
    "ooh": Channel("weibull", {"shape": 1.5, "scale": 3.0}, 10, "tanh", {"scale": 1.2}),
}


# Betas, calibrated on the default seed, give media shares of revenue of about
# 10, 8, 5, 3, 3 and 2 per cent; spend levels in single_market_media set the ROIs.
SINGLE_MARKET_IDENTITY = Coefficients(
    intercept=100_000.0,
    betas={
        "tv": 41_000.0,
        "search": 16_600.0,
        "social": 7_800.0,
        "display": 5_900.0,
        "radio": 12_500.0,
        "ooh": 5_400.0,
    },
    gammas={"price": -40_000.0, "promo": 8_000.0},
    slope=80.0,
    sin=(7_000.0, -2_500.0),
    cos=(4_000.0, 1_500.0),
)

# The same structure on the log scale (coefficients are relative effects).
SINGLE_MARKET_LOG = Coefficients(
    intercept=float(np.log(100_000.0)),
    betas={
        "tv": 0.40,
        "search": 0.15,
        "social": 0.08,
        "display": 0.05,
        "radio": 0.09,
        "ooh": 0.045,
    },
    gammas={"price": -0.4, "promo": 0.08},
    slope=0.0008,
    sin=(0.07, -0.025),
    cos=(0.04, 0.015),
    log_noise_sd=0.04,
)


def single_market_media(
    rngs: Mapping[str, np.random.Generator], season: Array
) -> dict[str, Array]:
    """Weekly spend of the six single-market channels.

    Levels set the true ROIs (the transforms see spend relative to its own
    scale, so a level changes the ROI but not the contribution); patterns are
    drawn independently per channel to keep spend correlations low.
    """
    weeks = len(season)
    return {
        "tv": flighted_spend(rngs["tv"], weeks, 8_700.0, on_share=0.6, mean_run=4.0),
        "search": phased_spend(
            rngs["search"], weeks, 2_000.0, sd=0.15, shape=seasonal_shape(season, 0.2)
        ),
        "social": phased_spend(rngs["social"], weeks, 1_750.0, sd=0.25),
        "display": phased_spend(rngs["display"], weeks, 3_500.0, sd=0.2),
        "radio": flighted_spend(rngs["radio"], weeks, 4_800.0, on_share=0.55, mean_run=3.0),
        "ooh": flighted_spend(rngs["ooh"], weeks, 5_500.0, on_share=0.5, mean_run=3.0, sd=0.35),
    }


def simulate_single_market(
    seed: int = SEEDS["single_market"], response: Response = "identity"
) -> Simulated:
    """The ``single_market`` dataset: 156 weeks of revenue, six channels, price and promo.

    Parameters
    ----------
    seed
        Seed of every random draw; the same seed gives the same dataset.
    response
        ``"identity"`` (shipped) or ``"log"`` (log revenue is linear in the
        terms; used to test log-response fits).  The media and controls are
        the same for both; only the coefficients and the noise scale differ.
    """
    name, weeks, start = "single_market", 156, "2022-01-03"
    coefs = SINGLE_MARKET_IDENTITY if response == "identity" else SINGLE_MARKET_LOG
    rngs = streams(seed, [*SINGLE_MARKET_CHANNELS, "price", "promo", "noise"])
    dates = weekly_dates(start, weeks)
    # Search follows the identity model's demand seasonality whatever the response.
    demand = fourier_seasonality(weeks, SINGLE_MARKET_IDENTITY.sin, SINGLE_MARKET_IDENTITY.cos)
    media = single_market_media(rngs, demand)
    controls = {
        "price": price_index(rngs["price"], weeks),
        "promo": promo_flags(rngs["promo"], weeks),
    }
    scales = {channel: media_scale(spend) for channel, spend in media.items()}
    terms = linear_terms(media, scales, SINGLE_MARKET_CHANNELS, controls, coefs)
    shock = rngs["noise"].standard_normal(weeks)
    kpi, lines, noise_sd = respond(terms, coefs.intercept, shock, response, coefs.log_noise_sd)
    series = Series(media, controls, np.round(kpi, 2), lines, noise_sd)
    truth = single_series_truth(
        header(name, seed, weeks, "revenue", response, None, start),
        series,
        scales,
        SINGLE_MARKET_CHANNELS,
        coefs,
    )
    return Simulated(
        name, data_frame(dates, "revenue", series), contribution_frame(dates, lines), truth
    )


def single_series_truth(
    head: dict[str, Any],
    series: Series,
    scales: Mapping[str, float],
    channels: Mapping[str, Channel],
    coefs: Coefficients,
) -> dict[str, Any]:
    """Truth of a one-market dataset: generating parameters and contribution totals."""
    kpi_total = cents_total(series.kpi)
    media = {
        name: {
            **describe_channel(channel),
            "beta": coefs.betas[name],
            "media_scale": scales[name],
            **totals(series.media[name], series.lines[name], kpi_total),
        }
        for name, channel in channels.items()
    }
    truth = {
        **head,
        "noise_sd": series.noise_sd,
        "intercept": coefs.intercept,
        "trend": {
            "type": "linear",
            "slope": coefs.slope,
            "total_contribution": float(series.lines["trend"].sum()),
        },
        "seasonality": {
            **seasonality_truth(coefs.sin, coefs.cos),
            "total_contribution": float(series.lines["seasonality"].sum()),
        },
        "media": media,
        "controls": {
            name: {"coefficient": gamma, "total_contribution": float(series.lines[name].sum())}
            for name, gamma in coefs.gammas.items()
        },
        "baseline_total": float(series.lines["baseline"].sum()),
        "kpi_total": kpi_total,
        "roi_ranking": roi_ranking(media),
    }
    if "interaction" in series.lines:
        truth["interaction_total"] = float(series.lines["interaction"].sum())
    return truth


# ---------------------------------------------------------------------------
# panel


MARKETS = ("north", "south", "east", "west", "central", "coast")

PANEL_CHANNELS = {
    "tv": Channel("geometric", {"decay": 0.5}, 8, "hill", {"half_saturation": 1.0, "shape": 1.8}),
    "search": Channel(
        "geometric", {"decay": 0.2}, 4, "hill", {"half_saturation": 0.9, "shape": 1.2}
    ),
    "social": Channel("geometric", {"decay": 0.35}, 6, "logistic", {"rate": 1.0}),
}

# Market sizes vary about threefold; media budgets grow with size.
PANEL_INTERCEPTS = {
    "north": 54_000.0,
    "south": 36_000.0,
    "east": 66_000.0,
    "west": 42_000.0,
    "central": 84_000.0,
    "coast": 32_000.0,
}

# TV spend is national (identical in every market), so a market-level TV
# effect is not identified: TV has one coefficient for all markets.
PANEL_TV_BETA = 6_000.0
PANEL_BETA_POP = {"search": 8_000.0, "social": 5_000.0}
PANEL_TAU_SHARE = 0.25
"""Between-market sd of a group-varying beta, as a share of its population mean."""

# Shared by all markets; each market sets its own intercept and media betas.
PANEL_SHARED = Coefficients(
    intercept=0.0,
    betas={},
    gammas={"price": -10_000.0},
    slope=30.0,
    sin=(3_000.0, -1_000.0),
    cos=(1_500.0, 600.0),
)


def panel_betas(rng: np.random.Generator) -> dict[str, dict[str, float]]:
    """Each market's media coefficients: TV shared, search and social drawn per market.

    ``beta_g ~ Normal(beta_pop, tau)`` truncated to positive values, with
    ``tau = PANEL_TAU_SHARE * beta_pop``.
    """
    draws = {
        channel: positive_normal(rng, pop, PANEL_TAU_SHARE * pop, len(MARKETS))
        for channel, pop in PANEL_BETA_POP.items()
    }
    return {
        market: {"tv": PANEL_TV_BETA, **{ch: float(draws[ch][i]) for ch in PANEL_BETA_POP}}
        for i, market in enumerate(MARKETS)
    }


def panel_media(
    rngs: Mapping[str, np.random.Generator], season: Array
) -> dict[str, dict[str, Array]]:
    """Weekly spend per market: one national TV plan, market-level search and social."""
    weeks = len(season)
    tv = flighted_spend(rngs["tv"], weeks, 2_500.0, on_share=0.6, mean_run=4.0)
    mean_size = float(np.mean(list(PANEL_INTERCEPTS.values())))
    media = {}
    for market in MARKETS:
        size = PANEL_INTERCEPTS[market] / mean_size
        media[market] = {
            "tv": tv,
            "search": always_on_spend(
                rngs[f"{market}:search"],
                weeks,
                1_200.0 * size,
                sd=0.2,
                shape=seasonal_shape(season, 0.3),
            ),
            # Social budgets grow more slowly than market size, so across markets
            # social spend is not simply proportional to search spend.
            "social": always_on_spend(
                rngs[f"{market}:social"], weeks, 1_300.0 * np.sqrt(size), sd=0.35
            ),
        }
    return media


def simulate_panel(seed: int = SEEDS["panel"]) -> Simulated:
    """The ``panel`` dataset: 6 markets x 104 weeks of sales, TV, search, social and price.

    Markets differ in intercept, in their search and social coefficients and
    in their noise (sd ``NOISE_SHARE`` of each market's mean sales); trend,
    seasonality, transforms, TV and price coefficients are shared.
    """
    name, weeks, start = "panel", 104, "2023-01-02"
    parts = ("search", "social", "price", "noise")
    rngs = streams(seed, ["tv", "betas", *(f"{m}:{part}" for m in MARKETS for part in parts)])
    dates = weekly_dates(start, weeks)
    season = fourier_seasonality(weeks, PANEL_SHARED.sin, PANEL_SHARED.cos)
    media = panel_media(rngs, season)
    betas = panel_betas(rngs["betas"])
    # The scale is computed over every market's rows, as the model computes it.
    scales = {
        channel: media_scale(np.concatenate([media[m][channel] for m in MARKETS]))
        for channel in PANEL_CHANNELS
    }
    markets: dict[str, Series] = {}
    for market in MARKETS:
        controls = {"price": price_index(rngs[f"{market}:price"], weeks)}
        coefs = replace(PANEL_SHARED, intercept=PANEL_INTERCEPTS[market], betas=betas[market])
        terms = linear_terms(media[market], scales, PANEL_CHANNELS, controls, coefs)
        shock = rngs[f"{market}:noise"].standard_normal(weeks)
        kpi, lines, noise_sd = respond(terms, coefs.intercept, shock, "identity", 0.0)
        markets[market] = Series(media[market], controls, np.round(kpi, 2), lines, noise_sd)
    order = sorted(MARKETS)
    data = pd.concat([data_frame(dates, "sales", markets[m], m) for m in order], ignore_index=True)
    contributions = pd.concat(
        [contribution_frame(dates, markets[m].lines, m) for m in order], ignore_index=True
    )
    head = header(name, seed, weeks * len(MARKETS), "sales", "identity", "market", start)
    return Simulated(name, data, contributions, panel_truth(head, markets, betas, scales))


def panel_truth(
    head: dict[str, Any],
    markets: Mapping[str, Series],
    betas: Mapping[str, Mapping[str, float]],
    scales: Mapping[str, float],
) -> dict[str, Any]:
    """Truth of the panel: shared parameters, overall totals and a block per market."""
    coefs = PANEL_SHARED
    kpi_total = cents_total(np.concatenate([series.kpi for series in markets.values()]))

    def overall(term: str) -> Array:
        return np.concatenate([series.lines[term] for series in markets.values()])

    media: dict[str, dict[str, Any]] = {}
    for channel, spec in PANEL_CHANNELS.items():
        if channel in PANEL_BETA_POP:
            spend = np.concatenate([series.media[channel] for series in markets.values()])
        else:  # national: one plan seen by every market, paid for once
            spend = next(iter(markets.values())).media[channel]
        coefficient: dict[str, Any] = (
            {
                "group_varying": True,
                "beta_pop": PANEL_BETA_POP[channel],
                "tau": PANEL_TAU_SHARE * PANEL_BETA_POP[channel],
            }
            if channel in PANEL_BETA_POP
            else {"group_varying": False, "beta": PANEL_TV_BETA}
        )
        media[channel] = {
            **describe_channel(spec),
            **coefficient,
            "media_scale": scales[channel],
            **totals(spend, overall(channel), kpi_total),
        }
    per_market = {
        market: market_truth(series, PANEL_INTERCEPTS[market], betas[market])
        for market, series in markets.items()
    }
    return {
        **head,
        "noise_sd": {market: series.noise_sd for market, series in markets.items()},
        "intercept": dict(PANEL_INTERCEPTS),
        "trend": {
            "type": "linear",
            "slope": coefs.slope,
            "total_contribution": float(overall("trend").sum()),
        },
        "seasonality": {
            **seasonality_truth(coefs.sin, coefs.cos),
            "total_contribution": float(overall("seasonality").sum()),
        },
        "media": media,
        "controls": {
            name: {"coefficient": gamma, "total_contribution": float(overall(name).sum())}
            for name, gamma in coefs.gammas.items()
        },
        "baseline_total": float(overall("baseline").sum()),
        "kpi_total": kpi_total,
        "roi_ranking": roi_ranking(media),
        "markets": per_market,
    }


def market_truth(series: Series, intercept: float, betas: Mapping[str, float]) -> dict[str, Any]:
    """One market's block of the panel truth: its parameters and contribution totals."""
    kpi_total = cents_total(series.kpi)
    return {
        "intercept": intercept,
        "noise_sd": series.noise_sd,
        "kpi_total": kpi_total,
        "media": {
            channel: {
                "beta": betas[channel],
                **totals(series.media[channel], series.lines[channel], kpi_total),
            }
            for channel in PANEL_CHANNELS
        },
        "controls": {
            name: {"total_contribution": float(series.lines[name].sum())}
            for name in series.controls
        },
    }


# ---------------------------------------------------------------------------
# pooled


POOLED_LABELS = {
    "search_brand": "search",
    "search_generic": "search",
    "social_meta": "social",
    "social_tiktok": "social",
    "video_youtube": "video",
    "video_ctv": "video",
}
POOLED_DECAY = {"search": 0.2, "social": 0.35, "video": 0.5}
POOLED_BETA_MEAN = {"search": 12_000.0, "social": 8_000.0, "video": 5_000.0}
POOLED_SD_SHARE = 0.2
"""Within-label sd of sub-channel betas, as a share of the label's mean."""

POOLED_CHANNELS = {
    name: Channel(
        "geometric",
        {"decay": POOLED_DECAY[label]},
        6,
        "hill",
        {"half_saturation": 1.0, "shape": 1.5},
    )
    for name, label in POOLED_LABELS.items()
}

POOLED_COEFS = Coefficients(
    intercept=100_000.0,
    betas={},  # drawn per seed by pooled_betas
    gammas={"price": -40_000.0},
    slope=80.0,
    sin=(7_000.0, -2_500.0),
    cos=(4_000.0, 1_500.0),
)


def pooled_betas(rng: np.random.Generator) -> dict[str, float]:
    """Sub-channel betas drawn around their label's mean (positive, sd 20% of the mean)."""
    return {
        name: float(
            positive_normal(
                rng, POOLED_BETA_MEAN[label], POOLED_SD_SHARE * POOLED_BETA_MEAN[label], 1
            )[0]
        )
        for name, label in POOLED_LABELS.items()
    }


def pooled_media(rngs: Mapping[str, np.random.Generator], season: Array) -> dict[str, Array]:
    """Weekly spend of the six pooled sub-channels (mixing always-on and flighted plans)."""
    weeks = len(season)
    return {
        "search_brand": always_on_spend(
            rngs["search_brand"], weeks, 1_200.0, sd=0.15, shape=seasonal_shape(season, 0.3)
        ),
        "search_generic": always_on_spend(rngs["search_generic"], weeks, 3_000.0, sd=0.25),
        "social_meta": always_on_spend(rngs["social_meta"], weeks, 3_000.0, sd=0.3),
        "social_tiktok": flighted_spend(
            rngs["social_tiktok"], weeks, 3_000.0, on_share=0.6, mean_run=5.0
        ),
        "video_youtube": flighted_spend(
            rngs["video_youtube"], weeks, 4_000.0, on_share=0.5, mean_run=4.0
        ),
        "video_ctv": flighted_spend(
            rngs["video_ctv"], weeks, 9_000.0, on_share=0.35, mean_run=3.0
        ),
    }


def simulate_pooled(seed: int = SEEDS["pooled"]) -> Simulated:
    """The ``pooled`` dataset: one market, six sub-channels in three labelled groups.

    Sub-channels of a label share its adstock decay and have betas drawn
    around the label's mean, the structure a label-pooled model assumes.
    """
    name, weeks, start = "pooled", 156, "2022-01-03"
    rngs = streams(seed, [*POOLED_LABELS, "betas", "price", "noise"])
    dates = weekly_dates(start, weeks)
    coefs = replace(POOLED_COEFS, betas=pooled_betas(rngs["betas"]))
    media = pooled_media(rngs, fourier_seasonality(weeks, coefs.sin, coefs.cos))
    controls = {"price": price_index(rngs["price"], weeks)}
    scales = {channel: media_scale(spend) for channel, spend in media.items()}
    terms = linear_terms(media, scales, POOLED_CHANNELS, controls, coefs)
    shock = rngs["noise"].standard_normal(weeks)
    kpi, lines, noise_sd = respond(terms, coefs.intercept, shock, "identity", 0.0)
    series = Series(media, controls, np.round(kpi, 2), lines, noise_sd)
    head = header(name, seed, weeks, "revenue", "identity", None, start)
    truth = single_series_truth(head, series, scales, POOLED_CHANNELS, coefs)
    truth["labels"] = {name: {"channel": label} for name, label in POOLED_LABELS.items()}
    truth["label_means"] = {"channel": label_truth(series)}
    return Simulated(
        name, data_frame(dates, "revenue", series), contribution_frame(dates, lines), truth
    )


def label_truth(series: Series) -> dict[str, dict[str, Any]]:
    """Per label: the mean and sd its sub-channel betas were drawn from, and its totals."""
    kpi_total = cents_total(series.kpi)
    out: dict[str, dict[str, Any]] = {}
    for label, mean in POOLED_BETA_MEAN.items():
        members = [name for name, owner in POOLED_LABELS.items() if owner == label]
        out[label] = {
            "beta_mean": mean,
            "beta_sd": POOLED_SD_SHARE * mean,
            "members": members,
            **totals(
                sum_lines(series.media[m] for m in members),
                sum_lines(series.lines[m] for m in members),
                kpi_total,
            ),
        }
    return out


# ---------------------------------------------------------------------------
# Command line


def simulate_all() -> list[Simulated]:
    """Every shipped dataset, from its default seed."""
    # These build on this module's parts, so they are imported here.
    from mmm_runner.data.simulate_calibration import confounded_example
    from mmm_runner.data.simulate_crossed import simulate_geo_product
    from mmm_runner.data.simulate_events import simulate_weekly_events
    from mmm_runner.data.simulate_geo import simulate_geo_population
    from mmm_runner.data.simulate_loglog import loglog_example
    from mmm_runner.data.simulate_network import (
        simulate_combined_example,
        simulate_multivariate_example,
        simulate_nested_example,
        simulate_outcome_transforms_example,
    )
    from mmm_runner.data.simulate_selection import simulate_selection
    from mmm_runner.data.simulate_time import simulate_drift, simulate_gp_trend

    return [
        simulate_single_market(),
        simulate_panel(),
        simulate_pooled(),
        simulate_weekly_events(),
        simulate_geo_population(),
        simulate_geo_product(),
        simulate_nested_example(),
        simulate_multivariate_example(),
        simulate_combined_example(),
        simulate_outcome_transforms_example(),
        confounded_example(),
        loglog_example(),
        simulate_selection(),
        simulate_gp_trend(),
        simulate_drift(),
    ]


def generate_all(out: Path) -> list[Path]:
    """Writes every shipped dataset's files into ``out``."""
    return [path for sim in simulate_all() for path in write_dataset(sim, out)]


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerates the shipped datasets: ``python -m mmm_runner.data.simulate [--out DIR]``."""
    parser = argparse.ArgumentParser(
        prog="python -m mmm_runner.data.simulate",
        description="Regenerate the simulated datasets with known truth.",
    )
    parser.add_argument("--out", type=Path, default=Path("data"), help="output folder")
    args = parser.parse_args(argv)
    for path in generate_all(args.out):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
