"""Identifiability checks of 10_pre_run: VIFs, condition number, rows per parameter and
near-constant columns, against direct NumPy answers (no compiler, no sampling)."""

from __future__ import annotations

import json
import logging
import math
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from mmm_runner import constants
from mmm_runner.analysis import identifiability as ident
from mmm_runner.config.resolve import ModelSpec
from mmm_runner.data.design import Design, build_design, lag_matrices
from mmm_runner.errors import GateError
from mmm_runner.model import hsgp, transforms
from mmm_runner.pipeline.context import RunContext, SilentReporter
from mmm_runner.pipeline.stages import pre_run
from mmm_runner.validation import Validation, validate

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "config").glob("*.yaml"))
COLUMNS = ["check", "term", "value", "warn", "fail", "status", "advice", "detail"]


# ---------------------------------------------------------------------------
# Direct answers


def _vif_by_regression(x: np.ndarray) -> np.ndarray:
    """VIF_j = 1 / (1 - R²_j), R²_j of column j on the others and an intercept."""
    n, p = x.shape
    out = np.empty(p)
    for j in range(p):
        others = np.column_stack([np.ones(n), np.delete(x, j, axis=1)])
        coef, *_ = np.linalg.lstsq(others, x[:, j], rcond=None)
        resid = x[:, j] - others @ coef
        r2 = 1 - resid @ resid / np.sum((x[:, j] - x[:, j].mean()) ** 2)
        out[j] = 1 / (1 - r2)
    return out


def _condition_by_svd(x: np.ndarray) -> float:
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    s = np.linalg.svd(z, compute_uv=False)
    return float(s.max() / s.min())


def _designed(n: int = 150, seed: int = 3) -> np.ndarray:
    """Columns with known, moderate dependence (VIFs between 1 and about 5)."""
    rng = np.random.default_rng(seed)
    a, b, c = rng.normal(size=(3, n))
    return np.column_stack(
        [a, b, 0.8 * a + 0.5 * rng.normal(size=n), c + 0.3 * b, rng.gamma(2.0, 1.0, n) + 50]
    )


def _regs(x: np.ndarray, names: tuple[str, ...] | None = None) -> ident.Regressors:
    names = names or tuple(f"c{j}" for j in range(x.shape[1]))
    return ident.Regressors(names, x, 0)


def _rows(findings: list[ident.Finding], check: str) -> dict[str, ident.Finding]:
    return {f.term: f for f in findings if f.check == check}


# ---------------------------------------------------------------------------
# The maths


def test_vif_and_condition_number_match_direct_calculations() -> None:
    x = _designed()
    found = ident.collinearity(x, _regs(x).names)
    np.testing.assert_allclose(found.vif, _vif_by_regression(x), rtol=1e-8)
    assert found.condition_number == pytest.approx(_condition_by_svd(x), rel=1e-8)
    assert found.vif.max() > 2  # the designed dependence shows
    assert found.rank == x.shape[1]


def test_the_weakest_direction_names_the_dependent_columns() -> None:
    rng = np.random.default_rng(0)
    a, b, c = rng.normal(size=(3, 200))
    x = np.column_stack([a, b, c, a + b + 0.01 * rng.normal(size=200)])
    found = ident.collinearity(x, ("a", "b", "c", "a_plus_b"))
    z = (x - x.mean(axis=0)) / np.linalg.norm(x - x.mean(axis=0), axis=0)
    weakest = np.linalg.svd(z)[2][-1]
    names = [name for name, _ in found.smallest]
    assert set(names) == {"a", "b", "a_plus_b"}
    loadings = dict(found.smallest)
    for j, name in enumerate(("a", "b", "a_plus_b")):
        column = (0, 1, 3)[j]
        assert abs(loadings[name]) == pytest.approx(abs(weakest[column]), rel=1e-8)


def test_an_exact_dependency_is_infinite_and_the_rest_stay_finite() -> None:
    rng = np.random.default_rng(1)
    a, b, c = rng.normal(size=(3, 100))
    x = np.column_stack([a, b, 2 * a - b, c])
    found = ident.collinearity(x, ("a", "b", "dependent", "c"))
    assert np.isinf(found.vif[:3]).all()
    assert found.vif[3] == pytest.approx(_vif_by_regression(x[:, [0, 1, 3]])[2], rel=1e-6)
    assert math.isinf(found.condition_number)
    assert {name for name, _ in found.smallest} == {"a", "b", "dependent"}


