"""Time-series cross-validation: expanding-window folds and predictive scores.

Fold k trains on the first ``initial + (k - 1) * step`` fitted periods (dates,
shared by every group) and scores the next ``horizon`` periods, so no fold sees
its own future. The
scores compare the posterior predictive distribution with what happened:
RMSE and MAPE of its mean, CRPS of the whole distribution (lower is better;
in KPI units, it reduces to the absolute error for a point forecast), and the
share of actuals inside the 90% predictive interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mmm_runner.config.models import CvConfig

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Fold:
    number: int  # k from 1: trains on initial + (k - 1) * step periods
    train: int  # periods (dates) in the fit
    horizon: int  # periods scored after them


def plan(cv: CvConfig, periods: int) -> list[Fold]:
    """The folds that fit in ``periods`` fitted periods (the latest ``max_folds``)."""
    folds: list[Fold] = []
    train = cv.initial
    while train + cv.horizon <= periods:
        folds.append(Fold(len(folds) + 1, train, cv.horizon))
        train += cv.step
    if cv.max_folds is not None:
        folds = folds[-cv.max_folds :]
    return folds


def crps(draws: Array, actual: Array) -> Array:
    """Sample CRPS of each column of ``draws`` (draws, rows) against ``actual`` (rows).

    E|X - y| - E|X - X'| / 2, with the pairwise term from the sorted draws:
    sum_ij |x_i - x_j| = 2 sum_i (2i - n - 1) x_(i).
    """
    n = draws.shape[0]
    spread_to_actual = np.abs(draws - actual).mean(axis=0)
    ordered = np.sort(draws, axis=0)
    weights = 2 * np.arange(1, n + 1) - n - 1
    pairwise = 2 * (weights[:, None] * ordered).sum(axis=0) / n**2
    scores: Array = spread_to_actual - pairwise / 2
    return scores


def scores(draws: Array, actual: Array) -> dict[str, float]:
    """Predictive scores of draws (draws, rows) for the actual values (rows).

    One draw is a point forecast: its CRPS is the absolute error and it has no
    interval, so coverage is NaN.
    """
    mean = draws.mean(axis=0)
    low, high = np.quantile(draws, [0.05, 0.95], axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ape = np.abs(mean - actual) / np.abs(actual)
    return {
        "rmse": float(np.sqrt(np.mean((mean - actual) ** 2))),
        "mape": float(np.mean(ape[np.isfinite(ape)])) if np.isfinite(ape).any() else np.nan,
        "crps": float(crps(draws, actual).mean()),
        "coverage_90": float(np.mean((actual >= low) & (actual <= high)))
        if len(draws) > 1
        else np.nan,
    }
