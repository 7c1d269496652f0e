"""Media transforms: adstock (carry-over) and saturation (diminishing returns).

Each form is a small registered component: its parameters with their support
and default prior, the integer code the Stan programs switch on, and a NumPy
function vectorised over posterior draws.  The Stan versions live in
``stan/functions/transforms.stanfunctions`` and are tested against these to
1e-8.  Conventions shared with the Stan side:

* Media enter the transforms scaled by ``media_scale`` (the mean of the
  channel's non-zero values), so a typical active period is about 1.
* Adstock weights over lags ``0 .. l_max-1`` are normalised to sum to 1, so
  adstock redistributes a channel's exposure over time without creating or
  losing any (apart from what runs past the end of the series).
* Saturations map ``[0, inf)`` onto ``[0, 1)``, increasing, with
  ``f(0) = 0``; the channel coefficient is the effect at full saturation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
Params = Mapping[str, Array]


@dataclass(frozen=True)
class Param:
    """A transform parameter: its support and its default prior."""

    name: str
    lower: float
    upper: float
    default_prior: str
    description: str


@dataclass(frozen=True)
class Adstock:
    """A carry-over form: ``weights(params, l_max)`` has shape (draws, l_max)."""

    name: str
    code: int
    params: tuple[Param, ...]
    description: str
    weights: Callable[[Params, int], Array]
    uses_window: bool = True


@dataclass(frozen=True)
class Saturation:
    """A diminishing-returns form: ``apply(x, params)`` keeps x's shape."""

    name: str
    code: int
    params: tuple[Param, ...]
    description: str
    apply: Callable[[Array, Params], Array]


Kind = Literal["adstock", "saturation"]


def _lags(l_max: int) -> Array:
    return np.arange(l_max, dtype=float)[None, :]


def _normalise(raw: Array) -> Array:
    normalised: Array = raw / raw.sum(axis=-1, keepdims=True)
    return normalised


def _col(params: Params, name: str) -> Array:
    """A parameter as a column, so it broadcasts against lags or time."""
    return np.atleast_1d(np.asarray(params[name], dtype=float))[:, None]


def _none_weights(params: Params, l_max: int) -> Array:
    weights = np.zeros((1, l_max))
    weights[:, 0] = 1.0
    return weights


def _geometric_weights(params: Params, l_max: int) -> Array:
    return _normalise(_col(params, "decay") ** _lags(l_max))


def _delayed_weights(params: Params, l_max: int) -> Array:
    lag = _lags(l_max)
    return _normalise(_col(params, "decay") ** ((lag - _col(params, "peak")) ** 2))


def _weibull_weights(params: Params, l_max: int) -> Array:
    lag = _lags(l_max)
    shape, scale = _col(params, "shape"), _col(params, "scale")
    survival = np.exp(-((lag / scale) ** shape)) - np.exp(-(((lag + 1) / scale) ** shape))
    return _normalise(survival)


def _identity(x: Array, params: Params) -> Array:
    return np.asarray(x, dtype=float)


def _hill(x: Array, params: Params) -> Array:
    # x^S / (K^S + x^S) written as a logistic of log x: stable, and exactly 0 at 0.
    k, s = _col(params, "half_saturation"), _col(params, "shape")
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore"):
        logx = np.log(x)
    z = s * (logx - np.log(k))
    # The logistic as 0.5(1 + tanh(z/2)): no overflow, and no scipy.special import.
    hill: Array = np.where(x > 0, 0.5 * (1.0 + np.tanh(0.5 * z)), 0.0)
    return hill


def _logistic(x: Array, params: Params) -> Array:
    out: Array = 1.0 - np.exp(-_col(params, "rate") * np.asarray(x, dtype=float))
    return out


def _michaelis_menten(x: Array, params: Params) -> Array:
    x = np.asarray(x, dtype=float)
    return x / (_col(params, "half_saturation") + x)


def _tanh(x: Array, params: Params) -> Array:
    return np.tanh(np.asarray(x, dtype=float) / _col(params, "scale"))


def _log1p(x: Array, params: Params) -> Array:
    del params  # no parameters: the curvature is the logarithm's own
    out: Array = np.log1p(np.asarray(x, dtype=float))
    return out


INF = float("inf")

