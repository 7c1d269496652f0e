"""Crossed pooling against known truth: the shipped geo x product example
(data/geo_product_truth.json) fitted through the whole pipeline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from mmm_runner import constants
from mmm_runner.analysis import effects
from mmm_runner.backend import cache, toolchain
from mmm_runner.data.design import build_design
from mmm_runner.model import programs, stan_data
from mmm_runner.validation import validate

from .conftest import ROOT, panel_posterior, replay, run_config

pytestmark = pytest.mark.stan

TRUTH = json.loads((ROOT / "data" / "geo_product_truth.json").read_text())
PARAMETERS = ("alpha_c", "theta", "beta_eff", "beta_x", "sigma", "tau_cross_eff", "z_cross")


@pytest.fixture(scope="module")
def crossed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("crossed")
    config = yaml.safe_load((ROOT / "config" / "geo_product.yaml").read_text())
    config["data"]["path"] = str(ROOT / "data" / "geo_product.csv")
    config["fit"].update(chains=2, warmup=400, samples=400)
    path = tmp / "geo_product.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return run_config(path, tmp / "results")


def _summary(run_dir: Path) -> pd.DataFrame:
    return pd.read_csv(run_dir / "20_model_fit" / constants.POSTERIOR_SUMMARY).set_index(
        "parameter"
    )


def test_converges(crossed_run: Path) -> None:
    gates = pd.read_csv(crossed_run / "40_diagnostics" / constants.GATES).set_index("check")
    assert gates.loc["rhat", "value"] < 1.03
    assert gates.loc["divergences", "status"] == "pass"
    assert gates.loc["treedepth", "status"] == "pass"


def test_every_level_of_both_columns_is_recovered(crossed_run: Path) -> None:
    summary = _summary(crossed_run)
    inside, checked = [], 0
    for channel, spec in TRUTH["media"].items():
        column = spec["varies_by"]
        for level, value in spec["beta_by_level"].items():
            row = summary.loc[f"{channel}[{column}={level}]"]
            checked += 1
            inside += [(channel, level)] if row["q05"] <= value <= row["q95"] else []
    for column, offsets in TRUTH["intercept_offset"].items():
        mean = np.mean(list(offsets.values()))  # the model's offsets sum to zero
        for level, value in offsets.items():
            row = summary.loc[f"intercept_offset[{column}={level}]"]
            checked += 1
            # baseline offsets are pinned to a few units; the season is shared
            inside += [("intercept", level)] if abs(row["mean"] - (value - mean)) < 15 else []
    assert len(inside) >= checked - 1, (checked, inside)
    for name in ("sd_tv|product", "sd_search|geo", "sd_intercept|geo", "sd_intercept|product"):
        assert name in summary.index


def test_group_coefficients_are_their_levels_and_match_the_stan_program(
    crossed_run: Path, tmp_path: Path
) -> None:
    import cmdstanpy

    fit = cmdstanpy.from_csv(
        sorted(str(p) for p in (crossed_run / "20_model_fit" / "stan_csv").glob("*.csv"))
    )
    v = fit.stan_variables()
    result = validate(ROOT / "config" / "geo_product.yaml")
    spec = result.spec
    assert spec is not None
    assert result.loaded is not None
    assert result.frame is not None
    design = build_design(result.frame, result.loaded.config, spec)
    names = stan_data.layout(design, spec)
    tv = names.beta.index("tv")
    products = design.crossed[1]
    # tv|product is the fourth crossed effect; its levels come after 4 + 4 + 3 others
    start = 4 + 4 + 3
    for g in range(design.n_groups):
        level = products.of_group[g]
        np.testing.assert_allclose(
            v["beta_g"][:, g, tv], v["cross_level"][:, start + level], rtol=1e-4, atol=1e-6
        )
    data = stan_data.hierarchical_data(design, spec, save_mu=True)
    inits: dict[str, Any] = {name: v[name][123] for name in PARAMETERS}
    point = replay(_compiled().exe, data, inits, tmp_path)
    post = panel_posterior(point)
    mu = effects.linear_predictor(post, design, spec, names)
    np.testing.assert_allclose(mu[0], point.stan_variable("mu_out")[0], rtol=0, atol=1e-8)
    # levels are zero-sum around the population value: the average level's
    levels = point.stan_variable("cross_level")[0]
    beta = point.stan_variable("beta")[0]
    assert abs(levels[0:4].sum()) < 1e-8
    assert abs(levels[8:11].sum()) < 1e-8
    assert levels[4:8].mean() == pytest.approx(beta[names.beta.index("search")], abs=1e-8)
    assert levels[11:14].mean() == pytest.approx(beta[tv], abs=1e-8)


def _compiled() -> Any:
    return cache.compile_model(programs.program("hierarchical"), toolchain.locate())
