"""Model mistakes and false alarms: each mistake ends in exit 2 with its YAML path (or
``file:column:row``) and what to do; things that are fine raise no alarm.

- the KPI as a media channel, control or spend column; a channel or spend listed twice;
- priors whose arguments make the density, its mean or its spread unusable;
- seasonalities the data cannot show (period longer than the data, under two rows,
  aliasing orders, harmonics shared by two seasonalities);
- Stan failing to initialise: the message quotes Stan's reasons from its console files;
- `mmm compare-runs` with no run folder to compare;
- stacked panels in any group order, collinearity over thousands of columns, and no
  warnings on data that already failed.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from mmm_runner import constants
from mmm_runner.backend import fit
from mmm_runner.cli.main import app
from mmm_runner.config import notation
from mmm_runner.config.loader import load_config
from mmm_runner.config.resolve import resolve
from mmm_runner.data.checks import check_data, collinear_pairs
from mmm_runner.errors import SamplingError
from mmm_runner.validation import Validation, validate

# --- helpers -----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Data locations are shown relative to the working folder: data.csv:column:row."""
    monkeypatch.chdir(tmp_path)


def _weekly(n: int = 60, seed: int = 1) -> pd.DataFrame:
    """One market: revenue driven by tv and search, with a price control."""
    rng = np.random.default_rng(seed)
    tv = rng.uniform(1000, 8000, n)
    search = rng.uniform(500, 3000, n)
    price = rng.normal(1.0, 0.05, n)
    revenue = 50_000 + 3 * tv + 5 * search - 20_000 * price + rng.normal(0, 2000, n)
    dates = pd.date_range("2022-01-03", periods=n, freq="W-MON").strftime("%Y-%m-%d")
    return pd.DataFrame(
        {"date": dates, "revenue": revenue, "tv": tv, "search": search, "price": price}
    )


def _panel(order: str) -> pd.DataFrame:
    """Markets 'a' and 'b', 30 weeks each, stacked b-then-a or interleaved by date."""
    parts = {g: _weekly(30, seed=i).assign(market=g) for i, g in enumerate(("a", "b"))}
    if order == "b_then_a":
        return pd.concat([parts["b"], parts["a"]], ignore_index=True)
    interleaved = pd.concat([parts["a"], parts["b"]]).sort_values("date", kind="stable")
    return interleaved.reset_index(drop=True)


def _write(tmp_path: Path, model: dict[str, Any], frame: pd.DataFrame, **extra: Any) -> Path:
    frame.to_csv(tmp_path / "data.csv", index=False)
    config: dict[str, Any] = {"name": "mistake", "data": {"path": "data.csv"}, "model": model}
    for key, value in extra.items():
        if key == "data":
            config["data"].update(value)
        else:
            config[key] = value
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _errors_at(result: Validation, location: str) -> list[str]:
    return [f"{p.message} | fix: {p.fix}" for p in result.errors if p.location == location]


def _refused(config: Path, location: str, phrase: str) -> None:
    """`mmm validate` exits 2 naming the location and the phrase, without a traceback."""
    result = CliRunner().invoke(app, ["validate", "--config", str(config)])
    assert result.exit_code == constants.EXIT_CONFIG, result.output
    assert "Traceback" not in result.output
    assert f"{location} (line" in result.stderr, result.stderr
    assert phrase in " ".join(result.stderr.split()), result.stderr
    found = _errors_at(validate(config), location)
    assert any(phrase in text for text in found), found


# --- the KPI and the channels --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "location", "phrase"),
    [
        (
            {"kpi": "revenue", "media": ["tv", "revenue"]},
            "model.media[1].name",
            "'revenue' is the KPI (model.kpi) and cannot also be a media channel",
        ),
        (
            {"kpi": "revenue", "media": ["tv"], "controls": ["price", "revenue"]},
            "model.controls[1].name",
            "'revenue' is the KPI (model.kpi) and cannot also be a control",
        ),
        (
            {"formula": "revenue ~ tv + revenue", "media": ["tv"]},
            "model.formula",
            "the KPI 'revenue' cannot also be a term",
        ),
        (
            {"kpi": "revenue", "media": ["tv", {"name": "search", "spend_column": "revenue"}]},
            "model.media[1].spend_column",
            "spend column 'revenue' of channel 'search' is the KPI",
        ),
        (
            {
                "formula": "revenue ~ tv + search",
                "media": [{"name": "tv", "spend_column": "revenue"}, "search"],
            },
            "model.media[0].spend_column",
            "spend column 'revenue' of channel 'tv' is the KPI",
        ),
    ],
    ids=["kpi_as_media", "kpi_as_control", "kpi_in_formula", "spend_is_kpi", "formula_spend"],
)
def test_the_kpi_cannot_explain_itself_in_any_form(
    tmp_path: Path, model: dict[str, Any], location: str, phrase: str
) -> None:
    _refused(_write(tmp_path, model, _weekly()), location, phrase)


