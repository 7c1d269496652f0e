"""`mmm init` on files shaped like real ones: Robyn's demo, a Meridian-style geo panel,
an irregular panel, odd casing, plan rows without a KPI, names with spaces, short and
semicolon-separated files.  Each written config must parse and validate (or fail only on
the data's genuine problems) and carry the right KPI, group, channels and terms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from mmm_runner.cli.main import app
from mmm_runner.config.formula import parse_formula
from mmm_runner.starter import classify
from mmm_runner.validation import Validation, validate


def _weeks(start: str, n: int) -> list[str]:
    return list(pd.date_range(start, periods=n, freq="7D").strftime("%Y-%m-%d"))


def _spend(rng: np.random.Generator, n: int, scale: float, active: float) -> np.ndarray:
    return np.round(rng.gamma(2.0, scale / 2, n) * (rng.random(n) < active), 2)


def robyn_weekly(folder: Path) -> Path:
    """Robyn's demo layout, written by R's write.csv (a row-number column with no header)."""
    rng = np.random.default_rng(1)
    n = 208
    tv, ooh, prints = _spend(rng, n, 5e4, 0.5), _spend(rng, n, 2e4, 0.4), _spend(rng, n, 8e3, 0.5)
    facebook, search = _spend(rng, n, 1e4, 0.9), _spend(rng, n, 6e3, 1.0)
    newsletter = _spend(rng, n, 2e4, 0.6)
    competitor = np.round(rng.normal(4e6, 5e5, n), 2)
    events = np.where(rng.random(n) < 0.05, "event1", "na")
    events[[30, 90, 150, 200]] = "event2"
    revenue = 2e6 + 3 * tv + 2 * ooh + 5 * facebook + 8 * search + 0.2 * competitor
    revenue += 4 * newsletter + 3e5 * np.sin(2 * np.pi * np.arange(n) / 52.18)
    frame = pd.DataFrame(
        {
            "DATE": _weeks("2015-11-23", n),
            "revenue": np.round(revenue + rng.normal(0, 1e5, n), 2),
            "tv_S": tv,
            "ooh_S": ooh,
            "print_S": prints,
            "facebook_I": np.round(facebook * rng.uniform(90, 110, n)),
            "search_clicks_P": np.round(search * rng.uniform(0.8, 1.2, n)),
            "search_S": search,
            "competitor_sales_B": competitor,
            "facebook_S": facebook,
            "events": events,
            "newsletter": newsletter,
        },
        index=pd.RangeIndex(1, n + 1),
    )
    path = folder / "dt_simulated_weekly.csv"
    frame.to_csv(path, index_label="")
    return path


def geo_panel(folder: Path) -> Path:
    """A Meridian-style geo panel: 40 geos x 104 weeks, rows by week with geos shuffled,
    five channels with impressions and spend (Channel4 national), a text control, the
    KPI in conversions with revenue per conversion, and population (pandas' index too)."""
    rng = np.random.default_rng(2)
    weeks = _weeks("2021-01-25", 104)
    geos = [f"Geo{i}" for i in range(40)]
    population = dict(zip(geos, np.round(rng.uniform(1e5, 1e6, 40), 2), strict=True))
    national = np.round(rng.gamma(2, 5e5, len(weeks)) * (rng.random(len(weeks)) < 0.6))
    rows: list[dict[str, Any]] = []
    for w, week in enumerate(weeks):
        for geo in rng.permutation(geos):
            size = population[geo] / 5e5
            row: dict[str, Any] = {"geo": geo, "time": week}
            local = rng.gamma(2, 4e5, 4) * size * (rng.random(4) < 0.7)
            impressions = [*np.round(local, 2), national[w]]
            for c, value in enumerate(impressions):
                row[f"Channel{c}_impression"] = value
            for c, value in enumerate(impressions):
                row[f"Channel{c}_spend"] = round(value * 0.0074, 4)
            row["Organic_channel0_impression"] = round(float(rng.gamma(2, 1e5) * size), 2)
            row["weather"] = rng.choice(["sunny", "rainy", "cloudy"])
            row["Promo"] = round(float(rng.gamma(1, 0.5) * (rng.random() < 0.4)), 4)
            effect = 1000 * size + 0.0005 * sum(impressions)
            row["conversions"] = round(float(effect + rng.normal(0, 50)), 2)
            row["revenue_per_conversion"] = round(float(rng.normal(0.0242, 0.0001)), 6)
            row["population"] = population[geo]
            rows.append(row)
    path = folder / "geo_all_channels.csv"
    pd.DataFrame(rows).to_csv(path)  # the index comes back as 'Unnamed: 0'
    return path


def irregular_panel(folder: Path) -> Path:
    """Three markets; market C misses three weeks in the middle."""
    rng = np.random.default_rng(3)
    parts = []
    for market in ("A", "B", "C"):
        dates = _weeks("2022-01-03", 60)
        if market == "C":
            dates = dates[:20] + dates[23:]
        n = len(dates)
        tv, search = _spend(rng, n, 5e3, 0.6), _spend(rng, n, 2e3, 0.9)
        parts.append(
            pd.DataFrame(
                {
                    "date": dates,
                    "market": market,
                    "sales": np.round(5e4 + 2 * tv + 3 * search + rng.normal(0, 2e3, n), 2),
                    "tv": tv,
                    "search": search,
                    "price": np.round(rng.normal(1, 0.05, n), 4),
                }
            )
        )
    path = folder / "irregular_panel.csv"
    pd.concat(parts).to_csv(path, index=False)
    return path


def odd_casing(folder: Path) -> Path:
    """Capitalised and camelCase names, a competitor revenue beside the KPI, exposure with a
    bare spend column (TV_GRPs + TV), a bare exposure with a cost column (Email +
    Email_Cost), organic social posts, integer-coded holidays and a pandas index column."""
    rng = np.random.default_rng(4)
    n = 80
    tv = _spend(rng, n, 3e4, 0.5)
    email_cost = _spend(rng, n, 1e3, 0.8)
    holiday = np.zeros(n, dtype=int)
    holiday[[5, 30, 57]] = 1
    holiday[[12, 40, 65]] = 2
    holiday[[20, 47, 75]] = 3
    frame = pd.DataFrame(
        {
            "index": np.arange(n),
            "Week": _weeks("2022-03-07", n),
            "Competitor_Revenue": np.round(rng.normal(9e5, 5e4, n), 2),
            "TV": tv,
            "TV_GRPs": np.round(tv / 250, 1),
            "Radio_Spend": _spend(rng, n, 8e3, 0.6),
            "Email": np.round(email_cost * 40),
            "Email_Cost": email_cost,
            "SocialPosts": rng.integers(0, 30, n),
            "Holiday": holiday,
            "Price_Index": np.round(rng.normal(100, 3, n), 2),
            "Total_Revenue": np.round(4e5 + 2 * tv + rng.normal(0, 2e4, n), 2),
        }
    )
    path = folder / "Odd_Casing.csv"
    frame.to_csv(path, index=False)
    return path


def plan_rows(folder: Path) -> Path:
    """Sales are empty in the first 4 weeks (before tracking) and the last 6 (the plan)."""
    rng = np.random.default_rng(5)
    n = 70
    tv_spend, search_spend = _spend(rng, n, 4e3, 0.7), _spend(rng, n, 2e3, 0.9)
    sales = np.round(3e4 + 2 * tv_spend + 3 * search_spend + rng.normal(0, 1e3, n), 2)
    sales[:4] = np.nan
    sales[-6:] = np.nan
    frame = pd.DataFrame(
        {
            "date": _weeks("2023-01-02", n),
            "tv_spend": tv_spend,
            "search_spend": search_spend,
            "price": np.round(rng.normal(2, 0.1, n), 3),
            "sales": sales,
        }
    )
    path = folder / "plan.csv"
    frame.to_csv(path, index=False)
    return path


def spaced_daily(folder: Path) -> Path:
    """Daily data with names a formula cannot hold ('Net Sales', 'TV Spend')."""
    rng = np.random.default_rng(6)
    n = 400
    tv = _spend(rng, n, 2e3, 0.5)
    frame = pd.DataFrame(
        {
            "Date": pd.date_range("2023-01-01", periods=n).strftime("%Y-%m-%d"),
            "Net Sales": np.round(2e4 + 3 * tv + rng.normal(0, 500, n), 2),
            "TV Spend": tv,
            "Search Spend": _spend(rng, n, 800, 0.9),
            "Avg Price": np.round(rng.normal(10, 0.3, n), 2),
            "Store Type": rng.choice(["mall", "street", "outlet"], n),
        }
    )
    path = folder / "daily spaced.csv"
    frame.to_csv(path, index=False)
    return path


def short_weekly(folder: Path) -> Path:
    """30 weeks: less than a year, so no yearly seasonality."""
    rng = np.random.default_rng(7)
    n = 30
    frame = pd.DataFrame(
        {
            "week": _weeks("2024-01-01", n),
            "orders": rng.poisson(500, n),
            "display_spend": _spend(rng, n, 1e3, 0.8),
            "social_spend": _spend(rng, n, 1e3, 0.8),
        }
    )
    path = folder / "short.csv"
    frame.to_csv(path, index=False)
    return path


def init(data: Path, folder: Path) -> tuple[int, str, dict[str, Any], Validation]:
    """Runs `mmm init` on ``data``; returns its exit code, the config text and YAML, and
    the config's validation."""
    target = folder / f"{data.stem.replace(' ', '_')}.yaml"
    result = CliRunner().invoke(app, ["init", "--data", str(data), "-o", str(target)])
    assert target.is_file(), result.output
    text = target.read_text()
    return result.exit_code, text, yaml.safe_load(text), validate(target)


def media(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in config["model"]["media"]}


def test_robyn_demo_pairs_exposure_with_spend(tmp_path: Path) -> None:
    code, text, config, check = init(robyn_weekly(tmp_path), tmp_path)
    assert code == 0, [p.render() for p in check.problems]
    assert check.ok
    assert "group_column" not in config["data"]  # the events column is not a group
    assert config["data"]["date_column"] == "DATE"
    formula = parse_formula(config["model"]["formula"])
    assert formula.response == "revenue"
    assert "# guessed: 'revenue' as the KPI (name looks like a KPI)" in text
    channels = media(config)
    assert set(channels) == {
        "tv_S",
        "ooh_S",
        "print_S",
        "facebook_I",
        "search_clicks_P",
        "newsletter",
    }
    assert channels["facebook_I"]["spend_column"] == "facebook_S"
    assert channels["search_clicks_P"]["spend_column"] == "search_S"
    assert channels["newsletter"]["organic"] is True
    assert "organic media" in text
    assert formula.factors == ("events",)
    controls = set(formula.columns) - set(channels) - {"events"}
    assert controls == {"competitor_sales_B"}
    assert not {"facebook_S", "search_S", "Unnamed: 0"} & set(formula.columns)
    assert "'Unnamed: 0': no header: a row index (1, 2, ...)" in text
    assert check.spec is not None
    assert check.spec.categorical == {"events": None}


def test_geo_panel_is_hierarchical_with_paired_channels(tmp_path: Path) -> None:
    code, text, config, check = init(geo_panel(tmp_path), tmp_path)
    assert code == 0, [p.render() for p in check.problems]
    assert check.ok
    assert config["data"]["group_column"] == "geo"
    assert config["data"]["date_column"] == "time"
    assert config["model"]["class"] == "hierarchical"
    formula = parse_formula(config["model"]["formula"])
    assert formula.response == "conversions"
    assert [p.group for p in formula.parts] == ["geo"]
    assert formula.parts[0].intercept
    assert formula.factors == ("weather",)
    channels = media(config)
    organic = channels.pop("Organic_channel0_impression")
    assert organic["organic"] is True
    assert "spend_column" not in organic
    assert {name: m["spend_column"] for name, m in channels.items()} == {
        f"Channel{c}_impression": f"Channel{c}_spend" for c in range(5)
    }
    assert channels["Channel4_impression"]["scope"] == "national"
    assert all("scope" not in channels[f"Channel{c}_impression"] for c in range(4))
    assert config["model"]["kpi_value"] == "revenue_per_conversion"
    assert set(formula.columns) == {*channels, "Organic_channel0_impression", "Promo", "weather"}
    assert "'population': constant within each geo" in text
    assert check.summary["groups"] == sorted(f"Geo{i}" for i in range(40))


def test_irregular_panel_keeps_its_group_and_says_what_to_fix(tmp_path: Path) -> None:
    code, text, config, check = init(irregular_panel(tmp_path), tmp_path)
    assert config["data"]["group_column"] == "market"
    assert config["model"]["class"] == "hierarchical"
    assert "# check: the data need these fixes" in text
    assert "not a regular weekly series (e.g. 'C')" in text
    # The only errors are the data's genuine gap: market C misses three weeks.
    assert code == 2
    assert check.errors
    assert all("dates are not regular in group C" in p.message for p in check.errors)
    assert parse_formula(config["model"]["formula"]).response == "sales"


def test_odd_casing_and_bare_columns(tmp_path: Path) -> None:
    code, text, config, check = init(odd_casing(tmp_path), tmp_path)
    assert code == 0, [p.render() for p in check.problems]
    assert check.ok
    assert config["data"]["date_column"] == "Week"
    formula = parse_formula(config["model"]["formula"])
    assert formula.response == "Total_Revenue"  # not Competitor_Revenue
    channels = media(config)
    assert channels["TV_GRPs"]["spend_column"] == "TV"  # exposure with a bare spend column
    assert channels["Email"]["spend_column"] == "Email_Cost"  # a bare exposure with its cost
    assert "spend_column" not in channels["Radio_Spend"]
    assert channels["SocialPosts"]["organic"] is True
    assert set(channels) == {"TV_GRPs", "Email", "Radio_Spend", "SocialPosts"}
    assert formula.factors == ("Holiday",)
    controls = set(formula.columns) - set(channels) - {"Holiday"}
    assert controls == {"Competitor_Revenue", "Price_Index"}
    assert "'index': a row number, not data" in text


def test_kpi_empty_at_the_ends_sets_the_window(tmp_path: Path) -> None:
    code, text, config, check = init(plan_rows(tmp_path), tmp_path)
    assert code == 0, [p.render() for p in check.problems]
    assert check.ok
    assert str(config["data"]["start"]) == _weeks("2023-01-02", 70)[4]
    assert str(config["data"]["end"]) == _weeks("2023-01-02", 70)[-7]
    assert "guessed: the fitting window" in text
    assert parse_formula(config["model"]["formula"]).response == "sales"
    assert set(media(config)) == {"tv_spend", "search_spend"}


def test_names_a_formula_cannot_hold_are_listed(tmp_path: Path) -> None:
    code, _, config, check = init(spaced_daily(tmp_path), tmp_path)
    assert code == 0, [p.render() for p in check.problems]
    assert check.ok
    model = config["model"]
    assert "formula" not in model
    assert model["kpi"] == "Net Sales"
    assert set(media(config)) == {"TV Spend", "Search Spend"}
    assert model["controls"] == ["Avg Price", {"name": "Store Type", "type": "categorical"}]
    assert config["data"]["frequency"] == "daily"
    assert model["seasonality"] == [{"order": 2}, {"period": 7, "order": 2}]


def test_short_file_has_no_yearly_seasonality(tmp_path: Path) -> None:
    code, text, config, check = init(short_weekly(tmp_path), tmp_path)
    assert code == 0, [p.render() for p in check.problems]
    assert check.ok
    formula = parse_formula(config["model"]["formula"])
    assert formula.response == "orders"
    assert "season" not in formula.terms
    assert config["model"]["seasonality"] == []
    assert "less than a year" in text
    assert "# kpi_value: 1.0" in text  # orders are units: the value per order is a hint
    assert all(m["adstock"]["l_max"] < 30 for m in config["model"]["media"])


def test_semicolon_file_is_refused_with_the_reason(tmp_path: Path) -> None:
    data = tmp_path / "semi.csv"
    data.write_text("date;revenue;tv\n2024-01-01;10,5;3\n2024-01-08;11,2;4\n")
    result = CliRunner().invoke(app, ["init", "--data", str(data), "-o", str(tmp_path / "s.yaml")])
    assert result.exit_code == 2
    assert "separated by ';'" in result.stderr
    assert not (tmp_path / "s.yaml").exists()


@pytest.mark.parametrize(
    ("columns", "kpi"),
    [
        (["competitor_sales_B", "y", "tv_S"], "y"),
        (["revenue_per_conversion", "total_revenue", "tv_spend"], "total_revenue"),
        (["Sales_Index", "revenue_usd", "search_cost"], "revenue_usd"),
        (["sales_spend", "price", "Orders"], "Orders"),
        (["market_sales", "units", "search_clicks"], "units"),
        (["tv", "price", "footfall"], "footfall"),  # no KPI name: not media, not price
    ],
)
def test_kpi_prefers_kpi_names_and_never_media(columns: list[str], kpi: str) -> None:
    rng = np.random.default_rng(8)
    values = {c: np.round(rng.uniform(1, 100, 20), 2) for c in columns}
    frame = pd.DataFrame({"date": _weeks("2024-01-01", 20), **values})
    assert classify(frame).kpi == kpi


def test_an_events_column_is_a_category_not_a_group() -> None:
    frame = pd.DataFrame(
        {
            "date": _weeks("2024-01-01", 30),
            "sales": np.arange(30.0) + 100,
            "tv": np.arange(30.0),
            "events": ["na"] * 25 + ["event1"] * 3 + ["event2"] * 2,
        }
    )
    cols = classify(frame)
    assert cols.group is None
    assert cols.factors == ("events",)


def test_dates_in_a_column_without_header_are_quoted(tmp_path: Path) -> None:
    """pandas writes a date index with an empty header: the dates are 'Unnamed: 0'."""
    rng = np.random.default_rng(9)
    n = 60
    frame = pd.DataFrame(
        {"sales": np.round(rng.uniform(900, 1100, n), 2), "tv": _spend(rng, n, 100, 0.7)},
        index=pd.date_range("2023-01-02", periods=n, freq="7D"),
    )
    data = tmp_path / "dated_index.csv"
    frame.to_csv(data)
    code, text, config, check = init(data, tmp_path)
    assert code == 0, [p.render() for p in check.problems]
    assert check.ok
    assert config["data"]["date_column"] == "Unnamed: 0"
    assert 'date_column: "Unnamed: 0"' in text


@pytest.mark.parametrize(
    ("columns", "channel", "skipped"),
    [
        (["tv_S", "tv_I"], ("tv_I", "tv_S"), None),
        (["tv_grps", "tv"], ("tv_grps", "tv"), None),
        (["email", "email_cost"], ("email", "email_cost"), None),
        (["search_clicks_P", "search_S"], ("search_clicks_P", "search_S"), None),
        (
            ["Channel0_impression", "Channel0_spend"],
            ("Channel0_impression", "Channel0_spend"),
            None,
        ),
        (["spend_tv", "impressions_tv"], ("impressions_tv", "spend_tv"), None),
        (["tvSpend", "tvImpressions"], ("tvImpressions", "tvSpend"), None),
        (["tv", "tv_grps", "tv_spend"], ("tv_grps", "tv_spend"), "tv"),
        (["display_imps_usd", "display_cost_usd"], ("display_imps_usd", "display_cost_usd"), None),
    ],
)
def test_exposure_is_paired_with_its_spend(
    columns: list[str], channel: tuple[str, str], skipped: str | None
) -> None:
    rng = np.random.default_rng(10)
    values = {c: np.round(rng.uniform(1, 100, 20), 2) for c in columns}
    frame = pd.DataFrame(
        {"date": _weeks("2024-01-01", 20), "revenue": 1.0 + np.arange(20), **values}
    )
    cols = classify(frame)
    assert [(m.name, m.spend) for m in cols.media] == [channel]
    assert cols.controls == ()
    assert list(cols.skipped) == ([skipped] if skipped else [])


REPO = Path(__file__).resolve().parents[2]


def test_long_panel_is_read_as_long_with_the_wide_panel_roles(tmp_path: Path) -> None:
    wide_dir, long_dir = tmp_path / "wide", tmp_path / "long"
    wide_dir.mkdir()
    long_dir.mkdir()
    wide_csv, long_csv = wide_dir / "panel.csv", long_dir / "panel_long.csv"
    wide_csv.write_bytes((REPO / "data" / "panel.csv").read_bytes())
    long_csv.write_bytes((REPO / "data" / "panel_long.csv").read_bytes())
    _, _, wide, wide_check = init(wide_csv, wide_dir)
    code, text, config, check = init(long_csv, long_dir)
    assert code == 0, [p.render() for p in check.problems]
    assert check.ok
    assert wide_check.ok
    assert config["data"]["format"] == "long"
    assert config["data"]["variable_column"] == "VariableName"
    assert config["data"]["value_column"] == "VariableValue"
    assert config["data"]["dimensions"] == ["Geography"]
    assert config["data"]["group_column"] == "Geography"
    assert "guessed: long data" in text
    long_formula = parse_formula(config["model"]["formula"])
    wide_formula = parse_formula(wide["model"]["formula"])
    assert long_formula.response == wide_formula.response == "sales"
    assert media(config) == media(wide)
    assert [p.group for p in long_formula.parts] == ["Geography"]
    assert [p.group for p in wide_formula.parts] == ["market"]
    assert set(long_formula.columns) == set(wide_formula.columns)


def test_shuffled_long_single_market_validates(tmp_path: Path) -> None:
    wide = pd.read_csv(REPO / "data" / "single_market.csv")
    flat = wide.melt(id_vars="date", var_name="variable", value_name="value")
    flat = flat.sample(frac=1.0, random_state=7).reset_index(drop=True)
    path = tmp_path / "single_market_long.csv"
    flat.to_csv(path, index=False)
    code, _, config, check = init(path, tmp_path)
    assert code == 0, [p.render() for p in check.problems]
    assert check.ok
    assert config["data"]["format"] == "long"
    assert "dimensions" not in config["data"]
    assert "group_column" not in config["data"]
    assert parse_formula(config["model"]["formula"]).response == "revenue"
    assert {"tv", "search"} <= set(media(config))


def test_a_wide_file_with_a_text_column_stays_wide(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    n = 60
    frame = pd.DataFrame(
        {
            "date": _weeks("2022-01-03", n),
            "campaign": rng.choice(["spring", "summer", "none"], n),
            "sales": np.round(rng.normal(5e4, 2e3, n), 2),
            "tv": _spend(rng, n, 5e3, 0.6),
        }
    )
    assert classify(frame).long is None
    path = tmp_path / "wide_text.csv"
    frame.to_csv(path, index=False)
    _, text, config, _ = init(path, tmp_path)
    assert "format" not in config["data"]
    assert "long data" not in text
    assert parse_formula(config["model"]["formula"]).response == "sales"
