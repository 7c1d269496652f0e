"""Variable-selection priors as the Stan programs take them, and their NumPy twins.

``model.selection`` puts a horseshoe, spike-and-slab or lasso prior on the
precision controls in place of their own priors
(``stan/functions/selection.stanfunctions``: why horseshoe and lasso integrate
their coefficients out). The functions below mirror the Stan ones (a test
checks them to 1e-8); ``selection_inclusion`` gives the inclusion of each
selected control per draw, which ``analysis/selection.py`` summarises.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from mmm_runner.config.resolve import ModelSpec
from mmm_runner.data.design import Design

Array = npt.NDArray[np.float64]

# The family codes of selection.stanfunctions (0: no selection).
CODES = {"horseshoe": 1, "spike_slab": 2, "lasso": 3}


def selected_columns(spec: ModelSpec, beta_terms: tuple[str, ...]) -> tuple[int, ...]:
    """0-based indices into ``beta`` of the coefficients under the selection prior."""
    return tuple(j for j, term in enumerate(beta_terms) if term in spec.selected)


def stan_fields(design: Design, spec: ModelSpec, selected: tuple[int, ...]) -> dict[str, Any]:
    """The selection fields shared by blm.stan and hierarchical.stan.

    ``selected`` indexes ``beta`` (media first); the programs take X columns.
    """
    columns = [j - len(spec.media) for j in selected]
    x = design.x[design.fitted][:, columns]
    sel = spec.selection
    d = len(columns)
    d0 = sel.expected_nonzero if sel else 0.0
    n = int(design.fitted.sum())
    return {
        "sel_prior": CODES[sel.prior] if sel else 0,
        "n_sel": d,
        "sel_col": [c + 1 for c in columns],
        "sel_x_var": x.var(axis=0),
        # tau0 = D0 / (D - D0) * sigma / sqrt(N) (the guide's (17)); sigma is a parameter
        "sel_tau0": d0 / (d - d0) / math.sqrt(n) if sel else 0.0,
        "sel_slab_scale": sel.slab_scale if sel else 1.0,
        "sel_slab_df": sel.slab_df if sel else 1.0,
        "sel_spike_scale": sel.spike_scale if sel else 1.0,
        # the inclusion rate's prior has mean D0 / D and the weight of D indicators
        "sel_rate_prior": [d0, d - d0] if sel else [1.0, 1.0],
        "sel_threshold": sel.threshold if sel else 0.0,
    }


# --- NumPy twins of selection.stanfunctions (draws on the leading axis) ----------------


def horseshoe_scales(lam: Array, tau: Array, c: Array) -> Array:
    """tau * lambda_tilde: the regularised horseshoe's scale of each coefficient."""
    tau, c = np.asarray(tau)[..., None], np.asarray(c)[..., None]
    scales: Array = tau * c * lam / np.sqrt(c**2 + tau**2 * lam**2)
    return scales


def selection_scales(
    family: int,
    noise: Array,
    tau0: float,
    slab_scale: float,
    hyper: dict[str, Array],
    n_selected: int,
) -> Array:
    """Each selected coefficient's prior scale from the hyperparameters' draws (named as
    in the programs: hs_lambda, hs_tau_unit, hs_caux, lasso_e, lasso_lambda2),
    (draws, selected); spike_slab: ones."""
    noise = np.asarray(noise)
    if family == CODES["horseshoe"]:
        tau = tau0 * noise * hyper["hs_tau_unit"][..., 0]
        c = slab_scale * np.sqrt(hyper["hs_caux"][..., 0])
        return horseshoe_scales(hyper["hs_lambda"], tau, c)
    if family == CODES["lasso"]:
        return lasso_scales(hyper["lasso_e"], np.sqrt(hyper["lasso_lambda2"][..., 0]), noise)
    ones: Array = np.ones((*noise.shape, n_selected))
    return ones


