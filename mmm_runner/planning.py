"""`mmm forecast`: the KPI under a future plan, from a finished run's posterior.

A plan is a table of future periods (dates right after the modelled ones, per group in
panels) with spend (and exposure) per channel and the controls' future values; trend,
seasonality and calendar terms are built from the dates. The plan's rows are appended to
the run's data and laid out by the same design builder, with the run's fitted rows
marked as fitted, so scales, means and bases are the run's own; the posterior draws are
read back from the run's Stan CSVs and every contribution is rebuilt by the NumPy twins
of the Stan programs. Carry-over from historical spend into the plan is included; to see
the plan's own carry-over after its end, add periods with zero spend.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import yaml

from mmm_runner import classes
from mmm_runner.analysis.intervals import HIGH, LOW
from mmm_runner.analysis.posterior import Posterior
from mmm_runner.atomic import copy_file, write_csv, write_json
from mmm_runner.backend.fit import read_mcmc
from mmm_runner.config.resolve import ModelSpec
from mmm_runner.data.calendar import STEP
from mmm_runner.data.design import Design, build_design, position_in_group
from mmm_runner.data.load import read_table
from mmm_runner.errors import DataError, Problem, UsageError
from mmm_runner.hashing import file_sha256
from mmm_runner.model import hsgp
from mmm_runner.model.stan_data import Layout, layout
from mmm_runner.reproduction import PLANS, check_run_data, read_manifest, resolved_config
from mmm_runner.validation import Validation, validate

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Forecast:
    """Where a forecast was written, and its tables."""

    folder: Path
    kpi: pd.DataFrame  # per plan period (and group): predictive mean and 90% interval
    contributions: pd.DataFrame  # per plan period, group and term
    summary: dict[str, Any]


@dataclass(frozen=True)
class PlanInputs:
    """A run's spec and posterior with the design extended by a plan."""

    spec: ModelSpec
    design: Design
    names: Layout
    post: Posterior
    future: npt.NDArray[np.bool_]  # the design's rows that are the plan's
    seed: int


def prepare(run_dir: Path, plan_path: Path) -> PlanInputs:
    """Reads the run and the plan, checks both, and lays out the extended design."""
    run_dir = Path(run_dir).resolve()
    manifest = read_manifest(run_dir)
    if manifest.get("fit_method", "mcmc") != "mcmc":
        raise UsageError(
            f"{run_dir} was fitted by {manifest.get('fit_method')}: a forecast needs "
            "posterior draws",
            hint="Refit with fit.method: mcmc.",
        )
    result = validated_run(run_dir, manifest)
    assert result.spec is not None
    assert result.loaded is not None
    spec, config = result.spec, result.loaded.config
    model_class = classes.get(spec.model_class)
    plan = read_plan(Path(plan_path), result)
    frame, fitted, future = _extended(result, plan)
    window = config.data.model_copy(update={"end": None})
    design = build_design(frame, config.model_copy(update={"data": window}), spec, fitted)
    _within_gp_reach(design, spec, Path(plan_path), config.data.date_column)
    csv_files = sorted((run_dir / "20_model_fit" / "stan_csv").glob("*.csv"))
    draws = model_class.kpi_draws(read_mcmc(csv_files), design, spec)
    return PlanInputs(
        spec,
        design,
        layout(design, spec),
        model_class.posterior(draws, design, spec),
        future,
        config.seed,
    )


