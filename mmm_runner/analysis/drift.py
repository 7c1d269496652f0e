"""time_varying_effects.csv: each time-varying channel's effectiveness per period.

The multiplier (1 on average over the fitted periods, on the log scale) scales the
channel's effect in that period; the coefficient is its average effectiveness. One path
serves every group of a panel, so the table lists periods of the first series. Periods
after the fit hold the latest multiplier (``hsgp.drift_basis``).
"""

from __future__ import annotations

import pandas as pd

from mmm_runner.analysis.intervals import mean_band
from mmm_runner.analysis.posterior import Posterior
from mmm_runner.config.resolve import ModelSpec
from mmm_runner.data.design import Design
from mmm_runner.model import hsgp


def drift_table(post: Posterior, design: Design, spec: ModelSpec) -> pd.DataFrame:
    """channel, date, fitted, multiplier (mean) with its 90% interval."""
    drift = hsgp.drift_multipliers(design, spec, post.pool)  # (D, n_tvp, rows)
    rows = design.group == 0
    frames = []
    for i, name in enumerate(spec.time_varying):
        mean, low, high = mean_band(drift[:, i, rows])
        frames.append(
            pd.DataFrame(
                {
                    "channel": name,
                    "date": design.dates[rows].strftime("%Y-%m-%d"),
                    "fitted": design.fitted[rows],
                    "multiplier": mean,
                    "multiplier_q05": low,
                    "multiplier_q95": high,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
