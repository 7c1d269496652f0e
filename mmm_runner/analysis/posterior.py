"""The posterior as ArviZ data, and its parameters on the original scale.

The analysis layer works from here: arrays and the design, never a sampler
object.  ``log_lik`` is stored on the original KPI scale (the modelling
scale's density with the Jacobian of standardisation and, for log-response
models, of the log), so LOO is comparable across runs that model the same
KPI differently.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from mmm_runner.atomic import replacing
from mmm_runner.backend.fit import Draws
from mmm_runner.config.resolve import ModelSpec
from mmm_runner.data.design import Design
from mmm_runner.model.hsgp import latest_drift, response_unit
from mmm_runner.model.stan_data import Layout

Array = npt.NDArray[np.float64]
CALENDAR_TERMS = ("holidays", "calendar_events")  # 0/1 columns of model.calendar
# What the programs write about model.selection (absent or empty without one): each
# selected coefficient's prior scale and inclusion, and spike_slab's inclusion rate.
SELECTION_VARIABLES = ("sel_scale", "sel_inclusion", "ss_rate")
# A gp trend's hyperparameters (model.trend.type gp), each written as a vector of one.
GP_VARIABLES = ("gp_amplitude", "gp_lengthscale")
# Time-varying channels' drift (model.media[].time_varying): weights (channel, basis),
# amplitude and lengthscale (channel).
DRIFT_VARIABLES = ("tvp_z", "tvp_amplitude", "tvp_lengthscale")


def import_arviz() -> Any:
    """ArviZ, imported on first use: it costs about a second (xarray, matplotlib)."""
    # A lasting filter rather than catch_warnings, which is not thread-safe (see preload).
    warnings.filterwarnings("ignore", category=FutureWarning, module="arviz")
    import arviz as az

    return az


def preload_arviz() -> None:
    """Starts importing ArviZ and the netCDF writer in the background.

    A fit spends seconds waiting for Stan; the import's second is paid then
    instead of after the last draw.  Whoever needs ArviZ first simply waits
    for the import to finish (Python's import lock).
    """

    def load() -> None:
        with contextlib.suppress(Exception):  # the foreground import reports failures
            import_arviz()
            import h5netcdf  # noqa: F401

    threading.Thread(target=load, name="mmm-preload-arviz", daemon=True).start()


def row_labels(design: Design) -> list[str]:
    """A label per design row: the date, prefixed by the group for panels."""
    dates = [d.strftime("%Y-%m-%d") for d in design.dates]
    if design.n_groups == 1:
        return dates
    return [f"{design.group_names[g]}|{d}" for g, d in zip(design.group, dates, strict=True)]


class PosteriorData:
    """The posterior's groups as xarray Datasets, in ArviZ's layout.

    Built without importing ArviZ (which costs about two seconds); ``idata``
    wraps the same Datasets in an ArviZ InferenceData when a check needs one.
    """

    def __init__(self, groups: dict[str, Any], method: str) -> None:
        self.groups = groups
        self.method = method
        self._idata: Any = None

    def __getattr__(self, name: str) -> Any:
        groups = self.__dict__.get("groups", {})
        if name in groups:
            return groups[name]
        raise AttributeError(name)

    @property
    def idata(self) -> Any:
        if self._idata is None:
            az = import_arviz()
            self._idata = az.InferenceData(**self.groups)
        return self._idata

    def to_netcdf(self, path: Any) -> None:
        """Writes every group into one netCDF file (readable by az.from_netcdf), atomically."""
        with replacing(path) as tmp:
            for i, (name, dataset) in enumerate(self.groups.items()):
                dataset.to_netcdf(tmp, mode="w" if i == 0 else "a", group=name, engine="h5netcdf")


def _dataset(
    variables: dict[str, tuple[list[str], Array]], coords: dict[str, list[str]], method: str
) -> Any:
    import xarray as xr

    data_vars = {}
    for name, (dims, values) in variables.items():
        full = ["chain", "draw", *dims] if values.ndim == len(dims) + 2 else dims
        data_vars[name] = (full, values)
    used = {d for dims, _ in variables.values() for d in dims}
    dataset = xr.Dataset(data_vars, coords={k: v for k, v in coords.items() if k in used})
    if "chain" in dataset.dims:
        dataset = dataset.assign_coords(
            chain=np.arange(dataset.sizes["chain"]), draw=np.arange(dataset.sizes["draw"])
        )
    dataset.attrs.update(method=method, inference_library="mmm_runner/cmdstanpy")
    return dataset


def theta_draws(v: dict[str, Array], groups: bool = False) -> Array:
    """The transform parameters; Stan CSVs leave out a zero-size theta (no transforms).

    ``groups``: the program keeps one set per group (an extra axis).
    """
    if "theta" in v:
        return v["theta"]
    chains, draws = v["alpha"].shape[:2]
    return np.zeros((chains, draws, 1, 0) if groups else (chains, draws, 0))


def base_variables(v: dict[str, Array]) -> dict[str, tuple[list[str], Array]]:
    """The posterior variables of a single series (blm.stan), with their dimensions."""
    return {
        "alpha": ([], v["alpha"]),
        "beta": (["coef"], v["beta"]),
        "theta": (["transform_param"], theta_draws(v)),
        "sigma": ([], v["sigma"]),
        **shrinkage_variables(v),
    }


_SHRINKAGE = (*SELECTION_VARIABLES, *GP_VARIABLES, *DRIFT_VARIABLES)


def shrinkage_variables(v: dict[str, Array]) -> dict[str, tuple[list[str], Array]]:
    """The variables of the priors that shrink some terms, when the program has any:
    model.selection's, a gp trend's and the time-varying channels' drifts."""
    scalars = ("ss_rate", *GP_VARIABLES)
    present = {k: v[k] for k in _SHRINKAGE if k in v and v[k].size}
    for k in scalars:
        if k in present:  # one value, written as a vector of one
            present[k] = present[k][..., 0]
    dims: dict[str, list[str]] = {k: [] for k in scalars} | {
        "tvp_z": ["time_varying", "drift_basis"],
        "tvp_amplitude": ["time_varying"],
        "tvp_lengthscale": ["time_varying"],
    }
    return {k: (dims.get(k, ["selected"]), values) for k, values in present.items()}


def shrinkage_draws(v: dict[str, Array]) -> dict[str, Array]:
    """The shrinkage variables flattened over chains, for ``Posterior.pool``."""
    return {k: flat(v[k]) for k in _SHRINKAGE if k in v and v[k].size}


def predictive_kpi(draws: Draws, design: Design) -> Array:
    """Posterior predictive draws of the KPI for every row, (chain, draw, row)."""
    y_rep = draws.variables["y_rep"] * design.y_sd + design.y_mean
    kpi: Array = np.exp(y_rep) if design.log_response else y_rep
    return kpi * design.per_capita  # per-capita models report totals


def to_inference_data(
    draws: Draws,
    design: Design,
    names: Layout,
    variables: dict[str, tuple[list[str], Array]],
    extra_coords: dict[str, list[str]] | None = None,
) -> PosteriorData:
    """Posterior, predictive, log likelihood, sampler statistics and observations.

    ``variables`` are the posterior group's variables with their dimensions,
    as the model class names them; ``extra_coords`` label the class's own dimensions.
    """
    v = draws.variables
    labels = row_labels(design)
    fitted = design.fitted
    kpi_rep = predictive_kpi(draws, design)
    log_lik = v["log_lik"] - np.log(design.y_sd)
    if design.log_response:  # the density of the total KPI (d log(K / pop) / dK = 1 / K)
        log_lik = log_lik - np.log(design.kpi[fitted])
    else:  # per capita: d(K / pop) / dK = 1 / pop
        log_lik = log_lik - np.log(design.per_capita[fitted])
    theta = variables["theta"][1]
    coords = {
        "coef": list(names.beta),
        "transform_param": list(names.theta),
        "time": labels,
        "obs": [label for label, keep in zip(labels, fitted, strict=True) if keep],
        "group": list(design.group_names),
        "transform_set": list(design.group_names)[: theta.shape[2]] if theta.ndim == 4 else [],
        "group_effect": list(names.group_effects),
        "label": [f"{d}={lab}" for d, lab in names.labels],
        "label_dimension": list(dict.fromkeys(d for d, _ in names.labels)),
        "selected": list(names.selected_names),
        "time_varying": list(names.drifting),
        "drift_basis": [str(j + 1) for j in range(names.drift_basis)],
        "crossed_level": [
            f"{names.group_effects[-len(names.crossed) + i]}={level}"
            for i, (f, _) in enumerate(names.crossed)
            for level in design.crossed[f].levels
        ],
        **(extra_coords or {}),
    }
    method = draws.method
    groups = {
        "posterior": _dataset(variables, coords, method),
        "posterior_predictive": _dataset({"kpi_rep": (["time"], kpi_rep)}, coords, method),
        "log_likelihood": _dataset({"log_lik": (["obs"], log_lik)}, coords, method),
    }
    if draws.sample_stats:
        groups["sample_stats"] = _dataset(
            {k: ([], val) for k, val in draws.sample_stats.items()}, coords, method
        )
    groups["observed_data"] = _dataset({"kpi": (["obs"], design.kpi[fitted])}, coords, method)
    return PosteriorData(groups, method)


@dataclass(frozen=True)
class Posterior:
    """Posterior draws flattened over chains: what the NumPy analysis works on.

    A single market is one group: its group arrays are the population arrays
    with a group axis of length one.
    """

    alpha: Array  # (D,) population intercept
    beta: Array  # (D, J) population coefficients
    theta_g: Array  # (D, S, P) transform parameters, S = 1 when shared by all groups
    sigma_g: Array  # (D, G) noise scale of each group
    alpha_g: Array  # (D, G) each group's intercept
    beta_g: Array  # (D, G, J) each group's coefficients
    tau: Array  # (D, E) group standard deviations (none for a single market)
    n_chains: int
    # a class's own draws (pooled: pool_*; hierarchical: cross_level; nested: paths),
    # and model.selection's (SELECTION_VARIABLES)
    pool: dict[str, Array] = field(default_factory=dict)

    @property
    def n_draws(self) -> int:
        return len(self.alpha)

    @property
    def alpha_stated(self) -> Array:
        """The intercept as its prior states it (a nested model's ``alpha`` also holds
        the mediators' baselines)."""
        return self.pool.get("alpha_stated", self.alpha)

    @property
    def beta_stated(self) -> Array:
        """The coefficients as their priors state them (a nested model's ``beta`` holds
        each channel's total effect, its prior is on the direct path)."""
        return self.pool.get("beta_stated", self.beta)

    def theta_stated(self, index: int, otherwise: Array) -> Array:
        """The draws of transform parameter ``index`` that its prior governs: every
        outcome's for a network channel with transforms per outcome, stacked (the pool's
        ``theta_stated``, NaN where a channel has no such set); else ``otherwise``."""
        if "theta_stated" not in self.pool:
            return otherwise
        values: Array = self.pool["theta_stated"][:, index]
        return values[np.isfinite(values)]

    @property
    def theta(self) -> Array:
        """The shared (or first group's) transform parameters, (D, P)."""
        first: Array = self.theta_g[:, 0, :]
        return first

    @property
    def sigma(self) -> Array:
        """The noise scale, (D,): the root mean square over groups."""
        rms: Array = np.sqrt(np.mean(self.sigma_g**2, axis=1))
        return rms

    def theta_for(self, group: int) -> Array:
        """The transform parameters a group uses, (D, P)."""
        chosen: Array = self.theta_g[:, min(group, self.theta_g.shape[1] - 1), :]
        return chosen

    def by_chain(self, values: Array) -> Array:
        """(D, ...) values as (chain, draw, ...)."""
        return values.reshape(self.n_chains, -1, *values.shape[1:])

    @classmethod
    def single(
        cls, alpha: Array, beta: Array, theta: Array, sigma: Array, n_chains: int
    ) -> Posterior:
        """A single-market posterior: one group, shared transforms, no group sds."""
        return cls(
            alpha,
            beta,
            theta[:, None, :],
            sigma[:, None],
            alpha[:, None],
            beta[:, None, :],
            np.zeros((len(alpha), 0)),
            n_chains,
        )


def flat(values: Array) -> Array:
    """(chain, draw, ...) draws as (chain × draw, ...)."""
    return values.reshape(values.shape[0] * values.shape[1], *values.shape[2:])


def single_posterior(draws: Draws) -> Posterior:
    """The draws of a single-series fit (a group axis of one)."""
    v = draws.variables
    post = Posterior.single(
        flat(v["alpha"]), flat(v["beta"]), flat(theta_draws(v)), flat(v["sigma"]), draws.n_chains
    )
    return replace(post, pool=shrinkage_draws(v))


def original_scale(
    post: Posterior, design: Design, spec: ModelSpec, names: Layout
) -> dict[str, tuple[str, str, Array]]:
    """The population's parameters on the original scale: name -> (kind, unit, draws).

    Media coefficients are the KPI effect at full saturation; controls and
    other columns are per unit of the column; for log-response models the
    coefficients are on the log-KPI scale.  Model classes add their own
    quantities (noise, group or label levels) to these.
    """
    kpi_unit = kpi_unit_of(design)
    out: dict[str, tuple[str, str, Array]] = {}
    m = len(spec.media)
    intercept = design.y_mean + design.y_sd * post.alpha
    for j, column in enumerate(design.columns):
        per_unit = post.beta[:, m + j] * design.y_sd / design.x_sd[j]
        intercept = intercept - per_unit * design.x_mean[j]
        transform = spec.control_transforms.get(column.term)
        if transform is not None:
            inner = column.term if transform == "log" else f"1 + {column.term}"
            unit = f"elasticity: {kpi_unit} per log({inner})"
        elif column.reference is not None:  # a level of a categorical term
            unit = f"{kpi_unit} vs {column.term}={column.reference}"
        elif column.term in CALENDAR_TERMS:
            unit = f"{kpi_unit} in each period it marks"
        else:
            unit = f"{kpi_unit} per unit"
        kind = "control" if column.term == column.name else column.term
        out[column.name] = (kind, unit, per_unit)
    result: dict[str, tuple[str, str, Array]] = {"intercept": ("intercept", kpi_unit, intercept)}
    for i, term in enumerate(spec.media):
        unit = (
            f"elasticity: {kpi_unit} per log(1 + {term.name} / scale)"
            if term.saturation == "log1p"
            else f"{kpi_unit} at full saturation"
        )
        result[term.name] = ("media", unit, post.beta[:, i] * design.y_sd)
    result.update(out)
    result.update(gp_quantities(post, design))
    result.update(drift_quantities(post, design, spec))
    result.update(transform_quantities(names.theta, post.theta, design, spec))
    return result


def transform_quantities(
    labels: tuple[str, ...] | list[str], theta: Array, design: Design, spec: ModelSpec
) -> dict[str, tuple[str, str, Array]]:
    """Transform parameters by label (``channel.stage.param``, optionally suffixed
    ``[outcome]``), a half saturation also in media units."""
    scale = dict(zip(spec.media_names, design.media_scale, strict=True))
    result: dict[str, tuple[str, str, Array]] = {}
    for p, label in enumerate(labels):
        channel, stage, param = label.split("[")[0].split(".")
        result[label] = ("transform", _transform_unit(stage, param), theta[:, p])
        if param == "half_saturation":
            suffix = label[len(label.split("[")[0]) :]
            result[f"{channel}.{stage}.{param}_spend{suffix}"] = (
                "transform",
                "media units",
                theta[:, p] * scale[channel],
            )
    return result


def gp_quantities(post: Posterior, design: Design) -> dict[str, tuple[str, str, Array]]:
    """A gp trend's amplitude (original scale) and lengthscale (periods)."""
    if "gp_amplitude" not in post.pool:
        return {}
    unit = response_unit(design) * design.y_sd
    return {
        "trend.amplitude": ("trend", kpi_unit_of(design), post.pool["gp_amplitude"][:, 0] * unit),
        "trend.lengthscale": ("trend", "periods", post.pool["gp_lengthscale"][:, 0]),
    }


def drift_quantities(
    post: Posterior, design: Design, spec: ModelSpec
) -> dict[str, tuple[str, str, Array]]:
    """Each time-varying channel's drift: its amplitude (sd of log effectiveness), its
    lengthscale (periods) and its effectiveness at the last fitted period (x average)."""
    if "tvp_z" not in post.pool:
        return {}
    latest = latest_drift(design, spec, post.pool)
    out: dict[str, tuple[str, str, Array]] = {}
    for i, name in enumerate(spec.time_varying):
        out[f"{name}.drift.amplitude"] = (
            "drift",
            "sd of log effectiveness",
            post.pool["tvp_amplitude"][:, i],
        )
        out[f"{name}.drift.lengthscale"] = ("drift", "periods", post.pool["tvp_lengthscale"][:, i])
        out[f"{name}.drift.latest"] = ("drift", "x average effectiveness", latest[name])
    return out


def kpi_unit_of(design: Design) -> str:
    """The unit of coefficients and the intercept: the KPI (per capita), or its log."""
    unit = "log KPI" if design.log_response else "KPI"
    return unit if design.population is None else f"{unit} per capita"


def noise_scale(post: Posterior, design: Design) -> dict[str, tuple[str, str, Array]]:
    """The single series' noise scale on the original scale."""
    return {"sigma": ("noise", kpi_unit_of(design), post.sigma * design.y_sd)}


def label_levels(post: Posterior, design: Design, names: Layout) -> dict[str, Array]:
    """Pooled class: each label's expected effect at the typical active level (KPI units)."""
    if not post.pool:
        return {}
    dims = list(dict.fromkeys(d for d, _ in names.labels))
    out = {}
    for i, (dim, label) in enumerate(names.labels):
        log_level = (
            post.pool["pool_mu"][:, 0]
            + post.pool["pool_tau"][:, dims.index(dim)] * post.pool["pool_z"][:, i]
        )
        spread = post.pool["pool_sigma"][:, 0]
        out[f"{dim}={label}"] = np.exp(log_level + 0.5 * spread**2) * design.y_sd
    return out


def label_quantities(
    post: Posterior, design: Design, names: Layout
) -> dict[str, tuple[str, str, Array]]:
    """Pooled class: each label's level and the spread of terms around it."""
    unit = "KPI per period at the typical active level (mean over the label's terms)"
    out = {f"level[{k}]": ("pool", unit, v) for k, v in label_levels(post, design, names).items()}
    if post.pool:
        out["pool_sigma"] = ("pool", "log scale", post.pool["pool_sigma"][:, 0])
    return out


def _per_unit(design: Design, spec: ModelSpec, names: Layout, j: int) -> float:
    """Original-scale units of coefficient j per modelling-scale unit."""
    m = len(spec.media)
    return design.y_sd if j < m else design.y_sd / design.x_sd[j - m]


def group_quantities(
    post: Posterior, design: Design, spec: ModelSpec, names: Layout
) -> dict[str, tuple[str, str, Array]]:
    """Group intercepts, group coefficients of varying terms, group sds and noise scales."""
    kpi_unit = kpi_unit_of(design)
    out: dict[str, tuple[str, str, Array]] = {}
    m = len(spec.media)
    varying = names.varying_columns(spec.varying)
    for g, group in enumerate(design.group_names):
        intercept = design.y_mean + design.y_sd * post.alpha_g[:, g]
        for j in range(len(design.columns)):
            intercept = (
                intercept
                - post.beta_g[:, g, m + j] * design.y_sd / design.x_sd[j] * design.x_mean[j]
            )
        out[f"intercept[{group}]"] = ("group", kpi_unit, intercept)
        for j in varying:
            out[f"{names.beta[j]}[{group}]"] = (
                "group",
                kpi_unit,
                post.beta_g[:, g, j] * _per_unit(design, spec, names, j),
            )
        out[f"sigma[{group}]"] = ("noise", kpi_unit, post.sigma_g[:, g] * design.y_sd)
        if post.theta_g.shape[1] > 1:
            for p, label in enumerate(names.theta):
                out[f"{label}[{group}]"] = ("transform", "", post.theta_g[:, g, p])
    for e, effect in enumerate(names.group_effects):
        term = effect.split("|")[0]  # crossed effects are "<term>|<column>"
        k = names.beta.index(term) if term in names.beta else None
        unit = design.y_sd if k is None else _per_unit(design, spec, names, k)
        out[f"sd_{effect}"] = ("group_sd", kpi_unit, post.tau[:, e] * unit)
    return out


def crossed_quantities(
    post: Posterior, design: Design, spec: ModelSpec, names: Layout
) -> dict[str, tuple[str, str, Array]]:
    """Each level's value of every crossed effect: ``tv[product=shoes]`` (population
    coefficient plus the level's offset) and ``intercept_offset[product=shoes]``."""
    kpi_unit = kpi_unit_of(design)
    out: dict[str, tuple[str, str, Array]] = {}
    at = 0
    for f, j in names.crossed:
        crossed = design.crossed[f]
        unit = design.y_sd if j < 0 else _per_unit(design, spec, names, j)
        name = "intercept_offset" if j < 0 else names.beta[j]
        for level in crossed.levels:
            values = post.pool["cross_level"][:, at] * unit
            out[f"{name}[{crossed.column}={level}]"] = ("crossed", kpi_unit, values)
            at += 1
    return out


def _transform_unit(stage: str, param: str) -> str:
    if stage == "saturation" and param in ("half_saturation", "scale"):
        return "scaled media"
    if stage == "adstock" and param in ("peak", "scale"):
        return "periods"
    return ""


def summary_table(params: dict[str, tuple[str, str, Array]], n_chains: int) -> pd.DataFrame:
    """posterior_summary.csv: one row per parameter on the original scale."""
    rows = []
    for name, (kind, unit, values) in params.items():
        chains = values.reshape(n_chains, -1)
        row: dict[str, Any] = {
            "parameter": name,
            "kind": kind,
            "unit": unit,
            "mean": float(values.mean()),
            "sd": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
            "q05": float(np.quantile(values, 0.05)),
            "q50": float(np.median(values)),
            "q95": float(np.quantile(values, 0.95)),
        }
        if chains.shape[1] >= 4:  # ESS and R-hat need draws; a MAP point skips ArviZ
            az = import_arviz()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                row["ess_bulk"] = float(az.ess(chains, method="bulk"))
                row["ess_tail"] = float(az.ess(chains, method="tail"))
                row["r_hat"] = float(az.rhat(chains)) if n_chains > 1 else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)
