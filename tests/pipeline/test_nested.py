"""The nested class against known truth, through the whole pipeline: the shipped example
(awareness observed every week), a survey in 20% of the weeks, and a latent mediator
identified by informative priors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from mmm_runner import constants
from mmm_runner.data.simulate_network import simulate_nested

from .conftest import ROOT, run_config

pytestmark = pytest.mark.stan

CHANNELS = ("tv", "search", "social", "display")


def _run(tmp: Path, edit: Any = None, frame: pd.DataFrame | None = None) -> Path:
    config = yaml.safe_load((ROOT / "config" / "nested.yaml").read_text())
    config["data"]["path"] = str(ROOT / "data" / "nested.csv")
    if frame is not None:
        frame.to_csv(tmp / "data.csv", index=False)
        config["data"]["path"] = str(tmp / "data.csv")
    config["fit"].update(chains=2, warmup=500, samples=500)
    if edit:
        edit(config)
    path = tmp / "nested.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return run_config(path, tmp / "results")


def _summary(run: Path) -> pd.DataFrame:
    return pd.read_csv(run / "20_model_fit" / constants.POSTERIOR_SUMMARY).set_index("parameter")


def _gates(run: Path) -> pd.DataFrame:
    return pd.read_csv(run / "40_diagnostics" / constants.GATES).set_index("check")


def _paths(truth: dict[str, Any]) -> dict[str, float]:
    """Every path's true size on the original scale, named as the summary names it."""
    gamma = truth["gamma"]["awareness"]["sales"]
    out = {"awareness->sales": gamma}
    for channel in CHANNELS:
        direct = truth["outcomes"]["sales"]["media"][channel]["beta"]
        via = truth["mediators"]["awareness"]["media"].get(channel, {}).get("beta", 0.0)
        out[f"{channel}.direct"] = direct
        if via:
            out[f"{channel}->awareness"] = via
            out[f"{channel}.indirect"] = gamma * via
            out[f"{channel}.mediated_share"] = gamma * via / (direct + gamma * via)
    return out


def _covered(summary: pd.DataFrame, truth: dict[str, float]) -> list[str]:
    return [
        name
        for name, value in truth.items()
        if summary.loc[name, "q05"] <= value <= summary.loc[name, "q95"]
    ]


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _run(tmp_path_factory.mktemp("nested"))


def test_shipped_example_recovers_direct_indirect_and_mediated_shares(shipped: Path) -> None:
    truth = _paths(json.loads((ROOT / "data" / "nested_truth.json").read_text()))
    summary = _summary(shipped)
    covered = _covered(summary, truth)
    assert len(covered) >= len(truth) - 1, sorted(set(truth) - set(covered))
    gates = _gates(shipped)
    assert gates.loc["rhat", "value"] < 1.02
    assert gates.loc["divergences", "status"] == "pass"


def test_shipped_example_writes_the_mediation_tables(shipped: Path) -> None:
    post = shipped / "30_post_run"
    totals = pd.read_csv(post / "mediation.csv").set_index(["channel", "path"])
    decomposition = pd.read_csv(post / constants.DECOMP_TOTALS)
    overall = decomposition[decomposition["group"] == "all"].set_index("term")
    for channel in CHANNELS:
        assert totals.loc[(channel, "total"), "mean"] == pytest.approx(
            overall.loc[channel, "total"], rel=1e-6
        )
    share = totals.loc[("tv", "proportion_mediated")]
    assert 0 < share["q05"] < share["mean"] < share["q95"] < 1
    series = pd.read_csv(post / "mediation_timeseries.csv")
    assert set(series["path"]) == {"direct", "via awareness"}
    assert "awareness_other" in set(overall.index)
    # LOO scores the KPI: its pointwise log likelihood has one value per week
    loo = pd.read_csv(shipped / "50_model_selection" / constants.LOO_SUMMARY)
    assert np.isfinite(loo["elpd_loo"]).all()


def test_a_survey_in_a_fifth_of_the_weeks_recovers_the_paths(tmp_path: Path) -> None:
    frame, truth = simulate_nested(observation="partial", shared_transforms=True)
    assert frame["awareness"].notna().mean() == pytest.approx(0.2, abs=0.01)
    run = _run(
        tmp_path,
        lambda c: c["model"]["mediators"][0].update(observation="partial"),
        frame,
    )
    paths = _paths(truth)
    summary = _summary(run)
    covered = _covered(summary, paths)
    assert len(covered) >= len(paths) - 1, sorted(set(paths) - set(covered))
    noise = truth["mediators"]["awareness"]["observation_noise_sd"]
    row = summary.loc["awareness.observation_noise"]
    assert row["q05"] <= noise <= row["q95"]
    assert _gates(run).loc["rhat", "value"] < 1.05


def test_a_latent_mediator_is_identified_by_its_priors(tmp_path: Path) -> None:
    """No awareness column: informative priors (as from a brand-lift study) on gamma and
    the channels' effects on awareness, stated in awareness points (the latent scale
    here), give the split; the data give the totals."""
    frame, truth = simulate_nested(observation="latent", shared_transforms=True)
    assert "awareness" not in frame
    sales_sd = float(frame["sales"].std(ddof=0))
    gamma = truth["gamma"]["awareness"]["sales"]
    built = truth["mediators"]["awareness"]["media"]

    def latent(config: dict[str, Any]) -> None:
        config["model"]["mediators"][0].update(
            observation="latent",
            effect_prior=f"normal({gamma / sales_sd:.5f}, {0.1 * gamma / sales_sd:.5f})",
            media_prior={c: f"normal({b['beta']}, {0.2 * b['beta']})" for c, b in built.items()},
        )

    run = _run(tmp_path, latent, frame)
    paths = _paths(truth)
    summary = _summary(run)
    wanted = {k: v for k, v in paths.items() if not k.endswith("->awareness")}
    covered = _covered(summary, wanted)
    assert len(covered) >= len(wanted) - 1, sorted(set(wanted) - set(covered))
    gates = _gates(run)
    assert gates.loc["rhat", "value"] < 1.05
    assert gates.loc["divergences", "value"] < 0.01
