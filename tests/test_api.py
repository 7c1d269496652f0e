"""The public API (mmm_runner.api) on hand-made run folders: no Stan needed."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

import mmm_runner
from mmm_runner import constants
from mmm_runner.api import MissingArtefactError, Run, load_run
from mmm_runner.errors import ConfigError, MMMError, UsageError

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config" / "single_market.yaml"
BROKEN = ROOT / "tests" / "config" / "broken"
META, FIT, POST, DIAG = (
    constants.stage_folder(s) for s in ("run_metadata", "model_fit", "post_run", "diagnostics")
)
CHANNELS = ["tv", "search", "social", "display", "radio", "ooh"]


def _python(code: str) -> str:
    """Runs code in a fresh interpreter (so sys.modules shows what an import pulls in)."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _fake_run(folder: Path, *, status: str = "completed", share: float = 0.1) -> Path:
    """A run folder as `mmm run` writes it, in miniature: the manifest, the resolved config
    (written as run_metadata writes it), a few tables, a Stan CSV and a posterior."""
    meta = folder / META
    meta.mkdir(parents=True)
    manifest: dict[str, Any] = {
        "run_id": folder.name,
        "name": "single_market",
        "status": status,
        "model_class": "blm",
        "fit_method": "mcmc",
        "data": {"path": str(ROOT / "data" / "single_market.csv"), "sha256": "ab" * 32},
    }
    if status != "completed":
        manifest["failed_stage"] = "model_fit"
    (meta / constants.MANIFEST).write_text(json.dumps(manifest))
    validation = mmm_runner.validate(CONFIG)
    assert validation.loaded is not None
    document = validation.loaded.config.model_dump(mode="json", by_alias=True)
    document["resolved"] = {
        "class": "blm",
        "kpi": "revenue",
        "media": [{"name": c} for c in CHANNELS],
    }
    (meta / constants.CONFIG_RESOLVED).write_text(
        "# The config with every default filled in\n" + yaml.safe_dump(document, sort_keys=False)
    )
    fit = folder / FIT
    (fit / "stan_csv").mkdir(parents=True)
    (fit / "stan_csv" / "chain_1.csv").write_text("lp__\n1.0\n")
    if status != "completed":
        return folder
    pd.DataFrame({"draw": [0, 1], "chain": [1, 1], "r2": [0.8, 0.9]}).to_csv(
        fit / constants.FIT_METRICS, index=False
    )
    _posterior(fit / constants.POSTERIOR)
    post = folder / POST
    post.mkdir()
    n = len(CHANNELS)
    roi = pd.DataFrame(
        {"group": ["all"] * n, "channel": CHANNELS, "spend": [100.0] * n, "roi": [2.0] * n}
    )
    roi.assign(roi_q05=1.0, roi_q95=3.0).to_csv(post / constants.ROI, index=False)
    totals = pd.DataFrame({"group": ["all"] * n, "term": CHANNELS, "share": [share] * n})
    totals.assign(share_q05=share / 2, share_q95=share * 2).to_csv(
        post / constants.DECOMP_TOTALS, index=False
    )
    diag = folder / DIAG
    diag.mkdir()
    gates = {"check": ["rhat", "ess_bulk"], "value": [1.0, 300.0], "status": ["pass", "warn"]}
    pd.DataFrame(gates).to_csv(diag / constants.GATES, index=False)
    return folder


def _posterior(path: Path) -> None:
    """A posterior.nc in the package's layout (written without ArviZ, as the package does)."""
    import numpy as np
    import xarray as xr

    beta = np.zeros((2, 3, len(CHANNELS)))
    dataset = xr.Dataset(
        {"beta": (["chain", "draw", constants.DIM_COEF], beta)},
        coords={"chain": [0, 1], "draw": [0, 1, 2], constants.DIM_COEF: CHANNELS},
    )
    dataset.to_netcdf(path, mode="w", group="posterior", engine="h5netcdf")


# --- the package namespace ------------------------------------------------------------------


def test_importing_the_package_imports_nothing_heavy() -> None:
    code = (
        "import sys, mmm_runner; "
        "print([m for m in ('arviz', 'matplotlib', 'cmdstanpy', 'pandas', 'mmm_runner.api')"
        " if m in sys.modules])"
    )
    assert _python(code) == "[]"


