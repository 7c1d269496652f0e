"""From a config to a model specification.

A formula or the structured lists, the compact priors and boundaries and the
defaults all meet here and become one ``ModelSpec``: every term with its
role, prior and bounds, every transform parameter with its prior.  Problems
are collected (not raised one by one) so `mmm validate` can report them all.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from mmm_runner.config import formula as fml
from mmm_runner.config import notation
from mmm_runner.config.loader import LoadedConfig, Loc, format_loc
from mmm_runner.config.models import (
    YEAR,
    CalendarConfig,
    ControlConfig,
    LiftTest,
    MediaChannel,
    RoiPrior,
    RunConfig,
    SaturationConfig,
    SelectionConfig,
    SharePrior,
    TimeVaryingConfig,
    TrendConfig,
)
from mmm_runner.config.notation import INF, Distribution
from mmm_runner.errors import Problem
from mmm_runner.model import transforms

Stage = Literal["adstock", "saturation"]
# The calendar's terms (their columns are holidays[<name>] and calendar_events[<name>]).
HOLIDAYS, EVENTS = "holidays", "calendar_events"

# Default priors on the standardised scale (documented in docs/config.md).
DEFAULT_PRIORS = {
    # Media are not centred (zero spend stays zero), so the intercept sits below the
    # standardised KPI's mean by the media's average effect: a wide prior.
    "intercept": "normal(0, 5)",
    "sigma": "half_normal(1)",
    "media": "normal(0, 3)",
    "control": "normal(0, 1)",
    "trend": "normal(0, 1)",
    "season": "normal(0, 1)",
    "group_sd": "half_normal(0.5)",
    # Markets differ in size far more than in their media effects.
    "group_intercept_sd": "half_normal(2)",
    # nested class: the mediator's effect on the KPI (both standardised) and the noise
    # of a survey that observes the mediator in some periods
    "mediator_effect": "normal(0, 1)",
    "observation_noise": "half_normal(0.5)",
    # multivariate and combined classes: one outcome's (uncentred) value over its sd moving
    # another's, in its sds; half of it with the sign of a halo or cannibalisation
    "cross_effect": "normal(0, 0.3)",
}
TOTAL = "total"  # the name of the outcomes' value-weighted total when model.kpi is not set


@functools.cache
def default(role: str) -> Distribution:
    """The default prior of a role (parsed once: distributions are immutable)."""
    return notation.parse_distribution(DEFAULT_PRIORS[role])


@dataclass(frozen=True)
class Coefficient:
    """A linear coefficient: its prior and hard bounds (on the modelling scale)."""

    name: str
    role: Literal["media", "control", "trend", "season", "intercept", "cre"]
    prior: Distribution
    lower: float = -INF
    upper: float = INF
    source: str = "default"  # where the prior came from, e.g. "priors[2]"


@dataclass(frozen=True)
class TransformParam:
    """A parameter of a channel's adstock or saturation."""

    channel: str
    stage: Stage
    name: str
    prior: Distribution
    lower: float
    upper: float
    source: str = "default"

    @property
    def label(self) -> str:
        return f"{self.channel}.{self.stage}.{self.name}"


@dataclass(frozen=True)
class MediaTerm:
    """A media channel as the model uses it."""

    name: str
    spend_column: str
    adstock: str
    l_max: int
    saturation: str
    scope: Literal["group", "national"] = "group"
    organic: bool = False  # no spend: no ROI, never planned by the budget
    time_varying: TimeVaryingConfig | None = None  # a drifting effectiveness
    per_outcome: bool = False  # network classes: own transform parameters per outcome


@dataclass(frozen=True)
class RoiSpec:
    """A prior on a channel's ROI (or its share of the KPI) over a window (the coefficient
    prior it replaces is not used)."""

    channel: str
    prior: Distribution
    start: dt.date | None = None
    end: dt.date | None = None
    kind: Literal["roi", "share"] = "roi"  # share: contribution over the observed KPI


@dataclass(frozen=True)
class MediatorSpec:
    """A mediator of the nested class, with its priors resolved."""

    name: str
    column: str | None  # None: latent
    observation: Literal["full", "partial", "latent"]
    channels: tuple[str, ...]
    effect: Coefficient  # gamma on the KPI: prior and bounds (modelling scale)
    media_priors: tuple[Distribution, ...]  # each channel's effect on it, at saturation
    sigma_prior: Distribution
    noise_prior: Distribution  # observation noise of a partially observed mediator
    stated: frozenset[str] = frozenset()  # which priors the config states


@dataclass(frozen=True)
class OutcomeSpec:
    """An outcome of the multivariate and combined classes."""

    name: str
    column: str
    value: float  # weight of one unit in the total (reports, ROI, budget)
    channels: tuple[str, ...]  # media acting directly on it
    controls: tuple[str, ...]  # controls in its equation


@dataclass(frozen=True)
class CrossSpec:
    """A cross-effect ``psi * modulator_t * source_{t - lag}`` into ``target``."""

    source: str
    target: str
    lag: int
    modulator: str | None
    effect: Coefficient  # psi: prior and sign bounds (modelling scale)


@dataclass(frozen=True)
class SelectionSpec:
    """A variable-selection prior on some controls (those with role precision), in place
    of their own priors; the settings as docs/config.md describes them."""

    prior: Literal["horseshoe", "spike_slab", "lasso"]
    terms: tuple[str, ...]
    expected_nonzero: float  # D0, 0 < D0 < D
    slab_scale: float
    slab_df: float
    spike_scale: float
    threshold: float

    @property
    def hyperparameters(self) -> int:
        """Free parameters the prior adds beyond the coefficients (for the rows check)."""
        terms = len(self.terms)
        return {"horseshoe": 2 * terms + 2, "spike_slab": 1, "lasso": terms + 1}[self.prior]


@dataclass(frozen=True)
class CrossedPart:
    """Effects that vary by a grouping column other than the group (crossed pooling)."""

    column: str
    terms: tuple[str, ...]
    intercept: bool

    def labels(self) -> tuple[str, ...]:
        """What varies, as reported: "intercept" first, then the terms."""
        return (("intercept",) if self.intercept else ()) + self.terms


