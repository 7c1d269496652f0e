"""Plans for `mmm forecast` without a fit: the checks of a plan against the run's data, and
where the plan's rows land in the extended design (panels with a fitting window included).
Also the go-dark spreading of lift tests and tests that reach into held-out periods."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from mmm_runner.data.design import build_design
from mmm_runner.errors import DataError
from mmm_runner.model import calibration
from mmm_runner.planning import _extended, read_plan
from mmm_runner.validation import Validation, validate

ROOT = Path(__file__).resolve().parents[2]


def _panel(tmp_path: Path, **data: Any) -> Validation:
    config = yaml.safe_load((ROOT / "config" / "panel_hierarchical.yaml").read_text())
    config["data"].update(path=str(ROOT / "data" / "panel.csv"), **data)
    path = tmp_path / "panel.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    result = validate(path)
    assert result.ok, [p.render() for p in result.errors]
    return result


def _plan(tmp_path: Path, weeks: int = 3, markets: list[str] | None = None) -> pd.DataFrame:
    data = pd.read_csv(ROOT / "data" / "panel.csv")
    last = pd.Timestamp(data["date"].max())
    rows = []
    for market in markets or sorted(data["market"].unique()):
        for k in range(1, weeks + 1):
            rows.append(
                {
                    "date": str((last + pd.Timedelta(weeks=k)).date()),
                    "market": market,
                    "tv": 2500.0,
                    "search": 2000.0,
                    "social": 2400.0,
                    "price": 1.0,
                }
            )
    return pd.DataFrame(rows)


def _read(tmp_path: Path, plan: pd.DataFrame, result: Validation) -> pd.DataFrame:
    path = tmp_path / "plan.csv"
    plan.to_csv(path, index=False)
    return read_plan(path, result)


def test_plan_rows_land_on_their_own_dates_in_a_windowed_panel(tmp_path: Path) -> None:
    """Warm-up rows before data.start sit inside each group's rows of the joined frame:
    the plan's rows must still be found in every group, not shifted."""
    result = _panel(tmp_path, start="2023-03-06", holdout=4)
    assert result.spec is not None
    assert result.loaded is not None
    plan = _read(tmp_path, _plan(tmp_path), result)
    frame, fitted, future = _extended(result, plan)
    config = result.loaded.config
    window = config.data.model_copy(update={"end": None})
    design = build_design(frame, config.model_copy(update={"data": window}), result.spec, fitted)
    assert len(future) == design.n_rows
    planned = design.dates[future]
    assert set(planned.strftime("%Y-%m-%d")) == set(plan["date"].dt.strftime("%Y-%m-%d"))
    assert future.sum() == len(plan)
    for g in range(design.n_groups):
        own = design.group == g
        assert future[own].sum() == 3
        assert (~design.fitted[own][-7:]).all()  # 4 held out, then the plan
        assert np.isnan(design.kpi[own & future]).all()


@pytest.mark.parametrize(
    ("edit", "where", "message"),
    [
        (
            lambda p: p.assign(market=[None, *list(p["market"][1:])]),
            "plan.csv:market:row 1",
            "empty",
        ),
        (lambda p: p.assign(tv=-5.0), "plan.csv:tv:row 1", "negative spend"),
        (lambda p: p.assign(market="nowhere"), "plan.csv:market:row 1", "not a group of the run"),
        (
            lambda p: p[p["date"] != p["date"].iloc[1]],
            "plan.csv:date:row",
            "must continue the data",
        ),
    ],
)
def test_plan_problems_are_located(tmp_path: Path, edit: Any, where: str, message: str) -> None:
    result = _panel(tmp_path)
    with pytest.raises(DataError) as caught:
        _read(tmp_path, edit(_plan(tmp_path)), result)
    located = [p for p in caught.value.problems if p.location.startswith(str(tmp_path / where))]
    assert any(message in p.message for p in located), caught.value.problems


def test_a_plan_for_some_groups_only_is_fine(tmp_path: Path) -> None:
    result = _panel(tmp_path)
    plan = _read(tmp_path, _plan(tmp_path, markets=["north", "south"]), result)
    assert set(plan["market"]) == {"north", "south"}


def _calibrated(tmp_path: Path, test: dict[str, Any], **data: Any) -> Validation:
    config = yaml.safe_load((ROOT / "config" / "calibrated.yaml").read_text())
    config["data"].update(path=str(ROOT / "data" / "confounded.csv"), **data)
    config["calibration"]["lift_tests"][0].update(test)
    path = tmp_path / "calibrated.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return validate(path)


def test_cutting_all_the_spend_takes_the_channel_fully_dark(tmp_path: Path) -> None:
    result = _calibrated(tmp_path, {})
    assert result.ok
    assert result.spec is not None
    assert result.loaded is not None
    assert result.frame is not None
    design = build_design(result.frame, result.loaded.config, result.spec)
    [test] = calibration.place(design, result.spec)
    spent = design.spend[test.changed, test.channel]
    assert spent.min() > 0
    assert spent.std() > 0
    assert test.test.spend_change == pytest.approx(-spent.sum())
    dark = calibration.changed_media(design, test)[test.changed, test.channel]
    np.testing.assert_allclose(dark, 0.0, atol=1e-9)


def test_a_test_measured_into_held_out_periods_is_refused(tmp_path: Path) -> None:
    result = _calibrated(tmp_path, {}, holdout=40)
    text = "\n".join(p.render() for p in result.errors)
    assert "calibration.lift_tests[0].measured_until" in text
    assert "held-out periods cannot inform the fit" in text


def test_a_target_mode_needs_a_ceiling_on_every_channel(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    config = yaml.safe_load((root / "config" / "single_market.yaml").read_text())
    config["data"]["path"] = str(root / "data" / "single_market.csv")
    config["budget"] = {
        "horizon": 13,
        "mode": "target_mroi",
        "target": 1.0,
        "channels": {"tv": {"min": 1000.0}},
    }
    path = tmp_path / "target.yaml"
    path.write_text(yaml.safe_dump(config))
    result = validate(path)
    text = "\n".join(p.render() for p in result.errors)
    assert "budget.channels.tv" in text
    assert "needs a ceiling for every channel" in text
