"""`mmm forecast`: a fitted run extended by a plan. The forecast's mean equals the Stan
program's linear predictor on the extended data; carry-over into a plan without TV
follows a hand calculation of geometric adstock and Hill saturation; bad plans are
refused with located errors and exit 2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from mmm_runner.backend import cache, toolchain
from mmm_runner.cli.main import app
from mmm_runner.data.simulate_calibration import simulate_confounded
from mmm_runner.errors import DataError
from mmm_runner.model import programs, stan_data
from mmm_runner.planning import forecast, prepare

from .conftest import replay, run_config

pytestmark = pytest.mark.stan

HELD = 13  # the file's last weeks, left out of the run and used as the plan


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    tmp = tmp_path_factory.mktemp("forecast")
    frame, _ = simulate_confounded()
    frame.to_csv(tmp / "data.csv", index=False)
    end = str(pd.Timestamp(frame["date"].iloc[-HELD - 1]).date())
    config = {
        "name": "to_forecast",
        "seed": 11,
        "data": {"path": str(tmp / "data.csv"), "date_column": "date", "end": end},
        "model": {
            "formula": "sales ~ tv + search + season",
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
            "seasonality": [{"period": 52.18, "order": 1}],
        },
        "fit": {"chains": 2, "warmup": 300, "samples": 200},
        "budget": None,
    }
    path = tmp / "run.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    plan = frame.iloc[-HELD:][["date", "tv", "search"]].copy()
    plan["date"] = pd.to_datetime(plan["date"]).dt.strftime("%Y-%m-%d")
    return run_config(path, tmp / "runs"), plan


def _write(tmp: Path, plan: pd.DataFrame) -> Path:
    path = tmp / "plan.csv"
    plan.to_csv(path, index=False)
    return path


def test_the_forecast_is_the_programs_prediction_on_the_extended_data(
    fitted: tuple[Path, pd.DataFrame], tmp_path: Path
) -> None:
    run, plan = fitted
    inputs = prepare(run, _write(tmp_path, plan))
    design, spec = inputs.design, inputs.spec
    assert inputs.future.sum() == HELD
    assert (~design.fitted[inputs.future]).all()
    data = stan_data.blm_data(design, spec, save_mu=True)
    assert data["N_pred"] == HELD
    import cmdstanpy

    fit = cmdstanpy.from_csv(
        sorted(str(p) for p in (run / "20_model_fit" / "stan_csv").glob("*.csv"))
    )
    draw = 57
    names = ("alpha_c", "theta", "beta_eff_free", "beta_x", "sigma")
    inits = {n: fit.stan_variable(n)[draw] for n in names}
    exe = cache.compile_model(programs.program("blm"), toolchain.locate()).exe
    point = replay(exe, data, inits, tmp_path)
    mu = point.stan_variable("mu_out")[0] * design.y_sd + design.y_mean
    from mmm_runner import classes

    parts = classes.get("blm").decompose(inputs.post, design, spec, inputs.names)
    # the replay starts from the CSV's six significant digits of alpha_c, theta and the
    # effects; the posterior's alpha and beta are six digits of other quantities
    np.testing.assert_allclose(parts.expected[draw], mu, rtol=1e-5)
    result = forecast(run, _write(tmp_path, plan), "holdout_plan")
    assert list(result.kpi["date"]) == list(plan["date"])
    expected = parts.expected[:, inputs.future].mean(axis=0)
    np.testing.assert_allclose(result.kpi["expected_mean"], expected)
    assert (result.kpi["kpi_q05"] < result.kpi["kpi_mean"]).all()
    for name in (
        "forecast.csv",
        "forecast_contributions.csv",
        "forecast_summary.json",
        "forecast.png",
    ):
        assert (result.folder / name).is_file(), name


def test_carry_over_into_a_plan_without_tv_matches_a_hand_calculation(
    fitted: tuple[Path, pd.DataFrame], tmp_path: Path
) -> None:
    run, plan = fitted
    dark = plan.assign(tv=0.0)
    inputs = prepare(run, _write(tmp_path, dark))
    design, post = inputs.design, inputs.post
    parts = (
        __import__("mmm_runner.classes", fromlist=["get"])
        .get("blm")
        .decompose(post, design, inputs.spec, inputs.names)
    )
    tv = inputs.spec.media_names.index("tv")
    labels = list(inputs.names.theta)
    draw = 3
    decay = post.theta[draw, labels.index("tv.adstock.decay")]
    k = post.theta[draw, labels.index("tv.saturation.half_saturation")]
    s = post.theta[draw, labels.index("tv.saturation.shape")]
    weights = decay ** np.arange(6)
    weights = weights / weights.sum()
    history = design.media[~inputs.future, tv] / design.media_scale[tv]
    start = int(np.flatnonzero(inputs.future)[0])
    for week in range(HELD):
        carried = sum(
            weights[lag] * history[start + week - lag]
            for lag in range(6)
            if start + week - lag < start  # only spend from before the plan
        )
        hill = carried**s / (k**s + carried**s) if carried > 0 else 0.0
        by_hand = design.y_sd * post.beta[draw, tv] * hill
        assert parts.contributions["tv"][draw, start + week] == pytest.approx(
            by_hand, rel=1e-9, abs=1e-9
        )
    assert parts.contributions["tv"][draw, start + 6 :].max() == 0.0  # gone after l_max weeks


@pytest.mark.parametrize(
    ("edit", "where", "message"),
    [
        (lambda p: p.drop(columns=["search"]), "plan.csv:search", "column missing"),
        (lambda p: p.assign(tv=-1.0), "plan.csv:tv:row 1", "negative spend"),
        (lambda p: p.iloc[1:], "plan.csv:date:row", "must continue the data"),
        (lambda p: p.assign(search="a lot"), "plan.csv:search:row 1", "not a finite number"),
        (lambda p: p.assign(date="next week"), "plan.csv:date:row 1", "not a date"),
    ],
)
def test_bad_plans_are_refused_where_they_are_wrong(
    fitted: tuple[Path, pd.DataFrame], tmp_path: Path, edit: Any, where: str, message: str
) -> None:
    run, plan = fitted
    path = _write(tmp_path, edit(plan))
    with pytest.raises(DataError) as caught:
        prepare(run, path)
    located = [p for p in caught.value.problems if p.location.startswith(str(tmp_path / where))]
    assert any(message in p.message for p in located), caught.value.problems
    outcome = CliRunner().invoke(app, ["forecast", str(run), "--plan", str(path)])
    assert outcome.exit_code == 2
    assert message in outcome.output


def test_several_plans_are_set_side_by_side(
    fitted: tuple[Path, pd.DataFrame], tmp_path: Path
) -> None:
    run, plan = fitted
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    more = _write(tmp_path / "a", plan.assign(tv=plan["tv"] + 5000.0))
    none = _write(tmp_path / "b", plan.assign(tv=0.0))
    outcome = CliRunner().invoke(
        app, ["forecast", str(run), "--plan", str(more), "--plan", str(none), "--name", "tv"]
    )
    assert outcome.exit_code == 0, outcome.output
    [folder] = (run / "80_plans").glob("*_scenarios")
    table = pd.read_csv(folder / "scenarios.csv")
    assert len(table) == 2
    assert table["tv_spend"].iloc[0] > table["tv_spend"].iloc[1] == 0
    assert table["tv_contribution"].iloc[0] > table["tv_contribution"].iloc[1]
    assert table["kpi_total"].iloc[0] > table["kpi_total"].iloc[1]