@dataclass(frozen=True)
class ModelSpec:
    """Everything the data layer and the Stan programs need about the model."""

    model_class: str
    kpi: str
    log_response: bool
    standardise: bool
    media: tuple[MediaTerm, ...]
    controls: tuple[str, ...]
    trend: TrendConfig | None
    seasonality: tuple[tuple[float, int], ...]  # (period, order)
    coefficients: dict[str, Coefficient]  # media, controls, "trend", "season"
    transform_params: tuple[TransformParam, ...]
    intercept: Coefficient
    sigma_prior: Distribution
    group: str | None = None
    varying: tuple[str, ...] = ()
    varying_intercept: bool = False
    group_sd_prior: Distribution = field(default_factory=lambda: default("group_sd"))
    group_intercept_sd_prior: Distribution = field(
        default_factory=lambda: default("group_intercept_sd")
    )
    crossed: tuple[CrossedPart, ...] = ()  # hierarchical: pooling across other columns
    cre: tuple[str, ...] = ()
    pooling: dict[str, dict[str, str]] = field(default_factory=dict)
    parameterisation: str = "auto"
    term_parameterisation: dict[str, str] = field(default_factory=dict)  # term -> form
    centred_min_rows: int = 150
    group_transforms: bool = False
    budget_effects: str = "population"
    categorical: dict[str, str | None] = field(default_factory=dict)  # control -> reference
    calendar: CalendarConfig | None = None  # the holidays and events the model uses
    kpi_value: float | str | None = None  # money per KPI unit: a constant or a column
    population: str | None = None  # population column: KPI (and media) modelled per capita
    per_capita: tuple[str, ...] = ()  # media modelled per capita
    control_transforms: dict[str, str] = field(default_factory=dict)  # control -> log, log1p
    mediators: tuple[MediatorSpec, ...] = ()  # nested and combined classes
    # multivariate and combined classes: the KPI is the outcomes' value-weighted total
    outcomes: tuple[OutcomeSpec, ...] = ()
    cross_effects: tuple[CrossSpec, ...] = ()
    lkj_eta: float | None = None  # correlated outcome errors: the LKJ shape; None: independent
    mediator_outcomes: tuple[tuple[str, ...], ...] = ()  # per mediator: the outcomes it moves
    lift_tests: tuple[LiftTest, ...] = ()  # experiments that calibrate the model
    roi_priors: tuple[RoiSpec, ...] = ()  # priors on ROI in place of coefficient priors
    share_priors: tuple[RoiSpec, ...] = ()  # priors on the share of the KPI, likewise
    selection: SelectionSpec | None = None  # a shrinkage prior on the precision controls

    def centred(self, shortest_group: int, term: str | None = None) -> bool:
        """Centred group effects (of ``term``, or the default form), given the shortest
        group's fitted rows? `auto`: when every group has enough rows to inform its own
        effects."""
        form = self.term_parameterisation.get(term or "", self.parameterisation)
        if form == "auto":
            return shortest_group >= self.centred_min_rows
        return form == "centred"

    @property
    def media_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.media)

    @property
    def columns(self) -> tuple[str, ...]:
        """Data columns the model reads (KPI, media, spend, controls)."""
        names = [*self.kpi_columns, *self.media_names, *(m.spend_column for m in self.media)]
        value = [self.kpi_value] if isinstance(self.kpi_value, str) else []
        population = [self.population] if self.population else []
        mediators = [m.column for m in self.mediators if m.column]
        modulators = [c.modulator for c in self.cross_effects if c.modulator]
        extra = [*value, *population, *mediators, *modulators]
        return tuple(dict.fromkeys([*names, *self.controls, *extra]))

    @property
    def kpi_columns(self) -> tuple[str, ...]:
        """The data columns behind the KPI: its own, or the outcomes' whose total it is."""
        return tuple(o.column for o in self.outcomes) or (self.kpi,)

    @property
    def time_varying(self) -> tuple[str, ...]:
        """Channels whose effectiveness drifts (model.media[].time_varying)."""
        return tuple(m.name for m in self.media if m.time_varying is not None)

    @property
    def window_priors(self) -> tuple[RoiSpec, ...]:
        """The ROI priors, then the share priors (the programs take both alike)."""
        return (*self.roi_priors, *self.share_priors)

    @property
    def roi_channels(self) -> frozenset[str]:
        """Channels whose prior is on their ROI or share of the KPI (their coefficient
        prior is not used)."""
        return frozenset(r.channel for r in self.window_priors)

    @property
    def selected(self) -> tuple[str, ...]:
        """Controls under the selection prior (their own priors are not used)."""
        return self.selection.terms if self.selection else ()

    @property
    def gaps_allowed(self) -> tuple[str, ...]:
        """Columns that may be empty in some rows: partially observed mediators."""
        return tuple(m.column for m in self.mediators if m.column and m.observation == "partial")

    def n_parameters(self, n_groups: int = 1) -> int:
        """Free parameters of the model (what the data must outnumber)."""
        season = sum(2 * order for _, order in self.seasonality)
        trend_cols = trend_columns(self.trend)
        base = 2 + len(self.media) + len(self.controls) + trend_cols + season
        base += len(self.transform_params) + len(self.cre)
        base += self.selection.hyperparameters if self.selection else 0
        base += 2 * len(self.time_varying)  # each drift's amplitude and lengthscale
        for m in self.mediators:  # intercept, noise, gamma, its paths (and survey noise)
            base += 3 + len(m.channels) + (m.observation == "partial")
        if self.outcomes:  # each outcome: intercept, noise, its own terms (counted once above)
            base -= 2 + len(self.media) + len(self.controls) + trend_cols + season
            for o in self.outcomes:
                base += 2 + len(o.channels) + len(o.controls) + trend_cols + season
            base += len(self.cross_effects)
            base += len(self.outcomes) * (len(self.outcomes) - 1) // 2 if self.lkj_eta else 0
            for term in self.media:  # a further transform set per further outcome
                if term.per_outcome:
                    sets = sum(term.name in o.channels for o in self.outcomes)
                    own = sum(p.channel == term.name for p in self.transform_params)
                    base += own * max(sets - 1, 0)
        if self.calendar is not None:  # at least one column per event and holiday term
            base += len(self.calendar.events) + len(self.calendar.holidays or ())
        if self.group is not None and n_groups > 1:
            season_columns = 2 * sum(order for _, order in self.seasonality)
            varying = sum(season_columns if v == "season" else 1 for v in self.varying)
            varying += int(self.varying_intercept)
            base += varying * (n_groups + 1)
            # a crossed column has fewer levels than there are groups; at least two
            base += sum(3 * len(part.labels()) for part in self.crossed)
        return base


def trend_columns(trend: TrendConfig | None) -> int:
    """Number of design columns of a trend."""
    if trend is None or trend.type == "none":
        return 0
    if trend.type == "linear":
        return 1
    if trend.type == "piecewise":
        return 1 + (len(trend.changepoints) or trend.n_changepoints or 0)
    if trend.type == "gp":  # its weights are shrunk by the GP prior: two hyperparameters
        return 2
    return trend.knots + 3  # cubic B-spline basis without the constant


class Collector:
    """Problems with their YAML lines."""

    def __init__(self, loaded: LoadedConfig | None) -> None:
        self.loaded = loaded
        self.problems: list[Problem] = []

    def add(
        self,
        loc: Loc,
        message: str,
        fix: str = "",
        value: str | None = None,
        severity: Literal["error", "warning"] = "error",
    ) -> None:
        line = self.loaded.line(loc) if self.loaded else None
        self.problems.append(Problem(format_loc(loc), message, fix, value, severity, line))


