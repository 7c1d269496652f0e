"""`mmm priors`: the prior predictive folder of the shipped config, a bad prior, a comparison."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from mmm_runner import constants
from mmm_runner.cli.main import app
from mmm_runner.hashing import file_sha256
from mmm_runner.priors_explorer import STAGES, stage_folder

from .conftest import ROOT

SHIPPED = ROOT / "config" / "single_market.yaml"
# A priors folder holds these, besides status.json in every stage folder.
FILES = {
    "00_run_metadata": [
        "manifest.json",
        "config_as_given.yaml",
        "config_resolved.yaml",
        "session_info.json",
        "run.log",
        "compare_config_as_given.yaml",
    ],
    "10_prior_sampling": [
        "compile_record.json",
        "stan_data.json",
        "prior.nc",
        "prior_summary.csv",
    ],
    "20_prior_predictive": ["kpi_bands.csv", "kpi_bands.png"],
    "30_implied_effects": [
        "implied_effects.csv",
        "implied_shares.png",
        "implied_roi.png",
        "adstock_curves.png",
        "saturation_curves.png",
    ],
    "40_prior_densities": [
        "priors.csv",
        "prior_reference.csv",
        "prior_reference.md",
        "prior_densities.png",
        "prior_densities_original.png",
    ],
    "50_flags": ["flags.csv"],
    "60_compare": [
        "compare_kpi_bands.csv",
        "compare_priors.csv",
        "compare_flags.csv",
        "compare_priors.png",
        "stan_data.json",
    ],
}


def _bad_config(tmp_path: Path) -> Path:
    """The shipped config with an intercept and a media prior far too wide (standardised)."""
    config = yaml.safe_load(SHIPPED.read_text())
    config["name"] = "single_market_bad_priors"
    config["data"]["path"] = str(ROOT / "data" / "single_market.csv")
    config["priors"] = [*config["priors"], "intercept ~ normal(0, 1000)", "tv ~ normal(0, 100)"]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _only_folder(out: Path) -> Path:
    folders = [p for p in out.iterdir() if p.is_dir()]
    assert len(folders) == 1, folders
    return folders[0]


def _manifest(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "00_run_metadata" / "manifest.json").read_text())
    return data


def _priors(*args: str) -> Any:
    return CliRunner().invoke(app, ["priors", *args])


@pytest.mark.stan
def test_shipped_priors_pass_a_bad_prior_is_flagged_and_configs_compare(tmp_path: Path) -> None:
    bad = _bad_config(tmp_path)
    out = tmp_path / "results"
    result = _priors(
        "--config", str(SHIPPED), "--compare", str(bad), "-o", str(out), "--draws", "100", "-q"
    )
    assert result.exit_code == 0, result.output
    folder = _only_folder(out)
    assert folder.name.endswith("_single_market_priors")
    assert str(folder) in result.stdout
    assert "no flags" in result.stdout

    manifest = _manifest(folder)
    assert manifest["status"] == "completed"
    assert manifest["exit_code"] == 0
    assert manifest["kind"] == "priors"
    assert manifest["prior_only"] is True
    assert manifest["config"]["sha256"] == file_sha256(SHIPPED)
    assert manifest["data"]["sha256"] == file_sha256(ROOT / "data" / "single_market.csv")
    assert manifest["compare"]["config"]["sha256"] == file_sha256(bad)
    assert manifest["stan"]["cache_hit"] is True  # the run's compiled program, reused
    assert [s["folder"] for s in manifest["stages"]] == [stage_folder(s) for s in STAGES]
    assert {s["status"] for s in manifest["stages"]} == {"completed"}
    assert manifest["flags"]["flag"] == 0
    for stage, names in FILES.items():
        assert json.loads((folder / stage / constants.STATUS).read_text())["status"] == (
            "completed"
        )
        for name in names:
            assert (folder / stage / name).is_file(), f"{stage}/{name}"
    assert list((folder / "10_prior_sampling" / "stan_csv").glob("*.csv"))

    # The shipped priors raise no flag; the prior predictive is a few times the data's range.
    flags = pd.read_csv(folder / "50_flags" / "flags.csv")
    assert set(flags["status"]) <= {"pass", "skip"}, flags[flags["status"] == "flag"]
    bands = pd.read_csv(folder / "20_prior_predictive" / "kpi_bands.csv")
    assert len(bands) == 156
    assert (bands["q05"] < bands["q50"]).all()
    assert (bands["q50"] < bands["q95"]).all()
    effects = pd.read_csv(folder / "30_implied_effects" / "implied_effects.csv")
    channels = ["tv", "search", "social", "display", "radio", "ooh"]
    assert list(effects["channel"]) == [*channels, "all media"]

    # Side by side: the bad config's flags, and which parameters both have.
    compared = pd.read_csv(folder / "60_compare" / "compare_flags.csv")
    statuses = compared.set_index(["config", "check"])["status"]
    for check in ("kpi_band_too_wide", "negative_kpi", "media_share"):
        assert statuses[("single_market", check)] == "pass"
        assert statuses[("single_market_bad_priors", check)] == "flag"
    priors = pd.read_csv(folder / "60_compare" / "compare_priors.csv")
    assert priors["shared"].all()
    intercepts = priors[priors["parameter"] == "intercept"].set_index("config")["prior"]
    assert intercepts["single_market_bad_priors"] == "normal(0, 1000)"

    # The bad prior alone: flagged on stderr and in flags.csv, still exit 0 (flags advise).
    alone = tmp_path / "alone"
    result = _priors("--config", str(bad), "-o", str(alone), "--draws", "50", "--no-plots", "-q")
    assert result.exit_code == 0, result.output
    assert "⚑ kpi_band_too_wide" in result.stderr
    assert "advice" in result.stderr
    folder = _only_folder(alone)
    flags = pd.read_csv(folder / "50_flags" / "flags.csv").set_index("check")
    for check in ("kpi_band_too_wide", "negative_kpi", "media_share"):
        assert flags.loc[check, "status"] == "flag"
    assert flags.loc["kpi_band_too_wide", "value"] > 10
    assert not list(folder.rglob("*.png"))
    assert _manifest(folder)["flags"]["flag"] >= 3
    assert json.loads((folder / "60_compare" / constants.STATUS).read_text())["status"] == (
        "skipped"
    )


def test_an_invalid_config_exits_2_before_any_folder(tmp_path: Path) -> None:
    config = yaml.safe_load(SHIPPED.read_text())
    config["data"]["path"] = str(ROOT / "data" / "single_market.csv")
    config["priors"] = ["intercept ~ normal(0, -1)"]
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(config))
    out = tmp_path / "results"
    result = _priors("--config", str(path), "-o", str(out))
    assert result.exit_code == constants.EXIT_CONFIG
    assert "priors[0]" in result.stderr
    assert not out.exists()
    # A bad --compare config stops it too, before sampling anything.
    result = _priors("--config", str(SHIPPED), "--compare", str(path), "-o", str(out))
    assert result.exit_code == constants.EXIT_CONFIG
    assert not out.exists()


def test_too_few_draws_is_a_usage_error(tmp_path: Path) -> None:
    result = _priors("--config", str(SHIPPED), "--draws", "5", "-o", str(tmp_path / "r"))
    assert result.exit_code == 2
    assert not (tmp_path / "r").exists()
