"""Categorical terms, the fitting window and the calendar, on small generated files.

Every input is written to ``tmp_path``; expected values are computed here from the
generated frame (counts, shifted series, hand-picked dates), not by the code under test.
"""

from __future__ import annotations

import collections
import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mmm_runner.analysis.effects import media_curves
from mmm_runner.analysis.posterior import Posterior
from mmm_runner.config.formula import FormulaError, parse_formula
from mmm_runner.data.calendar import CalendarError, holiday_dates, indicator
from mmm_runner.data.design import Design, build_design, lag_matrices
from mmm_runner.model import transforms
from mmm_runner.model.stan_data import layout
from mmm_runner.validation import Validation, validate

START = "2022-01-03"  # a Monday


# --------------------------------------------------------------------------- helpers


def _frame(n: int, seed: int = 1, **columns: Any) -> pd.DataFrame:
    """A weekly series: KPI, two media channels and any extra columns."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "date": pd.date_range(START, periods=n, freq="7D").strftime("%Y-%m-%d"),
            "kpi": np.round(1000 + rng.normal(0, 50, n), 2),
            "tv": np.round(rng.uniform(50, 150, n), 2),
            "radio": np.round(rng.uniform(5, 20, n), 2),
        }
    )
    for name, values in columns.items():
        frame[name] = values
    return frame


def _check(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    frame: pd.DataFrame,
    model: str,
    data: str = "",
    name: str = "c.yaml",
) -> Validation:
    """Writes d.csv and a config (``model`` is the indented body of model:), validates."""
    monkeypatch.chdir(tmp_path)  # data locations are shown relative to the working folder
    frame.to_csv(tmp_path / "d.csv", index=False)
    config = tmp_path / name
    config.write_text(f"name: t\ndata: {{path: d.csv{data}}}\nmodel:\n{model}\n")
    return validate(config)


def _design(result: Validation) -> Design:
    assert result.ok, [p.render() for p in result.errors]
    assert result.loaded is not None
    assert result.spec is not None
    assert result.frame is not None
    return build_design(result.frame, result.loaded.config, result.spec)


def _errors(result: Validation) -> list[tuple[str, str]]:
    return [(p.location, f"{p.message} | fix: {p.fix}") for p in result.errors]


def _has(result: Validation, location: str, text: str) -> bool:
    return any(loc == location and text in body for loc, body in _errors(result))


def _column(design: Design, name: str) -> np.ndarray:
    names = [c.name for c in design.columns]
    assert name in names, names
    return design.x_raw[:, names.index(name)]


# --------------------------------------------------------------------------- factor()


def test_factor_terms_columns_and_factors() -> None:
    parsed = parse_formula("log(sales) ~ tv + factor(events) + price + factor( wave ) + trend")
    assert parsed.response == "sales"
    assert parsed.log_response
    assert parsed.terms == ("tv", "events", "price", "wave", "trend")
    assert parsed.factors == ("events", "wave")
    assert parsed.columns == ("tv", "events", "price", "wave")


def test_a_column_named_factor_is_a_plain_term() -> None:
    parsed = parse_formula("kpi ~ factor + tv")
    assert parsed.terms == ("factor", "tv")
    assert parsed.factors == ()


def test_factor_with_a_space_before_the_parenthesis() -> None:
    parsed = parse_formula("kpi ~ tv + factor (events)")
    assert parsed.terms == ("tv", "events")
    assert parsed.factors == ("events",)


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("kpi ~ tv + factor(0)", "factor() takes a data column, not '0'", "factor"),
        ("kpi ~ tv + factor(trend)", "factor() takes a data column, not 'trend'", "factor"),
        ("kpi ~ tv + factor(calendar)", "not 'calendar'", "factor"),
        ("kpi ~ tv + factor(events", "expected ')'", None),
        ("kpi ~ tv + factor()", "expected a term name", ")"),
        ("kpi ~ (factor(events) | market)", "in the group part", "(events"),
        ("kpi ~ factor(events) + (events | market)", "categorical term 'events' cannot vary", ""),
        ("kpi ~ factor(kpi)", "the KPI 'kpi' cannot also be a term", ""),
    ],
)
def test_factor_errors_point_into_the_text(text: str, message: str, column: str | None) -> None:
    with pytest.raises(FormulaError) as caught:
        parse_formula(text)
    assert message in caught.value.message
    if column is None:  # at the end of the text
        expected = len(text)
    elif column == "":  # errors about the whole right-hand side point at its start
        expected = text.index("~") + 1
    else:
        expected = text.index(column)
    assert caught.value.column == expected


def test_factor_of_a_media_channel_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _check(
        tmp_path, monkeypatch, _frame(30), "  formula: kpi ~ factor(tv)\n  media: [tv]"
    )
    assert _has(result, "model.formula", "'tv' is a media channel; factor() applies to controls")


def test_factor_of_a_control_with_a_sign_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = ["na", "sale"] * 15
    result = _check(
        tmp_path,
        monkeypatch,
        _frame(30, events=events),
        "  formula: kpi ~ tv + factor(events)\n  controls: [{name: events, sign: positive}]",
    )
    assert _has(result, "model.controls", "factor(events) is categorical, but its entry sets sign")


# --------------------------------------------------------------------------- dummy coding


def test_default_reference_is_the_most_frequent_level_in_the_fitted_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Fitted rows (the first 14): 8 × na, 6 × sale; the 6 held-out rows are all sale,
    # so over the whole file sale (12) outnumbers na (8) but the reference is na.
    events = ["na", "sale"] * 6 + ["na", "na"] + ["sale"] * 6
    fitted_counts = collections.Counter(events[:14])
    assert fitted_counts["na"] > fitted_counts["sale"]
    assert collections.Counter(events)["sale"] > collections.Counter(events)["na"]
    result = _check(
        tmp_path,
        monkeypatch,
        _frame(20, events=events),
        "  formula: kpi ~ tv + factor(events)\n  media: [{name: tv, adstock: {type: none}}]",
        ", holdout: 6",
    )
    design = _design(result)
    dummies = [c for c in design.columns if c.term == "events"]
    assert [(c.name, c.reference) for c in dummies] == [("events[sale]", "na")]
    np.testing.assert_array_equal(
        _column(design, "events[sale]"), [1.0 if e == "sale" else 0.0 for e in events]
    )


def test_ties_for_the_reference_are_broken_alphabetically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # b and a both occur 10 times, c 4 times: the reference is a.
    events = ["b", "a"] * 10 + ["c"] * 4
    result = _check(
        tmp_path,
        monkeypatch,
        _frame(24, events=events),
        "  formula: kpi ~ tv + factor(events)\n  media: [{name: tv, adstock: {type: none}}]",
    )
    design = _design(result)
    dummies = [c for c in design.columns if c.term == "events"]
    assert [(c.name, c.reference) for c in dummies] == [("events[b]", "a"), ("events[c]", "a")]
    for level in ("b", "c"):
        expected = [1.0 if e == level else 0.0 for e in events]
        np.testing.assert_array_equal(_column(design, f"events[{level}]"), expected)


def test_an_explicit_reference_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events = ["na"] * 10 + ["sale"] * 6 + ["launch"] * 4
    result = _check(
        tmp_path,
        monkeypatch,
        _frame(20, events=events),
        "  kpi: kpi\n  media: [{name: tv, adstock: {type: none}}]\n  seasonality: []\n"
        "  controls: [{name: events, type: categorical, reference: sale}]",
    )
    assert result.spec is not None
    assert result.spec.categorical == {"events": "sale"}
    design = _design(result)
    dummies = [(c.name, c.term, c.reference) for c in design.columns if c.term == "events"]
    assert dummies == [("events[launch]", "events", "sale"), ("events[na]", "events", "sale")]
    np.testing.assert_array_equal(
        _column(design, "events[na]"), [1.0 if e == "na" else 0.0 for e in events]
    )
    assert result.summary["terms"][:2] == ["tv", "factor(events)"]


@pytest.mark.parametrize("written", ["int", "float"])
def test_integer_coded_levels_are_named_without_decimals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, written: str
) -> None:
    wave = [1, 2, 3, 1, 1] * 5
    values = [float(w) for w in wave] if written == "float" else wave  # CSV: "1.0" or "1"
    result = _check(
        tmp_path,
        monkeypatch,
        _frame(25, wave=values),
        "  formula: kpi ~ tv + factor(wave)\n  media: [{name: tv, adstock: {type: none}}]",
    )
    if written == "float":
        assert "1.0" in (tmp_path / "d.csv").read_text()
    design = _design(result)
    dummies = [(c.name, c.reference) for c in design.columns if c.term == "wave"]
    assert dummies == [("wave[2]", "1"), ("wave[3]", "1")]
    np.testing.assert_array_equal(_column(design, "wave[3]"), [float(w == 3) for w in wave])


def test_an_integer_coded_reference_given_as_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wave = [1, 2, 3, 1, 1] * 5
    result = _check(
        tmp_path,
        monkeypatch,
        _frame(25, wave=wave),
        "  formula: kpi ~ tv + wave\n  media: [{name: tv, adstock: {type: none}}]\n"
        "  controls: [{name: wave, type: categorical, reference: '3'}]",
    )
    design = _design(result)
    dummies = [(c.name, c.reference) for c in design.columns if c.term == "wave"]
    assert dummies == [("wave[1]", "3"), ("wave[2]", "3")]


# --------------------------------------------------------------------------- categorical checks


def test_missing_category_is_located_at_its_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str | None] = ["na", "sale"] * 15
    events[5] = None
    events[11] = None
    result = _check(
        tmp_path, monkeypatch, _frame(30, events=events), "  formula: kpi ~ tv + factor(events)"
    )
    assert _has(result, "d.csv:events:row 6, 12", "category is missing")


def test_a_single_level_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _check(
        tmp_path,
        monkeypatch,
        _frame(30, events=["na"] * 30),
        "  formula: kpi ~ tv + events\n  controls: [{name: events, type: categorical}]",
    )
    assert _has(result, "model.controls[0].name", "categorical 'events' has a single level")


def test_more_than_fifty_levels_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = [f"l{i % 51}" for i in range(102)]
    result = _check(
        tmp_path, monkeypatch, _frame(102, events=events), "  formula: kpi ~ tv + factor(events)"
    )
    assert _has(result, "model.formula", "categorical 'events' has 51 levels (more than 50)")


def test_fifty_levels_are_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events = [f"l{i % 50}" for i in range(150)]
    result = _check(
        tmp_path, monkeypatch, _frame(150, events=events), "  formula: kpi ~ tv + factor(events)"
    )
    assert not any("levels" in body for _, body in _errors(result)), _errors(result)


def test_an_unknown_reference_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _check(
        tmp_path,
        monkeypatch,
        _frame(30, events=["na", "sale", "launch"] * 10),
        "  formula: kpi ~ tv + events\n"
        "  controls: [{name: events, type: categorical, reference: promo}]",
    )
    found = [(loc, body) for loc, body in _errors(result) if "reference level 'promo'" in body]
    assert len(found) == 1, _errors(result)
    location, body = found[0]
    assert location.startswith("model.controls[0]")
    assert "does not occur in 'events'" in body
    assert "choose one of: launch, na, sale" in body


def test_a_level_only_in_held_out_rows_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = ["na", "sale"] * 14 + ["late", "late"]
    result = _check(
        tmp_path,
        monkeypatch,
        _frame(30, events=events),
        "  formula: kpi ~ tv + factor(events)",
        ", holdout: 3",
    )
    assert _has(result, "d.csv:events:row 29, 30", "occurs only in held-out rows")


def test_text_in_a_numeric_control_gets_factor_advice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = ["na", "sale"] * 15
    result = _check(
        tmp_path, monkeypatch, _frame(30, events=events), "  formula: kpi ~ tv + events"
    )
    errors = [(loc, body) for loc, body in _errors(result) if loc.startswith("d.csv:events")]
    assert len(errors) == 1, _errors(result)
    location, body = errors[0]
    assert location == "d.csv:events:row 1, 2, 3, 4, 5 and 25 more"
    assert "the control holds text ('na', 'sale', ...)" in body
    assert "write factor(events) in model.formula" in body


def test_a_few_text_values_in_a_control_are_a_plain_number_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    price: list[Any] = [str(1 + i / 100) for i in range(30)]
    price[7] = "1.2 EUR"
    result = _check(tmp_path, monkeypatch, _frame(30, price=price), "  formula: kpi ~ tv + price")
    assert _has(result, "d.csv:price:row 8", "value is not a number")
    assert not any("factor(" in body for _, body in _errors(result))


# --------------------------------------------------------------------------- the window


WINDOW_MODEL = (
    "  kpi: kpi\n  seasonality: []\n  media:\n"
    "    - {name: tv, adstock: {type: geometric, l_max: 3}, saturation: {type: hill}}\n"
    "    - {name: radio, adstock: {type: geometric, l_max: 5}, saturation: {type: hill}}"
)


def test_a_window_starting_after_the_data_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = _frame(30)
    result = _check(tmp_path, monkeypatch, frame, WINDOW_MODEL, ", start: 2023-06-05")
    last = frame["date"].iloc[-1]
    assert _has(result, "data.start", f"after the data's last date ({last})")


def test_a_window_ending_before_the_data_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _check(tmp_path, monkeypatch, _frame(30), WINDOW_MODEL, ", end: 2021-12-27")
    assert _has(result, "data.end", f"before the data's first date ({START})")


def test_start_must_come_before_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _check(
        tmp_path, monkeypatch, _frame(30), WINDOW_MODEL, ", start: 2022-03-07, end: 2022-03-07"
    )
    assert any("must come before end" in p.message for p in result.errors)


@pytest.mark.parametrize(("value", "shown"), [("", "nan"), ("-3", "-3")])
def test_bad_warm_up_media_are_located(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, shown: str
) -> None:
    frame = _frame(30).astype({"radio": object})
    frame.loc[1, "radio"] = value  # data row 2, before the window
    result = _check(tmp_path, monkeypatch, frame, WINDOW_MODEL, ", start: 2022-02-07")
    assert _has(result, "d.csv:radio:row 2", "media of a warm-up row (before data.start)")
    assert len(result.errors) == 1, _errors(result)
    assert shown in str(result.errors[0].value)


def test_warm_up_kpi_and_rows_after_the_end_are_not_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = _frame(30).astype({"kpi": object})
    frame.loc[0, "kpi"] = ""  # a warm-up row: its KPI is not used
    frame.loc[28, "kpi"] = "n/a"  # after data.end: dropped
    result = _check(
        tmp_path, monkeypatch, frame, WINDOW_MODEL, ", start: 2022-01-31, end: 2022-07-04"
    )
    design = _design(result)
    assert str(design.dates[0].date()) == "2022-01-31"
    assert str(design.dates[-1].date()) == "2022-07-04"
    assert result.summary["date_range"] == ["2022-01-31", "2022-07-04"]


def _full_and_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, frame: pd.DataFrame, window: str, **kw: str
) -> tuple[Design, Design]:
    data = f", group_column: {kw['group']}" if "group" in kw else ""
    model = WINDOW_MODEL + kw.get("extra", "")
    full = _design(_check(tmp_path, monkeypatch, frame, model, data, name="full.yaml"))
    win = _design(_check(tmp_path, monkeypatch, frame, model, data + window, name="win.yaml"))
    return full, win


def test_a_windowed_design_has_only_the_window_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = _frame(30)
    full, win = _full_and_window(
        tmp_path, monkeypatch, frame, ", start: 2022-02-14, end: 2022-06-13, holdout: 2"
    )
    dates = pd.DatetimeIndex(frame["date"])
    inside = (dates >= pd.Timestamp("2022-02-14")) & (dates <= pd.Timestamp("2022-06-13"))
    assert list(win.dates) == list(dates[inside])
    np.testing.assert_array_equal(win.kpi, frame["kpi"][inside])
    np.testing.assert_array_equal(win.media, frame[["tv", "radio"]][inside])
    assert win.fitted.tolist() == [True] * (inside.sum() - 2) + [False] * 2
    # The warm-up: the longest l_max (5) - 1 = 4 periods before the start, per group.
    assert win.warmup is not None
    before = frame[["tv", "radio"]].to_numpy()[dates < pd.Timestamp("2022-02-14")]
    np.testing.assert_array_equal(win.warmup, before[-4:][None, :, :])
    # The trend counts from the window's start.
    np.testing.assert_array_equal(_column(win, "trend"), np.arange(inside.sum()))
    assert full.warmup is None
    assert full.n_rows == 30


@pytest.mark.parametrize("start", ["2022-01-17", "2022-03-07"])  # 2 or 9 rows to warm up
def test_lag_matrices_of_a_window_match_the_full_series(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start: str
) -> None:
    frame = _frame(30)
    full, win = _full_and_window(
        tmp_path, monkeypatch, frame, f", start: {start}, end: 2022-06-27"
    )
    first = list(full.dates).index(pd.Timestamp(start))
    rows = slice(first, first + win.n_rows)
    assert list(full.dates[rows]) == list(win.dates)
    window = 5  # the longest l_max
    # Scales are learnt from each design's fitted rows: compare the unscaled media.
    expected = lag_matrices(full, window) * full.media_scale[:, None, None]
    found = lag_matrices(win, window) * win.media_scale[:, None, None]
    np.testing.assert_allclose(found, expected[:, rows, :], rtol=1e-12)
    # And by hand: lag l of row t is the media l periods earlier (zero before the file).
    media = frame[["tv", "radio"]].to_numpy()
    for lag in range(window):
        for t in range(win.n_rows):
            source = first + t - lag
            want = media[source] if source >= 0 else np.zeros(2)
            np.testing.assert_allclose(found[:, t, lag], want, rtol=1e-12)


def test_lag_matrices_of_a_windowed_panel_match_each_groups_full_series(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    north, south = _frame(20, seed=2), _frame(20, seed=3)
    north.insert(1, "market", "north")
    south.insert(1, "market", "south")
    frame = pd.concat([south, north], ignore_index=True)
    full, win = _full_and_window(
        tmp_path,
        monkeypatch,
        frame,
        ", start: 2022-02-21",
        group="market",
        extra="\n  class: hierarchical",
    )
    assert win.group_names == full.group_names  # (sorted by the checks)
    assert set(win.group_names) == {"north", "south"}
    assert win.warmup is not None
    assert win.warmup.shape == (2, 4, 2)
    window = 5
    expected = lag_matrices(full, window) * full.media_scale[:, None, None]
    found = lag_matrices(win, window) * win.media_scale[:, None, None]
    keep = np.asarray(full.dates >= pd.Timestamp("2022-02-21"))
    np.testing.assert_allclose(found, expected[:, keep, :], rtol=1e-12)
    parts = {"north": north, "south": south}
    for g, name in enumerate(win.group_names):
        part = parts[name]
        before = part[["tv", "radio"]].to_numpy()[
            pd.DatetimeIndex(part["date"]) < pd.Timestamp("2022-02-21")
        ]
        np.testing.assert_array_equal(win.warmup[g], before[-4:])


def test_media_curves_of_a_window_carry_the_warm_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = _frame(30)
    start = "2022-02-14"
    result = _check(
        tmp_path, monkeypatch, frame, WINDOW_MODEL, f", start: {start}, end: 2022-06-27"
    )
    win = _design(result)
    assert result.spec is not None
    spec = result.spec
    names = layout(win, spec)
    assert names.theta == (
        "tv.adstock.decay",
        "tv.saturation.half_saturation",
        "tv.saturation.shape",
        "radio.adstock.decay",
        "radio.saturation.half_saturation",
        "radio.saturation.shape",
    )
    theta = np.array([[0.5, 0.8, 1.5, 0.3, 1.2, 2.0], [0.7, 1.1, 0.9, 0.6, 0.5, 1.0]])
    draws = len(theta)
    post = Posterior.single(
        np.zeros(draws), np.zeros((draws, 2)), theta, np.ones(draws), n_chains=1
    )
    curves = media_curves(post, win, spec, names)
    assert curves.shape == (draws, 2, win.n_rows)
    dates = pd.DatetimeIndex(frame["date"])
    first = int(np.argmax(dates >= pd.Timestamp(start)))
    media = frame[["tv", "radio"]].to_numpy()
    for i, (l_max, p) in enumerate(((3, 0), (5, 3))):
        series = media[:, i] / win.media_scale[i]  # the whole file on the window's scale
        expected = transforms.transform(
            series,
            "geometric",
            {"decay": theta[:, p]},
            "hill",
            {"half_saturation": theta[:, p + 1], "shape": theta[:, p + 2]},
            l_max,
        )[:, first : first + win.n_rows]
        np.testing.assert_allclose(curves[:, i, :], expected, rtol=1e-10)
    # Without the warm-up the first period would lose its carry-over.
    cold = transforms.transform(
        media[first:, 0] / win.media_scale[0],
        "geometric",
        {"decay": theta[:, 0]},
        "hill",
        {"half_saturation": theta[:, 1], "shape": theta[:, 2]},
        3,
    )
    assert np.all(curves[:, 0, 0] > cold[:, 0])


# --------------------------------------------------------------------------- calendar


def test_indicator_marks_the_week_containing_a_date() -> None:
    weeks = pd.DatetimeIndex(pd.date_range("2022-11-07", periods=5, freq="7D"))  # Mondays
    days = [
        dt.date(2022, 11, 24),  # Thursday of the week from 11-21
        dt.date(2022, 11, 14),  # the Monday itself
        dt.date(2022, 11, 6),  # the Sunday before the first week: not in the data
        dt.date(2022, 12, 11),  # Sunday, last day of the last week (12-05..12-11)
        dt.date(2022, 12, 12),  # the day after the last week
    ]
    np.testing.assert_array_equal(indicator(weeks, "weekly", days), [0, 1, 1, 0, 1])


def test_indicator_marks_the_month_and_the_day() -> None:
    months = pd.DatetimeIndex(["2022-01-01", "2022-02-01", "2022-03-01"])
    days = [dt.date(2022, 2, 14), dt.date(2022, 3, 31), dt.date(2021, 12, 31)]
    np.testing.assert_array_equal(indicator(months, "monthly", days), [0, 1, 1])
    np.testing.assert_array_equal(indicator(months, "monthly", [dt.date(2022, 4, 1)]), [0, 0, 0])
    daily = pd.DatetimeIndex(pd.date_range("2022-12-23", periods=5, freq="D"))
    marked = indicator(daily, "daily", [dt.date(2022, 12, 25), dt.date(2022, 12, 28)])
    np.testing.assert_array_equal(marked, [0, 0, 1, 0, 0])


def test_holiday_dates_drop_observed_days() -> None:
    found = holiday_dates("US", None, [2022, 2023])
    assert not any("observed" in name for name in found)
    # 2022-12-25 was a Sunday (observed on the 26th); 2023-01-01 too (observed on the 2nd).
    assert found["Christmas Day"] == [dt.date(2022, 12, 25), dt.date(2023, 12, 25)]
    assert found["New Year's Day"] == [dt.date(2022, 1, 1), dt.date(2023, 1, 1)]
    assert found["Thanksgiving Day"] == [dt.date(2022, 11, 24), dt.date(2023, 11, 23)]
    every = [day for days in found.values() for day in days]
    assert dt.date(2022, 12, 26) not in every
    assert dt.date(2023, 1, 2) not in every


def test_holiday_dates_of_a_subdivision() -> None:
    # Cesar Chavez Day is a California holiday, not a federal one.
    california = holiday_dates("US", "CA", [2022])
    federal = holiday_dates("US", None, [2022])
    extra = set(california) - set(federal)
    assert extra
    assert all(name not in federal for name in extra)


def test_holiday_dates_of_an_unknown_country() -> None:
    with pytest.raises(CalendarError, match="no holiday calendar for country 'XX'"):
        holiday_dates("XX", None, [2022])


def _calendar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, calendar: str, data: str = "", n: int = 60
) -> Validation:
    return _check(
        tmp_path,
        monkeypatch,
        _frame(n),
        f"  formula: kpi ~ tv + calendar\n  media: [tv]\n  calendar: {calendar}",
        data,
    )


def test_unknown_country_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _calendar(tmp_path, monkeypatch, "{country: XX}")
    assert _has(result, "model.calendar.country", "no holiday calendar for country 'XX'")


def test_unknown_subdivision_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _calendar(tmp_path, monkeypatch, "{country: US, subdivision: ZZ}")
    assert _has(result, "model.calendar.subdivision", "US has no subdivision 'ZZ'")


def test_unknown_holiday_name_gets_a_suggestion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _calendar(
        tmp_path, monkeypatch, "{country: US, holidays: [Christmas Day, Thanksgivng]}"
    )
    assert _has(result, "model.calendar.holidays[1]", "US has no holiday named 'Thanksgivng'")
    assert _has(result, "model.calendar.holidays[1]", "did you mean 'Thanksgiving Day'")
    assert len(result.errors) == 1, _errors(result)


def test_a_holiday_outside_the_fitted_periods_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 60 weeks from 2022-01-03, the last 20 held out: fitted up to 2022-10-03, so
    # Thanksgiving 2022 (11-24) falls only in held-out periods.
    result = _calendar(
        tmp_path, monkeypatch, "{country: US, holidays: [Thanksgiving Day]}", ", holdout: 20"
    )
    assert _has(result, "model.calendar.holidays[0]", "falls in none of the fitted periods")


def test_a_holiday_in_the_warm_up_only_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Independence Day 2022 (07-04) lies before the window, 2023's after the data.
    result = _calendar(
        tmp_path,
        monkeypatch,
        "{country: US, holidays: [Independence Day]}",
        ", start: 2022-08-01",
    )
    assert _has(result, "model.calendar.holidays[0]", "falls in none of the fitted periods")


def test_an_event_outside_the_fitted_periods_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _calendar(
        tmp_path,
        monkeypatch,
        "{events: [{name: sale, dates: [2022-03-02]}, {name: late, dates: [2025-05-01]}]}",
    )
    assert _has(result, "model.calendar.events[1].dates", "event 'late' falls in none")
    assert _has(result, "model.calendar.events[1].dates", "(2022-01-03 to 2023-02-20)")
    assert len(result.errors) == 1, _errors(result)


def test_calendar_in_the_formula_needs_model_calendar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _check(
        tmp_path, monkeypatch, _frame(60), "  formula: kpi ~ tv + calendar\n  media: [tv]"
    )
    assert _has(result, "model.formula", "model.formula has `calendar` but model.calendar is not")


def test_model_calendar_needs_calendar_in_the_formula(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _check(
        tmp_path,
        monkeypatch,
        _frame(60),
        "  formula: kpi ~ tv\n  media: [tv]\n"
        "  calendar: {events: [{name: sale, dates: [2022-03-02]}]}",
    )
    assert _has(result, "model.calendar", "model.formula has no `calendar` term")


def test_calendar_columns_of_the_design(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _check(
        tmp_path,
        monkeypatch,
        _frame(60),
        "  kpi: kpi\n  media: [tv]\n  seasonality: []\n  calendar:\n    country: US\n"
        "    holidays: [Christmas Day, Independence Day]\n"
        "    events: [{name: sale, dates: [2022-03-02, 2022-11-30]}, {name: outage, "
        "dates: [2022-06-06]}]",
    )
    design = _design(result)
    calendar = [(c.name, c.term) for c in design.columns if c.term != "trend"]
    assert calendar == [
        ("holidays[Christmas Day]", "holidays"),
        ("holidays[Independence Day]", "holidays"),
        ("calendar_events[sale]", "calendar_events"),
        ("calendar_events[outage]", "calendar_events"),
    ]

    def marked(name: str) -> list[str]:
        return [str(d.date()) for d in design.dates[_column(design, name) == 1.0]]

    # Weeks start on Mondays: Christmas 2022 (Sunday) is in the week from 12-19.
    assert marked("holidays[Christmas Day]") == ["2022-12-19"]
    assert marked("holidays[Independence Day]") == ["2022-07-04"]
    assert marked("calendar_events[sale]") == ["2022-02-28", "2022-11-28"]
    assert marked("calendar_events[outage]") == ["2022-06-06"]
    assert result.spec is not None
    assert {"holidays", "calendar_events"} <= set(result.spec.coefficients)


def test_default_holidays_are_those_in_the_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 20 weeks from 2022-01-03 to 2022-05-16: New Year's Day 2022 (a Saturday) is before
    # the first week, so only MLK Day and Washington's Birthday fall in the data.
    result = _calendar(tmp_path, monkeypatch, "{country: US}", n=20)
    design = _design(result)
    names = [c.name for c in design.columns if c.term == "holidays"]
    assert names == ["holidays[Martin Luther King Jr. Day]", "holidays[Washington's Birthday]"]
    assert _column(design, "holidays[Martin Luther King Jr. Day]").tolist()[:3] == [0, 0, 1]