def resolve(
    config: RunConfig, loaded: LoadedConfig | None = None
) -> tuple[ModelSpec | None, list[Problem]]:
    """The model specification of a config, and every problem found on the way."""
    out = Collector(loaded)
    model = config.model
    terms = _terms(config, out)
    if terms is None:
        return None, out.problems
    kpi, media, controls, trend = terms.kpi, terms.media, terms.controls, terms.trend
    log_response = terms.log_response
    if model.response != "identity" and model.formula and not log_response:
        out.add(
            ("model", "response"),
            f"model.response is {model.response} but model.formula's left side is not log(...)",
            "write the formula as log(kpi) ~ ..., or drop model.response",
        )
    log_response = log_response or model.response != "identity"
    if model.response == "log_log":  # media default to log(1 + x): elasticities
        media = [_log_log_media(m) for m in media]
    _kpi_and_spend(config, out, kpi)
    seasonality = _seasonality(config, terms.season_on)
    _seasonality_rules(config, out, seasonality)
    calendar = _calendar(config, out)
    coefficients, transform_params, intercept, sigma, group_sd = _priors(
        config, out, media, controls, trend, seasonality, calendar
    )
    _boundaries(config, out, coefficients)
    _check_support(out, coefficients)
    spec = ModelSpec(
        model_class=model.model_class,
        kpi=kpi,
        log_response=log_response,
        standardise=model.standardise,
        media=tuple(
            MediaTerm(
                m.name,
                m.spend_column or m.name,
                m.adstock.type,
                m.adstock.l_max if m.adstock.type != "none" else 1,
                m.saturation.type,
                m.scope,
                m.organic,
                m.time_varying,
                m.per_outcome,
            )
            for m in media
        ),
        controls=tuple(c.name for c in controls),
        control_transforms={c.name: c.transform for c in controls if c.transform != "none"},
        categorical={c.name: c.reference for c in controls if c.type == "categorical"},
        calendar=calendar,
        kpi_value=model.kpi_value,
        population=model.population.column if model.population else None,
        per_capita=_per_capita(config, out, media),
        trend=trend,
        seasonality=seasonality,
        coefficients=coefficients,
        transform_params=tuple(transform_params),
        intercept=intercept,
        sigma_prior=sigma,
        group=config.data.group_column,
        varying=terms.varying,
        varying_intercept=terms.varying_intercept,
        crossed=terms.crossed,
        group_sd_prior=group_sd[0],
        group_intercept_sd_prior=group_sd[1],
        cre=tuple(model.hierarchical.cre),
        pooling=model.pooling.labels,
        **_parameterisation(model.hierarchical.parameterisation),
        centred_min_rows=model.hierarchical.centred_min_rows,
        group_transforms=model.hierarchical.transforms == "group",
        budget_effects=model.hierarchical.budget_effects,
        mediators=_mediators(config, out),
        outcomes=_outcomes(config, out, terms, media, controls),
        cross_effects=_cross_effects(config, out),
        lkj_eta=model.correlated_errors.eta if model.correlated_errors else None,
        mediator_outcomes=_mediator_outcomes(config, terms),
        lift_tests=tuple(config.calibration.lift_tests) if config.calibration else (),
        roi_priors=_roi_priors(config, out),
        share_priors=_share_priors(config, out),
    )
    _lift_tests(config, out, spec)
    spec = replace(spec, selection=_selection(config, out, spec, controls))
    _gp_trend_rules(config, out, spec)
    _time_varying_rules(config, out, spec)
    _group_rules(config, out, spec)
    _budget_channels(config, out, spec)
    _kpi_value(config, out, spec)
    return spec, out.problems


@dataclass(frozen=True)
class _Terms:
    """The model's terms as the formula (or the structured config) states them."""

    kpi: str
    log_response: bool
    media: list[MediaChannel]
    controls: list[ControlConfig]
    trend: TrendConfig | None
    season_on: bool
    varying: tuple[str, ...]
    varying_intercept: bool
    crossed: tuple[CrossedPart, ...]
    outcomes: tuple[str, ...] = ()  # the formula's left side `a + b` (several KPI columns)


def _terms(config: RunConfig, out: Collector) -> _Terms | None:
    model = config.model
    if model.formula is None:
        h = model.hierarchical
        trend = model.trend if model.trend.type != "none" else None
        season_on = model.seasonality is None or bool(model.seasonality)
        assert model.kpi is not None or model.outcomes  # guaranteed by ModelConfig
        group = config.data.group_column
        return _Terms(
            model.kpi or TOTAL,
            False,
            list(model.media),
            list(model.controls),
            trend,
            season_on,
            tuple(h.varying),
            h.varying_intercept and group is not None,
            tuple(
                CrossedPart(column, tuple(part.varying), part.varying_intercept)
                for column, part in h.crossed.items()
            ),
        )
    try:
        parsed = fml.parse_formula(model.formula)
    except fml.FormulaError as exc:
        pointer = " " * exc.column + "^"
        out.add(
            ("model", "formula"), f"{exc.message}\n      {model.formula}\n      {pointer}", exc.fix
        )
        return None
    if model.kpi is not None and not parsed.outcomes and model.kpi != parsed.response:
        out.add(
            ("model", "kpi"),
            f"model.kpi is '{model.kpi}' but model.formula models '{parsed.response}'",
            "drop model.kpi (the formula names the KPI)",
        )
    media_cfg = {m.name: m for m in model.media}
    control_cfg = {c.name: c for c in model.controls}
    media, controls = [], []
    for term in parsed.terms:
        if term in fml.RESERVED:
            continue
        if term in media_cfg:
            if term in parsed.factors:
                out.add(
                    ("model", "formula"),
                    f"'{term}' is a media channel; factor() applies to controls",
                    f"write {term} without factor(), or remove it from model.media",
                )
            media.append(media_cfg[term])
        else:
            control = control_cfg.get(term, ControlConfig(name=term))
            if term in parsed.factors and control.type != "categorical":
                if control.sign != "any":
                    out.add(
                        ("model", "controls"),
                        f"factor({term}) is categorical, but its entry sets sign {control.sign}",
                        "remove `sign` from the entry (a category has one effect per level)",
                    )
                control = ControlConfig(name=term, type="categorical")
            controls.append(control)
    in_formula = set(parsed.terms) | set(parsed.varying)
    for i, m in enumerate(model.media):
        if m.name not in in_formula:
            out.add(
                ("model", "media", i, "name"),
                f"channel '{m.name}' is configured but not in model.formula",
                f"add '+ {m.name}' to the formula or remove the entry",
            )
    for i, c in enumerate(model.controls):
        if c.name not in in_formula:
            out.add(
                ("model", "controls", i, "name"),
                f"control '{c.name}' is configured but not in model.formula",
                f"add '+ {c.name}' to the formula or remove it",
            )
    trend = None
    if fml.TREND in parsed.terms:
        if model.trend.type == "none":
            out.add(
                ("model", "trend", "type"),
                "model.formula has `trend` but model.trend.type is none",
                "set model.trend.type (linear, piecewise, spline) or drop `trend`",
            )
        else:
            trend = model.trend
    season_on = fml.SEASON in parsed.terms
    if not season_on and model.seasonality:
        out.add(
            ("model", "seasonality"),
            "model.seasonality is set but model.formula has no `season` term",
            "add '+ season' to the formula or remove model.seasonality",
        )
    group = config.data.group_column
    if parsed.parts and group is None:
        out.add(
            ("data", "group_column"),
            f"model.formula varies terms by '{parsed.parts[0].group}' but "
            "data.group_column is not set",
            f"set data.group_column: {parsed.parts[0].group} (the column naming each "
            "row's series)",
        )
    if model.hierarchical.crossed:
        out.add(
            ("model", "hierarchical", "crossed"),
            "model.hierarchical.crossed is set but model.formula decides what varies",
            "write the crossed parts in the formula, e.g. + (tv | product), and remove "
            "model.hierarchical.crossed",
        )
    # without a group column, read the first part as the group's (the class says more)
    own = parsed.part(group) if group is not None else next(iter(parsed.parts), None)
    crossed = tuple(
        CrossedPart(p.group, p.terms, p.intercept)
        for p in parsed.parts
        if p.group != group and group is not None
    )
    population = {m.name for m in media} | {c.name for c in controls}
    population |= {fml.SEASON} if season_on else set()
    for name in parsed.varying:
        if name not in population:
            out.add(
                ("model", "formula"),
                f"'{name}' varies by group but is not a population-level term",
                f"add '+ {name}' outside the parentheses too",
            )
    return _Terms(
        (model.kpi or TOTAL) if parsed.outcomes else parsed.response,
        parsed.log_response,
        media,
        controls,
        trend,
        season_on,
        own.terms if own else (),
        own.intercept if own else False,
        crossed,
        parsed.outcomes,
    )


