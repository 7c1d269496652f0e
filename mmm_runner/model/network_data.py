"""The Stan data of ``stan/network.stan`` for the nested class.

Equations are the mediators, then the KPI. Every channel has one feature set
(its adstock and saturation, shared by all its paths); the paths are each
channel's direct effect on the KPI, then each mediator's channels. The KPI is
standardised as in the other programs (the design's ``y``); each observed
mediator is standardised on its observed fitted periods, a latent one keeps
unit scale (its priors fix it).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from mmm_runner.config.notation import INF
from mmm_runner.config.resolve import ModelSpec, default
from mmm_runner.data.design import Design
from mmm_runner.model import stan_data

Array = npt.NDArray[np.float64]
TYPES = {"full": 1, "partial": 2, "latent": 3}


def nested_paths(spec: ModelSpec) -> list[tuple[str, str]]:
    """(channel, equation) of every media path, in the program's order."""
    direct = [(name, spec.kpi) for name in spec.media_names]
    return direct + [(c, m.name) for m in spec.mediators for c in m.channels]


def mediator_scales(design: Design) -> list[tuple[float, float]]:
    """(mean, sd) of each mediator over its observed fitted periods; (0, 1) if latent."""
    if design.mediators is None:
        return []
    out = []
    for column in design.mediators.T:
        seen = column[design.fitted & np.isfinite(column)]
        sd = float(seen.std()) if seen.size > 1 else 0.0
        out.append((float(seen.mean()), sd) if sd > 0 else (0.0, 1.0))
    return out


def nested_data(
    design: Design,
    spec: ModelSpec,
    *,
    prior_only: bool = False,
    save_mu: bool = False,
    use_jacobian: bool = True,
) -> dict[str, Any]:
    """The data of ``stan/network.stan`` for one KPI and its mediators."""
    names = stan_data.layout(design, spec)
    shared = stan_data.model_fields(design, spec, names)
    n_rows, n_media, n_med = design.n_rows, len(spec.media), len(spec.mediators)
    coefs = [spec.coefficients[term] for term in names.beta_terms]
    observations = design.mediators if design.mediators is not None else np.zeros((n_rows, 0))
    scales = mediator_scales(design)
    # held-out periods are forecasts: their mediator values are not known in advance
    observed = np.isfinite(observations) & design.fitted[:, None]
    values = np.zeros((n_rows, n_med))
    for d, (mean, sd) in enumerate(scales):
        values[:, d] = np.where(observed[:, d], (observations[:, d] - mean) / sd, 0.0)
    media = list(spec.media_names)
    path_eq = [n_med + 1] * n_media
    path_set = list(range(1, n_media + 1))
    lower = [c.lower for c in coefs[:n_media]]
    upper = [c.upper for c in coefs[:n_media]]
    prior = [stan_data.prior_code(c.prior) for c in coefs[:n_media]]
    for d, m in enumerate(spec.mediators):
        for channel, media_prior in zip(m.channels, m.media_priors, strict=True):
            j = media.index(channel)
            path_eq.append(d + 1)
            path_set.append(j + 1)
            # only the channel's sign carries over: its bounds are in KPI units
            lower.append(0.0 if coefs[j].lower >= 0 else -INF)
            upper.append(INF)
            prior.append(stan_data.prior_code(media_prior))
    controls = coefs[n_media:]
    equations = [*(m.sigma_prior for m in spec.mediators), spec.sigma_prior]
    effects = [m.effect for m in spec.mediators]
    return {
        "T": n_rows,
        "N": int(design.fitted.sum()),
        "fit_rows": (np.flatnonzero(design.fitted) + 1).tolist(),
        "D": n_med,
        "K": 1,
        "Y": design.y[:, None],
        "med_value": values,
        "med_observed": observed.astype(int),
        "med_type": [TYPES[m.observation] for m in spec.mediators],
        "M": n_media,
        "L": shared["L"],
        "X_lag": shared["X_lag"],
        "Q": n_media,
        "set_channel": list(range(1, n_media + 1)),
        **{key: shared[key] for key in ("adstock_type", "l_max", "saturation_type")},
        **{key: shared[key] for key in ("theta_start", "P", "theta_lower", "theta_upper")},
        **{key: shared[key] for key in ("theta_prior", "theta_prior_args")},
        "B": len(path_eq),
        "path_eq": path_eq,
        "path_set": path_set,
        **_block("beta", lower, upper, prior),
        "KX": len(design.columns),
        "X": design.x,
        "BX": len(controls),
        "xcoef_eq": [n_med + 1] * len(controls),
        "xcoef_col": list(range(1, len(controls) + 1)),
        **_block(
            "xcoef",
            [c.lower for c in controls],
            [c.upper for c in controls],
            [stan_data.prior_code(c.prior) for c in controls],
        ),
        # a stated intercept prior is the KPI's; mediators (standardised) keep the default
        **_block(
            "alpha",
            None,
            None,
            [stan_data.prior_code(default("intercept"))] * n_med
            + [stan_data.prior_code(spec.intercept.prior)],
        ),
        **_block("sigma", None, None, [stan_data.prior_code(p) for p in equations]),
        "G": n_med,
        "gamma_from": list(range(1, n_med + 1)),
        "gamma_to": [1] * n_med,
        **_block(
            "gamma",
            [e.lower for e in effects],
            [e.upper for e in effects],
            [stan_data.prior_code(e.prior) for e in effects],
        ),
        **_block("nu", None, None, [stan_data.prior_code(m.noise_prior) for m in spec.mediators]),
        "C": 0,
        "cross_to": [],
        "cross_from": [],
        "cross_lag0": [],
        "cross_x": np.zeros((n_rows, 0)),
        **_block("psi", [], [], []),
        "correlated": 0,
        "lkj_eta": 1.0,
        "prior_only": int(prior_only),
        "save_mu": int(save_mu),
        "use_jacobian": int(use_jacobian),
    }


def _block(
    prefix: str,
    lower: list[float] | None,
    upper: list[float] | None,
    priors: list[tuple[int, list[float]]],
) -> dict[str, Any]:
    """Bounds (when the program has them) and prior codes and arguments of a block."""
    out: dict[str, Any] = {
        f"{prefix}_prior": [code for code, _ in priors],
        f"{prefix}_prior_args": np.array([args for _, args in priors], dtype=float).reshape(-1, 3),
    }
    if lower is not None and upper is not None:
        out[f"{prefix}_lower"] = lower
        out[f"{prefix}_upper"] = upper
    return out
