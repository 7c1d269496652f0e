"""The run folder contract: numbered stage folders, manifest, status files, artefacts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from mmm_runner import constants

pytestmark = pytest.mark.stan

ROOT = Path(__file__).resolve().parents[2]
MANIFEST_KEYS = {
    "run_id",
    "name",
    "status",
    "exit_code",
    "created",
    "finished",
    "command",
    "config",
    "data",
    "model_class",
    "fit_method",
    "seeds",
    "versions",
    "stan",
    "parallelism",
    "stages",
    "gates",
}


def test_folder_name_and_stage_folders(single_market_run) -> None:  # type: ignore[no-untyped-def]
    run_dir, _ = single_market_run
    assert re.fullmatch(r"\d{8}-\d{6}_single_market", run_dir.name)
    folders = sorted(p.name for p in run_dir.iterdir() if p.is_dir())
    assert folders == [constants.stage_folder(s) for s in constants.STAGES]
    for folder in folders:
        status = json.loads((run_dir / folder / constants.STATUS).read_text())
        assert status["stage"] == folder
        assert status["status"] in ("completed", "skipped")
        assert status["seconds"] >= 0


def test_manifest_records_everything_needed(single_market_run) -> None:  # type: ignore[no-untyped-def]
    run_dir, _ = single_market_run
    manifest = json.loads((run_dir / "00_run_metadata" / constants.MANIFEST).read_text())
    assert set(manifest) >= MANIFEST_KEYS
    assert manifest["status"] == "completed"
    assert manifest["exit_code"] == 0
    assert len(manifest["config"]["sha256"]) == 64
    assert len(manifest["data"]["sha256"]) == 64
    assert len(manifest["stan"]["program_sha256"]) == 64
    assert manifest["stan"]["stan_version"] == "2.35.0"
    for package in ("mmm_runner", "cmdstanpy", "arviz", "numpy"):
        assert manifest["versions"][package]
    assert manifest["seeds"]["run"] == 20240101
    # blm cannot split its likelihood: one thread per chain, chains one per core
    assert manifest["parallelism"]["threads_per_chain"] == 1
    assert manifest["parallelism"]["chains"] == 4
    assert manifest["parallelism"]["num_threads"] <= manifest["parallelism"]["cores"]
    assert [s["status"] for s in manifest["stages"]] == ["completed"] * 7 + [
        "skipped"
    ]  # no holdout: 70_forecast is skipped


def test_every_documented_artefact_exists(single_market_run) -> None:  # type: ignore[no-untyped-def]
    run_dir, _ = single_market_run
    doc = (ROOT / "docs" / "artefacts.md").read_text()
    listed = re.findall(r"^- `(\d\d_[a-z_]+/[^`]+)`(.*)$", doc, flags=re.M)
    assert len(listed) > 30
    for path, note in listed:
        if "(when" in note:
            continue
        assert (run_dir / path).exists(), f"documented but missing: {path}"
    documented = {p for p, _ in listed}
    for file in run_dir.rglob("*"):
        relative = file.relative_to(run_dir).as_posix()
        if file.is_file() and "stan_csv/" not in relative:
            assert relative in documented, f"produced but not documented: {relative}"


def test_tables_have_documented_columns(single_market_run) -> None:  # type: ignore[no-untyped-def]
    run_dir, _ = single_market_run
    roi = pd.read_csv(run_dir / "30_post_run" / constants.ROI)
    assert {
        "channel",
        "spend",
        "contribution",
        "contribution_q05",
        "contribution_q95",
        "roi",
        "roi_q05",
        "roi_q95",
        "cost_per_kpi",
    } <= set(roi.columns)
    loo = pd.read_csv(run_dir / "50_model_selection" / constants.LOO_SUMMARY)
    assert {"elpd_loo", "se", "p_loo", "k_good", "k_ok", "k_bad"} <= set(loo.columns)
    assert loo["k_good"].iloc[0] + loo["k_ok"].iloc[0] + loo["k_bad"].iloc[0] == 156
    allocation = pd.read_csv(run_dir / "60_optimisation" / "allocation.csv")
    assert {
        "channel",
        "current_spend",
        "optimised_spend",
        "change",
        "contribution_current",
        "contribution_optimised",
        "marginal_roi_optimised",
    } <= set(allocation.columns)
    summary = pd.read_csv(run_dir / "20_model_fit" / constants.POSTERIOR_SUMMARY)
    assert {"parameter", "mean", "sd", "q05", "q95", "ess_bulk", "ess_tail", "r_hat"} <= set(
        summary.columns
    )


def test_posterior_netcdf_has_every_group(single_market_run) -> None:  # type: ignore[no-untyped-def]
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module="arviz")
        import arviz as az

    run_dir, _ = single_market_run
    idata = az.from_netcdf(run_dir / "20_model_fit" / constants.POSTERIOR)
    assert set(idata.groups()) >= {
        "posterior",
        "posterior_predictive",
        "log_likelihood",
        "sample_stats",
        "observed_data",
    }
    assert idata.posterior.sizes["chain"] == 4
    assert idata.posterior.sizes["draw"] == 1000
    assert "log_lik" in idata.log_likelihood


def test_progress_was_reported(single_market_run) -> None:  # type: ignore[no-untyped-def]
    _, recorder = single_market_run
    started = [e[1] for e in recorder.events if e[0] == "started"]
    assert started == [constants.stage_folder(s) for s in constants.STAGES]
    sampling = [e[1] for e in recorder.events if e[0] == "sampling"]
    assert {chain for chain, _, _ in sampling} == {1, 2, 3, 4}
    assert max(it for _, it, _ in sampling) == 2000