def test_constant_columns_are_left_out_without_nan_or_inf() -> None:
    x = _designed()
    with_flat = np.column_stack([x[:, :2], np.zeros(len(x)), x[:, 2:], np.full(len(x), 7.0)])
    found = ident.collinearity(with_flat, _regs(with_flat).names)
    assert np.isnan(found.vif[[2, 6]]).all()
    np.testing.assert_allclose(found.vif[[0, 1, 3, 4, 5]], _vif_by_regression(x), rtol=1e-8)
    assert found.condition_number == pytest.approx(_condition_by_svd(x), rel=1e-8)
    findings = ident.check_regressors(_regs(with_flat), _regs(with_flat).names, with_flat, 5)
    vif = _rows(findings, "vif")
    assert vif["c2"].status == "skip"
    assert vif["c2"].value is None
    assert "near_constant" in vif["c2"].detail
    assert _rows(findings, "near_constant")["c2"].status == "fail"


def test_no_varying_column_and_no_rows_are_skipped_not_crashes() -> None:
    flat = np.ones((20, 3))
    findings = ident.check_regressors(_regs(flat), _regs(flat).names, flat, 4)
    assert {f.status for f in findings if f.check == "vif"} == {"skip"}
    assert _rows(findings, "condition_number")["design"].status == "skip"
    empty = np.zeros((0, 2))
    findings = ident.check_regressors(_regs(empty), _regs(empty).names, empty, 4)
    assert _rows(findings, "rows_per_parameter")["model"].status == "fail"
    assert {f.status for f in findings if f.check == "near_constant"} == {"skip"}


def test_more_columns_than_rows_is_fast_and_fails() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(200, 3000))
    regs = _regs(x)
    started = time.perf_counter()
    findings = ident.check_regressors(regs, regs.names, x, 3002)
    seconds = time.perf_counter() - started
    assert seconds < 5, f"{seconds:.1f} s for 3,000 columns"
    vif = [f for f in findings if f.check == "vif"]
    assert len(vif) == 3000
    assert all(f.value == math.inf and f.status == "fail" for f in vif)
    condition = next(f for f in findings if f.check == "condition_number")
    assert condition.value == math.inf
    assert "3000 varying columns on 200 fitted rows" in condition.detail
    assert _rows(findings, "rows_per_parameter")["model"].status == "fail"


def test_many_columns_with_fewer_than_rows_match_the_direct_answer() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(400, 60))
    x[:, 1] += 0.9 * x[:, 0]
    found = ident.collinearity(x, _regs(x).names)
    np.testing.assert_allclose(found.vif, _vif_by_regression(x), rtol=1e-8)
    assert found.condition_number == pytest.approx(_condition_by_svd(x), rel=1e-8)


# ---------------------------------------------------------------------------
# Thresholds


@pytest.mark.parametrize(
    ("value", "status"), [(5.0, "pass"), (10.0, "pass"), (10.5, "warn"), (100.5, "fail")]
)
def test_vif_thresholds(value: float, status: str) -> None:
    assert ident._above(value, ident.LIMITS.vif.warn, ident.LIMITS.vif.fail) == status


def test_documented_thresholds() -> None:
    limits = ident.LIMITS
    assert (limits.vif.warn, limits.vif.fail) == (10, 100)
    assert (limits.condition_number.warn, limits.condition_number.fail) == (30, 1000)
    assert (limits.rows_per_parameter.warn, limits.rows_per_parameter.fail) == (10, 3)
    assert (limits.near_constant.warn, limits.near_constant.fail) == (0.99, 1.0)
    doc = (ROOT / "docs" / "artefacts.md").read_text()
    assert "`10_pre_run/identifiability.csv`" in doc
    for phrase in ("warn above 10, fail above 100", "warn above 30, fail above 1000"):
        assert phrase in doc


@pytest.mark.parametrize(
    ("rows", "parameters", "status"),
    [(200, 10, "pass"), (100, 10, "pass"), (99, 10, "warn"), (30, 10, "warn"), (29, 10, "fail")],
)
def test_rows_per_parameter(rows: int, parameters: int, status: str) -> None:
    row = ident.RowsPerParameterCheck().run(rows, parameters)
    assert row.value == pytest.approx(rows / parameters)
    assert row.status == status
    assert row.detail == f"{rows} fitted rows / {parameters} free parameters"
    assert bool(row.advice) == (status != "pass")


