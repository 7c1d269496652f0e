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

Choosing m and L (the guide's rule for squared-exponential kernels): the boundary
factor c = L / 1 must exceed both 1.2 and 3.2 l / 1 (l the smallest plausible
lengthscale, in half-ranges), and m >= 1.75 c / l. The smallest plausible lengthscale is
the lengthscale prior's 5% quantile; L also covers the held-out and forecast periods
(``FORECAST_REACH`` of the half-range beyond the fitted ones).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mmm_runner.config import notation
from mmm_runner.config.models import TrendConfig
from mmm_runner.config.notation import Distribution

Array = npt.NDArray[np.float64]

MIN_BOUNDARY = 1.2  # the smallest boundary factor the approximation tolerates
FORECAST_REACH = 0.5  # how far beyond the fitted periods the basis stays valid
MAX_BASIS = 60  # more functions than this cost more than the trend is worth


@dataclass(frozen=True)
class Domain:
    """Where the basis lives: centre and half-range of the fitted period index, and L."""

    centre: float
    half_range: float
    boundary: float  # L, in half-ranges
    functions: int  # m

    def x(self, t: Array) -> Array:
        """Period indices mapped to the basis's coordinate."""
        x: Array = (np.asarray(t, dtype=float) - self.centre) / self.half_range
        return x

    def covers(self, t: Array) -> bool:
        """Whether every period lies inside the basis's domain."""
        return bool(np.all(np.abs(self.x(t)) < self.boundary))


def domain(
    t_fitted: Array, smallest_lengthscale: float, functions: int | None, boundary: float | None
) -> Domain:
    """The basis for a trend over the fitted period indices, given the smallest plausible
    lengthscale in periods (and, optionally, m or c as the config fixes them)."""
    low, high = float(np.min(t_fitted)), float(np.max(t_fitted))
    half = max((high - low) / 2.0, 1.0)
    ell = max(smallest_lengthscale / half, 1e-3)
    c = boundary if boundary is not None else max(MIN_BOUNDARY, 3.2 * ell, 1 + FORECAST_REACH)
    m = functions if functions is not None else min(MAX_BASIS, math.ceil(1.75 * c / ell))
    return Domain((low + high) / 2.0, half, c, max(m, 1))


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
    """The basis of a gp trend: its smallest plausible lengthscale is the 5% quantile of
    the lengthscale prior."""
    from mmm_runner.analysis.priors import frozen  # SciPy, on use

    span = int(np.ptp(t_fitted)) + 1
    prior = lengthscale_prior(trend.lengthscale_prior, span)
    smallest = float(frozen(prior).ppf(0.05))
    return domain(t_fitted, smallest, trend.basis_functions, trend.boundary_factor)
