"""What a prior implies before any data are seen, summarised and checked.

Works on draws of the prior (the model's Stan program run with ``prior_only``,
or NumPy draws in tests), never on a sampler:

* the prior predictive KPI per period: mean, sd and the 5/25/50/75/95%
  quantiles, beside the observed KPI;
* each channel's implied contribution, its share of the observed KPI and its
  ROI (median and the run's 90% interval);
* each prior's density on the modelling scale (where priors are written);
* flags: checks with a frozen threshold, each returning rows (check, value,
  threshold, status, advice, detail) with status ``pass``, ``flag`` or
  ``skip``; a sensible prior raises no flag.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import ClassVar, Final, Literal, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from mmm_runner.analysis.intervals import HIGH, LOW, bounds
from mmm_runner.analysis.posterior import Posterior
from mmm_runner.analysis.priors import Truncated
from mmm_runner.config.notation import Distribution
from mmm_runner.config.resolve import ModelSpec
from mmm_runner.data.design import Design
from mmm_runner.model import hsgp, network_data
from mmm_runner.model.stan_data import Layout

Array = npt.NDArray[np.float64]
FlagStatus = Literal["pass", "flag", "skip"]

# The prior predictive bands: the run's 90% interval and the central half.
LEVELS: Final = (LOW, 0.25, 0.5, 0.75, HIGH)
ALL_MEDIA: Final = "all media"
EFFECT_COLUMNS: Final = (
    "channel",
    "paid",
    "spend",
    *(f"{q}_{level}" for q in ("contribution", "share", "roi") for level in ("q05", "q50", "q95")),
)
DENSITY_POINTS: Final = 200
DENSITY_RANGE: Final = (0.005, 0.99)  # quantiles of the prior a density plot spans


def level_name(level: float) -> str:
    """The column name of a quantile level, e.g. q05 for 0.05."""
    return f"q{round(100 * level):02d}"


# --- the prior predictive KPI ---------------------------------------------------------------


def band_summary(draws: Array) -> dict[str, Array]:
    """Mean, sd and the ``LEVELS`` quantiles of each column of (draws, points) values."""
    quantiles = np.quantile(draws, LEVELS, axis=0)
    out: dict[str, Array] = {"mean": draws.mean(axis=0), "sd": draws.std(axis=0, ddof=1)}
    out.update({level_name(q): quantiles[i] for i, q in enumerate(LEVELS)})
    return out


def row_frame(design: Design) -> pd.DataFrame:
    """One row per period (and group for panels), as the run's tables lay them out."""
    frame = pd.DataFrame({"date": [d.strftime("%Y-%m-%d") for d in design.dates]})
    if design.n_groups > 1:
        frame.insert(1, "group", [design.group_names[g] for g in design.group])
    return frame


def kpi_bands(kpi_rep: Array, design: Design) -> pd.DataFrame:
    """kpi_bands.csv: the observed KPI and its prior predictive summary, per period.

    ``kpi_rep`` holds prior predictive draws of the KPI, (draws, rows).
    """
    frame = row_frame(design)
    frame["observed"] = design.kpi
    for name, values in band_summary(kpi_rep).items():
        frame[name] = values
    frame["in_fit"] = design.fitted
    return frame


# --- implied contributions, shares and ROI --------------------------------------------------


def _median_interval(name: str, draws: Array) -> dict[str, float]:
    """``{name_q05, name_q50, name_q95}`` of one quantity's draws (NaN-free draws only)."""
    finite = draws[np.isfinite(draws)]
    if finite.size == 0:
        return {f"{name}_q05": math.nan, f"{name}_q50": math.nan, f"{name}_q95": math.nan}
    low, high = bounds(finite)
    return {
        f"{name}_q05": float(low),
        f"{name}_q50": float(np.median(finite)),
        f"{name}_q95": float(high),
    }