ADSTOCKS: dict[str, Adstock] = {
    a.name: a
    for a in (
        Adstock("none", 0, (), "No carry-over: the effect is immediate.", _none_weights, False),
        Adstock(
            "geometric",
            1,
            (
                Param(
                    "decay",
                    0.0,
                    1.0,
                    "beta(1, 3)",
                    "Share of the effect carried to the next period.",
                ),
            ),
            "Effect decays by a constant share each period (peak at lag 0).",
            _geometric_weights,
        ),
        Adstock(
            "delayed",
            2,
            (
                Param(
                    "decay", 0.0, 1.0, "beta(2, 2)", "How fast the effect fades around its peak."
                ),
                Param("peak", 0.0, INF, "gamma(2, 1)", "Lag (periods) of the largest effect."),
            ),
            "Effect peaks after a delay, weights decay^((lag - peak)^2).",
            _delayed_weights,
        ),
        Adstock(
            "weibull",
            3,
            (
                Param(
                    "shape",
                    0.0,
                    INF,
                    "gamma(2, 1)",
                    "Weibull shape k: k > 1 gives a delayed peak.",
                ),
                Param("scale", 0.0, INF, "gamma(2, 1)", "Weibull scale: roughly the typical lag."),
            ),
            "Weights from the Weibull distribution over lags (flexible delay and decay).",
            _weibull_weights,
        ),
    )
}

SATURATIONS: dict[str, Saturation] = {
    s.name: s
    for s in (
        Saturation("none", 0, (), "Linear response: no diminishing returns.", _identity),
        Saturation(
            "hill",
            1,
            (
                Param(
                    "half_saturation",
                    0.0,
                    INF,
                    "gamma(3, 3)",
                    "Scaled media level giving half the maximum effect.",
                ),
                Param("shape", 0.0, INF, "gamma(3, 2)", "Steepness: above 1 gives an S-curve."),
            ),
            "Hill curve x^S / (K^S + x^S).",
            _hill,
        ),
        Saturation(
            "logistic",
            2,
            (Param("rate", 0.0, INF, "gamma(2, 1)", "How fast returns diminish."),),
            "Exponential approach to the maximum: 1 - exp(-rate * x).",
            _logistic,
        ),
        Saturation(
            "michaelis_menten",
            3,
            (
                Param(
                    "half_saturation",
                    0.0,
                    INF,
                    "gamma(3, 3)",
                    "Scaled media level giving half the maximum effect.",
                ),
            ),
            "Michaelis-Menten curve x / (K + x) (a Hill curve with shape 1).",
            _michaelis_menten,
        ),
        Saturation(
            "tanh",
            4,
            (Param("scale", 0.0, INF, "gamma(3, 3)", "Scaled media level where returns bend."),),
            "Hyperbolic tangent tanh(x / scale).",
            _tanh,
        ),
        Saturation(
            "log1p",
            5,
            (),
            "Logarithm log(1 + x): with a log response, the coefficient is the elasticity "
            "with respect to 1 + x (the log-log specification); no ceiling.",
            _log1p,
        ),
    )
}


def component(kind: Kind, name: str) -> Adstock | Saturation:
    """A registered component by kind and name."""
    registry: Mapping[str, Adstock | Saturation] = ADSTOCKS if kind == "adstock" else SATURATIONS
    return registry[name]


def media_scale(x: npt.ArrayLike) -> float:
    """The divisor that puts a media series on the transforms' scale.

    The mean of the non-zero values; 1 for an all-zero series.
    """
    values = np.asarray(x, dtype=float)
    active = values[values > 0]
    return float(active.mean()) if active.size else 1.0


def apply_adstock(x: npt.ArrayLike, weights: Array) -> Array:
    """Convolves a series (..., T) with per-draw weights (draws, L) → (draws, ..., T).

    Periods before the start of the series count as zero exposure.
    """
    series = np.asarray(x, dtype=float)
    w = np.atleast_2d(weights)
    draws, window = w.shape
    out = np.zeros((draws, *series.shape))
    horizon = series.shape[-1]
    for lag in range(min(window, horizon)):
        coef = w[:, lag].reshape((draws,) + (1,) * series.ndim)
        out[..., lag:] += coef * series[..., : horizon - lag]
    return out


def transform(
    x: npt.ArrayLike,
    adstock: str,
    adstock_params: Params,
    saturation: str,
    saturation_params: Params,
    l_max: int,
) -> Array:
    """Saturation of adstock of a scaled media series, for every draw.

    Each form takes its own parameters (Weibull and tanh both have a ``scale``).
    """
    window = l_max if ADSTOCKS[adstock].uses_window else 1
    weights = ADSTOCKS[adstock].weights(adstock_params, window)
    carried = apply_adstock(x, weights)
    flat = carried.reshape(carried.shape[0], -1)
    saturated = SATURATIONS[saturation].apply(flat, saturation_params)
    return saturated.reshape((-1, *carried.shape[1:]))