def test_near_constant_columns() -> None:
    n = 400
    rng = np.random.default_rng(5)
    rare = np.zeros(n)
    rare[[10, 200]] = 3.0  # one value in 99.5% of rows
    common = np.zeros(n)
    common[::20] = 1.0  # a dummy in 5% of rows: fine
    rounding = 1e6 + 1e-4 * rng.normal(size=n)  # constant up to rounding
    x = np.column_stack([rng.normal(size=n), rare, common, np.full(n, 2.5), rounding])
    names = ("normal", "rare", "common", "constant", "rounding")
    rows = _rows(ident.NearConstantCheck().run(names, x), "near_constant")
    assert rows["normal"].status == "pass"
    assert rows["normal"].value == pytest.approx(1 / n)
    assert (rows["rare"].status, rows["rare"].value) == ("warn", pytest.approx(0.995))
    assert rows["rare"].detail == "398 of 400 fitted rows are 0"
    assert (rows["common"].status, rows["common"].value) == ("pass", pytest.approx(0.95))
    assert (rows["constant"].status, rows["constant"].value) == ("fail", 1.0)
    assert rows["constant"].detail == "constant (2.5) on all 400 fitted rows"
    assert rows["rounding"].status == "fail"
    assert rows["constant"].advice
    assert not rows["normal"].advice


# ---------------------------------------------------------------------------
# Designs built from configs


def _config(
    tmp_path: Path,
    frame: pd.DataFrame,
    media: dict[str, tuple[str, str]],
    controls: list[str],
    policy: str = "explore",
) -> Path:
    """A config (structured terms, no trend or seasonality) over a frame written as CSV."""
    frame.to_csv(tmp_path / "data.csv", index=False)
    config = {
        "name": "identifiability",
        "data": {"path": "data.csv", "date_column": "date", "frequency": "weekly"},
        "model": {
            "kpi": "sales",
            "media": [
                {"name": name, "adstock": {"type": a, "l_max": 4}, "saturation": {"type": s}}
                for name, (a, s) in media.items()
            ],
            "controls": [{"name": c} for c in controls],
            "trend": {"type": "none"},
            "seasonality": [],
        },
        "fit": {"method": "map"},
        "diagnostics": {"policy": policy},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _frame(n: int, columns: dict[str, np.ndarray], seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2021-01-04", periods=n, freq="W-MON")
    sales = 1000 + sum(columns.values()) + rng.normal(0, 5, n)
    return pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "sales": sales, **columns})


def _design(path: Path) -> tuple[Validation, Design, ModelSpec]:
    validation = validate(path)
    assert validation.ok, [p.render() for p in validation.errors]
    assert validation.loaded is not None
    assert validation.spec is not None
    assert validation.frame is not None
    design = build_design(validation.frame, validation.loaded.config, validation.spec)
    return validation, design, validation.spec


def _spend(rng: np.random.Generator, n: int, level: float) -> np.ndarray:
    return np.asarray(level * rng.gamma(2.0, 0.5, n), dtype=float)


def test_independent_columns_stay_quiet(tmp_path: Path) -> None:
    n, rng = 200, np.random.default_rng(6)
    columns = {
        "tv": _spend(rng, n, 100),
        "search": _spend(rng, n, 50),
        "price": rng.normal(10, 1, n),
    }
    media = {"tv": ("geometric", "hill"), "search": ("geometric", "hill")}
    _, design, spec = _design(_config(tmp_path, _frame(n, columns), media, ["price"]))
    findings = ident.check_design(design, spec)
    assert {f.status for f in findings} == {"pass"}, ident.table(findings)
    assert max(f.value or 0 for f in findings if f.check == "vif") < 1.5


def test_nearly_proportional_media_fire(tmp_path: Path) -> None:
    n, rng = 200, np.random.default_rng(7)
    tv = _spend(rng, n, 100)
    columns = {
        "tv": tv,
        "radio": 0.4 * tv * (1 + 0.002 * rng.normal(size=n)),
        "price": rng.normal(10, 1, n),
    }
    media = {"tv": ("geometric", "hill"), "radio": ("geometric", "hill")}
    _, design, spec = _design(_config(tmp_path, _frame(n, columns), media, ["price"]))
    findings = ident.check_design(design, spec)
    vif = _rows(findings, "vif")
    assert vif["tv"].status == vif["radio"].status == "fail"
    assert vif["price"].status == "pass"
    condition = _rows(findings, "condition_number")
    (row,) = condition.values()
    assert row.status in ("warn", "fail")
    assert row.term.split(", ")[:2] in (["tv", "radio"], ["radio", "tv"])
    summary = ident.summary(findings)
    assert summary["max_vif_term"] in ("tv", "radio")
    assert summary["max_vif"] > 100


