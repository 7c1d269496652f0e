"""Regressions: bugs found while testing the real-world data features, each now fixed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from .test_window_and_terms import _check, _design, _errors, _frame

ORGANIC = "  kpi: kpi\n  seasonality: []\n  media: [tv, {name: news, organic: true}]"


def _organic_frame() -> pd.DataFrame:
    # tv spends ~100 a week; news sends ~1000 a week (exposure, not money).
    rng = np.random.default_rng(1)
    return _frame(
        40, tv=np.round(100 + rng.normal(0, 5, 40), 2), news=np.round(1000 + rng.normal(0, 10, 40))
    )


def test_budget_check_ignores_organic_sends_for_a_feasible_total(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Paid spend of the last 4 weeks is ~400; with default_change 0.5 the paid minimum is
    # ~200, below the total 300: the run's optimiser (paid channels only) accepts it.
    result = _check(
        tmp_path, monkeypatch, _organic_frame(), ORGANIC + "\nbudget: {horizon: 4, total: 300}"
    )
    assert result.ok, _errors(result)


def test_budget_check_refuses_a_total_above_the_paid_maximums(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The paid maximum is ~600, far below 3000: `mmm run` raises OptimisationError.
    result = _check(
        tmp_path, monkeypatch, _organic_frame(), ORGANIC + "\nbudget: {horizon: 4, total: 3000}"
    )
    assert any(loc == "budget" and "infeasible" in body for loc, body in _errors(result))


def test_categorical_messages_quote_plain_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    single = _check(
        tmp_path,
        monkeypatch,
        _frame(30, events=["na"] * 30),
        "  formula: kpi ~ tv + factor(events)",
    )
    assert "has a single level ('na')" in single.errors[0].message
    late = ["na", "sale"] * 14 + ["late", "late"]
    held = _check(
        tmp_path,
        monkeypatch,
        _frame(30, events=late),
        "  formula: kpi ~ tv + factor(events)",
        ", holdout: 3",
    )
    assert held.errors[0].message.startswith("level 'late' occurs only in held-out rows")


def test_warm_up_value_is_shown_plainly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = _frame(30)
    frame.loc[1, "tv"] = -3.0
    result = _check(
        tmp_path, monkeypatch, frame, "  kpi: kpi\n  media: [tv]", ", start: 2022-02-07"
    )
    assert result.errors[0].value == "-3.0"


def test_unknown_reference_is_located_at_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _check(
        tmp_path,
        monkeypatch,
        _frame(30, events=["na", "sale", "launch"] * 10),
        "  formula: kpi ~ tv + events\n"
        "  controls: [{name: events, type: categorical, reference: promo}]",
    )
    assert [p.location for p in result.errors] == ["model.controls[0].reference"]


def test_an_integer_reference_of_integer_coded_levels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _check(
        tmp_path,
        monkeypatch,
        _frame(25, wave=[1, 2, 3, 1, 1] * 5),
        "  formula: kpi ~ tv + wave\n  media: [{name: tv, adstock: {type: none}}]\n"
        "  controls: [{name: wave, type: categorical, reference: 2}]",
    )
    design = _design(result)
    assert [(c.name, c.reference) for c in design.columns if c.term == "wave"] == [
        ("wave[1]", "2"),
        ("wave[3]", "2"),
    ]


def test_a_missing_kpi_value_column_is_located_at_kpi_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _check(
        tmp_path,
        monkeypatch,
        _frame(30),
        "  kpi: kpi\n  media: [tv]\n  seasonality: []\n  kpi_value: rpc",
    )
    assert [p.location for p in result.errors] == ["model.kpi_value"]


def test_non_positive_kpi_values_in_a_column_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rpc = [45.0] * 30
    rpc[4], rpc[9] = 0.0, -12.0
    result = _check(
        tmp_path,
        monkeypatch,
        _frame(30, rpc=rpc),
        "  kpi: kpi\n  media: [tv]\n  seasonality: []\n  kpi_value: rpc",
    )
    assert any(loc == "d.csv:rpc:row 5, 10" for loc, _ in _errors(result)), _errors(result)


def test_default_holidays_leave_out_those_only_in_held_out_periods(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Fitted to 2022-10-03: Columbus Day, Veterans Day, Thanksgiving, Christmas 2022 and
    # New Year 2023 fall only in the 20 held-out weeks (named, each would be an error).
    result = _check(
        tmp_path,
        monkeypatch,
        _frame(60),
        "  formula: kpi ~ tv + calendar\n  media: [tv]\n  calendar: {country: US}",
        ", holdout: 20",
    )
    design = _design(result)
    empty = [
        c.name
        for j, c in enumerate(design.columns)
        if c.term == "holidays" and not design.x_raw[design.fitted, j].any()
    ]
    assert empty == []


def test_held_out_level_check_on_a_file_not_in_date_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = ["na", "sale"] * 14 + ["late", "late"]  # 'late': the two latest weeks
    frame = _frame(30, events=events).iloc[::-1]  # newest first: accepted with a warning
    result = _check(
        tmp_path, monkeypatch, frame, "  formula: kpi ~ tv + factor(events)", ", holdout: 3"
    )
    assert any("occurs only in held-out rows" in body for _, body in _errors(result)), _errors(
        result
    )


def test_size_check_counts_each_level_of_a_categorical_term(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 24 rows; 20 levels give 19 dummies: alpha, sigma, tv, 19 levels, 3 transform
    # parameters = 25 free parameters, more than the rows.
    events = [f"e{i % 20:02d}" for i in range(24)]
    result = _check(
        tmp_path,
        monkeypatch,
        _frame(24, events=events),
        "  formula: kpi ~ tv + factor(events)\n  media: [{name: tv, adstock: {l_max: 4}}]",
    )
    assert any(
        loc == "model" and "cannot identify the model" in body for loc, body in _errors(result)
    )
