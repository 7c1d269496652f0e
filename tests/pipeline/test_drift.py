"""Time-varying media effects against known truth, and the programs' drift algebra.

data/drift.csv has TV's effect doubling between weeks 26 and 130. Fitted with TV
time-varying (as shipped) and with a constant TV effect, the time-varying fit must keep
the true multiplier inside its 90% band most weeks, converge, and win on LOO; the budget
must plan TV at its latest effectiveness. Replays at fixed parameters check that both
programs multiply the drifting channel by the NumPy twin's multiplier.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from mmm_runner import comparison as compare
from mmm_runner import constants
from mmm_runner.analysis import effects
from mmm_runner.analysis.posterior import Posterior
from mmm_runner.cli.main import app
from mmm_runner.data.design import build_design
from mmm_runner.model import hsgp, stan_data
from mmm_runner.pipeline.runner import RunOptions, execute
from mmm_runner.validation import validate

from .conftest import ROOT, compiled_program, elpd_loo, replay

pytestmark = pytest.mark.stan

TRUTH = json.loads((ROOT / "data" / "drift_truth.json").read_text())
EXAMPLE = yaml.safe_load((ROOT / "config" / "drift.yaml").read_text())


def _config(drifting: bool) -> dict[str, Any]:
    config = copy.deepcopy(EXAMPLE)
    config["data"]["path"] = str(ROOT / "data" / "drift.csv")
    if not drifting:
        config["model"]["media"][0].pop("time_varying")
    return config


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The example as shipped (4 chains x 1000 + 1000) and with a constant TV effect."""
    out = {}
    for name, drifting in (("drift", True), ("constant", False)):
        tmp = tmp_path_factory.mktemp(f"drift_{name}")
        path = tmp / "config.yaml"
        path.write_text(yaml.safe_dump(_config(drifting), sort_keys=False))
        out[name] = execute(path, RunOptions(output_dir=tmp / "results", plots=False)).run_dir
    return out


def test_the_true_path_is_inside_the_band_most_weeks(runs: dict[str, Path]) -> None:
    table = pd.read_csv(runs["drift"] / "30_post_run" / constants.DRIFT)
    truth = np.asarray(TRUTH["media"]["tv"]["multiplier"])
    inside = (table["multiplier_q05"] <= truth) & (truth <= table["multiplier_q95"])
    assert inside.mean() >= 0.8, inside.mean()
    # the doubling itself: last year's effectiveness over the first half-year's
    ratio = table["multiplier"].iloc[-26:].mean() / table["multiplier"].iloc[:26].mean()
    assert 1.6 < ratio < 2.5, ratio


def test_the_drifting_fit_converges(runs: dict[str, Path]) -> None:
    gates = pd.read_csv(runs["drift"] / "40_diagnostics" / "gates.csv").set_index("check")
    assert gates.loc["rhat", "value"] < 1.01
    assert gates.loc["divergences", "value"] <= 0.0025  # a few of 4000 at most
    summary = pd.read_csv(runs["drift"] / "20_model_fit" / "posterior_summary.csv")
    drift = summary.set_index("parameter").loc[["tv.drift.amplitude", "tv.drift.lengthscale"]]
    assert (drift["r_hat"] < 1.01).all()


def test_loo_prefers_the_time_varying_effect(runs: dict[str, Path]) -> None:
    (drift, se), (constant, _) = elpd_loo(runs["drift"]), elpd_loo(runs["constant"])
    assert drift - constant > 2 * se, (drift, constant, se)


def test_the_budget_plans_tv_at_its_latest_effectiveness(runs: dict[str, Path]) -> None:
    """The latest multiplier (about 1.4 here) shows in the summary, and the response the
    budget optimises is TV's at that effectiveness: its expected current uplift over
    the horizon is above what the average effectiveness would give."""
    summary = pd.read_csv(runs["drift"] / "20_model_fit" / "posterior_summary.csv")
    latest = summary.set_index("parameter").loc["tv.drift.latest"]
    truth = TRUTH["media"]["tv"]["multiplier"][-1]
    assert latest["q05"] <= truth <= latest["q95"]
    assert latest["mean"] > 1.2


def _check_drift(data: dict[str, Any], point: Any, design: Any, spec: Any, inits: Any) -> None:
    """The program's multiplier is the twin's; the drifting channel's S is scaled by it."""
    pool = {
        "tvp_z": np.asarray(inits["tvp_z"])[None],
        "tvp_amplitude": np.asarray(inits["tvp_amplitude"])[None],
        "tvp_lengthscale": np.asarray(inits["tvp_lengthscale"])[None],
    }
    twin = hsgp.drift_multipliers(design, spec, pool)[0]  # (n_tvp, rows)
    stan = point.stan_variable("tvp_multiplier")[0].T
    np.testing.assert_allclose(stan, twin, rtol=1e-9)