def effect_rows(
    totals: dict[str, Array],
    value: dict[str, Array],
    spend: dict[str, float],
    observed_total: float,
) -> pd.DataFrame:
    """Each channel's contribution, share of the observed KPI and ROI under the prior.

    ``totals`` are the draws of each channel's contribution (KPI units) over the
    fitted periods, ``value`` the same in money (equal to ``totals`` without a
    KPI value), ``spend`` its spend (0 for organic channels).  A last row sums
    all channels; its ROI is over the paid channels.
    """
    rows = [
        _effect_row(name, total, value[name], spend[name], observed_total)
        for name, total in totals.items()
    ]
    if totals:
        paid = [n for n in totals if spend[n] > 0]
        overall = np.sum([totals[n] for n in totals], axis=0)
        money = np.sum([value[n] for n in paid], axis=0) if paid else np.zeros_like(overall)
        rows.append(
            _effect_row(ALL_MEDIA, overall, money, sum(spend[n] for n in paid), observed_total)
        )
    return pd.DataFrame(rows, columns=list(EFFECT_COLUMNS))


def _effect_row(
    name: str, total: Array, money: Array, spend: float, observed_total: float
) -> dict[str, object]:
    row: dict[str, object] = {"channel": name, "paid": spend > 0, "spend": spend}
    row.update(_median_interval("contribution", total))
    row.update(_median_interval("share", total / observed_total))
    roi = money / spend if spend > 0 else np.full_like(total, math.nan)
    row.update(_median_interval("roi", roi))
    return row


def implied_effects(
    contributions: dict[str, Array], design: Design, spec: ModelSpec, spend: dict[str, float]
) -> pd.DataFrame:
    """implied_effects.csv: contribution, share of the observed KPI and ROI per channel.

    Over the fitted periods (all groups together); ``spend`` per channel as
    the run's roi.csv counts it.
    """
    fitted = design.fitted
    totals = {m: contributions[m][:, fitted].sum(axis=1) for m in spec.media_names}
    value = {
        m: (contributions[m][:, fitted] * design.kpi_value[fitted]).sum(axis=1)
        for m in spec.media_names
    }
    observed_total = float(design.kpi[fitted].sum())
    return effect_rows(totals, value, spend, observed_total)


def media_share_draws(contributions: dict[str, Array], design: Design, spec: ModelSpec) -> Array:
    """Draws of all media's contribution as a share of the observed KPI (fitted periods)."""
    fitted = design.fitted
    observed_total = float(design.kpi[fitted].sum())
    total = np.zeros(next(iter(contributions.values())).shape[0])
    for name in spec.media_names:
        total = total + contributions[name][:, fitted].sum(axis=1)
    share: Array = total / observed_total
    return share


def roi_draws(
    contributions: dict[str, Array], design: Design, spec: ModelSpec, spend: dict[str, float]
) -> dict[str, Array]:
    """Draws of each paid channel's ROI (money, or KPI units, per unit of spend)."""
    fitted = design.fitted
    out: dict[str, Array] = {}
    for media in spec.media:
        if spend.get(media.name, 0.0) > 0:
            money = (contributions[media.name][:, fitted] * design.kpi_value[fitted]).sum(axis=1)
            out[media.name] = money / spend[media.name]
    return out


# --- prior densities ------------------------------------------------------------------------


@dataclass(frozen=True)
class PriorPanel:
    """One prior as written: its analytic density and the sampler's draws (modelling scale)."""

    parameter: str
    role: str
    dist: Distribution
    source: str
    lower: float
    upper: float
    x: Array | None  # None where the program sets the prior (pooled terms)
    density: Array | None
    draws: Array
    set_by: str = ""  # the prior the program uses in place of dist (model.selection's)

    @property
    def prior(self) -> str:
        return self.set_by or str(self.dist)

    @property
    def title(self) -> str:
        """``name ~ prior``, with the bounds that cut the prior (e.g. ``, > 0``)."""
        low, high = self.dist.support()
        cuts = []
        if self.lower > low:
            cuts.append(f"> {self.lower:g}")
        if self.upper < high:
            cuts.append(f"< {self.upper:g}")
        return f"{self.parameter} ~ {self.prior}" + "".join(f", {c}" for c in cuts)