def forecast(run_dir: Path, plan_path: Path, name: str | None = None) -> Forecast:
    """Forecasts ``plan_path`` with the run in ``run_dir``; writes into its 80_plans."""
    inputs = prepare(run_dir, plan_path)
    spec, design, post = inputs.spec, inputs.design, inputs.post
    parts = classes.get(spec.model_class).decompose(post, design, spec, inputs.names)
    rows = np.flatnonzero(inputs.future)
    kpi_draws = _predictive(parts.parts, parts.expected, post, design, inputs.seed)
    kpi = _kpi_table(design, rows, parts.expected, kpi_draws)
    contributions = _contribution_table(design, rows, parts.contributions)
    summary = _summary(design, spec, rows, parts.contributions, kpi_draws)
    label = name or Path(plan_path).stem
    folder = _write(
        Path(run_dir).resolve(),
        label,
        plan_path,
        kpi,
        contributions,
        summary,
        design,
        parts.expected,
    )
    return Forecast(folder, kpi, contributions, summary)


def compare_plans(run_dir: Path, forecasts: list[Forecast]) -> Path:
    """scenarios.csv (and a figure) of several plans' forecasts side by side, in
    ``80_plans/<stamp>_scenarios``: the KPI total and each channel's spend and
    contribution, means with 90% intervals."""
    rows = []
    for result in forecasts:
        total = result.summary["kpi_total"]
        row: dict[str, Any] = {
            "plan": result.folder.name,
            "kpi_total": total["mean"],
            "kpi_total_q05": total["q05"],
            "kpi_total_q95": total["q95"],
        }
        for channel, values in result.summary["channels"].items():
            row[f"{channel}_spend"] = values["spend"]
            row[f"{channel}_contribution"] = values["contribution"]["mean"]
        rows.append(row)
    table = pd.DataFrame(rows)
    folder = _new_folder(Path(run_dir).resolve(), "scenarios")
    write_csv(table, folder / "scenarios.csv")
    from mmm_runner import plotting

    shown = table.rename(
        columns={"kpi_total": "total", "kpi_total_q05": "total_q05", "kpi_total_q95": "total_q95"}
    )
    title = "KPI over each plan (90% intervals)"
    plotting.render_all(
        [("scenarios.png", "interval_bars", (shown, "plan", "total", title))], folder
    )
    return folder


