"""The design: the data of a run laid out for the model, with its scaling.

Rows are periods, stacked group by group for panels.  Media are divided by
their ``media_scale`` (never centred: zero spend stays zero); the KPI (or its
log) and the other columns are standardised on the fitted rows when
``model.standardise`` is on.  ``Scaling`` records everything needed to put
results back on the original scale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from mmm_runner.config.models import RunConfig
from mmm_runner.config.resolve import ModelSpec
from mmm_runner.data.calendar import calendar_columns
from mmm_runner.model import hsgp, transforms

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Column:
    """A non-media design column: its name and the coefficient group it belongs to."""

    name: str
    term: str  # control name, "trend" or "season"
    reference: str | None = None  # a categorical level's column: the level it is measured from


@dataclass(frozen=True)
class Crossed:
    """A grouping column of crossed pooling: its levels and the level of each group."""

    column: str
    levels: tuple[str, ...]
    of_group: npt.NDArray[np.int64]  # (G,) 0-based level of each group


@dataclass(frozen=True)
class Design:
    """Model inputs on both scales, for every row (fitted and held out)."""

    dates: pd.DatetimeIndex  # per row
    group: npt.NDArray[np.int64]  # group index per row (0 for a single market)
    group_names: tuple[str, ...]
    fitted: npt.NDArray[np.bool_]  # True for rows in the fit, False for holdout
    kpi: Array  # observed KPI (original scale)
    y: Array  # response on the modelling scale (all rows)
    y_mean: float
    y_sd: float
    media_names: tuple[str, ...]
    media: Array  # (rows, M) media as given (spend or exposure)
    spend: Array  # (rows, M) spend used for ROI
    media_scale: Array  # (M,)
    columns: tuple[Column, ...]
    x_raw: Array  # (rows, K) columns on the original scale (uncentred)
    x_mean: Array  # (K,)
    x_sd: Array  # (K,)
    log_response: bool
    warmup: Array | None = None  # (G, H, M) media of the H periods before the window
    value: Array | None = None  # (rows,) money per KPI unit (model.kpi_value), None: 1
    population: Array | None = None  # (rows,) the KPI is modelled per capita, None: totals
    crossed: tuple[Crossed, ...] = ()  # the columns of crossed pooling, with their levels
    mediators: Array | None = None  # (rows, D) nested class: observations, NaN where none
    # (rows, K) multivariate and combined classes: the outcomes as given; ``kpi`` is their
    # value-weighted total
    outcomes: Array | None = None
    modulators: dict[str, Array] = field(default_factory=dict)  # cross-effects' modulators

    @property
    def n_rows(self) -> int:
        return len(self.kpi)

    @property
    def media_scaled(self) -> Array:
        scaled: Array = self.media / self.media_scale
        return scaled

    @property
    def x(self) -> Array:
        """The non-media columns on the modelling scale."""
        x: Array = (self.x_raw - self.x_mean) / self.x_sd
        return x

    @property
    def n_groups(self) -> int:
        return len(self.group_names)

    @property
    def warmup_scaled(self) -> Array:
        """Scaled media of the periods before the fitting window, (G, H, M); H may be 0."""
        if self.warmup is None:
            return np.zeros((self.n_groups, 0, len(self.media_names)))
        scaled: Array = self.warmup / self.media_scale
        return scaled

    @property
    def per_capita(self) -> Array:
        """What turns the modelled KPI into the reported one, per row (ones without
        population scaling)."""
        return np.ones(self.n_rows) if self.population is None else self.population

    @property
    def kpi_value(self) -> Array:
        """Money per KPI unit of every row (ones when the config gives no value)."""
        return np.ones(self.n_rows) if self.value is None else self.value


CONTROL_TRANSFORMS: dict[str, Callable[[Array], Array]] = {
    "none": lambda x: x,
    "log": np.log,
    "log1p": np.log1p,
}
"""How a control enters the design (``controls[].transform``)."""


def build_design(
    frame: pd.DataFrame,
    config: RunConfig,
    spec: ModelSpec,
    fitted: npt.NDArray[np.bool_] | None = None,
) -> Design:
    """Lays out a checked, sorted frame (from the data checks) for the model.

    The fitted rows are all but the last ``data.holdout`` of each group, unless
    ``fitted`` names them (cross-validation folds cut by date). Everything learnt
    from the data (scales, means, CRE group means) comes from the fitted rows only.
    """
    data = config.data
    frame, fitted, warmup = _window(frame, config, spec, fitted)
    if data.group_column:
        labels = frame[data.group_column].astype(str).to_numpy()
        names = tuple(dict.fromkeys(labels))
        group = np.array([names.index(label) for label in labels], dtype=np.int64)
    else:
        names, group = ("all",), np.zeros(len(frame), dtype=np.int64)
    position = position_in_group(group)
    if fitted is None:
        length = np.bincount(group)[group]
        fitted = position < length - data.holdout
    outcomes = _outcomes(frame, spec)
    kpi = (
        frame[spec.kpi].to_numpy(dtype=float)
        if outcomes is None
        else outcomes @ np.array([o.value for o in spec.outcomes])
    )
    population = frame[spec.population].to_numpy(dtype=float) if spec.population else None
    modelled = kpi if population is None else kpi / population
    response = np.log(modelled) if spec.log_response else modelled
    media = per_capita_media(frame, spec)
    spend = media.copy()  # organic channels have no spend (zeros)
    for j, m in enumerate(spec.media):
        spend[:, j] = 0.0 if m.organic else frame[m.spend_column].to_numpy(dtype=float)
    scale = np.array([transforms.media_scale(media[fitted, j]) for j in range(media.shape[1])])
    columns, x_raw = _columns(frame, spec, position, fitted, config)
    value = _kpi_value(frame, spec)
    standardise = spec.standardise
    y_mean = float(response[fitted].mean()) if standardise else 0.0
    y_sd = float(response[fitted].std()) if standardise else 1.0
    x_mean = x_raw[fitted].mean(axis=0) if standardise else np.zeros(x_raw.shape[1])
    x_sd = x_raw[fitted].std(axis=0) if standardise else np.ones(x_raw.shape[1])
    x_sd = np.where(x_sd > 0, x_sd, 1.0)  # a column constant in some design (e.g. holdout-only)
    return Design(
        dates=pd.DatetimeIndex(frame[data.date_column]),
        group=group,
        group_names=names,
        fitted=fitted,
        kpi=kpi,
        y=(response - y_mean) / y_sd,
        y_mean=y_mean,
        y_sd=y_sd,
        media_names=spec.media_names,
        media=media,
        spend=spend,
        media_scale=scale,
        columns=tuple(columns),
        x_raw=x_raw,
        x_mean=np.asarray(x_mean, dtype=float),
        x_sd=np.asarray(x_sd, dtype=float),
        log_response=spec.log_response,
        warmup=warmup,
        value=value,
        population=population,
        crossed=_crossed(frame, spec, group, len(names)),
        mediators=_mediators(frame, spec),
        outcomes=outcomes,
        modulators={
            c.modulator: frame[c.modulator].to_numpy(dtype=float)
            for c in spec.cross_effects
            if c.modulator
        },
    )


def _outcomes(frame: pd.DataFrame, spec: ModelSpec) -> Array | None:
    """The outcomes' columns as given (multivariate and combined classes)."""
    if not spec.outcomes:
        return None
    return np.column_stack([frame[o.column].to_numpy(dtype=float) for o in spec.outcomes])


