"""Crossed pooling, `(search | geo) + (tv | product)`: what validate accepts and refuses,
and the Stan data it leads to, for long and wide files in any row order.

The shipped example (config/geo_product.yaml) reads a long file of twelve geo x product
series; the wide versions here are that file pivoted in the test, with text columns,
an unnamed index column and shuffled rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from mmm_runner import classes
from mmm_runner.config.resolve import CrossedPart
from mmm_runner.data.design import build_design
from mmm_runner.model import stan_data
from mmm_runner.validation import Validation, validate

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "config" / "geo_product.yaml"


def _config(tmp_path: Path, edit: Any = None, frame: pd.DataFrame | None = None) -> Path:
    config = yaml.safe_load(SHIPPED.read_text())
    config["data"]["path"] = str(ROOT / "data" / "geo_product.csv")
    if frame is not None:
        csv = tmp_path / "wide.csv"
        frame.to_csv(csv)  # keeps the unnamed index column of a pandas export
        config["data"] = {
            "path": str(csv),
            "date_column": "date",
            "group_column": "series",
            "frequency": "weekly",
        }
    if edit:
        edit(config)
    path = tmp_path / "crossed.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False, width=1000))
    return path


def _wide(seed: int) -> pd.DataFrame:
    """The shipped long file as a wide table, rows shuffled."""
    long = pd.read_csv(ROOT / "data" / "geo_product.csv")
    wide = long.pivot_table(
        index=["date", "geo", "product"], columns="variable", values="value"
    ).reset_index()
    wide.columns.name = None
    wide["series"] = wide["geo"] + "|" + wide["product"]
    return wide.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def _ok(result: Validation) -> Validation:
    assert result.ok, [p.render() for p in result.errors]
    return result


def _stan(result: Validation) -> tuple[dict[str, Any], Any]:
    assert result.loaded is not None
    assert result.spec is not None
    assert result.frame is not None
    design = build_design(result.frame, result.loaded.config, result.spec)
    data = classes.get(result.spec.model_class).stan_data(design, result.spec)
    return data, design


def _errors(result: Validation) -> str:
    return "\n".join(p.render() for p in result.errors)


def test_shipped_example_resolves_its_crossed_parts() -> None:
    result = _ok(validate(SHIPPED))
    assert result.spec is not None
    assert result.spec.varying == ()
    assert result.spec.crossed == (
        CrossedPart("geo", ("search",), True),
        CrossedPart("product", ("tv",), True),
    )
    data, design = _stan(result)
    assert design.n_groups == 12
    assert data["F"] == 2
    assert data["n_levels"] == [4, 3]
    # intercept|geo, search|geo, intercept|product, tv|product
    assert data["cross_factor"] == [1, 1, 2, 2]
    assert data["cross_term"] == [0, 2, 0, 1]
    assert data["cross_centred"] == 1  # each level spans 312+ rows
    names = stan_data.layout(design, result.spec)
    assert names.group_effects == (
        "intercept|geo",
        "search|geo",
        "intercept|product",
        "tv|product",
    )
    for g, label in enumerate(design.group_names):
        geo, product = label.split("|")
        assert design.crossed[0].levels[data["level_of"][0][g] - 1] == geo
        assert design.crossed[1].levels[data["level_of"][1][g] - 1] == product


@pytest.mark.parametrize("seed", [0, 1])
def test_wide_files_in_any_row_order_give_the_long_files_stan_data(
    tmp_path: Path, seed: int
) -> None:
    long_data, long_design = _stan(_ok(validate(_config(tmp_path))))
    wide_data, wide_design = _stan(_ok(validate(_config(tmp_path, frame=_wide(seed)))))
    # groups may come in another order: compare series by name
    order = [wide_design.group_names.index(name) for name in long_design.group_names]
    np.testing.assert_array_equal(
        np.asarray(wide_data["level_of"])[:, order], long_data["level_of"]
    )
    for g, w in enumerate(order):
        np.testing.assert_allclose(
            wide_design.y[wide_design.group == w], long_design.y[long_design.group == g]
        )
    for key in ("F", "n_levels", "C", "cross_factor", "cross_term", "cross_centred", "K"):
        assert wide_data[key] == long_data[key], key


def test_structured_crossed_config_is_the_formula(tmp_path: Path) -> None:
    def structured(config: dict[str, Any]) -> None:
        model = config["model"]
        del model["formula"]
        model.update(
            kpi="sales",
            hierarchical={
                "varying_intercept": False,
                "crossed": {"geo": {"varying": ["search"]}, "product": {"varying": ["tv"]}},
            },
        )

    formula = _ok(validate(SHIPPED)).spec
    result = _ok(validate(_config(tmp_path, structured)))
    assert result.spec is not None
    assert formula is not None
    assert result.spec.crossed == formula.crossed
    assert _stan(result)[0]["cross_term"] == _stan(validate(SHIPPED))[0]["cross_term"]


def test_a_column_that_varies_within_a_group_is_refused(tmp_path: Path) -> None:
    wide = _wide(0)
    wide["series"] = wide["geo"]  # groups are geos: a geo holds three products
    result = validate(_config(tmp_path, frame=wide))
    text = _errors(result)
    assert "wide.csv:product" in text
    assert "has 3 values of 'product'" in text
    assert "each series" in text


def test_a_missing_crossed_column_is_named_with_a_suggestion(tmp_path: Path) -> None:
    def misspelt(config: dict[str, Any]) -> None:
        config["model"]["formula"] = config["model"]["formula"].replace("| product", "| prodct")

    wide = _wide(0)
    text = _errors(validate(_config(tmp_path, misspelt, frame=wide)))
    assert "column 'prodct' is not in" in text
    assert "did you mean 'product'" in text


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda c: c["model"].update({"class": "blm"}) or c["data"].pop("group_column"),
            "set data.group_column: geo",
        ),
        (
            lambda c: c["model"].update(hierarchical={"crossed": {"geo": {"varying": ["tv"]}}}),
            "model.hierarchical.crossed is set but model.formula decides what varies",
        ),
        (
            lambda c: c["model"].update(formula="sales ~ tv + season + (search | geo)"),
            "'search' varies by group but is not a population-level term",
        ),
        (
            lambda c: c["model"].update(
                formula="sales ~ tv + search + season + (search | geo) + (tv | geo)"
            ),
            "two (terms | geo) parts",
        ),
    ],
)
def test_config_mistakes(tmp_path: Path, edit: Any, message: str) -> None:
    assert message in _errors(validate(_config(tmp_path, edit)))


def test_crossed_by_the_group_column_is_refused(tmp_path: Path) -> None:
    def by_group(config: dict[str, Any]) -> None:
        model = config["model"]
        del model["formula"]
        model.update(kpi="sales", hierarchical={"crossed": {"series": {"varying": ["tv"]}}})

    text = _errors(validate(_config(tmp_path, by_group)))
    assert "model.hierarchical.crossed.series" in text
    assert "is data.group_column" in text


def test_prior_panels_give_crossed_intercept_sds_the_intercept_sd_prior() -> None:
    from mmm_runner.analysis.posterior import Posterior
    from mmm_runner.analysis.prior_predictive import prior_panels

    result = _ok(validate(SHIPPED))
    assert result.spec is not None
    _, design = _stan(result)
    spec = result.spec
    names = stan_data.layout(design, spec)
    draws, groups, coefs = 20, design.n_groups, len(names.beta)
    post = Posterior(
        np.zeros(draws),
        np.zeros((draws, coefs)),
        np.zeros((draws, 1, len(names.theta))),
        np.ones((draws, groups)),
        np.zeros((draws, groups)),
        np.zeros((draws, groups, coefs)),
        np.ones((draws, len(names.group_effects))),
        1,
    )
    panels = {p.parameter: p.dist for p in prior_panels(post, spec, names)}
    assert panels["sd_intercept|geo"] == spec.group_intercept_sd_prior
    assert panels["sd_tv|product"] == spec.group_sd_prior
