"""Checks of the data against the model, before anything is compiled or fitted.

Each finding is a Problem located by the config path that names a column, or
by ``file:column:row N`` (N counts data rows from 1, after the header).
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from mmm_runner.config import resolve
from mmm_runner.config.loader import LoadedConfig, Loc, format_loc
from mmm_runner.config.resolve import ModelSpec
from mmm_runner.data.calendar import countries, holiday_dates, indicator
from mmm_runner.data.design import category_labels
from mmm_runner.errors import Problem
from mmm_runner.model import hsgp

MAX_ROWS_LISTED = 5
MAX_LEVELS = 50  # a categorical term with more levels is refused
ZERO_SHARE_WARNING = 0.8
COLLINEARITY_WARNING = 0.9
Pair = tuple[int, int, float]
MAX_PAIRS_LISTED = 10  # collinear pairs warned about one by one; the rest are counted
CORRELATION_BLOCK = 512  # columns per block of the correlation matrix (bounds memory)


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
    listed = {o.name: i for i, o in enumerate(model.outcomes)}
    for outcome in spec.outcomes:
        i = listed.get(outcome.name)
        own_column = i is not None and model.outcomes[i].column is not None
        where[outcome.column] = (
            ("model", "outcomes", i, "column" if own_column else "name")
            if i is not None
            else formula
        )
    for i, cross in enumerate(model.cross_effects):
        if cross.modulator:
            where.setdefault(cross.modulator, ("model", "cross_effects", i, "modulator"))
    if isinstance(spec.kpi_value, str):
        where[spec.kpi_value] = ("model", "kpi_value")
    if spec.population:
        where[spec.population] = ("model", "population", "column")
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
    for part in spec.crossed:
        where.setdefault(
            part.column, formula if model.formula else ("model", "hierarchical", "crossed")
        )
    for i, mediator in enumerate(model.mediators):
        where.setdefault(
            mediator.column or mediator.name,
            ("model", "mediators", i, "column" if mediator.column else "name"),
        )
    return where


def check_data(
    frame: pd.DataFrame, loaded: LoadedConfig, spec: ModelSpec, data_path: Path
) -> DataCheck:
    """Runs every data check; the returned frame is sorted with parsed dates."""
    c = _Checker(loaded, spec, data_path)
    frame = frame.copy()
    frame.index = pd.RangeIndex(1, len(frame) + 1)  # data row numbers for messages
    if not _columns_exist(c, frame) or not _total_name_free(c, frame):
        return DataCheck(frame, c.problems)
    dates_ok = _parse_dates(c, frame)
    warmup = frame.iloc[0:0]
    if dates_ok:
        frame, warmup = _window(c, frame)
        if frame.empty:
            return DataCheck(frame, c.problems)
    unusable = _numeric_columns(c, frame)
    if not dates_ok:
        _values(c, frame, unusable)
        return DataCheck(frame, c.problems)
    _warmup_media(c, warmup)
    frame = _sorted(c, frame)
    _categorical(c, frame)  # after sorting: held-out rows are the last of each group
    _crossed(c, frame)
    _dates_regular(c, frame)
    _values(c, frame, unusable)
    # Warnings describe usable data: after a data error they would only add noise.
    data_ok = not any(p.severity == "error" for p in c.problems)
    _sizes(c, frame)
    if data_ok:
        _warnings(c, frame)
    _changepoints(c, frame)
    _calendar(c, frame)
    _lift_tests(c, frame)
    _roi_windows(c, frame)
    _budget(c, frame)
    _cv(c, frame)
    if spec.outcomes and not any(p.severity == "error" for p in c.problems):
        frame = with_total(frame, spec)
        warmup = with_total(warmup, spec)
    checked = profile(frame, loaded, spec)
    if not warmup.empty:  # the design reads the warm-up rows' media for carry-over
        keys = [k for k in (c.config.data.group_column, c.config.data.date_column) if k]
        frame = pd.concat([warmup, frame]).sort_values(keys, kind="stable")
    return DataCheck(frame, c.problems, checked)


def _total_name_free(c: _Checker, frame: pd.DataFrame) -> bool:
    """Several outcomes: the name of their total must not be a column of the data."""
    if not c.spec.outcomes or c.spec.kpi not in frame.columns:
        return True
    c.config_problem(
        ("model", "kpi"),
        f"'{c.spec.kpi}' names the outcomes' total, but the data has a column of that name",
        "set model.kpi to a name the data does not use (e.g. total_sales)",
    )
    return False


def with_total(frame: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    """The frame with the KPI column of several outcomes: their value-weighted total."""
    if not spec.outcomes:
        return frame
    total = sum(o.value * frame[o.column].astype(float) for o in spec.outcomes)
    return frame.assign(**{spec.kpi: total})


def _calendar(c: _Checker, frame: pd.DataFrame) -> None:
    """A known country, subdivision and holiday names; each term occurs in the fitted rows."""
    calendar = c.spec.calendar
    if calendar is None:
        return
    data = c.config.data
    train = _train(c, frame)
    dates = pd.DatetimeIndex(train[data.date_column])
    if calendar.country is not None:
        supported = countries()
        if calendar.country not in supported:
            c.config_problem(
                ("model", "calendar", "country"),
                f"no holiday calendar for country {calendar.country!r}",
                "use an ISO 3166 code such as US, GB, DE, FR, BR, IN "
                + difflib_hint(calendar.country, list(supported)),
            )
            return
        subdivisions = supported[calendar.country]
        if calendar.subdivision is not None and calendar.subdivision not in subdivisions:
            c.config_problem(
                ("model", "calendar", "subdivision"),
                f"{calendar.country} has no subdivision {calendar.subdivision!r}",
                f"choose one of: {', '.join(subdivisions[:20])}",
            )
            return
        years = range(dates.min().year, dates.max().year + 2)
        found = holiday_dates(calendar.country, calendar.subdivision, years)
        for i, name in enumerate(calendar.holidays or []):
            if name not in found:
                c.config_problem(
                    ("model", "calendar", "holidays", i),
                    f"{calendar.country} has no holiday named {name!r} in {years[0]}-{years[-1]}",
                    difflib_hint(name, list(found)) or f"known: {', '.join(list(found)[:8])}",
                )
            elif not indicator(dates, data.frequency, found[name]).any():
                c.config_problem(
                    ("model", "calendar", "holidays", i),
                    f"holiday {name!r} falls in none of the fitted periods",
                    "remove it: its effect cannot be learnt",
                )
    for i, event in enumerate(calendar.events):
        if not indicator(dates, data.frequency, event.dates).any():
            c.config_problem(
                ("model", "calendar", "events", i, "dates"),
                f"event {event.name!r} falls in none of the fitted periods "
                f"({dates.min().date()} to {dates.max().date()})",
                "check its dates, or remove it: its effect cannot be learnt",
            )


def difflib_hint(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=3, cutoff=0.6)
    return f"(did you mean {', '.join(repr(o) for o in close)}?)" if close else ""


def _window(c: _Checker, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of the fitting window (data.start..data.end) and the warm-up rows before it."""
    data = c.config.data
    if data.start is None and data.end is None:
        return frame, frame.iloc[0:0]
    dates = frame[data.date_column]
    first, last = dates.min(), dates.max()
    start = pd.Timestamp(data.start) if data.start else first
    end = pd.Timestamp(data.end) if data.end else last
    if start > last:
        c.config_problem(
            ("data", "start"),
            f"the window starts at {start.date()}, after the data's last date ({last.date()})",
            f"choose a start between {first.date()} and {last.date()}",
        )
    if end < first:
        c.config_problem(
            ("data", "end"),
            f"the window ends at {end.date()}, before the data's first date ({first.date()})",
            f"choose an end between {first.date()} and {last.date()}",
        )
    inside = (dates >= start) & (dates <= end)
    if not inside.any():
        return frame.iloc[0:0], frame.iloc[0:0]
    return frame[inside].copy(), frame[dates < start].copy()


