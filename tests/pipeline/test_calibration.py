"""Lift tests against known truth: on a market where TV spend follows unobserved demand,
the uncalibrated fit credits TV with demand's effect and misses its true ROI; the go-dark
test's likelihood term brings the calibrated fit's ROI interval over the truth. The
model's lift in NumPy (calibration.csv) equals the Stan program's ``lift_pred``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from mmm_runner import constants
from mmm_runner.data.simulate_calibration import simulate_confounded

from .conftest import run_config

pytestmark = pytest.mark.stan


def _config(data: Path, lift_test: dict[str, Any] | None) -> dict[str, Any]:
    config: dict[str, Any] = {
        "name": "confounded",
        "seed": 7,
        "data": {"path": str(data), "date_column": "date", "frequency": "weekly"},
        "model": {
            "formula": "sales ~ tv + search",
            "media": [
                {
                    "name": "tv",
                    "adstock": {"type": "geometric", "l_max": 6},
                    "saturation": {"type": "hill"},
                },
                {
                    "name": "search",
                    "adstock": {"type": "geometric", "l_max": 4},
                    "saturation": {"type": "michaelis_menten"},
                },
            ],
        },
        "fit": {"chains": 2, "warmup": 500, "samples": 500},
        "budget": None,
    }
    if lift_test is not None:
        config["calibration"] = {"lift_tests": [{"name": "tv_go_dark", **lift_test}]}
    return config


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("calibration")
    frame, truth = simulate_confounded()
    frame.to_csv(tmp / "confounded.csv", index=False)
    out = {}
    for name, test in (("plain", None), ("calibrated", truth["lift_test"])):
        path = tmp / f"{name}.yaml"
        path.write_text(yaml.safe_dump(_config(tmp / "confounded.csv", test), sort_keys=False))
        out[name] = run_config(path, tmp / name)
    return out["plain"], out["calibrated"], truth


def _roi(run: Path) -> pd.Series:
    roi = pd.read_csv(run / "30_post_run" / constants.ROI)
    return roi[(roi["group"] == "all") & (roi["channel"] == "tv")].iloc[0]


def test_the_lift_test_moves_tv_roi_onto_the_truth(
    runs: tuple[Path, Path, dict[str, Any]],
) -> None:
    plain, calibrated, truth = runs
    true_roi = truth["media"]["tv"]["roi"]
    before, after = _roi(plain), _roi(calibrated)
    assert not before["roi_q05"] <= true_roi <= before["roi_q95"], before
    assert before["roi_q05"] > true_roi  # demand's effect credited to TV
    assert after["roi_q05"] <= true_roi <= after["roi_q95"], after


def test_calibration_table_agrees_with_the_stan_program(
    runs: tuple[Path, Path, dict[str, Any]],
) -> None:
    import cmdstanpy

    _, calibrated, truth = runs
    table = pd.read_csv(calibrated / "30_post_run" / constants.CALIBRATION)
    row = table.iloc[0]
    assert row["test"] == "tv_go_dark"
    assert row["measured_lift"] == pytest.approx(truth["lift_test"]["lift"])
    # one test against 156 weeks of confounded data: the fit meets it part way
    assert abs(row["z"]) < 3
    fit = cmdstanpy.from_csv(
        sorted(str(p) for p in (calibrated / "20_model_fit" / "stan_csv").glob("*.csv"))
    )
    sales_sd = float(pd.read_csv(calibrated.parent.parent / "confounded.csv")["sales"].std(ddof=0))
    stan_lift = fit.stan_variable("lift_pred")[:, 0] * sales_sd
    # the CSV keeps six significant digits
    assert row["model_lift"] == pytest.approx(float(np.mean(stan_lift)), rel=1e-4)
    assert (calibrated / "30_post_run" / "calibration.png").exists()


def test_a_panel_tests_lift_in_numpy_is_the_hierarchical_programs(tmp_path: Path) -> None:
    """A lift test in one market of the shipped panel, with group-specific transforms:
    the program's lift_pred at fixed parameters equals model_lifts on the same draw."""
    from mmm_runner.analysis.calibration import model_lifts
    from mmm_runner.analysis.effects import media_curves
    from mmm_runner.backend import cache, toolchain
    from mmm_runner.data.design import build_design
    from mmm_runner.model import programs, stan_data
    from mmm_runner.validation import validate

    from .conftest import ROOT, panel_posterior, replay

    config = yaml.safe_load((ROOT / "config" / "panel_hierarchical.yaml").read_text())
    config["data"]["path"] = str(ROOT / "data" / "panel.csv")
    config["model"]["hierarchical"]["transforms"] = "group"
    config["calibration"] = {
        "lift_tests": [
            {
                "channel": "search",
                "group": "north",
                "start": "2024-03-04",
                "end": "2024-03-25",
                "measured_until": "2024-04-15",
                "spend_change": 4000.0,
                "lift": 9000.0,
                "se": 1500.0,
            }
        ]
    }
    path = tmp_path / "panel.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    result = validate(path)
    assert result.ok, [p.render() for p in result.errors]
    spec = result.spec
    assert spec is not None
    assert result.loaded is not None
    assert result.frame is not None
    design = build_design(result.frame, result.loaded.config, spec)
    names = stan_data.layout(design, spec)
    data = stan_data.hierarchical_data(design, spec)
    rng = np.random.default_rng(5)
    lower, upper = np.array(data["theta_lower"]), np.array(data["theta_upper"])
    theta = [
        lower + rng.uniform(0.2, 0.8, len(lower)) * (np.minimum(upper, lower + 3) - lower)
        for _ in range(design.n_groups)
    ]
    n_groups, varying = design.n_groups, data["V"]
    inits = {
        "alpha_c": 0.1,
        "theta": theta,
        "beta_eff": rng.uniform(0.2, 0.6, data["M"]),
        "beta_x": rng.normal(0, 0.1, data["K"]),
        "tau_level": [0.5],
        "level": rng.normal(0, 0.3, n_groups),
        "tau_eff": [0.2] * varying,
        "z": rng.normal(0, 1, (n_groups, varying)),
        "sigma": [0.5] * n_groups,
    }
    exe = cache.compile_model(programs.program("hierarchical"), toolchain.locate()).exe
    point = replay(exe, data, inits, tmp_path)
    post = panel_posterior(point)
    curves = media_curves(post, design, spec, names)
    lifts = model_lifts(post, design, spec, names, curves)
    stan_lift = point.stan_variable("lift_pred")[0, 0] * design.y_sd
    assert lifts["test1"][0] == pytest.approx(stan_lift, rel=1e-8)
    assert stan_lift > 0