def _new_folder(run_dir: Path, label: str) -> Path:
    """``80_plans/<stamp>_<label>``, with -2, -3, ... when that name is taken."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    parent = run_dir / PLANS
    parent.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        folder = parent / (f"{stamp}_{label}" + ("" if n == 1 else f"-{n}"))
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise UsageError(f"{parent} has too many forecasts named {label} this second")


# --- the run and the plan ----------------------------------------------------------------


def validated_run(
    run_dir: Path, manifest: dict[str, Any], lift_tests: list[dict[str, Any]] | None = None
) -> Validation:
    """The run's resolved config and data, validated again (the data unchanged);
    ``lift_tests`` replaces the config's lift tests (compare-runs: another run's test)."""
    document = resolved_config(run_dir)
    data_path = Path(manifest.get("data", {}).get("path", "")).resolve()
    check_run_data(data_path, manifest)
    document["data"]["path"] = str(data_path)
    if lift_tests is not None:
        document["calibration"] = {**(document.get("calibration") or {}), "lift_tests": lift_tests}
    with tempfile.TemporaryDirectory(prefix="mmm_forecast_") as scratch:
        file = Path(scratch) / "config.yaml"
        file.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
        result = validate(file)
    if not result.ok:
        raise UsageError(
            f"the config of {run_dir} no longer validates: "
            + "; ".join(p.render() for p in result.errors[:3]),
            hint="Forecast with the mmm_runner version that made the run.",
        )
    return result


def _within_gp_reach(design: Design, spec: ModelSpec, path: Path, date_column: str) -> None:
    """A gp trend's basis holds only a little past the fitted periods (hsgp.FORECAST_REACH
    of their half-range); beyond it the trend is not a forecast but an artefact."""
    if spec.trend is None or spec.trend.type != "gp":
        return
    dom = hsgp.design_domain(design, spec.trend)
    t = position_in_group(design.group).astype(float)
    beyond = ~dom.covers_each(t)
    if beyond.any():
        last = design.dates[~beyond].max()
        raise DataError(
            f"{path}: the plan reaches past what the gp trend can forecast",
            [
                Problem(
                    f"{path}:{date_column}",
                    f"{int(beyond.sum())} row(s) after {last:%Y-%m-%d}, more than "
                    f"{hsgp.reach(dom.boundary) / 2:.0%} of the fitted span past its end",
                )
            ],
            hint="Shorten the plan, or refit with a linear or spline trend for long horizons.",
        )


def read_plan(path: Path, result: Validation) -> pd.DataFrame:
    """The plan's rows, checked: DataError listing every problem at its file:column:row."""
    assert result.spec is not None
    assert result.loaded is not None
    assert result.frame is not None
    spec, data = result.spec, result.loaded.config.data
    plan = read_table(path)
    plan.index = pd.RangeIndex(1, len(plan) + 1)
    where = str(path)
    problems: list[Problem] = []
    needed = _plan_columns(result)
    missing = [c for c in needed if c not in plan]
    if missing:
        raise DataError(
            f"{where}: the plan lacks column(s) {', '.join(missing)}",
            [Problem(f"{where}:{c}", "column missing from the plan") for c in missing],
            hint="A plan has the date column, the group column (panels), every channel's "
            "media and spend columns and every control's future values.",
        )
    dates = pd.to_datetime(plan[data.date_column], errors="coerce", format="mixed")
    bad = list(plan.index[dates.isna()])
    if bad:
        problems.append(Problem(f"{where}:{data.date_column}:row {_rows(bad)}", "not a date"))
    categorical = set(spec.categorical)
    nonnegative = {*spec.media_names, *_spend_columns(spec)}
    positive = {c for c in (spec.population, spec.kpi_value) if isinstance(c, str)}
    if data.group_column is not None:
        empty = list(plan.index[plan[data.group_column].isna()])
        if empty:
            problems.append(
                Problem(f"{where}:{data.group_column}:row {_rows(empty)}", "the group is empty")
            )
    for column in needed:
        if column in (data.date_column, data.group_column) or column in categorical:
            continue
        values = pd.to_numeric(plan[column], errors="coerce")
        broken = list(plan.index[values.isna() | ~np.isfinite(values.fillna(0.0))])
        if broken:
            problems.append(
                Problem(f"{where}:{column}:row {_rows(broken)}", "not a finite number")
            )
        elif column in nonnegative and (values < 0).any():
            rows = list(plan.index[values < 0])
            what = "negative spend" if column in _spend_columns(spec) else "negative media"
            problems.append(Problem(f"{where}:{column}:row {_rows(rows)}", what))
        elif column in positive and (values <= 0).any():
            rows = list(plan.index[values <= 0])
            problems.append(Problem(f"{where}:{column}:row {_rows(rows)}", "must be above 0"))
        plan[column] = values
    modelled = result.frame
    if data.start is not None:  # warm-up rows carry media only: their levels have no effect
        modelled = modelled[modelled[data.date_column] >= pd.Timestamp(data.start)]
    for column in categorical:
        known = set(modelled[column].astype(str))
        unknown = list(plan.index[~plan[column].astype(str).isin(known)])
        if unknown:
            problems.append(
                Problem(
                    f"{where}:{column}:row {_rows(unknown)}",
                    "a level the model never saw (it has no effect to forecast with)",
                )
            )
    if not problems:
        plan[data.date_column] = dates
        problems += _dates_follow(plan, result, where)
    if problems:
        raise DataError(f"{where}: the plan has {len(problems)} problem(s)", problems)
    return plan


def _plan_columns(result: Validation) -> list[str]:
    assert result.spec is not None
    assert result.loaded is not None
    spec, data = result.spec, result.loaded.config.data
    columns = [data.date_column, *([data.group_column] if data.group_column else [])]
    columns += [*spec.media_names, *_spend_columns(spec), *spec.controls]
    columns += [spec.population] if spec.population else []
    columns += [c.modulator for c in spec.cross_effects if c.modulator]
    columns += [spec.kpi_value] if isinstance(spec.kpi_value, str) else []
    return list(dict.fromkeys(columns))