def truncated_density(dist: Distribution, lower: float, upper: float) -> tuple[Array, Array]:
    """A grid over the bulk of a prior truncated to [lower, upper], and its density there."""
    prior = Truncated(dist, lower, upper)
    cut = prior.f_low + prior.mass * np.asarray(DENSITY_RANGE)
    low, high = (float(v) for v in prior.rv.ppf(cut))
    x = np.linspace(low, high, DENSITY_POINTS)
    density = np.asarray(prior.rv.pdf(x), dtype=float) / prior.mass
    return x, density


def truncated_quantiles(dist: Distribution, lower: float, upper: float) -> tuple[float, ...]:
    """The 5%, 50% and 95% quantiles of a prior truncated to [lower, upper]."""
    prior = Truncated(dist, lower, upper)
    levels = prior.f_low + prior.mass * np.asarray([LOW, 0.5, HIGH])
    return tuple(float(v) for v in prior.rv.ppf(levels))


def _panel(
    parameter: str,
    role: str,
    dist: Distribution,
    source: str,
    bounds_: tuple[float, float],
    draws: Array,
    analytic: bool = True,
) -> PriorPanel:
    lower, upper = bounds_
    x, density = truncated_density(dist, lower, upper) if analytic else (None, None)
    return PriorPanel(parameter, role, dist, source, lower, upper, x, density, draws)


def prior_panels(post: Posterior, spec: ModelSpec, names: Layout) -> list[PriorPanel]:
    """Every prior the config states (written or default), with the draws it governs.

    A prior shared by several columns (``season``) pools their draws; a pooled
    media term's prior comes from its pool and a selected control's from
    model.selection, so they have no analytic density.
    """
    inf = math.inf
    panels = [
        _panel(
            "intercept",
            "intercept",
            spec.intercept.prior,
            spec.intercept.source,
            (-inf, inf),
            post.alpha_stated,
        ),
        _panel("sigma", "noise", spec.sigma_prior, "", (0.0, inf), post.sigma_g.ravel()),
    ]
    gp_trend = spec.trend is not None and spec.trend.type == "gp"
    for name, coef in spec.coefficients.items():
        columns = [j for j, term in enumerate(names.beta_terms) if term == name]
        if not columns or name in spec.roi_channels or (gp_trend and name == "trend"):
            continue
        if np.isnan(post.beta_stated[:, columns]).all():
            continue  # no coefficient of its own (a channel acting only through mediators)
        panel = _panel(
            name,
            coef.role,
            coef.prior,
            coef.source,
            (coef.lower, coef.upper),
            post.beta_stated[:, columns].ravel(),
            analytic=name not in spec.pooling and name not in spec.selected,
        )
        if spec.selection is not None and name in spec.selected:
            panel = replace(panel, source="model.selection", set_by=spec.selection.prior)
        panels.append(panel)
    for param in spec.transform_params:
        index = names.theta.index(param.label)
        panels.append(
            _panel(
                param.label,
                "transform",
                param.prior,
                param.source,
                (param.lower, param.upper),
                post.theta_stated(index, post.theta_g[:, :, index].ravel()),
            )
        )
    for e, effect in enumerate(names.group_effects):
        intercept = effect.split("|")[0] == "intercept"  # crossed: "intercept|geo"
        dist = spec.group_intercept_sd_prior if intercept else spec.group_sd_prior
        panels.append(_panel(f"sd_{effect}", "group_sd", dist, "", (0.0, inf), post.tau[:, e]))
    return panels + _gp_panels(post, spec, names) + _mediator_panels(post, spec)


