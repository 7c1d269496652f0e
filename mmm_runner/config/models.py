"""The config language: one YAML file describes the whole run.

These pydantic models are closed (unknown keys are errors), every field is
described (the descriptions become the JSON Schema in ``schemas/``), and
cross-field rules name both fields.  Paths in ``data.path`` are relative to
the config file; ``output_dir`` is relative to where `mmm` runs.
"""

from __future__ import annotations

import datetime as dt
import difflib
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from mmm_runner.config import notation
from mmm_runner.model import transforms

AdstockType = Literal["none", "geometric", "delayed", "weibull"]
SaturationType = Literal["none", "hill", "logistic", "michaelis_menten", "tanh", "log1p"]
ModelClass = Literal["blm", "hierarchical", "pooled", "nested", "multivariate", "combined"]
Frequency = Literal["daily", "weekly", "monthly"]
FitMethod = Literal["mcmc", "map", "laplace", "pathfinder"]
Policy = Literal["explore", "publish", "strict"]

# Periods per year at each data frequency: the default seasonal period.
YEAR = {"daily": 365.25, "weekly": 52.1775, "monthly": 12.0}


def _or_true(schema: dict[str, Any]) -> None:
    """JSON Schema of a section that `true` also switches on with its defaults."""
    schema.setdefault("anyOf", []).insert(0, {"type": "boolean"})


class Section(BaseModel):
    """A closed config section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _check_priors(priors: dict[str, str], params: tuple[transforms.Param, ...], kind: str) -> None:
    names = {p.name: p for p in params}
    for key, text in priors.items():
        if key not in names:
            allowed = ", ".join(names) or "none (this form has no parameters)"
            raise ValueError(f"{kind} has no parameter '{key}'; its parameters: {allowed}")
        try:
            dist = notation.parse_distribution(text)
        except notation.NotationError as exc:
            raise ValueError(f"priors.{key}: {exc.message}. {exc.fix}".strip()) from exc
        low, high = dist.support()
        param = names[key]
        if low < param.lower or high > param.upper:
            raise ValueError(
                f"priors.{key}: {dist} puts mass outside {key}'s range "
                f"({param.lower:g}, {param.upper:g}); use e.g. {param.default_prior}"
            )


class DataConfig(Section):
    """Where the data is and how its rows are laid out."""

    path: str = Field(description="CSV (or Parquet) file, relative to this config file.")
    date_column: str = Field("date", description="Column holding the period start dates.")
    group_column: str | None = Field(
        None, description="Column naming the group (market, region) of each row, for panels."
    )
    frequency: Frequency = Field("weekly", description="Spacing of the dates.")
    holdout: int = Field(
        0, ge=0, description="Periods at the end (per group) kept out of the fit and scored."
    )
    start: dt.date | None = Field(
        None,
        description="First period of the fitting window; earlier rows only warm up the "
        "carry-over (adstock) of media and are not fitted.",
    )
    end: dt.date | None = Field(
        None, description="Last period of the fitting window; later rows are not used."
    )
    format: Literal["wide", "long"] = Field(
        "wide",
        description="wide: one row per period (and group), one column per variable. long: a "
        "'master flat file' with one row per period × dimensions × variable, pivoted to wide "
        "(only the variables the model uses) before the checks.",
    )
    variable_column: str = Field(
        "variable",
        description="Long format: the column naming each row's variable (e.g. VariableName).",
    )
    value_column: str = Field(
        "value",
        description="Long format: the column holding each row's value (e.g. VariableValue).",
    )
    dimensions: list[str] = Field(
        default_factory=list,
        description="Long format: the columns besides the period that identify a row "
        "(geography, product). Default: group_column alone, if set. A dimension that is not "
        "the group must hold one value; with several dimensions and a group_column that is "
        "none of them, the group is each row's dimension values joined by '|'.",
    )

    @model_validator(mode="after")
    def _window_in_order(self) -> DataConfig:
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ValueError(f"start ({self.start}) must come before end ({self.end})")
        return self

    @model_validator(mode="after")
    def _long_layout(self) -> DataConfig:
        long_only = [
            f"data.{name}"
            for name in ("variable_column", "value_column", "dimensions")
            # a written-out default (as in a run's resolved config) is not a long layout
            if name in self.model_fields_set
            and getattr(self, name)
            != DataConfig.model_fields[name].get_default(call_default_factory=True)
        ]
        if self.format == "wide":
            if long_only:
                verb, them = ("applies", "it") if len(long_only) == 1 else ("apply", "them")
                raise ValueError(
                    f"{', '.join(long_only)} only {verb} to long data: set data.format: long, "
                    f"or remove {them}"
                )
            return self
        roles = {
            "data.date_column": [self.date_column],
            "data.variable_column": [self.variable_column],
            "data.value_column": [self.value_column],
            "data.dimensions": self.dimensions,
        }
        seen: dict[str, str] = {}
        for role, names in roles.items():
            for name in names:
                if name in seen:
                    where = role if seen[name] == role else f"{seen[name]} and {role}"
                    raise ValueError(
                        f"column '{name}' is named twice in the data layout ({where})"
                    )
                seen[name] = role
        group = self.group_column
        if group is not None and group in seen and seen[group] != "data.dimensions":
            raise ValueError(f"data.group_column '{group}' is also {seen[group]}")
        if group is not None and len(self.dimensions) == 1 and group != self.dimensions[0]:
            raise ValueError(
                f"data.group_column '{group}' is not the one dimension in data.dimensions "
                f"({self.dimensions[0]}): set group_column: {self.dimensions[0]}"
            )
        return self


class AdstockConfig(Section):
    """Carry-over of a channel's effect into later periods."""

    type: AdstockType = Field("geometric", description="Adstock form.")
    l_max: int = Field(
        8, ge=1, le=104, description="Longest lag, in periods, that carries effect."
    )
    priors: dict[str, str] = Field(
        default_factory=dict,
        description="Priors of the form's parameters, e.g. {decay: beta(1, 3)}.",
    )

    @model_validator(mode="after")
    def _priors_fit_the_form(self) -> AdstockConfig:
        _check_priors(self.priors, transforms.ADSTOCKS[self.type].params, f"adstock {self.type}")
        return self


class SaturationConfig(Section):
    """Diminishing returns of a channel."""

    type: SaturationType = Field("hill", description="Saturation form.")
    priors: dict[str, str] = Field(
        default_factory=dict,
        description="Priors of the form's parameters, e.g. {half_saturation: gamma(3, 3)}.",
    )

    @model_validator(mode="after")
    def _priors_fit_the_form(self) -> SaturationConfig:
        params = transforms.SATURATIONS[self.type].params
        _check_priors(self.priors, params, f"saturation {self.type}")
        return self


