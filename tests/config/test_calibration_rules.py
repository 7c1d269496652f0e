"""Lift tests without a compiler: what validate refuses (located), and the lag matrices
the programs receive (the test's change and its carry-over, nothing else)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from mmm_runner import classes
from mmm_runner.data.design import build_design, lag_matrices
from mmm_runner.model import calibration
from mmm_runner.validation import Validation, validate

ROOT = Path(__file__).resolve().parents[2]
TEST = {
    "channel": "search",
    "start": "2024-03-04",
    "end": "2024-03-25",
    "measured_until": "2024-04-15",
    "spend_change": 4000.0,
    "lift": 9000.0,
    "se": 1500.0,
}


def _config(tmp_path: Path, shipped: str, test: dict[str, Any], edit: Any = None) -> Path:
    config = yaml.safe_load((ROOT / "config" / shipped).read_text())
    config["data"]["path"] = str(ROOT / "data" / Path(config["data"]["path"]).name)
    config["calibration"] = {"lift_tests": [test]}
    if edit:
        edit(config)
    path = tmp_path / "calibrated.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False, width=1000))
    return path


def _errors(result: Validation) -> list[tuple[str, str]]:
    return [(p.location, p.message) for p in result.errors]


@pytest.mark.parametrize(
    ("shipped", "change", "where", "message"),
    [
        (
            "single_market.yaml",
            {"channel": "podcast"},
            "calibration.lift_tests[0].channel",
            "not a media channel",
        ),
        ("single_market.yaml", {"se": 0}, "calibration.lift_tests[0].se", "greater than 0"),
        (
            "single_market.yaml",
            {"end": "2024-02-01"},
            "calibration.lift_tests[0]",
            "`end` is before `start`",
        ),
        (
            "single_market.yaml",
            {"spend_change": 0},
            "calibration.lift_tests[0]",
            "changed nothing",
        ),
        (
            "single_market.yaml",
            {"start": "2019-01-07"},
            "calibration.lift_tests[0].start",
            "not all inside",
        ),
        (
            "single_market.yaml",
            {"measured_until": "2031-01-06"},
            "calibration.lift_tests[0].measured_until",
            "not all inside",
        ),
        (
            "single_market.yaml",
            {"spend_change": -1e9},
            "calibration.lift_tests[0].spend_change",
            "the test removes",
        ),
        ("single_market.yaml", {"group": "north"}, "calibration.lift_tests[0].group", "no groups"),
        ("single_market_log.yaml", {}, "calibration.lift_tests", "not yet a log-response model"),
        (
            "panel_hierarchical.yaml",
            {},
            "calibration.lift_tests[0].group",
            "names its group (market)",
        ),
        (
            "panel_hierarchical.yaml",
            {"group": "nort"},
            "calibration.lift_tests[0].group",
            "'nort' is not in",
        ),
        (
            "weekly_events.yaml",
            {"channel": "newsletter"},
            "calibration.lift_tests[0].channel",
            "organic",
        ),
    ],
)
def test_mistakes_are_located(
    tmp_path: Path, shipped: str, change: dict[str, Any], where: str, message: str
) -> None:
    result = validate(_config(tmp_path, shipped, {**TEST, **change}))
    located = [m for loc, m in _errors(result) if loc == where]
    assert any(message in m for m in located), _errors(result)


def _setup(path: Path) -> tuple[Any, Any]:
    result = validate(path)
    assert result.ok, _errors(result)
    assert result.spec is not None
    assert result.loaded is not None
    assert result.frame is not None
    return result.spec, build_design(result.frame, result.loaded.config, result.spec)


@pytest.mark.parametrize(
    ("shipped", "group"), [("single_market.yaml", None), ("panel_hierarchical.yaml", "north")]
)
def test_lag_matrices_carry_the_change_and_nothing_else(
    tmp_path: Path, shipped: str, group: str | None
) -> None:
    spec, design = _setup(_config(tmp_path, shipped, {**TEST, "group": group}))
    data = classes.get(spec.model_class).stan_data(design, spec)
    [placed] = calibration.place(design, spec)
    assert data["n_tests"] == 1
    assert data["test_group"] == [placed.group + 1]
    assert design.group_names[placed.group] == (group or "all")
    assert len(placed.changed) == 4  # four Mondays in the window
    assert len(placed.measured) == 7  # and three weeks after it
    window = data["L"]
    base = lag_matrices(design, window)[placed.channel][placed.measured]
    np.testing.assert_allclose(data["test_lag_without"], base)
    extra = data["test_lag_with"] - data["test_lag_without"]
    # the extra media (spend change / 4 per week, over the media scale) at every lag it
    # reaches: lag l of measured week i holds week i - l's extra
    per_week = TEST["spend_change"] / 4 / design.media_scale[placed.channel]
    for i in range(7):
        for lag in range(window):
            inside = 0 <= i - lag < 4
            assert extra[i, lag] == pytest.approx(per_week if inside else 0.0)
    assert data["test_lift"] == [pytest.approx(TEST["lift"] / design.y_sd)]
    assert data["test_se"] == [pytest.approx(TEST["se"] / design.y_sd)]


def test_a_config_without_tests_gives_empty_fields(tmp_path: Path) -> None:
    result = validate(ROOT / "config" / "single_market.yaml")
    assert result.spec is not None
    assert result.loaded is not None
    assert result.frame is not None
    design = build_design(result.frame, result.loaded.config, result.spec)
    data = classes.get("blm").stan_data(design, result.spec)
    assert data["n_tests"] == 0
    assert data["test_lag_with"].shape == (0, data["L"])


@pytest.mark.parametrize(
    ("shipped", "priors", "where", "message"),
    [
        (
            "single_market.yaml",
            [{"channel": "podcast", "prior": "lognormal(0, 1)"}],
            "calibration.roi_priors[0].channel",
            "not a paid media channel",
        ),
        (
            "single_market.yaml",
            [{"channel": "tv", "prior": "lognormal(0, 1)"}] * 2,
            "calibration.roi_priors[1].channel",
            "two ROI priors",
        ),
        (
            "single_market.yaml",
            [{"channel": "tv", "prior": "lognormal(0, -1)"}],
            "calibration.roi_priors[0].prior",
            "",
        ),
        (
            "single_market.yaml",
            [{"channel": "tv", "prior": "lognormal(0, 1)", "start": "2030-01-07"}],
            "calibration.roi_priors[0]",
            "holds no fitted period",
        ),
        (
            "single_market_log.yaml",
            [{"channel": "tv", "prior": "lognormal(0, 1)"}],
            "calibration.roi_priors",
            "not yet a log-response",
        ),
        (
            "nested.yaml",
            [{"channel": "tv", "prior": "lognormal(0, 1)"}],
            "calibration.roi_priors",
            "not nested",
        ),
    ],
)
def test_roi_prior_mistakes_are_located(
    tmp_path: Path, shipped: str, priors: list[dict[str, Any]], where: str, message: str
) -> None:
    def edit(config: dict[str, Any]) -> None:
        config["calibration"] = {"roi_priors": priors}

    result = validate(_config(tmp_path, shipped, TEST, edit))
    located = [m for loc, m in _errors(result) if loc == where]
    assert located, _errors(result)
    assert any(message in m for m in located), _errors(result)


def test_roi_weights_turn_the_saturated_media_into_roi_csv_units(tmp_path: Path) -> None:
    def edit(config: dict[str, Any]) -> None:
        config["calibration"] = {
            "roi_priors": [
                {"channel": "search", "prior": "lognormal(0, 0.5)", "end": "2023-12-25"}
            ]
        }

    spec, design = _setup(_config(tmp_path, "single_market.yaml", TEST, edit))
    data = classes.get("blm").stan_data(design, spec)
    assert data["n_roi"] == 1
    m = spec.media_names.index("search")
    assert data["roi_channel"] == [m + 1]
    fitted = design.fitted
    window = fitted & (design.dates <= "2023-12-25")
    weight = data["roi_weight"][0]
    # spend-weighted: sum over the window of weight * (media effect / y_sd) is contribution / spend
    assert weight[~window[fitted]].sum() == 0
    assert weight[window[fitted]] == pytest.approx(design.y_sd / design.spend[window, m].sum())


SHARE = {"channel": "tv", "prior": "beta(2, 18)"}


@pytest.mark.parametrize(
    ("shipped", "calibration_section", "where", "message"),
    [
        (
            "single_market.yaml",
            {"share_priors": [{**SHARE, "channel": "podcast"}]},
            "calibration.share_priors[0].channel",
            "not a media channel",
        ),
        (
            "single_market.yaml",
            {"share_priors": [SHARE, SHARE]},
            "calibration.share_priors[1].channel",
            "two share priors",
        ),
        (
            "single_market.yaml",
            {
                "share_priors": [SHARE],
                "roi_priors": [{"channel": "tv", "prior": "lognormal(0, 1)"}],
            },
            "calibration.share_priors[0].channel",
            "also has an ROI prior",
        ),
        (
            "single_market.yaml",
            {"share_priors": [{**SHARE, "prior": "beta(2)"}]},
            "calibration.share_priors[0].prior",
            "",
        ),
        (
            "single_market.yaml",
            {"share_priors": [{**SHARE, "start": "2019-01-07", "end": "2019-06-24"}]},
            "calibration.share_priors[0]",
            "holds no fitted period",
        ),
        (
            "single_market.yaml",
            {"share_priors": [{**SHARE, "start": "2024-06-03", "end": "2024-01-01"}]},
            "calibration.share_priors[0]",
            "`end` is before `start`",
        ),
        (
            "single_market_log.yaml",
            {"share_priors": [SHARE]},
            "calibration.share_priors",
            "not yet a log-response",
        ),
        (
            "nested.yaml",
            {"share_priors": [SHARE]},
            "calibration.share_priors",
            "not nested",
        ),
        (
            "pooled.yaml",
            {"share_priors": [{**SHARE, "channel": "search_brand"}]},
            "calibration.share_priors[0].channel",
            "is pooled",
        ),
    ],
)
def test_share_prior_mistakes_are_located(
    tmp_path: Path,
    shipped: str,
    calibration_section: dict[str, Any],
    where: str,
    message: str,
) -> None:
    def edit(config: dict[str, Any]) -> None:
        config["calibration"] = calibration_section

    result = validate(_config(tmp_path, shipped, TEST, edit))
    located = [m for loc, m in _errors(result) if loc == where]
    assert located, _errors(result)
    assert any(message in m for m in located), _errors(result)


def test_an_organic_channel_takes_a_share_prior(tmp_path: Path) -> None:
    """Share needs no spend: an organic channel's share prior is accepted, its ROI
    prior is not."""

    def edit(config: dict[str, Any]) -> None:
        config["calibration"] = {"share_priors": [{**SHARE, "channel": "newsletter"}]}

    spec, design = _setup(_config(tmp_path, "weekly_events.yaml", TEST, edit))
    assert spec.roi_channels == {"newsletter"}
    data = classes.get("blm").stan_data(design, spec)
    assert data["roi_channel"] == [spec.media_names.index("newsletter") + 1]


def test_share_weights_turn_the_saturated_media_into_a_share_of_the_kpi(tmp_path: Path) -> None:
    def edit(config: dict[str, Any]) -> None:
        config["calibration"] = {
            "roi_priors": [{"channel": "search", "prior": "lognormal(0, 0.5)"}],
            "share_priors": [{**SHARE, "start": "2023-07-03", "end": "2023-12-25"}],
        }

    spec, design = _setup(_config(tmp_path, "single_market.yaml", TEST, edit))
    data = classes.get("blm").stan_data(design, spec)
    assert data["n_roi"] == 2  # ROI priors first, then share priors
    assert data["roi_channel"] == [
        spec.media_names.index("search") + 1,
        spec.media_names.index("tv") + 1,
    ]
    fitted = design.fitted
    window = fitted & (design.dates >= "2023-07-03") & (design.dates <= "2023-12-25")
    weight = data["roi_weight"][1]
    assert weight[~window[fitted]].sum() == 0
    assert weight[window[fitted]] == pytest.approx(design.y_sd / design.kpi[window].sum())


def test_panel_roi_weights_cover_every_group_and_count_national_spend_once(
    tmp_path: Path,
) -> None:
    """Hierarchical: the weights run over every row (0 where not fitted), and national
    TV's spend (the same in every market) is counted once per period, as roi.csv does."""

    def edit(config: dict[str, Any]) -> None:
        config["data"]["holdout"] = 4
        config["calibration"] = {
            "roi_priors": [
                {"channel": "tv", "prior": "lognormal(0, 0.5)"},
                {"channel": "search", "prior": "lognormal(0, 0.5)", "end": "2023-12-25"},
            ],
            "share_priors": [{"channel": "social", "prior": "beta(2, 18)"}],
        }

    spec, design = _setup(
        _config(tmp_path, "panel_hierarchical.yaml", {**TEST, "group": "north"}, edit)
    )
    data = classes.get("hierarchical").stan_data(design, spec)
    assert data["roi_weight"].shape == (3, design.n_rows)
    fitted = design.fitted
    assert not fitted.all()
    tv, search = spec.media_names.index("tv"), spec.media_names.index("search")
    once = design.spend[fitted & (design.group == 0), tv].sum()
    assert design.spend[fitted, tv].sum() == pytest.approx(design.n_groups * once)
    assert data["roi_weight"][0][fitted] == pytest.approx(design.y_sd / once)
    assert data["roi_weight"][0][~fitted].sum() == 0
    window = fitted & (design.dates <= "2023-12-25")
    spend = design.spend[window, search].sum()
    assert data["roi_weight"][1][window] == pytest.approx(design.y_sd / spend)
    assert data["roi_weight"][1][~window].sum() == 0
    assert data["roi_weight"][2][fitted] == pytest.approx(design.y_sd / design.kpi[fitted].sum())


