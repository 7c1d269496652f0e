"""Diagnostics gates: each check a row (check, value, threshold, status, advice).

Thresholds come from the config (``diagnostics.thresholds``); the policy
decides what a failed or warning gate does to the run (see ``verdict``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from mmm_runner.analysis.posterior import Posterior, import_arviz
from mmm_runner.analysis.priors import Truncated
from mmm_runner.config.models import Policy, Thresholds, WarnFail
from mmm_runner.config.resolve import ModelSpec
from mmm_runner.data.design import Design
from mmm_runner.model.stan_data import Layout, term_forms

Array = npt.NDArray[np.float64]
Status = Literal["pass", "warn", "fail", "skip"]
NEAR_BOUND = 0.01  # "near" a bound: within the prior's 1% of mass next to it
# Divergences are put down to a group sd's funnel when at least FUNNEL_MIN diverged and
# their median percentile rank among that sd's draws is at most FUNNEL_RANK.
FUNNEL_MIN = 3
FUNNEL_RANK = 0.2
# A varying term is better centred when a group's posterior sd is under this share of
# the group sd (shrinkage under one half): see suggested_forms.
CENTRED_RATIO = math.sqrt(0.5)
# Checks whose trouble the terms' forms often cause: a warning or failure adds the forms
# the posterior suggests, when they differ from the run's.
FORM_CHECKS = ("divergences", "group_sd_rhat", "group_sd_ess_bulk")


@dataclass(frozen=True)
class Gate:
    """One check's outcome."""

    check: str
    value: float | None
    warn: float | None
    fail: float | None
    status: Status
    advice: str
    detail: str = ""


ADVICE = {
    "rhat": "Chains disagree: run longer (fit.warmup, fit.samples) or simplify the model "
    "(fewer terms, firmer priors on weakly identified transforms).",
    "ess_bulk": "Too few effective draws for stable means: raise fit.samples or fit.chains.",
    "ess_tail": "Too few effective draws in the tails for stable intervals: raise fit.samples.",
    "divergences": "Divergent transitions bias the posterior: raise fit.adapt_delta (0.95-0.99) "
    "or firm up priors of weakly identified parameters.",
    "treedepth": "Trajectories hit the maximum tree depth: raise fit.max_treedepth or look for "
    "strongly correlated parameters.",
    "ebfmi": "Low E-BFMI: the sampler explores the energy poorly; firmer priors or fewer "
    "weakly identified transforms usually help.",
    "boundary": "A coefficient is pressed against its bound: the data may contradict the "
    "constraint, or the effect is not detectable; review the boundary or the term.",
    "pareto_k": "Some periods are highly influential (Pareto k > 0.7) and LOO is unreliable for "
    "them: inspect them in pareto_k.csv for outliers or missing controls.",
    "residual_acf": "Residuals are autocorrelated: the model misses persistent structure "
    "(trend, seasonality, a control); review those terms.",
    "r2": "The model explains little of the KPI: important drivers may be missing.",
    "holdout_mape": "Out-of-sample error is high: the model may overfit or miss drivers.",
    "prior_contraction": "This channel's posterior is barely narrower than its prior: its "
    "effect is prior-driven; interpret with care or add informative data.",
    "map_agreement": "Optimiser starts reached different optima: the posterior may have "
    "several modes; prefer MCMC for reporting.",
    "group_sd_rhat": "Chains disagree on the spread of group effects: run longer, or switch "
    "model.hierarchical.parameterisation (centred for long groups, non-centred for short; "
    "a mapping sets it per term).",
    "group_sd_ess_bulk": "Few effective draws of the group spreads: run longer or change the "
    "parameterisation (model.hierarchical.parameterisation).",
}
# Checks where a larger value is better (the others: larger is worse).
HIGHER_IS_BETTER = {
    "ess_bulk",
    "ess_tail",
    "ebfmi",
    "r2",
    "prior_contraction",
    "map_agreement",
    "group_sd_ess_bulk",
}