def _mediators(frame: pd.DataFrame, spec: ModelSpec) -> Array | None:
    """Observations of each mediator (NaN where not observed; all NaN when latent)."""
    if not spec.mediators:
        return None
    columns = [
        frame[m.column].to_numpy(dtype=float) if m.column else np.full(len(frame), np.nan)
        for m in spec.mediators
    ]
    return np.column_stack(columns)


def _crossed(
    frame: pd.DataFrame, spec: ModelSpec, group: npt.NDArray[np.int64], n_groups: int
) -> tuple[Crossed, ...]:
    """The level of each group on each crossed column (constant within a group: the data
    checks make sure)."""
    out = []
    for part in spec.crossed:
        labels = frame[part.column].astype(str).to_numpy()
        levels = tuple(sorted(set(labels)))
        first = np.array([np.flatnonzero(group == g)[0] for g in range(n_groups)])
        of_group = np.array([levels.index(labels[row]) for row in first], dtype=np.int64)
        out.append(Crossed(part.column, levels, of_group))
    return tuple(out)


def per_capita_media(frame: pd.DataFrame, spec: ModelSpec) -> Array:
    """The media as the model sees them: per capita where configured, else as given."""
    media = frame[list(spec.media_names)].to_numpy(dtype=float, copy=True)
    if spec.population:
        people = frame[spec.population].to_numpy(dtype=float)
        for j, name in enumerate(spec.media_names):
            if name in spec.per_capita:
                media[:, j] = media[:, j] / people
    return media