def _warmup_media(c: _Checker, warmup: pd.DataFrame) -> None:
    """Media of the warm-up rows must be numbers of at least 0 (their KPI is not used)."""
    columns: dict[str, None] = {}
    for m in c.spec.media:
        columns.update(dict.fromkeys((m.name,) if m.organic else (m.name, m.spend_column)))
    if c.spec.population:  # per-capita media of the warm-up rows divide by it
        columns[c.spec.population] = None
    for name in columns:
        values = pd.to_numeric(warmup[name], errors="coerce")
        bad = list(warmup.index[values.isna() | (values < 0) | np.isinf(values.fillna(0.0))])
        if bad:
            c.data_problem(
                name,
                bad,
                "media of a warm-up row (before data.start) must be a number of at least 0",
                "fill it (0 for no activity), or move data.start so fewer rows warm up",
                value=repr(_plain(warmup[name].loc[bad[0]])),
            )
        warmup[name] = values.astype(float)


def _plain(value: object) -> object:
    """A NumPy scalar as the Python value it holds (for messages)."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def _categorical(c: _Checker, frame: pd.DataFrame) -> None:
    """Categorical controls: no gaps, at least two levels, a reference that exists, and
    every level present in the fitted rows (else its effect cannot be learnt)."""
    where = column_locations(c.loaded, c.spec)
    train = _train(c, frame)
    for name, reference in c.spec.categorical.items():
        missing = list(frame.index[frame[name].isna()])
        if missing:
            c.data_problem(
                name,
                missing,
                "category is missing (empty)",
                "give the row its level (e.g. 'none' for no event)",
            )
            continue
        labels = category_labels(frame[name])
        found = sorted(set(labels.tolist()))
        if len(found) < 2:
            c.config_problem(
                where.get(name, ("model",)),
                f"categorical '{name}' has a single level ({found[0]!r}): nothing to compare",
                "remove the term",
            )
            continue
        if len(found) > MAX_LEVELS:
            c.config_problem(
                where.get(name, ("model",)),
                f"categorical '{name}' has {len(found)} levels (more than {MAX_LEVELS}): "
                "each gets its own coefficient",
                "group rare levels together, or enter the column as a number",
            )
        if reference is not None and reference not in found:
            entry = where.get(name, ("model",))
            c.config_problem(
                (*entry[:-1], "reference") if entry[-1] == "name" else entry,
                f"reference level {reference!r} does not occur in '{name}'",
                f"choose one of: {', '.join(found[:10])}",
            )
        fitted = set(category_labels(train[name]).tolist())
        unseen = [level for level in found if level not in fitted]
        if unseen:
            rows = list(frame.index[np.isin(labels, unseen)])
            c.data_problem(
                name,
                rows,
                f"level {unseen[0]!r} occurs only in held-out rows: its effect cannot be "
                "learnt from the fit",
                "merge it into another level, or hold out fewer periods",
            )


def _roi_windows(c: _Checker, frame: pd.DataFrame) -> None:
    """An ROI prior's window holds fitted periods in which the channel spent; a share
    prior's, fitted periods whose KPI adds up to more than 0."""
    train = _train(c, frame)
    dates = train[c.config.data.date_column]
    spend_of = {m.name: m.spend_column for m in c.spec.media}
    for key, priors in (("roi", c.spec.roi_priors), ("share", c.spec.share_priors)):
        for i, roi in enumerate(priors):
            inside = pd.Series(True, index=train.index)
            if roi.start is not None:
                inside &= dates >= pd.Timestamp(roi.start)
            if roi.end is not None:
                inside &= dates <= pd.Timestamp(roi.end)
            column = spend_of[roi.channel] if key == "roi" else c.spec.kpi
            if column not in train:
                continue  # a KPI built from outcomes: the class refuses these priors
            total = float(pd.to_numeric(train.loc[inside, column], errors="coerce").sum())
            if total > 0:
                continue
            if not inside.any():
                message = f"the {key.upper() if key == 'roi' else key} prior's window holds "
                message += "no fitted period"
            elif key == "roi":
                message = f"'{roi.channel}' spent nothing in the fitted periods of the ROI "
                message += "prior's window"
            else:
                message = f"the KPI adds up to {total:g} over the share prior's window"
            c.config_problem(
                ("calibration", f"{key}_priors", i),
                message,
                "widen the window (start, end) to fitted periods with "
                + ("spend" if key == "roi" else "KPI"),
            )


