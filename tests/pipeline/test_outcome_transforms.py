"""Transforms per outcome through Stan: the program at fixed parameters against the NumPy
twin, the class's decomposition and its lift tests on the data the builder lays out (TV
with a feature set per product), and a fit of the shipped example recovering TV's two
decays, with the total's decomposition, budget, compare-runs and reproduce on it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from mmm_runner import classes, constants
from mmm_runner import comparison as compare
from mmm_runner.cli.main import app

from .conftest import ROOT, compiled_program, replay, run_config

pytestmark = pytest.mark.stan

NAME = "outcome_transforms"


def _config(tmp: Path, **fit: Any) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load((ROOT / "config" / f"{NAME}.yaml").read_text())
    config["data"]["path"] = str(ROOT / "data" / f"{NAME}.csv")
    config["fit"].update(fit)
    path = tmp / f"{NAME}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_the_program_matches_the_twin_with_a_set_per_outcome(tmp_path: Path) -> None:
    from mmm_runner.analysis.network_effects import network_lifts
    from mmm_runner.backend.fit import Draws
    from mmm_runner.data.design import build_design
    from mmm_runner.model import calibration, network
    from mmm_runner.model import network_data as nd
    from mmm_runner.model.stan_data import layout
    from mmm_runner.validation import validate
    from tests.model.test_network import inits, random_params

    config = yaml.safe_load(_config(tmp_path).read_text())
    config["data"]["holdout"] = 6  # held-out rows forecast the halo's source
    test = {"start": "2024-03-04", "end": "2024-04-22", "lift": -1.0, "se": 1.0}
    config["calibration"] = {
        "lift_tests": [
            {**test, "name": "tv_b", "channel": "tv", "spend_change": -20000.0},
            {**test, "name": "tv_total", "channel": "tv", "spend_change": -20000.0},
            {**test, "name": "search", "channel": "search", "spend_change": 3000.0},
        ]
    }
    config["calibration"]["lift_tests"][0].update(outcome="product_b", measured_until="2024-06-03")
    path = tmp_path / "held.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    result = validate(path)
    assert result.ok
    assert result.spec is not None
    assert result.frame is not None
    assert result.loaded is not None
    spec = result.spec
    design = build_design(result.frame, result.loaded.config, spec)
    model_class = classes.get("multivariate")
    data = model_class.stan_data(design, spec, save_mu=True)
    assert data["Q"] == 4  # TV on each product, search, social
    params = random_params(data, np.random.default_rng(3), np.array([0.2]), np.eye(2))
    point = replay(compiled_program("multivariate").exe, data, inits(data, params), tmp_path)
    ll = network.log_likelihood(data, params)
    means = network.structural_means(data, params)
    forecast = network.forecast_means(data, params, means.mu)
    np.testing.assert_allclose(
        point.stan_variable("log_lik_outcomes")[0], ll.log_lik_outcomes, atol=1e-8
    )
    np.testing.assert_allclose(
        point.stan_variable("log_lik_marginal")[0], ll.log_lik_marginal, atol=1e-8
    )
    np.testing.assert_allclose(point.stan_variable("mu_out")[0], forecast, atol=1e-8)
    # lift tests of TV (a set per product) measured on product B and on the total, and
    # of search (shared): the program's lift_pred is the twin's network_lifts
    _, sd = calibration.measured_weights(design, spec, calibration.place(design, spec))
    stan_lifts = point.stan_variable("lift_pred")[0] * sd
    assert stan_lifts.size == 3
    # the class's decomposition of that draw adds up to the program's mean of the total
    written = point.stan_variables()  # cmdstanpy leaves out variables of size zero
    variables = {
        name: written[name][None] if name in written else np.zeros((1, 1, 0))
        for name in ("alpha", "beta", "theta", "xcoef", "sigma", "gamma", "psi", "R")
    }
    for name in ("y_rep", "log_lik_outcomes", "mu_out"):
        variables[name] = written[name][None]
    draws = model_class.kpi_draws(Draws("mcmc", variables), design, spec)
    post = model_class.posterior(draws, design, spec)
    names = layout(design, spec)
    parts = model_class.decompose(post, design, spec, names)
    lifts = network_lifts(post, design, spec, names, parts.curves)
    for e, name in enumerate(("tv_b", "tv_total", "search")):
        assert lifts[name][0] == pytest.approx(stan_lifts[e], rel=1e-8), name
    assert max(stan_lifts[0], stan_lifts[1]) < 0 < stan_lifts[2]  # TV cut, search raised
    total = draws.variables["mu_out"][0, 0] * design.y_sd + design.y_mean
    np.testing.assert_allclose(parts.expected[0], total, rtol=1e-9)
    # TV's line: each product's own transform, weighted into the total (no cross-effect
    # reaches the first two weeks)
    sets = network.feature_sets(data, params.theta)
    weights = nd.outcome_weights(design, spec)
    tv = design.y_sd * (weights[0] * params.beta[0] * sets[:, 0])
    tv = tv + design.y_sd * weights[1] * params.beta[3] * sets[:, 3]
    np.testing.assert_allclose(parts.contributions["tv"][0, :2], tv[:2], rtol=1e-9)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp(NAME)
    return run_config(_config(tmp, chains=4, warmup=500, samples=500), tmp / "results")


def _truth() -> dict[str, Any]:
    truth: dict[str, Any] = json.loads((ROOT / "data" / f"{NAME}_truth.json").read_text())
    return truth


def test_each_products_decay_is_recovered(fitted: Path) -> None:
    summary = pd.read_csv(fitted / "20_model_fit" / constants.POSTERIOR_SUMMARY)
    summary = summary.set_index("parameter")
    truth = _truth()["outcomes"]
    fast = summary.loc["tv.adstock.decay[product_a]"]
    slow = summary.loc["tv.adstock.decay[product_b]"]
    assert fast["q05"] <= truth["product_a"]["media"]["tv"]["adstock"]["decay"] <= fast["q95"]
    assert slow["q05"] <= truth["product_b"]["media"]["tv"]["adstock"]["decay"] <= slow["q95"]
    assert fast["q95"] < slow["q05"]  # clearly apart
    gates = pd.read_csv(fitted / "40_diagnostics" / constants.GATES).set_index("check")
    assert gates.loc["rhat", "value"] < 1.01
    assert gates.loc["divergences", "status"] == "pass"


def test_the_totals_decomposition_and_budget_hold_together(fitted: Path) -> None:
    post = fitted / "30_post_run"
    rows = pd.read_csv(post / constants.DECOMP_ROWS)
    fitted_values = pd.read_csv(post / constants.FITTED_VALUES)
    # the lines' posterior means add up to the fit's (means are linear)
    terms = rows.pivot_table(index="date", columns="term", values="mean", aggfunc="sum")
    np.testing.assert_allclose(
        terms.sum(axis=1).to_numpy(),
        fitted_values.set_index("date")["fitted"].loc[terms.index].to_numpy(),
        rtol=1e-9,
    )
    # TV's line on the total is its effect on the two products, each through its own
    # transform, and matches the truth's
    effects = pd.read_csv(post / "outcome_effects.csv").set_index(["outcome", "channel", "path"])
    totals = pd.read_csv(post / constants.DECOMP_TOTALS)
    overall = totals[totals["group"] == "all"].set_index("term")
    by_products = sum(effects.loc[(o, "tv", "total"), "mean"] for o in ("product_a", "product_b"))
    assert overall.loc["tv", "total"] == pytest.approx(by_products, rel=1e-6)
    lines = pd.read_csv(ROOT / "data" / f"{NAME}_contributions.csv")
    true = float(lines.loc[lines["term"] == "tv", "contribution"].sum())
    assert overall.loc["tv", "total_q05"] <= true <= overall.loc["tv", "total_q95"]
    allocation = pd.read_csv(fitted / "60_optimisation" / "allocation.csv").set_index("channel")
    assert np.isfinite(allocation["contribution_optimised"]).all()
    curves = pd.read_csv(fitted / "60_optimisation" / "response_curves.csv")
    tv = curves[curves["channel"] == "tv"]
    assert tv["contribution"].iloc[0] < tv["contribution"].iloc[-1]
    assert (post / "network_paths.png").stat().st_size > 0
    assert np.isfinite(pd.read_csv(post / "loo_outcomes.csv")["elpd_loo"]).all()


def test_compare_runs_and_reproduce(fitted: Path, tmp_path: Path) -> None:
    point = run_config(_config(tmp_path, method="map"), tmp_path / "results")
    comparison = compare.compare([compare.load_run(fitted), compare.load_run(point)])
    assert len(comparison.summary) == 2
    result = CliRunner().invoke(app, ["reproduce", str(point), "-o", str(tmp_path / "again")])
    assert result.exit_code == 0, result.output
    assert "reproduced" in result.output