def _spend_columns(spec: Any) -> list[str]:
    return [m.spend_column for m in spec.media if not m.organic]


def _rows(rows: list[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:5])
    return shown + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")


def _dates_follow(plan: pd.DataFrame, result: Validation, where: str) -> list[Problem]:
    """Each group's plan periods continue its modelled periods at the data frequency."""
    assert result.loaded is not None
    assert result.frame is not None
    data = result.loaded.config.data
    frame = result.frame
    if data.end is not None:
        frame = frame[frame[data.date_column] <= pd.Timestamp(data.end)]
    step = STEP[data.frequency]
    group = data.group_column
    problems = []
    parts = plan.groupby(group, sort=False) if group else [(None, plan)]
    for key, part in parts:
        label = None if key is None else str(key)
        if group is not None:
            known = {str(k) for k in frame[group].unique()}
            if label not in known:
                problems.append(
                    Problem(
                        f"{where}:{group}:row {_rows(list(part.index))}",
                        f"'{label}' is not a group of the run",
                    )
                )
                continue
            last = frame.loc[frame[group].astype(str) == str(label), data.date_column].max()
        else:
            last = frame[data.date_column].max()
        dates = part[data.date_column].sort_values()
        expected = pd.DatetimeIndex([last + (i + 1) * step for i in range(len(dates))])
        given = pd.DatetimeIndex(dates.to_numpy())
        if data.frequency == "monthly":  # month-end data: compare months, not days
            follows = bool((_months(given) == _months(expected)).all())
        else:
            follows = bool((given == expected).all())
        if not follows:
            first = dates.iloc[0].date() if len(dates) else "?"
            problems.append(
                Problem(
                    f"{where}:{data.date_column}:row {_rows(list(part.index))}",
                    f"the plan{'' if label is None else f' of {label}'} starts {first} and "
                    f"must continue the data: {expected[0].date()} onward, every period once",
                )
            )
    return problems


def _months(dates: pd.DatetimeIndex) -> npt.NDArray[np.int64]:
    return np.asarray(dates.year * 12 + dates.month, dtype=np.int64)


def _extended(
    result: Validation, plan: pd.DataFrame
) -> tuple[pd.DataFrame, npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """The run's checked frame (to data.end) with the plan appended and sorted; which of
    its rows the run fitted; which of the design's rows are the plan's."""
    assert result.loaded is not None
    assert result.frame is not None
    data = result.loaded.config.data
    frame = result.frame.copy()
    if data.end is not None:
        frame = frame[frame[data.date_column] <= pd.Timestamp(data.end)]
    frame["__plan__"] = False
    rows = plan.reindex(columns=frame.columns)
    rows["__plan__"] = True
    for column in frame.columns:  # keep the run's column types where the plan has values
        if column not in plan and column != "__plan__":
            rows[column] = np.nan
    joined = pd.concat([frame, rows], ignore_index=True)
    keys = [k for k in (data.group_column, data.date_column) if k]
    joined = joined.sort_values(keys, kind="stable", ignore_index=True)
    future = joined.pop("__plan__").to_numpy(dtype=bool)
    fitted = np.zeros(len(joined), dtype=bool)
    dates = joined[data.date_column]
    inside = ~future & (dates >= pd.Timestamp(data.start) if data.start else ~future)
    labels = joined[data.group_column].astype(str) if data.group_column else None
    for label in [None] if labels is None else labels.unique():
        own = inside if labels is None else inside & (labels == label).to_numpy()
        index = np.flatnonzero(own)
        fitted[index[: len(index) - data.holdout]] = True
    # the design keeps the rows from data.start on (in this order): the plan's among them
    kept = (dates >= pd.Timestamp(data.start)).to_numpy() if data.start else np.ones_like(future)
    return joined, fitted, future[kept]


# --- the forecast ------------------------------------------------------------------------


def _predictive(
    parts: dict[str, Array], expected: Array, post: Posterior, design: Design, seed: int
) -> Array:
    """KPI draws: the mean plus each row's noise (log response: on the log scale)."""
    rng = np.random.default_rng(seed + 8_000)
    noise = post.sigma_g[:, design.group] * design.y_sd * rng.standard_normal(expected.shape)
    if design.log_response:
        eta = sum(parts.values())
        assert isinstance(eta, np.ndarray)
        draws: Array = np.exp(eta + noise)
        return draws
    return np.asarray(expected + noise * design.per_capita[None, :])


def _kpi_table(design: Design, rows: Any, expected: Array, kpi: Array) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": design.dates[rows].strftime("%Y-%m-%d"),
            "group": [design.group_names[g] for g in design.group[rows]],
            "kpi_mean": kpi[:, rows].mean(axis=0),
            "kpi_q05": np.quantile(kpi[:, rows], LOW, axis=0),
            "kpi_q95": np.quantile(kpi[:, rows], HIGH, axis=0),
            "expected_mean": expected[:, rows].mean(axis=0),
        }
    )