def _gp_panels(post: Posterior, spec: ModelSpec, names: Layout) -> list[PriorPanel]:
    """A gp trend's amplitude and lengthscale, and each time-varying channel's drift
    amplitude and lengthscale, as their priors state them."""
    inf = math.inf
    panels = []
    if "gp_amplitude" in post.pool and spec.trend is not None:
        trend = spec.trend
        for label, dist, draws in (
            ("trend.amplitude", hsgp.amplitude_prior(trend.amplitude_prior), "gp_amplitude"),
            (
                "trend.lengthscale",
                hsgp.lengthscale_prior(trend.lengthscale_prior, names.span),
                "gp_lengthscale",
            ),
        ):
            panels.append(
                _panel(label, "trend", dist, "model.trend", (0.0, inf), post.pool[draws][:, 0])
            )
    if "tvp_amplitude" in post.pool:
        drifting = [m for m in spec.media if m.time_varying is not None]
        for i, media in enumerate(drifting):
            length, amplitude = hsgp.drift_priors(media, names.span)
            for label, dist, draws in (
                ("amplitude", amplitude, "tvp_amplitude"),
                ("lengthscale", length, "tvp_lengthscale"),
            ):
                panels.append(
                    _panel(
                        f"{media.name}.drift.{label}",
                        "drift",
                        dist,
                        "model.media.time_varying",
                        (0.0, inf),
                        post.pool[draws][:, i],
                    )
                )
    return panels


def _mediator_panels(post: Posterior, spec: ModelSpec) -> list[PriorPanel]:
    """Network classes: each mediator's effect on each outcome it moves, its channels'
    effects on it, its noise and (surveys) observation noise, and each cross-effect, on
    the modelling scale as the priors state them."""
    inf = math.inf
    panels = []
    outcomes = network_data.outcome_names(spec)
    for g, (d, k) in enumerate(network_data.gamma_links(spec)):
        effect = spec.mediators[d].effect
        panels.append(
            _panel(
                f"{spec.mediators[d].name}->{outcomes[k]}",
                "mediator",
                effect.prior,
                effect.source,
                (effect.lower, effect.upper),
                post.pool["gamma"][:, g],
            )
        )
    at, partial = 0, 0
    for d, m in enumerate(spec.mediators):
        for channel, prior in zip(m.channels, m.media_priors, strict=True):
            bounds = network_data.media_bounds(spec.coefficients[channel])
            draws = post.pool["beta_med"][:, at]
            panels.append(_panel(f"{channel}->{m.name}", "mediator", prior, "", bounds, draws))
            at += 1
        sigma = post.pool["sigma_med"][:, d]
        panels.append(_panel(f"sigma[{m.name}]", "noise", m.sigma_prior, "", (0.0, inf), sigma))
        if m.observation == "partial":
            noise = post.pool["nu"][:, partial]
            panels.append(
                _panel(
                    f"{m.name}.observation_noise", "noise", m.noise_prior, "", (0.0, inf), noise
                )
            )
            partial += 1
    for x, c in enumerate(spec.cross_effects):
        e = c.effect
        panels.append(
            _panel(
                f"psi[{network_data.cross_label(c)}]",
                "cross",
                e.prior,
                e.source,
                (e.lower, e.upper),
                post.pool["psi"][:, x],
            )
        )
    return panels


def prior_table(panels: list[PriorPanel]) -> pd.DataFrame:
    """priors.csv: each prior, its bounds, and its quantiles as stated and as sampled."""
    rows = []
    for panel in panels:
        row: dict[str, object] = {
            "parameter": panel.parameter,
            "role": panel.role,
            "prior": panel.prior,
            "source": panel.source or "default",
            "lower": panel.lower,
            "upper": panel.upper,
        }
        if panel.density is not None:
            stated = truncated_quantiles(panel.dist, panel.lower, panel.upper)
            row.update(zip(("prior_q05", "prior_q50", "prior_q95"), stated, strict=True))
        low, high = bounds(panel.draws)
        row.update(
            draws_q05=float(low), draws_q50=float(np.median(panel.draws)), draws_q95=float(high)
        )
        rows.append(row)
    return pd.DataFrame(rows)


ORIGINAL_EXCLUDED: Final = ("group", "group_sd", "pool")