def _name_shorthand(value: Any) -> Any:
    """Lets a list entry be just a column name."""
    return {"name": value} if isinstance(value, str) else value


def _gp_priors_positive(lengthscale: str | None, amplitude: str | None) -> None:
    """A GP's lengthscale and amplitude priors (trend or drift) must be over positives."""
    for name, text in (("lengthscale_prior", lengthscale), ("amplitude_prior", amplitude)):
        if text is not None and notation.parse_distribution(text).spec.support[0] < 0:
            raise ValueError(f"{name} must be a distribution over positive values")


class TimeVaryingConfig(Section):
    """A channel whose effectiveness drifts: its effect is multiplied by exp(f(t)), f a
    smooth Gaussian process centred over the fitted periods (so the multiplier averages 1
    on the log scale and the coefficient is the channel's average effectiveness)."""

    lengthscale_prior: str | None = Field(
        None,
        description="Prior of the drift's lengthscale in periods (how fast effectiveness may "
        "change; default lognormal(log(fitted periods / 2), 0.5)).",
    )
    amplitude_prior: str | None = Field(
        None,
        description="Prior of the drift's amplitude: the sd of log effectiveness (default "
        "half_normal(0.3): drifts of up to about x1.8 either way are plausible; an effect "
        "doubling from start to end has an sd near 0.25).",
    )
    basis_functions: int | None = Field(
        None, ge=2, le=60, description="Number of basis functions m (default: chosen)."
    )
    boundary_factor: float | None = Field(
        None, ge=1.2, le=10, description="Boundary factor c (default: chosen)."
    )

    @model_validator(mode="after")
    def _positive_priors(self) -> TimeVaryingConfig:
        _gp_priors_positive(self.lengthscale_prior, self.amplitude_prior)
        return self