def test_a_control_copying_a_media_channel_fires(tmp_path: Path) -> None:
    n, rng = 200, np.random.default_rng(8)
    display = _spend(rng, n, 30)
    columns = {
        "display": display,
        "search": _spend(rng, n, 50),
        "clicks": display + 0.01 * rng.normal(size=n),
    }
    media = {"display": ("none", "none"), "search": ("geometric", "hill")}
    _, design, spec = _design(_config(tmp_path, _frame(n, columns), media, ["clicks"]))
    findings = ident.check_design(design, spec)
    vif = _rows(findings, "vif")
    assert vif["display"].status == vif["clicks"].status == "fail"
    assert vif["search"].status == "pass"
    assert _rows(findings, "condition_number")  # one row
    assert next(f for f in findings if f.check == "condition_number").status == "fail"


def test_media_enter_at_their_prior_medians_through_the_twins(tmp_path: Path) -> None:
    n, rng = 120, np.random.default_rng(9)
    columns = {"tv": _spend(rng, n, 100), "search": _spend(rng, n, 50)}
    media = {"tv": ("geometric", "hill"), "search": ("delayed", "logistic")}
    _, design, spec = _design(_config(tmp_path, _frame(n, columns), media, []))
    medians = ident.prior_medians(spec)
    # Default priors: decay ~ beta(1, 3) (median 1 - 0.5^(1/3)), hill ~ gamma(3, 3), gamma(3, 2).
    assert medians["tv.adstock.decay"] == pytest.approx(1 - 0.5 ** (1 / 3), rel=1e-10)
    assert medians["tv.saturation.half_saturation"] == pytest.approx(
        stats.gamma(3, scale=1 / 3).median(), rel=1e-10
    )
    assert medians["tv.saturation.shape"] == pytest.approx(
        stats.gamma(3, scale=1 / 2).median(), rel=1e-10
    )
    expected = transforms.transform(
        design.media_scaled[:, 0],
        "geometric",
        {"decay": np.array([1 - 0.5 ** (1 / 3)])},
        "hill",
        {
            "half_saturation": np.array([stats.gamma(3, scale=1 / 3).median()]),
            "shape": np.array([stats.gamma(3, scale=1 / 2).median()]),
        },
        4,
    )[0]
    regs = ident.regressors(design, spec)
    assert regs.names[:2] == ("tv", "search")
    np.testing.assert_allclose(regs.values[:, 0], expected[design.fitted], rtol=1e-12)
    delayed = transforms.transform(
        design.media_scaled[:, 1],
        "delayed",
        {
            "decay": np.array([medians["search.adstock.decay"]]),
            "peak": np.array([medians["search.adstock.peak"]]),
        },
        "logistic",
        {"rate": np.array([medians["search.saturation.rate"]])},
        4,
    )[0]
    np.testing.assert_allclose(regs.values[:, 1], delayed, rtol=1e-12)


def test_panels_transform_each_group_on_its_own_and_stack_the_rows() -> None:
    _, design, spec = _design(ROOT / "config" / "panel_hierarchical.yaml")
    assert design.n_groups > 1
    media = ident.media_at_prior_medians(design, spec)
    medians = ident.prior_medians(spec)
    term = spec.media[0]
    rows = np.flatnonzero(design.group == 1)
    adstock = {
        p.name: np.array([medians[f"{term.name}.adstock.{p.name}"]])
        for p in transforms.ADSTOCKS[term.adstock].params
    }
    saturation = {
        p.name: np.array([medians[f"{term.name}.saturation.{p.name}"]])
        for p in transforms.SATURATIONS[term.saturation].params
    }
    expected = transforms.transform(
        design.media_scaled[rows, 0],
        term.adstock,
        adstock,
        term.saturation,
        saturation,
        term.l_max,
    )[0]
    np.testing.assert_allclose(media[rows, 0], expected, rtol=1e-12)
    regs = ident.regressors(design, spec)
    assert regs.values.shape == (int(design.fitted.sum()), len(design.media_names) + 6)


