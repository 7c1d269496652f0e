"""`mmm init`: a commented starter config written from a data file.

Columns are classified by name and shape, and every guess is written into the
config as a comment with its reason:

- **Row indexes** are left out: columns without a header (pandas calls them
  ``Unnamed: 0``) and columns named like an index (``index``, ``X``, ``...1``)
  holding 0..n-1 or 1..n.
- **Date**: the first text column whose values read as dates (columns named like
  dates first); the frequency is the typical step between dates.
- **Group**: only when dates repeat.  A column is the group when every (group,
  date) pair is one row; it is a clean panel when there are at least 2 groups
  of at least ``MIN_GROUP_ROWS`` rows, each a regular series of the same dates.
  A column that keys the rows but fails the rest is still the group (without
  it every date would be repeated), with a note of what to fix.  A text column
  of a single series (events "na"/"event1") is never a group: it is a category.
- **Media**: exposure columns (``<channel>_I``, ``_impressions``, ``_imps``,
  ``_clicks``, ``_grps``, Robyn's ``_P``) are paired with spend columns of the
  same channel (``<channel>_S``, ``_spend``, ``_cost``, or the bare
  ``<channel>``).  A paired channel is modelled on its exposure, with
  ``spend_column`` for ROI and budgets: exposure is what reaches people, and
  it is what the reference tools model (Robyn's ``paid_media_vars``, Meridian's
  impressions) while they report ROI on spend.  Unpaired columns named like
  channels (tv, search, ...) are media on their own; names like newsletter,
  email, organic, social_posts, pr, owned, earned without a spend column are
  organic media (``organic: true``: no spend, no ROI, never budgeted).
- **KPI**: the best KPI-like name (revenue, sales, conversions, kpi, y, orders,
  units, ... exactly, or with harmless prefixes and suffixes such as
  total_revenue or revenue_usd), never a media, date, group or baseline column
  (competitor_sales_B, revenue_per_conversion); otherwise the first numeric
  column that is none of these.  A KPI counted in units (conversions, orders)
  gets ``kpi_value`` from a money-per-unit column (revenue_per_conversion).
- **Several outcomes** (``class: multivariate``): the KPI and the columns named like it
  but for one label (sales_a, sales_b; product_a_sales, product_b_sales; revenue_x,
  revenue_y), the stem still a KPI name; when no column is named like a KPI, columns of a
  product stem (product_a, product_b).  A label is never a KPI word, modifier, currency,
  year, lag, media or control word (net_sales and gross_sales, revenue_usd and revenue_eur
  stay one KPI and a control).  Siblings of a KPI that is their stem (sales beside sales_a,
  sales_b) are its parts and left out.  The formula is ``a + b ~ ...``, ``model.outcomes``
  lists them, ``model.kpi`` names their total; cross-effects are only a commented example.
- **Mediators** (``class: nested``): columns named like brand or survey measures
  (awareness, consideration, favourability, purchase intent, survey, brand_health: not
  brand_search, which is media), and unnamed numeric columns observed in scattered waves
  (at least ``SURVEY_GAPS`` of the rows empty, ``MIN_WAVES`` runs; never a control, KPI
  or media name).  Observation is full when every fitted row has a value, else partial
  (at least ``MIN_SURVEYS`` values); channels are the media named like upper-funnel
  channels (tv, video, social, display, ooh, radio, ...), else all.  Mediators and several
  outcomes together are ``class: combined``.  The network classes fit one series: in a
  panel a mediator is left out (as a control it would absorb the media effects it
  carries) and the KPI's siblings too.
- **Categories**: text columns with 2 to ``MAX_LEVELS`` levels, and integer codes
  with a few small levels (not a 0/1 dummy, which is the same as a number),
  become ``factor(col)``.
- **Controls**: the other numeric columns, except those that are constant, have
  gaps, or (in a panel) are constant within every group (the group intercepts
  absorb them, e.g. population).

- **Long files** (a "master flat file", ``data.format: long``): a file is long when,
  besides the date column (and row indexes), it has exactly one numeric column
  whose values vary (the value column) and, among its text columns, one with at
  most ``MAX_VARIABLES`` distinct values that look like names (no numbers, no
  dates; the variable column: preferred by a name such as VariableName, then by
  values named like a KPI or media), and every (date, other text columns,
  variable) combination is one row.  The other text columns are the dimensions.
  The variables are pivoted to one column each with the validator's own pivot
  (``mmm_runner.data.long.pivot``) and classified as the columns of a wide file;
  a dimension with at least 2 values and a full regular series per value becomes
  the group, as in a wide panel (several such dimensions: their joined values).
  A wide file has several numeric columns (KPI and media), so it is never long.

The config uses a formula when every column name can be written in one, and
the structured lists otherwise.  It validates as written when the data allow;
what the data do not allow is listed at the top of the file under "check".
"""

from __future__ import annotations

import json
import math
import os
import re
import textwrap
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final, Literal

import numpy as np
import pandas as pd
import yaml

from mmm_runner.classes.network import MIN_SURVEYS
from mmm_runner.config.formula import RESERVED
from mmm_runner.config.loader import LoadedConfig
from mmm_runner.config.models import YEAR, DataConfig, Frequency, ModelConfig, RunConfig
from mmm_runner.config.resolve import Coefficient, ModelSpec, default
from mmm_runner.data import long
from mmm_runner.data.load import read_table
from mmm_runner.errors import DataError

KPI_WORDS: Final = (  # in order of preference
    "revenue",
    "sales",
    "conversions",
    "conversion",
    "kpi",
    "y",
    "orders",
    "units",
    "volume",
    "signups",
    "leads",
    "bookings",
    "subscriptions",
    "installs",
)
MONEY_KPIS: Final = frozenset({"revenue", "sales", "kpi", "y"})  # others are counted in units
KPI_MODIFIERS: Final = frozenset(
    {
        *("total", "net", "gross", "all", "overall", "actual", "our", "dep", "var"),
        *("usd", "eur", "gbp", "amount", "value", "count", "num", "number", "sum"),
        *("daily", "weekly", "monthly"),
    }
)
NOT_KPI: Final = frozenset(  # a KPI word with one of these names something else
    {
        *("competitor", "competitors", "competition", "comp", "market", "category"),
        *("industry", "price", "per", "b", "baseline", "control", "ctrl", "lag", "lagged"),
        *("share", "avg", "average", "mean", "rate", "ratio", "index", "forecast"),
        *("target", "benchmark", "prev", "previous", "ly", "yoy", "growth", "pct"),
        "percent",
    }
)
MONEY_WORDS: Final = frozenset({"revenue", "value", "profit", "margin", "aov"})
SPEND_TAGS: Final = frozenset({"s", "spend", "spends", "spending", "cost", "costs", "investment"})
EXPOSURE_TAGS: Final = frozenset(
    {
        *("i", "p", "impressions", "impression", "imps", "imp", "impr"),
        *("clicks", "click", "grps", "grp", "trps", "trp", "views"),
    }
)
CURRENCIES: Final = frozenset({"usd", "eur", "gbp", "jpy", "chf", "cad", "aud"})
BASELINE_TAG: Final = "b"  # Robyn's suffix for context (baseline) variables
ORGANIC_WORDS: Final = frozenset(
    {
        *("newsletter", "newsletters", "email", "emails", "organic", "posts", "post"),
        *("pr", "owned", "earned", "blog", "seo"),
    }
)
MEDIA_WORDS: Final = (
    *("spend", "cost", "impressions", "imps", "grp", "clicks", "media", "tv", "radio"),
    *("search", "social", "display", "ooh", "video", "print", "digital", "online"),
    *("affiliate", "email", "youtube", "facebook", "meta", "tiktok", "google", "ctv"),
    *("podcast", "sponsor", "cinema", "programmatic", "influencer"),
)
LONG_CARRY: Final = (
    *("tv", "radio", "ooh", "video", "ctv", "cinema", "print", "sponsor", "youtube"),
    "podcast",
)
DATE_WORDS: Final = ("date", "week", "day", "month", "period", "time")
INDEX_NAMES: Final = frozenset({"index", "x", "...1", "row", "rownames", "row_names", "level_0"})
NUMERIC_WORDS: Final = frozenset(  # integer columns that are amounts, not codes
    {"count", "number", "num", "temp", "temperature", "price", "index", "rate", "pct", "stores"}
)
GROUP_WORDS: Final = frozenset(
    {
        *("geo", "market", "region", "store", "dma", "country", "state", "city", "area"),
        *("territory", "zone", "location", "group", "panel", "id", "shop", "outlet"),
    }
)
MAX_LEVELS: Final = 50  # the validator refuses categories with more levels
MAX_CODES: Final = 12  # integer columns with at most this many levels may be codes
MIN_GROUP_ROWS: Final = 10
MAX_VARIABLES: Final = 500  # a long file's variable column names at most this many variables
VARIABLE_WORDS: Final = frozenset(
    {"variable", "var", "metric", "measure", "name", "indicator", "series", "field", "key"}
)
MEDIATOR_WORDS: Final = frozenset(  # names of brand and survey measures that media build
    {
        *("awareness", "aware", "consideration", "consider", "favourability", "favorability"),
        *("favourable", "favorable", "survey", "intent", "intention", "recall", "familiarity"),
        *("salience", "preference", "affinity", "equity", "mediator"),
    }
)
UPPER_FUNNEL: Final = frozenset(  # channels that build awareness, by name
    {
        *("tv", "ctv", "video", "youtube", "social", "facebook", "meta", "instagram", "tiktok"),
        *("display", "programmatic", "ooh", "outdoor", "billboard", "radio", "audio"),
        *("podcast", "cinema", "print", "sponsor", "sponsorship", "influencer"),
    }
)
CONTROL_WORDS: Final = frozenset(  # never a mediator or an outcome
    {
        *("price", "prices", "pricing", "promo", "promos", "promotion", "promotions"),
        *("discount", "discounts", "temperature", "temp", "weather", "rain", "rainfall"),
        *("holiday", "holidays", "event", "events", "competitor", "competitors", "gdp"),
        *("cpi", "inflation", "unemployment", "covid", "lockdown", "distribution", "stock"),
        *("stores", "trend", "season", "seasonality", "dummy", "flag"),
    }
)
PRODUCT_WORDS: Final = frozenset({"product", "products", "prod", "brand", "sku", "item", "line"})
SURVEY_GAPS: Final = 0.3  # an unnamed column empty in this share of rows, in waves, is a survey
MIN_WAVES: Final = 3  # separate runs of observed rows that make survey waves
_FORMULA_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