def original_scale_draws(
    quantities: dict[str, tuple[str, str, Array]], names: Layout
) -> dict[str, tuple[str, Array]]:
    """Population parameters whose original scale differs from the modelling scale.

    ``quantities`` is the model class's name -> (kind, unit, draws); transform
    parameters keep their scale (only the half-saturation spend is new).
    """
    return {
        name: (unit, draws)
        for name, (kind, unit, draws) in quantities.items()
        # a transform set per outcome is labelled "<channel.stage.param>[<outcome>]"
        if kind not in ORIGINAL_EXCLUDED and name.split("[")[0] not in names.theta
    }


# --- flags ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flag:
    """One row of flags.csv."""

    check: str
    value: float
    threshold: float
    status: FlagStatus
    advice: str
    detail: str = ""


@dataclass(frozen=True)
class PriorEvidence:
    """What the checks read, from the prior draws (or built by hand in tests).

    ``band_low`` and ``band_high`` are the 90% prior predictive band of each
    fitted period and ``observed`` its KPI; ``negative_share`` is the share of
    prior predictive draws below zero (None when a negative KPI is possible
    or impossible by design: a log response, or an observed KPI not positive).
    """

    band_low: Array
    band_high: Array
    observed: Array
    negative_share: float | None = None
    media_share: Array | None = None  # draws: all media / observed KPI
    roi: dict[str, Array] = field(default_factory=dict)  # draws per paid channel
    divergent_share: float | None = None
    width_ratios: dict[str, float] = field(default_factory=dict)  # see ``width_ratios``

    @property
    def observed_range(self) -> float:
        return float(self.observed.max() - self.observed.min())

    @property
    def width_ratio(self) -> float:
        """Median width of the 90% band over the observed KPI's range."""
        return float(np.median(self.band_high - self.band_low)) / self.observed_range


def prior_evidence(
    kpi_rep: Array,
    design: Design,
    spec: ModelSpec,
    contributions: dict[str, Array],
    spend: dict[str, float],
    divergent_share: float | None = None,
    panels: list[PriorPanel] | None = None,
) -> PriorEvidence:
    """The evidence of a sampled prior (fitted periods)."""
    fitted = design.fitted
    predictive = kpi_rep[:, fitted]
    low, high = bounds(predictive)
    observed = design.kpi[fitted]
    negative = None
    if not design.log_response and observed.min() > 0:
        negative = float((predictive < 0).mean())
    shares = media_share_draws(contributions, design, spec) if spec.media else None
    return PriorEvidence(
        band_low=np.asarray(low),
        band_high=np.asarray(high),
        observed=observed,
        negative_share=negative,
        media_share=shares,
        roi=roi_draws(contributions, design, spec, spend),
        divergent_share=divergent_share,
        width_ratios=width_ratios(panels or []),
    )


def width_ratios(panels: list[PriorPanel]) -> dict[str, float]:
    """Each stated prior's 90% width in the draws over its width as stated (1: a match)."""
    out: dict[str, float] = {}
    for panel in panels:
        if panel.density is None:
            continue
        q05, _, q95 = truncated_quantiles(panel.dist, panel.lower, panel.upper)
        low, high = bounds(panel.draws)
        if q95 > q05:
            out[panel.parameter] = float(high - low) / (q95 - q05)
    return out


Measured = tuple[float, str] | str  # (value, detail), or why the check does not apply


@dataclass(frozen=True)
class ThresholdCheck(ABC):
    """The common shape of a check: one value against a frozen threshold, with advice.

    A subclass states its defaults (``threshold``, ``name``), which side of the
    threshold flags (``flag_below``), its ``advice`` and how it ``measure``s the
    evidence; a check with several rows overrides ``run`` and uses ``row``.
    """

    threshold: float
    name: str
    flag_below: ClassVar[bool] = False  # flag values below the threshold (else above it)
    advice: ClassVar[str] = ""

    @abstractmethod
    def measure(self, evidence: PriorEvidence) -> Measured:
        """The value to judge and its detail, or why the check does not apply."""

    def run(self, evidence: PriorEvidence) -> list[Flag]:
        measured = self.measure(evidence)
        if isinstance(measured, str):
            return [self.skip(self.name, measured)]
        value, detail = measured
        return [self.row(self.name, value, self.advice, detail)]

    def row(self, check: str, value: float, advice: str, detail: str) -> Flag:
        """A row that flags when ``value`` is on the wrong side of the threshold."""
        wrong = value < self.threshold if self.flag_below else value > self.threshold
        return Flag(check, value, self.threshold, "flag" if wrong else "pass", advice, detail)

    def skip(self, check: str, why: str) -> Flag:
        return Flag(check, math.nan, self.threshold, "skip", "", why)