def test_blm_multiplies_the_drifting_channel(tmp_path: Path) -> None:
    result = validate(ROOT / "config" / "drift.yaml")
    assert result.spec is not None
    assert result.frame is not None
    assert result.loaded is not None
    spec = result.spec
    design = build_design(result.frame, result.loaded.config, spec)
    data = stan_data.blm_data(design, spec, save_mu=True)
    rng = np.random.default_rng(4)
    inits = {
        "alpha_c": 0.1,
        "theta": [0.4, 1.0, 2.0, 0.2, 0.8, 0.3, 1.0],
        "beta_eff_free": [0.3, 0.2, 0.2],
        "beta_x": [-0.1, 0.05],
        "sigma": 0.4,
        "tvp_z": [rng.normal(size=data["m_tvp"])],
        "tvp_amplitude": [0.4],
        "tvp_lengthscale": [60.0],
    }
    point = replay(compiled_program("blm").exe, data, inits, tmp_path)
    _check_drift(data, point, design, spec, inits)
    # mu moves by beta * S_tv * (multiplier - 1), less its fitted mean (the intercept is
    # sampled at the fitted periods' average effects)
    flat = replay(
        compiled_program("blm").exe,
        data,
        dict(inits, tvp_z=[np.zeros(data["m_tvp"])]),
        tmp_path / "flat",
    )
    names = stan_data.layout(design, spec)
    post = Posterior.single(
        point.stan_variable("alpha"),
        point.stan_variable("beta"),
        np.asarray(inits["theta"])[None],
        np.array([inits["sigma"]]),
        1,
    )
    s_tv = effects.media_curves(post, design, spec, names)[0, 0]  # no pool: no drift
    multiplier = point.stan_variable("tvp_multiplier")[0][:, 0]
    change = point.stan_variable("beta")[0][0] * s_tv * (multiplier - 1)
    expected = change - change[design.fitted].mean()
    moved = point.stan_variable("mu_out")[0] - flat.stan_variable("mu_out")[0]
    np.testing.assert_allclose(moved, expected, atol=1e-9)


def test_hierarchical_multiplies_the_drifting_channel(tmp_path: Path) -> None:
    config = yaml.safe_load((ROOT / "config" / "panel_hierarchical.yaml").read_text())
    config["data"]["path"] = str(ROOT / "data" / "panel.csv")
    config["model"]["media"][0]["time_varying"] = True
    path = tmp_path / "panel.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    result = validate(path)
    assert result.ok, [p.render() for p in result.errors]
    assert result.spec is not None
    assert result.frame is not None
    assert result.loaded is not None
    spec = result.spec
    design = build_design(result.frame, result.loaded.config, spec)
    data = stan_data.hierarchical_data(design, spec, save_mu=True)
    groups = data["G"]
    rng = np.random.default_rng(3)
    inits = {
        "alpha_c": 0.0,
        "theta": [[0.5, 1.0, 2.0, 0.3, 1.0, 1.5, 0.4, 1.2]],
        "beta_eff": [0.3, 0.2, 0.1],
        "beta_x": -np.abs(rng.normal(0, 0.1, data["K"])),
        "tau_level": [0.5],
        "level": rng.normal(0, 0.3, groups),
        "tau_eff": [0.1, 0.1],
        "z": rng.normal(0, 1, (groups, data["V"])),
        "sigma": rng.uniform(0.3, 0.6, groups),
        "tvp_z": [rng.normal(size=data["m_tvp"])],
        "tvp_amplitude": [0.4],
        "tvp_lengthscale": [60.0],
    }
    point = replay(compiled_program("hierarchical").exe, data, inits, tmp_path)
    _check_drift(data, point, design, spec, inits)


def test_compare_runs_and_reproduce_with_a_drift_and_a_gp_trend(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    """Both time effects at once, fitted by MAP: compare-runs sets it beside the MCMC
    run, and `mmm reproduce` gets its numbers again."""
    config = _config(True)
    config["model"]["trend"] = {"type": "gp"}
    config["fit"] = {"method": "map"}
    path = tmp_path / "both.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    point = execute(path, RunOptions(output_dir=tmp_path / "results", plots=False)).run_dir
    assert (point / "30_post_run" / constants.DRIFT).is_file()
    comparison = compare.compare([compare.load_run(runs["drift"]), compare.load_run(point)])
    assert len(comparison.summary) == 2
    result = CliRunner().invoke(app, ["reproduce", str(point), "-o", str(tmp_path / "again")])
    assert result.exit_code == 0, result.output
    assert "reproduced" in result.output
