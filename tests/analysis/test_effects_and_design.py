"""Design, Stan data, effects and decomposition on a synthetic posterior (no compiler)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from mmm_runner.analysis import decomposition, effects
from mmm_runner.analysis.posterior import Posterior
from mmm_runner.backend.toolchain import httpstan_dir
from mmm_runner.data.design import build_design, lag_matrices
from mmm_runner.model import programs, stan_data, transforms
from mmm_runner.validation import validate

ROOT = Path(__file__).resolve().parents[2]


def _setup(config: str):  # type: ignore[no-untyped-def]
    result = validate(ROOT / "config" / config)
    assert result.ok
    assert result.frame is not None
    assert result.spec is not None
    design = build_design(result.frame, result.loaded.config, result.spec)  # type: ignore[union-attr]
    return result, design, stan_data.layout(design, result.spec)


def _posterior(names: stan_data.Layout, draws: int = 50, seed: int = 0) -> Posterior:
    rng = np.random.default_rng(seed)
    theta = []
    for label in names.theta:
        param = label.split(".")[-1]
        theta.append(
            rng.uniform(0.2, 0.8, draws) if param == "decay" else rng.uniform(0.5, 2.0, draws)
        )
    return Posterior.single(
        alpha=rng.normal(0, 0.3, draws),
        beta=np.abs(rng.normal(0.5, 0.2, (draws, len(names.beta)))),
        theta=np.array(theta).T,
        sigma=rng.uniform(0.2, 0.4, draws),
        n_chains=2,
    )


def test_design_scaling_and_standardisation() -> None:
    _result, design, _ = _setup("single_market.yaml")
    assert design.n_rows == 156
    assert design.y[design.fitted].mean() == pytest.approx(0, abs=1e-12)
    assert design.y[design.fitted].std() == pytest.approx(1)
    np.testing.assert_allclose(design.x.mean(axis=0), 0, atol=1e-12)
    for j, _name in enumerate(design.media_names):
        active = design.media_scaled[:, j][design.media_scaled[:, j] > 0]
        assert active.mean() == pytest.approx(1.0)
    names = [c.name for c in design.columns]
    assert names[:3] == ["price", "promo", "trend"]
    assert sum(n.startswith("season_52.18") for n in names) == 4


def test_lag_matrices_reproduce_the_adstock_twin() -> None:
    _, design, _ = _setup("single_market.yaml")
    lags = lag_matrices(design, 8)
    weights = transforms.ADSTOCKS["geometric"].weights({"decay": np.array([0.6])}, 8)
    np.testing.assert_allclose(
        lags[0] @ weights[0], transforms.apply_adstock(design.media_scaled[:, 0], weights)[0]
    )


def test_panel_lags_do_not_cross_groups() -> None:
    _, design, _ = _setup("panel_hierarchical.yaml")
    lags = lag_matrices(design, 4)
    starts = [np.flatnonzero(design.group == g)[0] for g in range(design.n_groups)]
    for row in starts:
        assert np.all(lags[:, row, 1:] == 0)


def test_stan_data_matches_the_programs_declared_inputs() -> None:
    result, design, names = _setup("single_market.yaml")
    data = stan_data.blm_data(design, result.spec)  # type: ignore[arg-type]
    stanc = httpstan_dir() / "stanc"
    program = programs.program("blm")
    info = json.loads(
        subprocess.run(
            [str(stanc), "--info", f"--include-paths={program.parent}", str(program)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert set(data) == set(info["inputs"])
    assert data["X_lag"].shape == (6, 156, names.window)
    assert data["P"] == len(names.theta) == 17
    assert len(data["beta_lower"]) == data["M"] + data["K"]
    assert names.theta_start == (1, 4, 7, 9, 11, 15)


def test_identity_contributions_sum_to_the_fit() -> None:
    result, design, names = _setup("single_market.yaml")
    post = _posterior(names)
    spec = result.spec
    curves = effects.media_curves(post, design, spec, names)  # type: ignore[arg-type]
    contrib = effects.contributions(post, design, spec, names, curves)  # type: ignore[arg-type]
    mu = effects.linear_predictor(post, design, spec, names, curves)  # type: ignore[arg-type]
    total = sum(contrib.values())
    np.testing.assert_allclose(total, design.y_mean + design.y_sd * mu, rtol=1e-10)
    assert set(contrib) == {"baseline", *spec.media_names, "price", "promo", "trend", "season"}  # type: ignore[union-attr]


def test_log_contributions_sum_to_the_expected_kpi() -> None:
    result, design, names = _setup("single_market_log.yaml")
    post = _posterior(names, seed=1)
    spec = result.spec
    parts = effects.log_scale_parts(post, design, spec, names)  # type: ignore[arg-type]
    expected = effects.expected_kpi(parts, post, design)
    contrib = effects.contributions(post, design, spec, names)  # type: ignore[arg-type]
    np.testing.assert_allclose(sum(contrib.values()), expected, rtol=1e-10)
    assert "interaction" in contrib


def test_tables_have_their_columns() -> None:
    result, design, names = _setup("single_market.yaml")
    post = _posterior(names, draws=40)
    spec = result.spec
    contrib = effects.contributions(post, design, spec, names)  # type: ignore[arg-type]
    expected = sum(contrib.values())
    totals = decomposition.decomposition_totals(contrib, design)
    shares = totals[totals["group"] == "all"]["share"].sum()
    assert shares == pytest.approx(1.0)
    roi = decomposition.roi_table(contrib, design, spec)  # type: ignore[arg-type]
    assert list(roi["channel"]) == list(spec.media_names)  # type: ignore[union-attr]
    row = roi.iloc[0]
    assert row["roi"] == pytest.approx(row["contribution"] / row["spend"])
    metrics = decomposition.fit_metrics(expected, post, design)  # type: ignore[arg-type]
    assert list(metrics.columns) == ["draw", "chain", "r2", "rmse", "smape", "noise_sd"]
    assert len(metrics) == 40
