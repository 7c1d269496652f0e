"""Hilbert-space approximate Gaussian processes (HSGP) for smooth trends.

A GP with a squared-exponential kernel over time is approximated by m basis
functions of the Laplacian on [-L, L] (Solin & Särkkä 2020; Riutort-Mayol et al.
2023): f(x) ~= sum_j sqrt(S(sqrt(lambda_j))) * phi_j(x) * w_j, w_j ~ normal(0, 1), with

* phi_j(x) = sin(pi j (x + L) / (2 L)) / sqrt(L) and lambda_j = (pi j / (2 L))^2,
* S(omega) = amplitude^2 sqrt(2 pi) lengthscale exp(-lengthscale^2 omega^2 / 2).

Time is mapped to x in [-1, 1] over the fitted periods (centre and half-range of the
fitted period index), so lengthscales are in half-ranges inside the program and in
periods in the config. The basis is data; only the amplitude and lengthscale are
parameters, so one compiled program serves every trend.

Choosing m and L (Riutort-Mayol et al.'s rule for squared-exponential kernels, with
lengthscales l in half-ranges): the boundary factor c = L must reach 1.2 and 3.2 l for
the longest plausible l (a long lengthscale needs room beyond the data), and
m >= 1.75 c / l for the shortest (a short one needs many functions). The plausible
lengthscales are the prior's 5% and 95% quantiles; m is capped at ``MAX_BASIS``, and L
also covers the held-out and forecast periods (``FORECAST_REACH`` of the half-range
beyond the fitted ones).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from mmm_runner.config import notation
from mmm_runner.config.models import TrendConfig
from mmm_runner.config.notation import Distribution

if TYPE_CHECKING:
    from mmm_runner.config.resolve import MediaTerm, ModelSpec
    from mmm_runner.data.design import Design

Array = npt.NDArray[np.float64]

MIN_BOUNDARY = 1.2  # the smallest boundary factor the approximation tolerates
FORECAST_REACH = 0.5  # how far beyond the fitted periods the basis stays valid
MAX_BASIS = 60  # more functions than this cost more than the trend is worth
GP_PREFIX = "trend_gp"  # the basis columns' names: trend_gp1, trend_gp2, ...


@dataclass(frozen=True)
class Domain:
    """Where the basis lives: centre and half-range of the fitted period index, and L."""

    centre: float
    half_range: float
    boundary: float  # L, in half-ranges
    functions: int  # m
    span: int  # fitted periods from first to last

    def x(self, t: Array) -> Array:
        """Period indices mapped to the basis's coordinate."""
        x: Array = (np.asarray(t, dtype=float) - self.centre) / self.half_range
        return x

    def covers_each(self, t: Array) -> npt.NDArray[np.bool_]:
        """Which periods the basis holds for: within ``FORECAST_REACH`` half-ranges of
        the fitted ones (and inside the boundary, which a config may set closer)."""
        inside: npt.NDArray[np.bool_] = np.abs(self.x(t)) <= 1.0 + reach(self.boundary)
        return inside

    def covers(self, t: Array) -> bool:
        """Whether the basis holds for every period."""
        return bool(np.all(self.covers_each(t)))


def reach(boundary: float | None) -> float:
    """How far past the fitted periods a basis holds, in half-ranges of them:
    ``FORECAST_REACH``, or less when the boundary factor is set closer."""
    return min(FORECAST_REACH, (boundary if boundary is not None else math.inf) - 1.0)


def reach_periods(trend: TrendConfig, span: int) -> int:
    """The periods past the end of ``span`` fitted periods that a gp trend's basis holds."""
    return int(reach(trend.boundary_factor) * max((span - 1) / 2.0, 1.0))


def domain(
    t_fitted: Array,
    lengthscales: tuple[float, float],
    functions: int | None,
    boundary: float | None,
) -> Domain:
    """The basis for a trend over the fitted period indices, given the smallest and
    largest plausible lengthscales in periods (and, optionally, m or c as the config
    fixes them): long lengthscales need a wide boundary, short ones many functions."""
    low, high = float(np.min(t_fitted)), float(np.max(t_fitted))
    half = max((high - low) / 2.0, 1.0)
    short, long = (max(ell / half, 1e-3) for ell in lengthscales)
    c = boundary if boundary is not None else max(MIN_BOUNDARY, 3.2 * long, 1 + FORECAST_REACH)
    m = functions if functions is not None else min(MAX_BASIS, math.ceil(1.75 * c / short))
    return Domain((low + high) / 2.0, half, c, max(m, 1), span_of(t_fitted))


def eigenvalues(dom: Domain) -> Array:
    """lambda_j = (pi j / (2 L))^2, j = 1..m."""
    j = np.arange(1, dom.functions + 1, dtype=float)
    values: Array = (np.pi * j / (2.0 * dom.boundary)) ** 2
    return values


def basis(dom: Domain, t: Array) -> Array:
    """phi_j(x) for every period, (periods, m)."""
    x = dom.x(t)[:, None]
    j = np.arange(1, dom.functions + 1, dtype=float)[None, :]
    big_l = dom.boundary
    phi: Array = np.sin(np.pi * j * (x + big_l) / (2.0 * big_l)) / np.sqrt(big_l)
    return phi


