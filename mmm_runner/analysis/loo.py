"""PSIS-LOO from the pointwise log likelihood (``log_lik``, on the KPI scale)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from mmm_runner.analysis.posterior import import_arviz

Array = npt.NDArray[np.float64]
K_GOOD, K_BAD = 0.5, 0.7


@dataclass(frozen=True)
class Loo:
    """elpd and friends, the pointwise values, and what ArviZ warned about."""

    elpd: float
    se: float
    p_loo: float
    n_obs: int
    n_draws: int
    pareto_k: Array
    loo_i: Array
    warning: str

    def summary(self) -> pd.DataFrame:
        """loo_summary.csv (one row)."""
        k = self.pareto_k
        return pd.DataFrame(
            [
                {
                    "elpd_loo": self.elpd,
                    "se": self.se,
                    "p_loo": self.p_loo,
                    "looic": -2 * self.elpd,
                    "n_obs": self.n_obs,
                    "n_draws": self.n_draws,
                    "k_good": int((k < K_GOOD).sum()),
                    "k_ok": int(((k >= K_GOOD) & (k <= K_BAD)).sum()),
                    "k_bad": int((k > K_BAD).sum()),
                    "k_max": float(k.max()),
                    "warning": self.warning,
                }
            ]
        )

    def pointwise(self, labels: list[str]) -> pd.DataFrame:
        """pareto_k.csv: k and the pointwise elpd of each fitted period."""
        band = np.where(
            self.pareto_k < K_GOOD, "good", np.where(self.pareto_k <= K_BAD, "ok", "bad")
        )
        return pd.DataFrame(
            {"obs": labels, "pareto_k": self.pareto_k, "band": band, "elpd_loo_i": self.loo_i}
        )


def compute(idata: Any) -> Loo:
    """PSIS-LOO of a posterior with a ``log_lik`` log-likelihood group."""
    az = import_arviz()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = az.loo(idata, pointwise=True, var_name="log_lik")
    notes = sorted({str(w.message).splitlines()[0] for w in caught})
    return Loo(
        elpd=float(result["elpd_loo"]),
        se=float(result["se"]),
        p_loo=float(result["p_loo"]),
        n_obs=int(result["n_data_points"]),
        n_draws=int(result["n_samples"]),
        pareto_k=np.asarray(result["pareto_k"].values, dtype=float),
        loo_i=np.asarray(result["loo_i"].values, dtype=float),
        warning="; ".join(notes),
    )