def _lift_tests(c: _Checker, frame: pd.DataFrame) -> None:
    """A lift test ran in one group of a panel, inside the modelled periods, and a
    go-dark test cannot remove more spend than the channel had."""
    data = c.config.data
    group = data.group_column
    media = {m.name: m for m in c.spec.media}
    for i, test in enumerate(c.spec.lift_tests):
        at: Loc = ("calibration", "lift_tests", i)
        if test.channel not in media:
            continue  # the config check names it
        rows = frame
        if group is not None:
            if test.group is None:
                c.config_problem(
                    (*at, "group"),
                    f"a panel's lift test names its group ({group})",
                    f"set group: to the {group} the test ran in",
                )
                continue
            labels = frame[group].astype(str)
            if str(test.group) not in set(labels):
                c.config_problem(
                    (*at, "group"),
                    f"{group} '{test.group}' is not in {c.file}",
                    difflib_hint(str(test.group), sorted(set(labels))),
                )
                continue
            rows = frame[labels == str(test.group)]
        elif test.group is not None:
            c.config_problem((*at, "group"), "the data have no groups", "remove `group`")
            continue
        first, last = rows[data.date_column].min(), rows[data.date_column].max()
        until = pd.Timestamp(test.measured_until or test.end)
        if pd.Timestamp(test.start) < first or until > last:
            c.config_problem(
                (*at, "start" if pd.Timestamp(test.start) < first else "measured_until"),
                f"the test's periods ({test.start} to {until.date()}) are not all inside the "
                f"modelled periods ({first.date()} to {last.date()})",
                "move the test window inside data.start/data.end and the data",
            )
            continue
        fitted_until = _train(c, rows)[data.date_column].max()
        if until > fitted_until:
            c.config_problem(
                (*at, "measured_until"),
                f"the test is measured until {until.date()}, past the last fitted period "
                f"({fitted_until.date()}): held-out periods cannot inform the fit",
                "hold out fewer periods (data.holdout) or drop the test",
            )
            continue
        window = rows[
            (rows[data.date_column] >= pd.Timestamp(test.start))
            & (rows[data.date_column] <= pd.Timestamp(test.end))
        ]
        if window.empty:
            c.config_problem(
                (*at, "start"), "no period of the data falls in the test window", "check the dates"
            )
            continue
        spend_column = media[test.channel].spend_column
        spent = float(pd.to_numeric(window[spend_column], errors="coerce").sum())
        if test.spend_change < 0 and -test.spend_change > spent * (1 + 1e-9):
            c.config_problem(
                (*at, "spend_change"),
                f"the test removes {-test.spend_change:,.2f} of spend but '{spend_column}' "
                f"holds {spent:,.2f} in the test window",
                "a go-dark test removes at most what was spent (spend_change: -spent)",
            )