def _parameterisation(chosen: str | Mapping[str, str]) -> dict[str, Any]:
    """The default form and the per-term forms of model.hierarchical.parameterisation."""
    if isinstance(chosen, str):
        return {"parameterisation": chosen}
    terms = {k: v for k, v in chosen.items() if k != "default"}
    return {"parameterisation": chosen.get("default", "auto"), "term_parameterisation": terms}


def _group_rules(config: RunConfig, out: Collector, spec: ModelSpec) -> None:
    """Varying and CRE terms must be model terms (the model class adds its own rules)."""
    model = config.model
    terms = {*spec.media_names, *spec.controls, *({"season"} if spec.seasonality else set())}
    where: Loc = ("model", "formula") if model.formula else ("model", "hierarchical", "varying")
    _varying_terms(out, spec, spec.varying, terms, where)
    for part in spec.crossed:
        at: Loc = (
            ("model", "formula")
            if model.formula
            else ("model", "hierarchical", "crossed", part.column)
        )
        _varying_terms(out, spec, part.terms, terms, at if model.formula else (*at, "varying"))
        if part.column == config.data.group_column:
            out.add(
                at,
                f"'{part.column}' is data.group_column: its effects are model.hierarchical."
                "varying, not crossed",
                "list the terms under model.hierarchical.varying",
            )
        if not part.labels():
            out.add(at, f"nothing varies by '{part.column}'", "name the terms that vary by it")
    national = {m.name for m in spec.media if m.scope == "national"}
    for name in spec.varying:
        if name in national:
            out.add(
                where,
                f"'{name}' is national media (the same series in every group): its "
                "group-varying effect is not identified by geographic variation, only by "
                "the priors",
                f"keep '{name}' population-level",
                severity="warning",
            )
    for name in spec.term_parameterisation:
        if name not in spec.varying:
            out.add(
                ("model", "hierarchical", "parameterisation", name),
                f"'{name}' is not a term that varies by {config.data.group_column or 'group'}",
                did_you_mean(name, ["default", *spec.varying])
                if spec.varying
                else "remove the entry: no term varies by group",
            )
    for i, name in enumerate(model.hierarchical.cre):
        if name not in terms:
            out.add(
                ("model", "hierarchical", "cre", i),
                f"'{name}' is not a media or control term of the model",
                did_you_mean(name, terms),
            )


def _roi_priors(config: RunConfig, out: Collector) -> tuple[RoiSpec, ...]:
    """ROI priors: one per paid channel, on a model whose channel effects add to the KPI."""
    if config.calibration is None:
        return ()
    paid = {m.name for m in config.model.media if not m.organic}
    return _window_priors(config, out, "roi", config.calibration.roi_priors, paid)


def _share_priors(config: RunConfig, out: Collector) -> tuple[RoiSpec, ...]:
    """Share priors: one per media channel (organic ones too), none with an ROI prior."""
    if config.calibration is None:
        return ()
    media = {m.name for m in config.model.media}
    with_roi = {r.channel for r in config.calibration.roi_priors}
    found = _window_priors(config, out, "share", config.calibration.share_priors, media)
    for i, item in enumerate(config.calibration.share_priors):
        if item.channel in with_roi:
            out.add(
                ("calibration", "share_priors", i, "channel"),
                f"'{item.channel}' also has an ROI prior: both would replace its "
                "coefficient prior",
                "keep one of the two",
            )
    return tuple(r for r in found if r.channel not in with_roi)


def _window_priors(
    config: RunConfig,
    out: Collector,
    kind: Literal["roi", "share"],
    items: Sequence[RoiPrior | SharePrior],
    allowed: set[str],
) -> tuple[RoiSpec, ...]:
    """Priors on a channel's ROI or share over a window: each on an allowed channel, once,
    outside the pools, on a model whose channel effects add to the KPI."""
    if not items:
        return ()
    model = config.model
    key = f"{kind}_priors"
    what = {"roi": "ROI", "share": "share"}[kind]
    resolved, seen = [], set()
    for i, item in enumerate(items):
        at: Loc = ("calibration", key, i)
        if item.channel not in allowed:
            out.add(
                (*at, "channel"),
                f"'{item.channel}' is not a {'paid ' if kind == 'roi' else ''}media channel",
                did_you_mean(item.channel, allowed),
            )
            continue
        if item.channel in seen:
            out.add((*at, "channel"), f"'{item.channel}' has two {what} priors", "keep one")
            continue
        seen.add(item.channel)
        if item.channel in model.pooling.labels:
            out.add(
                (*at, "channel"),
                f"'{item.channel}' is pooled: its prior comes from its pool",
                f"remove it from model.pooling.labels or drop the {what} prior",
            )
        try:
            dist = notation.parse_distribution(item.prior)
        except notation.NotationError as exc:
            out.add((*at, "prior"), exc.message, exc.fix, repr(item.prior))
            continue
        resolved.append(RoiSpec(item.channel, dist, item.start, item.end, kind))
    if resolved and (
        model.response != "identity"
        or model.population is not None
        or (model.formula is not None and model.formula.replace(" ", "").startswith("log("))
    ):
        out.add(
            ("calibration", key),
            f"{what} priors need channel effects that add to the KPI; not yet a "
            "log-response or per-capita model",
            f"use response: identity, or drop the {what} priors",
        )
    return tuple(resolved)


def _selection(
    config: RunConfig, out: Collector, spec: ModelSpec, controls: list[ControlConfig]
) -> SelectionSpec | None:
    """The selection prior and the controls it applies to: numeric precision controls
    with no prior of their own, no bound but their sign, and one effect for all groups."""
    chosen = config.model.selection
    if chosen is None:
        return None
    at: Loc = ("model", "selection")
    by_name = {c.name: c for c in controls}
    if chosen.terms is None:
        terms = [c.name for c in controls if c.role == "precision"]
    else:
        terms = _named_selection_terms(chosen, out, spec, by_name)
    for name in terms:
        if by_name[name].type == "categorical":
            out.add(
                _control_location(config, name, ("model", "selection")),
                f"'{name}' is categorical: selection applies to numeric controls (one "
                "coefficient each)",
                f"set role: confounder on '{name}', or enter it as a numeric column",
            )
    if not terms:
        out.add(
            at,
            "model.selection has no precision controls to select among",
            "mark the controls that only explain KPI variation (weather, competitor noise) "
            "with role: precision under model.controls",
        )
        return None
    d = len(terms)
    d0 = chosen.expected_nonzero
    if d0 is not None and not d0 < d:
        out.add(
            (*at, "expected_nonzero"),
            f"expected_nonzero ({d0:g}) must be below the number of selected controls ({d}): "
            "the prior expects most of them to have no effect",
            f"give a number between 0 and {d} (e.g. {max(d / 4, 0.5):g}), or select more controls",
            value=f"{d0:g}",
        )
    _selected_priors_and_bounds(config, out, spec, terms, chosen.prior)
    return SelectionSpec(
        chosen.prior,
        tuple(terms),
        d0 if d0 is not None and d0 < d else d / 4,
        chosen.slab_scale,
        chosen.slab_df,
        chosen.spike_scale,
        chosen.threshold,
    )


