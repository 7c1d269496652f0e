"""The Hilbert-space GP trend: its basis approximates the squared-exponential kernel it
stands for, its size follows the documented rule, and the data it hands the programs."""

from __future__ import annotations

import numpy as np
import pytest

from mmm_runner.config.models import TrendConfig
from mmm_runner.model import hsgp


def _kernel(t: np.ndarray, amplitude: float, lengthscale: float) -> np.ndarray:
    d = t[:, None] - t[None, :]
    out: np.ndarray = amplitude**2 * np.exp(-0.5 * (d / lengthscale) ** 2)
    return out


@pytest.mark.parametrize("lengthscale", [20.0, 40.0, 90.0])
def test_the_basis_reproduces_the_kernel_over_the_data(lengthscale: float) -> None:
    """sum_j S(sqrt(lambda_j)) phi_j(t) phi_j(t') ~ k(t, t') for lengthscales the rule
    sizes the basis for (at or above the prior's 5% quantile)."""
    t = np.arange(156, dtype=float)
    dom = hsgp.domain(t, (20.0, 90.0), functions=None, boundary=None)
    phi = hsgp.basis(dom, t)
    sd = hsgp.spectral_sd(
        hsgp.eigenvalues(dom), np.array([1.3]), np.array([lengthscale / dom.half_range])
    )[0]
    approx = (phi * sd**2) @ phi.T
    exact = _kernel(t, 1.3, lengthscale)
    assert np.max(np.abs(approx - exact)) < 0.05 * 1.3**2


def test_the_size_follows_the_rule() -> None:
    t = np.arange(156, dtype=float)
    dom = hsgp.domain(t, (17.0, 88.0), functions=None, boundary=None)
    short, long = 17.0 / dom.half_range, 88.0 / dom.half_range
    assert dom.boundary == pytest.approx(3.2 * long)
    assert dom.functions == int(np.ceil(1.75 * dom.boundary / short))
    assert dom.span == 156
    assert dom.centre == 77.5
    narrow = hsgp.domain(t, (17.0, 20.0), None, None)  # the forecast reach sets the floor
    assert narrow.boundary == 1 + hsgp.FORECAST_REACH
    fixed = hsgp.domain(t, (17.0, 88.0), functions=9, boundary=2.0)
    assert (fixed.functions, fixed.boundary) == (9, 2.0)
    tiny = hsgp.domain(t, (0.01, 50.0), None, None)  # tiny lengthscales: m is capped
    assert tiny.functions == hsgp.MAX_BASIS


def test_the_default_lengthscale_prior_and_domain_come_from_the_fitted_span() -> None:
    t = np.arange(104, dtype=float)
    dom = hsgp.trend_domain(TrendConfig(type="gp"), t)
    prior = hsgp.lengthscale_prior(None, 104)
    assert prior.stan_args()[0] == pytest.approx(np.log(26.0), abs=1e-4)
    assert dom.covers(np.array([0.0, 103.0, 103.0 + 0.4 * dom.half_range]))
    assert not dom.covers(np.array([103.0 + 2 * dom.boundary * dom.half_range]))


def test_coefficient_sd_carries_the_column_scale_and_unit() -> None:
    t = np.arange(60, dtype=float)
    dom = hsgp.domain(t, (10.0, 40.0), None, None)
    eigen = hsgp.eigenvalues(dom)
    x_sd = np.linspace(0.5, 1.5, dom.functions)
    sd = hsgp.coefficient_sd(eigen, np.array([2.0]), np.array([12.0]), x_sd, dom, unit=3.0)
    base = hsgp.spectral_sd(eigen, np.array([6.0]), np.array([12.0 / dom.half_range]))
    np.testing.assert_allclose(sd, base * x_sd)
