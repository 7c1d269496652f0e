"""`mmm init` guesses the network classes: mediators (nested), several outcomes
(multivariate) and both (combined), on the shipped files and on awkward variants; the
written config validates, and files with one KPI and no mediator are untouched."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from mmm_runner.cli.main import app
from mmm_runner.config.formula import parse_formula
from mmm_runner.starter import classify, describe
from mmm_runner.validation import Validation, validate

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"


def init(data: Path, folder: Path) -> tuple[str, str, dict[str, Any], Validation]:
    """Runs `mmm init` on ``data``: its output, the config text and YAML, its validation."""
    target = folder / f"{data.stem.replace(' ', '_')}.yaml"
    result = CliRunner().invoke(app, ["init", "--data", str(data), "-o", str(target)])
    assert target.is_file(), result.output
    check = validate(target)
    assert result.exit_code == 0, [p.render() for p in check.problems]
    assert check.ok
    text = target.read_text()
    return result.output, text, yaml.safe_load(text), check


def write(frame: pd.DataFrame, folder: Path, name: str) -> Path:
    path = folder / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path


def mediators(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in config["model"].get("mediators", [])}


def test_shipped_nested_file_is_nested(tmp_path: Path) -> None:
    data = tmp_path / "nested.csv"
    shutil.copy(DATA / "nested.csv", data)
    output, text, config, check = init(data, tmp_path)
    model = config["model"]
    assert model["class"] == "nested"
    formula = parse_formula(model["formula"])
    assert formula.response == "sales"
    assert "awareness" not in formula.columns  # a mediator, not a control
    assert mediators(config) == {
        "awareness": {
            "name": "awareness",
            "observation": "full",
            "channels": ["tv", "social", "display"],
        }
    }
    assert "named like upper-funnel media" in text
    assert "# effect_sign: positive" in text  # a hint, not a guess
    assert "guessed: mediator 'awareness' (class nested: named like a brand" in output
    assert check.spec is not None
    assert [m.name for m in check.spec.mediators] == ["awareness"]


def test_shipped_multivariate_file_is_multivariate(tmp_path: Path) -> None:
    data = tmp_path / "multivariate.csv"
    shutil.copy(DATA / "multivariate.csv", data)
    output, text, config, check = init(data, tmp_path)
    model = config["model"]
    assert model["class"] == "multivariate"
    formula = parse_formula(model["formula"])
    assert formula.outcomes == ("product_a", "product_b")
    assert [o["name"] for o in model["outcomes"]] == ["product_a", "product_b"]
    assert model["kpi"] == "total"
    assert "cross_effects" not in model  # never guessed as active config
    assert "correlated_errors" not in model
    assert "#   - {from: product_a, to: product_b, lag: 1, type: halo}" in text
    assert "kpi_value" not in text  # each outcome's value instead
    assert set(formula.columns) == {"tv", "search", "social", "promo_b"}
    assert "guessed: outcomes 'product_a' + 'product_b' (class multivariate" in output
    assert check.spec is not None
    assert [o.name for o in check.spec.outcomes] == ["product_a", "product_b"]


def test_shipped_combined_file_is_combined(tmp_path: Path) -> None:
    data = tmp_path / "combined.csv"
    shutil.copy(DATA / "combined.csv", data)
    _, _, config, _ = init(data, tmp_path)
    model = config["model"]
    assert model["class"] == "combined"
    assert parse_formula(model["formula"]).outcomes == ("product_a", "product_b")
    assert mediators(config)["awareness"]["channels"] == ["tv", "social", "display"]
    assert "awareness" not in parse_formula(model["formula"]).columns


def test_odd_order_text_and_index_columns_still_combined(tmp_path: Path) -> None:
    frame = pd.read_csv(DATA / "combined.csv")
    n = len(frame)
    rng = np.random.default_rng(1)
    order = ["promo_b", "awareness", "display", "product_b", "tv", "date", "search"]
    odd = frame[[*order, "product_a", "social"]].copy()
    odd.insert(0, "Unnamed: 0", np.arange(n))
    odd["region"] = rng.choice(["north", "south"], n)
    odd["comment"] = [f"note {i}" for i in range(n)]
    _, text, config, _ = init(write(odd, tmp_path, "odd"), tmp_path)
    model = config["model"]
    assert model["class"] == "combined"
    formula = parse_formula(model["formula"])
    assert formula.outcomes == ("product_a", "product_b")  # label order, not file order
    assert formula.factors == ("region",)
    assert set(mediators(config)["awareness"]["channels"]) == {"tv", "social", "display"}
    assert "'Unnamed: 0': no header: a row index" in text
    assert "'comment': 156 distinct values" in text


@pytest.mark.parametrize("name", ["awareness", "tracker_score"])
def test_survey_with_80_percent_empty_rows_is_partial(tmp_path: Path, name: str) -> None:
    """Named like a mediator, or unnamed but observed in scattered waves."""
    frame = pd.read_csv(DATA / "nested.csv").rename(columns={"awareness": name})
    empty = np.random.default_rng(2).random(len(frame)) < 0.8
    frame.loc[empty, name] = np.nan
    output, text, config, _ = init(write(frame, tmp_path, "survey"), tmp_path)
    assert config["model"]["class"] == "nested"
    entry = mediators(config)[name]
    assert entry["observation"] == "partial"
    assert entry["channels"] == ["tv", "social", "display"]
    seen = int((~empty).sum())
    prose = " ".join(text.replace("#", " ").split())  # comments unwrapped
    assert f"observed in {seen} of {len(frame)} rows: observation partial" in prose
    assert f"mediator '{name}'" in output
    if name == "tracker_score":
        assert "separate waves like a survey" in prose


def test_mediator_names_and_channels(tmp_path: Path) -> None:
    """A name a formula cannot hold gets `column`; no upper-funnel channel: all channels."""
    frame = pd.read_csv(DATA / "nested.csv").drop(columns=["tv", "social", "display"])
    rng = np.random.default_rng(3)
    frame["affiliate"] = np.round(rng.gamma(2, 500, len(frame)), 2)
    frame = frame.rename(columns={"awareness": "Purchase Intent %"})
    _, text, config, _ = init(write(frame, tmp_path, "intent"), tmp_path)
    entry = mediators(config)["Purchase_Intent"]
    assert entry["column"] == "Purchase Intent %"
    assert entry["channels"] == ["search", "affiliate"]
    assert "no channel is named like upper-funnel media" in text


@pytest.mark.parametrize(
    ("column", "mediator"),
    [
        ("awareness", True),
        ("brand_awareness", True),
        ("tv_ad_awareness", True),
        ("consideration", True),
        ("favourability", True),
        ("purchase_intent", True),
        ("brand_health", True),
        ("survey_score", True),
        ("brand_search", False),  # media
        ("price", False),
        ("promo", False),
        ("temperature", False),
        ("holidays", False),
        ("competitor_price", False),
        ("brand_a", False),
    ],
)
def test_only_brand_and_survey_measures_are_mediators(column: str, mediator: bool) -> None:
    rng = np.random.default_rng(4)
    n = 60
    frame = pd.DataFrame(
        {
            "date": pd.date_range("2023-01-02", periods=n, freq="7D").strftime("%Y-%m-%d"),
            "sales": np.round(rng.normal(1e4, 500, n), 2),
            "tv": np.round(rng.gamma(2, 1e3, n), 2),
            column: np.round(rng.normal(30, 3, n), 2),
        }
    )
    cols = classify(frame)
    assert [m.column for m in cols.mediators] == ([column] if mediator else [])
    assert cols.model_class == ("nested" if mediator else "blm")
    assert cols.kpi == "sales"


def test_gappy_controls_are_not_surveys() -> None:
    """A control with many empty cells stays a control to fill, never a mediator."""
    frame = pd.read_csv(DATA / "nested.csv").drop(columns="awareness")
    rng = np.random.default_rng(5)
    frame["temperature"] = np.round(rng.normal(15, 5, len(frame)), 1)
    frame.loc[rng.random(len(frame)) < 0.6, "temperature"] = np.nan
    cols = classify(frame)
    assert cols.mediators == ()
    assert cols.model_class == "blm"
    assert "empty cell(s): fill them" in cols.skipped["temperature"]


@pytest.mark.parametrize(
    ("names", "outcomes"),
    [
        (("sales_a", "sales_b"), ("sales_a", "sales_b")),
        (("product_a_sales", "product_b_sales"), ("product_a_sales", "product_b_sales")),
        (("revenue_x", "revenue_y"), ("revenue_x", "revenue_y")),
        (("Sales B", "Sales A"), ("Sales A", "Sales B")),
        (("net_sales", "gross_sales"), ()),  # modifiers, not labels
        (("revenue_usd", "revenue_eur"), ()),  # currencies
        (("sales_2023", "sales_2024"), ()),  # years
        (("tv_sales", "search_sales"), ()),  # media-attributed
    ],
)
def test_several_kpi_columns_of_one_stem_are_outcomes(
    tmp_path: Path, names: tuple[str, str], outcomes: tuple[str, ...]
) -> None:
    frame = pd.read_csv(DATA / "multivariate.csv")
    frame = frame.rename(columns=dict(zip(["product_a", "product_b"], names, strict=True)))
    cols = classify(frame)
    assert cols.outcomes == outcomes
    if not outcomes:
        assert cols.model_class == "blm"
        return
    assert cols.model_class == "multivariate"
    assert cols.kpi == outcomes[0]
    _, _, config, check = init(write(frame, tmp_path, "outcomes"), tmp_path)
    assert check.spec is not None
    assert tuple(o.column for o in check.spec.outcomes) == outcomes
    if "formula" in config["model"]:
        assert parse_formula(config["model"]["formula"]).outcomes == outcomes
    else:  # names with spaces: outcomes with columns
        assert [o["column"] for o in config["model"]["outcomes"]] == list(outcomes)


def test_parts_of_the_kpi_are_left_out() -> None:
    frame = pd.read_csv(DATA / "multivariate.csv")
    frame = frame.rename(columns={"product_a": "sales_a", "product_b": "sales_b"})
    frame["sales"] = frame["sales_a"] + frame["sales_b"]
    cols = classify(frame)
    assert cols.kpi == "sales"
    assert cols.outcomes == ()
    assert cols.controls == ("promo_b",)
    assert "a part of the KPI 'sales'" in cols.skipped["sales_a"]


def test_a_panel_keeps_its_class_and_explains(tmp_path: Path) -> None:
    """The network classes fit one series: in a panel a mediator or a second KPI column
    is left out with the reason (as a control a mediator would absorb media effects)."""
    frame = pd.read_csv(DATA / "panel.csv")
    rng = np.random.default_rng(6)
    frame["brand_awareness"] = np.round(rng.normal(30, 3, len(frame)), 2)
    frame = frame.rename(columns={"sales": "sales_a"})
    frame["sales_b"] = np.round(frame["sales_a"] * 0.5 + rng.normal(0, 100, len(frame)), 2)
    _, text, config, _ = init(write(frame, tmp_path, "panel_network"), tmp_path)
    assert config["model"]["class"] == "hierarchical"
    formula = parse_formula(config["model"]["formula"])
    assert formula.response == "sales_a"
    assert not {"brand_awareness", "sales_b"} & set(formula.columns)
    assert "'brand_awareness': reads as a mediator" in text
    assert "'sales_b': another KPI column" in text


def test_long_file_with_a_mediator_is_nested(tmp_path: Path) -> None:
    wide = pd.read_csv(DATA / "nested.csv")
    flat = wide.melt(id_vars="date", var_name="variable", value_name="value")
    _, _, config, _ = init(write(flat.sample(frac=1.0, random_state=3), tmp_path, "lng"), tmp_path)
    assert config["data"]["format"] == "long"
    assert config["model"]["class"] == "nested"
    assert set(mediators(config)["awareness"]["channels"]) == {"tv", "social", "display"}


@pytest.mark.parametrize("name", ["single_market", "panel", "pooled", "weekly_events", "drift"])
def test_one_kpi_without_mediator_is_unchanged(name: str) -> None:
    cols = classify(pd.read_csv(DATA / f"{name}.csv"))
    assert cols.outcomes == ()
    assert cols.mediators == ()
    assert cols.model_class == ("hierarchical" if cols.group else "blm")
    assert not any(line.startswith(("outcomes", "mediator")) for line in describe(cols))