def _named_selection_terms(
    chosen: SelectionConfig, out: Collector, spec: ModelSpec, by_name: dict[str, ControlConfig]
) -> list[str]:
    """The terms model.selection.terms names that may be selected (the rest reported)."""
    terms = []
    for i, name in enumerate(chosen.terms or []):
        at: Loc = ("model", "selection", "terms", i)
        if name in spec.media_names:
            out.add(
                at,
                f"'{name}' is a media channel: selection priors apply to precision "
                "controls, never to media, whose effects the model is there to measure",
                f"remove '{name}' from model.selection.terms",
            )
        elif name not in by_name:
            out.add(
                at, f"'{name}' is not a control of the model", did_you_mean(name, set(by_name))
            )
        elif by_name[name].role != "precision":
            out.add(
                at,
                f"'{name}' is a confounder (its role): it may drive both spend and the KPI, "
                "and shrinking it to zero would leave its effect in the media coefficients",
                f"remove '{name}' from model.selection.terms, or set role: precision on it "
                "if it only explains KPI variation",
            )
        elif name in terms:
            out.add(at, f"'{name}' is listed twice", "list each control once")
        else:
            terms.append(name)
    return terms


def _selected_priors_and_bounds(
    config: RunConfig, out: Collector, spec: ModelSpec, terms: list[str], prior: str
) -> None:
    """A selected control takes its prior from the selection and has one effect for all
    groups (the selection is of that effect). Horseshoe and lasso integrate their
    coefficients out as normals, so those have no bounds; spike_slab's mixture of two
    zero-centred normals keeps its shape under a sign (a bound at 0), not under others."""
    for name in terms:
        coef = spec.coefficients[name]
        if coef.source.startswith("priors["):
            out.add(
                ("priors", int(coef.source[7:-1])),
                f"'{name}' is under model.selection, whose prior replaces its own",
                f"remove this prior line, or take '{name}' out of the selection",
            )
        bounded = math.isfinite(coef.lower) or math.isfinite(coef.upper)
        if bounded and prior != "spike_slab":
            out.add(
                _boundary_location(config, name),
                f"'{name}' has a bound {_interval(coef.lower, coef.upper)}, but {prior} "
                "integrates its selected coefficients out as normal, which needs them "
                "free of sign and bounds",
                f"set sign: any on '{name}', or use prior: spike_slab, which takes a sign",
            )
        elif {coef.lower, coef.upper} - {0.0, -INF, INF}:
            out.add(
                _boundary_location(config, name),
                f"'{name}' is under model.selection: it may have a sign (a bound at 0) but "
                f"no other bound, found {_interval(coef.lower, coef.upper)}",
                "keep only a sign (e.g. sign: positive) or take it out of the selection",
            )
        varies = name in spec.varying or any(name in part.terms for part in spec.crossed)
        if varies:
            out.add(
                ("model", "formula") if config.model.formula else ("model", "hierarchical"),
                f"'{name}' varies by group and is under model.selection: its group "
                "deviations would keep it in the model whatever the selection says",
                f"keep '{name}' population-level, or take it out of the selection",
            )


def _gp_trend_rules(config: RunConfig, out: Collector, spec: ModelSpec) -> None:
    """A GP trend's basis weights take the GP prior (set by its amplitude and lengthscale)
    and one path for all groups: the programs integrate them out as normals."""
    if spec.trend is None or spec.trend.type != "gp":
        return
    coef = spec.coefficients.get(fml.TREND)
    if coef is not None and coef.source.startswith("priors["):
        out.add(
            ("priors", int(coef.source[7:-1])),
            "a gp trend's prior is its amplitude and lengthscale, which replace a prior on "
            "the trend's coefficients",
            "remove this prior line; set model.trend.amplitude_prior or lengthscale_prior",
        )
    if fml.TREND in spec.varying or any(fml.TREND in part.terms for part in spec.crossed):
        out.add(
            ("model", "formula") if config.model.formula else ("model", "hierarchical"),
            "a gp trend is one path for all groups here (the groups' levels still differ): "
            "it cannot vary by group",
            "keep `trend` population-level, or use a linear or spline trend that varies",
        )


def _time_varying_rules(config: RunConfig, out: Collector, spec: ModelSpec) -> None:
    """A drifting channel's lift tests, ROI and share priors would need the drift over
    their windows; none is built yet, so they are refused rather than read at the
    average."""
    drifting = set(spec.time_varying)
    for i, test in enumerate(spec.lift_tests):
        if test.channel in drifting:
            out.add(
                ("calibration", "lift_tests", i, "channel"),
                f"'{test.channel}' is time-varying: a lift test would calibrate its "
                "effectiveness in the test's weeks, which this version does not model",
                f"remove time_varying from '{test.channel}' to calibrate it, or drop the test",
            )
    calibration = config.calibration
    for key, what in (("roi_priors", "an ROI prior"), ("share_priors", "a share prior")):
        stated = getattr(calibration, key) if calibration else []
        for i, item in enumerate(stated):  # as written: the spec drops broken entries
            if item.channel in drifting:
                out.add(
                    ("calibration", key, i, "channel"),
                    f"'{item.channel}' is time-varying: {what} on it is not supported",
                    f"state a coefficient prior for '{item.channel}', or remove time_varying",
                )


def _control_location(config: RunConfig, name: str, fallback: Loc) -> Loc:
    """The model.controls entry of a control, if it has one."""
    for i, c in enumerate(config.model.controls):
        if c.name == name:
            return ("model", "controls", i)
    return fallback


def _boundary_location(config: RunConfig, name: str) -> Loc:
    """The boundaries line of a term (its control entry's sign otherwise)."""
    for i, line in enumerate(config.boundaries):
        try:
            if notation.parse_boundary(line).target == name:
                return ("boundaries", i)
        except notation.NotationError:
            continue
    entry = _control_location(config, name, ("boundaries",))
    return (*entry, "sign") if entry[:2] == ("model", "controls") else entry


def _lift_tests(config: RunConfig, out: Collector, spec: ModelSpec) -> None:
    """Lift tests name a paid channel of the model; the model's lift must be the KPI's
    (identity response, totals)."""
    if not spec.lift_tests:
        return
    paid = {m.name for m in spec.media if not m.organic}
    organic = {m.name for m in spec.media if m.organic}
    for i, test in enumerate(spec.lift_tests):
        if test.channel in organic:
            out.add(
                ("calibration", "lift_tests", i, "channel"),
                f"'{test.channel}' is organic: it has no spend for a test to change",
                "lift tests calibrate paid channels",
            )
        elif test.channel not in paid:
            out.add(
                ("calibration", "lift_tests", i, "channel"),
                f"'{test.channel}' is not a media channel of the model",
                did_you_mean(test.channel, paid),
            )
    outcomes = [o.name for o in spec.outcomes]
    for i, test in enumerate(spec.lift_tests):
        if test.outcome is not None and test.outcome not in outcomes:
            out.add(
                ("calibration", "lift_tests", i, "outcome"),
                f"'{test.outcome}' is not an outcome of the model"
                if outcomes
                else "`outcome` names one of several outcomes; this model has one KPI",
                did_you_mean(test.outcome, outcomes) if outcomes else "remove `outcome`",
            )
    unsupported = [
        (spec.log_response, "a log-response model", "use response: identity"),
        (spec.population is not None, "a per-capita model", "remove model.population"),
    ]
    for flag, what, fix in unsupported:
        if flag:
            out.add(
                ("calibration", "lift_tests"),
                f"lift tests calibrate models whose channel effects add to the KPI; not yet "
                f"{what}",
                f"{fix}, or drop the calibration section",
            )


