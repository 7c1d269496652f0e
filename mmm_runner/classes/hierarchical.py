"""Class ``hierarchical``: a panel of groups with partial pooling (``stan/hierarchical.stan``).

Rows are stacked group by group; chosen terms (and the intercept) vary by
group around population effects, each group has its own noise scale, and
transforms are shared or per group.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mmm_runner.analysis.posterior import (
    Array,
    Posterior,
    crossed_quantities,
    flat,
    group_quantities,
    original_scale,
    shrinkage_draws,
    shrinkage_variables,
    theta_draws,
)
from mmm_runner.backend.fit import Draws
from mmm_runner.classes.base import ModelClass, Quantities, Variables
from mmm_runner.config.models import RunConfig
from mmm_runner.config.resolve import Collector, ModelSpec
from mmm_runner.data.design import Design
from mmm_runner.model import stan_data
from mmm_runner.model.stan_data import Layout


class Hierarchical(ModelClass):
    name = "hierarchical"
    program = "hierarchical.stan"
    summary = "panel of groups (markets, regions): partial pooling of chosen effects"
    panel = True
    roi_priors = True
    group_threads = True

    def config_rules(self, config: RunConfig, spec: ModelSpec, out: Collector) -> None:
        super().config_rules(config, spec, out)
        if config.data.group_column is None:
            out.add(
                ("data", "group_column"),
                "a hierarchical model needs the column naming each row's group",
                "set data.group_column (e.g. market)",
            )
        varies = set(spec.varying).union(*(part.terms for part in spec.crossed))
        for key, priors in (("roi", spec.roi_priors), ("share", spec.share_priors)):
            for i, prior in enumerate(priors):
                if prior.channel in varies:
                    out.add(
                        ("calibration", f"{key}_priors", i, "channel"),
                        f"'{prior.channel}' varies by group: the prior is on its population "
                        f"{'ROI' if key == 'roi' else 'share'} (the population coefficient "
                        "over every group), around which the groups' own effects spread, so "
                        "roi.csv's 'all' row (their total) can differ from it",
                        "keep it if that is what you believe; a lift test in a group "
                        "informs that group's effect",
                        severity="warning",
                    )

    def data_rules(self, frame: pd.DataFrame, config: RunConfig, out: Collector) -> None:
        column = config.data.group_column
        if column is None or column not in frame:
            return
        n_groups = int(frame[column].nunique())
        if n_groups < 2:
            out.add(
                ("data", "group_column"),
                f"a hierarchical model needs at least 2 groups; '{column}' has {n_groups}",
                "use model.class blm for a single market",
            )

    def stan_data(self, design: Design, spec: ModelSpec, **options: bool) -> dict[str, Any]:
        return stan_data.hierarchical_data(design, spec, **options)

    def posterior_variables(
        self, variables: dict[str, Array], design: Design, spec: ModelSpec
    ) -> Variables:
        v = variables
        return {
            "alpha": ([], v["alpha"]),
            "beta": (["coef"], v["beta"]),
            "alpha_g": (["group"], v["alpha_g"]),
            "beta_g": (["group", "coef"], v["beta_g"]),
            "tau": (["group_effect"], v["tau"]),
            "theta": (["transform_set", "transform_param"], theta_draws(v, groups=True)),
            "sigma": (["group"], v["sigma"]),
            "cross_level": (["crossed_level"], _cross_level(v)),
            **shrinkage_variables(v),
        }

    def posterior(self, draws: Draws, design: Design, spec: ModelSpec) -> Posterior:
        v = draws.variables
        return Posterior(
            flat(v["alpha"]),
            flat(v["beta"]),
            flat(theta_draws(v, groups=True)),
            flat(v["sigma"]),
            flat(v["alpha_g"]),
            flat(v["beta_g"]),
            flat(v["tau"]),
            draws.n_chains,
            {"cross_level": flat(_cross_level(v)), **shrinkage_draws(v)},
        )

    def quantities(
        self, post: Posterior, design: Design, spec: ModelSpec, names: Layout
    ) -> Quantities:
        return {
            **original_scale(post, design, spec, names),
            **group_quantities(post, design, spec, names),
            **crossed_quantities(post, design, spec, names),
        }


def _cross_level(v: dict[str, Array]) -> Array:
    """The crossed levels' draws; Stan CSVs leave the variable out when there are none."""
    if "cross_level" in v:
        return v["cross_level"]
    return np.zeros((*v["alpha"].shape[:2], 0))
