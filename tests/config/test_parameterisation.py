"""Per-term centring of a hierarchical model's group effects
(model.hierarchical.parameterisation as a mapping): the Stan data's one flag per varying
coefficient, and what validate refuses, with the place in the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mmm_runner import classes
from mmm_runner.data.design import build_design
from mmm_runner.model import stan_data
from mmm_runner.validation import Validation, validate

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "config" / "panel_hierarchical.yaml"  # six markets x 104 weeks


def _validate(tmp_path: Path, form: Any, formula: str | None = None) -> Validation:
    config = yaml.safe_load(SHIPPED.read_text())
    config["data"]["path"] = str(ROOT / "data" / "panel.csv")
    config["model"]["hierarchical"]["parameterisation"] = form
    if formula:
        config["model"]["formula"] = formula
    path = tmp_path / "panel.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False, width=1000))
    return validate(path)


def _flags(result: Validation) -> dict[str, list[int]]:
    """Each varying coefficient's centred flag, by coefficient name."""
    assert result.ok, [p.render() for p in result.errors]
    assert result.spec is not None
    assert result.loaded is not None
    assert result.frame is not None
    design = build_design(result.frame, result.loaded.config, result.spec)
    data = classes.get(result.spec.model_class).stan_data(design, result.spec)
    names = stan_data.layout(design, result.spec)
    assert len(data["centred"]) == data["V"]
    return {names.beta[j - 1]: c for j, c in zip(data["varying"], data["centred"], strict=True)}


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ("auto", {"search": 0, "social": 0}),  # 104 weeks < centred_min_rows 150
        ("centred", {"search": 1, "social": 1}),
        ({"social": "centred"}, {"search": 0, "social": 1}),  # the rest: auto
        ({"default": "centred", "search": "non_centred"}, {"search": 0, "social": 1}),
        ({"default": "non_centred"}, {"search": 0, "social": 0}),
    ],
)
def test_each_varying_term_gets_its_own_form(tmp_path: Path, form: Any, expected: Any) -> None:
    assert _flags(_validate(tmp_path, form)) == expected


def test_a_term_with_several_coefficients_gives_each_its_form(tmp_path: Path) -> None:
    formula = "sales ~ tv + search + social + price + trend + season + (search + season | market)"
    flags = _flags(_validate(tmp_path, {"season": "centred", "default": "non_centred"}, formula))
    assert flags.pop("search") == 0
    assert len(flags) == 4  # two sine/cosine pairs
    assert set(flags.values()) == {1}


def _errors(result: Validation) -> list[str]:
    assert not result.ok
    return [p.render() for p in result.errors]


def test_a_term_that_does_not_vary_is_refused_where_it_is_named(tmp_path: Path) -> None:
    (error,) = _errors(_validate(tmp_path, {"serach": "non_centred"}))
    assert "model.hierarchical.parameterisation.serach" in error
    assert "did you mean 'search'?" in error
    (error,) = _errors(_validate(tmp_path, {"defualt": "centred"}))
    assert "did you mean 'default'?" in error
    (error,) = _errors(_validate(tmp_path, {"tv": "non_centred"}))  # population-only
    assert "'tv' is not a term that varies by market" in error


def test_an_unknown_form_is_refused_where_it_is_written(tmp_path: Path) -> None:
    (error,) = _errors(_validate(tmp_path, {"search": "sideways"}))
    assert error.startswith("model.hierarchical.parameterisation (line ")
    assert "'sideways' for 'search' is not a parameterisation" in error
    (error,) = _errors(_validate(tmp_path, "centered"))
    assert "did you mean 'centred'?" in error