@dataclass(frozen=True)
class Channel:
    """A media channel as guessed: the column the model reads, and its spend column."""

    name: str  # exposure when the channel has it, else spend
    spend: str | None = None  # the spend column when ``name`` is exposure
    organic: bool = False
    national: bool = False  # the same series in every group of a panel
    why: str = ""


@dataclass(frozen=True)
class Mediator:
    """A mediator as guessed (class nested or combined): a measure media build (brand
    awareness) that moves the KPI."""

    name: str  # its name in the config (a formula name)
    column: str  # its data column
    observation: Literal["full", "partial"]
    channels: tuple[str, ...]
    why: str  # why it reads as a mediator, and its observation
    channels_why: str
    every: bool = False  # no channel is named like upper-funnel media: every channel


@dataclass(frozen=True)
class LongLayout:
    """The columns of a long file ("master flat file") as guessed."""

    variable: str
    value: str
    dimensions: tuple[str, ...]
    why: str


@dataclass(frozen=True)
class Columns:
    """How the columns of a data file were classified, and why."""

    date: str
    frequency: Frequency
    group: str | None
    kpi: str
    media: tuple[Channel, ...]
    controls: tuple[str, ...]
    factors: tuple[str, ...] = ()  # categorical controls: factor(col)
    kpi_value: str | None = None
    start: str | None = None  # fitting window (data.start / data.end)
    end: str | None = None
    periods: int = 0  # dates in the fitting window
    shortest: int = 0  # rows of the shortest series in the fitting window
    seasonality: tuple[tuple[float | None, int], ...] = ()  # (period or yearly, order)
    skipped: dict[str, str] = field(default_factory=dict)  # column -> why it is left out
    why: dict[str, str] = field(default_factory=dict)  # decision -> reason
    checks: tuple[str, ...] = ()  # what the data need before the config validates
    long: LongLayout | None = None  # a long file: its variables were classified
    outcomes: tuple[str, ...] = ()  # several KPI columns (multivariate); ``kpi`` is the first
    total: str = "total"  # the name of the outcomes' total in reports (model.kpi)
    mediators: tuple[Mediator, ...] = ()

    @property
    def media_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.media)

    @property
    def model_class(self) -> str:
        if self.group:
            return "hierarchical"
        if self.outcomes:
            return "combined" if self.mediators else "multivariate"
        return "nested" if self.mediators else "blm"


def classify(frame: pd.DataFrame, data_path: Path | None = None) -> Columns:
    """Guesses the role of every column (of every variable, for a long file), with a
    reason for each guess."""
    _refuse_other_separators(frame)
    layout = _long_layout(frame)
    if layout is None:
        return _classify_wide(frame)
    wide = _pivot_long(frame, layout, data_path or Path("data"))
    cols = _classify_wide(wide)
    skipped = {k: v for k, v in cols.skipped.items() if k not in layout.dimensions}
    return replace(cols, long=layout, skipped=skipped)


def _classify_wide(frame: pd.DataFrame) -> Columns:
    date = _date_column(frame)
    dates = _parse_dates(frame[date])
    frequency, step = _frequency(dates)
    why = {"date": f"its values are dates; {frequency}: {step}"}
    checks: list[str] = []
    skipped = _index_columns(frame, date)
    group = _group(frame, date, dates, frequency, skipped, why, checks)
    if group is None:
        _single_series_checks(dates, frequency, checks)
    used = {date, *skipped, *([group] if group else [])}
    numeric = [
        c
        for c in frame.columns
        if c not in used
        and pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
    ]
    flags = [c for c in frame.columns if c not in used and pd.api.types.is_bool_dtype(frame[c])]
    texts = [c for c in frame.columns if c not in used and c not in numeric and c not in flags]
    channels, paired = _paired_channels(numeric, skipped)
    baseline = {c for c in numeric if _split_channel(c)[1] == "baseline"}
    named = {c: r for c in numeric if c not in paired and (r := _mediator_name(c))}
    free = [c for c in numeric if c not in paired and c not in named]
    kpi = _kpi(frame, [c for c in free if c not in baseline], why)
    kpi, outcomes = _outcomes(frame, kpi, free, why, skipped)
    free = [c for c in free if c not in skipped]
    if group is not None and len(outcomes) > 1:
        for column in outcomes[1:]:
            skipped[column] = (
                f"another KPI column like {_show(kpi)}: the multivariate class fits several "
                "outcomes of one series, not a panel; model it in its own run"
            )
        outcomes = ()
        free = [c for c in free if c not in skipped]
    kpi_value = (
        None
        if outcomes
        else _kpi_value(kpi, [c for c in numeric if c not in paired and c != kpi], why)
    )
    rest = [c for c in free if c not in {kpi, kpi_value, *outcomes}]
    channels += _single_channels(rest, baseline)
    inside, start, end = _window(frame, dates, outcomes or (kpi,), why, checks)
    window = frame[inside.to_numpy()]
    controls = [c for c in rest if c not in {m.name for m in channels}]
    media: list[Channel] = []
    for channel in channels:
        kept = _check_channel(window, channel, skipped, checks)
        if kept == "control":
            controls.append(channel.name)
            why[f"control {channel.name}"] = "named like media, but has negative values"
            if channel.spend is not None:
                skipped[channel.spend] = f"spend of {_show(channel.name)}, a control"
        elif kept == "media":
            media.append(_national(window, date, group, channel))
    mediators: list[Mediator] = []
    if named or group is None:
        waves = {} if group else _survey_columns(window, dates[inside], controls)
        controls = [c for c in controls if c not in waves]
        mediators = _mediators(window, dates[inside], {**named, **waves}, media, group, skipped)
    factors: list[str] = []
    numbers: list[str] = []
    for column in controls + flags:
        kind = _control_kind(window, column, group, skipped, why)
        if kind == "factor":
            factors.append(column)
        elif kind == "number":
            numbers.append(column)
    for column in texts:
        if _text_kind(window, column, group, skipped, why) == "factor":
            factors.append(column)
    periods = int(dates[inside].nunique())
    shortest = int(window.groupby(group).size().min()) if group else len(window)
    return Columns(
        date=date,
        frequency=frequency,
        group=group,
        kpi=kpi,
        media=tuple(_order(media, frame)),
        controls=tuple(c for c in frame.columns if c in numbers),
        factors=tuple(c for c in frame.columns if c in factors),
        kpi_value=kpi_value,
        start=start,
        end=end,
        periods=periods,
        shortest=shortest,
        seasonality=_seasonality(frequency, periods, why),
        skipped=skipped,
        why=why,
        checks=tuple(checks),
        outcomes=outcomes,
        total=_total_name(frame, outcomes),
        mediators=tuple(mediators),
    )


