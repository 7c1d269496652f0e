"""The shipped weekly_events example against its truth: window, categorical term,
organic channel, holidays and a KPI value, through the whole pipeline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from .conftest import ROOT, run_config

pytestmark = pytest.mark.stan
TRUTH: dict[str, Any] = json.loads((ROOT / "data" / "weekly_events_truth.json").read_text())


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_config(ROOT / "config" / "weekly_events.yaml", tmp_path_factory.mktemp("we"))


def _summary(run: Path) -> pd.DataFrame:
    return pd.read_csv(run / "20_model_fit" / "posterior_summary.csv").set_index("parameter")


def _covers(row: pd.Series, value: float) -> bool:
    return bool(row["q05"] <= value <= row["q95"])


def test_the_fit_uses_only_the_window(run: Path) -> None:
    fitted = pd.read_csv(run / "30_post_run" / "fitted_values.csv")
    window = TRUTH["window"]
    assert len(fitted) == 156
    assert (fitted["date"].min(), fitted["date"].max()) == (window["start"], window["end"])
    gates = pd.read_csv(run / "40_diagnostics" / "gates.csv").set_index("check")
    assert gates.loc["rhat", "value"] < 1.01
    assert gates.loc["divergences", "status"] == "pass"


def test_media_effects_and_money_roi_are_recovered(run: Path) -> None:
    summary = _summary(run)
    for name in ("tv", "search", "newsletter"):
        assert _covers(summary.loc[name], TRUTH["media"][name]["beta"]), name
    roi = pd.read_csv(run / "30_post_run" / "roi.csv").set_index("channel")
    for name in ("tv", "search"):
        row = roi.loc[name]
        assert bool(row["paid"])
        assert row["roi_q05"] <= TRUTH["media"][name]["roi"] <= row["roi_q95"], name
        # ROI is money per unit of spend: the contribution valued row by row.
        assert row["roi"] == pytest.approx(row["contribution_value"] / row["spend"], rel=0.05)


def test_the_organic_channel_has_a_contribution_but_no_roi_or_budget(run: Path) -> None:
    roi = pd.read_csv(run / "30_post_run" / "roi.csv").set_index("channel")
    row = roi.loc["newsletter"]
    assert not bool(row["paid"])
    assert row["spend"] == 0
    assert pd.isna(row["roi"])
    truth = TRUTH["media"]["newsletter"]["total_contribution"]
    assert row["contribution_q05"] <= truth <= row["contribution_q95"]
    allocation = pd.read_csv(run / "60_optimisation" / "allocation.csv")
    assert list(allocation["channel"]) == ["tv", "search"]


def test_categorical_levels_and_holidays_are_recovered(run: Path) -> None:
    summary = _summary(run)
    for level, effect in TRUTH["events"]["levels"].items():
        row = summary.loc[f"events[{level}]"]
        assert row["unit"] == "KPI vs events=na"
        assert _covers(row, effect), level
    for name, effect in TRUTH["holidays"]["effects"].items():
        assert _covers(summary.loc[f"holidays[{name}]"], effect), name
    totals = pd.read_csv(run / "30_post_run" / "decomp_totals.csv")
    assert {"events", "holidays"} <= set(totals["term"])


def test_carry_over_from_before_the_window_is_in_its_first_weeks(run: Path) -> None:
    """TV is dark in the window's first two weeks: their TV effect is the warm-up burst's."""
    rows = pd.read_csv(run / "30_post_run" / "decomp_timeseries.csv")
    tv = rows[rows["term"] == "tv"].set_index("date").iloc[:4]
    lines = pd.read_csv(ROOT / "data" / "weekly_events_contributions.csv")
    truth = lines[lines["term"] == "tv"].set_index("date").loc[tv.index, "contribution"]
    assert (tv["q05"].iloc[:2] > 0).all()
    assert tv["mean"].sum() == pytest.approx(truth.sum(), rel=0.25)


GEO: dict[str, Any] = json.loads((ROOT / "data" / "geo_population_truth.json").read_text())


def test_a_per_capita_panel_is_recovered_and_reported_in_totals(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    run = run_config(ROOT / "config" / "geo_population.yaml", tmp_path_factory.mktemp("geo"))
    summary = _summary(run)
    gates = pd.read_csv(run / "40_diagnostics" / "gates.csv").set_index("check")
    assert gates.loc["rhat", "value"] < 1.01
    roi = pd.read_csv(run / "30_post_run" / "roi.csv")
    overall = roi[roi["group"] == "all"].set_index("channel")
    for name, truth in GEO["media"].items():
        row = summary.loc[name]
        assert row["unit"] == "KPI per capita at full saturation"
        assert _covers(row, truth["beta_per_person"]), name
        # Totals, not per-person numbers: within 15% of the true contribution.
        total = overall.loc[name, "contribution"]
        assert total == pytest.approx(truth["total_contribution"], rel=0.15), name
        assert overall.loc[name, "spend"] == pytest.approx(truth["total_spend"])
    fitted = pd.read_csv(run / "30_post_run" / "fitted_values.csv")
    assert fitted["fitted"].sum() == pytest.approx(GEO["kpi_total"], rel=0.01)
    allocation = pd.read_csv(run / "60_optimisation" / "allocation.csv")
    assert allocation["contribution_current"].min() > 1_000  # totals over 13 weeks