def _mediators(config: RunConfig, out: Collector) -> tuple[MediatorSpec, ...]:
    """The mediators with their priors parsed (the nested class checks the rest)."""
    resolved = []
    bounds = {"any": (-INF, INF), "positive": (0.0, INF), "negative": (-INF, 0.0)}
    for i, m in enumerate(config.model.mediators):

        def prior(key: Loc, role: str, text: str | None, at: int = i) -> Distribution:
            if text is None:
                return default(role)
            try:
                return notation.parse_distribution(text)
            except notation.NotationError as exc:
                out.add(("model", "mediators", at, *key), exc.message, exc.fix, repr(text))
                return default(role)

        lower, upper = bounds[m.effect_sign]
        effect = Coefficient(
            m.name,
            "control",
            prior(("effect_prior",), "mediator_effect", m.effect_prior),
            lower,
            upper,
            "default" if m.effect_prior is None else f"model.mediators[{i}]",
        )
        stated = {
            key
            for key in ("effect_prior", "media_prior", "sigma_prior", "noise_prior")
            if getattr(m, key) is not None
        }
        per_channel = m.media_prior if isinstance(m.media_prior, dict) else {}
        for channel in per_channel:
            if channel not in m.channels:
                out.add(
                    ("model", "mediators", i, "media_prior", channel),
                    f"'{channel}' is not one of the channels that build '{m.name}'",
                    did_you_mean(channel, m.channels),
                )
        shared = None if isinstance(m.media_prior, dict) else m.media_prior
        resolved.append(
            MediatorSpec(
                m.name,
                None if m.observation == "latent" else (m.column or m.name),
                m.observation,
                tuple(m.channels),
                effect,
                tuple(
                    prior(
                        ("media_prior", c) if c in per_channel else ("media_prior",),
                        "media",
                        per_channel.get(c, shared),
                    )
                    for c in m.channels
                ),
                prior(("sigma_prior",), "sigma", m.sigma_prior),
                prior(("noise_prior",), "observation_noise", m.noise_prior),
                frozenset(stated),
            )
        )
    return tuple(resolved)


def _log_log_media(channel: MediaChannel) -> MediaChannel:
    """A channel of a log_log model: saturation log1p unless the config chose one."""
    if "saturation" in channel.model_fields_set:
        return channel
    return channel.model_copy(update={"saturation": SaturationConfig(type="log1p")})


def _outcomes(
    config: RunConfig,
    out: Collector,
    terms: _Terms,
    media: list[MediaChannel],
    controls: list[ControlConfig],
) -> tuple[OutcomeSpec, ...]:
    """The outcomes of the config (and of a formula's left side `a + b`); the network
    classes check the rest."""
    model = config.model
    given = {o.name: o for o in model.outcomes}
    if terms.outcomes and model.outcomes and set(terms.outcomes) != set(given):
        out.add(
            ("model", "outcomes"),
            f"model.outcomes lists {', '.join(given)} but the formula's left side has "
            f"{', '.join(terms.outcomes)}",
            "name the same outcomes in both, or drop one of them",
        )
    names = list(terms.outcomes) or list(given)
    channels = tuple(m.name for m in media)
    all_controls = tuple(c.name for c in controls)
    index = {o.name: i for i, o in reversed(list(enumerate(model.outcomes)))}
    resolved = []
    for name in names:
        o = given.get(name)
        at: Loc = ("model", "outcomes", index[name]) if name in index else ("model", "formula")
        own_channels = tuple(o.channels) if o and o.channels is not None else channels
        own_controls = tuple(o.controls) if o and o.controls is not None else all_controls
        for key, listed, known, role in (
            ("channels", own_channels, channels, "a media channel"),
            ("controls", own_controls, all_controls, "a control"),
        ):
            for j, item in enumerate(listed):
                if item not in known:
                    out.add(
                        (*at, key, j),
                        f"'{item}' is not {role} of the model",
                        did_you_mean(item, list(known)),
                    )
        resolved.append(
            OutcomeSpec(
                name,
                (o.column if o and o.column else name),
                o.value if o else 1.0,
                own_channels,
                own_controls,
            )
        )
    return tuple(resolved)


def _cross_effects(config: RunConfig, out: Collector) -> tuple[CrossSpec, ...]:
    """The cross-effects with their priors and sign bounds (the classes check the names)."""
    bounds = {
        "free": (-INF, INF),
        "halo": (0.0, INF),
        "cannibalisation": (-INF, 0.0),
        "cannibalization": (-INF, 0.0),
    }
    resolved = []
    for i, c in enumerate(config.model.cross_effects):
        prior = default("cross_effect")
        if c.prior is not None:
            try:
                prior = notation.parse_distribution(c.prior)
            except notation.NotationError as exc:
                out.add(("model", "cross_effects", i, "prior"), exc.message, exc.fix, c.prior)
        lower, upper = bounds[c.type]
        source = "default" if c.prior is None else f"model.cross_effects[{i}]"
        name = f"{c.source}->{c.to}"
        effect = Coefficient(name, "control", prior, lower, upper, source)
        resolved.append(CrossSpec(c.source, c.to, c.lag, c.modulator, effect))
    return tuple(resolved)


def _mediator_outcomes(config: RunConfig, terms: _Terms) -> tuple[tuple[str, ...], ...]:
    """The outcomes each mediator moves (every outcome unless listed; the KPI alone when
    there are no outcomes)."""
    names = tuple(terms.outcomes) or tuple(o.name for o in config.model.outcomes)
    default_outcomes = names or (terms.kpi,)
    return tuple(
        tuple(m.outcomes) if m.outcomes is not None else default_outcomes
        for m in config.model.mediators
    )


def _varying_terms(
    out: Collector, spec: ModelSpec, names: tuple[str, ...], terms: set[str], where: Loc
) -> None:
    for name in names:
        if name not in terms:
            out.add(
                where,
                f"'{name}' varies by group but is not a media, control or season term",
                did_you_mean(name, terms),
            )
        elif name in spec.categorical:
            out.add(
                where,
                f"the categorical term '{name}' cannot vary by group",
                "keep categorical terms population-level",
            )


def _calendar(config: RunConfig, out: Collector) -> CalendarConfig | None:
    """The calendar the model uses: configured, and (with a formula) named in it."""
    model = config.model
    calendar = model.calendar
    if model.formula is None:
        return calendar
    terms = set(fml.parse_formula(model.formula).terms)  # valid: _terms read it already
    if fml.CALENDAR in terms and calendar is None:
        out.add(
            ("model", "formula"),
            "model.formula has `calendar` but model.calendar is not set",
            "set model.calendar (country and/or events), or drop `calendar`",
        )
    if calendar is not None and fml.CALENDAR not in terms:
        out.add(
            ("model", "calendar"),
            "model.calendar is set but model.formula has no `calendar` term",
            "add '+ calendar' to the formula, or remove model.calendar",
        )
        return None
    return calendar


def _seasonality(config: RunConfig, on: bool) -> tuple[tuple[float, int], ...]:
    if not on:
        return ()
    items = config.model.seasonality or []
    year = YEAR[config.data.frequency]
    if not items:
        return ((year, 2),)
    return tuple((s.period or year, s.order) for s in items)


def seasonality_location(config: RunConfig, index: int, key: str = "") -> Loc:
    """Where seasonality ``index`` of a spec is set: its entry of model.seasonality (and
    ``key`` in it, when written), or model.seasonality itself for the default."""
    items = config.model.seasonality or []
    if index >= len(items):
        return ("model", "seasonality")
    written = key and key in items[index].model_fields_set
    return ("model", "seasonality", index, key) if written else ("model", "seasonality", index)


def describe_seasonality(config: RunConfig, index: int, period: float) -> str:
    """'period 13' for a written period, 'the default yearly period (52.1775 rows)' else."""
    items = config.model.seasonality or []
    if index < len(items) and items[index].period is not None:
        return f"period {period:g}"
    return f"the default yearly period ({period:g} rows at {config.data.frequency} frequency)"