# --- long files ------------------------------------------------------------------------


def _long_layout(frame: pd.DataFrame) -> LongLayout | None:
    """The variable, value and dimension columns of a long file; None for a wide file."""
    try:
        date = _date_column(frame)
    except ValueError:
        return None
    skipped = _index_columns(frame, date)
    rest = [c for c in frame.columns if c != date and c not in skipped]
    numeric = [
        c
        for c in rest
        if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    ]
    texts = [c for c in rest if c not in numeric]
    if len(numeric) != 1 or frame[numeric[0]].nunique() < 2:
        return None
    if any(pd.api.types.is_bool_dtype(frame[c]) for c in texts):
        return None
    names = [c for c in texts if _holds_names(frame[c])]
    names.sort(key=lambda c: _variable_score(frame, c), reverse=True)
    for variable in names:
        dimensions = [c for c in texts if c != variable]
        if not frame.duplicated([date, *dimensions, variable]).any():
            value = numeric[0]
            why = (
                f"one numeric column ({_show(value)}) and {_show(variable)} naming "
                f"{frame[variable].nunique()} variables, one row per (date, "
                + ", ".join([*dimensions, variable])
                + "): a long file; its variables are classified as columns"
            )
            return LongLayout(variable, value, tuple(dimensions), why)
    return None


def _holds_names(values: pd.Series) -> bool:
    """Few distinct values that read as names: not numbers, not dates, never empty."""
    if values.isna().any() or not 2 <= values.nunique() <= MAX_VARIABLES:
        return False
    text = pd.Series(values.unique()).astype(str).str.strip()
    numbers = pd.to_numeric(text.str.replace(",", ""), errors="coerce")
    named = text.str.match(r"^[^\W\d]", na=False)  # starts with a letter or underscore
    return bool(numbers.isna().all() and named.all() and not _looks_like_dates(text))


def _variable_score(frame: pd.DataFrame, column: str) -> tuple[bool, int, int]:
    """The variable column: named so, then holding KPI or media names, then most values."""
    names = [str(v) for v in frame[column].unique()]
    known = sum(_kpi_score(n)[0] > 0 or _matches(n, MEDIA_WORDS) for n in names)
    return bool(VARIABLE_WORDS & set(_tokens(column))), known, len(names)


def _pivot_long(frame: pd.DataFrame, layout: LongLayout, data_path: Path) -> pd.DataFrame:
    """The long file as a wide frame: every variable a column, pivoted by the validator's
    pivot (``mmm_runner.data.long.pivot``), with the dimension columns kept."""
    variables = [str(v) for v in dict.fromkeys(frame[layout.variable].dropna().astype(str))]
    varying = [d for d in layout.dimensions if frame[d].nunique() > 1]
    group = varying[0] if len(varying) == 1 else "_".join(varying) if varying else None
    while group is not None and group in (*frame.columns, *variables) and len(varying) > 1:
        group += "_"
    data = DataConfig.model_validate(
        {
            "path": str(data_path),
            "format": "long",
            "date_column": _date_column(frame),
            "variable_column": layout.variable,
            "value_column": layout.value,
            "dimensions": list(layout.dimensions),
            "group_column": group,
        }
    )
    # the pivot reads only data.*: the rest of the config is not built
    model = ModelConfig.model_construct(kpi=variables[0])
    config = RunConfig.model_construct(name="init", data=data, model=model)
    loaded = LoadedConfig(config=config, path=data_path, raw={}, lines={})
    spec = ModelSpec(
        model_class="blm",
        kpi=variables[0],
        log_response=False,
        standardise=False,
        media=(),
        controls=tuple(variables[1:]),
        trend=None,
        seasonality=(),
        coefficients={},
        transform_params=(),
        intercept=Coefficient("intercept", "intercept", default("intercept")),
        sigma_prior=default("sigma"),
    )
    try:
        return long.pivot(frame, loaded, spec, data_path).frame
    except DataError as exc:
        shown = "; ".join(f"{p.location}: {p.message}" for p in exc.problems[:3])
        more = f" and {len(exc.problems) - 3} more" if len(exc.problems) > 3 else ""
        raise ValueError(f"it reads as a long file, but cannot be pivoted: {shown}{more}") from exc


# --- names -----------------------------------------------------------------------------