def _roi_config(data: Path, prior: str) -> dict[str, Any]:
    config = _config(data, None)
    config["calibration"] = {"roi_priors": [{"channel": "tv", "prior": prior}]}
    return config


def test_an_roi_prior_implies_exactly_the_stated_roi_distribution(tmp_path: Path) -> None:
    """Sampling the prior alone, the ROI the model implies (coefficient times the
    window's saturated media, per spend) has the stated lognormal's quantiles."""
    import cmdstanpy
    from scipy import stats

    from mmm_runner import classes
    from mmm_runner.analysis.decomposition import roi_table
    from mmm_runner.backend import cache, toolchain
    from mmm_runner.backend.fit import Draws
    from mmm_runner.data.design import build_design
    from mmm_runner.model import programs, stan_data
    from mmm_runner.validation import validate

    frame, _ = simulate_confounded()
    frame.to_csv(tmp_path / "confounded.csv", index=False)
    path = tmp_path / "roi.yaml"
    config = _roi_config(tmp_path / "confounded.csv", "lognormal(-1.2, 0.3)")
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    result = validate(path)
    assert result.ok, [p.render() for p in result.errors]
    spec = result.spec
    assert spec is not None
    assert result.loaded is not None
    assert result.frame is not None
    design = build_design(result.frame, result.loaded.config, spec)
    data = stan_data.blm_data(design, spec, prior_only=True)
    exe = cache.compile_model(programs.program("blm"), toolchain.locate()).exe
    fit = cmdstanpy.CmdStanModel(exe_file=str(exe)).sample(
        data=data,
        chains=2,
        iter_warmup=1000,
        iter_sampling=2000,
        seed=3,
        output_dir=tmp_path,
        show_progress=False,
        adapt_delta=0.95,
    )
    variables = {name: fit.stan_variable(name) for name in ("alpha", "beta", "sigma", "theta")}
    draws = Draws("mcmc", {k: v.reshape(2, -1, *v.shape[1:]) for k, v in variables.items()})
    model_class = classes.get("blm")
    post = model_class.posterior(draws, design, spec)
    names = stan_data.layout(design, spec)
    contributions = model_class.decompose(post, design, spec, names).contributions
    fitted = design.fitted
    tv = spec.media_names.index("tv")
    roi = contributions["tv"][:, fitted].sum(axis=1) / design.spend[fitted, tv].sum()
    stated = stats.lognorm(s=0.3, scale=np.exp(-1.2))
    for q in (0.05, 0.25, 0.5, 0.75, 0.95):
        assert np.quantile(roi, q) == pytest.approx(stated.ppf(q), rel=0.06), q
    table = roi_table(contributions, design, spec)
    row = table[(table["group"] == "all") & (table["channel"] == "tv")].iloc[0]
    assert row["roi"] == pytest.approx(float(roi.mean()), rel=1e-9)