def _band_width(evidence: PriorEvidence) -> Measured:
    if evidence.observed_range <= 0:
        return "the observed KPI is constant"
    ratio = evidence.width_ratio
    return ratio, f"median 90% band width is {ratio:.3g} × the observed range"


@dataclass(frozen=True)
class BandTooNarrow(ThresholdCheck):
    """The 90% prior predictive band is an order of magnitude narrower than the data's range."""

    threshold: float = 0.1
    name: str = "kpi_band_too_narrow"
    flag_below = True
    advice = (
        "The priors rule out KPI values the data show: widen the intercept and "
        "sigma priors (on the standardised scale sd 1 is the KPI's own spread)."
    )

    def measure(self, evidence: PriorEvidence) -> Measured:
        return _band_width(evidence)


@dataclass(frozen=True)
class BandTooWide(ThresholdCheck):
    """The 90% prior predictive band is an order of magnitude wider than the data's range."""

    threshold: float = 10.0
    name: str = "kpi_band_too_wide"
    advice = (
        "The priors allow KPI values far beyond anything plausible: tighten the "
        "widest priors (see priors.csv; on the standardised scale a coefficient "
        "sd of 1-3 is already generous)."
    )

    def measure(self, evidence: PriorEvidence) -> Measured:
        return _band_width(evidence)


@dataclass(frozen=True)
class BandOverlap(ThresholdCheck):
    """Most periods' 90% bands miss the observed KPI range altogether."""

    threshold: float = 0.5
    name: str = "kpi_band_overlap"
    flag_below = True
    advice = (
        "The prior predictive sits away from the data: check the intercept prior's "
        "centre (0 is the KPI's mean on the standardised scale) and the signs of "
        "media and control priors."
    )

    def measure(self, evidence: PriorEvidence) -> Measured:
        top, bottom = evidence.observed.max(), evidence.observed.min()
        overlap = (evidence.band_low <= top) & (evidence.band_high >= bottom)
        share = float(overlap.mean())
        return share, f"{share:.0%} of periods have a 90% band that meets the observed range"


@dataclass(frozen=True)
class NegativeKpi(ThresholdCheck):
    """A positive KPI predicted negative in many draws (identity response)."""

    threshold: float = 0.05
    name: str = "negative_kpi"
    advice = (
        "The priors let a positive KPI go negative: narrow the intercept prior, "
        "bound controls by sign, or model log(KPI) (effects then multiply)."
    )

    def measure(self, evidence: PriorEvidence) -> Measured:
        share = evidence.negative_share
        if share is None:
            return "log response, or a KPI not all positive"
        return share, f"{share:.1%} of prior predictive values are below zero"


@dataclass(frozen=True)
class MediaShare(ThresholdCheck):
    """Media alone explain more than the whole observed KPI at the prior's median."""

    threshold: float = 1.0
    name: str = "media_share"
    advice = (
        "The media priors claim more than the whole KPI: tighten the media "
        "coefficient priors (e.g. half_normal(0.5) on the standardised scale) or "
        "check the media columns' units."
    )

    def measure(self, evidence: PriorEvidence) -> Measured:
        if evidence.media_share is None:
            return "no media channels"
        median = float(np.median(evidence.media_share))
        above = float((evidence.media_share > 1).mean())
        return median, (
            f"median share of the observed KPI from all media {median:.0%} "
            f"(above 100% in {above:.0%} of draws)"
        )


