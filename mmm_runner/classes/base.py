"""What a model class brings, and the additive single-KPI behaviour every class starts from.

A class is one module with one subclass of ``ModelClass``: its Stan program,
its config and data rules, its Stan-data builder, the mapping from draws to
named quantities on the original scale, its decomposition and what the budget
optimiser evaluates.  The pipeline asks the class; nothing outside
``mmm_runner.classes`` branches on a class name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import pandas as pd

from mmm_runner.analysis import calibration, effects
from mmm_runner.analysis.budget import Response
from mmm_runner.analysis.budget_response import build_response
from mmm_runner.analysis.effects import Decomposition
from mmm_runner.analysis.posterior import (
    Array,
    Posterior,
    base_variables,
    noise_scale,
    original_scale,
    single_posterior,
)
from mmm_runner.backend.fit import Draws
from mmm_runner.config.models import HierarchicalConfig, RunConfig
from mmm_runner.config.resolve import Collector, ModelSpec
from mmm_runner.data.design import Design
from mmm_runner.model.stan_data import Layout
from mmm_runner.plotting import PlotJob

Variables = dict[str, tuple[list[str], Array]]
Quantities = dict[str, tuple[str, str, Array]]


class ModelClass(ABC):
    """A model class: one generic Stan program and the maths around it.

    The defaults describe one additive KPI equation (media, controls, trend,
    seasonality) over one or more groups; subclasses override what differs.
    """

    name: ClassVar[str]
    program: ClassVar[str]  # file name in stan/
    summary: ClassVar[str]  # one line for docs and `mmm validate`
    panel: ClassVar[bool] = False  # fits several groups (data.group_column)
    mediators: ClassVar[bool] = False  # has mediator equations (model.mediators)
    # its program takes calibration.roi_priors and share_priors
    roi_priors: ClassVar[bool] = False
    several_outcomes: ClassVar[bool] = False  # fits model.outcomes (and cross-effects)
    # its program takes model.selection priors and a gp trend (integrated-out columns)
    selection: ClassVar[bool] = True
    # its program can split the likelihood over groups on threads (data `threads`)
    group_threads: ClassVar[bool] = False

    # --- validate -------------------------------------------------------------
    def config_rules(self, config: RunConfig, spec: ModelSpec, out: Collector) -> None:
        """Problems of a config that only this class has (collected, not raised)."""
        if not self.panel:
            self._single_series_rules(config, spec, out)
        if config.model.pooling.labels:
            out.add(
                ("model", "pooling"),
                "model.pooling applies only to model.class pooled",
                "remove it or set model.class: pooled",
            )
        for key, given in (("roi", spec.roi_priors), ("share", spec.share_priors)):
            if given and not self.roi_priors:
                out.add(
                    ("calibration", f"{key}_priors"),
                    f"{'ROI' if key == 'roi' else 'share'} priors apply to classes blm, "
                    f"pooled and hierarchical for now, not {self.name} (through mediators "
                    "and cross-effects a channel's ROI is not its coefficient times a "
                    "constant)",
                    "state the prior on the coefficient (priors:), or calibrate with a "
                    "lift test (calibration.lift_tests)",
                )
        if spec.selection and not self.selection:
            out.add(
                ("model", "selection"),
                f"selection priors apply to classes blm, pooled and hierarchical, not {self.name}",
                "remove model.selection, or give the controls informative priors (priors:)",
            )
        if spec.trend is not None and spec.trend.type == "gp" and not self.selection:
            out.add(
                ("model", "trend", "type"),
                f"a gp trend applies to classes blm, pooled and hierarchical, not {self.name}",
                "use a linear, piecewise or spline trend",
            )
        if spec.time_varying and not self.selection:
            first = next(i for i, m in enumerate(config.model.media) if m.time_varying)
            out.add(
                ("model", "media", first, "time_varying"),
                f"time-varying channels ({', '.join(spec.time_varying)}) apply to classes blm, "
                f"pooled and hierarchical, not {self.name}",
                "remove time_varying from the channels",
            )
        if spec.selection and config.fit.method != "mcmc":
            out.add(
                ("fit", "method"),
                f"a selection prior's posterior is far from normal, and its mode sits where "
                f"the shrunk effects are exactly zero: {config.fit.method} summarises it poorly",
                "use fit.method: mcmc for the inclusion probabilities",
                severity="warning",
            )
        if config.model.mediators and not self.mediators:
            out.add(
                ("model", "mediators"),
                f"model.mediators needs model.class nested or combined, not {self.name}",
                "set model.class: nested (combined with several outcomes), or remove "
                "model.mediators",
            )
        if not self.several_outcomes:
            self._one_outcome_rules(config, spec, out)
            for i, m in enumerate(config.model.media):
                if m.per_outcome:  # a channel's sets are one per outcome it acts on
                    out.add(
                        ("model", "media", i, "per_outcome"),
                        f"transforms per outcome apply to the classes with several outcomes "
                        f"(multivariate, combined), not {self.name}: it fits one KPI",
                        "remove per_outcome",
                    )

    def _one_outcome_rules(self, config: RunConfig, spec: ModelSpec, out: Collector) -> None:
        model = config.model
        in_formula = len(spec.outcomes) > 1 and not model.outcomes
        several = [
            (("model", "formula") if in_formula else ("model", "outcomes"), bool(spec.outcomes)),
            (("model", "cross_effects"), bool(model.cross_effects)),
            (("model", "correlated_errors"), model.correlated_errors is not None),
        ]
        for where, present in several:
            if present:
                what = "several outcomes (a + b ~ ...)" if in_formula else ".".join(where)
                out.add(
                    where,
                    f"{what} belong to the classes with several outcomes (multivariate, or "
                    f"combined with mediators), not {self.name}",
                    "set model.class: multivariate, or fit one KPI",
                )
                return

    def data_rules(self, frame: pd.DataFrame, config: RunConfig, out: Collector) -> None:
        """Problems of the data that only this class has (the frame is checked and sorted)."""
        return  # the additive classes need nothing beyond the shared data checks

    def _single_series_rules(self, config: RunConfig, spec: ModelSpec, out: Collector) -> None:
        model = config.model
        if config.data.group_column is not None:
            out.add(
                ("data", "group_column"),
                f"model.class {self.name} fits one series, but data.group_column is set",
                "use model.class: hierarchical for panels, or remove data.group_column",
            )
        if spec.varying or spec.crossed:
            out.add(
                ("model", "formula" if model.formula else "hierarchical"),
                f"group-varying terms need model.class hierarchical, not {self.name}",
                "set model.class: hierarchical",
            )
        if model.hierarchical != HierarchicalConfig():
            out.add(
                ("model", "hierarchical"),
                "model.hierarchical applies only to model.class hierarchical",
                "remove it or change model.class",
            )

    # --- fit ------------------------------------------------------------------
    def correlated(self, spec: ModelSpec) -> bool:
        """Whether the model's parameters correlate so that a dense metric pays
        (`fit.metric` auto; decision 0022)."""
        return False

    @abstractmethod
    def stan_data(self, design: Design, spec: ModelSpec, **options: bool) -> dict[str, Any]:
        """The data of the class's Stan program.

        ``options``: ``prior_only``, ``save_mu`` (write the linear predictor) and
        ``use_jacobian`` (False only for MAP, so the optimum is the mode of the
        parameters as their priors state them).
        """

    def kpi_draws(self, draws: Draws, design: Design, spec: ModelSpec) -> Draws:
        """The draws with the KPI's ``log_lik``, ``y_rep`` and ``mu_out`` as the pipeline
        reads them (programs with several equations pick the KPI's here)."""
        del design, spec  # one equation: its draws are the KPI's
        return draws

    def coordinates(self, spec: ModelSpec, names: Layout) -> dict[str, list[str]]:
        """Labels of the class's own posterior dimensions (beyond the shared ones)."""
        return {}

    def posterior_variables(
        self, variables: dict[str, Array], design: Design, spec: ModelSpec
    ) -> Variables:
        """The posterior group's variables, with their dimensions, for the netCDF."""
        return base_variables(variables)

    def posterior(self, draws: Draws, design: Design, spec: ModelSpec) -> Posterior:
        """The draws flattened over chains, in the layout the NumPy analysis works on."""
        del design, spec  # the additive classes need no more than the draws
        return single_posterior(draws)

    # --- explain --------------------------------------------------------------
    def quantities(
        self, post: Posterior, design: Design, spec: ModelSpec, names: Layout
    ) -> Quantities:
        """Every reported parameter on the original scale: name -> (kind, unit, draws)."""
        return {**original_scale(post, design, spec, names), **noise_scale(post, design)}

    def decompose(
        self, post: Posterior, design: Design, spec: ModelSpec, names: Layout
    ) -> Decomposition:
        """Each term's contribution per draw and row, adding up to the fit."""
        return effects.decompose(post, design, spec, names)

    def extra_tables(
        self,
        post: Posterior,
        decomposition: Decomposition,
        design: Design,
        spec: ModelSpec,
        names: Layout,
    ) -> dict[str, pd.DataFrame]:
        """Tables of 30_post_run that only this class writes, by file name."""
        return {}

    def model_lifts(
        self, post: Posterior, design: Design, spec: ModelSpec, names: Layout, curves: Array
    ) -> dict[str, Array]:
        """Each lift test's lift per draw as the model predicts it, by test name."""
        return calibration.model_lifts(post, design, spec, names, curves)

    def extra_figures(self, tables: dict[str, pd.DataFrame], spec: ModelSpec) -> list[PlotJob]:
        """Figures of the class's own tables (file name, figure function, arguments)."""
        return []

    # --- plan -----------------------------------------------------------------
    def budget_response(
        self,
        post: Posterior,
        design: Design,
        spec: ModelSpec,
        names: Layout,
        decomposition: Decomposition,
        horizon: int,
    ) -> tuple[Response, Array]:
        """What the budget optimiser evaluates, and the current plan's spend per channel."""
        return build_response(post, design, spec, names, decomposition, horizon)
