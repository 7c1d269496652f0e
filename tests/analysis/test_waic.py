"""WAIC on synthetic log likelihoods with answers known by hand (no compiler, no sampling)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from scipy import special, stats

from mmm_runner.analysis import loo, waic


def _az() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import arviz as az
    return az


def _idata(log_lik: np.ndarray) -> Any:
    """A posterior whose only content that matters is log_lik, (chains, draws, obs)."""
    chains, draws, _ = log_lik.shape
    return _az().from_dict(
        posterior={"mu": np.zeros((chains, draws))},
        log_likelihood={"log_lik": log_lik},
        dims={"log_lik": ["obs"]},
    )


def test_waic_matches_a_direct_numpy_calculation() -> None:
    rng = np.random.default_rng(3)
    log_lik = rng.normal(-1.5, 0.3, size=(4, 250, 40))
    result = waic.compute(_idata(log_lik))
    flat = log_lik.reshape(1000, 40)
    lppd_i = special.logsumexp(flat, axis=0) - np.log(1000)  # log mean_s exp(ll_si)
    var_i = flat.var(axis=0)  # ddof 0, as ArviZ
    elpd_i = lppd_i - var_i
    assert result.elpd == pytest.approx(elpd_i.sum(), abs=1e-8)
    assert result.p_waic == pytest.approx(var_i.sum(), abs=1e-8)
    assert result.se == pytest.approx(np.sqrt(40 * elpd_i.var()), abs=1e-8)
    np.testing.assert_allclose(result.waic_i, elpd_i, atol=1e-8)
    np.testing.assert_allclose(result.var_lpd, var_i, atol=1e-12)
    assert (result.n_obs, result.n_draws) == (40, 1000)
    row = result.summary().iloc[0]
    assert row["waic"] == pytest.approx(-2 * row["elpd_waic"])
    assert row["var_high"] == 0  # var about 0.09 everywhere
    assert row["warning"] == ""


def test_waic_agrees_with_psis_loo_on_a_well_specified_model() -> None:
    # y_i ~ N(mu, 1) with a flat prior: the posterior of mu is N(mean(y), 1/n), drawn exactly.
    rng = np.random.default_rng(2026)
    n, chains, draws = 100, 4, 1000
    y = rng.normal(2.0, 1.0, size=n)
    mu = rng.normal(y.mean(), 1 / np.sqrt(n), size=(chains, draws))
    log_lik = stats.norm.logpdf(y, loc=mu[..., None], scale=1.0)
    idata = _idata(log_lik)
    w, psis = waic.compute(idata), loo.compute(idata)
    # Exact LOO: leaving y_i out, y_i ~ N(mean(y_-i), 1 + 1/(n - 1)).
    rest = (y.sum() - y) / (n - 1)
    exact = stats.norm.logpdf(y, loc=rest, scale=np.sqrt(1 + 1 / (n - 1))).sum()
    assert abs(w.elpd - psis.elpd) < 0.5
    assert w.se == pytest.approx(psis.se, rel=0.05)
    assert abs(w.elpd - exact) < 0.5
    assert w.p_waic == pytest.approx(1.0, abs=0.2)  # one parameter
    assert w.warning == psis.warning == ""


def test_large_variance_terms_are_recorded_not_raised() -> None:
    rng = np.random.default_rng(5)
    log_lik = rng.normal(-1.0, 0.1, size=(2, 500, 30))
    log_lik[..., [3, 17]] = rng.normal(-5.0, 3.0, size=(2, 500, 2))  # var about 9
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing may escape compute
        result = waic.compute(_idata(log_lik))
    row = result.summary().iloc[0]
    assert row["var_high"] == 2
    assert row["var_max"] > 4
    assert "posterior variance of the log predictive densities exceeds 0.4" in row["warning"]