@dataclass(frozen=True)
class RoiSpan(ThresholdCheck):
    """A channel's 90% ROI interval spans more orders of magnitude than a prior should."""

    threshold: float = 3.0  # orders of magnitude (log10 of q95 / q05)
    name: str = "roi_span"

    def measure(self, evidence: PriorEvidence) -> Measured:
        """The widest channel's span (``run`` reports every channel in its own row)."""
        spans = [f.value for f in self.run(evidence) if f.status != "skip"]
        return (max(spans), "widest channel") if spans else "no channel has a finite ROI"

    def run(self, evidence: PriorEvidence) -> list[Flag]:
        flags = []
        for channel, draws in evidence.roi.items():
            check = f"{self.name}[{channel}]"
            finite = draws[np.isfinite(draws)]
            if finite.size == 0:
                flags.append(self.skip(check, "no finite ROI draws"))
                continue
            low, high = (float(v) for v in bounds(finite))
            if not low > 0:
                flags.append(self.skip(check, f"the 90% interval reaches ROI {low:.3g} ≤ 0"))
                continue
            span = math.log10(high / low)
            flags.append(
                self.row(
                    check,
                    span,
                    f"The priors say almost nothing about {channel}'s ROI: narrow its "
                    "coefficient prior or its saturation priors (a half-saturation near the "
                    "typical media level, 1 on the scaled media).",
                    f"90% ROI interval {low:.3g} to {high:.3g} ({span:.2g} orders of magnitude)",
                )
            )
        return flags


@dataclass(frozen=True)
class DrawsMatchPriors(ThresholdCheck):
    """The sampler reproduced the stated priors (else every summary here is off)."""

    threshold: float = 1.5  # the draws' 90% width may be 1.5 times wider or narrower
    name: str = "prior_draws_match"
    advice = (
        "The draws do not reproduce the stated priors, so the summaries understate "
        "(or overstate) them: rerun with more --draws (a longer warm-up), or replace "
        "very wide or heavy-tailed priors."
    )

    def measure(self, evidence: PriorEvidence) -> Measured:
        ratios = evidence.width_ratios
        if not ratios:
            return "no prior with a stated density"
        worst = max(ratios, key=lambda k: abs(math.log(max(ratios[k], 1e-12))))
        ratio = max(ratios[worst], 1e-12)
        off = max(ratio, 1 / ratio)
        return off, f"{worst}: the draws' 90% interval is {ratio:.3g} × as wide as its prior's"


@dataclass(frozen=True)
class Divergences(ThresholdCheck):
    """The prior's draws are unreliable: many divergent transitions."""

    threshold: float = 0.02
    name: str = "prior_divergences"
    advice = (
        "Sampling the prior diverged, so the summaries may miss its tails: replace "
        "very heavy-tailed priors (cauchy) by student_t or normal ones."
    )

    def measure(self, evidence: PriorEvidence) -> Measured:
        share = evidence.divergent_share
        if share is None:
            return "no sampler statistics"
        return share, f"{share:.1%} of transitions diverged"


class Check(Protocol):
    """A check of the prior: a frozen threshold, and rows for the evidence."""

    @property
    def name(self) -> str: ...

    @property
    def threshold(self) -> float: ...

    def run(self, evidence: PriorEvidence) -> list[Flag]: ...


CHECKS: Final[tuple[Check, ...]] = (
    BandTooNarrow(),
    BandTooWide(),
    BandOverlap(),
    NegativeKpi(),
    MediaShare(),
    RoiSpan(),
    DrawsMatchPriors(),
    Divergences(),
)
FLAG_COLUMNS: Final = ("check", "value", "threshold", "status", "advice", "detail")


def run_checks(evidence: PriorEvidence, checks: tuple[Check, ...] = CHECKS) -> list[Flag]:
    """Every check's rows, in order."""
    return [flag for check in checks for flag in check.run(evidence)]