def test_a_panel_prior_on_a_varying_channel_is_said_to_be_on_the_population(
    tmp_path: Path,
) -> None:
    def edit(config: dict[str, Any]) -> None:
        config["calibration"] = {
            "roi_priors": [
                {"channel": "tv", "prior": "lognormal(0, 0.5)"},
                {"channel": "search", "prior": "lognormal(0, 0.5)"},
            ]
        }

    result = validate(_config(tmp_path, "panel_hierarchical.yaml", TEST, edit))
    assert result.ok, _errors(result)
    said = [(p.location, p.message) for p in result.warnings]
    located = [m for loc, m in said if loc.startswith("calibration")]
    assert len(located) == 1, said
    assert "'search' varies by group: the prior is on its population ROI" in located[0]
    assert [loc for loc, _ in said if "roi_priors[1]" in loc] == [
        "calibration.roi_priors[1].channel"
    ]


@pytest.mark.parametrize("kind", ["roi", "share"])
def test_the_shipped_examples_of_business_priors_validate(tmp_path: Path, kind: str) -> None:
    """config/calibrated.yaml carries each kind commented out; uncommented, it validates
    and the channel's prior is on its ROI or share."""
    lines = (ROOT / "config" / "calibrated.yaml").read_text().splitlines()
    at = lines.index(f"  # {kind}_priors:")
    lines[at] = f"  {kind}_priors:"
    lines[at + 1] = lines[at + 1].replace("  #   -", "    -")
    config = yaml.safe_load("\n".join(lines))
    config["data"]["path"] = str(ROOT / "data" / "confounded.csv")
    path = tmp_path / "example.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    result = validate(path)
    assert result.ok, _errors(result)
    assert result.spec is not None
    assert [r.kind for r in result.spec.window_priors] == [kind]
    assert result.spec.roi_channels == {"search"}
