"""WAIC from the pointwise log likelihood (``log_lik``, on the KPI scale), beside PSIS-LOO."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from mmm_runner.analysis.posterior import import_arviz

Array = npt.NDArray[np.float64]
# ArviZ warns when any posterior variance of the log predictive density exceeds this
# (Vehtari, Gelman and Gabry 2017): WAIC may then be failing, and PSIS-LOO is the better guide.
VAR_HIGH = 0.4


@dataclass(frozen=True)
class Waic:
    """elpd_waic and friends, the pointwise variance terms, and what ArviZ warned about."""

    elpd: float
    se: float
    p_waic: float
    n_obs: int
    n_draws: int
    var_lpd: Array  # var over draws of log_lik_i: the pointwise penalty terms
    waic_i: Array  # pointwise elpd_waic
    warning: str

    def summary(self) -> pd.DataFrame:
        """waic_summary.csv (one row)."""
        return pd.DataFrame(
            [
                {
                    "elpd_waic": self.elpd,
                    "se": self.se,
                    "p_waic": self.p_waic,
                    "waic": -2 * self.elpd,
                    "n_obs": self.n_obs,
                    "n_draws": self.n_draws,
                    "var_high": int((self.var_lpd > VAR_HIGH).sum()),
                    "var_max": float(self.var_lpd.max()),
                    "warning": self.warning,
                }
            ]
        )


def compute(idata: Any) -> Waic:
    """WAIC of a posterior with a ``log_lik`` log-likelihood group.

    ArviZ's warnings (large variance terms) are recorded in ``warning``, never raised.
    """
    az = import_arviz()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = az.waic(idata, pointwise=True, var_name="log_lik", scale="log")
    notes = sorted({str(w.message).splitlines()[0].strip() for w in caught})
    log_lik = np.asarray(idata.log_likelihood["log_lik"].values, dtype=float)
    draws = log_lik.reshape(log_lik.shape[0] * log_lik.shape[1], -1)
    return Waic(
        elpd=float(result["elpd_waic"]),
        se=float(result["se"]),
        p_waic=float(result["p_waic"]),
        n_obs=int(result["n_data_points"]),
        n_draws=int(result["n_samples"]),
        var_lpd=draws.var(axis=0),  # ddof 0, as ArviZ
        waic_i=np.asarray(result["waic_i"].values, dtype=float).ravel(),
        warning="; ".join(notes),
    )