def _crossed(c: _Checker, frame: pd.DataFrame) -> None:
    """A crossed column labels whole groups (each group one level) and has two levels."""
    group = c.config.data.group_column
    if group is None:
        return
    for part in c.spec.crossed:
        name = part.column
        missing = frame.index[frame[name].isna()].tolist()
        if missing:
            c.data_problem(name, missing, f"'{name}' is empty", f"give every row its {name}")
            continue
        per_group = frame.groupby(group, sort=False)[name].nunique()
        mixed = per_group[per_group > 1]
        if len(mixed):
            label = mixed.index[0]
            rows = frame.index[frame[group] == label].tolist()
            c.data_problem(
                name,
                rows,
                f"group '{label}' has {int(mixed.iloc[0])} values of '{name}': effects that "
                f"vary by {name} need each {group} to be one {name}",
                f"make data.group_column name each {name} x {group} series (long data: "
                f"list {name} under data.dimensions)",
            )
        elif frame[name].nunique() < 2:
            c.data_problem(
                name,
                None,
                f"'{name}' has one value: nothing to pool across",
                f"drop the (... | {name}) part",
            )


def _columns_exist(c: _Checker, frame: pd.DataFrame) -> bool:
    data = c.config.data
    present = set(frame.columns)
    needed: dict[str, Loc] = {data.date_column: ("data", "date_column")}
    if data.group_column:
        needed[data.group_column] = ("data", "group_column")
    where = column_locations(c.loaded, c.spec)
    for name in (*c.spec.columns, *c.spec.cre, *(p.column for p in c.spec.crossed)):
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