@pytest.mark.parametrize(
    ("model", "location", "phrase"),
    [
        ({"kpi": "revenue", "media": ["tv", "search", "tv"]}, "model", "listed twice"),
        ({"formula": "revenue ~ tv + search + tv", "media": ["tv"]}, "model.formula", "twice"),
        (
            {"kpi": "revenue", "media": ["tv", {"name": "search", "spend_column": "tv"}]},
            "model.media[1].spend_column",
            "both have spend 'tv': it would be counted twice in ROI and budgets",
        ),
        (
            {"kpi": "revenue", "media": [{"name": "search", "spend_column": "tv"}, "tv"]},
            "model.media[0].spend_column",
            "both have spend 'tv'",
        ),
    ],
    ids=["media_twice", "formula_twice", "spend_twice", "spend_is_other_channel"],
)
def test_a_channel_or_its_spend_listed_twice(
    tmp_path: Path, model: dict[str, Any], location: str, phrase: str
) -> None:
    _refused(_write(tmp_path, model, _weekly()), location, phrase)


# --- priors --------------------------------------------------------------------------------------

DEGENERATE = [
    ("tv ~ beta(1e308, 1e-308)", "argument beta = 1e-308 is below 1e-08"),
    ("tv ~ normal(0, 1e-320)", "its sd (1e-320) is below 1e-08"),
    ("tv ~ gamma(1e300, 1e-300)", "its mean is not a finite number"),
    ("tv ~ normal(inf, 1)", "normal argument mu must be finite"),
    ("tv ~ normal(0, 1e400)", "normal argument sigma must be finite"),
    ("tv ~ student_t(0, 0, 1)", "student_t argument nu must be > 0"),
    ("tv ~ student_t(1e-20, 0, 1)", "argument nu = 1e-20 is below 1e-08"),
    ("tv ~ beta(1e308, 1)", "its sd (0) is below 1e-08"),
    ("tv ~ lognormal(800, 1)", "its mean is not a finite number"),
    ("tv ~ lognormal(0, 30)", "its sd is not a finite number"),
    ("tv ~ exponential(1e-320)", "its mean is not a finite number"),
    ("tv ~ half_normal(1e-200)", "is below 1e-08"),
    ("tv ~ half_cauchy(1e-9)", "its scale (1e-09) is below 1e-08"),
    ("tv ~ uniform(-1e308, 1e308)", "its sd is not a finite number"),
    ("tv ~ uniform(0, 1e-300)", "is below 1e-08"),
    ("tv ~ normal(1e9, 1e-4)", "its sd (0.0001) is below 0.001"),
]


@pytest.mark.parametrize(("prior", "phrase"), DEGENERATE, ids=[p for p, _ in DEGENERATE])
def test_degenerate_priors_are_refused_at_their_yaml_path(
    tmp_path: Path, prior: str, phrase: str
) -> None:
    model = {"kpi": "revenue", "media": ["tv", "search"], "seasonality": []}
    priors = ["search ~ normal(0, 2)", prior]
    config = _write(tmp_path, model, _weekly(), priors=priors)
    _refused(config, "priors[1]", phrase)


def test_a_degenerate_transform_prior_is_refused_where_it_is_written(tmp_path: Path) -> None:
    adstock = {"type": "geometric", "priors": {"decay": "beta(1, 1e-12)"}}
    model = {"kpi": "revenue", "media": [{"name": "tv", "adstock": adstock}, "search"]}
    _refused(
        _write(tmp_path, model, _weekly()),
        "model.media[0].adstock",
        "priors.decay: beta(1, 1e-12) is degenerate",
    )


