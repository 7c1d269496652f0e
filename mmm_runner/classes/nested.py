"""Class ``nested``: media build mediators (brand awareness), mediators move the KPI
(``stan/network.stan`` with one outcome).

Each mediator has its own equation (intercept, the channels that build it, noise) and an
effect gamma on the KPI; every channel also acts on the KPI directly. A mediator is
observed every period, in some periods (a survey, with observation noise) or never
(latent: identified by its priors only). Transforms are shared: a channel's adstock and
saturation are the same on every path, so its total effect on the KPI is
``(beta_direct + sum of gamma * beta_mediator) * f(x)``. The pipeline's single-KPI
analysis (decomposition, ROI, budget) therefore runs on that total effect, and the
mediation tables split it into direct and indirect parts.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from mmm_runner.analysis import effects
from mmm_runner.analysis.effects import Decomposition
from mmm_runner.analysis.intervals import HIGH, LOW
from mmm_runner.analysis.posterior import Array, Posterior, flat, kpi_unit_of, original_scale
from mmm_runner.backend.fit import Draws
from mmm_runner.classes.base import ModelClass, Quantities, Variables
from mmm_runner.config.models import RunConfig
from mmm_runner.config.resolve import Collector, ModelSpec, did_you_mean
from mmm_runner.data.design import Design
from mmm_runner.model import network_data
from mmm_runner.model.stan_data import Layout
from mmm_runner.plotting import PlotJob

MIN_SURVEYS = 5  # observed fitted periods a partially observed mediator needs


class Nested(ModelClass):
    name = "nested"
    program = "network.stan"
    summary = "media -> mediators (e.g. brand awareness) -> KPI, with direct effects"
    mediators = True
    forecasts = False  # the mediators' future values are not in a plan yet
    selection = False  # stan/network.stan has no selection priors yet

    # --- validate -------------------------------------------------------------
    def config_rules(self, config: RunConfig, spec: ModelSpec, out: Collector) -> None:
        super().config_rules(config, spec, out)
        model = config.model
        if not model.mediators:
            out.add(
                ("model", "mediators"),
                "class nested needs at least one mediator",
                "list model.mediators (name, channels, observation), or use class blm",
            )
        if spec.lift_tests:
            out.add(
                ("calibration", "lift_tests"),
                "lift tests do not calibrate class nested yet",
                "drop the calibration section, or fit the KPI with class blm",
            )
        if model.population is not None:
            out.add(
                ("model", "population"),
                "population scaling is for panels; class nested fits one series",
                "remove model.population",
            )
        media = set(spec.media_names)
        taken = {
            spec.kpi: "the KPI",
            **{m.spend_column: "a spend column" for m in spec.media},
            **dict.fromkeys(spec.media_names, "a media channel"),
            **dict.fromkeys(spec.controls, "a control"),
        }
        seen: set[str] = set()
        for i, (given, m) in enumerate(zip(model.mediators, spec.mediators, strict=True)):
            at = ("model", "mediators", i)
            if m.name in seen:
                out.add((*at, "name"), f"mediator '{m.name}' is listed twice", "keep one entry")
            seen.add(m.name)
            if not m.channels:
                out.add(
                    (*at, "channels"),
                    f"mediator '{m.name}' has no channels: nothing builds it",
                    "name the media that build it, e.g. channels: [tv, social]",
                )
            for j, channel in enumerate(m.channels):
                if channel in m.channels[:j]:
                    out.add(
                        (*at, "channels", j),
                        f"'{channel}' is listed twice among the channels of '{m.name}'",
                        "list each channel once",
                    )
                elif channel not in media:
                    out.add(
                        (*at, "channels", j),
                        f"'{channel}' is not a media channel of the model",
                        did_you_mean(channel, media),
                    )
            if m.column is not None and m.column in taken:
                role = taken[m.column]
                out.add(
                    (*at, "column" if given.column else "name"),
                    f"mediator '{m.name}' reads column '{m.column}', which is {role}",
                    "a mediator is its own column (e.g. a brand-awareness survey); set "
                    "`column` to it",
                )
            if m.observation == "latent":
                missing = {"effect_prior", "media_prior"} - m.stated
                if isinstance(given.media_prior, dict):
                    unstated = [c for c in m.channels if c not in given.media_prior]
                    missing |= {f"media_prior for {', '.join(unstated)}"} if unstated else set()
                    missing -= {"media_prior"} if not unstated else set()
                if missing:
                    out.add(
                        at,
                        f"latent mediator '{m.name}' is never observed: the data cannot "
                        "separate its effect from the direct ones, so its priors decide it",
                        f"state informative {' and '.join(sorted(missing))} (e.g. "
                        "effect_prior: normal(0.5, 0.1), from a brand-lift study), or "
                        "observe it (observation: full or partial)",
                    )

    def data_rules(self, frame: pd.DataFrame, config: RunConfig, out: Collector) -> None:
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

    # --- fit ------------------------------------------------------------------
    def stan_data(self, design: Design, spec: ModelSpec, **options: bool) -> dict[str, Any]:
        return network_data.nested_data(design, spec, **options)

    def kpi_draws(self, draws: Draws) -> Draws:
        """The KPI's pointwise log density with the mediators integrated out (what a model
        of the KPI without mediators predicts too, so LOO compares like with like), its
        predictive draws and mean. The Stan CSVs keep the density given the mediators'
        observations (``log_lik_outcome``) and the joint one (``log_lik``)."""
        v = dict(draws.variables)
        n_mediators = v["med_mean"].shape[-1] if "med_mean" in v else 0
        v["log_lik"] = v["log_lik_marginal"][..., 0]
        v["y_rep"] = v["y_rep"][..., 0]
        if "mu_out" in v:
            v["mu_out"] = v["mu_out"][..., n_mediators]
        return Draws(
            draws.method, v, draws.sample_stats, draws.csv_files, draws.seconds, draws.details
        )

    def posterior_variables(self, variables: dict[str, Array], spec: ModelSpec) -> Variables:
        """The KPI equation in reduced form under the shared names (``alpha``, ``beta``
        per coefficient as total effects, ``sigma``), then every equation's own."""
        v, n_med = variables, len(spec.mediators)
        reduced = _reduced(v, spec)
        none = np.zeros((*v["alpha"].shape[:2], 0))
        return {
            "alpha": ([], reduced["alpha"]),
            "beta": (["coef"], reduced["beta"]),
            "theta": (["transform_param"], v.get("theta", none)),
            "sigma": ([], v["sigma"][..., n_med]),
            "alpha_eq": (["equation"], v["alpha"]),
            "sigma_eq": (["equation"], v["sigma"]),
            "beta_path": (["path"], v["beta"]),
            "gamma": (["mediator"], v["gamma"]),
            "nu": (["partial_mediator"], v.get("nu", none)),
        }

    def coordinates(self, spec: ModelSpec, names: Layout) -> dict[str, list[str]]:
        paths = network_data.nested_paths(spec)
        return {
            "equation": [*(m.name for m in spec.mediators), spec.kpi],
            "path": [f"{channel}->{target}" for channel, target in paths],
            "mediator": [m.name for m in spec.mediators],
            "partial_mediator": [m.name for m in spec.mediators if m.observation == "partial"],
        }

    def posterior(self, draws: Draws, spec: ModelSpec) -> Posterior:
        """The KPI equation in reduced form (each channel's coefficient is its total
        effect; the intercept includes the mediators' baselines), with the paths kept in
        ``pool`` for the mediation tables."""
        v = {k: flat(a) for k, a in draws.variables.items()}
        reduced = _reduced(v, spec)
        n_med, n_media = len(spec.mediators), len(spec.media)
        none = np.zeros((len(v["alpha"]), 0))
        post = Posterior.single(
            reduced["alpha"],
            reduced["beta"],
            v.get("theta", none),
            v["sigma"][:, n_med],
            draws.n_chains,
        )
        pool = {
            # what the priors are stated on: the KPI equation's own intercept, the direct
            # paths and the X coefficients (gates and prior plots compare them)
            "alpha_stated": v["alpha"][:, n_med],
            "beta_stated": np.concatenate(
                [v["beta"][:, :n_media], v.get("xcoef", np.zeros((len(v["alpha"]), 0)))],
                axis=1,
            ),
            "direct": v["beta"][:, :n_media],
            "indirect": reduced["indirect"],
            "gamma": v["gamma"],
            "alpha_med": v["alpha"][:, :n_med],
            "beta_med": v["beta"][:, n_media:],
            "sigma_med": v["sigma"][:, :n_med],
            "nu": v.get("nu", none),
            "med_mean": v.get("med_mean", np.zeros((len(v["alpha"]), 0, n_med))),
        }
        return replace(post, pool=pool)

    # --- explain --------------------------------------------------------------
    def quantities(
        self, post: Posterior, design: Design, spec: ModelSpec, names: Layout
    ) -> Quantities:
        out = original_scale(post, design, spec, names)
        kpi_unit = kpi_unit_of(design)
        out["sigma"] = ("noise", kpi_unit, post.sigma * design.y_sd)
        scales = network_data.mediator_scales(design)
        pool = post.pool
        for i, name in enumerate(spec.media_names):
            out[f"{name}.direct"] = (
                "media",
                f"{kpi_unit} at full saturation",
                pool["direct"][:, i] * design.y_sd,
            )
            indirect = pool["indirect"][:, :, i].sum(axis=1)
            if spec.mediators and np.any(indirect):
                out[f"{name}.indirect"] = (
                    "media",
                    f"{kpi_unit} at full saturation",
                    indirect * design.y_sd,
                )
                total = pool["direct"][:, i] + indirect
                out[f"{name}.mediated_share"] = ("mediation", "share", _share(indirect, total))
        at = 0
        for d, m in enumerate(spec.mediators):
            mean, sd = scales[d]
            unit = m.column or f"{m.name} (latent units)"
            out[f"{m.name}->{spec.kpi}"] = (
                "mediator",
                f"{kpi_unit} per {unit}",
                pool["gamma"][:, d] * design.y_sd / sd,
            )
            out[f"{m.name}.intercept"] = ("mediator", unit, mean + sd * pool["alpha_med"][:, d])
            out[f"sigma[{m.name}]"] = ("noise", unit, sd * pool["sigma_med"][:, d])
            for channel in m.channels:
                out[f"{channel}->{m.name}"] = (
                    "mediator",
                    f"{unit} at full saturation",
                    sd * pool["beta_med"][:, at],
                )
                at += 1
        partial = [d for d, m in enumerate(spec.mediators) if m.observation == "partial"]
        for i, d in enumerate(partial):
            name = spec.mediators[d].name
            out[f"{name}.observation_noise"] = ("noise", name, scales[d][1] * pool["nu"][:, i])
        return out

    def decompose(
        self, post: Posterior, design: Design, spec: ModelSpec, names: Layout
    ) -> Decomposition:
        """Channels' total effects, controls and baseline as for one KPI, plus each
        mediator's movement that media do not explain (observed periods only)."""
        curves = effects.media_curves(post, design, spec, names)
        extra = {}
        n_media = len(spec.media)
        for d, (m, (channels, at)) in enumerate(
            zip(spec.mediators, _mediator_paths(spec), strict=True)
        ):
            paths = post.pool["beta_med"][:, at - n_media : at - n_media + len(channels)]
            structural = post.pool["alpha_med"][:, d, None] + np.einsum(
                "dm,dmt->dt", paths, curves[:, channels, :]
            )
            surprise = post.pool["med_mean"][:, :, d] - structural
            extra[f"{m.name}_other"] = design.y_sd * post.pool["gamma"][:, d, None] * surprise
        return effects.decompose(post, design, spec, names, curves, extra)

    def extra_tables(
        self,
        post: Posterior,
        decomposition: Decomposition,
        design: Design,
        spec: ModelSpec,
        names: Layout,
    ) -> dict[str, pd.DataFrame]:
        return {
            "mediation.csv": mediation_totals(post, decomposition, design, spec),
            "mediation_timeseries.csv": mediation_series(post, decomposition, design, spec),
        }

    def extra_figures(self, tables: dict[str, pd.DataFrame], spec: ModelSpec) -> list[PlotJob]:
        return [("mediation_paths.png", "mediation_paths", (tables["mediation.csv"], spec.kpi))]


