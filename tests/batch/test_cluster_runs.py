"""Real batches of small MAP runs on a local Dask cluster (two workers, shared by the tests).

One cluster serves the module, reached by address as a user's existing cluster would be
(`--scheduler`); the sweep test lets `mmm batch` start its own.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from mmm_runner import constants
from mmm_runner.batch import cluster, plan
from mmm_runner.batch.runner import BatchOptions, BatchOutcome, run_batch
from mmm_runner.cli.main import app
from mmm_runner.pipeline.manifest import run_state
from mmm_runner.pipeline.runner import RunOptions, execute

from .helpers import dying_runner, map_config

pytestmark = pytest.mark.stan
FIT = "20_model_fit"
# A gate no fit passes under policy publish: the run fails in 40_diagnostics with exit 5.
FAILING_GATE = {"policy": "publish", "thresholds": {"r2": {"warn": 0.999, "fail": 0.999}}}


@pytest.fixture(scope="module")
def scheduler(compiled: Any) -> Iterator[str]:
    """A two-worker local cluster, its address; the blm program is compiled (cached) first."""
    from mmm_runner.model import programs

    compiled(programs.program("blm"))
    with cluster.connect(None, workers=2, retries=1) as client:
        yield str(client.scheduler.address)


@pytest.fixture(scope="module")
def configs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("configs")
    return [
        map_config(folder, "first", seed=11),
        map_config(folder, "second", seed=22, priors=["tv ~ normal(0, 1)"]),
        map_config(folder, "third", seed=33),
        map_config(folder, "failing", diagnostics=FAILING_GATE),
    ]


@pytest.fixture(scope="module")
def first_batch(
    configs: list[Path], scheduler: str, tmp_path_factory: pytest.TempPathFactory
) -> Any:
    out = tmp_path_factory.mktemp("results")
    return out, *_batch(configs, out, scheduler)


def _batch(configs: list[Path], out: Path, scheduler: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(
        app,
        [
            "batch",
            *map(str, configs),
            "-o",
            str(out),
            "--scheduler",
            scheduler,
            "--no-plots",
            "--json",
            "-q",
        ],
        catch_exceptions=False,
    )
    assert result.stdout, result.stderr
    return result.exit_code, json.loads(result.stdout)


def _runs(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {run["run"]: run for run in summary["runs"]}


def test_a_failing_run_does_not_stop_the_others_and_exits_9(first_batch: Any) -> None:
    _, code, summary = first_batch
    assert code == constants.EXIT_BATCH
    runs = _runs(summary)
    assert {name: r["status"] for name, r in runs.items()} == {
        "first": "completed",
        "second": "completed",
        "third": "completed",
        "failing": "failed",
    }
    assert runs["failing"]["exit_code"] == constants.EXIT_GATE
    assert run_state(Path(runs["failing"]["run_dir"])) == "failed"
    folder = Path(summary["batch_dir"])
    assert (folder / "summary.md").is_file()
    assert (folder / "compare" / "comparison.csv").is_file()
    assert "- `failing`: failed (exit 5)" in (folder / "summary.md").read_text()


def test_batch_results_equal_runs_one_by_one(
    first_batch: Any, configs: list[Path], tmp_path: Path
) -> None:
    _, _, summary = first_batch
    runs = _runs(summary)
    for config in configs[:3]:
        alone = execute(config, RunOptions(output_dir=tmp_path, plots=False)).run_dir
        batched = Path(runs[config.stem]["run_dir"])
        for table in ("posterior_summary.csv", "map_starts.csv"):
            pd.testing.assert_frame_equal(
                pd.read_csv(batched / FIT / table), pd.read_csv(alone / FIT / table)
            )


def test_rerunning_the_batch_skips_completed_runs(
    first_batch: Any, configs: list[Path], scheduler: str
) -> None:
    out, _, summary = first_batch
    before = {p for p in out.iterdir() if (p / "00_run_metadata").is_dir()}
    code, again = _batch(configs, out, scheduler)
    assert code == constants.EXIT_BATCH  # the failing config ran again, and failed again
    runs, earlier = _runs(again), _runs(summary)
    for name in ("first", "second", "third"):
        assert runs[name]["status"] == "reused"
        assert runs[name]["run_dir"] == earlier[name]["run_dir"]
    after = {p for p in out.iterdir() if (p / "00_run_metadata").is_dir()}
    assert len(after - before) == 1  # only the failing run has a new folder


def test_a_worker_lost_mid_run_is_retried_or_lost_never_complete(
    configs: list[Path], scheduler: str, tmp_path: Path
) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    runner = functools.partial(dying_runner, once="first", always="third", markers=str(markers))
    out = tmp_path / "results"
    batch = plan.plan_configs(configs[:3])
    outcome: BatchOutcome = run_batch(
        batch, BatchOptions(output_dir=out, scheduler=scheduler, plots=False), runner=runner
    )
    status = {r.name: r.status for r in outcome.results}
    assert status == {"first": "completed", "second": "completed", "third": "lost"}
    table = outcome.summary.table.set_index("run")
    # The lost attempts are listed, and their folders never look complete.
    assert table.loc["first", "other_attempts"].count("abandoned") == 1
    assert table.loc["third", "other_attempts"].count("abandoned") == 2
    assert table.loc["third", "run_dir"] == ""
    states = {p.name: run_state(p) for p in out.iterdir() if (p / "00_run_metadata").is_dir()}
    assert set(states.values()) == {"completed", "abandoned"}, states
    # Two attempts of first, one of second (a finished run is never run again when its
    # worker dies later), two of third.
    # (a folder started in the same second as another of its name gets a _2 suffix)
    attempts = sorted(
        re.sub(r"_\d+$", "", p.name.split("_", 1)[1]) for p in out.iterdir() if (p / FIT).is_dir()
    )
    assert attempts == ["first", "first", "second", "third", "third"]
    for folder in out.iterdir():
        manifest = folder / "00_run_metadata" / constants.MANIFEST
        if manifest.is_file() and run_state(folder) == "abandoned":
            assert json.loads(manifest.read_text())["status"] == "running"
            assert not (folder / FIT / constants.POSTERIOR).exists()


def test_a_sweep_on_its_own_local_cluster_is_ranked_by_cross_validation(tmp_path: Path) -> None:
    map_config(tmp_path, "base")
    sweep = tmp_path / "forms.yaml"
    sweep.write_text(
        "base: base.yaml\n"
        "overrides:\n  cv: {initial: 130, horizon: 13, step: 13}\n"
        "grid:\n  model.media[tv].adstock.type: [geometric, weibull]\n"
    )
    out = tmp_path / "results"
    result = CliRunner().invoke(
        app, ["batch", "--sweep", str(sweep), "-o", str(out), "--no-plots", "--json", "-q"]
    )
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["ranked_by"] == "cv_crps"
    ranked = summary["runs"]
    assert [r["rank"] for r in ranked] == [1, 2]
    assert ranked[0]["cv_crps"] <= ranked[1]["cv_crps"]
    assert {r["model.media[tv].adstock.type"] for r in ranked} == {"geometric", "weibull"}
    folder = Path(summary["batch_dir"])
    assert sorted(p.name for p in (folder / "configs").iterdir()) == [
        "forms_geometric.yaml",
        "forms_weibull.yaml",
    ]
    text = (folder / "summary.md").read_text()
    assert "mean CRPS of time-series cross-validation" in text
    assert "specification shopping" in text


def test_cross_validation_folds_on_the_cluster_equal_the_local_ones(
    scheduler: str, tmp_path: Path
) -> None:
    """cv.scheduler sends the folds to the cluster's workers: with the same seeds their
    scores are the local threads' to the last digit, in fold order."""
    from mmm_runner.backend import cache, toolchain
    from mmm_runner.model import programs
    from mmm_runner.pipeline.cross_validation import cross_validate
    from mmm_runner.validation import validate

    cv = {"initial": 104, "horizon": 13, "step": 13, "max_folds": 3, "method": "map"}
    folds = {}
    for where in ("local", "cluster"):
        settings = {**cv, "scheduler": scheduler} if where == "cluster" else cv
        path = map_config(tmp_path / where, "cv", cv=settings)
        result = validate(path)
        assert result.ok, [p.render() for p in result.errors]
        assert result.frame is not None
        assert result.loaded is not None
        assert result.spec is not None
        tools = toolchain.locate()
        compiled = cache.compile_model(programs.program("blm"), tools)
        folds[where] = cross_validate(
            result.frame, result.loaded.config, result.spec, compiled, tools
        )
    assert len(folds["local"]) == 3
    pd.testing.assert_frame_equal(folds["local"], folds["cluster"])