@pytest.mark.parametrize(
    "text",
    [
        "normal(0, 1e-7)",
        "normal(1e9, 1)",  # tight far from zero, yet thousands of doubles wide
        "gamma(2, 1e-9)",  # wide
        "beta(0.5, 0.5)",
        "student_t(3, 0, 2.5)",
        "half_cauchy(2.5)",
        "lognormal(-5, 2)",
        "uniform(-1e6, 1e6)",
        "exponential(1e-6)",
    ],
)
def test_unusual_but_usable_priors_still_parse(text: str) -> None:
    assert notation.parse_distribution(text).family == text.split("(")[0]


def test_centre_and_spread_are_the_distributions_moments() -> None:
    stats = pytest.importorskip("scipy.stats")
    cases = {
        "normal(1, 2)": stats.norm(1, 2),
        "lognormal(0.5, 0.4)": stats.lognorm(0.4, scale=np.exp(0.5)),
        "gamma(3, 2)": stats.gamma(3, scale=1 / 2),
        "beta(2, 5)": stats.beta(2, 5),
        "exponential(4)": stats.expon(scale=1 / 4),
        "half_normal(1.5)": stats.halfnorm(scale=1.5),
        "uniform(-1, 3)": stats.uniform(-1, 4),
    }
    for text, frozen in cases.items():
        centre, spread = notation.centre_and_spread(notation.parse_distribution(text))
        assert centre == pytest.approx(frozen.mean(), rel=1e-12), text
        assert spread == pytest.approx(frozen.std(), rel=1e-12), text


# --- seasonality ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "model", "location", "phrase"),
    [
        (
            60,
            {"kpi": "revenue", "media": ["tv"], "seasonality": [{"period": 61, "order": 1}]},
            "model.seasonality[0].period",
            "period 61 is longer than the 60 fitted periods of the data",
        ),
        (
            40,
            {"kpi": "revenue", "media": ["tv"]},
            "model.seasonality",
            "the default yearly period (52.1775 rows at weekly frequency) is longer than the "
            "40 fitted periods",
        ),
        (
            40,
            {"formula": "revenue ~ tv + season", "media": ["tv"]},
            "model.seasonality",
            "or drop `season` from model.formula",
        ),
        (
            40,
            {"kpi": "revenue", "media": ["tv"], "seasonality": [{"order": 1}]},
            "model.seasonality[0]",
            "the default yearly period (52.1775 rows",
        ),
        (
            60,
            {"kpi": "revenue", "media": ["tv"], "seasonality": [{"period": 1.5, "order": 1}]},
            "model.seasonality[0].period",
            "period 1.5 is shorter than two rows",
        ),
        (
            60,
            {"kpi": "revenue", "media": ["tv"], "seasonality": [{"period": 8, "order": 4}]},
            "model.seasonality",
            "order 4 is too high for period 8: needs 2 × order < period",
        ),
        (
            60,
            {
                "kpi": "revenue",
                "media": ["tv"],
                "seasonality": [{"period": 26, "order": 2}, {"period": 13, "order": 1}],
            },
            "model.seasonality[1].period",
            "harmonic 1 of period 13 is harmonic 2 of period 26",
        ),
    ],
    ids=[
        "longer_than_data",
        "default_year_on_40_weeks",
        "formula_season_on_40_weeks",
        "entry_without_period",
        "under_two_rows",
        "aliasing",
        "shared_harmonic",
    ],
)
def test_seasonality_the_data_cannot_show_is_refused(
    tmp_path: Path, rows: int, model: dict[str, Any], location: str, phrase: str
) -> None:
    _refused(_write(tmp_path, model, _weekly(rows)), location, phrase)


def test_a_year_of_weekly_rows_shows_the_default_yearly_season(tmp_path: Path) -> None:
    # 52 rows of a 52.18-row year: the whole cycle is seen.
    result = validate(_write(tmp_path, {"kpi": "revenue", "media": ["tv"]}, _weekly(52)))
    assert result.ok, [p.render() for p in result.errors]


def test_holdout_rows_do_not_count_towards_the_cycle(tmp_path: Path) -> None:
    model = {"kpi": "revenue", "media": ["tv"], "seasonality": [{"period": 50, "order": 1}]}
    config = _write(tmp_path, model, _weekly(60), data={"holdout": 13})
    found = _errors_at(validate(config), "model.seasonality[0].period")
    assert any("longer than the 47 fitted periods" in text for text in found), found


# --- Stan cannot initialise ---------------------------------------------------------------------