def _contribution_table(
    design: Design, rows: Any, contributions: dict[str, Array]
) -> pd.DataFrame:
    frames = []
    for term, values in contributions.items():
        part = values[:, rows]
        frames.append(
            pd.DataFrame(
                {
                    "date": design.dates[rows].strftime("%Y-%m-%d"),
                    "group": [design.group_names[g] for g in design.group[rows]],
                    "term": term,
                    "mean": part.mean(axis=0),
                    "q05": np.quantile(part, LOW, axis=0),
                    "q95": np.quantile(part, HIGH, axis=0),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _interval(values: Array) -> dict[str, float]:
    return {
        "mean": float(values.mean()),
        "q05": float(np.quantile(values, LOW)),
        "q95": float(np.quantile(values, HIGH)),
    }


def _summary(
    design: Design,
    spec: ModelSpec,
    rows: Any,
    contributions: dict[str, Array],
    kpi: Array,
) -> dict[str, Any]:
    first = rows[design.group[rows] == design.group[rows].min()] if len(rows) else rows
    channels = {}
    for j, media in enumerate(spec.media):
        # national media run once for every group: their spend counts once (as in roi.csv)
        paid = first if media.scope == "national" and design.n_groups > 1 else rows
        channels[media.name] = {
            "spend": float(design.spend[paid, j].sum()),
            "contribution": _interval(contributions[media.name][:, rows].sum(axis=1)),
        }
    return {
        "periods": len(np.unique(design.dates[rows])),
        "kpi_total": _interval(kpi[:, rows].sum(axis=1)),
        "channels": channels,
    }


def _write(
    run_dir: Path,
    label: str,
    plan_path: Path,
    kpi: pd.DataFrame,
    contributions: pd.DataFrame,
    summary: dict[str, Any],
    design: Design,
    expected: Array,
) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in label)[:60] or "plan"
    folder = _new_folder(run_dir, safe)
    write_csv(kpi, folder / "forecast.csv")
    write_csv(contributions, folder / "forecast_contributions.csv")
    copy_file(plan_path, folder / "plan.csv")
    summary = {**summary, "plan": str(plan_path), "plan_sha256": file_sha256(plan_path)}
    write_json(folder / "forecast_summary.json", summary)
    from mmm_runner import plotting

    history = pd.DataFrame(
        {
            "date": design.dates,
            "group": [design.group_names[g] for g in design.group],
            "actual": design.kpi,
            "expected": expected.mean(axis=0),
        }
    )
    plotting.render_all([("forecast.png", "plan_forecast", (history, kpi))], folder, enabled=True)
    return folder