def flag_table(flags: list[Flag]) -> pd.DataFrame:
    """flags.csv: one row per check."""
    return pd.DataFrame(
        [[getattr(f, c) for c in FLAG_COLUMNS] for f in flags], columns=list(FLAG_COLUMNS)
    )


# --- common prior choices -------------------------------------------------------------------

# The common MMM prior choices of the reference guide (mmm-framework-technical-guide),
# restated, with how each is written here and what mmm_runner uses by default.
REFERENCE_COLUMNS: Final = ("parameter", "family", "typical", "why", "here")
REFERENCE_PRIORS: Final = (
    (
        "media coefficient",
        "half_normal(sigma)",
        "sigma 0.3 to 0.5",
        "keeps effects positive and pulls small ones toward zero",
        "`tv ~ half_normal(0.5)`; default normal(0, 3) cut at 0 (= half_normal(3)), "
        "the effect at full saturation",
    ),
    (
        "adstock decay",
        "beta(a, b)",
        "beta(1, 3) or beta(2, 2)",
        "lives in (0, 1); (1, 3) favours short carry-over, (2, 2) centres it",
        "`tv.decay ~ beta(2, 2)`; default beta(1, 3) (geometric)",
    ),
    (
        "saturation rate (1 - exp(-rate x))",
        "gamma(alpha, beta)",
        "gamma(2, 1)",
        "positive; keeps the speed of saturation moderate",
        "`social.rate ~ gamma(2, 1)`; default gamma(2, 1) (logistic)",
    ),
    (
        "Hill half-saturation K",
        "beta(a, b) on a range tied to the data",
        "beta(2, 2)",
        "centred inside the observed media range; K is weakly identified otherwise",
        "on scaled media (1 = typical active level): default gamma(3, 3), mean 1",
    ),
    (
        "Hill slope S",
        "half_normal(sigma)",
        "sigma 1.5",
        "positive; values above 1 give S-shaped curves",
        "`tv.shape ~ gamma(3, 2)` by default (mean 1.5)",
    ),
    (
        "control coefficient",
        "normal(mu, sigma)",
        "mu 0, sigma 0.5 (mu -0.5 for price)",
        "either sign, shrunk; a known direction moves mu or sets a sign",
        "default normal(0, 1); `sign: negative` bounds it",
    ),
    (
        "intercept",
        "normal(mu, sigma)",
        "mu 0, sigma 1",
        "weakly informative once the KPI is standardised",
        "default normal(0, 5): media are not centred, so the baseline sits below the mean",
    ),
    (
        "noise sd",
        "half_normal(sigma)",
        "sigma 0.5",
        "positive; a residual sd of 0.3 to 0.5 of the KPI's sd is typical",
        "default half_normal(1)",
    ),
    (
        "trend slope",
        "normal(0, sigma)",
        "sigma 0.1",
        "growth is slow relative to the KPI's spread",
        "default normal(0, 1) per standardised trend column",
    ),
    (
        "seasonality coefficients",
        "normal(0, sigma)",
        "sigma 0.3",
        "seasonal swings are a fraction of the KPI's spread",
        "default normal(0, 1) per sine and cosine column",
    ),
    (
        "group spread (hierarchical)",
        "half_normal(sigma)",
        "sigma 0.3",
        "smaller values pool groups more strongly",
        "`group_sd ~ half_normal(0.3)`; default half_normal(0.5)",
    ),
)


def reference_table() -> pd.DataFrame:
    """prior_reference.csv: common MMM prior choices (standardised data) and their use here."""
    return pd.DataFrame(list(REFERENCE_PRIORS), columns=list(REFERENCE_COLUMNS))


def markdown_table(frame: pd.DataFrame) -> str:
    """A table as GitHub markdown (pipes in cells escaped)."""

    def cell(value: object) -> str:
        return str(value).replace("|", "\\|")

    lines = [
        "| " + " | ".join(cell(c) for c in frame.columns) + " |",
        "| " + " | ".join("---" for _ in frame.columns) + " |",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.to_numpy()]
    return "\n".join(lines) + "\n"