REJECTION = (
    "Rejecting initial value:\n"
    "  Log probability evaluates to log(0), i.e. negative infinity.\n"
    "  Stan can't start sampling from this initial value.\n"
)
SCALE_ZERO = (
    "Rejecting initial value:\n"
    "  Error evaluating the log probability at the initial value.\n"
    "Exception: normal_lpdf: Scale parameter is 0, but must be positive! "
    "(in '/home/u/.cache/mmm/blm.stan', line 30, column 2 to column 30)\n"
)
GAVE_UP = (
    "\nInitialization between (-2, 2) failed after 100 attempts. \n"
    " Try specifying initial values, reducing ranges of constrained values, or "
    "reparameterizing the model.\n"
    "Error: Initialization failed.\n"
)


def _console(folder: Path, body: str, name: str = "blm-20260101120000_1-stdout.txt") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("method = sample (Default)\n" + body)
    return path


def _cmdstanpy_error(console: Path | None, errors: str = "Error: Initialization failed.") -> str:
    """What cmdstanpy raises when sampling fails: only the console's Error lines, then
    the run set's description naming chain 1's console file."""
    text = f"Error during sampling:\n{errors}\nCommand and output files:\nRunSet: chains=4\n"
    if console is not None:
        text += f" console_msgs (if any):\n\t{console}\n"
    return text + "Consider re-running with show_console=True if the above output is unclear!"


def test_failed_initialisation_quotes_stans_reasons_from_the_console(tmp_path: Path) -> None:
    console = _console(tmp_path / "stan_csv", REJECTION * 60 + SCALE_ZERO * 40 + GAVE_UP)
    error = fit._failure("MCMC sampling", RuntimeError(_cmdstanpy_error(console)))
    assert isinstance(error, SamplingError)
    assert constants.exit_code(error) == constants.EXIT_SAMPLING
    lines = error.message.splitlines()
    assert lines[0] == (
        "MCMC sampling failed: Stan found no starting point where the model can be "
        "evaluated. Stan says:"
    )
    assert lines[1:] == [
        "Rejecting initial value: Log probability evaluates to log(0), i.e. negative "
        "infinity. (60 times)",
        "Exception: normal_lpdf: Scale parameter is 0, but must be positive! "
        "(in 'blm.stan', line 30, column 2 to column 30) (40 times)",
        "Initialization between (-2, 2) failed after 100 attempts.",
    ]
    assert "RunSet" not in error.message
    assert "show_console" not in error.message
    assert str(console) in error.hint
    assert "a scale of 0" in error.hint


def test_failed_initialisation_finds_the_console_in_the_output_folder(tmp_path: Path) -> None:
    # The exception names no console file: the fit's output folder holds them.
    folder = tmp_path / "stan_csv"
    for chain in (1, 2):
        _console(folder, REJECTION * 3 + GAVE_UP, f"blm-20260101120000_{chain}-stdout.txt")
    error = fit._failure("Pathfinder", RuntimeError(_cmdstanpy_error(None)), folder)
    assert "Rejecting initial value: Log probability evaluates to log(0)" in error.message
    assert "(3 times)" in error.message  # the same reason in two files is listed once
    assert error.message.count("Rejecting initial value") == 1


def test_stans_exception_in_the_error_text_is_used_as_is(tmp_path: Path) -> None:
    text = _cmdstanpy_error(
        None, "Exception: mmm_blm_model: N is -1, but must be greater than or equal to 0"
    )
    error = fit._failure("MCMC sampling", RuntimeError(text), tmp_path)
    assert error.message.splitlines()[1:] == [
        "Exception: mmm_blm_model: N is -1, but must be greater than or equal to 0"
    ]


def test_a_failed_map_start_reports_stans_reason(tmp_path: Path) -> None:
    class Refusing:
        def optimize(self, **_: Any) -> None:
            raise RuntimeError(
                "Error during optimization! Command 'blm method=optimize ...' failed: "
                "console log output:\n\n" + SCALE_ZERO * 2 + GAVE_UP
            )

    _, result, message = fit._optimize_once(Refusing(), {}, 7, 1.0, False, tmp_path)
    assert result is None
    assert message.startswith("Exception: normal_lpdf: Scale parameter is 0")
    assert "Initialization between (-2, 2) failed" in message


# --- compare-runs with nothing to compare ------------------------------------------------------