def _tokens(name: str) -> list[str]:
    """Lower-case words of a column name (snake_case, camelCase, spaces, symbols)."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z]{2,})", r"\1_\2", spaced)
    return [t for t in re.split(r"[^a-z0-9]+", spaced.lower()) if t]


def _split_channel(name: str) -> tuple[str, str | None]:
    """A media column's channel and kind: ('facebook', 'exposure') for facebook_I.

    The kind is 'spend', 'exposure', 'baseline' (Robyn's ``_B``) or None.
    """
    tokens = _tokens(name)
    while len(tokens) > 1 and tokens[-1] in CURRENCIES:
        tokens.pop()
    kind: str | None = None
    if len(tokens) > 1 and tokens[-1] in SPEND_TAGS:
        kind = "spend"
        tokens.pop()
    elif len(tokens) > 1 and tokens[-1] in EXPOSURE_TAGS:
        kind = "exposure"
        tokens.pop()
        while len(tokens) > 1 and tokens[-1] in EXPOSURE_TAGS and len(tokens[-1]) > 1:
            tokens.pop()  # search_clicks_P: the channel is search
    elif len(tokens) > 1 and tokens[-1] == BASELINE_TAG:
        kind = "baseline"
        tokens.pop()
    elif len(tokens) > 1 and len(tokens[0]) > 1 and tokens[0] in SPEND_TAGS | EXPOSURE_TAGS:
        kind = "spend" if tokens[0] in SPEND_TAGS else "exposure"
        tokens.pop(0)
    return "_".join(tokens), kind


def _matches(name: str, words: tuple[str, ...]) -> bool:
    lower = name.lower()
    tokens = set(_tokens(name))
    return any(w in tokens or (len(w) > 3 and w in lower) for w in words) or lower.startswith("m_")


def _is_organic(name: str) -> bool:
    return bool(ORGANIC_WORDS & set(_tokens(name)))


def _show(name: str) -> str:
    """A column name quoted for a comment (one line)."""
    return "'" + name.replace("\n", " ").replace("\r", " ") + "'"


# --- file shape, index, date and group ------------------------------------------------


def _refuse_other_separators(frame: pd.DataFrame) -> None:
    if len(frame.columns) != 1:
        return
    header = str(frame.columns[0])
    for sep, label in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
        if sep in header:
            raise ValueError(
                f"the file has one column whose header holds {label} ({header[:60]!r}): it is "
                f"separated by {sep!r}, but mmm reads comma-separated files; re-save it as "
                "CSV with commas (Excel: Save As, 'CSV UTF-8')"
            )


def _looks_like_dates(values: pd.Series) -> bool:
    text = values.dropna().astype(str)
    if text.empty:
        return False
    dated = text.str.contains(r"\d{4}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2}", regex=True)
    return bool(dated.mean() >= 0.95)


def _parse_dates(values: pd.Series) -> pd.Series:
    """Dates as the validator reads them."""
    return pd.to_datetime(values, errors="coerce", format="mixed")


def _date_column(frame: pd.DataFrame) -> str:
    def parses(column: str) -> bool:
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            return False
        if pd.api.types.is_datetime64_any_dtype(values):
            return True
        if not _looks_like_dates(values):
            return False
        parsed = _parse_dates(values)
        return bool(parsed.notna().mean() >= 0.95) and parsed.nunique() > 1

    named = [c for c in frame.columns if any(w in c.lower() for w in DATE_WORDS)]
    for column in dict.fromkeys((*named, *frame.columns)):
        if parses(column):
            return str(column)
    raise ValueError("no column holds dates; add a date column (YYYY-MM-DD)")


def _frequency(dates: pd.Series) -> tuple[Frequency, str]:
    unique = pd.Series(dates.dropna().unique()).sort_values()
    steps = unique.diff().dt.days.dropna()
    step = float(steps.median()) if len(steps) else 7.0
    if step <= 1.5:
        return "daily", "dates are a day apart"
    if step <= 10:
        return "weekly", f"dates are {step:g} days apart"
    if step > 45:
        return "monthly", f"dates are {step:g} days apart (monthly is the longest step supported)"
    return "monthly", "dates are a month apart"


def _irregular_steps(dates: pd.Series, frequency: Frequency) -> int:
    """Steps between consecutive dates that are not one period (as the validator counts)."""
    ordered = dates.dropna().sort_values()
    if frequency == "monthly":
        months = ordered.dt.year * 12 + ordered.dt.month
        return int((months.diff().iloc[1:] != 1).sum())
    days = 7 if frequency == "weekly" else 1
    return int((ordered.diff().dt.days.iloc[1:] != days).sum())


def _is_row_number(values: pd.Series) -> bool:
    if not pd.api.types.is_integer_dtype(values):
        return False
    numbers = values.to_numpy()
    count = np.arange(len(numbers))
    return bool(np.array_equal(numbers, count) or np.array_equal(numbers, count + 1))


def _index_columns(frame: pd.DataFrame, date: str) -> dict[str, str]:
    """Row indexes written by the tool that exported the file: left out."""
    skipped: dict[str, str] = {}
    for column in frame.columns:
        if column == date:
            continue
        unnamed = column == "" or re.fullmatch(r"Unnamed: \d+", column) is not None
        if unnamed and _is_row_number(frame[column]):
            first = frame[column].iloc[0]
            skipped[column] = f"no header: a row index ({first}, {first + 1}, ...)"
        elif unnamed:
            skipped[column] = "no header: a row index, or a column to name in the file"
        elif column.lower() in INDEX_NAMES and _is_row_number(frame[column]):
            skipped[column] = "a row number, not data"
    return skipped


def _group(
    frame: pd.DataFrame,
    date: str,
    dates: pd.Series,
    frequency: Frequency,
    skipped: dict[str, str],
    why: dict[str, str],
    checks: list[str],
) -> str | None:
    """The column naming each row's series, when dates repeat (a panel)."""
    if not dates.duplicated().any():
        return None
    found: list[tuple[bool, str, list[str], list[str]]] = []
    for column in frame.columns:
        if column == date or column in skipped or not _may_be_group(frame[column], column):
            continue
        if frame.assign(_date=dates).duplicated([column, "_date"]).any():
            continue  # not one row per (group, date)
        errors, notes = _panel_problems(frame[column], dates, frequency)
        found.append((not errors and not notes, column, errors, notes))
    if not found:
        repeated = dates[dates.duplicated() & dates.notna()]
        checks.append(
            f"dates repeat (e.g. {repeated.iloc[0].date()}) but no column "
            "tells the series apart: keep one row per date, or add the group column "
            "(market, region) and set data.group_column"
        )
        return None
    found.sort(key=lambda item: not item[0])  # clean panels first, then file order
    clean, column, errors, notes = found[0]
    levels = frame[column].nunique()
    if clean:
        why["group"] = (
            f"dates repeat, and {levels} groups each hold a full {frequency} series of the "
            f"same {len(frame) // levels} dates"
        )
    else:
        why["group"] = "; ".join(
            [f"dates repeat, and each ({column}, date) pair is one row ({levels} groups)", *notes]
        )
        checks += [f"group column {_show(column)}: {e}" for e in errors]
    return column


def _may_be_group(values: pd.Series, column: str) -> bool:
    """Text, or integers named like a group (geo, market, store_id), without gaps."""
    text = not pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    coded = pd.api.types.is_integer_dtype(values) and bool(GROUP_WORDS & set(_tokens(column)))
    levels = values.nunique()
    return (text or coded) and 2 <= levels <= len(values) // 2 and not values.isna().any()


def _panel_problems(
    groups: pd.Series, dates: pd.Series, frequency: Frequency
) -> tuple[list[str], list[str]]:
    """What keeps a keyed panel from being a clean one: (errors the validator reports:
    irregular series; notes: short or uneven series)."""
    errors: list[str] = []
    notes: list[str] = []
    by_group = dates.groupby(groups.to_numpy())
    irregular = [label for label, part in by_group if _irregular_steps(part, frequency)]
    if irregular:
        errors.append(
            f"the dates of {len(irregular)} group(s) are not a regular {frequency} series "
            f"(e.g. {irregular[0]!r}): fill the missing periods"
        )
    sizes = by_group.size()
    short = sizes[sizes < MIN_GROUP_ROWS]
    if len(short):
        notes.append(
            f"{len(short)} group(s) have fewer than {MIN_GROUP_ROWS} rows "
            f"(e.g. {short.index[0]!r}: {int(short.iloc[0])})"
        )
    every = set(dates.dropna().unique())
    uneven = [label for label, part in by_group if set(part.dropna().unique()) != every]
    if uneven:
        notes.append(f"{len(uneven)} group(s) lack some dates others have (e.g. {uneven[0]!r})")
    return errors, notes


def _single_series_checks(dates: pd.Series, frequency: Frequency, checks: list[str]) -> None:
    gaps = _irregular_steps(dates, frequency)
    if gaps:
        checks.append(
            f"{gaps} step(s) between dates are not one {frequency} period: fill the missing "
            "periods (e.g. with zero media), or set data.frequency"
        )


# --- media ----------------------------------------------------------------------------


def _paired_channels(
    numeric: list[str], skipped: dict[str, str]
) -> tuple[list[Channel], set[str]]:
    """Channels named by spend or exposure tags, each exposure paired with its spend;
    returns them and every column they account for."""
    keys: dict[str, dict[str, list[str]]] = {}
    for column in numeric:
        key, kind = _split_channel(column)
        if kind in ("spend", "exposure"):
            keys.setdefault(key, {"spend": [], "exposure": [], "bare": []})[kind].append(column)
    for column in numeric:
        key, kind = _split_channel(column)
        if kind is None and key in keys and _kpi_score(column)[0] == 0:
            keys[key]["bare"].append(column)  # tv beside tv_grps, email beside email_cost
    channels: list[Channel] = []
    used: set[str] = set()
    for key, kinds in keys.items():
        spends, exposures, bare = kinds["spend"], kinds["exposure"], kinds["bare"]
        exposure = exposures[0] if exposures else (bare[0] if bare and spends else None)
        spend = spends[0] if spends else (bare[0] if bare and exposures else None)
        channels.append(_channel(key, exposure, spend))
        columns = [*exposures, *spends, *bare]
        for column in columns:
            if column not in (exposure, spend):
                skipped[column] = f"another column of channel '{key}', which uses " + " and ".join(
                    _show(c) for c in (exposure, spend) if c
                )
        used |= set(columns)
    return channels, used


def _channel(key: str, exposure: str | None, spend: str | None) -> Channel:
    if exposure is not None and spend is not None:
        why = (
            f"channel '{key}': exposure {_show(exposure)} is modelled, spend {_show(spend)} "
            "gives ROI and budgets"
        )
        return Channel(exposure, spend, why=why)
    if exposure is not None and _is_organic(exposure):
        return Channel(exposure, organic=True, why=_organic_why(exposure))
    if exposure is not None:
        why = (
            f"exposure of channel '{key}' with no spend column found: ROI and budgets would "
            "be per exposure unit; set spend_column to its spend"
        )
        return Channel(exposure, why=why)
    assert spend is not None  # a key has at least one tagged column
    return Channel(spend, why=f"spend of channel '{key}'")


def _organic_why(name: str) -> str:
    return (
        f"{_show(name)} looks unpaid (organic, owned or earned) and has no spend column: "
        "organic media, contributions reported, no ROI, never moved by the budget"
    )


def _single_channels(columns: list[str], baseline: set[str]) -> list[Channel]:
    """Untagged columns named like channels (spend), or like unpaid activity (organic)."""
    channels: list[Channel] = []
    for column in columns:
        if column in baseline:
            continue
        if _is_organic(column):
            channels.append(Channel(column, organic=True, why=_organic_why(column)))
        elif _matches(column, MEDIA_WORDS):
            channels.append(Channel(column, why="named like a media channel"))
    return channels


def _check_channel(
    window: pd.DataFrame, channel: Channel, skipped: dict[str, str], checks: list[str]
) -> Literal["media", "control", "skip"]:
    values = window[channel.name]
    if (values < 0).any():
        return "control"
    if not (values > 0).any():
        skipped[channel.name] = "named like media, but zero (or empty) in every row"
        return "skip"
    for column in (channel.name, channel.spend):
        if column is not None and window[column].isna().any():
            checks.append(
                f"media column {_show(column)} has {int(window[column].isna().sum())} empty "
                "cell(s): fill them (0 for no activity)"
            )
    return "media"


def _national(window: pd.DataFrame, date: str, group: str | None, channel: Channel) -> Channel:
    """Marks media with the same series in every group of a panel as national."""
    if group is None:
        return channel
    if window.groupby(date)[channel.name].nunique(dropna=False).max() > 1:
        return channel
    why = channel.why + "; national: the same series in every group"
    return Channel(channel.name, channel.spend, channel.organic, True, why)


def _order(media: list[Channel], frame: pd.DataFrame) -> list[Channel]:
    """Paid media in file order, then organic media."""
    position = {c: i for i, c in enumerate(frame.columns)}
    return sorted(media, key=lambda m: (m.organic, position[m.name]))


# --- KPI ------------------------------------------------------------------------------


def _kpi_score(name: str) -> tuple[int, int]:
    """(how KPI-like the name is: 0 to 3, preference of the KPI word: lower is better)."""
    tokens = _tokens(name)
    lower = name.lower().strip()
    if lower in KPI_WORDS:
        return 3, KPI_WORDS.index(lower)
    if NOT_KPI & set(tokens):
        return 0, len(KPI_WORDS)
    words = [w for w in KPI_WORDS if w in tokens and w != "y"]
    if not words:
        return 0, len(KPI_WORDS)
    rank = KPI_WORDS.index(words[0])
    others = [t for t in tokens if t not in KPI_WORDS]
    return (2 if all(t in KPI_MODIFIERS for t in others) else 1), rank


def _kpi(frame: pd.DataFrame, candidates: list[str], why: dict[str, str]) -> str:
    varying = [c for c in candidates if frame[c].nunique() > 1]
    scored = [(_kpi_score(c), i, c) for i, c in enumerate(varying)]
    liked = [(-score, rank, i, c) for (score, rank), i, c in scored if score > 0]
    if liked:
        kpi = min(liked)[3]
        why["kpi"] = "name looks like a KPI"
        return kpi
    plain = [
        c
        for c in varying
        if not _matches(c, MEDIA_WORDS)
        and not _is_organic(c)
        and not NOT_KPI & set(_tokens(c))
        and c.lower() not in (*RESERVED, "seasonality")
    ]
    if not plain:
        raise ValueError(
            "no numeric column can be the KPI: name the KPI column e.g. revenue or sales"
        )
    why["kpi"] = (
        "no column name looks like a KPI (revenue, sales, conversions, ...): took the first "
        "numeric column that is not media; check it"
    )
    return plain[0]


def _kpi_value(kpi: str, candidates: list[str], why: dict[str, str]) -> str | None:
    """A money-per-unit column for a KPI counted in units (revenue_per_conversion)."""
    tokens = set(_tokens(kpi))
    if tokens & MONEY_KPIS or not tokens & set(KPI_WORDS):
        return None
    for column in candidates:
        words = _tokens(column)
        per_unit = "per" in words and words[0] in MONEY_WORDS
        if per_unit or column.lower() in ("kpi_value", "aov", "average_order_value"):
            why["kpi_value"] = (
                f"{_show(column)} reads as money per unit of {kpi}: ROI and budgets are in money "
                f"while the model fits {kpi}"
            )
            return column
    return None


# --- several outcomes (multivariate) ---------------------------------------------------


def _is_label(token: str) -> bool:
    """A token that can tell outcomes apart (a, b, x, 1, store): not a KPI word, modifier,
    currency, media or control word, tag, lag or year."""
    return (
        (token not in KPI_WORDS or token == "y")  # revenue_x, revenue_y
        and token not in KPI_MODIFIERS
        and token not in CURRENCIES
        and token not in CONTROL_WORDS
        and token not in MEDIATOR_WORDS
        and token not in SPEND_TAGS | EXPOSURE_TAGS
        and (token == BASELINE_TAG or token not in NOT_KPI)  # sales_b beside sales_a
        and not _matches(token, MEDIA_WORDS)
        and not _is_organic(token)
        and re.fullmatch(r"(19|20)\d\d|(lag|lead|ma|l)\d*", token) is None
    )


def _outcomes(
    frame: pd.DataFrame,
    kpi: str,
    candidates: list[str],
    why: dict[str, str],
    skipped: dict[str, str],
) -> tuple[str, tuple[str, ...]]:
    """The KPI and, when it has siblings, the KPI columns of a multivariate model: two or
    more varying columns whose names differ only in one label and whose common stem is a
    KPI (sales_a, sales_b; product_a_sales, product_b_sales) or, when no column is named
    like a KPI, a product (product_a, product_b).  Returns (kpi, ()) for one KPI.  Siblings
    whose stem is the KPI itself (sales beside sales_a, sales_b) are its parts: left out."""
    varying = [c for c in candidates if frame[c].nunique() > 1]
    named = _kpi_score(kpi)[0] > 0
    pool = [kpi] if named else [*varying]  # a KPI name: its siblings; else any product group
    for first in pool:
        group, stem, labels = _siblings(first, varying, named)
        if len(group) < 2:
            continue
        what = "KPIs" if named else "products"
        why["outcomes"] = (
            f"named like {what} of one stem ('{stem}') told apart by {', '.join(labels)}: "
            "several outcomes, fitted jointly"
        )
        if not named:
            why["kpi"] = f"no column is named like a KPI, but {len(group)} products are"
        return group[0], tuple(group)
    whole = "_".join(_tokens(kpi))
    for column in varying if named else []:
        group, stem, _ = _siblings(column, varying, named)
        if len(group) >= 2 and stem == whole and column not in skipped:
            for part in group:
                skipped[part] = (
                    f"named like a part of the KPI {_show(kpi)}: a part cannot explain its "
                    "whole; to model the parts, make them the outcomes (class multivariate)"
                )
    return kpi, ()


def _siblings(column: str, candidates: list[str], named: bool) -> tuple[list[str], str, list[str]]:
    """The candidates named like ``column`` but for one label token, its stem and labels."""
    tokens = _tokens(column)
    for position in range(len(tokens) - 1, -1, -1):
        stem_tokens = tokens[:position] + tokens[position + 1 :]
        stem = "_".join(stem_tokens)
        if not stem_tokens or not _is_label(tokens[position]):
            continue
        if named and _kpi_score(stem)[0] == 0:
            continue
        if not named and (not PRODUCT_WORDS & set(stem_tokens) or NOT_KPI & set(stem_tokens)):
            continue
        group: dict[str, str] = {}  # label -> column
        for other in candidates:
            words = _tokens(other)
            if (
                len(words) != len(tokens)
                or words[:position] + words[position + 1 :] != stem_tokens
            ):
                continue
            label = words[position]
            if not _is_label(label) or label in group or _matches(other, MEDIA_WORDS):
                continue
            if set(words) & CONTROL_WORDS or _is_organic(other):
                continue
            group[label] = other
        if BASELINE_TAG in group and "a" not in group:
            del group[BASELINE_TAG]  # Robyn's _B (context) unless there is an _A beside it
        if len(group) >= 2 and column in group.values():
            labels = sorted(
                group, key=lambda t: (not t.isdigit(), int(t) if t.isdigit() else 0, t)
            )
            return [group[label] for label in labels], stem, labels
    return [column], "", []


def _total_name(frame: pd.DataFrame, outcomes: tuple[str, ...]) -> str:
    """The name of the outcomes' total in reports: total_<stem> for KPI stems, else total;
    never a column of the data."""
    name = "total"
    if outcomes:
        stems = [t for t in _tokens(outcomes[0]) if t in KPI_WORDS and t != "y"]
        name = f"total_{stems[0]}" if stems else name
    while name in frame.columns or name in outcomes:
        name += "_"
    return name


# --- mediators (nested) ----------------------------------------------------------------


def _mediator_name(column: str) -> str:
    """Why the name reads as a mediator (a brand or survey measure), or ''."""
    tokens = _tokens(column)
    words = set(tokens)
    if _kpi_score(column)[0] > 0 or words & CONTROL_WORDS:
        return ""
    if _split_channel(column)[1] in ("spend", "exposure", "baseline"):
        return ""
    lower = column.lower()
    found = sorted(words & MEDIATOR_WORDS) or [
        w for w in MEDIATOR_WORDS if len(w) >= 9 and w in lower
    ]
    if found:
        return f"named like a brand or survey measure ({found[0]})"
    others = [t for t in tokens if t != "brand"]
    if (
        "brand" in words
        and others
        and not _matches(column, MEDIA_WORDS)
        and not _is_organic(column)
        and all(len(t) > 1 and not t.isdigit() for t in others)
    ):
        return "named like a brand measure (brand_...)"
    return ""


def _survey_columns(window: pd.DataFrame, dates: pd.Series, columns: list[str]) -> dict[str, str]:
    """Numeric columns not named like a control, observed in scattered waves (at least
    ``SURVEY_GAPS`` of the rows empty): a survey, i.e. a partially observed mediator."""
    order = np.argsort(dates.to_numpy(), kind="stable")
    found: dict[str, str] = {}
    for column in columns:
        if _kpi_score(column)[0] > 0 or (set(_tokens(column)) & (CONTROL_WORDS | NUMERIC_WORDS)):
            continue
        values = window[column].iloc[order]
        present = values.notna().to_numpy()
        seen = int(present.sum())
        if seen < MIN_SURVEYS or seen > (1 - SURVEY_GAPS) * len(values):
            continue
        waves = int(np.sum(present & ~np.concatenate(([False], present[:-1]))))
        if waves < MIN_WAVES or values.dropna().nunique() < 3:
            continue
        found[column] = (
            f"numeric, not named like a control, observed in {waves} separate waves like a "
            "survey (if media do not build it, fill it and make it a control)"
        )
    return found


def _is_upper_funnel(name: str) -> bool:
    lower = name.lower()
    return bool(UPPER_FUNNEL & set(_tokens(name))) or any(
        len(w) > 4 and w in lower for w in UPPER_FUNNEL
    )


def _mediators(
    window: pd.DataFrame,
    dates: pd.Series,
    found: dict[str, str],
    media: list[Channel],
    group: str | None,
    skipped: dict[str, str],
) -> list[Mediator]:
    """Mediators from the columns named (or shaped) like them: observed fully or in
    enough survey waves, and built by the upper-funnel channels (else every channel)."""
    mediators: list[Mediator] = []
    upper = [m.name for m in media if _is_upper_funnel(m.name)]
    channels = tuple(upper or [m.name for m in media])
    if upper:
        channels_why = (
            f"{', '.join(upper)} are named like upper-funnel media (TV, video, social, "
            "display, OOH, radio), which build brand measures; every channel keeps its "
            "direct effect on the KPI"
        )
    else:
        channels_why = (
            "no channel is named like upper-funnel media (TV, video, social, display, OOH, "
            "radio): every channel builds it; keep those that do, each keeps its direct effect"
        )
    taken = {*window.columns}
    for column, reason in found.items():
        values = window[column]
        seen = int(values.notna().sum())
        problem = ""
        if group is not None:
            problem = (
                "the classes with mediators (nested, combined) fit one series, not a panel; "
                "left out rather than a control, which would absorb the media effects it carries"
            )
        elif not channels:
            problem = "no media channel to build it"
        elif seen < len(values) and seen < MIN_SURVEYS:
            problem = (
                f"observed in {seen} row(s); a partially observed mediator needs at least "
                f"{MIN_SURVEYS}"
            )
        elif values.nunique() < 2:
            problem = "constant: it cannot carry effects"
        if problem:
            skipped[column] = f"reads as a mediator ({reason}), but {problem}"
            continue
        name = column
        if not _FORMULA_NAME.fullmatch(name) or len(name) > 60 or name in ("factor", "log"):
            name = (re.sub(r"[^A-Za-z0-9_]+", "_", column).strip("_") or "mediator")[:60]
            name = name if re.match(r"[A-Za-z_]", name) else f"m_{name}"[:60]
            while name in taken:
                name += "_"
        taken.add(name)
        full = seen == len(values)
        observed = (
            "observed in every row: observation full"
            if full
            else f"observed in {seen} of {len(values)} rows: observation partial (a survey)"
        )
        mediators.append(
            Mediator(
                name=name,
                column=column,
                observation="full" if full else "partial",
                channels=channels,
                why=f"{reason}; media build it and it moves the KPI; {observed}",
                channels_why=channels_why,
                every=not upper,
            )
        )
    return mediators


# --- window, controls, categories, seasonality ----------------------------------------


def _window(
    frame: pd.DataFrame,
    dates: pd.Series,
    kpis: tuple[str, ...],
    why: dict[str, str],
    checks: list[str],
) -> tuple[pd.Series, str | None, str | None]:
    """Rows to fit: all, or the dates where the KPI (every outcome) is known when it is
    empty only at the start or end (media before the start still warm up the carry-over)."""
    everything = pd.Series(True, index=frame.index)
    known = frame[list(kpis)].notna().all(axis=1)
    shown = ", ".join(_show(k) for k in kpis)
    if known.all() or not known.any():
        return everything, None, None
    first, last = dates[known].min(), dates[known].max()
    inside = (dates >= first) & (dates <= last)
    gaps = int((~known[inside]).sum())
    if gaps:
        what = f"the KPI {shown} has" if len(kpis) == 1 else f"the outcomes {shown} have"
        checks.append(f"{what} {gaps} empty cell(s) between known values")
        return everything, None, None
    start = str(first.date()) if first > dates.min() else None
    end = str(last.date()) if last < dates.max() else None
    verb = "is" if len(kpis) == 1 else "are"
    why["window"] = f"{shown} {verb} empty before {first.date()} or after {last.date()}"
    return inside, start, end


def _constant_within_groups(window: pd.DataFrame, column: str, group: str | None) -> bool:
    if group is None:
        return False
    return bool((window.groupby(group)[column].nunique(dropna=False) <= 1).all())


def _control_kind(
    window: pd.DataFrame,
    column: str,
    group: str | None,
    skipped: dict[str, str],
    why: dict[str, str],
) -> Literal["number", "factor", "skip"]:
    values = window[column]
    reason = ""
    if column.lower() in (*RESERVED, "seasonality"):
        reason = "the built-in trend and seasonality replace it"
    elif values.isna().any():
        reason = f"{int(values.isna().sum())} empty cell(s): fill them to use it"
    elif values.nunique() < 2:
        reason = "constant: it carries no information"
    elif _constant_within_groups(window, column, group):
        reason = f"constant within each {group}: the {group} intercepts absorb it"
    if reason:
        skipped[column] = reason
        return "skip"
    if pd.api.types.is_bool_dtype(values) or not _is_code(values, column):
        return "number"
    shown = ", ".join(str(v) for v in sorted(values.unique())[:6])
    why[f"factor {column}"] = f"integer codes with {values.nunique()} levels ({shown})"
    return "factor"


def _is_code(values: pd.Series, column: str) -> bool:
    """Integer codes of a category (a few small levels), not a count or a 0/1 dummy."""
    numbers = values.to_numpy(dtype=float)
    if not np.all(np.mod(numbers, 1) == 0) or NUMERIC_WORDS & set(_tokens(column)):
        return False
    levels = set(numbers.tolist())
    if levels <= {0.0, 1.0}:
        return False  # a dummy: the same model as a number
    return len(levels) <= MAX_CODES and min(levels) >= 0 and max(levels) <= 2 * MAX_CODES


def _text_kind(
    window: pd.DataFrame,
    column: str,
    group: str | None,
    skipped: dict[str, str],
    why: dict[str, str],
) -> Literal["factor", "skip"]:
    values = window[column]
    present = values.dropna()
    as_numbers = pd.to_numeric(present.astype(str).str.replace(",", ""), errors="coerce")
    levels = present.astype(str).str.strip().unique()
    reason = ""
    if len(present) and as_numbers.notna().mean() >= 0.5:
        reason = "numbers written as text: remove units or thousands separators to use it"
    elif len(present) and _looks_like_dates(present):
        reason = "holds dates"
    elif values.isna().any():
        reason = (
            f"{int(values.isna().sum())} empty cell(s): give each row a level (e.g. 'none') "
            f"and add factor({column})"
        )
    elif len(levels) < 2:
        reason = "a single value: it carries no information"
    elif len(levels) > MAX_LEVELS:
        reason = f"{len(levels)} distinct values: too many levels for a category"
    elif _constant_within_groups(window, column, group):
        reason = f"constant within each {group}: the {group} intercepts absorb it"
    if reason:
        skipped[column] = reason
        return "skip"
    shown = ", ".join(str(v) for v in present.astype(str).value_counts().index[:4])
    more = ", ..." if len(levels) > 4 else ""
    why[f"factor {column}"] = f"text with {len(levels)} levels ({shown}{more})"
    return "factor"


def _seasonality(
    frequency: Frequency, periods: int, why: dict[str, str]
) -> tuple[tuple[float | None, int], ...]:
    """Yearly terms when the data show a whole year; a weekly cycle for daily data."""
    terms: list[tuple[float | None, int]] = []
    if math.floor(YEAR[frequency]) <= periods:
        terms.append((None, 2))
    else:
        why["season"] = (
            f"no yearly seasonality: {periods} {frequency} periods are less than a year"
        )
    if frequency == "daily" and periods >= 14:
        terms.append((7.0, 2))
    return tuple(terms)


# --- the config text ------------------------------------------------------------------


def _yaml(value: str) -> str:
    """A YAML scalar that reads back as this exact string."""
    plain = bool(value) and value == value.strip() and not value.startswith(("'", '"', "{"))
    try:
        plain = plain and yaml.safe_load(value) == value and "#" not in value
    except yaml.YAMLError:
        plain = False
    return value if plain else json.dumps(value, ensure_ascii=False)


def _comment(text: str, indent: str) -> list[str]:
    """``text`` as comment lines of at most 99 characters (continuations indented)."""
    width = 99 - len(indent) - 2
    wrapped = textwrap.wrap(
        text.replace("\n", " "),
        width,
        subsequent_indent="  ",
        break_long_words=False,
        break_on_hyphens=False,
    )
    return [f"{indent}# {line}" for line in wrapped]


def _l_max(name: str, periods: int) -> int:
    wanted = 8 if _matches(name, LONG_CARRY) else 4
    return max(1, min(wanted, periods // 4))


def starter_config(data_path: Path, config_path: Path) -> str:
    """The text of a commented starter config for ``data_path``."""
    return render(classify(read_table(data_path), data_path), data_path, config_path)


def describe(cols: Columns) -> list[str]:
    """What was guessed, one short line per role (for the terminal)."""

    def channel(m: Channel) -> str:
        extra = f" (spend {m.spend})" if m.spend else " (organic)" if m.organic else ""
        return m.name + extra + (" [national]" if m.national else "")

    lines = (
        [
            f"long data: variables in {_show(cols.long.variable)}, values in "
            f"{_show(cols.long.value)}"
        ]
        if cols.long
        else []
    )
    lines += [
        f"date column {_show(cols.date)} ({cols.frequency}), "
        + (f"group column {_show(cols.group)}" if cols.group else "one series (no group)"),
        (
            f"outcomes {' + '.join(_show(o) for o in cols.outcomes)} (class "
            f"{cols.model_class}: {cols.why['outcomes']}; their total is "
            f"{_show(cols.total)}; cross-effects are not guessed)"
        )
        if cols.outcomes
        else f"KPI {_show(cols.kpi)}"
        + (f", valued by {_show(cols.kpi_value)}" if cols.kpi_value else ""),
        "media: " + (", ".join(channel(m) for m in cols.media) or "none recognised"),
    ]
    lines += [
        f"mediator {_show(m.column)} (class {cols.model_class}: {m.why}; built by "
        f"{', '.join(m.channels)}{': every channel' if m.every else ''})"
        for m in cols.mediators
    ]
    if cols.controls or cols.factors:
        terms = [*cols.controls, *(f"factor({c})" for c in cols.factors)]
        lines.append("controls: " + ", ".join(terms))
    if cols.skipped:
        lines.append("left out: " + ", ".join(cols.skipped))
    return lines


def render(cols: Columns, data_path: Path, config_path: Path) -> str:
    """The config text for classified columns (``data.path`` relative to the config)."""
    relative = os.path.relpath(data_path.resolve(), config_path.resolve().parent)
    lines = [
        f"# Starter config written by `mmm init` for {data_path.name}.",
        "# Each guess is marked 'guessed:' with its reason: check them, edit, then run",
        "#   mmm validate --config " + str(config_path),
        "# Reference: docs/config.md; schema: schemas/run_config.schema.json",
    ]
    if cols.checks:
        lines.append("#")
        lines.append("# check: the data need these fixes before the config validates:")
        for check in cols.checks:
            lines += _comment(f"- {check}", "")
    lines += [
        f"name: {_yaml(re.sub(r'[^A-Za-z0-9_-]+', '_', data_path.stem) or 'starter')}",
        "seed: 20240101",
        "",
        "data:",
        f"  path: {_yaml(relative)}          # relative to this file",
        *_comment(f"guessed: {_show(cols.date)} as the date column ({cols.why['date']})", "  "),
        f"  date_column: {_yaml(cols.date)}",
        f"  frequency: {cols.frequency}",
    ]
    if cols.long is not None:
        lines += _comment(
            f"guessed: long data ({cols.long.why}). Long: besides the date, exactly one numeric "
            "column whose values vary and one text column of at most "
            f"{MAX_VARIABLES} names, each (date, other text columns, variable) one row; the "
            "other text columns are the dimensions",
            "  ",
        )
        lines += [
            "  format: long",
            f"  variable_column: {_yaml(cols.long.variable)}",
            f"  value_column: {_yaml(cols.long.value)}",
        ]
        if cols.long.dimensions:
            lines.append("  dimensions:")
            lines += [f"    - {_yaml(d)}" for d in cols.long.dimensions]
    if cols.group:
        lines += _comment(
            f"guessed: {_show(cols.group)} as the group column ({cols.why['group']})", "  "
        )
        lines.append(f"  group_column: {_yaml(cols.group)}")
    if cols.start or cols.end:
        lines += _comment(f"guessed: the fitting window ({cols.why['window']})", "  ")
        lines += [f"  start: {cols.start}"] if cols.start else []
        lines += [f"  end: {cols.end}"] if cols.end else []
    lines += [
        "  holdout: 0                # periods at the end kept out of the fit and scored",
        "",
        "model:",
        f"  class: {cols.model_class}",
        *_class_lines(cols),
    ]
    for name in cols.factors:
        lines += _comment(
            f"guessed: {_show(name)} is categorical: {cols.why[f'factor {name}']}", "  "
        )
    if _formula_ready(cols):
        lines.append(f"  formula: {_yaml(_formula(cols))}")
        if cols.group:
            lines += _comment(
                f"(1 | {cols.group}): one baseline per {cols.group}; put terms inside, e.g. "
                f"(tv + search | {cols.group}), to let their effects vary by {cols.group}",
                "  ",
            )
    else:
        lines += _comment(
            "some column names (spaces, symbols) cannot be written in a formula: the terms "
            f"are listed under {'outcomes' if cols.outcomes else 'kpi'}, media and controls "
            "instead",
            "  ",
        )
        lines += [] if cols.outcomes else [f"  kpi: {_yaml(cols.kpi)}"]
    if cols.controls:
        notes = [
            f"; {_show(c)}: {cols.why[f'control {c}']}"
            for c in cols.controls
            if f"control {c}" in cols.why
        ]
        lines += _comment(
            "guessed: controls (the other numeric columns): "
            + ", ".join(cols.controls)
            + "".join(notes),
            "  ",
        )
    lines += _kpi_value_lines(cols)
    lines.append("  response: identity        # or log, for multiplicative effects")
    lines += _media_lines(cols)
    if not _formula_ready(cols):
        lines.append("  controls:")
        entries = [f"    - {_yaml(c)}" for c in cols.controls] + [
            f"    - {{name: {_yaml(c)}, type: categorical}}" for c in cols.factors
        ]
        lines += entries or ["    []"]
    lines += _outcome_lines(cols) + _mediator_lines(cols)
    if cols.skipped:
        lines.append("  # left out:")
        for column, reason in cols.skipped.items():
            lines += _comment(f"  {_show(column)}: {reason}", "  ")
    lines += _trend_and_season(cols)
    lines += [
        "",
        "priors: []                  # e.g. - price ~ normal(-0.2, 0.1)",
        "boundaries: []              # e.g. - price < 0",
        "",
        "fit:",
        "  method: mcmc              # or map for a quick look",
        "  chains: 4",
        "  warmup: 1000",
        "  samples: 1000",
        "",
        "diagnostics:",
        "  policy: explore           # publish: a failed gate fails the run",
        "",
    ]
    return "\n".join(lines)


def _class_lines(cols: Columns) -> list[str]:
    """The guess of the class (for the network classes) and of the KPI or outcomes."""
    lines: list[str] = []
    if cols.mediators:
        names = ", ".join(_show(m.column) for m in cols.mediators)
        one = len(cols.mediators) == 1
        lines += _comment(
            f"guessed: class {cols.model_class}: {names} "
            + (
                "reads as a mediator (see model.mediators): media build it, it moves"
                if one
                else "read as mediators (see model.mediators): media build them, they move"
            )
            + " the KPI, and every channel still acts on the KPI directly",
            "  ",
        )
    if not cols.outcomes:
        return [
            *lines,
            *_comment(f"guessed: {_show(cols.kpi)} as the KPI ({cols.why['kpi']})", "  "),
        ]
    names = ", ".join(_show(o) for o in cols.outcomes)
    lines += _comment(
        ("guessed: outcomes " if cols.mediators else f"guessed: class {cols.model_class}: ")
        + f"{names} are {cols.why['outcomes']} (see model.outcomes); reports, ROI and the "
        "budget use their total",
        "  ",
    )
    return [*lines, f"  kpi: {_yaml(cols.total)}          # the name of the outcomes' total"]


def _outcome_name(column: str) -> str:
    """A config name for a column (the column itself when a formula can hold it)."""
    if _FORMULA_NAME.fullmatch(column) and len(column) <= 60 and column not in ("factor", "log"):
        return column
    name = (re.sub(r"[^A-Za-z0-9_]+", "_", column).strip("_") or "outcome")[:60]
    return name if re.match(r"[A-Za-z_]", name) else f"y_{name}"[:60]


def _outcome_lines(cols: Columns) -> list[str]:
    if not cols.outcomes:
        return []
    lines = ["  outcomes:                 # value: weight of a unit in the total (default 1)"]
    names = [_outcome_name(o) for o in cols.outcomes]
    for name, column in zip(names, cols.outcomes, strict=True):
        lines.append(f"    - name: {_yaml(name)}")
        lines += [f"      column: {_yaml(column)}"] if name != column else []
    source, target = names[0], names[1]
    lines += _comment(
        "cross-effects between outcomes are not guessed: add those you expect, e.g. a halo "
        f"({source} lifting {target} a period later) or cannibalisation ({target} taking "
        f"from {source}; a modulator such as {target}'s promotion flag limits it to those "
        "periods):",
        "  ",
    )
    lines += [
        "  # cross_effects:",
        f"  #   - {{from: {source}, to: {target}, lag: 1, type: halo}}",
        f"  #   - {{from: {target}, to: {source}, lag: 0, type: cannibalisation}}",
        "  # correlated_errors: {eta: 2}   # let the outcomes' errors correlate",
    ]
    return lines


def _mediator_lines(cols: Columns) -> list[str]:
    if not cols.mediators:
        return []
    lines = ["  mediators:"]
    for m in cols.mediators:
        lines += _comment(f"guessed: {_show(m.column)}: {m.why}", "    ")
        lines.append(f"    - name: {_yaml(m.name)}")
        lines += [f"      column: {_yaml(m.column)}"] if m.name != m.column else []
        lines.append(
            f"      observation: {m.observation}"
            + " " * (10 - len(m.observation))
            + "# full | partial (a survey: empty cells elsewhere) | latent"
        )
        lines += _comment(f"guessed: channels: {m.channels_why}", "      ")
        lines.append("      channels:")
        lines += [f"        - {_yaml(c)}" for c in m.channels]
        lines.append(f"      # effect_sign: positive   # if more {m.name} cannot lower the KPI")
    return lines


def _formula_ready(cols: Columns) -> bool:
    names = [cols.kpi, *cols.outcomes, *cols.media_names, *cols.controls, *cols.factors]
    names += [cols.group] if cols.group else []
    return all(_FORMULA_NAME.fullmatch(n) and n not in ("factor", "log") for n in names)


def _formula(cols: Columns) -> str:
    terms = [
        *cols.media_names,
        *cols.controls,
        *(f"factor({name})" for name in cols.factors),
        "trend",
    ]
    terms += ["season"] if cols.seasonality else []
    terms += [f"(1 | {cols.group})"] if cols.group else []
    return " + ".join(cols.outcomes or (cols.kpi,)) + " ~ " + " + ".join(terms)


def _kpi_value_lines(cols: Columns) -> list[str]:
    if cols.outcomes:
        return []  # each outcome's `value`
    if cols.kpi_value is not None:
        return [
            *_comment(f"guessed: {cols.why['kpi_value']}", "  "),
            f"  kpi_value: {_yaml(cols.kpi_value)}",
        ]
    if set(_tokens(cols.kpi)) & MONEY_KPIS:
        return []
    return [
        f"  # kpi_value: 1.0           # money per unit of {cols.kpi}: set it so ROI and",
        "  #                          # budgets are in money, not KPI units per unit of spend",
    ]


def _media_lines(cols: Columns) -> list[str]:
    if not cols.media:
        return ["  media: []   # no media column recognised: list your channels here"]
    lines = [
        "  media:",
        *_comment(
            "guessed from names. A channel with exposure (impressions, clicks, GRPs) and "
            "spend is modelled on its exposure, and ROI and budgets use its spend, as Robyn "
            "and Meridian do",
            "    ",
        ),
    ]
    for channel in cols.media:
        lines += _comment(f"guessed: {_show(channel.name)}: {channel.why}", "    ")
        lines.append(f"    - name: {_yaml(channel.name)}")
        if channel.spend:
            lines.append(f"      spend_column: {_yaml(channel.spend)}")
        if channel.organic:
            lines.append("      organic: true")
        if channel.national:
            lines.append("      scope: national")
        lines += [
            f"      adstock: {{type: geometric, l_max: {_l_max(channel.name, cols.shortest)}}}",
            "      saturation: {type: hill}",
        ]
    return lines


def _trend_and_season(cols: Columns) -> list[str]:
    lines = ["  trend: {type: linear}"]
    if not cols.seasonality:
        lines += _comment(cols.why.get("season", "no seasonality"), "  ")
        lines.append("  seasonality: []")
        return lines
    lines.append("  seasonality:")
    for period, order in cols.seasonality:
        if period is None:
            lines.append(f"    - {{order: {order}}}            # yearly Fourier terms")
        else:
            lines.append(f"    - {{period: {period:g}, order: {order}}}   # a weekly cycle")
    return lines
