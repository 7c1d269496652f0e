"""What the classes nested, multivariate and combined share: ``stan/network.stan``.

Media act on mediators (brand awareness) and on one or more outcomes (the KPI,
or products' sales); mediators act on outcomes (gamma) and outcomes on each
other (cross-effects psi). Transforms are shared: a channel's adstock and
saturation are the same on every path, unless the channel has transforms per
outcome (``per_outcome``: one parameter set per outcome it acts on directly).

The pipeline analyses one KPI: the outcomes' value-weighted total (the KPI
itself for one outcome). On the modelling scale that total is linear in every
outcome, so its equation in reduced form has one coefficient per channel
(direct plus mediated effects, weighted over the outcomes), one per column
and one intercept; decomposition, ROI, budget and gates run on it. What is
not in the reduced form is added as lines of the decomposition: each
mediator's movement that media do not explain, and each cross-effect. A
channel's contribution follows its effect through the cross-effects too (a
channel that lifts product A lifts what A's sales do to B), row by row with
their lags; the cross-effect lines keep the rest.

A channel with transforms per outcome acts on the total through several
transforms of its media, sum over k of w_k beta_k f_k(x). The posterior keeps
them as transform slots (``effects.MIX_THETA``, ``MIX_SHARE``): the channel's
curve is the mix of its slots' curves weighted by their shares of its
coefficient, so coefficient times curve is its effect on the total, and the
budget plans the sum of its transforms (``budget.Piece``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from mmm_runner.analysis import effects
from mmm_runner.analysis import network_tables as tables
from mmm_runner.analysis.budget import Response
from mmm_runner.analysis.budget_response import build_response
from mmm_runner.analysis.effects import Decomposition
from mmm_runner.analysis.network_effects import (
    carried_posterior,
    channel_flows,
    cross_average,
    cross_lines,
    mediator_lines,
    network_curves,
    network_lifts,
    outcome_curves,
    reduced,
    shape_of,
    stated,
    transform_slots,
)
from mmm_runner.analysis.posterior import (
    Array,
    Posterior,
    flat,
    kpi_unit_of,
    original_scale,
    transform_quantities,
)
from mmm_runner.backend.fit import Draws
from mmm_runner.classes.base import ModelClass, Quantities, Variables
from mmm_runner.classes.network_rules import mediator_rules, outcome_rules
from mmm_runner.config.models import RunConfig
from mmm_runner.config.resolve import Collector, ModelSpec
from mmm_runner.data.design import Design
from mmm_runner.model import network_data as nd
from mmm_runner.model.stan_data import Layout, layout

MIN_SURVEYS = 5  # observed fitted periods a partially observed mediator needs
MIN_LOO_DRAWS = 10  # draws below which per-outcome LOO is not computed


class Network(ModelClass):
    """The generic network class; subclasses state which parts a config may use."""

    program = "network.stan"
    selection = False  # stan/network.stan has no selection priors yet

    # --- validate -------------------------------------------------------------
    def config_rules(self, config: RunConfig, spec: ModelSpec, out: Collector) -> None:
        super().config_rules(config, spec, out)
        model = config.model
        if model.population is not None:
            out.add(
                ("model", "population"),
                f"population scaling is for panels; class {self.name} fits one series",
                "remove model.population",
            )
        if spec.log_response:
            out.add(
                ("model", "formula" if model.formula else "response"),
                f"class {self.name} models its equations on the KPI's own scale",
                "use response identity (log outcomes are not supported by the network classes)",
            )
        if self.mediators:
            mediator_rules(config, spec, out)
        if self.several_outcomes:
            outcome_rules(config, spec, out)

    def data_rules(self, frame: pd.DataFrame, config: RunConfig, out: Collector) -> None:
        fitted = len(frame) - config.data.holdout
        for i, cross in enumerate(config.model.cross_effects):
            if cross.lag >= fitted:
                out.add(
                    ("model", "cross_effects", i, "lag"),
                    f"lag {cross.lag} is not shorter than the {fitted} fitted periods: the "
                    "source never reaches the target inside the data",
                    "use a shorter lag",
                )
        for i, m in enumerate(config.model.mediators):
            column = m.column or m.name
            if m.observation == "latent" or column not in frame:
                continue
            values = pd.to_numeric(frame[column], errors="coerce")
            seen = int(values.notna().sum())
            if m.observation == "partial" and seen < MIN_SURVEYS:
                out.add(
                    ("model", "mediators", i, "observation"),
                    f"mediator '{m.name}' is observed in {seen} period(s); a partially "
                    f"observed mediator needs at least {MIN_SURVEYS}",
                    "add survey waves, or make it latent with informative priors",
                )
            elif seen and float(values.std(ddof=0)) == 0.0:
                out.add(
                    ("model", "mediators", i),
                    f"mediator '{m.name}' ({column}) is constant: it cannot carry effects",
                    "check the column, or remove the mediator",
                )
            surveyed = int(values.iloc[:fitted].notna().sum())
            sparse = m.observation == "partial" and MIN_SURVEYS <= surveyed < fitted / 2
            if sparse and m.effect_prior is None:
                # decision 0022: with 20% of weeks surveyed gamma spread from near 0 to
                # where the direct effects reach 0 (the truth's 0.52: posterior 0.28 ± 0.17)
                out.add(
                    ("model", "mediators", i, "effect_prior"),
                    f"mediator '{m.name}' is observed in {surveyed} of {fitted} fitted "
                    "periods and its effect has the default prior: the data barely separate "
                    "its effect from the channels' direct ones (wide intervals on its effect "
                    "and the mediated shares)",
                    "state an informative effect_prior (and media_prior), e.g. from a "
                    "brand-lift study, or survey more periods",
                    severity="warning",
                )

    # --- fit ------------------------------------------------------------------
    def correlated(self, spec: ModelSpec) -> bool:
        # An outcome's intercept trades with its coefficients and the cross-effects and
        # mediators feeding it: a dense metric takes half the leapfrog steps, with latent
        # and surveyed mediators too once their paths, noise and gammas are sampled as
        # the data see them (decision 0022). A surveyed mediator whose effect has the
        # default prior and no positive sign is not paired (its gamma has no wall): its
        # gamma, weakly identified, may near 0, where dense fits diverged; diag there.
        return not any(
            m.observation == "partial" and "effect_prior" not in m.stated and m.effect.lower != 0
            for m in spec.mediators
        )

    def stan_data(self, design: Design, spec: ModelSpec, **options: bool) -> dict[str, Any]:
        return nd.network_data(design, spec, **options)

    def kpi_draws(self, draws: Draws, design: Design, spec: ModelSpec) -> Draws:
        """The KPI's (the outcomes' total's) predictive draws and mean on its modelling
        scale, and the outcomes' joint log density with the mediators integrated out
        (what a model without mediators predicts too, so LOO compares like with like),
        in the outcomes' own units: the pipeline takes off log sd of the KPI."""
        v = dict(draws.variables)
        shape = shape_of(design, spec)
        n_med = len(spec.mediators)
        sds = np.array([sd for _, sd in shape.scales])
        jacobian = float(np.log(design.y_sd) - np.log(sds).sum())
        # one outcome: the program writes its density once, as log_lik_marginal
        several = len(shape.outcomes) > 1
        joint = v["log_lik_outcomes"] if several else v["log_lik_marginal"][..., 0]
        v["log_lik"] = joint + jacobian
        v["y_rep"] = v["y_rep"] @ shape.weights + shape.offset
        if "mu_out" in v:
            v["mu_out"] = v["mu_out"][..., n_med:] @ shape.weights + shape.offset
        return Draws(
            draws.method, v, draws.sample_stats, draws.csv_files, draws.seconds, draws.details
        )

    def posterior_variables(
        self, variables: dict[str, Array], design: Design, spec: ModelSpec
    ) -> Variables:
        """The KPI equation in reduced form under the shared names (``alpha``, ``beta``
        per coefficient as total effects, ``sigma``), then every equation's own."""
        v = variables
        lead = v["alpha"].shape[:2]
        none = np.zeros((*lead, 0))
        r = reduced(v, shape_of(design, spec), spec)
        theta = v.get("theta", none)
        n_theta = len(layout(design, spec).theta)
        out: Variables = {
            "alpha": ([], r.alpha),
            "beta": (["coef"], r.beta),
            # each channel's own set (a channel with transforms per outcome: its first
            # outcome's), then the further outcomes' sets
            "theta": (["transform_param"], theta[..., :n_theta]),
            "sigma": ([], r.sigma),
            "alpha_eq": (["equation"], v["alpha"]),
            "sigma_eq": (["equation"], v["sigma"]),
            "beta_path": (["path"], v["beta"]),
            "gamma": (["gamma_link"], v.get("gamma", none)),
            "nu": (["partial_mediator"], v.get("nu", none)),
        }
        if theta.shape[-1] > n_theta:  # transforms per outcome: the further sets
            out["theta_outcome"] = (["outcome_transform"], theta[..., n_theta:])
        if spec.outcomes:
            out["xcoef"] = (["x_link"], v.get("xcoef", none))
            out["psi"] = (["cross_effect"], v.get("psi", none))
            out["R"] = (["outcome", "outcome_"], v["R"])
        return out

    def coordinates(self, spec: ModelSpec, names: Layout) -> dict[str, list[str]]:
        outcomes = nd.outcome_names(spec)
        columns = names.beta[len(spec.media) :]
        mediators = [m.name for m in spec.mediators]
        labels = nd.set_labels(spec, names.theta, names.theta_start)
        return {
            "transform_param": labels[: len(names.theta)],
            "outcome_transform": labels[len(names.theta) :],
            "equation": [*mediators, *outcomes],
            "path": [f"{channel}->{target}" for channel, target in nd.network_paths(spec)],
            "gamma_link": [f"{mediators[d]}->{outcomes[k]}" for d, k in nd.gamma_links(spec)],
            "partial_mediator": [m.name for m in spec.mediators if m.observation == "partial"],
            "x_link": [
                f"{column}->{o.name}"
                for o in spec.outcomes
                for column, term in zip(columns, names.beta_terms[len(spec.media) :], strict=True)
                if term not in spec.controls or term in o.controls
            ],
            "cross_effect": [nd.cross_label(c) for c in spec.cross_effects],
            "outcome": outcomes,
            "outcome_": outcomes,
        }

    def posterior(self, draws: Draws, design: Design, spec: ModelSpec) -> Posterior:
        """The KPI equation in reduced form (each channel's coefficient is its effect on
        the value-weighted total, direct and mediated; the intercept includes the
        mediators' baselines), with every equation's own draws in ``pool``."""
        v = {k: flat(a) for k, a in draws.variables.items()}
        shape = shape_of(design, spec)
        r = reduced(v, shape, spec)
        n_draws, n_med, n_out = len(v["alpha"]), len(spec.mediators), len(shape.outcomes)
        none = np.zeros((n_draws, 0))
        theta = v.get("theta", none)
        names = layout(design, spec)
        n_theta = len(names.theta)
        post = Posterior.single(r.alpha, r.beta, theta[:, :n_theta], r.sigma, draws.n_chains)
        pool = {
            # transform slots of channels with transforms per outcome (effects.MIX_THETA)
            **transform_slots(theta, r, shape, spec, names),
            "theta_sets": theta,  # every feature set's parameters, in the program's order
            # what the priors are stated on, the outcomes' draws stacked (gates and prior
            # plots compare them with their priors)
            "alpha_stated": _stated_intercepts(v, design, spec, shape).T.reshape(-1),
            "beta_stated": stated(r, shape, spec),
            "direct": r.direct,  # (draws, K, M) per outcome, modelling scale of each
            "indirect": r.indirect,  # (draws, D, M) on the KPI, its modelling scale
            "via": r.via,  # (draws, D, K, M) per outcome
            "gamma": v.get("gamma", none),
            "gamma_matrix": r.gamma,
            "alpha_med": v["alpha"][:, :n_med],
            "alpha_out": v["alpha"][:, n_med:],
            "beta_med": r.beta_med,
            "sigma_med": v["sigma"][:, :n_med],
            "sigma_out": v["sigma"][:, n_med:],
            "xcoef_out": r.xcoef,
            "nu": v.get("nu", none),
            "psi": v.get("psi", none),
            "R": v["R"] if "R" in v else np.ones((n_draws, 1, 1)),
            "med_mean": v.get("med_mean", np.zeros((n_draws, 0, n_med))),
            "log_lik_outcome": v.get("log_lik_marginal", np.zeros((n_draws, 0, n_out))),
        }
        return replace(post, pool=pool)

    # --- explain --------------------------------------------------------------
    def quantities(
        self, post: Posterior, design: Design, spec: ModelSpec, names: Layout
    ) -> Quantities:
        out = original_scale(post, design, spec, names)
        labels = nd.set_labels(spec, names.theta, names.theta_start)
        if labels[: len(names.theta)] != list(names.theta):  # transforms per outcome
            for label in transform_quantities(names.theta, post.theta, design, spec):
                out.pop(label)
            out.update(transform_quantities(labels, post.pool["theta_sets"], design, spec))
        kpi_unit = kpi_unit_of(design)
        out["sigma"] = ("noise", kpi_unit, post.sigma * design.y_sd)
        shape = shape_of(design, spec)
        pool = post.pool
        several = bool(spec.outcomes)
        for i, name in enumerate(spec.media_names):
            direct = np.einsum("k,dk->d", shape.weights, pool["direct"][:, :, i])
            out[f"{name}.direct"] = (
                "media",
                f"{kpi_unit} at full saturation",
                direct * design.y_sd,
            )
            indirect = pool["indirect"][:, :, i].sum(axis=1)
            if spec.mediators and np.any(indirect):
                out[f"{name}.indirect"] = (
                    "media",
                    f"{kpi_unit} at full saturation",
                    indirect * design.y_sd,
                )
                out[f"{name}.mediated_share"] = (
                    "mediation",
                    "share",
                    tables.share(indirect, direct + indirect),
                )
        if several:
            out.update(tables.outcome_quantities(post, design, spec, shape, names))
        out.update(tables.mediator_quantities(post, design, spec, shape))
        return out

    def decompose(
        self, post: Posterior, design: Design, spec: ModelSpec, names: Layout
    ) -> Decomposition:
        """Channels' effects (through mediators and cross-effects), controls and baseline
        as for one KPI, plus each mediator's movement that media do not explain and each
        cross-effect's part that media do not explain."""
        shape = shape_of(design, spec)
        curves, by_outcome = network_curves(post, design, spec, shape, names)
        flows = channel_flows(post, design, spec, shape, curves, by_outcome)
        extra = mediator_lines(post, design, spec, shape, curves)
        extra.update(cross_lines(post, design, spec, shape, flows))
        parts = effects.decompose(post, design, spec, names, curves, extra)
        if not spec.cross_effects:
            return parts
        carried = dict(parts.parts)
        for i, name in enumerate(spec.media_names):
            carried[name] = design.y_sd * np.einsum(
                "k,dkt->dt", shape.weights, flows.total[:, :, i]
            )
        # identity response (the network classes refuse log): E[KPI] is the parts' sum
        expected = sum(carried.values())
        assert isinstance(expected, np.ndarray)
        return Decomposition(parts.curves, carried, carried, expected)

    def model_lifts(
        self, post: Posterior, design: Design, spec: ModelSpec, names: Layout, curves: Array
    ) -> dict[str, Array]:
        return network_lifts(post, design, spec, names, curves)

    def extra_tables(
        self,
        post: Posterior,
        decomposition: Decomposition,
        design: Design,
        spec: ModelSpec,
        names: Layout,
    ) -> dict[str, pd.DataFrame]:
        out: dict[str, pd.DataFrame] = {}
        if spec.mediators:
            out["mediation.csv"] = tables.mediation_totals(post, decomposition, design, spec)
            out["mediation_timeseries.csv"] = tables.mediation_series(
                post, decomposition, design, spec
            )
        if spec.outcomes:
            shape = shape_of(design, spec)
            by_outcome = outcome_curves(post, design, spec, shape, names)
            flows = channel_flows(post, design, spec, shape, decomposition.curves, by_outcome)
            out["outcome_effects.csv"] = tables.outcome_effects(design, spec, shape, flows)
            out["outcome_decomposition.csv"] = tables.outcome_series(design, spec, shape, flows)
            out["cross_effects.csv"] = tables.cross_table(post, design, spec, shape)
            if len(spec.outcomes) > 1 and spec.lkj_eta is not None:
                out["error_correlation.csv"] = tables.correlation_table(post, shape)
            if post.n_draws >= MIN_LOO_DRAWS:  # not for a point estimate (MAP)
                out["loo_outcomes.csv"] = tables.outcome_loo(post, shape)
        return out

    def extra_figures(self, tables: dict[str, pd.DataFrame], spec: ModelSpec) -> list[Any]:
        jobs: list[Any] = []
        if "mediation.csv" in tables and not spec.outcomes:
            jobs.append(
                ("mediation_paths.png", "mediation_paths", (tables["mediation.csv"], spec.kpi))
            )
        if "outcome_effects.csv" in tables:
            jobs.append(
                (
                    "network_paths.png",
                    "network_paths",
                    (tables["outcome_effects.csv"], tables["cross_effects.csv"]),
                )
            )
        return jobs

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
        """Each channel's effect as the reduced form gives it, scaled by how much the
        cross-effects carried it further over the fitted periods (1 without them); a
        channel with transforms per outcome has each transform's part scaled by its own."""
        if spec.cross_effects:
            post = carried_posterior(post, design, spec, names, decomposition)
        return build_response(post, design, spec, names, decomposition, horizon)


def _stated_intercepts(v: dict[str, Any], design: Design, spec: ModelSpec, shape: Any) -> Any:
    """Each outcome's intercept where its prior is stated: at its cross-effects' average
    regressors over the fitted rows (draws, K)."""
    n_med = len(spec.mediators)
    out = v["alpha"][:, n_med:].copy()
    if spec.cross_effects:
        average = cross_average(design, spec)
        for x, c in enumerate(spec.cross_effects):
            out[:, shape.outcomes.index(c.target)] += v["psi"][:, x] * average[x]
    return out
