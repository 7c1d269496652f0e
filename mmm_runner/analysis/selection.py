"""Which precision controls the selection prior kept: ``selection.csv``.

Each selected control gets an inclusion score per draw from the NumPy twins of
the programs' ``sel_inclusion`` (a test checks the two agree), averaged over
draws:

* spike_slab: the slab's responsibility for the coefficient's value, so the
  average is the posterior inclusion probability (PIP), with the indicator
  summed out (Rao-Blackwellised);
* horseshoe: the share of draws with 1 - kappa > 1/2, kappa the shrinkage
  factor of the coefficient's posterior mean towards zero: the probability
  that the data outweigh the prior (the mean of 1 - kappa stays near its prior
  mean D0 / D for a null effect, so it reads the prior more than the data);
* lasso: the share of draws whose |coefficient| is above ``threshold``.

The evidence bands are the mmm_framework guide's for PIPs.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pandas as pd

from mmm_runner.analysis.intervals import columns, mean_band
from mmm_runner.analysis.posterior import Posterior, kpi_unit_of
from mmm_runner.config.resolve import ModelSpec
from mmm_runner.data.design import Design
from mmm_runner.model import selection
from mmm_runner.model.stan_data import Layout

Array = npt.NDArray[np.float64]

# Lower edges of the evidence bands (inclusion above the edge), strongest first.
EVIDENCE = ((0.75, "strong"), (0.5, "moderate"), (0.25, "weak"), (-math.inf, "little"))

MEASURE = {
    "horseshoe": "P(1 - shrinkage factor > 0.5)",
    "spike_slab": "posterior inclusion probability",
    "lasso": "P(|coefficient| > threshold)",
}


def evidence(inclusion: float) -> str:
    """The evidence band of an inclusion score."""
    return next(band for edge, band in EVIDENCE if inclusion > edge)


def inclusion_draws(post: Posterior, design: Design, spec: ModelSpec, names: Layout) -> Array:
    """Each selected coefficient's inclusion per draw, (draws, selected)."""
    sel = spec.selection
    assert sel is not None, "inclusion of a model without model.selection"
    fields = selection.stan_fields(design, spec, names.selected)
    no_rate = np.full(post.n_draws, 0.5)  # only spike_slab has a rate
    return selection.selection_inclusion(
        fields["sel_prior"],
        post.beta[:, list(names.selected)],
        post.pool["sel_scale"],
        post.sigma,
        np.asarray(fields["sel_x_var"]),
        int(design.fitted.sum()),
        post.pool["ss_rate"][:, 0] if "ss_rate" in post.pool else no_rate,
        sel.spike_scale,
        sel.slab_scale,
        sel.threshold,
    )


def selection_table(
    post: Posterior, design: Design, spec: ModelSpec, names: Layout
) -> pd.DataFrame:
    """selection.csv: per selected control its inclusion, evidence band and coefficient
    (original scale, KPI per unit of the control) with its 90% interval, and the effect
    of a one-sd change of the control (KPI units, comparable across controls)."""
    sel = spec.selection
    assert sel is not None, "selection.csv of a model without model.selection"
    inclusion = inclusion_draws(post, design, spec, names).mean(axis=0)
    m = len(spec.media)
    spread = design.x_raw[design.fitted].std(axis=0)
    rows = []
    for i, j in enumerate(names.selected):
        per_unit = post.beta[:, j] * design.y_sd / design.x_sd[j - m]
        mean, low, high = mean_band(per_unit)
        rows.append(
            {
                "term": names.beta[j],
                "prior": sel.prior,
                "measure": MEASURE[sel.prior],
                "inclusion": float(inclusion[i]),
                "evidence": evidence(float(inclusion[i])),
                "mean": float(mean),
                "q05": float(low),
                "q95": float(high),
                "unit": f"{kpi_unit_of(design)} per unit",
                **columns("per_sd", per_unit * spread[j - m]),
            }
        )
    return pd.DataFrame(rows)
