"""Class ``pooled``: sub-channels pooled toward their label's mean (``stan/blm.stan``).

The single-market program with pooling labels as data: each labelled media
term's effect at its typical level is log-normal around its labels' levels.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from mmm_runner.analysis import decomposition as tables
from mmm_runner.analysis.effects import Decomposition
from mmm_runner.analysis.posterior import (
    Array,
    Posterior,
    base_variables,
    flat,
    label_quantities,
    single_posterior,
)
from mmm_runner.backend.fit import Draws
from mmm_runner.classes.base import Quantities, Variables
from mmm_runner.classes.blm import Blm
from mmm_runner.config.models import RunConfig
from mmm_runner.config.resolve import Collector, ModelSpec, did_you_mean
from mmm_runner.data.design import Design
from mmm_runner.model.stan_data import Layout

POOL_VARIABLES = ("pool_mu", "pool_z", "pool_tau", "pool_sigma")


class Pooled(Blm):
    name = "pooled"
    summary = "single market whose sub-channels are pooled toward their label's mean"

    def config_rules(self, config: RunConfig, spec: ModelSpec, out: Collector) -> None:
        model = config.model
        self._single_series_rules(config, spec, out)
        if not model.pooling.labels:
            out.add(
                ("model", "pooling", "labels"),
                "a pooled model needs labels for its media terms",
                "add e.g. pooling: {labels: {search_brand: {channel: search}}}",
            )
        media = {m.name for m in model.media}
        for term in model.pooling.labels:
            if term not in media:
                out.add(
                    ("model", "pooling", "labels", term),
                    f"'{term}' is not a media channel",
                    did_you_mean(term, media),
                )
        for i, m in enumerate(model.media):
            if m.name not in spec.pooling:
                continue
            if m.sign != "positive":
                out.add(
                    ("model", "media", i, "sign"),
                    f"pooled channel '{m.name}' must have "
                    "sign positive (pooling is on the log scale of its effect)",
                    "remove `sign: any`, or drop it from model.pooling.labels",
                )
            if spec.coefficients[m.name].source != "default":
                out.add(
                    ("model", "pooling", "labels", m.name),
                    f"pooled channel '{m.name}' has its own prior; pooling replaces it",
                    "remove its prior line",
                )

    def posterior_variables(
        self, variables: dict[str, Array], design: Design, spec: ModelSpec
    ) -> Variables:
        out = base_variables(variables)
        if variables.get("pool_z") is not None and variables["pool_z"].size:
            out.update(
                pool_mu=([], variables["pool_mu"][..., 0]),
                pool_z=(["label"], variables["pool_z"]),
                pool_tau=(["label_dimension"], variables["pool_tau"]),
                pool_sigma=([], variables["pool_sigma"][..., 0]),
            )
        return out

    def posterior(self, draws: Draws, design: Design, spec: ModelSpec) -> Posterior:
        v = draws.variables
        post = single_posterior(draws)
        pool = {k: flat(v[k]) for k in POOL_VARIABLES if k in v and v[k].size}
        return replace(post, pool={**post.pool, **pool}) if pool else post

    def quantities(
        self, post: Posterior, design: Design, spec: ModelSpec, names: Layout
    ) -> Quantities:
        return {
            **super().quantities(post, design, spec, names),
            **label_quantities(post, design, names),
        }

    def extra_tables(
        self,
        post: Posterior,
        decomposition: Decomposition,
        design: Design,
        spec: ModelSpec,
        names: Layout,
    ) -> dict[str, pd.DataFrame]:
        return {
            "decomp_labels.csv": tables.label_totals(decomposition.contributions, design, spec)
        }