def _window(
    frame: pd.DataFrame,
    config: RunConfig,
    spec: ModelSpec,
    fitted: npt.NDArray[np.bool_] | None,
) -> tuple[pd.DataFrame, npt.NDArray[np.bool_] | None, Array | None]:
    """The rows inside data.start..data.end, and the media before the start per group.

    Rows after ``end`` are dropped; rows before ``start`` only carry their media
    into the window's adstock (the longest adstock window's worth is kept).
    """
    data = config.data
    if data.start is None and data.end is None:
        return frame, fitted, None
    dates = pd.DatetimeIndex(frame[data.date_column])
    keep = np.ones(len(frame), dtype=bool)
    if data.end is not None:
        keep &= dates <= pd.Timestamp(data.end)
    before = np.zeros(len(frame), dtype=bool)
    if data.start is not None:
        before = dates < pd.Timestamp(data.start)
        keep &= ~before
    depth = max([m.l_max for m in spec.media], default=1) - 1
    groups = (
        frame[data.group_column].astype(str).to_numpy()
        if data.group_column
        else np.zeros(len(frame), dtype=str)
    )
    order = list(dict.fromkeys(groups[keep]))
    media = per_capita_media(frame, spec)
    warmup = np.zeros((len(order), depth, len(spec.media)))
    for g, name in enumerate(order):
        rows = np.flatnonzero(before & (groups == name))
        rows = rows[len(rows) - min(depth, len(rows)) :]  # the last `depth` (or fewer)
        if len(rows):
            warmup[g, depth - len(rows) :] = media[rows]
    window = frame[keep].reset_index(drop=True)
    return window, None if fitted is None else fitted[keep], warmup


def _kpi_value(frame: pd.DataFrame, spec: ModelSpec) -> Array | None:
    """Money per KPI unit per row: a constant or a column (model.kpi_value)."""
    if spec.kpi_value is None:
        return None
    if isinstance(spec.kpi_value, str):
        return frame[spec.kpi_value].to_numpy(dtype=float)
    return np.full(len(frame), float(spec.kpi_value))


def category_labels(values: pd.Series) -> npt.NDArray[np.str_]:
    """A categorical column's levels as text (integer-valued numbers without '.0')."""
    if pd.api.types.is_float_dtype(values) and bool((values.dropna() % 1 == 0).all()):
        values = values.astype("Int64")
    return values.astype(str).str.strip().to_numpy(dtype=str)


def levels(
    labels: npt.NDArray[np.str_], fitted: npt.NDArray[np.bool_], reference: str | None
) -> tuple[str, list[str]]:
    """The reference level (given, or the most frequent in the fitted rows) and the others."""
    counts = pd.Series(labels[fitted]).value_counts(sort=False)
    found = sorted(set(labels))
    if reference is None:
        top = counts.max()
        reference = sorted(str(k) for k, v in counts.items() if v == top)[0]
    return reference, [level for level in found if level != reference]