def test_every_name_in_all_resolves() -> None:
    assert set(mmm_runner.__all__) >= {
        "validate",
        "run",
        "compare",
        "reproduce",
        "load_run",
        "Run",
    }
    for name in mmm_runner.__all__:
        assert getattr(mmm_runner, name) is not None, name
    for name in ("validate", "run", "compare", "reproduce", "load_run"):
        assert callable(getattr(mmm_runner, name)), name
    assert mmm_runner.load_run is load_run
    assert mmm_runner.Run is Run
    assert set(mmm_runner.__all__) <= set(dir(mmm_runner))
    namespace: dict[str, Any] = {}
    exec("from mmm_runner import *", namespace)
    assert set(mmm_runner.__all__) <= set(namespace)


def test_the_api_functions_are_functions_even_after_the_pipeline_is_imported() -> None:
    code = (
        "import mmm_runner.pipeline.runner, mmm_runner.validation, inspect, mmm_runner; "
        "print(mmm_runner.validate('config/single_market.yaml').ok, "
        "list(inspect.signature(mmm_runner.compare).parameters))"
    )
    assert _python(code) == "True ['run_dirs', 'output', 'plots']"


# --- validate ---------------------------------------------------------------------------------


def test_validate_reports_a_shipped_config_as_valid() -> None:
    report = mmm_runner.validate(str(CONFIG))  # a str path works as well as a Path
    assert report.ok, [p.render() for p in report.errors]
    assert report.summary["rows"] == 156
    assert report.as_dict()["valid"] is True


@pytest.mark.parametrize("name", ["unknown_key.yaml", "yaml_syntax.yaml", "does_not_exist.yaml"])
def test_validate_returns_problems_instead_of_raising(name: str) -> None:
    report = mmm_runner.validate(BROKEN / name)
    assert not report.ok
    assert report.errors
    assert all(p.message for p in report.errors)
    with pytest.raises(ConfigError):
        report.raise_for_errors()


def test_validate_names_the_location_of_a_mistake() -> None:
    report = mmm_runner.validate(BROKEN / "unknown_key.yaml")
    problem = next(p for p in report.errors if "adstok" in p.location)
    assert "did you mean 'adstock'" in problem.fix


# --- load_run ---------------------------------------------------------------------------------


def test_load_run_reads_back_a_completed_run(tmp_path: Path) -> None:
    run = load_run(_fake_run(tmp_path / "20260101-000000_single_market"))
    assert run.path == (tmp_path / "20260101-000000_single_market").resolve()
    assert run.status == "completed"
    assert run.completed
    assert run.name == "single_market"
    assert run.manifest["model_class"] == "blm"
    assert "status='completed'" in repr(run)
    # The resolved config comes back as the typed RunConfig it was written from.
    loaded = mmm_runner.validate(CONFIG).loaded
    assert loaded is not None
    assert run.config == loaded.config
    assert [m.name for m in run.config.model.media] == CHANNELS
    assert [m["name"] for m in run.model["media"]] == CHANNELS
    # Tables are named by file name without .csv; Stan's CSVs are not tables.
    assert set(run.tables) == {"fit_metrics", "roi", "decomp_totals", "gates"}
    assert list(run.table("roi")["channel"]) == CHANNELS
    assert run.table("roi") is run.tables["roi"]  # read once
    assert list(run.gates["check"]) == ["rhat", "ess_bulk"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.path = tmp_path  # type: ignore[misc]
    assert run == load_run(run.path)
    assert len({run, load_run(run.path)}) == 1


def test_posterior_loads_lazily_with_arviz(tmp_path: Path) -> None:
    folder = _fake_run(tmp_path / "r")
    code = (
        "import sys, mmm_runner; "
        f"run = mmm_runner.load_run({str(folder)!r}); run.table('roi'); run.config; "
        "print('arviz' in sys.modules); "
        "post = run.posterior.posterior; "
        "print(type(run.posterior).__name__, post['coef'].values.tolist())"
    )
    assert _python(code).splitlines() == ["False", f"InferenceData {CHANNELS}"]


def test_a_missing_table_names_what_the_run_has(tmp_path: Path) -> None:
    run = load_run(_fake_run(tmp_path / "r"))
    with pytest.raises(MissingArtefactError) as caught:
        run.table("allocation")
    message = str(caught.value)
    assert "no table 'allocation'" in message
    assert "roi" in message
    assert "gates" in message
    assert isinstance(caught.value, KeyError)
    assert isinstance(caught.value, UsageError)
    with pytest.raises(KeyError, match="roi"):
        run.table("30_post_run/roi.csv")
    with pytest.raises(MissingArtefactError) as by_file_name:
        run.table("roi.csv")
    assert "run.table('roi')" in by_file_name.value.hint
    assert run.tables.get("allocation") is None  # a mapping like any other


def test_an_unfinished_run_loads_and_says_so(tmp_path: Path) -> None:
    run = load_run(_fake_run(tmp_path / "r", status="failed"))
    assert run.status == "failed"
    assert not run.completed
    assert run.config.name == "single_market"  # written before the run failed
    assert set(run.tables) == set()
    with pytest.raises(MissingArtefactError, match=r"failed in stage model_fit.*none"):
        _ = run.gates
    with pytest.raises(MissingArtefactError) as caught:
        _ = run.posterior
    assert f"no {FIT}/{constants.POSTERIOR}" in str(caught.value)
    assert "stan_csv" in str(caught.value)  # what the stage folder does hold
    assert caught.value.run_dir == str(run.path)


def test_a_folder_that_is_not_a_run_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match=rf"{re.escape(str(tmp_path / 'empty'))} is not a run"):
        load_run(tmp_path / "empty")
    with pytest.raises(UsageError, match="is not a folder"):
        load_run(tmp_path / "missing")
    damaged = tmp_path / "damaged" / META
    damaged.mkdir(parents=True)
    (damaged / constants.MANIFEST).write_text("{not json")
    with pytest.raises(MMMError, match="unreadable"):
        load_run(tmp_path / "damaged")