def judge(check: str, value: float | None, limits: WarnFail, detail: str = "") -> Gate:
    """A gate row for a value against its warn/fail thresholds."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Gate(check, None, limits.warn, limits.fail, "skip", "not available", detail)
    if limits.fail is not None and _worse(check, value, limits.fail):
        status: Status = "fail"
    elif _worse(check, value, limits.warn):
        status = "warn"
    else:
        status = "pass"
    advice = ADVICE[check] if status != "pass" else ""
    return Gate(check, float(value), limits.warn, limits.fail, status, advice, detail)


def _worse(check: str, value: float, threshold: float) -> bool:
    return value < threshold if check in HIGHER_IS_BETTER else value > threshold


def skipped(check: str, limits: WarnFail, reason: str) -> Gate:
    return Gate(check, None, limits.warn, limits.fail, "skip", reason)


@dataclass
class GateInputs:
    """Everything the checks look at."""

    idata: Any
    post: Posterior
    design: Design
    spec: ModelSpec
    names: Layout
    method: str
    expected: Array  # E[KPI] per draw and row
    details: dict[str, Any]
    pareto_k: Array | None


def run_gates(inputs: GateInputs, limits: Thresholds) -> list[Gate]:
    """Every check, in a fixed order."""
    gates = _sampler_gates(inputs, limits)
    gates.append(_boundary(inputs, limits))
    gates.append(_pareto(inputs, limits))
    gates += _fit_gates(inputs, limits)
    gates.append(_contraction(inputs, limits))
    if inputs.method in ("map", "laplace"):
        gates.append(judge("map_agreement", inputs.details.get("agreement"), limits.map_agreement))
    return gates


def _sampler_gates(i: GateInputs, t: Thresholds) -> list[Gate]:
    checks = ("rhat", "ess_bulk", "ess_tail", "divergences", "treedepth", "ebfmi")
    if i.method != "mcmc":
        return [skipped(c, getattr(t, c), f"not applicable to {i.method}") for c in checks]
    az = import_arviz()
    posterior = i.idata.posterior
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rhat = az.rhat(posterior)
        bulk = az.ess(posterior, method="bulk")
        tail = az.ess(posterior, method="tail")
    stats = i.idata.sample_stats
    n = stats["diverging"].size
    depth = int(i.details.get("max_treedepth", 10))
    energy_ok = "energy" in stats
    bfmi = az.bfmi(i.idata) if energy_ok else np.array([np.nan])
    funnel = _funnel(i)
    rows = [
        judge("rhat", _extreme(rhat, max), t.rhat, _worst(rhat, max)),
        judge("ess_bulk", _extreme(bulk, min), t.ess_bulk, _worst(bulk, min)),
        judge("ess_tail", _extreme(tail, min), t.ess_tail, _worst(tail, min)),
        judge(
            "divergences",
            float(stats["diverging"].sum()) / n,
            t.divergences,
            f"{int(stats['diverging'].sum())} of {n} transitions{funnel}",
        ),
        judge(
            "treedepth",
            float((stats["tree_depth"] >= depth).sum()) / n,
            t.treedepth,
            f"max_treedepth {depth}",
        ),
        judge("ebfmi", float(np.min(bfmi)), t.ebfmi, "lowest chain"),
        *_group_sd_gates(az, posterior, t),
    ]
    if all(g.status in ("pass", "skip") for g in rows if g.check in FORM_CHECKS):
        return rows
    advice = _form_advice(i)  # what the trouble may come from
    # where a funnel was found, its own mapping is the sharper advice
    advised = {c for c in FORM_CHECKS if not (funnel and c == "divergences")}
    return [
        replace(g, detail=g.detail + advice)
        if g.check in advised and g.status in ("warn", "fail")
        else g
        for g in rows
    ]


def _funnel(i: GateInputs) -> str:
    """Where divergences concentrate, when it is at small values of group sds: the funnel
    of a centred term whose spread the data cannot resolve. Divergent draws of such a
    term sit in the low tail of its draws (a median percentile rank near 0). Only the
    sds of varying terms the run centred count: their form is what `parameterisation`
    chooses."""
    posterior, divergent = i.idata.posterior, i.idata.sample_stats["diverging"].values
    if "tau" not in posterior or posterior["tau"].size == 0 or divergent.sum() < FUNNEL_MIN:
        return ""
    forms = term_forms(i.design, i.spec, i.names)
    tau = posterior["tau"].values.reshape(divergent.size, -1)
    flags = divergent.reshape(-1).astype(bool)
    low: dict[str, tuple[str, float]] = {}  # term -> (its lowest-ranked sd, that rank)
    for e, effect, j in _varying_effects(i.names):
        term, column = i.names.beta_terms[j], tau[:, e]
        rank = float(np.median(_ranks(column)[flags])) / len(column)
        funnel = forms.get(term) == "centred" and rank <= FUNNEL_RANK
        if funnel and (term not in low or rank < low[term][1]):
            low[term] = (effect, rank)
    if not low:
        return ""
    terms = sorted(low, key=lambda t: low[t][1])
    where = ", ".join(f"'{low[t][0]}' (percentile {100 * low[t][1]:.0f})" for t in terms)
    mapping = form_mapping({**forms, **dict.fromkeys(terms, "non_centred")})
    return (
        f"; they sit at small group sds of {where}: a funnel; sample "
        f"{' and '.join(repr(t) for t in terms)} non-centred "
        f"(model.hierarchical.parameterisation: {mapping}) or raise fit.adapt_delta"
    )


def _varying_effects(names: Layout) -> list[tuple[int, str, int]]:
    """(index among the group sds, name, index into beta) of each varying coefficient's
    sd: the intercept's and crossed offsets' sds have no form to choose."""
    return [
        (e, effect, names.beta.index(effect))
        for e, effect in enumerate(names.group_effects)
        if effect in names.beta
    ]


def suggested_forms(post: Posterior, names: Layout) -> dict[str, str]:
    """Each varying term's form as its posterior suggests: centred when each group's
    data decide its value more than the pooling does, else non-centred.

    For a normal group effect with data standard error s and group sd tau, a group's
    posterior sd over tau is sqrt(s^2 / (s^2 + tau^2)), the root of the shrinkage: the
    centred form mixes well when it is small, the non-centred when it is near 1. A term
    is centred when that ratio, averaged over its coefficients and groups, is under
    CENTRED_RATIO (shrinkage one half)."""
    ratios: dict[str, list[float]] = {}
    for e, _, j in _varying_effects(names):
        if post.tau.shape[1] <= e:
            continue  # a posterior without this sd's draws
        spread = float(np.median(post.tau[:, e]))
        if spread > 0:
            within = float(np.mean(np.std(post.beta_g[:, :, j], axis=0)))
            ratios.setdefault(names.beta_terms[j], []).append(within / spread)
    return {
        term: "centred" if np.mean(values) < CENTRED_RATIO else "non_centred"
        for term, values in ratios.items()
    }


def form_mapping(forms: dict[str, str]) -> str:
    """The parameterisation mapping that writes ``forms``: the commoner form as default
    (non-centred on a tie), the other terms by name."""
    used = list(forms.values())
    default = max(("non_centred", "centred"), key=used.count)  # max keeps the first on a tie
    rest = ", ".join(f"{t}: {f}" for t, f in forms.items() if f != default)
    return f"{{default: {default}{', ' + rest if rest else ''}}}"


def _form_advice(i: GateInputs) -> str:
    """What the posterior suggests for the terms' forms, when it differs from the run's."""
    if not i.spec.varying or i.post.tau.size == 0:
        return ""
    suggested = suggested_forms(i.post, i.names)
    used = term_forms(i.design, i.spec, i.names)
    if suggested == {t: f for t, f in used.items() if t in suggested}:
        return ""
    return (
        f"; the posterior suggests model.hierarchical.parameterisation: {form_mapping(suggested)}"
    )


def _ranks(values: Array) -> Array:
    """1-based ranks (draws of a continuous quantity have no ties)."""
    return np.argsort(np.argsort(values)).astype(float) + 1.0


def _group_sd_gates(az: Any, posterior: Any, t: Thresholds) -> list[Gate]:
    """Separate rows for the group standard deviations, often the hardest to estimate."""
    if "tau" not in posterior or posterior["tau"].size == 0:
        return []
    tau = posterior[["tau"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rhat = az.rhat(tau)
        bulk = az.ess(tau, method="bulk")
    return [
        judge("group_sd_rhat", _extreme(rhat, max), t.rhat, _worst(rhat, max)),
        judge("group_sd_ess_bulk", _extreme(bulk, min), t.ess_bulk, _worst(bulk, min)),
    ]


def _flat(dataset: Any) -> list[tuple[str, float]]:
    """Every element of every variable, named like beta_g[north, tv]."""
    out = []
    for name, array in dataset.data_vars.items():
        coords = [[str(v) for v in array.coords[d].values] for d in array.dims]
        for index in np.ndindex(array.shape):
            label = ", ".join(c[k] for c, k in zip(coords, index, strict=True))
            out.append((f"{name}[{label}]" if label else str(name), float(array.values[index])))
    return out


def _extreme(dataset: Any, pick: Any) -> float:
    values = [v for _, v in _flat(dataset) if not math.isnan(v)]
    return float(pick(values)) if values else float("nan")


def _worst(dataset: Any, pick: Any) -> str:
    pairs = [(n, v) for n, v in _flat(dataset) if not math.isnan(v)]
    if not pairs:
        return ""
    name, value = pick(pairs, key=lambda p: p[1])
    return f"{name}: {value:.3g}"


def _boundary(i: GateInputs, t: Thresholds) -> Gate:
    worst_share, worst = 0.0, ""
    for j, term in enumerate(i.names.beta_terms):
        coef = i.spec.coefficients[term]
        if (math.isinf(coef.lower) and math.isinf(coef.upper)) or term in i.spec.roi_channels:
            continue
        if term in i.spec.selected:
            continue  # a selection prior is meant to pile a sign-bounded null effect at 0
        prior = Truncated(coef.prior, coef.lower, coef.upper)
        cdf = prior.cdf(i.post.beta_stated[:, j])
        share = float(
            np.mean((cdf < NEAR_BOUND) & np.isfinite(coef.lower))
            + np.mean((cdf > 1 - NEAR_BOUND) & np.isfinite(coef.upper))
        )
        if share > worst_share:
            worst_share, worst = share, f"{i.names.beta[j]}: {share:.0%} of draws at a bound"
    return judge("boundary", worst_share, t.boundary, worst)


def _pareto(i: GateInputs, t: Thresholds) -> Gate:
    if i.pareto_k is None:
        return skipped("pareto_k", t.pareto_k, "LOO not computed")
    bad = int((i.pareto_k > 0.7).sum())
    return judge(
        "pareto_k",
        bad / len(i.pareto_k),
        t.pareto_k,
        f"{bad} of {len(i.pareto_k)} periods above 0.7",
    )


def _fit_gates(i: GateInputs, t: Thresholds) -> list[Gate]:
    d = i.design
    mean = i.expected.mean(axis=0)
    fitted = d.fitted
    actual = d.kpi[fitted]
    resid = actual - mean[fitted]
    r2 = 1 - float(np.sum(resid**2) / np.sum((actual - actual.mean()) ** 2))
    acfs = []
    for g in range(d.n_groups):
        r = (d.kpi - mean)[fitted & (d.group == g)]
        if len(r) > 2 and r.std() > 0:
            acfs.append(float(np.corrcoef(r[:-1], r[1:])[0, 1]))
    acf = float(np.mean(np.abs(acfs))) if acfs else float("nan")
    gates = [
        judge("residual_acf", acf, t.residual_acf, "mean |lag-1 autocorrelation| of residuals"),
        judge("r2", r2, t.r2, "posterior mean fit, fitted periods"),
    ]
    if (~fitted).any():
        held = d.kpi[~fitted]
        mape = float(np.mean(np.abs(held - mean[~fitted]) / np.abs(held)))
        gates.append(
            judge("holdout_mape", mape, t.holdout_mape, f"{int((~fitted).sum())} held-out periods")
        )
    else:
        gates.append(skipped("holdout_mape", t.holdout_mape, "no holdout (data.holdout: 0)"))
    return gates


def _contraction(i: GateInputs, t: Thresholds) -> Gate:
    if i.post.n_draws < 10:
        return skipped("prior_contraction", t.prior_contraction, f"not applicable to {i.method}")
    worst, worst_name = math.inf, ""
    for j, name in enumerate(i.spec.media_names):
        if name in i.spec.roi_channels:
            continue  # its prior is on its ROI, not on the coefficient
        coef = i.spec.coefficients[name]
        prior_var = Truncated(coef.prior, coef.lower, coef.upper).variance(seed=j)
        contraction = 1 - float(np.var(i.post.beta_stated[:, j])) / prior_var
        if contraction < worst:
            worst, worst_name = contraction, name
    if worst_name == "":
        return skipped("prior_contraction", t.prior_contraction, "no media channels")
    return judge("prior_contraction", worst, t.prior_contraction, f"least: {worst_name}")


def table(gates: list[Gate]) -> pd.DataFrame:
    """gates.csv."""
    return pd.DataFrame([asdict(g) for g in gates])


def verdict(gates: list[Gate], policy: Policy) -> list[Gate]:
    """The gates that fail the run under a policy (explore: none)."""
    if policy == "explore":
        return []
    failing = {"fail"} if policy == "publish" else {"fail", "warn"}
    return [g for g in gates if g.status in failing]