def _reduced(v: dict[str, Array], spec: ModelSpec) -> dict[str, Array]:
    """The KPI equation in reduced form, for draws of any leading shape: ``alpha`` (the
    KPI's intercept plus gamma times each mediator's), ``beta`` (each channel's direct
    plus mediated effect, then the X coefficients) and ``indirect`` (..., D, M)."""
    n_med, n_media = len(spec.mediators), len(spec.media)
    beta, gamma = v["beta"], v["gamma"]
    direct = beta[..., :n_media]
    indirect = np.zeros((*direct.shape[:-1], n_med, n_media))
    for d, (channels, at) in enumerate(_mediator_paths(spec)):
        indirect[..., d, channels] = gamma[..., d, None] * beta[..., at : at + len(channels)]
    xcoef = v.get("xcoef", np.zeros((*direct.shape[:-1], 0)))
    alpha = v["alpha"][..., n_med] + (gamma * v["alpha"][..., :n_med]).sum(axis=-1)
    total = direct + indirect.sum(axis=-2)
    return {"alpha": alpha, "beta": np.concatenate([total, xcoef], axis=-1), "indirect": indirect}


def _mediator_paths(spec: ModelSpec) -> list[tuple[list[int], int]]:
    """Per mediator: the media indices that build it and where its path coefficients
    start in ``beta`` (after the direct paths, one per channel)."""
    media = list(spec.media_names)
    out, at = [], len(media)
    for m in spec.mediators:
        out.append(([media.index(c) for c in m.channels], at))
        at += len(m.channels)
    return out


