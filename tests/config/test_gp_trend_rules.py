"""model.trend.type gp: what validate accepts and refuses, the Stan fields it becomes,
and the forecast reach of its basis."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from mmm_runner.data.design import build_design
from mmm_runner.model import hsgp, stan_data
from mmm_runner.validation import Validation, validate

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = yaml.safe_load((ROOT / "config" / "gp_trend.yaml").read_text())
PANEL = yaml.safe_load((ROOT / "config" / "panel_hierarchical.yaml").read_text())


def _validate(tmp_path: Path, config: dict[str, Any]) -> Validation:
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return validate(path)


def _example() -> dict[str, Any]:
    config = copy.deepcopy(EXAMPLE)
    config["data"]["path"] = str(ROOT / "data" / "gp_trend.csv")
    return config


def _errors(result: Validation) -> list[tuple[str, str]]:
    return [(p.location, f"{p.message} | {p.fix}") for p in result.errors]


def _reported(result: Validation, location: str, text: str) -> bool:
    return any(loc.endswith(location) and text in body for loc, body in _errors(result))


def test_the_example_becomes_an_integrated_out_basis(tmp_path: Path) -> None:
    result = _validate(tmp_path, _example())
    assert result.ok, _errors(result)
    assert result.spec is not None
    assert result.frame is not None
    assert result.loaded is not None
    design = build_design(result.frame, result.loaded.config, result.spec)
    data = stan_data.blm_data(design, result.spec)
    columns = hsgp.gp_columns(design)
    dom = hsgp.design_domain(design, result.spec.trend)
    assert data["n_gp"] == len(columns) == dom.functions
    assert data["gp_col"] == [k + 1 for k in columns]
    np.testing.assert_allclose(data["gp_eigen"], hsgp.eigenvalues(dom))
    assert data["gp_half_range"] == dom.half_range == 77.5
    assert data["gp_unit"] == 1.0  # standardised: the amplitude is in KPI sds
    # lognormal(3.3, 0.5) as stated, half_normal(1) by default
    assert list(data["gp_lengthscale_prior_args"])[:2] == [3.3, 0.5]
    # a linear trend has no GP fields
    plain = stan_data.blm_data(
        build_design(result.frame, result.loaded.config, _linear(result.spec)),
        _linear(result.spec),
    )
    assert plain["n_gp"] == 0
    assert plain["gp_col"] == []


def _linear(spec: Any) -> Any:
    from dataclasses import replace

    from mmm_runner.config.models import TrendConfig

    return replace(spec, trend=TrendConfig(type="linear"))


def test_gp_settings_need_type_gp(tmp_path: Path) -> None:
    config = _example()
    config["model"]["trend"] = {"type": "linear", "basis_functions": 12}
    result = _validate(tmp_path, config)
    assert _reported(result, "model.trend", "apply to type gp"), _errors(result)


def test_a_lengthscale_prior_must_be_positive(tmp_path: Path) -> None:
    config = _example()
    config["model"]["trend"]["lengthscale_prior"] = "normal(30, 5)"
    result = _validate(tmp_path, config)
    assert _reported(result, "model.trend", "positive values"), _errors(result)


def test_a_prior_line_on_the_gp_trend_is_refused(tmp_path: Path) -> None:
    config = _example()
    config["priors"] = ["trend ~ normal(0, 2)"]
    result = _validate(tmp_path, config)
    assert _reported(result, "priors[0]", "amplitude and lengthscale"), _errors(result)


def test_a_gp_trend_cannot_vary_by_group(tmp_path: Path) -> None:
    config = copy.deepcopy(PANEL)
    config["data"]["path"] = str(ROOT / "data" / "panel.csv")
    config["model"]["trend"] = {"type": "gp"}
    ok = _validate(tmp_path, config)
    assert ok.ok, _errors(ok)
    config["model"]["formula"] = config["model"]["formula"].replace(
        "(search + social | market)", "(search + social + trend | market)"
    )
    result = _validate(tmp_path, config)
    assert _reported(result, "model.formula", "cannot vary by group"), _errors(result)


def test_the_network_classes_refuse_a_gp_trend(tmp_path: Path) -> None:
    config = yaml.safe_load((ROOT / "config" / "nested.yaml").read_text())
    config["data"]["path"] = str(ROOT / "data" / "nested.csv")
    config["model"]["formula"] += " + trend"
    config["model"]["trend"] = {"type": "gp"}
    result = _validate(tmp_path, config)
    assert _reported(result, "model.trend.type", "classes blm, pooled and hierarchical"), _errors(
        result
    )


def test_a_holdout_beyond_the_basis_reach_is_refused(tmp_path: Path) -> None:
    config = _example()
    config["data"]["holdout"] = 20  # within a quarter of the fitted span
    assert _validate(tmp_path, config).ok
    config["data"]["holdout"] = 40
    result = _validate(tmp_path, config)
    assert _reported(result, "data.holdout", "gp trend"), _errors(result)


def test_panel_groups_must_share_their_dates(tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.read_csv(ROOT / "data" / "panel.csv")
    first = frame["market"].iloc[0]
    dates = sorted(frame["date"].unique())
    frame = frame[~((frame["market"] == first) & frame["date"].isin(dates[:30]))]
    frame.to_csv(tmp_path / "panel.csv", index=False)
    config = copy.deepcopy(PANEL)
    config["data"]["path"] = str(tmp_path / "panel.csv")
    config["model"]["trend"] = {"type": "gp"}
    result = _validate(tmp_path, config)
    assert _reported(result, "model.trend.type", "different dates"), _errors(result)
    config["model"]["trend"] = {"type": "linear"}
    assert _validate(tmp_path, config).ok


def test_a_control_named_like_the_basis_stays_a_control(tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.read_csv(ROOT / "data" / "gp_trend.csv")
    frame["trend_gp_idx"] = np.arange(len(frame)) % 7
    frame.to_csv(tmp_path / "data.csv", index=False)
    config = _example()
    config["data"]["path"] = str(tmp_path / "data.csv")
    config["model"]["controls"].append({"name": "trend_gp_idx"})
    result = _validate(tmp_path, config)
    assert result.ok, _errors(result)
    assert result.spec is not None
    assert result.frame is not None
    assert result.loaded is not None
    design = build_design(result.frame, result.loaded.config, result.spec)
    data = stan_data.blm_data(design, result.spec)
    assert data["n_gp"] == len(data["gp_eigen"])
    names = [design.columns[k].name for k in hsgp.gp_columns(design)]
    assert "trend_gp_idx" not in names


def test_a_cv_horizon_beyond_the_first_folds_reach_is_refused(tmp_path: Path) -> None:
    config = _example()
    config["cv"] = {"initial": 104, "horizon": 13}
    assert _validate(tmp_path, config).ok
    config["cv"] = {"initial": 52, "horizon": 13}  # reach of 52 periods: 12
    result = _validate(tmp_path, config)
    assert _reported(result, "cv.horizon", "gp trend"), _errors(result)
