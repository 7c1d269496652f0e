"""Loading configs (locations, lines, suggestions) and resolving them into a model."""

from __future__ import annotations

import math
import typing
from pathlib import Path

import pytest

from mmm_runner.config import models
from mmm_runner.config.loader import format_loc, load_config
from mmm_runner.config.resolve import resolve
from mmm_runner.errors import ConfigError
from mmm_runner.model import transforms

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "config").glob("*.yaml"))


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return path


def test_format_loc() -> None:
    assert format_loc(("model", "media", 2, "adstock", "l_max")) == "model.media[2].adstock.l_max"
    assert format_loc(("priors", 0)) == "priors[0]"
    assert format_loc(()) == "(top level)"


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_config_loads_and_resolves(path: Path) -> None:
    loaded = load_config(path)
    spec, problems = resolve(loaded.config, loaded)
    assert spec is not None
    assert [p for p in problems if p.severity == "error"] == []


def test_errors_carry_line_numbers_and_all_come_at_once(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "name: x\ndata: {path: d.csv}\nmodel:\n  kpi: y\n  media:\n"
        "    - name: tv\n      adstock: {l_max: -1}\nfit: {chains: 0}\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    where = {p.location: p.line for p in caught.value.problems}
    assert where == {"model.media[0].adstock.l_max": 7, "fit.chains": 8}


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "is empty"), ("- a\n- b\n", "must be a mapping"), ("a: [1\n", "not valid YAML")],
)
def test_unreadable_files(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(_write(tmp_path, text))


def test_missing_file_suggests_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.yaml")
    assert "mmm init" in caught.value.hint


def test_shorthands(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "name: x\ndata: {path: d.csv}\nmodel: {kpi: y, media: [tv], "
        "controls: [price]}\nloo: false\npriors: 'tv ~ normal(0, 1)'\n",
    )
    config = load_config(path).config
    assert config.model.media[0].name == "tv"
    assert config.model.controls[0].sign == "any"
    assert config.loo.enabled is False
    assert config.priors == ["tv ~ normal(0, 1)"]


def test_formula_and_structured_lists_resolve_alike() -> None:
    by_formula = load_config(ROOT / "config" / "single_market.yaml")
    by_lists = load_config(ROOT / "config" / "single_market_map.yaml")
    a, _ = resolve(by_formula.config, by_formula)
    b, _ = resolve(by_lists.config, by_lists)
    assert a is not None
    assert b is not None
    assert a.media == b.media
    assert a.controls == b.controls
    assert a.seasonality == b.seasonality
    assert a.coefficients["price"].upper == 0.0  # sign: negative
    assert a.coefficients["tv"].lower == 0.0  # media are positive by default


def test_priors_and_boundaries_land_on_the_right_parameters(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
name: x
data: {path: d.csv}
model:
  formula: y ~ tv + ooh + price
  media:
    - tv
    - name: ooh
      adstock: {type: weibull}
      saturation: {type: tanh, priors: {scale: 'gamma(2, 2)'}}
priors:
  - tv ~ normal(0, 3)
  - ooh.adstock.scale ~ gamma(5, 1)
  - tv.decay ~ beta(3, 3)
  - intercept ~ normal(0, 10)
boundaries:
  - 0 < tv < 4
  - -2 < price
""",
    )
    loaded = load_config(path)
    spec, problems = resolve(loaded.config, loaded)
    assert problems == []
    assert spec is not None
    params = {p.label: (str(p.prior), p.source) for p in spec.transform_params}
    assert params["ooh.adstock.scale"] == ("gamma(5, 1)", "priors[1]")
    assert params["ooh.saturation.scale"][0] == "gamma(2, 2)"
    assert params["tv.adstock.decay"] == ("beta(3, 3)", "priors[2]")
    tv = spec.coefficients["tv"]
    assert (str(tv.prior), tv.lower, tv.upper) == ("normal(0, 3)", 0.0, 4.0)
    assert spec.coefficients["price"].lower == -2.0
    assert math.isinf(spec.coefficients["price"].upper)
    assert str(spec.intercept.prior) == "normal(0, 10)"


def test_ambiguous_short_name_is_taken_for_the_first_form(tmp_path: Path) -> None:
    # `ooh.scale` names the Weibull scale; the qualified form reaches tanh's.
    path = _write(
        tmp_path,
        "name: x\ndata: {path: d.csv}\nmodel:\n  kpi: y\n  media:\n"
        "    - {name: ooh, adstock: {type: weibull}, saturation: {type: tanh}}\n"
        "priors: ['ooh.saturation.scale ~ gamma(9, 9)']\n",
    )
    loaded = load_config(path)
    spec, problems = resolve(loaded.config, loaded)
    assert problems == []
    assert spec is not None
    tanh = [p for p in spec.transform_params if p.label == "ooh.saturation.scale"]
    assert str(tanh[0].prior) == "gamma(9, 9)"


def test_literal_types_match_the_transform_registry() -> None:
    assert set(typing.get_args(models.AdstockType)) == set(transforms.ADSTOCKS)
    assert set(typing.get_args(models.SaturationType)) == set(transforms.SATURATIONS)


def test_parameter_count_grows_with_terms() -> None:
    loaded = load_config(ROOT / "config" / "single_market.yaml")
    spec, _ = resolve(loaded.config, loaded)
    assert spec is not None
    # intercept, sigma, 6 media, 2 controls, 1 trend, 4 seasonal, and the transforms:
    # tv 3, search 3, social 2, display 2, radio 4, ooh 3
    assert spec.n_parameters() == 2 + 6 + 2 + 1 + 4 + (3 + 3 + 2 + 2 + 4 + 3)
