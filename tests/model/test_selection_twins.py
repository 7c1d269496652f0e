"""The selection priors' Stan functions agree with their NumPy twins, and the collapsed
(integrated-out) normal agrees with the dense normal it stands for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from mmm_runner.model import selection

ROOT = Path(__file__).resolve().parents[2]
HARNESS = Path(__file__).parent / "stan_programs" / "selection_check.stan"


def _case() -> dict[str, Any]:
    """Inputs that reach both sides of every branch (included and not, in each family)."""
    rng = np.random.default_rng(7)
    n, s, g = 40, 5, 3
    x = rng.normal(size=(n, s))
    return {
        "N": n,
        "S": s,
        "G": g,
        "X": x,
        "r": rng.normal(size=n),
        "group": np.repeat(np.arange(1, g + 1), [15, 15, 10]),
        "precision": np.array([1.5, 0.8, 3.0]),
        "beta": np.array([0.02, -0.4, 0.09, 0.15, -0.01]),
        "x_var": x.var(axis=0),
        "lambda": np.array([0.06, 6.0, 0.3, 3.6, 0.008]),
        "tau_unit": np.array([0.9]),
        "caux": np.array([1.7]),
        "lasso_e": np.array([0.2, 1.5, 0.01, 0.8, 3.0]),
        "lasso_lambda2": np.array([6.0]),
        "noise": 0.6,
        "tau0": 0.05,
        "slab_scale": 1.0,
        "rate": np.array([0.3]),
        "spike": 0.02,
        "threshold": 0.1,
    }


def _twins(c: dict[str, Any]) -> dict[str, Any]:
    hyper = {
        "hs_lambda": c["lambda"][None],
        "hs_tau_unit": c["tau_unit"][None],
        "hs_caux": c["caux"][None],
        "lasso_e": c["lasso_e"][None],
        "lasso_lambda2": c["lasso_lambda2"][None],
    }
    noise = np.array([c["noise"]])

    def scales(family: str) -> Any:
        code = selection.CODES[family]
        return selection.selection_scales(code, noise, c["tau0"], c["slab_scale"], hyper, c["S"])[
            0
        ]

    d = scales("horseshoe")
    group = c["group"] - 1
    xtx = np.stack([c["X"][group == k].T @ c["X"][group == k] for k in range(c["G"])])
    xtwx = selection.group_crossprod(xtx, c["precision"])
    w = c["precision"][group]
    mean, covariance = selection.collapsed_conditional(c["r"], c["X"], xtwx, w, d)

    def inclusion(family: str) -> Any:
        return selection.selection_inclusion(
            selection.CODES[family],
            c["beta"][None],
            d[None],
            noise,
            c["x_var"],
            c["N"],
            c["rate"],
            c["spike"],
            c["slab_scale"],
            c["threshold"],
        )[0]

    return {
        "hs_scale": d,
        "lasso_scale": scales("lasso"),
        "ss_lp": selection.spike_slab_lpdf(
            c["beta"][None], c["rate"], c["spike"], c["slab_scale"]
        )[0],
        "XtWX": xtwx,
        "collapsed_lp": selection.collapsed_normal_lpdf(c["r"], c["X"], xtwx, w, d),
        "conditional_mean": mean,
        "conditional_covariance": covariance,
        "hs_inclusion": inclusion("horseshoe"),
        "ss_inclusion": inclusion("spike_slab"),
        "lasso_inclusion": inclusion("lasso"),
    }


def test_collapsed_normal_is_the_dense_normal_with_the_coefficients_integrated_out() -> None:
    c = _case()
    twin = _twins(c)
    d, x, w = twin["hs_scale"], c["X"], c["precision"][c["group"] - 1]
    dense = np.diag(1 / w) + x @ np.diag(d**2) @ x.T
    expected = stats.multivariate_normal(np.zeros(c["N"]), dense).logpdf(c["r"])
    assert twin["collapsed_lp"] == pytest.approx(expected, rel=1e-10)
    # beta | r for beta ~ normal(0, d), r = X beta + noise: the textbook conditional
    precision = np.diag(1 / d**2) + x.T @ np.diag(w) @ x
    covariance = np.linalg.inv(precision)
    np.testing.assert_allclose(twin["conditional_covariance"], covariance, rtol=1e-9)
    np.testing.assert_allclose(
        twin["conditional_mean"], covariance @ x.T @ (w * c["r"]), rtol=1e-9, atol=1e-12
    )


def test_inclusion_twins_take_both_values_in_each_family() -> None:
    twin = _twins(_case())
    for key in ("hs_inclusion", "lasso_inclusion"):
        assert set(twin[key]) == {0.0, 1.0}, key
    assert 0 < twin["ss_inclusion"].min() < 0.5 < twin["ss_inclusion"].max() <= 1


@pytest.mark.stan
def test_selection_functions_match_their_numpy_twins(toolchain, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cmdstanpy = pytest.importorskip("cmdstanpy")
    from mmm_runner.backend import cache

    compiled = cache.compile_model(HARNESS, toolchain, include_paths=[ROOT / "stan"])
    c = _case()
    cmdstanpy.set_cmdstan_path(str(toolchain.path))
    model = cmdstanpy.CmdStanModel(exe_file=str(compiled.exe))
    fit = model.sample(
        data={k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in c.items()},
        fixed_param=True,
        chains=1,
        iter_sampling=4000,
        seed=3,
        sig_figs=18,
        output_dir=tmp_path,
        show_progress=False,
    )
    twin = _twins(c)
    for name in (
        "hs_scale",
        "lasso_scale",
        "ss_lp",
        "XtWX",
        "collapsed_lp",
        "conditional_mean",
        "hs_inclusion",
        "ss_inclusion",
        "lasso_inclusion",
    ):
        np.testing.assert_allclose(
            fit.stan_variable(name)[0], twin[name], rtol=0, atol=1e-8, err_msg=name
        )
    # the draws scatter around the mean with the twin's covariance
    draws = fit.stan_variable("conditional_draw")
    sd = np.sqrt(np.diag(twin["conditional_covariance"]))
    assert np.all(np.abs(draws.mean(axis=0) - twin["conditional_mean"]) < 4 * sd / 60)
    np.testing.assert_allclose(draws.std(axis=0), sd, rtol=0.05)