def _seasonality_rules(
    config: RunConfig, out: Collector, seasonality: tuple[tuple[float, int], ...]
) -> None:
    """Fourier terms must be distinct and resolvable at one row per period.

    A cycle shorter than two rows cannot be seen; harmonic k of a period needs
    2k < period (at 2k = period its sine is zero in every row, above it aliases onto a
    lower harmonic); two seasonalities sharing a harmonic give identical columns.
    """
    for i, (period, order) in enumerate(seasonality):
        what = describe_seasonality(config, i, period)
        if period < 2:
            out.add(
                seasonality_location(config, i, "period"),
                f"{what} is shorter than two rows: a cycle must span at least two periods "
                "of the data to be seen",
                "use a period of 2 or more rows (e.g. 7 for a weekly cycle in daily data)",
            )
        elif 2 * order >= period:
            # Reported at model.seasonality as before; the entry is named in the message.
            entry = f"model.seasonality[{i}]: " if config.model.seasonality else ""
            out.add(
                ("model", "seasonality"),
                f"{entry}order {order} is too high for period {period:g}: needs "
                f"2 × order < period (harmonic {order} repeats every {period / order:.3g} "
                "rows, but one row per period shows only cycles longer than 2 rows)",
                f"lower the order to at most {math.ceil(period / 2) - 1}",
            )
    for j, (period_j, order_j) in enumerate(seasonality):
        for i, (period_i, order_i) in enumerate(seasonality[:j]):
            shared = _shared_harmonic(period_i, order_i, period_j, order_j)
            if shared is not None:
                k_i, k_j = shared
                out.add(
                    seasonality_location(config, j, "period"),
                    f"harmonic {k_j} of period {period_j:g} is harmonic {k_i} of period "
                    f"{period_i:g} (model.seasonality[{i}]): both give the same sine and "
                    "cosine columns, which the model cannot tell apart",
                    "list each period once, and keep orders low enough that no harmonic "
                    "repeats another seasonality's",
                )


def _shared_harmonic(
    period_a: float, order_a: int, period_b: float, order_b: int
) -> tuple[int, int] | None:
    """The first pair of harmonics (k_a, k_b) with the same frequency, if any."""
    for k_a in range(1, order_a + 1):
        for k_b in range(1, order_b + 1):
            f_a, f_b = k_a / period_a, k_b / period_b
            if abs(f_a - f_b) <= 1e-9 * max(f_a, f_b):
                return k_a, k_b
    return None


def _kpi_and_spend(config: RunConfig, out: Collector, kpi: str) -> None:
    """The KPI cannot explain itself, and each spend column belongs to one channel.

    (The formula parser refuses the KPI as a term; the structured lists are checked
    here, and spend columns in either form.)
    """
    model = config.model
    if model.formula is None:
        roles: list[tuple[str, str, list[str]]] = [
            ("media", "media channel", [m.name for m in model.media]),
            ("controls", "control", [c.name for c in model.controls]),
        ]
        for key, role, names in roles:
            for i, name in enumerate(names):
                if name == kpi:
                    out.add(
                        ("model", key, i, "name"),
                        f"'{kpi}' is the KPI (model.kpi) and cannot also be a {role}: the "
                        "model would explain the KPI with itself",
                        f"remove '{kpi}' from model.{key}, or set model.kpi to the column "
                        "the model should explain",
                    )
    owners: dict[str, int] = {}
    for i, m in enumerate(model.media):
        if getattr(m, "organic", False):  # unpaid channels have no spend
            continue
        spend = m.spend_column or m.name
        loc: Loc = ("model", "media", i, "spend_column")
        if m.spend_column is not None and spend == kpi:
            out.add(
                loc,
                f"spend column '{spend}' of channel '{m.name}' is the KPI: spend cannot "
                "also be the outcome, and ROI would be the KPI over itself",
                "set spend_column to the channel's spend, or drop it (the channel's own "
                "column is then its spend)",
            )
        elif spend in owners:
            j = owners[spend]
            other = model.media[j].name
            out.add(
                loc if m.spend_column is not None else ("model", "media", j, "spend_column"),
                f"channels '{other}' (model.media[{j}]) and '{m.name}' (model.media[{i}]) "
                f"both have spend '{spend}': it would be counted twice in ROI and budgets",
                "model the channel once, or give each channel its own spend column",
            )
        else:
            owners[spend] = i


def did_you_mean(name: str, options: set[str] | list[str]) -> str:
    close = difflib.get_close_matches(name, sorted(options), n=1, cutoff=0.5)
    known = ", ".join(sorted(options))
    return f"did you mean '{close[0]}'?" if close else f"known names: {known}"


def _priors(
    config: RunConfig,
    out: Collector,
    media: list[MediaChannel],
    controls: list[ControlConfig],
    trend: TrendConfig | None,
    seasonality: tuple[tuple[float, int], ...],
    calendar: CalendarConfig | None = None,
) -> tuple[
    dict[str, Coefficient],
    list[TransformParam],
    Coefficient,
    Distribution,
    tuple[Distribution, Distribution],
]:
    given: dict[str, tuple[Distribution, str, Loc]] = {}
    for i, line in enumerate(config.priors):
        try:
            statement = notation.parse_prior(line)
        except notation.NotationError as exc:
            out.add(("priors", i), exc.message, exc.fix, repr(line))
            continue
        if statement.target in given:
            out.add(
                ("priors", i),
                f"'{statement.target}' already has a prior ({given[statement.target][1]})",
                "keep one prior per term",
            )
            continue
        given[statement.target] = (statement.distribution, f"priors[{i}]", ("priors", i))

    used: set[str] = set()

    def pick(name: str, role: str) -> tuple[Distribution, str]:
        if name in given:
            used.add(name)
            return given[name][0], given[name][1]
        return default(role), "default"

    coefficients: dict[str, Coefficient] = {}
    for m in media:
        prior, source = pick(m.name, "media")
        lower = 0.0 if m.sign == "positive" else -INF
        coefficients[m.name] = Coefficient(m.name, "media", prior, lower, INF, source)
    for c in controls:
        prior, source = pick(c.name, "control")
        lower, upper = {"any": (-INF, INF), "positive": (0.0, INF), "negative": (-INF, 0.0)}[
            c.sign
        ]
        coefficients[c.name] = Coefficient(c.name, "control", prior, lower, upper, source)
    if trend is not None:
        prior, source = pick("trend", "trend")
        coefficients["trend"] = Coefficient("trend", "trend", prior, source=source)
    if seasonality:
        prior, source = pick("season", "season")
        coefficients["season"] = Coefficient("season", "season", prior, source=source)
    if calendar is not None:
        for term, used_by in ((HOLIDAYS, calendar.country), (EVENTS, calendar.events)):
            if used_by:
                prior, source = pick(term, "control")
                coefficients[term] = Coefficient(term, "control", prior, source=source)
    for name in config.model.hierarchical.cre:
        prior, source = pick(f"cre_mean_{name}", "control")
        coefficients[f"cre_mean_{name}"] = Coefficient(
            f"cre_mean_{name}", "cre", prior, source=source
        )
    intercept_prior, source = pick("intercept", "intercept")
    intercept = Coefficient("intercept", "intercept", intercept_prior, source=source)
    sigma, _ = pick("sigma", "sigma")
    group_sd, _ = pick("group_sd", "group_sd")
    group_intercept_sd, _ = pick("group_intercept_sd", "group_intercept_sd")

    params = _transform_params(media, given, used, out)
    for target, (_, _, loc) in given.items():
        if target in used:
            continue
        known = [
            *coefficients,
            "intercept",
            "sigma",
            "group_sd",
            "group_intercept_sd",
            *(f"{p.channel}.{p.name}" for p in params),
        ]
        out.add(
            loc,
            f"'{target}' is not a term or parameter of this model",
            did_you_mean(target, known),
        )
    if sigma.support()[0] < 0:
        out.add(
            given["sigma"][2],
            f"sigma is positive, but {sigma} allows negative values",
            "use e.g. half_normal(1) or exponential(1)",
        )
    return coefficients, params, intercept, sigma, (group_sd, group_intercept_sd)