def spectral_sd(eigen: Array, amplitude: Array, lengthscale: Array) -> Array:
    """sqrt(S(sqrt(lambda_j))) of the squared-exponential kernel: each basis weight's
    prior sd, per draw (amplitude, lengthscale (D,); result (D, m)); the twin of the
    programs' gp_scales."""
    amp = np.asarray(amplitude, dtype=float)[:, None]
    ell = np.asarray(lengthscale, dtype=float)[:, None]
    density = amp**2 * np.sqrt(2.0 * np.pi) * ell * np.exp(-0.5 * ell**2 * eigen[None, :])
    out: Array = np.sqrt(density)
    return out


def lengthscale_prior(text: str | None, fitted_periods: int) -> Distribution:
    """The lengthscale's prior in periods: as stated, or lognormal around a quarter of
    the fitted periods (a baseline that bends a few times over the data)."""
    if text is not None:
        return notation.parse_distribution(text)
    centre = math.log(max(fitted_periods / 4.0, 2.0))
    return notation.parse_distribution(f"lognormal({centre:.6g}, 0.5)")


def amplitude_prior(text: str | None) -> Distribution:
    """The amplitude's prior in KPI standard deviations (default half_normal(1))."""
    return notation.parse_distribution(text or "half_normal(1)")


def trend_domain(trend: TrendConfig, t_fitted: Array) -> Domain:
    """The basis of a gp trend: its plausible lengthscales are the lengthscale prior's 5%
    and 95% quantiles."""
    from mmm_runner.analysis.priors import frozen  # SciPy, on use

    prior = frozen(lengthscale_prior(trend.lengthscale_prior, span_of(t_fitted)))
    plausible = (float(prior.ppf(0.05)), float(prior.ppf(0.95)))
    return domain(t_fitted, plausible, trend.basis_functions, trend.boundary_factor)


def coefficient_sd(
    eigen: Array, amplitude: Array, lengthscale: Array, x_sd: Array, dom: Domain, unit: float
) -> Array:
    """Each basis column's coefficient sd on the modelling scale, per draw (D, m): the
    twin of the programs' gp_scales (amplitude in units of ``unit``, lengthscale in
    periods; the design divides each column by its sd ``x_sd``)."""
    ell = np.asarray(lengthscale, dtype=float) / dom.half_range
    sd: Array = spectral_sd(eigen, np.asarray(amplitude, dtype=float) * unit, ell) * x_sd
    return sd


def gp_columns(design: Design) -> list[int]:
    """0-based indices of the GP trend's basis columns among the design's X columns."""
    return [
        k
        for k, c in enumerate(design.columns)
        if c.term == "trend" and c.name.startswith(GP_PREFIX)  # not a control so named
    ]


def design_domain(design: Design, trend: TrendConfig) -> Domain:
    """The basis domain of a design, as its columns were built (period index within each
    series, over the fitted rows)."""
    from mmm_runner.data.design import position_in_group

    t = position_in_group(design.group).astype(float)
    return trend_domain(trend, t[design.fitted])


def span_of(t: npt.NDArray[np.floating[Any] | np.integer[Any]]) -> int:
    """Periods from the first to the last of these period indices (0 for none)."""
    return int(np.ptp(t)) + 1 if len(t) else 0


def fitted_span(design: Design) -> int:
    """Fitted periods of a series from first to last (the longest, for panels)."""
    from mmm_runner.data.design import position_in_group

    return span_of(position_in_group(design.group)[design.fitted])


def stan_fields(design: Design, spec: ModelSpec) -> dict[str, Any]:
    """The GP-trend fields shared by blm.stan and hierarchical.stan (sizes 0 without)."""
    trend = spec.trend
    columns = gp_columns(design)
    dom = design_domain(design, trend) if trend and trend.type == "gp" and columns else None
    on = dom is not None
    length = lengthscale_prior(trend.lengthscale_prior if trend else None, dom.span if dom else 2)
    amp = amplitude_prior(trend.amplitude_prior if trend else None)
    return {
        "n_gp": len(columns) if on else 0,
        "gp_col": [k + 1 for k in columns] if on else [],
        "gp_eigen": eigenvalues(dom) if dom else np.zeros(0),
        "gp_x_sd": design.x_sd[columns] if on else np.zeros(0),
        "gp_half_range": dom.half_range if dom else 1.0,
        "gp_unit": response_unit(design),
        "gp_lengthscale_prior": length.spec.code,
        "gp_lengthscale_prior_args": list(length.stan_args()),
        "gp_amplitude_prior": amp.spec.code,
        "gp_amplitude_prior_args": list(amp.stan_args()),
    }


def response_unit(design: Design) -> float:
    """The response's sd over the fitted rows on the modelling scale (1 when the design
    standardises): the unit of the amplitude."""
    return float(np.std(design.y[design.fitted])) or 1.0


