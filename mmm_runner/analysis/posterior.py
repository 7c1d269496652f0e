"""The posterior as ArviZ data, and its parameters on the original scale.

The analysis layer works from here: arrays and the design, never a sampler
object.  ``log_lik`` is stored on the original KPI scale (the modelling
scale's density with the Jacobian of standardisation and, for log-response
models, of the log), so LOO is comparable across runs that model the same
KPI differently.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from mmm_runner.backend.fit import Draws
from mmm_runner.config.resolve import ModelSpec
from mmm_runner.data.design import Design
from mmm_runner.model.stan_data import Layout

Array = npt.NDArray[np.float64]


def _import_arviz() -> Any:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module="arviz")
        import arviz as az  # imported late: it costs about two seconds
    return az


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
            az = _import_arviz()
            self._idata = az.InferenceData(**self.groups)
        return self._idata

    def to_netcdf(self, path: Any) -> None:
        """Writes every group into one netCDF file (readable by az.from_netcdf)."""
        for i, (name, dataset) in enumerate(self.groups.items()):
            dataset.to_netcdf(path, mode="w" if i == 0 else "a", group=name, engine="h5netcdf")


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


def to_inference_data(draws: Draws, design: Design, names: Layout) -> PosteriorData:
    """Posterior, predictive, log likelihood, sampler statistics and observations."""
    v = draws.variables
    labels = row_labels(design)
    fitted = design.fitted
    y_rep = v["y_rep"] * design.y_sd + design.y_mean
    kpi_rep = np.exp(y_rep) if design.log_response else y_rep
    log_lik = v["log_lik"] - np.log(design.y_sd)
    if design.log_response:
        log_lik = log_lik - np.log(design.kpi[fitted])
    coords = {
        "coef": list(names.beta),
        "transform_param": list(names.theta),
        "time": labels,
        "obs": [label for label, keep in zip(labels, fitted, strict=True) if keep],
    }
    method = draws.method
    groups = {
        "posterior": _dataset(
            {
                "alpha": ([], v["alpha"]),
                "beta": (["coef"], v["beta"]),
                "theta": (["transform_param"], v["theta"]),
                "sigma": ([], v["sigma"]),
            },
            coords,
            method,
        ),
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
    """Posterior draws flattened over chains: what the NumPy analysis works on."""

    alpha: Array  # (D,)
    beta: Array  # (D, M + K)
    theta: Array  # (D, P)
    sigma: Array  # (D,)
    n_chains: int

    @property
    def n_draws(self) -> int:
        return len(self.alpha)

    def by_chain(self, values: Array) -> Array:
        """(D, ...) values as (chain, draw, ...)."""
        return values.reshape(self.n_chains, -1, *values.shape[1:])


def flatten(draws: Draws) -> Posterior:
    """The draws of a fit as flat arrays."""
    v = draws.variables

    def flat(a: Array) -> Array:
        return a.reshape(-1, *a.shape[2:])

    return Posterior(
        flat(v["alpha"]), flat(v["beta"]), flat(v["theta"]), flat(v["sigma"]), draws.n_chains
    )


def original_scale(
    post: Posterior, design: Design, spec: ModelSpec, names: Layout
) -> dict[str, tuple[str, str, Array]]:
    """Every parameter on the original scale: name -> (kind, unit, draws).

    Media coefficients are the KPI effect at full saturation; controls and
    other columns are per unit of the column; for log-response models the
    coefficients are on the log-KPI scale.
    """
    kpi_unit = "log KPI" if design.log_response else "KPI"
    out: dict[str, tuple[str, str, Array]] = {}
    m = len(spec.media)
    intercept = design.y_mean + design.y_sd * post.alpha
    for j, column in enumerate(design.columns):
        per_unit = post.beta[:, m + j] * design.y_sd / design.x_sd[j]
        intercept = intercept - per_unit * design.x_mean[j]
        out[column.name] = (
            "control" if column.term == column.name else column.term,
            f"{kpi_unit} per unit",
            per_unit,
        )
    result: dict[str, tuple[str, str, Array]] = {"intercept": ("intercept", kpi_unit, intercept)}
    for i, name in enumerate(spec.media_names):
        result[name] = ("media", f"{kpi_unit} at full saturation", post.beta[:, i] * design.y_sd)
    result.update(out)
    scale = dict(zip(spec.media_names, design.media_scale, strict=True))
    for p, label in enumerate(names.theta):
        channel, stage, param = label.split(".")
        result[label] = ("transform", _transform_unit(stage, param), post.theta[:, p])
        if param == "half_saturation":
            result[f"{label}_spend"] = (
                "transform",
                "media units",
                post.theta[:, p] * scale[channel],
            )
    result["sigma"] = ("noise", kpi_unit, post.sigma * design.y_sd)
    return result


def _transform_unit(stage: str, param: str) -> str:
    if stage == "saturation" and param in ("half_saturation", "scale"):
        return "scaled media"
    if stage == "adstock" and param in ("peak", "scale"):
        return "periods"
    return ""


def summary_table(params: dict[str, tuple[str, str, Array]], n_chains: int) -> pd.DataFrame:
    """posterior_summary.csv: one row per parameter on the original scale."""
    az = _import_arviz()
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
        if chains.shape[1] >= 4:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                row["ess_bulk"] = float(az.ess(chains, method="bulk"))
                row["ess_tail"] = float(az.ess(chains, method="tail"))
                row["r_hat"] = float(az.rhat(chains)) if n_chains > 1 else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)
