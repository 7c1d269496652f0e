"""Prior distributions as SciPy objects, truncated to a parameter's bounds.

Used for prior-versus-posterior plots, the prior-contraction gate and the
boundary gate (how much of the prior's mass lies next to a bound).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from mmm_runner.config.notation import Distribution

Array = npt.NDArray[np.float64]


def frozen(dist: Distribution) -> Any:
    """The SciPy distribution of a prior (before truncation)."""
    from scipy import stats  # half a second to import: only runs that judge priors pay it

    a = dist.args
    makers = {
        "normal": lambda: stats.norm(a[0], a[1]),
        "student_t": lambda: stats.t(a[0], a[1], a[2]),
        "cauchy": lambda: stats.cauchy(a[0], a[1]),
        "lognormal": lambda: stats.lognorm(s=a[1], scale=np.exp(a[0])),
        "gamma": lambda: stats.gamma(a[0], scale=1 / a[1]),
        "beta": lambda: stats.beta(a[0], a[1]),
        "exponential": lambda: stats.expon(scale=1 / a[0]),
        "half_normal": lambda: stats.norm(0, a[0]),
        "half_student_t": lambda: stats.t(a[0], 0, a[1]),
        "uniform": lambda: stats.uniform(a[0], a[1] - a[0]),
        "half_cauchy": lambda: stats.cauchy(0, a[0]),
    }
    return makers[dist.family]()


class Truncated:
    """A prior restricted to [lower, upper] (the parameter's bounds)."""

    def __init__(self, dist: Distribution, lower: float, upper: float) -> None:
        self.rv = frozen(dist)
        self.lower, self.upper = lower, upper
        self.f_low = float(self.rv.cdf(lower))
        self.f_high = float(self.rv.cdf(upper))
        self.mass = self.f_high - self.f_low

    def cdf(self, x: Array) -> Array:
        """The truncated prior's CDF at x."""
        inside = (np.asarray(self.rv.cdf(x)) - self.f_low) / self.mass
        return np.clip(inside, 0.0, 1.0)

    def sample(self, n: int, seed: int) -> Array:
        """n draws by inverse CDF (reproducible for a seed)."""
        u = np.random.default_rng(seed).uniform(self.f_low, self.f_high, n)
        return np.asarray(self.rv.ppf(u), dtype=float)

    def variance(self, seed: int = 0) -> float:
        """The truncated prior's variance (by 20 000 draws; heavy tails give large values)."""
        return float(np.var(self.sample(20_000, seed)))