def test_a_fitting_window_carries_the_warm_up_media_as_the_model_does() -> None:
    _, design, spec = _design(ROOT / "config" / "weekly_events.yaml")
    assert design.warmup is not None  # data.start leaves earlier media for the adstock
    media = ident.media_at_prior_medians(design, spec)
    medians = ident.prior_medians(spec)
    for j, term in enumerate(spec.media):
        adstock = transforms.ADSTOCKS[term.adstock]
        params = {
            p.name: np.array([medians[f"{term.name}.adstock.{p.name}"]]) for p in adstock.params
        }
        weights = adstock.weights(params, term.l_max)[0]
        carried = lag_matrices(design, term.l_max)[j] @ weights  # the Stan programs' lags
        saturation = {
            p.name: np.array([medians[f"{term.name}.saturation.{p.name}"]])
            for p in transforms.SATURATIONS[term.saturation].params
        }
        expected = transforms.SATURATIONS[term.saturation].apply(carried[None, :], saturation)
        np.testing.assert_allclose(media[:, j], expected[0], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_shipped_configs_produce_a_table(path: Path) -> None:
    _, design, spec = _design(path)
    findings = ident.check_design(design, spec)
    frame = ident.table(findings)
    assert list(frame.columns) == COLUMNS
    assert set(frame["check"]) == {
        "vif",
        "condition_number",
        "rows_per_parameter",
        "near_constant",
    }
    assert set(frame["status"]) <= {"pass", "warn", "fail", "skip"}
    basis = len(hsgp.gp_columns(design))  # a gp trend's basis is left out of the checks
    n_regressors = len(design.media_names) + len(design.columns) - basis
    assert (frame["check"] == "vif").sum() == n_regressors
    assert (frame["check"] == "near_constant").sum() == n_regressors
    judged = frame[frame["status"] != "skip"]
    assert judged["value"].notna().all()
    assert not (frame["status"] == "fail").any(), frame[frame["status"] != "pass"]
    rows = _rows(findings, "rows_per_parameter")["model"]
    parameters = ident.free_parameters(design, spec)
    assert parameters >= spec.n_parameters(design.n_groups)
    assert rows.value == pytest.approx(design.fitted.sum() / parameters)
    json.dumps(ident.summary(findings), allow_nan=False)


def test_categorical_levels_count_as_parameters() -> None:
    _, design, spec = _design(ROOT / "config" / "weekly_events.yaml")
    levels = sum(1 for c in design.columns if c.term in spec.categorical)
    assert levels > len(spec.categorical)
    extra = levels - len(spec.categorical)
    assert ident.free_parameters(design, spec) == spec.n_parameters(1) + extra


# ---------------------------------------------------------------------------
# The stage


def _context(path: Path, tmp_path: Path) -> RunContext:
    validation = validate(path)
    assert validation.ok
    ctx = RunContext(
        validation,
        tmp_path / "run",
        datetime.now(UTC),
        SilentReporter(),
        logging.getLogger("test_identifiability"),
        [],
        plots=False,
    )
    ctx.folder("pre_run").mkdir(parents=True)
    return ctx


def _collinear_config(tmp_path: Path, policy: str) -> Path:
    n, rng = 200, np.random.default_rng(10)
    tv = _spend(rng, n, 100)
    columns = {"tv": tv, "radio": 0.4 * tv * (1 + 0.002 * rng.normal(size=n))}
    media = {"tv": ("geometric", "hill"), "radio": ("geometric", "hill")}
    return _config(tmp_path, _frame(n, columns), media, [], policy)


@pytest.mark.parametrize("policy", ["explore", "publish"])
def test_the_stage_records_failures_without_stopping(tmp_path: Path, policy: str) -> None:
    ctx = _context(_collinear_config(tmp_path, policy), tmp_path)
    result = pre_run.run(ctx)
    table = pd.read_csv(ctx.folder("pre_run") / pre_run.IDENTIFIABILITY)
    assert list(table.columns) == COLUMNS
    assert pre_run.IDENTIFIABILITY in result.artefacts
    assert result.summary["max_vif_term"] in ("tv", "radio")
    assert result.summary["max_vif"] > 100
    assert result.summary["identifiability"]["fail"] >= 2
    assert "identifiability: " in result.message
    assert "fail (vif" in result.message
    json.dumps(result.summary, allow_nan=False)


def test_strict_stops_on_a_failed_check_after_writing_the_table(tmp_path: Path) -> None:
    ctx = _context(_collinear_config(tmp_path, "strict"), tmp_path)
    with pytest.raises(GateError, match=r"identifiability check failed: vif \((tv|radio)") as err:
        pre_run.run(ctx)
    assert constants.exit_code(err.value) == 5
    assert pre_run.IDENTIFIABILITY in err.value.hint
    table = pd.read_csv(ctx.folder("pre_run") / pre_run.IDENTIFIABILITY)
    assert (table["status"] == "fail").any()


def test_strict_passes_a_shipped_config_with_warnings_only(tmp_path: Path) -> None:
    path = tmp_path / "strict.yaml"
    config: dict[str, Any] = yaml.safe_load((ROOT / "config" / "single_market.yaml").read_text())
    config["data"]["path"] = str(ROOT / "data" / "single_market.csv")
    config["diagnostics"] = {"policy": "strict"}
    path.write_text(yaml.safe_dump(config))
    ctx = _context(path, tmp_path)
    result = pre_run.run(ctx)
    assert result.summary["identifiability"]["fail"] == 0
    assert result.summary["condition_number"] < 30
