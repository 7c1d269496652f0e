"""Holiday and event regressors: one 0/1 column per holiday or event.

A holiday or event marks the period that contains its date (the dates of the
data are period starts: the week from a Monday, the month from its first day).
Country calendars come from the maintained ``holidays`` package; a holiday's
"(observed)" weekday is dropped, so each holiday marks the period of its own
date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
import pandas as pd

from mmm_runner.config.models import CalendarConfig

Array = npt.NDArray[np.float64]
OBSERVED = "(observed)"
STEP = {
    "daily": pd.DateOffset(days=1),
    "weekly": pd.DateOffset(weeks=1),
    "monthly": pd.DateOffset(months=1),
}
"""One period at each data frequency (the step between a series' dates)."""


class CalendarError(ValueError):
    """A country, subdivision or holiday name the calendar does not know."""


def holiday_dates(
    country: str, subdivision: str | None, years: Iterable[int]
) -> dict[str, list[dt.date]]:
    """Every holiday of a country (and subdivision) in the years: name -> dates."""
    import holidays  # imported on use: only configs with a calendar need it

    if country not in countries():
        raise CalendarError(f"no holiday calendar for country {country!r}")
    calendar = holidays.country_holidays(country, subdiv=subdivision, years=sorted(years))
    out: dict[str, list[dt.date]] = {}
    for day, names in sorted(calendar.items()):
        for name in str(names).split("; "):  # one date may carry several holidays
            if OBSERVED not in name:
                out.setdefault(name.strip(), []).append(day)
    return out


def countries() -> dict[str, list[str]]:
    """Supported country codes with their subdivision codes."""
    import holidays

    supported: dict[str, list[str]] = holidays.list_supported_countries()
    return supported


def period_ends(dates: pd.DatetimeIndex, frequency: str) -> pd.DatetimeIndex:
    """The first day after each period that starts at ``dates``."""
    if frequency == "daily":
        return dates + pd.Timedelta(days=1)
    if frequency == "weekly":
        return dates + pd.Timedelta(days=7)
    return dates + pd.DateOffset(months=1)


def indicator(dates: pd.DatetimeIndex, frequency: str, days: Iterable[dt.date]) -> Array:
    """1 for each period that contains one of ``days``, else 0."""
    ends = period_ends(dates, frequency)
    out = np.zeros(len(dates))
    for day in days:
        stamp = pd.Timestamp(day)
        out[(dates <= stamp) & (stamp < ends)] = 1.0
    return out


def calendar_columns(
    dates: pd.DatetimeIndex,
    frequency: str,
    calendar: CalendarConfig,
    fitted: npt.NDArray[np.bool_] | None = None,
) -> list[tuple[str, str, Array]]:
    """(column name, term, values) of every holiday and event of the calendar.

    Holidays are the configured names (or every holiday of the country that
    falls in a fitted period: one only in held-out periods could not be
    learnt), in calendar order; events keep their order.
    """
    fitted = np.ones(len(dates), dtype=bool) if fitted is None else fitted
    out: list[tuple[str, str, Array]] = []
    if calendar.country is not None:
        years = range(dates.min().year, dates.max().year + 2)
        found = holiday_dates(calendar.country, calendar.subdivision, years)
        names = calendar.holidays if calendar.holidays is not None else list(found)
        for name in names:
            values = indicator(dates, frequency, found.get(name, []))
            if calendar.holidays is not None or values[fitted].any():
                out.append((f"holidays[{name}]", "holidays", values))
    for event in calendar.events:
        values = indicator(dates, frequency, event.dates)
        out.append((f"calendar_events[{event.name}]", "calendar_events", values))
    return out
