"""Cross-validation folds and scores against closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from mmm_runner.analysis import cv
from mmm_runner.config.models import CvConfig


def test_expanding_folds_fit_in_the_fitted_periods() -> None:
    folds = cv.plan(CvConfig(initial=104, horizon=13, step=13), periods=156)
    assert [f.train for f in folds] == [104, 117, 130, 143]
    assert all(f.train + f.horizon <= 156 for f in folds)
    assert [f.number for f in folds] == [1, 2, 3, 4]


def test_max_folds_keeps_the_latest() -> None:
    folds = cv.plan(CvConfig(initial=104, horizon=13, step=13, max_folds=2), periods=156)
    assert [(f.number, f.train) for f in folds] == [(3, 130), (4, 143)]  # numbers kept


def test_no_fold_when_the_window_does_not_fit() -> None:
    assert cv.plan(CvConfig(initial=150, horizon=13), periods=156) == []


def _normal_crps(mu: float, sigma: float, y: float) -> float:
    """Closed form (Gneiting and Raftery 2007)."""
    z = (y - mu) / sigma
    return float(
        sigma * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi))
    )


@pytest.mark.parametrize("y", [-1.5, 0.0, 0.7, 3.0])
def test_sample_crps_matches_the_normal_closed_form(y: float) -> None:
    # Evenly spaced quantiles: a sample without Monte Carlo noise.
    n = 20_000
    draws = stats.norm.ppf((np.arange(n) + 0.5) / n, loc=2.0, scale=1.5)[:, None]
    estimate = cv.crps(draws, np.array([y]))[0]
    assert estimate == pytest.approx(_normal_crps(2.0, 1.5, y), abs=1e-3)


def test_crps_of_a_point_forecast_is_the_absolute_error() -> None:
    assert cv.crps(np.array([[3.0, 5.0]]), np.array([1.0, 6.0])).tolist() == [2.0, 1.0]


def test_scores_of_a_known_predictive() -> None:
    rng = np.random.default_rng(2)
    actual = np.array([10.0, 20.0, 30.0, 40.0])
    draws = actual + 2.0 + rng.normal(0, 1, size=(20_000, 4))  # biased by +2
    scores = cv.scores(draws, actual)
    assert scores["rmse"] == pytest.approx(2.0, abs=0.02)
    assert scores["mape"] == pytest.approx(np.mean(2.0 / actual), rel=0.01)
    # P(actual inside the 5-95% band of N(actual + 2, 1)) = 0: 2 sd > 1.645 sd.
    assert scores["coverage_90"] == 0.0
    assert scores["crps"] == pytest.approx(_normal_crps(2.0, 1.0, 0.0), abs=0.02)