def _numeric_columns(c: _Checker, frame: pd.DataFrame) -> set[str]:
    """Converts the model's columns to floats in place; returns those with bad values.

    Thousands of clean numeric columns are checked in one pass; only columns that hold
    text, gaps or infinities are examined one by one for the messages.
    """
    categorical = set(c.spec.categorical)
    gaps = set(c.spec.gaps_allowed)
    names = [n for n in dict.fromkeys((*c.spec.columns, *c.spec.cre)) if n not in categorical]
    dtypes = frame.dtypes
    numeric = [n for n in names if pd.api.types.is_numeric_dtype(dtypes[n])]
    flagged = set(names) - set(numeric)
    if numeric:
        finite = np.isfinite(frame[numeric].to_numpy(dtype=float)).all(axis=0)
        flagged |= {n for n, ok in zip(numeric, finite, strict=True) if not ok}
        for name, ok in zip(numeric, finite, strict=True):
            if ok and dtypes[name] != np.float64:
                frame[name] = frame[name].astype(float)
    unusable: set[str] = set()
    for name in (n for n in names if n in flagged):  # in the model's order
        raw = frame[name]
        values = pd.to_numeric(raw, errors="coerce")
        not_number = list(frame.index[values.isna() & raw.notna()])
        if not_number and name in c.spec.controls and len(not_number) >= raw.notna().sum() / 2:
            shown = ", ".join(repr(v) for v in list(dict.fromkeys(raw.dropna()))[:4])
            c.data_problem(
                name,
                not_number,
                f"the control holds text ({shown}, ...): a category, not a number",
                f"write factor({name}) in model.formula, or `type: categorical` for it under "
                "model.controls (one effect per level); if it is a number, remove the text",
                value=repr(raw.loc[not_number[0]]),
            )
        elif not_number:
            c.data_problem(
                name,
                not_number,
                "value is not a number",
                "remove units, thousands separators and text from the column",
                value=repr(raw.loc[not_number[0]]),
            )
        missing = [] if name in gaps else list(frame.index[raw.isna()])
        mediator = name in {m.column for m in c.spec.mediators}
        if missing:
            c.data_problem(
                name,
                missing,
                "value is missing (empty or NaN)",
                "a mediator measured in some periods only (a survey) is `observation: partial`"
                if mediator
                else "fill the gap (e.g. 0 for media with no activity) or drop the rows",
            )
        infinite = list(frame.index[np.isinf(values.fillna(0.0).to_numpy())])
        if infinite:
            c.data_problem(name, infinite, "value is infinite", "replace it with a number")
        if not_number or missing or infinite:
            unusable.add(name)
        frame[name] = values.astype(float)
    return unusable


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
    # Order matters within a series only: a panel may stack its groups in any order or
    # interleave them by date.
    dates = frame[date]
    steps = dates.groupby(frame[group], sort=False).diff() if group else dates.diff()
    back = list(frame.index[(steps < pd.Timedelta(0)).to_numpy()])
    if back:
        within = " within a group" if group else ""
        c.data_problem(
            date,
            back,
            f"rows are not in date order{within} (the date goes back at these rows); "
            "they are sorted before fitting",
            severity="warning",
        )
    return frame.sort_values(keys, kind="stable")


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