def test_table_names_in_the_artefact_contract_are_unique() -> None:
    """Tables are named by file name alone, which needs every CSV name to be distinct."""
    text = (ROOT / "docs" / "artefacts.md").read_text()
    files = set(re.findall(r"`(\d\d_[a-z_]+/[a-z_0-9]+\.csv)`", text))
    names = [Path(f).stem for f in files]
    assert len(names) > 10
    assert sorted(names) == sorted(set(names))


# --- compare, reproduce, run ------------------------------------------------------------------


def test_compare_returns_the_compare_runs_tables(tmp_path: Path) -> None:
    a = _fake_run(tmp_path / "a" / "20260101-000000_m", share=0.1)
    b = load_run(_fake_run(tmp_path / "b" / "20260101-000000_m", share=0.2))
    out = tmp_path / "comparison"
    comparison = mmm_runner.compare(a, b, output=out, plots=False)  # folders or Runs
    assert list(comparison.summary["run"]) == ["a/20260101-000000_m", "b/20260101-000000_m"]
    assert list(comparison.summary["worst_gate"]) == ["warn: ess_bulk"] * 2
    assert set(comparison.channels["channel"]) == set(CHANNELS)
    assert comparison.config_diff.empty
    assert (out / "comparison.csv").is_file()
    assert not list(out.glob("*.png"))
    with pytest.raises(UsageError, match="no runs to compare"):
        mmm_runner.compare()
    with pytest.raises(UsageError, match="is not a folder"):
        mmm_runner.compare(tmp_path / "nowhere")


def test_compare_lists_a_folder_that_is_not_a_run_as_a_problem(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    comparison = mmm_runner.compare(_fake_run(tmp_path / "r"), tmp_path / "x")
    assert "not a run folder" in comparison.problems["x"][0]


def test_reproduce_refuses_what_it_cannot_rerun(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    with pytest.raises(UsageError, match="not a run folder"):
        mmm_runner.reproduce(tmp_path / "x")
    with pytest.raises(UsageError, match="did not complete"):
        mmm_runner.reproduce(load_run(_fake_run(tmp_path / "r", status="failed")))


def test_run_raises_config_error_before_writing_anything(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        mmm_runner.run(BROKEN / "unknown_key.yaml", output_dir=tmp_path / "results")
    assert any("adstok" in p.location for p in caught.value.problems)
    assert not (tmp_path / "results").exists()
