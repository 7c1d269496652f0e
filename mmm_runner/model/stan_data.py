"""The single builder of the Stan data for the model programs.

Field names match the ``data`` blocks of the programs in ``stan/``; a test
checks them against the declared inputs that ``stanc --info`` reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mmm_runner.config.notation import Distribution
from mmm_runner.config.resolve import ModelSpec
from mmm_runner.data.design import Design, lag_matrices
from mmm_runner.model import transforms


@dataclass(frozen=True)
class Layout:
    """How the model's parameter vectors map to names."""

    beta: tuple[str, ...]  # media channels, then design columns
    beta_terms: tuple[str, ...]  # the coefficient group of each beta
    theta: tuple[str, ...]  # "<channel>.<stage>.<param>"
    theta_start: tuple[int, ...]  # 1-based first theta index of each channel
    window: int  # L: the longest adstock window


def layout(design: Design, spec: ModelSpec) -> Layout:
    """Names of every coefficient and transform parameter, in Stan's order."""
    theta: list[str] = []
    starts: list[int] = []
    for media in spec.media:
        starts.append(len(theta) + 1)
        for stage, form in (
            ("adstock", transforms.ADSTOCKS[media.adstock]),
            ("saturation", transforms.SATURATIONS[media.saturation]),
        ):
            theta += [f"{media.name}.{stage}.{p.name}" for p in form.params]
    window = max([m.l_max for m in spec.media], default=1)
    return Layout(
        beta=(*spec.media_names, *(c.name for c in design.columns)),
        beta_terms=(*spec.media_names, *(c.term for c in design.columns)),
        theta=tuple(theta),
        theta_start=tuple(starts),
        window=window,
    )


def _prior(dist: Distribution) -> tuple[int, list[float]]:
    return dist.spec.code, list(dist.stan_args())


def blm_data(
    design: Design,
    spec: ModelSpec,
    *,
    prior_only: bool = False,
    save_mu: bool = False,
    use_jacobian: bool = True,
) -> dict[str, Any]:
    """The data of ``stan/blm.stan``; holdout rows come after the fitted rows.

    ``use_jacobian`` is False only for MAP without Jacobians, so the optimum is
    the posterior mode of the coefficients as the priors state them.
    """
    if design.n_groups != 1:
        raise ValueError("blm takes one series; use the hierarchical program for panels")
    names = layout(design, spec)
    params = {p.label: p for p in spec.transform_params}
    theta = [params[label] for label in names.theta]
    coefs = [spec.coefficients[term] for term in names.beta_terms]
    n_fit = int(design.fitted.sum())
    return {
        "N": n_fit,
        "N_pred": design.n_rows - n_fit,
        "y": design.y[design.fitted],
        "M": len(spec.media),
        "L": names.window,
        "X_lag": lag_matrices(design, names.window),
        "adstock_type": [transforms.ADSTOCKS[m.adstock].code for m in spec.media],
        "l_max": [m.l_max for m in spec.media],
        "saturation_type": [transforms.SATURATIONS[m.saturation].code for m in spec.media],
        "theta_start": list(names.theta_start),
        "P": len(theta),
        "theta_lower": [p.lower for p in theta],
        "theta_upper": [p.upper for p in theta],
        "theta_prior": [_prior(p.prior)[0] for p in theta],
        "theta_prior_args": np.array([_prior(p.prior)[1] for p in theta]).reshape(-1, 3),
        "K": len(design.columns),
        "X": design.x,
        "beta_lower": [c.lower for c in coefs],
        "beta_upper": [c.upper for c in coefs],
        "beta_prior": [_prior(c.prior)[0] for c in coefs],
        "beta_prior_args": np.array([_prior(c.prior)[1] for c in coefs]).reshape(-1, 3),
        "alpha_prior": _prior(spec.intercept.prior)[0],
        "alpha_prior_args": _prior(spec.intercept.prior)[1],
        "sigma_prior": _prior(spec.sigma_prior)[0],
        "sigma_prior_args": _prior(spec.sigma_prior)[1],
        "prior_only": int(prior_only),
        "save_mu": int(save_mu),
        "use_jacobian": int(use_jacobian),
    }