def test_an_roi_prior_pulls_the_confounded_fit_toward_it(
    runs: tuple[Path, Path, dict[str, Any]], tmp_path: Path
) -> None:
    """A prior at the true ROI (15% sd) against 156 confounded weeks: the posterior lies
    between the data's answer and the prior, its interval narrower than without it."""
    plain, _, truth = runs
    frame, _ = simulate_confounded()
    frame.to_csv(tmp_path / "confounded.csv", index=False)
    true_roi = truth["media"]["tv"]["roi"]
    path = tmp_path / "roi.yaml"
    prior = f"lognormal({np.log(true_roi):.4f}, 0.15)"
    path.write_text(yaml.safe_dump(_roi_config(tmp_path / "confounded.csv", prior)))
    with_prior, without = _roi(run_config(path, tmp_path / "runs")), _roi(plain)
    assert true_roi < with_prior["roi"] < without["roi"]
    width = with_prior["roi_q95"] - with_prior["roi_q05"]
    assert width < without["roi_q95"] - without["roi_q05"]


def test_compare_runs_shows_the_lift_before_and_after_calibration(
    runs: tuple[Path, Path, dict[str, Any]], tmp_path: Path
) -> None:
    """compare-runs of the uncalibrated and the calibrated run: the uncalibrated
    posterior's lift for the same go-dark (rebuilt from its draws) overstates the measured
    lift beyond its interval; the calibrated run's is its own calibration.csv row. The
    rebuilt lift of the calibrated run equals what its pipeline wrote."""
    from mmm_runner import comparison as compare

    plain, calibrated, truth = runs
    records = [compare.load_run(plain), compare.load_run(calibrated)]
    result = compare.compare(records)
    table = result.calibration.set_index("run")
    assert list(table["test"]) == ["tv_go_dark", "tv_go_dark"]
    before, after = table.loc[records[0].label], table.loc[records[1].label]
    measured = truth["lift_test"]["lift"]
    assert not before["calibrated"]
    assert after["calibrated"]
    assert before["measured_lift"] == pytest.approx(measured)
    # TV credited with demand's effect: the model expects a deeper dip than was measured
    assert before["model_q95"] < measured < 0
    assert before["z"] < -2
    assert abs(after["z"]) < abs(before["z"])
    own = pd.read_csv(calibrated / "30_post_run" / constants.CALIBRATION).iloc[0]
    assert after["model_lift"] == pytest.approx(own["model_lift"])
    [test] = records[1].lift_tests
    rebuilt = compare._rebuilt_lift(records[1], test)
    assert rebuilt["model_lift"] == pytest.approx(own["model_lift"], rel=1e-4)
    assert rebuilt["model_q05"] == pytest.approx(own["model_q05"], rel=1e-3)
    written = compare.write(result, tmp_path / "compare", plots=False)
    assert constants.CALIBRATION in written
    assert "before and after calibration" in (tmp_path / "compare" / "comparison.md").read_text()