def _share(part: Array, total: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        share: Array = np.where(total != 0, part / total, np.nan)
    return share


def _paths(post: Posterior, spec: ModelSpec, i: int) -> dict[str, Array]:
    """Shares of channel i's total effect by path, per draw: direct, then each mediator."""
    direct = post.pool["direct"][:, i]
    via = post.pool["indirect"][:, :, i]
    total = direct + via.sum(axis=1)
    shares = {"direct": _share(direct, total)}
    for d, m in enumerate(spec.mediators):
        if i in [spec.media_names.index(c) for c in m.channels]:
            shares[f"via {m.name}"] = _share(via[:, d], total)
    return shares


def _row(values: Array) -> dict[str, float]:
    finite = values[np.isfinite(values)]
    if not finite.size:
        return {"mean": np.nan, "q05": np.nan, "q95": np.nan}
    return {
        "mean": float(finite.mean()),
        "q05": float(np.quantile(finite, LOW)),
        "q95": float(np.quantile(finite, HIGH)),
    }


def mediation_totals(
    post: Posterior, decomposition: Decomposition, design: Design, spec: ModelSpec
) -> pd.DataFrame:
    """Per channel, each path's contribution over the fitted periods (direct, via each
    mediator), the total and the proportion mediated, with 90% intervals."""
    rows = []
    fitted = design.fitted
    for i, name in enumerate(spec.media_names):
        total = decomposition.contributions[name][:, fitted].sum(axis=1)
        shares = _paths(post, spec, i)
        for path, share in shares.items():
            rows.append({"channel": name, "path": path, **_row(total * share)})
        rows.append({"channel": name, "path": "total", **_row(total)})
        mediated = 1.0 - shares["direct"]
        rows.append({"channel": name, "path": "proportion_mediated", **_row(mediated)})
    return pd.DataFrame(rows, columns=["channel", "path", "mean", "q05", "q95"])


def mediation_series(
    post: Posterior, decomposition: Decomposition, design: Design, spec: ModelSpec
) -> pd.DataFrame:
    """Per period and channel, each path's contribution (mean and 90% interval)."""
    frames = []
    dates = design.dates.strftime("%Y-%m-%d")
    for i, name in enumerate(spec.media_names):
        contribution = decomposition.contributions[name]
        for path, share in _paths(post, spec, i).items():
            part = contribution * np.nan_to_num(share)[:, None]
            frames.append(
                pd.DataFrame(
                    {
                        "date": dates,
                        "channel": name,
                        "path": path,
                        "mean": part.mean(axis=0),
                        "q05": np.quantile(part, LOW, axis=0),
                        "q95": np.quantile(part, HIGH, axis=0),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)