def _run_folder(folder: Path) -> Path:
    meta = folder / "00_run_metadata"
    meta.mkdir(parents=True)
    manifest = {"status": "completed", "name": "m", "model_class": "blm", "fit_method": "map"}
    (meta / constants.MANIFEST).write_text(json.dumps(manifest))
    config = {"name": "m", "model": {"formula": "y ~ tv"}, "fit": {"method": "map"}}
    (meta / constants.CONFIG_RESOLVED).write_text(yaml.safe_dump(config))
    return folder


@pytest.mark.parametrize(
    ("case", "phrase"),
    [
        ("not_a_run", "no run folder to compare"),
        ("a_file", "is not a folder"),
        ("nothing", "no runs to compare"),
        ("latest_without_runs", "no runs in"),
        ("results_folder", "holds run folders: name them"),
        ("glob_without_matches", "no run folder matches"),
        ("negative_latest", "--latest must be a number of runs"),
    ],
)
def test_compare_runs_without_a_run_exits_2(tmp_path: Path, case: str, phrase: str) -> None:
    results = tmp_path / "results"
    results.mkdir()
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("not a run")
    _run_folder(tmp_path / "archive" / "20260101-000000_m")
    args = {
        "not_a_run": [str(tmp_path / "empty")],
        "a_file": [str(tmp_path / "notes.txt")],
        "nothing": [],
        "latest_without_runs": ["--latest", "2", "--results", str(results)],
        "results_folder": [str(tmp_path / "archive")],
        "glob_without_matches": [str(tmp_path / "nowhere_*")],
        "negative_latest": ["--latest=-1"],
    }[case]
    out = tmp_path / "comparison"
    result = CliRunner().invoke(app, ["compare-runs", *args, "-o", str(out), "--no-plots"])
    assert result.exit_code == constants.EXIT_CONFIG, result.output
    assert phrase in " ".join(result.stderr.split())
    assert "Traceback" not in result.output
    assert not out.exists()  # nothing is written