def _check_support(out: Collector, coefficients: dict[str, Coefficient]) -> None:
    """A coefficient's prior must have density wherever its bounds let it go."""
    for name, coef in coefficients.items():
        if not coef.source.startswith("priors["):
            continue
        low, high = coef.prior.support()
        if low > coef.lower or high < coef.upper:
            loc: Loc = ("priors", int(coef.source[7:-1]))
            bound = f"{name} > {low:g}" if math.isinf(high) else f"{low:g} < {name} < {high:g}"
            out.add(
                loc,
                f"{coef.prior} is only defined on {_interval(low, high)} but "
                f"'{name}' may take values in {_interval(coef.lower, coef.upper)}",
                f"add a boundary such as '{bound}', or use a prior defined on the "
                "whole range (e.g. normal)",
            )


def _transform_params(
    media: list[MediaChannel],
    given: dict[str, tuple[Distribution, str, Loc]],
    used: set[str],
    out: Collector,
) -> list[TransformParam]:
    params: list[TransformParam] = []
    for i, m in enumerate(media):
        stages: tuple[tuple[Stage, str, dict[str, str]], ...] = (
            ("adstock", m.adstock.type, m.adstock.priors),
            ("saturation", m.saturation.type, m.saturation.priors),
        )
        for stage, form_name, inline in stages:
            form = transforms.component(stage, form_name)
            for p in form.params:
                names = (f"{m.name}.{stage}.{p.name}", f"{m.name}.{p.name}")
                listed = [n for n in names if n in given]
                if p.name in inline and listed:
                    out.add(
                        given[listed[0]][2],
                        f"{listed[0]} is also set in model.media[{i}].{stage}.priors",
                        "keep one of the two",
                    )
                if p.name in inline:
                    dist, source = (
                        notation.parse_distribution(inline[p.name]),
                        (f"model.media[{i}].{stage}.priors.{p.name}"),
                    )
                elif listed:
                    used.update(listed)
                    dist, source = given[listed[0]][0], given[listed[0]][1]
                    low, high = dist.support()
                    if low < p.lower or high > p.upper:
                        out.add(
                            given[listed[0]][2],
                            f"{dist} puts mass outside "
                            f"{p.name}'s range ({p.lower:g}, {p.upper:g})",
                            f"use e.g. {p.default_prior}",
                        )
                else:
                    dist, source = notation.parse_distribution(p.default_prior), "default"
                params.append(
                    TransformParam(m.name, stage, p.name, dist, p.lower, p.upper, source)
                )
    return params


def _boundaries(config: RunConfig, out: Collector, coefficients: dict[str, Coefficient]) -> None:
    seen: set[str] = set()
    bounded = {n for n, c in coefficients.items() if c.role in ("media", "control", "cre")}
    for i, line in enumerate(config.boundaries):
        try:
            bound = notation.parse_boundary(line)
        except notation.NotationError as exc:
            out.add(("boundaries", i), exc.message, exc.fix, repr(line))
            continue
        if bound.target not in bounded:
            out.add(
                ("boundaries", i),
                f"'{bound.target}' is not a media or control term",
                did_you_mean(bound.target, bounded),
            )
            continue
        if bound.target in seen:
            out.add(
                ("boundaries", i),
                f"'{bound.target}' already has a boundary",
                "write both limits on one line, e.g. 0 < x < 5",
            )
            continue
        seen.add(bound.target)
        coef = coefficients[bound.target]
        lower, upper = max(coef.lower, bound.lower), min(coef.upper, bound.upper)
        if not lower < upper:
            out.add(
                ("boundaries", i),
                f"'{line}' leaves no room next to the term's sign "
                f"setting ({_interval(coef.lower, coef.upper)})",
                "change the boundary or the term's sign in model.media/model.controls",
            )
            continue
        coefficients[bound.target] = Coefficient(
            coef.name, coef.role, coef.prior, lower, upper, coef.source
        )


def _interval(lower: float, upper: float) -> str:
    def show(v: float) -> str:
        return "inf" if math.isinf(v) and v > 0 else "-inf" if math.isinf(v) else f"{v:g}"

    return f"({show(lower)}, {show(upper)})"


def _per_capita(config: RunConfig, out: Collector, media: list[MediaChannel]) -> tuple[str, ...]:
    """The media modelled per capita (model.population.media, default all)."""
    population = config.model.population
    if population is None:
        return ()
    names = [m.name for m in media]
    if population.media is None:
        return tuple(names)
    for i, name in enumerate(population.media):
        if name not in names:
            out.add(
                ("model", "population", "media", i),
                f"'{name}' is not a media channel",
                did_you_mean(name, set(names)),
            )
    return tuple(n for n in names if n in population.media)


def _kpi_value(config: RunConfig, out: Collector, spec: ModelSpec) -> None:
    """A KPI value is positive, or a column other than the model's terms."""
    value = spec.kpi_value
    where: Loc = ("model", "kpi_value")
    if isinstance(value, float | int) and not (math.isfinite(value) and value > 0):
        out.add(
            where,
            f"the KPI's value must be a positive number, found {value}",
            "give money per KPI unit, e.g. 45.0, or a column name",
        )
    if isinstance(value, str) and value in {spec.kpi, *spec.media_names, *spec.controls}:
        out.add(
            where,
            f"'{value}' is a term of the model, not a value per KPI unit",
            "name a column of money per KPI unit (e.g. revenue_per_conversion)",
        )


def _budget_channels(config: RunConfig, out: Collector, spec: ModelSpec) -> None:
    if config.budget is None:
        return
    media = set(spec.media_names)
    organic = {m.name for m in spec.media if m.organic}
    for name in config.budget.channels:
        if name not in media:
            out.add(
                ("budget", "channels", name),
                f"'{name}' is not a media channel of the model",
                did_you_mean(name, media - organic),
            )
        elif name in organic:
            out.add(
                ("budget", "channels", name),
                f"'{name}' is an organic channel: it has no spend for the budget to move",
                "remove it from budget.channels (organic channels keep their own level)",
            )
    budget = config.budget
    flighting = budget.flighting.channels if budget.flighting else {}
    for name in flighting:
        if name not in media or name in organic:
            out.add(
                ("budget", "flighting", "channels", name),
                f"'{name}' is not a paid media channel of the model",
                did_you_mean(name, media - organic),
            )
    cells = budget.by_group.cells if budget.by_group else {}
    if budget.by_group is not None and spec.group is None:
        out.add(
            ("budget", "by_group"),
            "budget.by_group allocates over the groups of a panel; this model has none",
            "set data.group_column (a panel), or remove budget.by_group",
        )
    for group, rules in cells.items():
        for name in rules:
            if name not in media or name in organic:
                out.add(
                    ("budget", "by_group", "cells", group, name),
                    f"'{name}' is not a paid media channel of the model",
                    did_you_mean(name, media - organic),
                )
    if budget.objective == "profit" and budget.margin is None and spec.kpi_value is None:
        out.add(
            ("budget",),
            "objective profit needs `margin` (profit per KPI unit) or model.kpi_value",
            "set budget.margin, or model.kpi_value to value the KPI in money",
        )
