"""Long data (`data.format: long`): the pivot to wide, and the located problems of a flat file.

The long files are the shipped wide datasets melted in the test (one row per period ×
market × variable, rows shuffled), so long and wide must validate to the same frame and
the same Stan data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from mmm_runner import classes
from mmm_runner.cli.main import app
from mmm_runner.data.design import build_design
from mmm_runner.validation import Validation, validate

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"
DATA = ROOT / "data"
VARIABLE, VALUE = "VariableName", "VariableValue"


def _melt(wide: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return wide.melt(id_vars=keys, var_name=VARIABLE, value_name=VALUE)


def _long_config(
    tmp_path: Path, shipped: str, long: pd.DataFrame, data: dict[str, Any] | None = None
) -> Path:
    """The shipped config pointed at ``long`` (written as CSV) with ``format: long``."""
    config = yaml.safe_load((CONFIG / shipped).read_text())
    csv = tmp_path / "long.csv"
    long.to_csv(csv, index=False)
    config["data"].update(
        {"path": str(csv), "format": "long", "variable_column": VARIABLE, "value_column": VALUE},
        **(data or {}),
    )
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False, width=1000))
    return path


def _ok(result: Validation) -> Validation:
    assert result.ok, [p.render() for p in result.errors]
    return result


def _stan_data(result: Validation) -> dict[str, Any]:
    assert result.loaded is not None
    assert result.spec is not None
    assert result.frame is not None
    design = build_design(result.frame, result.loaded.config, result.spec)
    return classes.get(result.spec.model_class).stan_data(design, result.spec)


@pytest.mark.parametrize(
    ("shipped", "data_file", "keys", "extra"),
    [
        ("single_market.yaml", "single_market.csv", ["date"], {}),
        ("panel_hierarchical.yaml", "panel.csv", ["date", "market"], {"dimensions": ["market"]}),
    ],
    ids=["single_market", "panel"],
)
def test_long_and_wide_give_the_same_frame_and_stan_data(
    tmp_path: Path, shipped: str, data_file: str, keys: list[str], extra: dict[str, Any]
) -> None:
    wide_text = pd.read_csv(DATA / data_file, dtype=str)  # values melted as written
    long = _melt(wide_text, keys).sample(frac=1.0, random_state=7)
    wide = _ok(validate(CONFIG / shipped))
    from_long = _ok(validate(_long_config(tmp_path, shipped, long, extra)))
    assert from_long.frame is not None
    assert wide.frame is not None
    pd.testing.assert_frame_equal(from_long.frame, wide.frame)
    assert from_long.summary == wide.summary
    assert [p.message for p in from_long.warnings] == [p.message for p in wide.warnings]
    expected, got = _stan_data(wide), _stan_data(from_long)
    assert set(got) == set(expected)
    for name, value in expected.items():
        np.testing.assert_array_equal(np.asarray(got[name]), np.asarray(value), err_msg=name)


def test_text_categories_and_a_one_valued_dimension(tmp_path: Path) -> None:
    """A categorical control keeps its text through the pivot; a dimension that is not the
    group (a national file's Geography) may be present when it holds one value."""
    wide = pd.read_csv(DATA / "single_market.csv", dtype=str)
    wide["event"] = np.where(np.arange(len(wide)) % 5 == 0, "sale", "none")
    config = yaml.safe_load((CONFIG / "single_market.yaml").read_text())
    config["model"]["formula"] += " + factor(event)"
    config["data"]["path"] = str(tmp_path / "wide.csv")
    wide.to_csv(tmp_path / "wide.csv", index=False)
    wide_config = tmp_path / "wide.yaml"
    wide_config.write_text(yaml.safe_dump(config, sort_keys=False, width=1000))
    long = _melt(wide, ["date"]).assign(Geography="National").sample(frac=1.0, random_state=3)
    path = _long_config(tmp_path, "single_market.yaml", long, {"dimensions": ["Geography"]})
    text = yaml.safe_load(path.read_text())
    text["model"]["formula"] = config["model"]["formula"]
    path.write_text(yaml.safe_dump(text, sort_keys=False, width=1000))
    expected, got = _stan_data(_ok(validate(wide_config))), _stan_data(_ok(validate(path)))
    assert set(got) == set(expected)
    for name, value in expected.items():
        np.testing.assert_array_equal(np.asarray(got[name]), np.asarray(value), err_msg=name)


def test_shipped_long_example_is_the_panel_in_long_form() -> None:
    wide = pd.read_csv(DATA / "panel.csv", dtype=str)
    long = pd.read_csv(DATA / "panel_long.csv", dtype=str)
    back = long.pivot(index=["Geography", "Period"], columns=VARIABLE, values=VALUE)
    back = back.reset_index().rename(columns={"Period": "date", "Geography": "market"})
    pd.testing.assert_frame_equal(back[wide.columns], wide, check_names=False)
    assert _ok(validate(CONFIG / "panel_long.yaml")).summary["rows"] == 624


def test_variables_the_model_does_not_use_are_not_pivoted(tmp_path: Path) -> None:
    long = _melt(pd.read_csv(DATA / "single_market.csv", dtype=str), ["date"])
    unused = long[long[VARIABLE] == "tv"].assign(
        **{VARIABLE: "notes", VALUE: "text, not a number"}
    )
    path = _long_config(tmp_path, "single_market.yaml", pd.concat([long, unused]))
    frame = _ok(validate(path)).frame
    assert frame is not None
    assert "notes" not in frame.columns


# -- problems, located at the rows of the long file -------------------------------------------


@pytest.fixture
def panel_long() -> pd.DataFrame:
    """The panel in long form, in the melt's order (row N of the file is index N - 1)."""
    return _melt(pd.read_csv(DATA / "panel.csv", dtype=str), ["date", "market"])


def _row(long: pd.DataFrame, date: str, market: str, variable: str) -> int:
    """The file's row number (from 1, after the header) of one value."""
    match = long[(long.date == date) & (long.market == market) & (long[VARIABLE] == variable)]
    return int(match.index[0]) + 1


def _errors(tmp_path: Path, long: pd.DataFrame, data: dict[str, Any] | None = None) -> list[str]:
    result = validate(_long_config(tmp_path, "panel_hierarchical.yaml", long, data))
    assert not result.ok
    return [p.render() for p in result.errors]


def test_a_repeated_row_is_located_at_both_rows(tmp_path: Path, panel_long: pd.DataFrame) -> None:
    row = _row(panel_long, "2023-03-06", "east", "search")
    long = pd.concat([panel_long, panel_long.iloc[[row - 1]]], ignore_index=True)
    (error,) = _errors(tmp_path, long)
    assert f"long.csv:{VARIABLE}:row {row}, {len(long)}: variable 'search' appears more " in error
    assert "for the same date, market; the first repeat is 2023-03-06 (east)" in error


def test_missing_combinations_name_the_variable_and_periods(
    tmp_path: Path, panel_long: pd.DataFrame
) -> None:
    gone = [
        _row(panel_long, "2023-01-09", "coast", "tv"),
        _row(panel_long, "2024-03-04", "north", "tv"),
    ]
    (error,) = _errors(tmp_path, panel_long.drop(index=[r - 1 for r in gone]))
    assert (
        f"long.csv:{VARIABLE}: variable 'tv' has no row for 2 of the 624 (period, market) "
        in error
    )
    assert (
        "combinations that other variables have: 2023-01-09 (coast), 2024-03-04 (north)" in error
    )


def test_a_value_that_is_not_a_number_is_located_at_its_row(
    tmp_path: Path, panel_long: pd.DataFrame
) -> None:
    row = _row(panel_long, "2024-05-06", "west", "social")
    panel_long.loc[row - 1, VALUE] = "1,234.5"
    (error,) = _errors(tmp_path, panel_long)
    assert f"long.csv:{VALUE}:row {row}: value of variable 'social' is not a number" in error
    assert "(found '1,234.5')" in error


def test_an_empty_value_is_located_at_its_row(tmp_path: Path, panel_long: pd.DataFrame) -> None:
    row = _row(panel_long, "2023-02-06", "south", "price")
    panel_long.loc[row - 1, VALUE] = ""
    (error,) = _errors(tmp_path, panel_long)
    assert f"long.csv:{VALUE}:row {row}: value of variable 'price' is missing" in error


def test_an_unknown_variable_gets_a_did_you_mean(tmp_path: Path, panel_long: pd.DataFrame) -> None:
    panel_long[VARIABLE] = panel_long[VARIABLE].replace("social", "Social")
    (error,) = _errors(tmp_path, panel_long)
    assert "model.media[2].name (line " in error
    assert "variable 'social' is not in" in error
    assert f"no row has {VARIABLE} 'social'" in error
    assert "did you mean 'Social'?" in error


def test_a_missing_dimension_column_is_named(tmp_path: Path, panel_long: pd.DataFrame) -> None:
    (error,) = _errors(tmp_path, panel_long.rename(columns={"market": "region"}))
    assert "data.group_column (line " in error
    assert "dimension column 'market' is not in" in error
    (error,) = _errors(tmp_path, panel_long, {"dimensions": ["market", "product"]})
    assert "data.dimensions[1] (line " in error
    assert "dimension column 'product' is not in" in error


def test_checks_of_the_wide_frame_are_located_in_the_long_file(
    tmp_path: Path, panel_long: pd.DataFrame
) -> None:
    rows = [
        _row(panel_long, "2023-04-03", "central", "tv"),
        _row(panel_long, "2023-01-02", "west", "tv"),
    ]
    panel_long.loc[[r - 1 for r in rows], VALUE] = "-5"
    (error,) = _errors(tmp_path, panel_long)
    shown = ", ".join(str(r) for r in sorted(rows))
    assert f"long.csv:{VALUE}:row {shown}: {VARIABLE} 'tv': media cannot be negative" in error


def test_a_second_dimension_must_hold_one_value_unless_groups_join_both(
    tmp_path: Path, panel_long: pd.DataFrame
) -> None:
    one = panel_long.assign(product="all")
    path = _long_config(
        tmp_path, "panel_hierarchical.yaml", one, {"dimensions": ["market", "product"]}
    )
    _ok(validate(path))
    two = pd.concat([one, one.assign(product="other")], ignore_index=True)
    (error,) = _errors(tmp_path, two, {"dimensions": ["market", "product"]})
    assert "data.dimensions[1] (line " in error
    assert "dimension 'product' holds 2 values (all, other) but is not the group" in error
    # A group_column that is none of the dimensions joins them: market|product.
    path = _long_config(
        tmp_path,
        "panel_hierarchical.yaml",
        two,
        {"dimensions": ["market", "product"], "group_column": "cell"},
    )
    path.write_text(path.read_text().replace("| market)", "| cell)"))
    summary = _ok(validate(path)).summary
    assert summary["groups"][:3] == ["central|all", "central|other", "coast|all"]
    assert summary["rows"] == 2 * 624


def test_long_only_fields_on_wide_data_are_an_error(tmp_path: Path) -> None:
    config = yaml.safe_load((CONFIG / "single_market.yaml").read_text())
    config["data"].update(path=str(DATA / "single_market.csv"), variable_column="name")
    path = tmp_path / "wide.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False, width=1000))
    (error,) = [p.render() for p in validate(path).errors]
    assert "data.variable_column only applies to long data: set data.format: long" in error


def test_cli_validate_exits_2_on_a_repeated_row(tmp_path: Path, panel_long: pd.DataFrame) -> None:
    long = pd.concat([panel_long, panel_long.iloc[[0]]], ignore_index=True)
    path = _long_config(tmp_path, "panel_hierarchical.yaml", long)
    result = CliRunner().invoke(app, ["validate", "--config", str(path)])
    assert result.exit_code == 2, result.output
    assert f"long.csv:{VARIABLE}:row 1, {len(long)}" in result.stderr
    assert "Traceback" not in result.output