def _values(c: _Checker, frame: pd.DataFrame, unusable: set[str]) -> None:
    """Value rules (media not negative, KPI positive for logs, no constant columns) on
    the columns whose values could all be read."""
    spec = c.spec
    where = column_locations(c.loaded, spec)
    for media in spec.media:
        if media.name in unusable:
            continue
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
    for name, transform in c.spec.control_transforms.items():
        if name in unusable:
            continue
        below = frame[name] <= 0 if transform == "log" else frame[name] < 0
        bad = list(frame.index[below])
        if bad:
            c.data_problem(
                name,
                bad,
                f"a control with transform {transform} must be "
                + ("above 0 (it enters as log(x))" if transform == "log" else "at least 0"),
                f"correct the values, or remove `transform: {transform}`",
                value=f"{frame[name].min():g}",
            )
    positive: list[tuple[object, str]] = [
        (spec.kpi_value, "a KPI value must be above 0 (money per KPI unit)"),
        (spec.population, "a population must be above 0 (the KPI is divided by it)"),
    ]
    for source, message in positive:
        if isinstance(source, str) and source not in unusable:
            bad = list(frame.index[frame[source] <= 0])
            if bad:
                c.data_problem(
                    source,
                    bad,
                    message,
                    "correct the values",
                    value=f"{frame[source].min():g}",
                )
    if spec.log_response and spec.kpi not in unusable:
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
    group = c.config.data.group_column
    names = [n for n in dict.fromkeys((*spec.kpi_columns, *spec.controls)) if n not in unusable]
    # A control constant within a group still varies across groups; the KPI may not be
    # constant in any group.
    values = _block(train, names)
    overall = values.std(ddof=0)
    by_group = values.groupby(train[group].to_numpy()).std(ddof=0) if group else None
    for name in values.columns:
        constant = overall[name] == 0
        if by_group is not None and name in spec.kpi_columns:
            constant = bool((by_group[name] == 0).any())
        if constant:
            c.config_problem(
                where.get(name, ("model",)),
                f"column '{name}' is constant over the fitted rows",
                "a constant column carries no information; remove it",
            )


