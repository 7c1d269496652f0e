"""Reproducible runs, `mmm reproduce`, `mmm compare-runs` and cross-validation on real fits."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from mmm_runner import comparison as compare
from mmm_runner import constants
from mmm_runner import reproduction as reproduce
from mmm_runner.analysis.posterior import import_arviz
from mmm_runner.cli.main import app

from .conftest import ROOT, run_config

pytestmark = pytest.mark.stan

POSTERIOR = Path(constants.stage_folder("model_fit")) / constants.POSTERIOR


def _config(name: str, **changes: Any) -> dict[str, Any]:
    """The shipped single-market example, shortened (2 chains x 300), without a budget."""
    config = yaml.safe_load((ROOT / "config" / "single_market.yaml").read_text())
    config.update(name=name, budget=None)
    config["data"]["path"] = str(ROOT / "data" / "single_market.csv")
    config["fit"].update(chains=2, warmup=300, samples=300)
    for key, value in changes.items():
        config[key] = value
    return config


def _run(folder: Path, config: dict[str, Any]) -> Path:
    path = folder / f"{config['name']}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return run_config(path, folder / "results")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("compare")
    full = _config("full")
    no_promo = _config("no_promo")
    no_promo["model"]["formula"] = no_promo["model"]["formula"].replace(" + promo", "")
    no_promo["model"]["controls"] = [
        c for c in no_promo["model"]["controls"] if c["name"] != "promo"
    ]
    # The same data with the last week's revenue changed: another data set for LOO.
    data = pd.read_csv(ROOT / "data" / "single_market.csv")
    data.loc[len(data) - 1, "revenue"] *= 1.01
    data.to_csv(folder / "changed.csv", index=False)
    changed = _config("changed_data")
    changed["data"]["path"] = str(folder / "changed.csv")
    return {
        "full": _run(folder, full),
        "again": _run(folder, full),
        "other_seed": _run(folder, _config("full", seed=full["seed"] + 1)),
        "no_promo": _run(folder, no_promo),
        "changed_data": _run(folder, changed),
    }


# --- reproducibility ----------------------------------------------------------------------------


def test_the_same_config_gives_bit_identical_draws_and_tables(runs: dict[str, Path]) -> None:
    assert reproduce.compare_file(runs["full"] / POSTERIOR, runs["again"] / POSTERIOR) == ""
    result = reproduce.compare_folders(runs["full"], runs["again"])
    assert result.identical, result.differences
    assert len(result.compared) > 20


def test_a_changed_seed_changes_the_draws(runs: dict[str, Path]) -> None:
    detail = reproduce.compare_file(runs["full"] / POSTERIOR, runs["other_seed"] / POSTERIOR)
    assert "posterior/beta" in detail


def test_reproduce_passes_on_a_run_and_fails_on_a_tampered_copy(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    # The data may have moved (another checkout): --data points at the same bytes.
    moved = tmp_path / "moved.csv"
    shutil.copyfile(ROOT / "data" / "single_market.csv", moved)
    args = ["reproduce", str(runs["full"]), "--data", str(moved), "-o", str(tmp_path / "a")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "reproduced" in result.output
    report = json.loads(next((tmp_path / "a").glob("*/reproduction.json")).read_text())
    assert report["identical"]
    tampered = tmp_path / runs["full"].name
    shutil.copytree(runs["full"], tampered)
    roi = tampered / "30_post_run" / constants.ROI
    table = pd.read_csv(roi)
    table.loc[0, "roi"] += 0.01
    table.to_csv(roi, index=False)
    result = CliRunner().invoke(app, ["reproduce", str(tampered)])
    assert result.exit_code == constants.EXIT_MISMATCH, result.output
    assert "30_post_run/roi.csv" in result.output
    assert "column roi: 1 of" in result.output


def test_reproduce_refuses_changed_data_and_non_runs(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    changed = tmp_path / "changed.csv"
    changed.write_text(
        (ROOT / "data" / "single_market.csv").read_text().replace("2022", "2021", 1)
    )
    result = CliRunner().invoke(app, ["reproduce", str(runs["full"]), "--data", str(changed)])
    assert result.exit_code == constants.EXIT_CONFIG  # an input changed: nothing was rerun
    assert "changed since the run" in result.output
    result = CliRunner().invoke(app, ["reproduce", str(tmp_path)])
    assert result.exit_code == constants.EXIT_CONFIG
    assert "is not a run folder" in result.output


# --- compare-runs -------------------------------------------------------------------------------


def test_compare_ranks_runs_by_elpd_as_arviz_does(runs: dict[str, Path], tmp_path: Path) -> None:
    chosen = [runs["no_promo"], runs["full"]]
    comparison = compare.compare([compare.load_run(p) for p in chosen])
    az = import_arviz()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Pareto k notes
        expected = az.compare(
            {p.name: az.from_netcdf(str(p / POSTERIOR), engine="h5netcdf") for p in chosen},
            ic="loo",
        )
    table = comparison.summary.set_index("run")
    for label, row in expected.iterrows():
        assert table.loc[label, "loo_rank"] == row["rank"] + 1
        assert table.loc[label, "elpd_diff"] == pytest.approx(row["elpd_diff"])
        assert table.loc[label, "elpd_diff_se"] == pytest.approx(row["dse"])
    # Promotions matter in the simulated truth: the model without them loses.
    assert table.loc[runs["full"].name, "loo_rank"] == 1
    assert not any("different data" in w for w in comparison.warnings)
    diff = comparison.config_diff.set_index("key")
    assert "model.formula" in diff.index
    assert diff.loc["model.controls[promo].sign", runs["no_promo"].name] == "(absent)"
    assert set(comparison.channels["run"]) == {p.name for p in chosen}


def test_compare_warns_when_runs_were_fit_on_different_data(runs: dict[str, Path]) -> None:
    records = [compare.load_run(runs["full"]), compare.load_run(runs["changed_data"])]
    comparison = compare.compare(records)
    assert any("different data" in w for w in comparison.warnings)
    # Each run is alone in its data set: no cross-data elpd difference is claimed.
    assert comparison.summary["loo_set"].nunique() == 2
    assert (comparison.summary["elpd_diff"] == 0).all()


def test_compare_runs_lists_damaged_runs_and_goes_on(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    damaged = tmp_path / "damaged"
    shutil.copytree(runs["no_promo"], damaged)
    (damaged / "50_model_selection" / constants.LOO_SUMMARY).unlink()
    failed = tmp_path / "failed"
    shutil.copytree(runs["full"], failed)
    manifest_path = failed / "00_run_metadata" / constants.MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest.update(status="failed", failed_stage="model_fit")
    manifest_path.write_text(json.dumps(manifest))
    empty = tmp_path / "not_a_run"
    empty.mkdir()
    out = tmp_path / "comparison"
    args = [
        "compare-runs",
        str(runs["full"]),
        str(damaged),
        str(failed),
        str(empty),
        "-o",
        str(out),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "missing 50_model_selection/loo_summary.csv" in result.output
    assert "run failed in stage model_fit" in result.output
    assert "not a run folder" in result.output
    for name in ("comparison.csv", "channels.csv", "config_diff.csv", "comparison.md"):
        assert (out / name).is_file()
    assert (out / "elpd_differences.png").is_file()
    summary = pd.read_csv(out / "comparison.csv")
    assert len(summary) == 4
    assert "Runs with problems" in (out / "comparison.md").read_text()


def test_compare_runs_rejects_a_path_that_does_not_exist(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["compare-runs", str(tmp_path / "nope")])
    assert result.exit_code == constants.EXIT_CONFIG
    assert "is not a folder" in result.output


# --- cross-validation ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["laplace", "map"])
def test_cross_validation_scores_expanding_folds(method: str, tmp_path: Path) -> None:
    config = yaml.safe_load((ROOT / "config" / "single_market_map.yaml").read_text())
    config["data"]["path"] = str(ROOT / "data" / "single_market.csv")
    config["cv"] = {"initial": 104, "horizon": 13, "step": 13, "method": method}
    run_dir = _run(tmp_path, config)
    folder = run_dir / "50_model_selection"
    folds = pd.read_csv(folder / constants.CV_FOLDS)
    assert list(folds["n_train"]) == [104, 117, 130, 143]
    assert (folds["n_test"] == 13).all()
    # No fold sees the periods it is scored on.
    assert (pd.to_datetime(folds["train_end"]) < pd.to_datetime(folds["test_start"])).all()
    # The model forecasts a quarter ahead far better than the mean level would.
    data = pd.read_csv(ROOT / "data" / "single_market.csv")
    assert (folds["mape"] < 0.1).all()
    assert (folds["rmse"] < data["revenue"].std()).all()
    if method == "map":  # a point forecast has no interval
        assert folds["coverage_90"].isna().all()
    else:
        assert folds["coverage_90"].mean() >= 0.6
    summary = pd.read_csv(folder / constants.CV_SUMMARY).iloc[0]
    assert summary["rmse"] == pytest.approx(folds["rmse"].mean())
    # compare-runs shows the scores.
    row = compare.compare([compare.load_run(run_dir)]).summary.iloc[0]
    assert row["cv_crps"] == pytest.approx(summary["crps"])