# --- time-varying media effects ----------------------------------------------------------
#
# A drifting channel's effect is multiplied by exp(f(t) - mean over the fitted periods of
# f), f a GP on the same Hilbert-space basis as the trend, with non-centred weights (f sits
# in an exponent, so its weights cannot be integrated out). All drifting channels share one
# basis, sized for the shortest and longest plausible lengthscale of any of them. Rows after
# the last fitted period (holdout, forecasts, the budget's horizon) repeat its basis row:
# effectiveness is held at its latest value rather than extrapolated.


def drift_priors(media: MediaTerm, span: int) -> tuple[Distribution, Distribution]:
    """A drifting channel's lengthscale (periods) and amplitude (sd of log effectiveness)
    priors: as stated, or lognormal around half the fitted periods and half_normal(0.3)."""
    tv = media.time_varying
    assert tv is not None
    length = tv.lengthscale_prior or (f"lognormal({math.log(max(span / 2.0, 2.0)):.6g}, 0.5)")
    return notation.parse_distribution(length), notation.parse_distribution(
        tv.amplitude_prior or "half_normal(0.3)"
    )


def drift_basis(design: Design, spec: ModelSpec) -> tuple[Domain | None, Array]:
    """The drifting channels' shared basis over every design row, (rows, m): (None, an
    empty basis) without any."""
    from mmm_runner.analysis.priors import frozen  # SciPy, on use
    from mmm_runner.data.design import position_in_group

    drifting = [m for m in spec.media if m.time_varying is not None]
    if not drifting:
        return None, np.zeros((design.n_rows, 0))
    t = position_in_group(design.group).astype(float)
    fitted = t[design.fitted]
    span = span_of(fitted)
    quantiles = [frozen(drift_priors(m, span)[0]).ppf([0.05, 0.95]) for m in drifting]
    plausible = (min(float(q[0]) for q in quantiles), max(float(q[1]) for q in quantiles))
    fixed = [m.time_varying for m in drifting]
    functions = max((f.basis_functions for f in fixed if f and f.basis_functions), default=None)
    boundary = max((f.boundary_factor for f in fixed if f and f.boundary_factor), default=None)
    dom = domain(fitted, plausible, functions, boundary)
    held = np.minimum(t, fitted.max())  # after the fit: the latest effectiveness
    return dom, basis(dom, held)


def drift_fields(design: Design, spec: ModelSpec) -> dict[str, Any]:
    """The time-varying fields shared by blm.stan and hierarchical.stan (sizes 0 without)."""
    dom, phi = drift_basis(design, spec)
    drifting = [m for m in spec.media if m.time_varying is not None]
    span = dom.span if dom else 2
    priors = [drift_priors(m, span) for m in drifting]
    return {
        "n_tvp": len(drifting),
        "tvp_channel": [spec.media_names.index(m.name) + 1 for m in drifting],
        "m_tvp": phi.shape[1],
        "tvp_basis": phi,
        "tvp_eigen": eigenvalues(dom) if dom else np.zeros(0),
        "tvp_half_range": dom.half_range if dom else 1.0,
        "tvp_lengthscale_prior": [length.spec.code for length, _ in priors],
        "tvp_lengthscale_prior_args": np.array(
            [list(length.stan_args()) for length, _ in priors]
        ).reshape(-1, 3),
        "tvp_amplitude_prior": [amp.spec.code for _, amp in priors],
        "tvp_amplitude_prior_args": np.array([list(amp.stan_args()) for _, amp in priors]).reshape(
            -1, 3
        ),
    }


def drift_multipliers(design: Design, spec: ModelSpec, pool: dict[str, Array]) -> Array:
    """Each drifting channel's effectiveness multiplier per draw and row, (D, n_tvp, rows):
    the twin of the programs' tvp_multipliers, from the draws of tvp_z (D, n_tvp, m),
    tvp_amplitude and tvp_lengthscale (D, n_tvp)."""
    dom, phi = drift_basis(design, spec)
    z = pool["tvp_z"]
    if dom is None:
        return np.ones((z.shape[0], 0, design.n_rows))
    eigen = eigenvalues(dom)
    out = np.empty((z.shape[0], z.shape[1], design.n_rows))
    fitted = design.fitted
    for i in range(z.shape[1]):
        ell = pool["tvp_lengthscale"][:, i] / dom.half_range
        sd = spectral_sd(eigen, pool["tvp_amplitude"][:, i], ell)  # (D, m)
        f = (sd * z[:, i, :]) @ phi.T  # (D, rows)
        out[:, i, :] = np.exp(f - f[:, fitted].mean(axis=1, keepdims=True))
    return out


def latest_drift(design: Design, spec: ModelSpec, pool: dict[str, Array]) -> dict[str, Array]:
    """Each time-varying channel's multiplier at the last fitted period, per draw: the
    effectiveness that plans (the budget, after the fit) are evaluated at."""
    if not spec.time_varying or "tvp_z" not in pool:
        return {}
    from mmm_runner.data.design import position_in_group

    t = position_in_group(design.group)
    last = int(np.flatnonzero(design.fitted & (t == t[design.fitted].max()))[0])
    drift = drift_multipliers(design, spec, pool)
    return {name: drift[:, i, last] for i, name in enumerate(spec.time_varying)}