def position_in_group(group: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    position = np.zeros(len(group), dtype=np.int64)
    for g in np.unique(group):
        rows = np.flatnonzero(group == g)
        position[rows] = np.arange(len(rows))
    return position


def _columns(
    frame: pd.DataFrame,
    spec: ModelSpec,
    position: npt.NDArray[np.int64],
    fitted: npt.NDArray[np.bool_],
    config: RunConfig,
) -> tuple[list[Column], Array]:
    """Controls, CRE group means, trend basis and Fourier terms, uncentred."""
    columns: list[Column] = []
    values: list[Array] = []
    for name in spec.controls:
        if name in spec.categorical:
            labels = category_labels(frame[name])
            reference, others = levels(labels, fitted, spec.categorical[name])
            for level in others:
                columns.append(Column(f"{name}[{level}]", name, reference))
                values.append((labels == level).astype(float))
            continue
        columns.append(Column(name, name))
        raw = frame[name].to_numpy(dtype=float)
        values.append(CONTROL_TRANSFORMS[spec.control_transforms.get(name, "none")](raw))
    group_col = config.data.group_column
    for name in spec.cre:
        by_group = frame[fitted].groupby(group_col)[name].mean()
        overall = float(frame.loc[fitted, name].mean())  # for a group with no fitted rows
        means = frame[group_col].map(by_group).fillna(overall).to_numpy(dtype=float)
        columns.append(Column(f"cre_mean_{name}", f"cre_mean_{name}"))
        values.append(means)
    if spec.calendar is not None:
        dates = pd.DatetimeIndex(frame[config.data.date_column])
        marks = calendar_columns(dates, config.data.frequency, spec.calendar, fitted)
        for name, term, indicator in marks:
            columns.append(Column(name, term))
            values.append(indicator)
    t = position.astype(float)
    for label, basis in trend_basis(spec, t, fitted, frame, config):
        columns.append(Column(label, "trend"))
        values.append(basis)
    for period, order in spec.seasonality:
        for k in range(1, order + 1):
            angle = 2 * np.pi * k * t / period
            columns.append(Column(f"season_{period:g}_sin{k}", "season"))
            values.append(np.sin(angle))
            columns.append(Column(f"season_{period:g}_cos{k}", "season"))
            values.append(np.cos(angle))
    matrix = np.column_stack(values) if values else np.zeros((len(frame), 0))
    return columns, matrix


def trend_basis(
    spec: ModelSpec,
    t: Array,
    fitted: npt.NDArray[np.bool_],
    frame: pd.DataFrame,
    config: RunConfig,
) -> list[tuple[str, Array]]:
    """The trend's design columns over the period index ``t`` (0 at each series' start)."""
    trend = spec.trend
    if trend is None or trend.type == "none":
        return []
    if trend.type == "linear":
        return [("trend", t.copy())]
    if trend.type == "gp":  # Hilbert-space basis functions; their weights have a GP prior
        dom = hsgp.trend_domain(trend, t[fitted])
        phi = hsgp.basis(dom, t)
        return [(f"{hsgp.GP_PREFIX}{j + 1}", phi[:, j]) for j in range(dom.functions)]
    last = float(t[fitted].max())
    if trend.type == "piecewise":
        if trend.changepoints:
            dates = pd.DatetimeIndex(frame[config.data.date_column])
            first = dates.min()
            step = pd.Timedelta(days={"daily": 1, "weekly": 7}.get(config.data.frequency, 30.4))
            points = [float((pd.Timestamp(c) - first) / step) for c in trend.changepoints]
        else:
            count = trend.n_changepoints or 1
            points = list(np.linspace(0, last, count + 2)[1:-1])
        out = [("trend", t.copy())]
        out += [(f"trend_change{i + 1}", np.maximum(t - c, 0.0)) for i, c in enumerate(points)]
        return out
    # Cubic B-spline over the fitted range, extrapolated linearly-ish beyond.
    from scipy.interpolate import BSpline  # a slow import, needed by spline trends only

    inner = np.linspace(0, last, trend.knots + 2)[1:-1]
    knots = np.concatenate([[0.0] * 4, inner, [last] * 4])
    n_basis = len(knots) - 4
    basis = []
    for j in range(1, n_basis):  # the first is dropped: the basis sums to one
        coef = np.zeros(n_basis)
        coef[j] = 1.0
        basis.append((f"trend_spline{j}", BSpline(knots, coef, 3, extrapolate=True)(t)))
    return basis


def lag_matrices(design: Design, l_max: int) -> Array:
    """Scaled media at lags 0..l_max-1: shape (M, rows, l_max).

    Before each series' first row the lags reach into the warm-up periods
    before the fitting window, and are zero beyond them.
    """
    scaled = design.media_scaled
    warmup = design.warmup_scaled
    depth = warmup.shape[1]
    rows, m = scaled.shape
    out = np.zeros((m, rows, l_max))
    position = position_in_group(design.group)
    for lag in range(l_max):
        shifted = np.zeros_like(scaled)
        shifted[lag:] = scaled[: rows - lag]
        valid = position >= lag  # do not reach into the previous group's series
        out[:, :, lag] = (shifted * valid[:, None]).T
        back = depth + position - lag  # the warm-up period a lag before the start reaches
        use = ~valid & (back >= 0)
        if use.any():
            out[:, use, lag] = warmup[design.group[use], back[use], :].T
    return out
