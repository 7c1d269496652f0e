"""The lift each lift test measured against the lift the fitted model predicts.

The model's lift is rebuilt in NumPy from the posterior (the twin of the Stan
programs' ``lift_pred``; a test checks the two agree): the channel's
coefficient in the test's group times its saturated adstock with the test's
spend change minus as it ran, over the measured periods.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from mmm_runner.analysis.effects import media_curves
from mmm_runner.analysis.intervals import HIGH, LOW
from mmm_runner.analysis.posterior import Posterior
from mmm_runner.config.resolve import ModelSpec
from mmm_runner.data.design import Design
from mmm_runner.model import calibration
from mmm_runner.model.stan_data import Layout

Array = npt.NDArray[np.float64]


def model_lifts(
    post: Posterior, design: Design, spec: ModelSpec, names: Layout, curves: Array
) -> dict[str, Array]:
    """Each test's lift per draw (KPI units), by test name; ``curves`` as the fit's."""
    out = {}
    for test in calibration.place(design, spec):
        changed = calibration.changed_media(design, test) / design.media_scale
        with_change = media_curves(post, design, spec, names, changed)
        gain = with_change[:, test.channel, test.measured] - curves[:, test.channel, test.measured]
        coefficient = post.beta_g[:, test.group, test.channel]
        out[test.name] = design.y_sd * coefficient * gain.sum(axis=1)
    return out


def lift_table(design: Design, spec: ModelSpec, lifts: dict[str, Array]) -> pd.DataFrame:
    """calibration.csv: each test as measured and as the model predicts it (``lifts``:
    the model class's lift draws by test name)."""
    rows = []
    for test in calibration.place(design, spec):
        draws = lifts[test.name]
        t = test.test
        spread = float(np.sqrt(t.se**2 + draws.var()))
        rows.append(
            {
                "test": test.name,
                "channel": t.channel,
                "group": design.group_names[test.group] if t.group is not None else "all",
                "start": str(t.start),
                "end": str(t.end),
                "measured_until": str(t.measured_until or t.end),
                "outcome": t.outcome or spec.kpi,
                "spend_change": t.spend_change,
                "measured_lift": t.lift,
                "measured_se": t.se,
                "model_lift": float(draws.mean()),
                "model_q05": float(np.quantile(draws, LOW)),
                "model_q95": float(np.quantile(draws, HIGH)),
                "z": (float(draws.mean()) - t.lift) / spread if spread > 0 else np.nan,
            }
        )
    return pd.DataFrame(rows)
