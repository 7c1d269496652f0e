"""model.selection: what validate accepts and refuses beyond the broken/ files, and the
Stan fields a valid selection becomes."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from mmm_runner.data.design import build_design
from mmm_runner.model import stan_data
from mmm_runner.validation import Validation, validate

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = yaml.safe_load((ROOT / "config" / "selection.yaml").read_text())


def _validate(tmp_path: Path, config: dict[str, Any], name: str = "case") -> Validation:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return validate(path)


def _example(**selection: Any) -> dict[str, Any]:
    config = copy.deepcopy(EXAMPLE)
    config["data"]["path"] = str(ROOT / "data" / "selection.csv")
    config["model"]["selection"] = selection or config["model"]["selection"]
    return config


def _errors(result: Validation) -> list[tuple[str, str]]:
    return [(p.location, f"{p.message} | {p.fix}") for p in result.errors]


def _reported(result: Validation, location: str, text: str) -> bool:
    return any(loc == location and text in body for loc, body in _errors(result))


def test_the_example_selects_its_twelve_precision_controls(tmp_path: Path) -> None:
    result = _validate(tmp_path, _example())
    assert result.ok, _errors(result)
    spec = result.spec
    assert spec is not None
    assert spec.selection is not None
    assert len(spec.selected) == 12
    assert "price" not in spec.selected
    assert spec.selection.expected_nonzero == 3
    assert result.frame is not None
    assert result.loaded is not None
    design = build_design(result.frame, result.loaded.config, spec)
    data = stan_data.blm_data(design, spec)
    names = stan_data.layout(design, spec)
    assert names.selected_names == spec.selected
    assert data["sel_prior"] == 1
    assert data["n_sel"] == 12
    assert data["sel_tau0"] == pytest.approx(3 / 9 / math.sqrt(156))
    assert data["sel_rate_prior"] == [3, 9]
    np.testing.assert_allclose(data["sel_x_var"], 1.0)  # standardised columns
    k = [c.name for c in design.columns]
    assert [k[i - 1] for i in data["sel_col"]] == list(spec.selected)


def test_expected_nonzero_defaults_to_a_quarter_of_the_selected(tmp_path: Path) -> None:
    result = _validate(tmp_path, _example(prior="spike_slab"))
    assert result.ok, _errors(result)
    assert result.spec is not None
    assert result.spec.selection is not None
    assert result.spec.selection.expected_nonzero == 3.0  # 12 / 4


def test_settings_of_another_prior_are_refused(tmp_path: Path) -> None:
    result = _validate(tmp_path, _example(prior="horseshoe", spike_scale=0.01, threshold=0.2))
    assert _reported(result, "model.selection", "spike_scale, threshold do not apply")
    lasso = _validate(tmp_path, _example(prior="lasso", expected_nonzero=3))
    assert _reported(lasso, "model.selection", "expected_nonzero does not apply to prior lasso")
    spike = _validate(tmp_path, _example(prior="spike_slab", spike_scale=2.0))
    assert _reported(spike, "model.selection", "must be below slab_scale")


def test_horseshoe_and_lasso_refuse_a_sign_spike_slab_takes_it(tmp_path: Path) -> None:
    config = _example()
    config["model"]["controls"][1]["sign"] = "positive"  # temperature
    result = _validate(tmp_path, config)
    assert _reported(result, "model.controls[1].sign", "integrates its selected coefficients")
    assert _reported(result, "model.controls[1].sign", "use prior: spike_slab")
    config["model"]["selection"] = {"prior": "spike_slab"}
    assert _validate(tmp_path, config).ok


def test_spike_slab_refuses_a_bound_other_than_a_sign(tmp_path: Path) -> None:
    config = _example(prior="spike_slab")
    config["boundaries"] = ["temperature > 0.5"]
    assert _reported(
        _validate(tmp_path, config), "boundaries[0]", "may have a sign (a bound at 0)"
    )


def test_a_selected_control_has_no_prior_of_its_own(tmp_path: Path) -> None:
    config = _example()
    config["priors"] = ["rainfall ~ normal(0, 0.5)"]
    assert _reported(_validate(tmp_path, config), "priors[0]", "whose prior replaces its own")


def test_a_categorical_control_is_not_selected(tmp_path: Path) -> None:
    config = _example()
    config["model"]["controls"][3]["type"] = "categorical"  # competitor_promo, 0/1
    assert _reported(
        _validate(tmp_path, config), "model.controls[3]", "selection applies to numeric"
    )


def test_a_selected_control_may_not_vary_by_group(tmp_path: Path) -> None:
    config = yaml.safe_load((ROOT / "config" / "panel_hierarchical.yaml").read_text())
    config["data"]["path"] = str(ROOT / "data" / "panel.csv")
    config["model"]["formula"] = config["model"]["formula"].replace(
        "(search + social | market)", "(search + social + price | market)"
    )
    config["model"]["controls"] = [{"name": "price", "role": "precision"}]
    config["model"]["selection"] = {"prior": "lasso"}
    assert _reported(_validate(tmp_path, config), "model.formula", "varies by group")


def test_the_nested_class_refuses_selection(tmp_path: Path) -> None:
    config = yaml.safe_load((ROOT / "config" / "nested.yaml").read_text())
    config["data"]["path"] = str(ROOT / "data" / "nested.csv")
    config["model"]["controls"] = [{"name": "price", "role": "precision"}]
    config["model"]["selection"] = {"prior": "horseshoe", "expected_nonzero": 0.5}
    assert _reported(_validate(tmp_path, config), "model.selection", "not nested")


def test_pooled_takes_selection(tmp_path: Path) -> None:
    config = yaml.safe_load((ROOT / "config" / "pooled.yaml").read_text())
    config["data"]["path"] = str(ROOT / "data" / "pooled.csv")
    config["model"]["controls"] = [{"name": "price", "role": "precision"}]
    config["model"]["selection"] = {"prior": "horseshoe", "expected_nonzero": 0.5}
    result = _validate(tmp_path, config)
    assert result.ok, _errors(result)


def test_a_point_estimate_of_a_selection_prior_is_warned_about(tmp_path: Path) -> None:
    config = _example()
    config["fit"] = {"method": "map"}
    result = _validate(tmp_path, config)
    assert result.ok
    assert any(p.location == "fit.method" for p in result.warnings)