def _block(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """The numeric ones of the columns as one float block: column-wise reductions then run
    once, not per column (a frame assembled column by column keeps a block per column)."""
    dtypes = frame.dtypes
    numeric = [n for n in names if pd.api.types.is_numeric_dtype(dtypes[n])]
    return pd.DataFrame(frame[numeric].to_numpy(dtype=float), index=frame.index, columns=numeric)


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
    for name in spec.categorical:  # counted once above; each level beyond two adds one
        n_params += max(0, frame[name].nunique() - 2)
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
    _gp_reach(c, groups, holdout)
    _one_calendar(c, groups)
    _seasonality_length(c, frame)


def _one_calendar(c: _Checker, groups: list[tuple[Any, pd.DataFrame]]) -> None:
    """A gp trend and a drift follow one path over the period index for every group, so
    the groups must cover the same dates (else period t is a different week per group)."""
    spec = c.spec
    gp = spec.trend is not None and spec.trend.type == "gp"
    if len(groups) < 2 or not (gp or spec.time_varying):
        return
    date = c.config.data.date_column
    first_name, first = groups[0]
    dates = set(first[date])
    for name, part in groups[1:]:
        if set(part[date]) != dates:
            what = "a gp trend" if gp else "time-varying channels"
            c.config_problem(
                ("model", "trend", "type") if gp else ("model", "media"),
                f"{what} follow one path through time for every group, but groups "
                f"'{first_name}' and '{name}' cover different dates",
                "give every group the same dates (data.start / data.end can cut them to a "
                "common window), or use a linear or spline trend and constant effects",
            )
            return


def _gp_reach(c: _Checker, groups: list[tuple[Any, pd.DataFrame]], holdout: int) -> None:
    """A gp trend's basis holds a quarter of the fitted span past the end (less with a
    close boundary_factor; hsgp.reach): beyond it the basis extrapolates, and past its
    boundary it repeats itself mirrored."""
    trend = c.spec.trend
    if trend is None or trend.type != "gp" or not holdout:
        return
    span = max(len(part) for _, part in groups) - holdout
    reach = hsgp.reach_periods(trend, span)
    if holdout > reach:
        c.config_problem(
            ("data", "holdout"),
            f"holdout {holdout} reaches past what a gp trend fitted on {span} periods can "
            f"predict ({reach} periods past the end)",
            f"hold out at most {reach} periods, or use a linear or spline trend",
        )


def _seasonality_length(c: _Checker, frame: pd.DataFrame) -> None:
    """A seasonality must complete a cycle within the fitted periods.

    Over less than one cycle its sines and cosines are smooth curves that the trend and
    intercept also describe, so the seasonal effect is not identified.  A period is
    seen when the data hold at least its whole number of rows (52 weekly rows show a
    52.18-row year).  (Periods under two rows and aliasing orders are config errors,
    reported by resolve.)
    """
    cfg = c.config
    periods = frame[cfg.data.date_column].nunique() - cfg.data.holdout
    for i, (period, _) in enumerate(c.spec.seasonality):
        if math.floor(period) <= periods:
            continue
        what = resolve.describe_seasonality(cfg, i, period)
        if cfg.model.seasonality:
            fix = f"use a period of at most {periods} rows, remove this seasonality, or add data"
        else:
            fix = (
                "switch the default seasonality off with `seasonality: []`"
                + (" (or drop `season` from model.formula)" if cfg.model.formula else "")
                + ", or add data"
            )
        c.config_problem(
            resolve.seasonality_location(cfg, i, "period"),
            f"{what} is longer than the {periods} fitted periods of the data: less than one "
            "cycle is seen, so the seasonal terms cannot be told apart from the trend and "
            "intercept",
            fix,
        )


def _warnings(c: _Checker, frame: pd.DataFrame) -> None:
    """Media that are rarely active, and regressors too correlated to separate."""
    names = list(c.spec.media_names)
    zero_shares = (frame[names] == 0).mean() if names else pd.Series(dtype=float)
    for name in names:
        zero_share = float(zero_shares[name])
        if zero_share >= ZERO_SHARE_WARNING:
            c.data_problem(
                name,
                None,
                f"zero in {zero_share:.0%} of periods: its effect will be poorly identified",
                "consider merging it with a related channel",
                severity="warning",
            )
    _collinearity(c, _train(c, frame))


def _collinearity(c: _Checker, frame: pd.DataFrame) -> None:
    """Warns about pairs of media or controls correlated beyond COLLINEARITY_WARNING."""
    media = set(c.spec.media_names)
    block = _block(frame, list(dict.fromkeys((*c.spec.media_names, *c.spec.controls))))
    names = list(block.columns)
    if len(names) < 2:
        return
    pairs = collinear_pairs(block.to_numpy(), COLLINEARITY_WARNING)
    for i, j, r in pairs[:MAX_PAIRS_LISTED]:
        kind = "media" if names[i] in media and names[j] in media else "terms"
        c.data_problem(
            f"{names[i]}+{names[j]}",
            None,
            f"{kind} are strongly collinear (correlation {r:.2f}): their effects are hard "
            "to separate",
            "use informative priors, combine the columns, or drop one",
            severity="warning",
        )
    if len(pairs) > MAX_PAIRS_LISTED:
        rest = pairs[MAX_PAIRS_LISTED:]
        shown = ", ".join(f"{names[i]}+{names[j]}" for i, j, _ in rest[:MAX_ROWS_LISTED])
        more = f" and {len(rest) - MAX_ROWS_LISTED} more" if len(rest) > MAX_ROWS_LISTED else ""
        c.data_problem(
            "several columns",
            None,
            f"{len(rest)} more pairs of terms are strongly collinear "
            f"(|correlation| ≥ {COLLINEARITY_WARNING:g}): {shown}{more}",
            "combine or drop redundant columns",
            severity="warning",
        )


def collinear_pairs(values: npt.NDArray[np.float64], threshold: float) -> list[Pair]:
    """Column pairs (i, j, correlation), i < j, with |correlation| ≥ threshold.

    One matrix product per block of columns instead of a loop over pairs: thousands of
    columns take a fraction of a second, and memory stays at a block × columns matrix.
    Constant columns correlate with nothing (they are reported as constant elsewhere).
    """
    centred = values - values.mean(axis=0)
    sd = np.sqrt((centred * centred).mean(axis=0))
    # Rounding leaves a constant column a tiny sd; dividing by it would amplify noise.
    scale = np.abs(values).max(axis=0, initial=0.0)
    varying = np.flatnonzero(sd > 1e-12 * scale)
    z = centred[:, varying] / sd[varying]
    n_rows, n_cols = z.shape
    found: list[Pair] = []
    for start in range(0, n_cols, CORRELATION_BLOCK):
        stop = min(start + CORRELATION_BLOCK, n_cols)
        corr = np.clip(z[:, start:stop].T @ z[:, start:] / n_rows, -1.0, 1.0)
        strong = np.abs(corr) >= threshold
        strong &= np.arange(start, n_cols)[None, :] > np.arange(start, stop)[:, None]
        for a, b in zip(*np.nonzero(strong), strict=True):
            found.append((int(varying[start + a]), int(varying[start + b]), float(corr[a, b])))
    found.sort(key=lambda pair: (-abs(pair[2]), pair[0], pair[1]))
    return found


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
    return {m.name: float(window[m.spend_column].sum()) for m in spec.media if not m.organic}


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
    _budget_groups(c, frame)
    if budget.mode != "total":  # the total is the result; each channel needs a ceiling
        for name, (_, high) in bounds.items():
            if not math.isfinite(high):
                c.config_problem(
                    ("budget", "channels", name),
                    f"budget.mode {budget.mode} needs a ceiling for every channel; "
                    f"'{name}' has a min but no max",
                    "give it a `max` (or a relative `change` instead of min)",
                )
        return
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


def _budget_groups(c: _Checker, frame: pd.DataFrame) -> None:
    """budget.by_group: its cells name groups of the data."""
    budget, group = c.config.budget, c.config.data.group_column
    if budget is None or budget.by_group is None or group is None:
        return
    known = sorted(frame[group].astype(str).unique())
    for name in budget.by_group.cells:
        if name not in known:
            c.config_problem(
                ("budget", "by_group", "cells", name),
                f"'{name}' is not a group of the data ({group})",
                difflib_hint(name, known),
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
        return
    trend = c.spec.trend
    if trend is not None and trend.type == "gp":
        reach = hsgp.reach_periods(trend, cv.initial)
        if cv.horizon > reach:
            c.config_problem(
                ("cv", "horizon"),
                f"horizon {cv.horizon} reaches past what a gp trend fitted on the first "
                f"fold's {cv.initial} periods can predict ({reach} periods past its end)",
                f"score at most {reach} periods per fold, or start with a longer initial",
            )


def profile(frame: pd.DataFrame, loaded: LoadedConfig, spec: ModelSpec) -> dict[str, Any]:
    """A short description of the data: the validate summary and the pre-run profile."""
    data = loaded.config.data
    dates = frame[data.date_column]
    groups = sorted(frame[data.group_column].astype(str).unique()) if data.group_column else []
    block = _block(frame, list(spec.columns))
    names = list(block.columns)
    stats = pd.DataFrame(
        {
            "mean": block.mean(),
            "sd": block.std(ddof=0),
            "min": block.min(),
            "max": block.max(),
            "zero_share": (block == 0).mean(),
        }
    )
    columns: dict[str, dict[str, float]] = {
        name: {str(key): float(value) for key, value in row.items()}
        for name, row in zip(names, stats.to_dict("records"), strict=True)
    }
    terms = [
        *(f"{m.name} (organic)" if m.organic else m.name for m in spec.media),
        *(f"factor({c})" if c in spec.categorical else c for c in spec.controls),
    ]
    if spec.calendar is not None:
        terms.append("calendar")
    if spec.trend is not None:
        terms.append(f"trend({spec.trend.type})")
    terms += [f"season(period={p:g}, order={o})" for p, o in spec.seasonality]
    own = ("intercept",) * spec.varying_intercept + spec.varying
    pooling = [f"{', '.join(own)} by {spec.group}"] if own else []
    pooling += [f"{', '.join(p.labels())} by {p.column}" for p in spec.crossed]
    mediators = [
        f"{m.name} ({m.observation}; built by {', '.join(m.channels)})" for m in spec.mediators
    ]
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
        "varying": pooling,
        "mediators": mediators,
        "outcomes": [
            f"{o.name} (value {o.value:g}; {', '.join(o.channels) or 'no channels'})"
            for o in spec.outcomes
        ],
        "cross_effects": [
            f"{c.source} -> {c.target}, lag {c.lag}"
            + (f", times {c.modulator}" if c.modulator else "")
            + (
                " (halo)"
                if c.effect.lower >= 0
                else " (cannibalisation)"
                if c.effect.upper <= 0
                else ""
            )
            for c in spec.cross_effects
        ],
    }
