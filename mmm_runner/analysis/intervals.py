"""The credible interval every table and figure reports: central 90%.

Columns named ``*_q05`` and ``*_q95`` come from here; change the levels here
and nowhere else.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
LOW, HIGH = 0.05, 0.95


def bounds(values: Array, axis: int = 0) -> tuple[Array, Array]:
    """The lower and upper interval limits over ``axis`` (the draws)."""
    return np.quantile(values, LOW, axis=axis), np.quantile(values, HIGH, axis=axis)


def mean_band(values: Array, axis: int = 0) -> tuple[Array, Array, Array]:
    """Mean and interval limits over ``axis``."""
    low, high = bounds(values, axis)
    return values.mean(axis=axis), low, high


def median_band(values: Array, axis: int = 0) -> tuple[Array, Array, Array]:
    """Median and interval limits over ``axis`` (for curves drawn as bands)."""
    low, high = bounds(values, axis)
    return np.median(values, axis=axis), low, high


def columns(name: str, draws: Array) -> dict[str, float]:
    """``{name, name_q05, name_q95}``: the mean and interval of one quantity's draws."""
    mean, low, high = mean_band(draws)
    return {name: float(mean), f"{name}_q05": float(low), f"{name}_q95": float(high)}


def summary(draws: Array) -> dict[str, float]:
    """``{mean, q05, q95}`` of one quantity's draws (JSON summaries)."""
    mean, low, high = mean_band(draws)
    return {"mean": float(mean), "q05": float(low), "q95": float(high)}