def test_compare_runs_still_lists_a_non_run_beside_a_real_one(tmp_path: Path) -> None:
    run = _run_folder(tmp_path / "20260101-000000_m")
    (tmp_path / "empty").mkdir()
    out = tmp_path / "comparison"
    args = ["compare-runs", str(run), str(tmp_path / "empty"), "-o", str(out), "--no-plots"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "not a run folder" in result.stderr
    assert (out / "comparison.csv").is_file()


# --- false alarms: panel order ------------------------------------------------------------------


@pytest.mark.parametrize("order", ["b_then_a", "interleaved"])
def test_a_panel_in_any_group_order_is_in_date_order(tmp_path: Path, order: str) -> None:
    model = {"class": "hierarchical", "kpi": "revenue", "media": ["tv", "search"]}
    model |= {"controls": ["price"], "seasonality": [], "hierarchical": {"varying": ["tv"]}}
    config = _write(tmp_path, model, _panel(order), data={"group_column": "market"})
    result = validate(config)
    assert result.ok, [p.render() for p in result.errors]
    assert not [p for p in result.problems if "date order" in p.message]
    assert result.frame is not None
    for _, part in result.frame.groupby("market"):
        assert part["date"].is_monotonic_increasing


def test_rows_out_of_order_within_a_group_are_named(tmp_path: Path) -> None:
    data = _panel("b_then_a")
    data.loc[[3, 4]] = data.loc[[4, 3]].to_numpy()  # market b: weeks 4 and 5 swapped
    model = {"class": "hierarchical", "kpi": "revenue", "media": ["tv", "search"]}
    model |= {"seasonality": [], "hierarchical": {"varying": ["tv"]}}
    config = _write(tmp_path, model, data, data={"group_column": "market"})
    result = validate(config)
    assert result.ok, [p.render() for p in result.errors]
    warned = [p for p in result.warnings if "date order" in p.message]
    assert [p.location for p in warned] == ["data.csv:date:row 5"]
    assert "not in date order within a group" in warned[0].message


def test_a_single_series_out_of_order_is_still_warned_about(tmp_path: Path) -> None:
    data = _weekly().iloc[::-1].reset_index(drop=True)
    model = {"kpi": "revenue", "media": ["tv", "search"], "seasonality": []}
    result = validate(_write(tmp_path, model, data))
    assert result.ok, [p.render() for p in result.errors]
    assert any("not in date order" in p.message for p in result.warnings)


# --- false alarms: collinearity ---------------------------------------------------------------


def test_collinearity_over_3000_controls_takes_well_under_two_seconds(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    rows, width = 200, 3000
    data = _weekly(rows)
    controls = pd.DataFrame(
        rng.normal(size=(rows, width)), columns=[f"c{i}" for i in range(width)]
    )
    controls["c2999"] = 2 * controls["c17"] + rng.normal(0, 0.01, rows)  # a planted pair
    data = pd.concat([data, controls], axis=1)
    model = {"kpi": "revenue", "media": ["tv"], "controls": list(controls.columns)}
    config = _write(tmp_path, model, data)
    loaded = load_config(config)
    spec, problems = resolve(loaded.config, loaded)
    assert spec is not None
    assert not problems
    started = time.perf_counter()
    checked = check_data(data, loaded, spec, tmp_path / "data.csv")
    seconds = time.perf_counter() - started
    assert seconds < 2.0, f"data checks took {seconds:.2f} s"
    collinear = [p for p in checked.problems if "collinear" in p.message]
    assert [p.location for p in collinear] == ["data.csv:c17+c2999"]
    assert "terms are strongly collinear (correlation 1.00)" in collinear[0].message


def test_collinear_pairs_match_numpys_correlations() -> None:
    rng = np.random.default_rng(5)
    values = rng.normal(size=(50, 700))
    values[:, 650] = -values[:, 3] + rng.normal(0, 0.05, 50)
    values[:, 600] = values[:, 599] * 3 + 1
    values[:, 10] = 4.0  # constant: correlates with nothing, and no warning from numpy
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pairs = collinear_pairs(values, 0.9)
    corr = np.corrcoef(np.delete(values, 10, axis=1), rowvar=False)
    expected = int((np.abs(np.triu(corr, k=1)) >= 0.9).sum())
    assert len(pairs) == expected == 2
    assert [(i, j) for i, j, _ in pairs] == [(599, 600), (3, 650)]
    assert pairs[1][2] == pytest.approx(np.corrcoef(values[:, 3], values[:, 650])[0, 1])


def test_many_collinear_pairs_are_summarised(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    data = _weekly(80)
    base = rng.normal(size=80)
    for i in range(8):  # 8 near-copies: 28 pairs
        data[f"x{i}"] = base + rng.normal(0, 0.01, 80)
    model = {"kpi": "revenue", "media": ["tv"], "controls": [f"x{i}" for i in range(8)]}
    result = validate(_write(tmp_path, model, data))
    collinear = [p for p in result.warnings if "collinear" in p.message]
    assert len(collinear) == 11  # ten pairs one by one, then one line for the other 18
    assert collinear[-1].message.startswith("18 more pairs of terms are strongly collinear")


@pytest.mark.parametrize(
    ("damage", "location"),
    [
        ("text", "data.csv:search:row 4"),
        ("gap", "data.csv:search:row 4"),
        ("missing_column", "model.controls[0].name"),
    ],
)
def test_no_warnings_after_a_fatal_data_error(tmp_path: Path, damage: str, location: str) -> None:
    data = _weekly(80).astype({"search": object})
    data["tv_copy"] = data["tv"] * 2  # collinear with tv
    data.loc[2:73, "search"] = 0.0  # zero in 90% of periods
    if damage == "text":
        data.loc[3, "search"] = "12 EUR"
    elif damage == "gap":
        data.loc[3, "search"] = None
    controls = ["price"] if damage != "missing_column" else ["weather"]
    model = {"kpi": "revenue", "media": ["tv", "search", "tv_copy"], "controls": controls}
    result = validate(_write(tmp_path, model, data))
    assert [p.location for p in result.errors] == [location]
    assert result.warnings == []


def test_the_same_data_without_damage_gets_its_warnings(tmp_path: Path) -> None:
    data = _weekly(80)
    data["tv_copy"] = data["tv"] * 2
    data.loc[2:73, "search"] = 0.0
    model = {"kpi": "revenue", "media": ["tv", "search", "tv_copy"], "controls": ["price"]}
    result = validate(_write(tmp_path, model, data))
    assert result.ok, [p.render() for p in result.errors]
    found = {(p.location, p.message.split(":")[0]) for p in result.warnings}
    assert ("data.csv:tv+tv_copy", "media are strongly collinear (correlation 1.00)") in found
    assert ("data.csv:search", "zero in 90% of periods") in found
