"""Checks of the data against the model, before anything is compiled or fitted.

Each finding is a Problem located by the config path that names a column, or
by ``file:column:row N`` (N counts data rows from 1, after the header).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from mmm_runner.config.loader import LoadedConfig, Loc, format_loc
from mmm_runner.config.resolve import ModelSpec
from mmm_runner.errors import Problem

MAX_ROWS_LISTED = 5
ZERO_SHARE_WARNING = 0.8
COLLINEARITY_WARNING = 0.9


@dataclass
class DataCheck:
    """The cleaned frame (dates parsed, rows sorted) and what the checks found."""

    frame: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    profile: dict[str, Any] = field(default_factory=dict)


class _Checker:
    def __init__(self, loaded: LoadedConfig, spec: ModelSpec, data_path: Path) -> None:
        self.loaded = loaded
        self.config = loaded.config
        self.spec = spec
        self.file = _display(data_path)
        self.problems: list[Problem] = []

    def config_problem(
        self,
        loc: Loc,
        message: str,
        fix: str = "",
        severity: Literal["error", "warning"] = "error",
    ) -> None:
        self.problems.append(
            Problem(format_loc(loc), message, fix, None, severity, self.loaded.line(loc))
        )

    def data_problem(
        self,
        column: str,
        rows: list[int] | None,
        message: str,
        fix: str = "",
        value: str | None = None,
        severity: Literal["error", "warning"] = "error",
    ) -> None:
        where = f"{self.file}:{column}"
        if rows:
            shown = ", ".join(str(r) for r in rows[:MAX_ROWS_LISTED])
            more = (
                f" and {len(rows) - MAX_ROWS_LISTED} more" if len(rows) > MAX_ROWS_LISTED else ""
            )
            where += f":row {shown}{more}"
        self.problems.append(Problem(where, message, fix, value, severity))


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def column_locations(loaded: LoadedConfig, spec: ModelSpec) -> dict[str, Loc]:
    """Where in the config each data column is named (for error locations)."""
    cfg = loaded.config
    model = cfg.model
    formula: Loc = ("model", "formula")
    where: dict[str, Loc] = {spec.kpi: formula if model.formula else ("model", "kpi")}
    for name in (*spec.media_names, *spec.controls):
        where[name] = formula
    for i, m in enumerate(model.media):
        where[m.name] = ("model", "media", i, "name")
        if m.spend_column:
            where[m.spend_column] = ("model", "media", i, "spend_column")
    for i, c in enumerate(model.controls):
        where[c.name] = ("model", "controls", i, "name")
    for i, name in enumerate(model.hierarchical.cre):
        where.setdefault(name, ("model", "hierarchical", "cre", i))
    return where


def check_data(
    frame: pd.DataFrame, loaded: LoadedConfig, spec: ModelSpec, data_path: Path
) -> DataCheck:
    """Runs every data check; the returned frame is sorted with parsed dates."""
    c = _Checker(loaded, spec, data_path)
    frame = frame.copy()
    frame.index = pd.RangeIndex(1, len(frame) + 1)  # data row numbers for messages
    if not _columns_exist(c, frame):
        return DataCheck(frame, c.problems)
    dates_ok = _parse_dates(c, frame)
    _numeric_columns(c, frame)
    if not dates_ok:
        _values(c, frame)
        return DataCheck(frame, c.problems)
    frame = _sorted(c, frame)
    _dates_regular(c, frame)
    _values(c, frame)
    _sizes(c, frame)
    _warnings(c, frame)
    _changepoints(c, frame)
    _budget(c, frame)
    _cv(c, frame)
    return DataCheck(frame, c.problems, profile(frame, loaded, spec))


def _columns_exist(c: _Checker, frame: pd.DataFrame) -> bool:
    data = c.config.data
    present = set(frame.columns)
    needed: dict[str, Loc] = {data.date_column: ("data", "date_column")}
    if data.group_column:
        needed[data.group_column] = ("data", "group_column")
    where = column_locations(c.loaded, c.spec)
    for name in (*c.spec.columns, *c.spec.cre):
        needed.setdefault(name, where.get(name, ("model",)))
    ok = True
    for name, loc in needed.items():
        if name in present:
            continue
        ok = False
        close = difflib.get_close_matches(name, sorted(present), n=1, cutoff=0.6)
        fix = (
            f"did you mean '{close[0]}'?"
            if close
            else (f"columns in {c.file}: {', '.join(sorted(present)[:20])}")
        )
        c.config_problem(loc, f"column '{name}' is not in {c.file}", fix)
    return ok


def _parse_dates(c: _Checker, frame: pd.DataFrame) -> bool:
    """Parses the date column in place; False when some dates (or groups) are unusable."""
    column = c.config.data.date_column
    raw = frame[column]
    parsed = pd.to_datetime(raw, errors="coerce", format="mixed")
    bad = list(frame.index[parsed.isna()])
    if bad:
        c.data_problem(
            column,
            bad,
            "date cannot be read",
            "write dates as YYYY-MM-DD",
            value=repr(raw.loc[bad[0]]),
        )
    frame[column] = parsed
    group = c.config.data.group_column
    if group and frame[group].isna().any():
        c.data_problem(
            group,
            list(frame.index[frame[group].isna()]),
            "group is missing",
            "give every row its group (market, region, ...)",
        )
        return False
    return not bad


def _numeric_columns(c: _Checker, frame: pd.DataFrame) -> None:
    for name in (*c.spec.columns, *c.spec.cre):
        raw = frame[name]
        values = pd.to_numeric(raw, errors="coerce")
        not_number = list(frame.index[values.isna() & raw.notna()])
        if not_number:
            c.data_problem(
                name,
                not_number,
                "value is not a number",
                "remove units, thousands separators and text from the column",
                value=repr(raw.loc[not_number[0]]),
            )
        missing = list(frame.index[raw.isna()])
        if missing:
            c.data_problem(
                name,
                missing,
                "value is missing (empty or NaN)",
                "fill the gap (e.g. 0 for media with no activity) or drop the rows",
            )
        infinite = list(frame.index[np.isinf(values.fillna(0.0).to_numpy())])
        if infinite:
            c.data_problem(name, infinite, "value is infinite", "replace it with a number")
        frame[name] = values.astype(float)


def _sorted(c: _Checker, frame: pd.DataFrame) -> pd.DataFrame:
    date, group = c.config.data.date_column, c.config.data.group_column
    keys = [group, date] if group else [date]
    dupes = frame.duplicated(subset=keys, keep=False)
    if dupes.any():
        what = f"{group} and date" if group else "date"
        c.data_problem(
            date,
            list(frame.index[dupes]),
            f"the same {what} appears more than once",
            "keep one row per period" + (" and group" if group else ""),
        )
    ordered = frame.sort_values(keys, kind="stable")
    if not ordered.index.equals(frame.index):
        c.data_problem(
            date,
            None,
            "rows are not in date order; they are sorted before fitting",
            severity="warning",
        )
    return ordered


def _dates_regular(c: _Checker, frame: pd.DataFrame) -> None:
    data = c.config.data
    for label, part in _groups(frame, data.group_column):
        dates = part[data.date_column]
        if data.frequency == "monthly":
            months = dates.dt.year * 12 + dates.dt.month
            steps = months.diff().iloc[1:]
            bad = list(part.index[1:][steps.to_numpy() != 1])
            unit = "month"
        else:
            days = 7 if data.frequency == "weekly" else 1
            steps = dates.diff().dt.days.iloc[1:]
            bad = list(part.index[1:][steps.to_numpy() != days])
            unit = "7 days" if days == 7 else "day"
        if bad:
            where = f" in group {label}" if label is not None else ""
            c.data_problem(
                data.date_column,
                bad,
                f"dates are not regular{where}: each row should follow the previous by one {unit}",
                f"fill missing periods (e.g. with zero media) or set data.frequency "
                f"to match the data (now {data.frequency})",
            )


def _groups(frame: pd.DataFrame, group: str | None) -> list[tuple[Any, pd.DataFrame]]:
    if group is None:
        return [(None, frame)]
    return list(frame.groupby(group, sort=False))


def _values(c: _Checker, frame: pd.DataFrame) -> None:
    spec = c.spec
    where = column_locations(c.loaded, spec)
    for media in spec.media:
        for column in dict.fromkeys((media.name, media.spend_column)):
            negative = list(frame.index[frame[column] < 0])
            if negative:
                c.data_problem(
                    column,
                    negative,
                    "media cannot be negative",
                    "correct the values; refunds belong in a control, not in media",
                    value=f"{frame[column].min():g}",
                )
        if not (frame[media.name] > 0).any():
            c.config_problem(
                where.get(media.name, ("model",)),
                f"channel '{media.name}' is zero in every row",
                "remove it from the model: it has no activity to learn from",
            )
    if spec.log_response:
        nonpositive = list(frame.index[frame[spec.kpi] <= 0])
        if nonpositive:
            c.data_problem(
                spec.kpi,
                nonpositive,
                "a log-response model needs a KPI above 0",
                "use response identity, or remove the rows with zero KPI",
                value=f"{frame[spec.kpi].min():g}",
            )
    train = _train(c, frame)
    for name in (spec.kpi, *spec.controls):
        for label, part in _groups(train, c.config.data.group_column):
            if part[name].std(ddof=0) == 0 and not (name in spec.controls and label is not None):
                c.config_problem(
                    where.get(name, ("model",)),
                    f"column '{name}' is constant over the fitted rows",
                    "a constant column carries no information; remove it",
                )
                break


def _train(c: _Checker, frame: pd.DataFrame) -> pd.DataFrame:
    """The rows the model is fitted on (holdout periods removed per group)."""
    holdout = c.config.data.holdout
    if not holdout:
        return frame
    return pd.concat(
        part.iloc[:-holdout] for _, part in _groups(frame, c.config.data.group_column)
    )


def _sizes(c: _Checker, frame: pd.DataFrame) -> None:
    cfg, spec = c.config, c.spec
    groups = _groups(frame, cfg.data.group_column)
    n_groups = len(groups)
    shortest = min(len(part) for _, part in groups)
    holdout = cfg.data.holdout
    fitted = shortest - holdout
    if holdout and fitted < 2:
        c.config_problem(
            ("data", "holdout"),
            f"holdout {holdout} leaves {fitted} rows to fit",
            "hold out fewer periods",
        )
        return
    n_params = spec.n_parameters(n_groups)
    n_rows = sum(len(part) - holdout for _, part in groups)
    if n_rows <= n_params:
        c.config_problem(
            ("model",),
            f"{n_rows} fitted rows for {n_params} parameters: the data cannot identify the model",
            "remove terms, lower seasonality orders, or add data",
        )
    elif n_rows < 3 * n_params:
        c.config_problem(
            ("model",),
            f"only {n_rows} fitted rows for {n_params} parameters; "
            "estimates will lean on the priors",
            "consider fewer terms",
            severity="warning",
        )
    for i, media in enumerate(spec.media):
        if media.l_max >= fitted:
            c.config_problem(
                ("model", "media", i, "adstock", "l_max"),
                f"l_max {media.l_max} is not shorter than the {fitted} fitted rows of the series",
                "use a shorter adstock window",
            )
    for period, order in spec.seasonality:
        if 2 * order >= period:
            c.config_problem(
                ("model", "seasonality"),
                f"order {order} is too high for period {period:g}: needs 2 × order < period",
                "lower the order",
            )


def _warnings(c: _Checker, frame: pd.DataFrame) -> None:
    names = list(c.spec.media_names)
    for name in names:
        zero_share = float((frame[name] == 0).mean())
        if zero_share >= ZERO_SHARE_WARNING:
            c.data_problem(
                name,
                None,
                f"zero in {zero_share:.0%} of periods: its effect will be poorly identified",
                "consider merging it with a related channel",
                severity="warning",
            )
    if len(names) > 1:
        corr = frame[names].corr().to_numpy()
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                if abs(corr[i, j]) >= COLLINEARITY_WARNING:
                    c.data_problem(
                        f"{names[i]}+{names[j]}",
                        None,
                        f"media are strongly collinear (correlation "
                        f"{corr[i, j]:.2f}): their effects are hard to separate",
                        "use informative priors or combine the channels",
                        severity="warning",
                    )


def _changepoints(c: _Checker, frame: pd.DataFrame) -> None:
    trend = c.spec.trend
    if trend is None or not trend.changepoints:
        return
    dates = frame[c.config.data.date_column]
    first, last = dates.min().date(), dates.max().date()
    for i, point in enumerate(trend.changepoints):
        if not first < point < last:
            c.config_problem(
                ("model", "trend", "changepoints", i),
                f"changepoint {point} is outside the data ({first} to {last})",
                "pick a date inside the series",
            )


def current_spend(
    frame: pd.DataFrame, spec: ModelSpec, horizon: int, date_column: str
) -> dict[str, float]:
    """Spend per channel over the last ``horizon`` periods (summed over groups)."""
    dates = sorted(frame[date_column].unique())
    window = frame[frame[date_column].isin(dates[-horizon:])]
    return {m.name: float(window[m.spend_column].sum()) for m in spec.media}


def _budget(c: _Checker, frame: pd.DataFrame) -> None:
    budget = c.config.budget
    if budget is None or not budget.enabled:
        return
    periods = frame[c.config.data.date_column].nunique()
    if budget.horizon > periods:
        c.config_problem(
            ("budget", "horizon"),
            f"horizon {budget.horizon} is longer than the {periods} periods of data",
            "use a shorter horizon",
        )
        return
    from mmm_runner.analysis.budget import channel_bounds

    current = current_spend(frame, c.spec, budget.horizon, c.config.data.date_column)
    total = budget.total if budget.total is not None else sum(current.values())
    bounds = channel_bounds(budget, current)
    low = sum(b[0] for b in bounds.values())
    high = sum(b[1] for b in bounds.values())
    if not low <= total * (1 + 1e-9):
        c.config_problem(
            ("budget",),
            f"infeasible: the channel minimums add up to {low:,.0f}, above the total {total:,.0f}",
            "raise budget.total or lower minimums",
        )
    if not total <= high * (1 + 1e-9):
        c.config_problem(
            ("budget",),
            f"infeasible: the channel maximums add up to {high:,.0f}, "
            f"below the total {total:,.0f}",
            "lower budget.total, raise maximums or unlock channels",
        )


def _cv(c: _Checker, frame: pd.DataFrame) -> None:
    cv = c.config.cv
    if cv is None or not cv.enabled:
        return
    periods = frame[c.config.data.date_column].nunique() - c.config.data.holdout
    if cv.initial + cv.horizon > periods:
        c.config_problem(
            ("cv", "initial"),
            f"initial {cv.initial} + horizon {cv.horizon} exceeds the {periods} fitted periods",
            "shorten initial or horizon",
        )


def profile(frame: pd.DataFrame, loaded: LoadedConfig, spec: ModelSpec) -> dict[str, Any]:
    """A short description of the data: the validate summary and the pre-run profile."""
    data = loaded.config.data
    dates = frame[data.date_column]
    groups = sorted(frame[data.group_column].astype(str).unique()) if data.group_column else []
    columns: dict[str, dict[str, float]] = {}
    for name in spec.columns:
        values = frame[name]
        columns[name] = {
            "mean": float(values.mean()),
            "sd": float(values.std(ddof=0)),
            "min": float(values.min()),
            "max": float(values.max()),
            "zero_share": float((values == 0).mean()),
        }
    terms = [*spec.media_names, *spec.controls]
    if spec.trend is not None:
        terms.append(f"trend({spec.trend.type})")
    terms += [f"season(period={p:g}, order={o})" for p, o in spec.seasonality]
    return {
        "rows": len(frame),
        "date_range": [str(dates.min().date()), str(dates.max().date())],
        "periods": int(dates.nunique()),
        "groups": groups,
        "kpi": spec.kpi,
        "response": "log" if spec.log_response else "identity",
        "model_class": spec.model_class,
        "terms": terms,
        "parameters": spec.n_parameters(max(1, len(groups))),
        "holdout": data.holdout,
        "columns": columns,
    }