class MediaChannel(Section):
    """A media channel: its column, transforms and sign."""

    name: str = Field(description="Data column of the channel's spend or exposure.")
    spend_column: str | None = Field(
        None,
        description="Column of the channel's spend when `name` is exposure (impressions, GRPs); "
        "used for ROI and budgets. Defaults to `name` itself.",
    )
    adstock: AdstockConfig = Field(default_factory=AdstockConfig, description="Carry-over.")
    saturation: SaturationConfig = Field(
        default_factory=SaturationConfig, description="Diminishing returns."
    )
    sign: Literal["positive", "any"] = Field(
        "positive", description="positive: the effect cannot be negative (the usual MMM prior)."
    )
    scope: Literal["group", "national"] = Field(
        "group",
        description="Hierarchical models: national media have the same series in every group, "
        "so their group-varying effects are not identified by geographic variation.",
    )
    organic: bool = Field(
        False,
        description="An unpaid channel (newsletter, social posts, PR): adstock and saturation "
        "as for paid media, contributions reported, but no spend, no ROI and never moved by "
        "the budget optimiser.",
    )
    time_varying: TimeVaryingConfig | None = Field(
        None,
        description="The channel's effectiveness drifts smoothly over time (true, or the "
        "drift's priors): reported per period; decomposition follows it, the budget plans "
        "at the latest effectiveness.",
        json_schema_extra=_or_true,
    )
    per_outcome: bool = Field(
        False,
        description="Classes multivariate and combined: the channel gets its own adstock and "
        "saturation parameters on each outcome it acts on directly (same forms and priors), "
        "e.g. TV sells product A fast and B slowly. Default: one set shared by all outcomes.",
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return _name_shorthand(value)

    @field_validator("time_varying", mode="before")
    @classmethod
    def _time_varying_shorthand(cls, value: Any) -> Any:
        if value is True:
            return {}
        return None if value is False else value

    @model_validator(mode="after")
    def _organic_has_no_spend(self) -> MediaChannel:
        if self.organic and self.spend_column is not None:
            raise ValueError("an organic channel has no spend: remove `spend_column`")
        return self


class ControlConfig(Section):
    """A control variable (price, promotion, weather, ...)."""

    name: str = Field(description="Data column of the control.")
    sign: Literal["any", "positive", "negative"] = Field(
        "any", description="Restricts the sign of the control's effect."
    )
    type: Literal["numeric", "categorical"] = Field(
        "numeric",
        description="categorical: a text (or integer-coded) column entered as one 0/1 column "
        "per level beside the reference level; `factor(col)` in a formula means the same.",
    )
    transform: Literal["none", "log", "log1p"] = Field(
        "none",
        description="log: the control enters as log(value) (values > 0), so with a log "
        "response its coefficient is an elasticity (e.g. price); log1p: as log(1 + value) "
        "(values >= 0).",
    )
    reference: str | None = Field(
        None,
        coerce_numbers_to_str=True,
        description="categorical: the level the others are measured against (default: the "
        "most frequent level in the fitted rows).",
    )
    role: Literal["confounder", "precision"] = Field(
        "confounder",
        description="confounder: may drive both media spend and the KPI, so it stays in the "
        "model with its own prior (never selected away); precision: explains KPI variation "
        "only (weather, competitor noise), so model.selection may shrink it to zero.",
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return _name_shorthand(value)

    @model_validator(mode="after")
    def _categorical_fields(self) -> ControlConfig:
        if self.type == "categorical" and self.sign != "any":
            raise ValueError("a categorical control has one effect per level: remove `sign`")
        if self.type == "numeric" and self.reference is not None:
            raise ValueError("`reference` applies to type categorical")
        if self.type == "categorical" and self.transform != "none":
            raise ValueError("a categorical control has levels, not values: remove `transform`")
        return self


class MediatorConfig(Section):
    """A mediator of the nested class: an intermediate outcome (brand awareness,
    consideration) that some media build and that in turn moves the KPI."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$", max_length=60)] = Field(
        description="Name of the mediator in reports (and its data column unless `column`)."
    )
    column: str | None = Field(
        None, description="Data column of its observations (default: `name`; none if latent)."
    )
    observation: Literal["full", "partial", "latent"] = Field(
        "full",
        description="full: observed every period; partial: observed in some periods (a "
        "survey; empty cells elsewhere) with observation noise; latent: never observed "
        "(needs informative `effect_prior` and `media_prior`).",
    )
    channels: list[str] = Field(
        default_factory=list, description="The media channels that build the mediator."
    )
    effect_sign: Literal["any", "positive", "negative"] = Field(
        "any", description="Sign of the mediator's effect on the KPI (gamma)."
    )
    effect_prior: str | None = Field(
        None,
        description="Prior of gamma, in KPI standard deviations per mediator standard "
        "deviation (default normal(0, 1); half of it with a sign).",
    )
    media_prior: str | dict[str, str] | None = Field(
        None,
        description="Prior of each channel's effect on the mediator at full saturation, in "
        "mediator standard deviations (default normal(0, 3), positive like media effects); "
        "one prior for all its channels, or a prior per channel ({tv: normal(1, 0.2)}).",
    )
    sigma_prior: str | None = Field(
        None, description="Prior of the mediator's own noise sd (default half_normal(1))."
    )
    noise_prior: str | None = Field(
        None,
        description="partial: prior of the observation noise sd of the survey, in mediator "
        "standard deviations (default half_normal(0.5)).",
    )
    outcomes: list[str] | None = Field(
        None,
        description="Class combined: the outcomes it moves, each with its own gamma "
        "(default: every outcome).",
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return _name_shorthand(value)

    @model_validator(mode="after")
    def _latent_has_no_column(self) -> MediatorConfig:
        if self.observation == "latent" and self.column is not None:
            raise ValueError("a latent mediator is never observed: remove `column`")
        if self.observation != "partial" and self.noise_prior is not None:
            raise ValueError("`noise_prior` applies to observation: partial")
        return self


class OutcomeConfig(Section):
    """An outcome of the multivariate and combined classes: one KPI column (e.g. one
    product's sales) with its own media and control coefficients."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$", max_length=60)] = Field(
        description="Name of the outcome in reports (and its data column unless `column`)."
    )
    column: str | None = Field(None, description="Data column of the outcome (default: `name`).")
    value: float = Field(
        1.0,
        gt=0,
        description="Weight of one unit of this outcome in the total that reports, ROI and "
        "the budget use (e.g. its margin per unit; default 1: the plain sum).",
    )
    channels: list[str] | None = Field(
        None, description="Media acting directly on this outcome (default: every channel)."
    )
    controls: list[str] | None = Field(
        None,
        description="Controls in this outcome's equation (default: every control; trend, "
        "seasonality and calendar terms are in every equation).",
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return _name_shorthand(value)


CrossType = Literal["halo", "cannibalisation", "cannibalization", "free"]


class CrossEffectConfig(Section):
    """A cross-effect between outcomes: ``psi * modulator_t * from_{t - lag}`` is added to
    outcome ``to`` (the guide's equations (10) and (11))."""

    source: str = Field(alias="from", description="The outcome whose sales act (a name).")
    to: str = Field(description="The outcome they act on (a name).")
    lag: int = Field(
        0, ge=0, le=104, description="Periods between cause and effect (0: the same period)."
    )
    type: CrossType = Field(
        "free",
        description="halo: psi >= 0 (the source lifts the target); cannibalisation: psi <= 0 "
        "(it takes from it); free: either sign.",
    )
    modulator: str | None = Field(
        None,
        description="A data column multiplying the effect, e.g. the source's promotion "
        "flag: the effect exists only where it is non-zero.",
    )
    prior: str | None = Field(
        None,
        description="Prior of psi in target standard deviations per source standard "
        "deviation (default normal(0, 0.3); half of it for halo and cannibalisation).",
    )


class CorrelatedErrorsConfig(Section):
    """Correlated outcome errors: Sigma = diag(sigma) R diag(sigma), R ~ LKJ(eta)."""

    eta: float = Field(
        2.0, gt=0, description="LKJ shape: 1 is uniform over correlations, larger shrinks to 0."
    )


class SelectionConfig(Section):
    """A variable-selection prior on the precision controls: most are expected to have no
    effect, and the prior shrinks those to zero while leaving the few that matter."""

    prior: Literal["horseshoe", "spike_slab", "lasso"] = Field(
        description="horseshoe: regularised (Finnish) horseshoe; spike_slab: a mixture of a "
        "narrow and a wide normal, the indicator summed out; lasso: Bayesian lasso (Laplace "
        "prior as a scale mixture of normals, with a hyperprior on its rate).",
    )
    terms: list[str] | None = Field(
        None,
        description="The controls under the prior (default: every control with role "
        "precision). Each must be a numeric control with role precision.",
    )
    expected_nonzero: float | None = Field(
        None,
        gt=0,
        description="D0, how many of the selected controls you expect to matter (0 < D0 < "
        "D, D the number selected; default D / 4). horseshoe: sets the global scale "
        "tau0 = D0 / (D - D0) * sigma / sqrt(N); spike_slab: the prior inclusion rate has "
        "mean D0 / D. Not used by lasso.",
    )
    slab_scale: float = Field(
        1.0,
        gt=0,
        description="horseshoe and spike_slab: sd of the slab, the prior of the effects "
        "that matter (KPI sds per sd of the control, standardised scale).",
    )
    slab_df: float = Field(
        4.0, gt=0, description="horseshoe: degrees of freedom of the slab (student-t)."
    )
    spike_scale: float = Field(
        0.02,
        gt=0,
        description="spike_slab: sd of the spike, the prior of effects that are practically "
        "zero (standardised scale; below slab_scale).",
    )
    threshold: float = Field(
        0.1,
        gt=0,
        description="lasso: a coefficient counts as included in a draw when its absolute "
        "value is above this (standardised scale); the inclusion is the share of such draws.",
    )

    @model_validator(mode="after")
    def _settings_of_the_prior(self) -> SelectionConfig:
        used_by = {
            "slab_scale": ("horseshoe", "spike_slab"),
            "slab_df": ("horseshoe",),
            "spike_scale": ("spike_slab",),
            "threshold": ("lasso",),
            "expected_nonzero": ("horseshoe", "spike_slab"),
        }
        stray = [
            key
            for key, priors in used_by.items()
            # a written-out default (as in a run's resolved config) is not a setting
            if self.prior not in priors
            and key in self.model_fields_set
            and getattr(self, key) != SelectionConfig.model_fields[key].get_default()
        ]
        if stray:
            verb, them = ("does", "it") if len(stray) == 1 else ("do", "them")
            raise ValueError(
                f"{', '.join(stray)} {verb} not apply to prior {self.prior}: remove {them}"
            )
        if self.spike_scale >= self.slab_scale:
            raise ValueError(
                f"spike_scale ({self.spike_scale:g}) must be below slab_scale "
                f"({self.slab_scale:g}): the spike holds the effects that are practically zero"
            )
        return self


class TrendConfig(Section):
    """The long-run level of the KPI."""

    type: Literal["none", "linear", "piecewise", "spline", "gp"] = Field(
        "linear",
        description="Trend form (gp: a smooth time-varying baseline, a Gaussian process "
        "with a squared-exponential kernel, Hilbert-space approximated).",
    )
    lengthscale_prior: str | None = Field(
        None,
        description="gp: prior of the lengthscale in periods (how fast the baseline may "
        "bend; default lognormal(log(fitted periods / 4), 0.5)).",
    )
    amplitude_prior: str | None = Field(
        None,
        description="gp: prior of the amplitude in KPI standard deviations (how far the "
        "baseline may wander; default half_normal(1)).",
    )
    basis_functions: int | None = Field(
        None, ge=2, le=200, description="gp: number of basis functions m (default: chosen)."
    )
    boundary_factor: float | None = Field(
        None, ge=1.2, le=10, description="gp: boundary factor c (default: chosen)."
    )
    changepoints: list[dt.date] = Field(
        default_factory=list, description="piecewise: dates where the slope may change."
    )
    n_changepoints: int | None = Field(
        None, ge=1, le=20, description="piecewise: evenly spaced changepoints when no dates given."
    )
    knots: int = Field(4, ge=1, le=20, description="spline: number of interior knots.")

    @model_validator(mode="after")
    def _gp_fields(self) -> TrendConfig:
        gp_only = ("lengthscale_prior", "amplitude_prior", "basis_functions", "boundary_factor")
        given = [name for name in gp_only if getattr(self, name) is not None]
        if self.type != "gp" and given:
            raise ValueError(f"{', '.join(given)} apply to type gp, not {self.type}")
        _gp_priors_positive(self.lengthscale_prior, self.amplitude_prior)
        return self

    @model_validator(mode="after")
    def _fields_match_type(self) -> TrendConfig:
        if self.type == "piecewise" and not self.changepoints and self.n_changepoints is None:
            raise ValueError("a piecewise trend needs `changepoints` (dates) or `n_changepoints`")
        if self.type != "piecewise" and (self.changepoints or self.n_changepoints):
            raise ValueError(
                f"`changepoints` and `n_changepoints` apply to type piecewise, not {self.type}"
            )
        return self


class SeasonalityConfig(Section):
    """One Fourier seasonality: sines and cosines of a period."""

    period: float | None = Field(
        None,
        gt=1,
        description="Period in rows (e.g. 52.18 for yearly weekly data); "
        "default: one year at the data frequency.",
    )
    order: int = Field(2, ge=1, le=20, description="Number of sine/cosine pairs.")


class CrossedConfig(Section):
    """Effects that vary by a grouping column other than data.group_column."""

    varying: list[str] = Field(
        default_factory=list, description="Terms whose effects vary by this column."
    )
    varying_intercept: bool = Field(True, description="Give each of its levels its own offset.")


# How a varying term's group effects are sampled (model.hierarchical.parameterisation).
Form = Literal["auto", "centred", "non_centred"]


class HierarchicalConfig(Section):
    """Settings of the hierarchical (panel) class."""

    varying: list[str] = Field(
        default_factory=list,
        description="Terms whose effects vary by group (when no formula gives `(terms | group)`).",
    )
    varying_intercept: bool = Field(True, description="Give each group its own baseline.")
    parameterisation: Form | dict[str, Form] = Field(
        "auto",
        description="auto: centred when every group has at least `centred_min_rows` fitted "
        "rows, otherwise non-centred. A mapping chooses per varying term, with `default` "
        "for the terms it does not name (e.g. {default: auto, display: non_centred}): a "
        "term whose small group spread the data cannot resolve wants non-centred beside "
        "terms the data pin down. Crossed offsets follow the default form.",
    )
    centred_min_rows: int = Field(
        150, ge=1, description="Rows per group from which `auto` picks the centred form."
    )

    @field_validator("parameterisation", mode="before")
    @classmethod
    def _known_forms(cls, value: Any) -> Any:
        # checked here so that a wrong form is reported plainly, not once per union member
        forms = get_args(Form)
        pairs = value.items() if isinstance(value, dict) else [(None, value)]
        for term, form in pairs:
            if form not in forms:
                where = f"for '{term}' " if term is not None else ""
                close = difflib.get_close_matches(str(form), forms, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise ValueError(
                    f"{form!r} {where}is not a parameterisation{hint}: write auto, "
                    "centred or non_centred, or a mapping of varying terms to them"
                )
        return value

    cre: list[str] = Field(
        default_factory=list,
        description="Correlated random effects (Mundlak): add the group means of these "
        "time-varying regressors as fixed effects.",
    )
    transforms: Literal["shared", "group"] = Field(
        "shared",
        description="Adstock and saturation parameters shared by all groups, or one set per "
        "group (same priors, no pooling).",
    )
    budget_effects: Literal["population", "sum_groups"] = Field(
        "population",
        description="Budget optimisation on population-level effects or on the sum over groups.",
    )
    crossed: dict[str, CrossedConfig] = Field(
        default_factory=dict,
        description="Crossed pooling (when no formula gives `(terms | column)` parts): "
        "columns each group belongs to, such as geo and product when the groups are "
        "geo x product series, with the terms that vary by each. A series' effect is the "
        "population effect plus one offset per column, each pooled across that column's "
        "levels.",
    )


class EventConfig(Section):
    """A custom event: its name and the dates it happened (or will happen)."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_ .'-]+$", max_length=60)] = Field(
        description="Event name (letters, digits, spaces, _ . ' -)."
    )
    dates: list[dt.date] = Field(min_length=1, description="Dates of the event.")


class CalendarConfig(Section):
    """Holiday and event regressors: one 0/1 column per holiday or event."""

    country: str | None = Field(
        None,
        description="Country code of the holiday calendar (the `holidays` package), e.g. US.",
    )
    subdivision: str | None = Field(
        None, description="State or region code within the country, e.g. CA."
    )
    holidays: list[str] | None = Field(
        None,
        description="Holiday names to model, e.g. [Thanksgiving Day, Christmas Day] "
        "(default: every holiday of the country that falls in the data's periods).",
    )
    events: list[EventConfig] = Field(
        default_factory=list, description="Custom events, e.g. sales, launches, outages."
    )

    @model_validator(mode="after")
    def _needs_country(self) -> CalendarConfig:
        if self.country is None and (self.subdivision is not None or self.holidays):
            raise ValueError("`subdivision` and `holidays` need `country`")
        if self.country is None and not self.events:
            raise ValueError("give a `country` for holidays, or `events`, or remove calendar")
        names = [e.name for e in self.events]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"events named twice: {', '.join(twice)}")
        return self


class PopulationConfig(Section):
    """Per-capita modelling of a panel: the KPI (and media) divided by population."""

    column: str = Field(description="Data column of each row's population (positive).")
    media: list[str] | None = Field(
        None,
        description="Media modelled per capita (default: every channel; [] for none, e.g. "
        "national media). Spend stays in totals for ROI and budgets.",
    )


class PoolingConfig(Section):
    """Settings of the pooled class: labels of media terms along dimensions."""

    labels: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Per media term, its label on each dimension, e.g. "
        "{search_brand: {channel: search}}; coefficients sharing a label are pooled.",
    )


class ModelConfig(Section):
    """The model: class, KPI, terms and their forms."""

    model_class: ModelClass = Field("blm", alias="class", description="Model class.")
    kpi: str | None = Field(None, description="KPI column (taken from the formula when given).")
    response: Literal["identity", "log", "log_log"] = Field(
        "identity",
        description="Model the KPI (identity), its log (multiplicative effects), or its log "
        "on log(1 + x) of media (log_log: media default to saturation log1p, so their "
        "coefficients are elasticities; controls with `transform: log1p` too).",
    )
    formula: str | None = Field(
        None,
        description="lm()-style formula, e.g. 'revenue ~ tv + search + price + trend + season'; "
        "`log(kpi) ~` for the log scale, `(terms | group)` for group-varying terms.",
    )
    media: list[MediaChannel] = Field(default_factory=list, description="Media channels.")
    controls: list[ControlConfig] = Field(default_factory=list, description="Control variables.")
    selection: SelectionConfig | None = Field(
        None,
        description="Variable selection among the controls with role precision (classes "
        "blm, pooled, hierarchical): a shrinkage prior in place of their own priors.",
    )
    trend: TrendConfig = Field(default_factory=TrendConfig, description="Trend component.")
    seasonality: list[SeasonalityConfig] | None = Field(
        None,
        description="Fourier seasonalities. Default: yearly of order 2 (with a formula, only "
        "when the formula names `season`).",
    )
    standardise: bool = Field(
        True, description="Fit on standardised data; results are always on the original scale."
    )
    hierarchical: HierarchicalConfig = Field(
        default_factory=HierarchicalConfig, description="Hierarchical class settings."
    )
    mediators: list[MediatorConfig] = Field(
        default_factory=list,
        description="Class nested: mediators between media and the KPI, each with its own "
        "equation; the KPI equation adds their effects (gamma) to the media's direct ones.",
    )
    outcomes: list[OutcomeConfig] = Field(
        default_factory=list,
        description="Classes multivariate and combined: the KPI columns fitted jointly, each "
        "with its own coefficients (a formula's left side `a + b` names them too).",
    )
    cross_effects: list[CrossEffectConfig] = Field(
        default_factory=list,
        description="Classes multivariate and combined: effects of one outcome on another "
        "(halo, cannibalisation).",
    )
    correlated_errors: CorrelatedErrorsConfig | None = Field(
        None,
        json_schema_extra=_or_true,
        description="Classes multivariate and combined: correlated outcome errors with an "
        "LKJ prior (`true` for eta 2).",
    )
    pooling: PoolingConfig = Field(
        default_factory=PoolingConfig, description="Pooled class settings."
    )
    calendar: CalendarConfig | None = Field(
        None,
        description="Holidays of a country and custom events as regressors (with a formula, "
        "add `calendar` to it).",
    )
    population: PopulationConfig | None = Field(
        None,
        description="Model the KPI and media per capita (panels of geos of different "
        "sizes); every report and the budget stay in totals.",
    )
    kpi_value: float | str | None = Field(
        None,
        description="Money per KPI unit, a constant or a data column (e.g. revenue per "
        "conversion): ROI and the budget are then in money while the model fits the KPI in "
        "its units.",
    )

    @field_validator("correlated_errors", mode="before")
    @classmethod
    def _correlated_shorthand(cls, value: Any) -> Any:
        if value is True:
            return {}
        return None if value is False else value

    @field_validator("controls")
    @classmethod
    def _media_are_never_precision(
        cls, controls: list[ControlConfig], info: ValidationInfo
    ) -> list[ControlConfig]:
        media = {m.name for m in info.data.get("media", [])}
        for i, c in enumerate(controls):
            if c.name in media and c.role == "precision":
                raise ValueError(
                    f"controls[{i}] '{c.name}' is a media channel and cannot be a precision "
                    "control: selection priors never apply to media, whose effects the model "
                    "is there to measure (remove the entry)"
                )
        return controls

    @model_validator(mode="after")
    def _kpi_given(self) -> ModelConfig:
        if self.formula is None and self.kpi is None and not self.outcomes:
            raise ValueError("give the KPI column in `kpi`, or a `formula` such as 'kpi ~ tv'")
        if self.formula is None and not self.media:
            raise ValueError("list at least one channel under `media`, or give a `formula`")
        names = [m.name for m in self.media] + [c.name for c in self.controls]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"terms listed twice in media/controls: {', '.join(duplicates)}")
        return self


class WarnFail(Section):
    """A pair of thresholds: beyond `warn` a check warns, beyond `fail` it fails."""

    warn: float = Field(description="Threshold for a warning.")
    fail: float | None = Field(None, description="Threshold for a failure (none: never fails).")


def _pair(warn: float, fail: float | None, description: str) -> Any:
    return Field(default_factory=lambda: WarnFail(warn=warn, fail=fail), description=description)


class Thresholds(Section):
    """Limits of the diagnostics gates (all overridable)."""

    rhat: WarnFail = _pair(1.01, 1.05, "Largest rank-normalised split R-hat (above is worse).")
    ess_bulk: WarnFail = _pair(400, 100, "Smallest bulk effective sample size (below is worse).")
    ess_tail: WarnFail = _pair(400, 100, "Smallest tail effective sample size (below is worse).")
    divergences: WarnFail = _pair(0, 0.01, "Share of divergent transitions (above is worse).")
    treedepth: WarnFail = _pair(0.01, 0.1, "Share of transitions at max tree depth.")
    ebfmi: WarnFail = _pair(0.3, 0.2, "Smallest E-BFMI of a chain (below is worse).")
    boundary: WarnFail = _pair(0.05, 0.25, "Largest share of draws pressed against a hard bound.")
    pareto_k: WarnFail = _pair(0.0, 0.1, "Share of observations with Pareto k above 0.7.")
    residual_acf: WarnFail = _pair(0.3, 0.5, "Absolute lag-1 autocorrelation of residuals.")
    r2: WarnFail = _pair(0.8, 0.5, "In-sample R² of the posterior mean fit (below is worse).")
    holdout_mape: WarnFail = _pair(0.1, 0.25, "Mean absolute percentage error on holdout rows.")
    prior_contraction: WarnFail = _pair(
        0.1, None, "Smallest posterior contraction of a media coefficient (below: prior-driven)."
    )
    map_agreement: WarnFail = _pair(
        0.5, 0.2, "Share of MAP starts that reach the best optimum (below is worse)."
    )


class DiagnosticsConfig(Section):
    """What the diagnostics gates do with their findings."""

    policy: Policy = Field(
        "explore",
        description="explore: record only; publish: a failed gate fails the run; "
        "strict: a warning fails it too.",
    )
    thresholds: Thresholds = Field(default_factory=Thresholds, description="Gate limits.")


class Switch(Section):
    """An on/off stage; `true`/`false` may be written instead of the mapping."""

    enabled: bool = Field(True, description="Run this stage.")

    @model_validator(mode="before")
    @classmethod
    def _bool(cls, value: Any) -> Any:
        return {"enabled": value} if isinstance(value, bool) else value


class ChannelBudget(Section):
    """Bounds of one channel in a budget scenario."""

    min: float | None = Field(None, ge=0, description="Lowest spend over the horizon.")
    max: float | None = Field(None, ge=0, description="Highest spend over the horizon.")
    change: float | None = Field(
        None, ge=0, description="Allowed relative change from current spend, e.g. 0.3 for ±30%."
    )
    locked: bool = Field(False, description="Keep the channel at its current spend.")

    @model_validator(mode="after")
    def _one_kind(self) -> ChannelBudget:
        if self.change is not None and (self.min is not None or self.max is not None):
            raise ValueError("give either `change` (relative) or `min`/`max` (absolute), not both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is above max ({self.max:g})")
        return self


class FlightChannel(Section):
    """One channel's per-period rules when the budget plans each period (flighting)."""

    period_min: float | None = Field(None, ge=0, description="Least spend in any one period.")
    period_max: float | None = Field(None, ge=0, description="Most spend in any one period.")
    pattern: list[float] | None = Field(
        None,
        description="Fixed weekly shape (one non-negative weight per period of the horizon): "
        "the channel keeps this timing and only its total is chosen.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> FlightChannel:
        low, high = self.period_min, self.period_max
        if low is not None and high is not None and low > high:
            raise ValueError(f"period_min ({low:g}) is above period_max ({high:g})")
        if self.pattern is not None:
            if any(w < 0 for w in self.pattern) or sum(self.pattern) <= 0:
                raise ValueError("a pattern's weights are non-negative with a positive sum")
            if self.period_min is not None or self.period_max is not None:
                raise ValueError("a fixed pattern decides the timing: drop period_min/max")
        return self


class FlightingConfig(Section):
    """Flighting: the optimiser chooses each channel's spend in every period of the
    horizon, carry-over included, within per-period bounds."""

    channels: dict[str, FlightChannel] = Field(
        default_factory=dict,
        description="Per-channel period bounds or a fixed weekly pattern (others: any "
        "spend from 0 to the channel's upper bound in a period).",
    )


class CellBounds(Section):
    """The spend a group × channel cell may take over the horizon."""

    min: float | None = Field(None, ge=0, description="Least spend of the cell.")
    max: float | None = Field(None, ge=0, description="Most spend of the cell.")

    @model_validator(mode="after")
    def _ordered(self) -> CellBounds:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is above max ({self.max:g})")
        return self


class ByGroupConfig(Section):
    """Panels: the optimiser chooses each channel's spend in every group (cell)."""

    cells: dict[str, dict[str, CellBounds]] = Field(
        default_factory=dict,
        description="Bounds per group and channel, e.g. {east: {tv: {max: 50000}}} (others: "
        "0 to the channel's upper bound).",
    )


class BudgetConfig(Section):
    """A budget scenario to optimise over the planning horizon."""

    enabled: bool = Field(True, description="Run the budget optimisation stage.")
    horizon: int = Field(13, ge=1, le=104, description="Planning horizon in periods.")
    total: float | None = Field(
        None,
        gt=0,
        description="Total spend over the horizon; default: the spend of the last "
        "`horizon` periods.",
    )
    channels: dict[str, ChannelBudget] = Field(
        default_factory=dict,
        description="Per-channel bounds; unnamed channels use `default_change`.",
    )
    default_change: float = Field(
        0.5, ge=0, description="Relative change allowed for channels without bounds."
    )
    objective: Literal["kpi", "profit"] = Field(
        "kpi", description="kpi: expected KPI uplift; profit: margin × KPI − spend."
    )
    margin: float | None = Field(
        None,
        gt=0,
        description="Profit per KPI unit (objective profit); default: model.kpi_value.",
    )
    risk: Literal["mean", "quantile", "mean_minus_sd"] = Field(
        "mean", description="Optimise the posterior mean, a lower quantile, or mean − λ·sd."
    )
    risk_quantile: float = Field(0.1, gt=0, lt=0.5, description="Quantile for risk: quantile.")
    risk_lambda: float = Field(1.0, gt=0, description="λ for risk: mean_minus_sd.")
    mode: Literal["total", "target_roi", "target_mroi"] = Field(
        "total",
        description="total: allocate a fixed total. target_mroi: fund each channel until its "
        "marginal ROI falls to `target` (the total is the result). target_roi: the largest "
        "total whose best allocation still returns `target` per unit of spend.",
    )
    target: float | None = Field(
        None,
        gt=0,
        description="Modes target_roi and target_mroi: the (marginal) ROI to reach, in KPI "
        "value (model.kpi_value; KPI units without one) per unit of spend, as in roi.csv.",
    )

    flighting: FlightingConfig | None = Field(
        None,
        json_schema_extra=_or_true,
        description="Plan each period's spend per channel (mode total; `true` for no "
        "per-period rules).",
    )

    by_group: ByGroupConfig | None = Field(
        None,
        json_schema_extra=_or_true,
        description="Panels: allocate each channel's spend over the groups too, within "
        "per-cell bounds (mode total; `true` for no cell bounds).",
    )

    @field_validator("flighting", "by_group", mode="before")
    @classmethod
    def _flighting_shorthand(cls, value: Any) -> Any:
        if value is True:
            return {}
        return None if value is False else value

    @model_validator(mode="after")
    def _flighting_fields(self) -> BudgetConfig:
        if self.by_group is not None:
            if self.mode != "total":
                raise ValueError("by_group allocates a fixed total: use it with mode total")
            if self.flighting is not None:
                raise ValueError("plan either per period (flighting) or per group (by_group)")
        if self.flighting is None:
            return self
        if self.mode != "total":
            raise ValueError("flighting plans a fixed total: use it with mode total")
        for name, rule in self.flighting.channels.items():
            if rule.pattern is not None and len(rule.pattern) != self.horizon:
                raise ValueError(
                    f"flighting.channels.{name}.pattern has {len(rule.pattern)} weights; "
                    f"the horizon has {self.horizon} periods"
                )
        return self

    @model_validator(mode="after")
    def _mode_fields(self) -> BudgetConfig:
        if self.mode == "total":
            if self.target is not None:
                raise ValueError("`target` applies to mode target_roi or target_mroi")
            return self
        if self.target is None:
            raise ValueError(f"mode {self.mode} needs `target` (e.g. target: 1.5)")
        if self.total is not None:
            raise ValueError(f"mode {self.mode} finds the total: remove `total`")
        if self.objective != "kpi":
            raise ValueError(f"mode {self.mode} sets its own objective: remove `objective`")
        return self


class CvConfig(Section):
    """Time-series cross-validation with expanding windows."""

    enabled: bool = Field(True, description="Run cross-validation in model selection.")
    initial: int = Field(description="Training periods of the first fold.")
    horizon: int = Field(13, ge=1, description="Periods scored after each training window.")
    step: int = Field(13, ge=1, description="Periods the window grows between folds.")
    max_folds: int | None = Field(None, ge=1, description="Use at most this many (latest) folds.")
    scheduler: str | None = Field(
        None,
        description="Address of a Dask scheduler (tcp://host:8786) to fit the folds on, as "
        "`mmm batch --scheduler` does runs; default: this machine, folds side by side as "
        "the cores allow. Each worker compiles the program once into its own cache.",
    )
    method: FitMethod | None = Field(
        None, description="Fit method for the folds (default: the run's `fit.method`)."
    )


# The warmup pilot (fit.warmup_pilot, backend.fit.sample): its size under auto, from which
# warmup auto uses it (a quarter of the warmup at most), the fewest iterations its own
# adaptation windows fit in, and the fewest it must leave to Stan's adaptation after it
# (a 25-iteration initial buffer, then windows of 25 and more and a 50-iteration end).
AUTO_PILOT = 150
AUTO_PILOT_FROM = 600
MIN_PILOT = 50
MIN_MAIN_WARMUP = 150
# fit.metric auto: a dense metric for a model class whose parameters correlate, when the
# pilot counts at most this many (the main warmup's last window, some 400 iterations,
# estimates their covariance well); decision 0022
AUTO_DENSE_MAX = 50


class FitConfig(Section):
    """How the posterior is computed."""

    method: FitMethod = Field(
        "mcmc",
        description="mcmc: NUTS; map: posterior mode from several starts; laplace: normal "
        "approximation at the mode; pathfinder: variational paths.",
    )
    chains: int = Field(4, ge=1, le=64, description="MCMC chains.")
    warmup: int = Field(1000, ge=10, description="Warmup iterations per chain.")
    samples: int = Field(1000, ge=10, description="Kept iterations per chain.")
    thin: int = Field(1, ge=1, description="Keep every n-th iteration.")
    adapt_delta: float = Field(0.9, gt=0, lt=1, description="Target acceptance rate of NUTS.")
    max_treedepth: int = Field(10, ge=1, le=15, description="Largest NUTS tree depth.")
    warmup_pilot: Annotated[int, Field(ge=0)] | Literal["auto"] = Field(
        "auto",
        description="MCMC warmup iterations, counted in `warmup`, that run first with trees "
        "of at most 63 leapfrog steps to learn a first metric; the rest of the warmup "
        "adapts from where they end. 0: none; auto: 150 when warmup is 600 or more, else 0.",
    )
    metric: Literal["auto", "diag", "dense"] = Field(
        "auto",
        description="NUTS metric adapted in the warmup: diag (a scale per parameter) or "
        "dense (their covariance: fewer leapfrog steps where parameters correlate, such as "
        "the equations of a nested or multivariate model); auto: dense for the classes "
        "nested, multivariate and combined (unless a partially observed mediator's effect has "
        "the default prior and no positive sign) when the warmup "
        f"pilot runs and counts at most {AUTO_DENSE_MAX} parameters, else diag.",
    )
    parallel_chains: int | None = Field(
        None, ge=1, description="Chains run at once (default: one per core)."
    )
    threads_per_chain: Annotated[int, Field(ge=1)] | Literal["auto"] = Field(
        "auto",
        description="Threads per MCMC chain, for programs that split their likelihood over "
        "groups (class hierarchical); auto: the cores the chains leave free (cores ÷ chains "
        "run at once), when the panel has enough groups to share; other classes use 1.",
    )
    map_starts: int = Field(10, ge=1, le=200, description="Random starts for map and laplace.")
    draws: int = Field(4000, ge=100, description="Draws for laplace and pathfinder.")
    init_radius: float = Field(
        1.0, gt=0, description="Random inits in (−r, r) on the unconstrained scale."
    )
    force_recompile: bool = Field(False, description="Rebuild the Stan program even if cached.")

    @field_validator("warmup_pilot")
    @classmethod
    def _pilot_fits(cls, pilot: int | str, info: ValidationInfo) -> int | str:
        warmup = info.data.get("warmup")  # absent when warmup itself is invalid
        if pilot == "auto" or pilot == 0 or not isinstance(warmup, int):
            return pilot
        assert isinstance(pilot, int)
        if pilot < MIN_PILOT:
            raise ValueError(
                f"{pilot} iterations are too few to learn a metric; use 0 "
                f"(none), auto, or at least {MIN_PILOT}"
            )
        if warmup - pilot < MIN_MAIN_WARMUP:
            raise ValueError(
                f"{pilot} pilot iterations leave {warmup - pilot} of the {warmup} warmup "
                f"iterations for Stan's own adaptation, which needs {MIN_MAIN_WARMUP}: "
                "lower warmup_pilot or raise warmup"
            )
        return pilot

    def pilot_iterations(self) -> int:
        """Warmup iterations of the capped-depth pilot (0: none); see `warmup_pilot`. 0
        when it would leave too little warmup (validation refuses that in a config; a
        copy made with other settings, unvalidated, runs without)."""
        if self.warmup_pilot == "auto":
            return AUTO_PILOT if self.warmup >= AUTO_PILOT_FROM else 0
        return self.warmup_pilot if self.warmup - self.warmup_pilot >= MIN_MAIN_WARMUP else 0

    def dense_metric(self, parameters: int | None, correlated: bool) -> bool:
        """Whether NUTS adapts a dense metric, given the model's unconstrained parameter
        count (None: unknown, as without a pilot) and whether its class expects them to
        correlate; see `metric`."""
        if self.metric == "auto":
            return correlated and parameters is not None and parameters <= AUTO_DENSE_MAX
        return self.metric == "dense"


class LiftTest(Section):
    """An experiment that measured a channel's incremental KPI (a geo or conversion lift
    test): it calibrates the model through the lift the model predicts for the same
    spend change."""

    name: str | None = Field(None, description="Label in reports (default: test1, test2, ...).")
    channel: str = Field(description="The media channel whose spend the test changed.")
    start: dt.date = Field(description="First period of the spend change.")
    end: dt.date = Field(description="Last period of the spend change.")
    measured_until: dt.date | None = Field(
        None,
        description="Last period over which the lift was measured (default `end`; later to "
        "include the carry-over after the test).",
    )
    spend_change: float = Field(
        description="Extra spend over the test window (negative for a go-dark test), spread "
        "evenly over its periods, in the channel's spend units.",
    )
    lift: float = Field(description="Measured incremental KPI over the measured periods.")
    se: float = Field(gt=0, description="Standard error of the measured lift.")
    group: str | None = Field(
        None, description="Panels: the group (geo) the test ran in; required for panels."
    )
    outcome: str | None = Field(
        None,
        description="Classes multivariate and combined: the outcome whose lift was measured "
        "(default: the KPI, the outcomes' value-weighted total).",
    )

    @model_validator(mode="after")
    def _ordered(self) -> LiftTest:
        if self.end < self.start:
            raise ValueError("`end` is before `start`")
        if self.measured_until is not None and self.measured_until < self.end:
            raise ValueError(
                "`measured_until` is before `end`: the lift is measured from "
                "`start` to at least `end`"
            )
        if self.spend_change == 0:
            raise ValueError("`spend_change` is 0: the test changed nothing")
        return self


class WindowPrior(Section):
    """A prior on a channel's quantity over a window of the data (ROI or share), in place
    of the prior on its coefficient."""

    channel: str = Field(description="The media channel.")
    prior: str = Field(description="Distribution of the quantity.")
    start: dt.date | None = Field(None, description="First period of the window (default: all).")
    end: dt.date | None = Field(None, description="Last period of the window (default: all).")

    @model_validator(mode="after")
    def _ordered(self) -> WindowPrior:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError("`end` is before `start`")
        return self


class RoiPrior(WindowPrior):
    """A prior on a channel's ROI in business units, in place of the prior on its
    coefficient."""

    channel: str = Field(description="The paid media channel.")
    prior: str = Field(
        description="Distribution of the ROI: KPI (money with model.kpi_value) per unit of "
        "spend over the window, e.g. lognormal(0.5, 0.3)."
    )


class SharePrior(WindowPrior):
    """A prior on a channel's share of the KPI (its contribution over the observed KPI
    in a window), in place of the prior on its coefficient."""

    channel: str = Field(description="The media channel (paid or organic).")
    prior: str = Field(
        description="Distribution of the share: the channel's contribution over the window "
        "divided by the observed KPI summed over it (0.1 is 10%), e.g. beta(2, 18)."
    )


class CalibrationConfig(Section):
    """Experiments and business priors that calibrate the model."""

    lift_tests: list[LiftTest] = Field(
        default_factory=list, description="Lift tests, each a likelihood term on the model's lift."
    )
    roi_priors: list[RoiPrior] = Field(
        default_factory=list,
        description="Priors on channels' ROI (classes blm, pooled and hierarchical), each in "
        "place of the channel's coefficient prior; panels: the population ROI over all groups.",
    )
    share_priors: list[SharePrior] = Field(
        default_factory=list,
        description="Priors on channels' share of the KPI (classes blm, pooled and "
        "hierarchical), each in place of the channel's coefficient prior.",
    )


class RunConfig(Section):
    """A whole run: data, model, priors, fit, diagnostics and decisions."""

    name: Annotated[str, Field(min_length=1, max_length=80)] = Field(
        description="Run name; results go to <output_dir>/<timestamp>_<name>/."
    )
    description: str = Field("", description="Free text kept with the run.")
    seed: int = Field(20240101, ge=0, lt=2**31, description="Seed of every random step.")
    output_dir: str = Field("results", description="Folder for run folders (relative to cwd).")
    data: DataConfig = Field(description="The data file.")
    model: ModelConfig = Field(description="The model.")
    priors: list[str] = Field(
        default_factory=list,
        description="Priors in compact notation, e.g. 'tv ~ normal(0, 1)' or "
        "'tv.decay ~ beta(2, 2)'; on the standardised scale when model.standardise is on.",
    )
    boundaries: list[str] = Field(
        default_factory=list, description="Hard bounds on coefficients, e.g. 'price < 0'."
    )
    fit: FitConfig = Field(default_factory=FitConfig, description="Fitting.")
    diagnostics: DiagnosticsConfig = Field(
        default_factory=DiagnosticsConfig, description="Diagnostics gates."
    )
    loo: Switch = Field(default_factory=Switch, description="PSIS-LOO model selection.")
    decomposition: Switch = Field(default_factory=Switch, description="KPI decomposition and ROI.")
    budget: BudgetConfig | None = Field(None, description="Budget optimisation scenario.")
    cv: CvConfig | None = Field(None, description="Time-series cross-validation.")
    calibration: CalibrationConfig | None = Field(
        None, description="Experiments (lift tests) that calibrate the model."
    )

    @field_validator("priors", "boundaries", mode="before")
    @classmethod
    def _one_line_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value
