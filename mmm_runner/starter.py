"""`mmm init`: a commented starter config written from a data file.

Columns are classified by name and shape: the date column and its frequency,
an optional group column, the KPI, media (spend or exposure) and controls.
The result is a starting point to edit; it validates as written on clean data.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mmm_runner.config.formula import RESERVED
from mmm_runner.data.load import read_table

KPI_WORDS = (
    "revenue",
    "sales",
    "kpi",
    "conversions",
    "orders",
    "units",
    "volume",
    "signups",
    "leads",
    "bookings",
    "subscriptions",
    "installs",
)
MEDIA_WORDS = (
    "spend",
    "cost",
    "impressions",
    "imps",
    "grp",
    "clicks",
    "media",
    "tv",
    "radio",
    "search",
    "social",
    "display",
    "ooh",
    "video",
    "print",
    "digital",
    "online",
    "affiliate",
    "email",
    "youtube",
    "facebook",
    "meta",
    "tiktok",
    "google",
    "ctv",
    "podcast",
    "sponsor",
    "cinema",
    "programmatic",
    "influencer",
)
LONG_CARRY = (
    "tv",
    "radio",
    "ooh",
    "video",
    "ctv",
    "cinema",
    "print",
    "sponsor",
    "youtube",
    "podcast",
)
DATE_WORDS = ("date", "week", "day", "month", "period", "time")


@dataclass(frozen=True)
class Columns:
    """How the columns of a data file were classified."""

    date: str
    frequency: str
    group: str | None
    kpi: str
    media: tuple[str, ...]
    controls: tuple[str, ...]
    skipped: tuple[str, ...]  # numeric columns left out, with a reason in the config


def _words(name: str) -> set[str]:
    return set(re.split(r"[^a-z0-9]+", name.lower())) | {name.lower()}


def _matches(name: str, words: tuple[str, ...]) -> bool:
    lower = name.lower()
    return any(
        w in _words(name)
        or lower.startswith(w + "_")
        or lower.endswith("_" + w)
        or (len(w) > 3 and w in lower)
        for w in words
    ) or lower.startswith("m_")


def classify(frame: pd.DataFrame) -> Columns:
    """Guesses the role of every column."""
    date = _date_column(frame)
    dates = pd.to_datetime(frame[date], errors="coerce", format="mixed")
    numeric = [c for c in frame.columns if c != date and pd.api.types.is_numeric_dtype(frame[c])]
    others = [c for c in frame.columns if c not in (date, *numeric)]
    group = next((c for c in others if 2 <= frame[c].nunique() <= 200), None)
    kpi = next((c for c in numeric if _matches(c, KPI_WORDS)), None) or max(
        numeric, key=lambda c: float(np.abs(frame[c].to_numpy(dtype=float)).mean())
    )
    skipped = tuple(c for c in numeric if c.lower() in RESERVED or c.lower() == "seasonality")
    rest = [c for c in numeric if c != kpi and c not in skipped]
    media = tuple(c for c in rest if _matches(c, MEDIA_WORDS) and (frame[c] >= 0).all())
    controls = tuple(c for c in rest if c not in media)
    return Columns(date, _frequency(dates, group, frame), group, kpi, media, controls, skipped)


def _date_column(frame: pd.DataFrame) -> str:
    def parses(column: str) -> bool:
        if pd.api.types.is_numeric_dtype(frame[column]):
            return False
        parsed = pd.to_datetime(frame[column], errors="coerce", format="mixed")
        return bool(parsed.notna().mean() >= 0.95)

    named = [c for c in frame.columns if any(w in c.lower() for w in DATE_WORDS)]
    for column in (*named, *frame.columns):
        if parses(column):
            return str(column)
    raise ValueError("no column holds dates; add a date column (YYYY-MM-DD)")


def _frequency(dates: pd.Series, group: str | None, frame: pd.DataFrame) -> str:
    series = dates[frame[group] == frame[group].iloc[0]] if group else dates
    steps = series.dropna().sort_values().diff().dt.days.dropna()
    step = float(steps.median()) if len(steps) else 7.0
    if step <= 1.5:
        return "daily"
    if step <= 10:
        return "weekly"
    return "monthly"


def starter_config(data_path: Path, config_path: Path) -> str:
    """The text of a commented starter config for ``data_path``."""
    frame = read_table(data_path)
    cols = classify(frame)
    relative = os.path.relpath(data_path.resolve(), config_path.resolve().parent)
    lines = [
        f"# Starter config written by `mmm init` for {data_path.name}.",
        "# Edit it, then check it with:  mmm validate --config " + str(config_path),
        "# Reference: docs/config.md; schema: schemas/run_config.schema.json",
        f"name: {re.sub(r'[^A-Za-z0-9_-]+', '_', data_path.stem)}",
        "seed: 20240101",
        "",
        "data:",
        f"  path: {relative}          # relative to this file",
        f"  date_column: {cols.date}",
        f"  frequency: {cols.frequency}",
    ]
    if cols.group:
        lines.append(f"  group_column: {cols.group}   # one series per {cols.group}")
    lines += [
        "  holdout: 0                # periods at the end kept out of the fit and scored",
        "",
        "model:",
        f"  class: {'hierarchical' if cols.group else 'blm'}",
        f"  kpi: {cols.kpi}              # guessed: the KPI the model explains",
        "  response: identity        # or log, for multiplicative effects",
        "  media:                    # guessed from names: spend or exposure columns",
    ]
    for name in cols.media:
        long = _matches(name, LONG_CARRY)
        lines += [
            f"    - name: {name}",
            f"      adstock: {{type: geometric, l_max: {8 if long else 4}}}",
            "      saturation: {type: hill}",
        ]
    if not cols.media:
        lines.append("    []   # no media column recognised: list your channels here")
    lines.append("  controls:                 # the other numeric columns")
    lines += [f"    - {name}" for name in cols.controls] or ["    []"]
    if cols.skipped:
        lines.append(
            "  # left out (the built-in trend and seasonality replace them): "
            + ", ".join(cols.skipped)
        )
    lines += [
        "  trend: {type: linear}",
        "  seasonality:",
        "    - {order: 2}            # yearly Fourier terms",
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