def lasso_scales(e: Array, lam: Array, noise: Array) -> Array:
    """noise * sqrt(2 e) / lambda: the lasso's normal scale given its exponential mixing."""
    lam, noise = np.asarray(lam)[..., None], np.asarray(noise)[..., None]
    scales: Array = noise * np.sqrt(2 * e) / lam
    return scales


def spike_slab_lpdf(beta: Array, rate: Array, spike: float, slab: float) -> Array:
    """The two-normal mixture's log density of the coefficients, summed over them."""
    in_slab, in_spike = _mixture_parts(beta, rate, spike, slab)
    total: Array = np.logaddexp(in_slab, in_spike).sum(axis=-1)
    return total


def group_crossprod(xtx: Array, precision: Array) -> Array:
    """X' W X of rows stacked by group, one precision per group: xtx is (G, S, S)."""
    out: Array = np.einsum("g,gij->ij", precision, xtx)
    return out


def collapsed_factor(xtwx: Array, d: Array) -> Array:
    """The Cholesky factor of I + diag(d) X'WX diag(d)."""
    a = d[:, None] * xtwx * d[None, :] + np.eye(len(d))
    factor: Array = np.asarray(np.linalg.cholesky(a), dtype=float)
    return factor


def collapsed_normal_lpdf(r: Array, x: Array, xtwx: Array, w: Array, d: Array) -> float:
    """log normal(r | 0, diag(1 / w) + X diag(d^2) X'), by Woodbury's identity (the
    coefficients with prior normal(0, d) integrated out)."""
    factor = collapsed_factor(xtwx, d)
    v = np.linalg.solve(factor, d * (x.T @ (w * r)))
    return float(
        -0.5 * len(r) * math.log(2 * math.pi)
        + 0.5 * np.log(w).sum()
        - np.log(np.diag(factor)).sum()
        - 0.5 * (r @ (w * r) - v @ v)
    )


def collapsed_conditional(
    r: Array, x: Array, xtwx: Array, w: Array, d: Array
) -> tuple[Array, Array]:
    """Mean and covariance of the integrated-out coefficients given the residuals (what
    collapsed_coefficients_rng draws from)."""
    factor = collapsed_factor(xtwx, d)
    root = d[:, None] * np.linalg.inv(factor).T  # D L^-T, so covariance = root root'
    v = np.linalg.solve(factor, d * (x.T @ (w * r)))
    mean: Array = root @ v
    covariance: Array = root @ root.T
    return mean, covariance


def selection_inclusion(
    family: int,
    beta: Array,
    scales: Array,
    noise: Array,
    x_var: Array,
    n: int,
    rate: Array,
    spike: float,
    slab: float,
    threshold: float,
) -> Array:
    """Each selected coefficient's inclusion per draw (selection.stanfunctions says how
    each family defines it)."""
    if family == CODES["horseshoe"]:  # 1 - kappa > 1/2
        signal = n * x_var * scales**2
        horseshoe: Array = (signal > np.asarray(noise)[..., None] ** 2).astype(float)
        return horseshoe
    if family == CODES["spike_slab"]:
        in_slab, in_spike = _mixture_parts(beta, rate, spike, slab)
        slab_share: Array = np.exp(in_slab - np.logaddexp(in_slab, in_spike))
        return slab_share
    included: Array = (np.abs(beta) > threshold).astype(float)
    return included


def _mixture_parts(beta: Array, rate: Array, spike: float, slab: float) -> tuple[Array, Array]:
    """log(rate * normal(beta | 0, slab)) and log((1 - rate) * normal(beta | 0, spike))."""
    rate = np.asarray(rate)[..., None]
    in_slab = np.log(rate) + _normal_lpdf(beta, slab)
    in_spike = np.log1p(-rate) + _normal_lpdf(beta, spike)
    return in_slab, in_spike


def _normal_lpdf(x: Array, sd: float) -> Array:
    out: Array = -0.5 * (x / sd) ** 2 - math.log(sd) - 0.5 * math.log(2 * math.pi)
    return out
