"""Identifiability of the design, judged before any fit (10_pre_run).

Four checks on the regressors the model will see on its fitted rows (stacked
group by group for panels): every media channel transformed at the median of
its adstock and saturation priors (the NumPy twins of the Stan transforms),
then every non-media design column (controls, categorical and calendar
dummies, CRE means, trend and seasonal terms; not a gp trend's basis, whose
columns overlap by design and are tied together by the GP prior).

* ``vif`` — variance inflation factor of each regressor, VIF_j = 1 / (1 − R²_j)
  with R²_j from regressing column j on all the others and an intercept. All
  of them come from one decomposition of the standardised matrix (the diagonal
  of the inverse correlation matrix), not from one regression per column.
* ``condition_number`` — ratio of the largest to the smallest singular value of
  the standardised matrix (columns centred and scaled to unit length), with
  the columns that load on the smallest singular vector.
* ``rows_per_parameter`` — fitted rows per free parameter of the model
  (``free_parameters``).
* ``near_constant`` — share of the fitted rows holding a data column's most
  common value (media as given, the other columns as built).

Thresholds (``LIMITS``): VIF warn above 10, fail above 100 (common practice);
condition number warn above 30, fail above 1000 (Belsley, Kuh and Welsch);
rows per parameter warn below 10, fail below 3; near-constant warn at 99% of
rows on one value, fail when constant. A constant column has no VIF (its row
is skipped) and is left out of the condition number: ``near_constant`` fails it.
"""

from __future__ import annotations

import functools
import math
import operator
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from mmm_runner.analysis.gates import Gate
from mmm_runner.analysis.priors import Truncated
from mmm_runner.config.models import Policy
from mmm_runner.config.notation import Distribution
from mmm_runner.config.resolve import EVENTS, HOLIDAYS, ModelSpec
from mmm_runner.data.design import Design
from mmm_runner.model import hsgp, transforms

Array = npt.NDArray[np.float64]
Status = Literal["pass", "warn", "fail", "skip"]
STATUSES: tuple[Status, ...] = ("pass", "warn", "fail", "skip")
# A column varying by less than this share of its mean is constant up to rounding.
ROUNDING = 1e-8
# The largest number of columns named as loading on the smallest singular vector.
MAX_INVOLVED = 10
# A column loads on the smallest singular vector when its squared loading reaches this.
INVOLVED_LOADING = 0.1
# A column with more of its weight than this outside the row space is an exact dependency.
NULL_WEIGHT = 1e-8
EPS = float(np.finfo(float).eps)


@dataclass(frozen=True)
class Finding(Gate):
    """One row of identifiability.csv: a gate on a term (or on the whole design)."""

    term: str = field(kw_only=True)


COLUMNS = ("check", "term", "value", "warn", "fail", "status", "advice", "detail")


@dataclass(frozen=True)
class Regressors:
    """The design's regressors on the fitted rows, media at their prior medians first."""

    names: tuple[str, ...]
    values: Array  # (fitted rows, columns)
    n_media: int


@dataclass(frozen=True)
class Collinearity:
    """What the standardised regressors say about linear dependence."""

    vif: Array  # per column: inf for an exact dependency, nan for a constant column
    condition_number: float  # inf for an exact dependency, nan without varying columns
    smallest: tuple[tuple[str, float], ...]  # columns loading on the smallest singular vector
    constant: npt.NDArray[np.bool_]  # columns left out: constant (or non-finite)
    rank: int  # numerical rank of the varying columns


# ---------------------------------------------------------------------------
# The regressors


def prior_median(prior: Distribution, lower: float, upper: float) -> float:
    """The median of a prior restricted to a parameter's bounds."""
    return _median(prior.family, prior.args, lower, upper)


@functools.cache
def _median(family: str, args: tuple[float, ...], lower: float, upper: float) -> float:
    truncated = Truncated(Distribution(family, args), lower, upper)
    return float(truncated.rv.ppf(truncated.f_low + 0.5 * truncated.mass))


def prior_medians(spec: ModelSpec) -> dict[str, float]:
    """Every transform parameter at its prior median, keyed by label (tv.adstock.decay)."""
    return {p.label: prior_median(p.prior, p.lower, p.upper) for p in spec.transform_params}


def media_at_prior_medians(design: Design, spec: ModelSpec) -> Array:
    """Each channel's saturation of adstock at the prior medians, (rows, M), every row.

    Each group's series is transformed on its own, after the warm-up periods
    before the fitting window (as the Stan programs do).
    """
    medians = prior_medians(spec)
    scaled, warmup = design.media_scaled, design.warmup_scaled
    depth = warmup.shape[1]
    out = np.zeros_like(scaled)
    for j, term in enumerate(spec.media):
        adstock = _params(medians, term.name, "adstock", transforms.ADSTOCKS[term.adstock].params)
        saturation = _params(
            medians, term.name, "saturation", transforms.SATURATIONS[term.saturation].params
        )
        for g in range(design.n_groups):
            rows = np.flatnonzero(design.group == g)
            series = np.concatenate([warmup[g, :, j], scaled[rows, j]])
            curve = transforms.transform(
                series, term.adstock, adstock, term.saturation, saturation, term.l_max
            )
            out[rows, j] = curve[0, depth:]
    return out


def _params(
    medians: dict[str, float], channel: str, stage: str, params: tuple[transforms.Param, ...]
) -> dict[str, Array]:
    return {p.name: np.array([medians[f"{channel}.{stage}.{p.name}"]]) for p in params}


def regressors(design: Design, spec: ModelSpec) -> Regressors:
    """Media at their prior medians and every other design column, on the fitted rows."""
    media = media_at_prior_medians(design, spec)
    # a gp trend's basis columns are left out: they overlap by design, and the GP prior
    # (its lengthscale) ties them together, not the data
    keep = kept_columns(design)
    values = np.column_stack([media, design.x_raw[:, keep]])[design.fitted]
    names = (*design.media_names, *(design.columns[k].name for k in keep))
    return Regressors(names, np.asarray(values, dtype=float), len(design.media_names))


def kept_columns(design: Design) -> list[int]:
    """The design columns the checks read: all but a gp trend's basis."""
    basis = set(hsgp.gp_columns(design))
    return [k for k in range(len(design.columns)) if k not in basis]


# ---------------------------------------------------------------------------
# The maths


def constant_columns(values: Array) -> npt.NDArray[np.bool_]:
    """Columns that do not vary (up to rounding) or hold non-finite values."""
    finite = np.isfinite(values).all(axis=0)
    safe = np.where(np.isfinite(values), values, 0.0)
    mean = safe.mean(axis=0) if len(safe) else np.zeros(values.shape[1])
    sd = safe.std(axis=0) if len(safe) else np.zeros(values.shape[1])
    flat: npt.NDArray[np.bool_] = ~finite | (sd <= ROUNDING * np.abs(mean)) | (sd == 0)
    return flat


def collinearity(values: Array, names: tuple[str, ...]) -> Collinearity:
    """VIFs, condition number and the weakest direction of a matrix's columns.

    The spectrum of the standardised matrix Z = U S Vᵀ gives everything: the
    correlation matrix is V S² Vᵀ, so VIF_j = Σ_k V_jk² / s_k² (the diagonal of
    its inverse); a column with weight in the numerical null space (more
    columns than rows, or an exact dependency) has an infinite VIF. Cost
    O(n p min(n, p)): no regression per column.
    """
    n, p = values.shape
    constant = constant_columns(values)
    keep = np.flatnonzero(~constant)
    vif = np.full(p, np.nan)
    if keep.size == 0 or n < 2:
        return Collinearity(vif, math.nan, (), constant, 0)
    centred = values[:, keep] - values[:, keep].mean(axis=0)
    z = centred / np.linalg.norm(centred, axis=0)
    s, vt = _spectrum(z)
    rank = len(s)
    weights = vt**2
    inflation = (weights / s[:, None] ** 2).sum(axis=0)
    null_weight = 1.0 - weights.sum(axis=0)
    exact = rank < keep.size
    vif[keep] = np.where(exact & (null_weight > NULL_WEIGHT), math.inf, inflation)
    condition = math.inf if exact else float(s[0] / s[-1])
    loadings = _null_direction(vt, null_weight) if exact else vt[-1]
    order = np.argsort(-np.abs(loadings), kind="stable")
    involved = [i for i in order if loadings[i] ** 2 >= INVOLVED_LOADING]
    if len(involved) < 2:
        involved = list(order[: min(2, keep.size)])
    sign = float(np.sign(loadings[order[0]]))
    smallest = tuple((names[keep[i]], float(loadings[i]) * sign) for i in involved[:MAX_INVOLVED])
    return Collinearity(vif, condition, smallest, constant, rank)


def _spectrum(z: Array) -> tuple[Array, Array]:
    """The non-zero singular values of z (descending) and their right singular vectors.

    A tall matrix by the SVD of its R factor (accurate down to the smallest singular value);
    a wide one, whose centred columns are dependent anyway, by the eigenvalues of
    the small n × n matrix Z Zᵀ (fast with thousands of columns).
    """
    n, p = z.shape
    if n > p:  # Z = QR, and R (p × p) has Z's singular values and right vectors
        _, s, vt = np.linalg.svd(np.linalg.qr(z, mode="r"))
        rank = int((s > s[0] * max(n, p) * EPS).sum())
        return s[:rank], vt[:rank]
    eigenvalues, u = np.linalg.eigh(z @ z.T)
    eigenvalues, u = eigenvalues[::-1], u[:, ::-1]
    rank = int((eigenvalues > eigenvalues[0] * max(n, p) * EPS).sum())
    rank = min(rank, n - 1)  # centred columns: 1ᵀZ = 0, so at most n - 1 independent rows
    root = np.sqrt(eigenvalues[:rank])
    right: Array = (u[:, :rank].T @ z) / root[:, None]  # V = Zᵀ U S⁻¹
    return root, right


def _null_direction(vt: Array, null_weight: Array) -> Array:
    """A null vector of the matrix: the column most inside the null space, less its
    projection on the row space (its loadings name the columns it depends on)."""
    j = int(np.argmax(null_weight))
    direction = -vt.T @ vt[:, j]
    direction[j] += 1.0
    unit: Array = direction / np.linalg.norm(direction)
    return unit


def mode_share(column: Array) -> float:
    """Share of the values equal to the most common one (1 when constant up to rounding)."""
    if column.size == 0:
        return math.nan
    if not np.isfinite(column).all():
        return math.nan
    if column.std() <= ROUNDING * abs(column.mean()) or column.std() == 0:
        return 1.0
    _, counts = np.unique(column, return_counts=True)
    return float(counts.max() / column.size)


# ---------------------------------------------------------------------------
# The checks: each a frozen config with a run() that returns rows

_WORSE: dict[str, Callable[[float, float], bool]] = {
    "above": operator.gt,
    "at_or_above": operator.ge,
    "below": operator.lt,
}


@dataclass(frozen=True)
class _Check:
    """The common shape of a check: warn and fail thresholds, and advice for a row that
    does not pass. A subclass states its defaults, its ``check`` name and which side of
    the thresholds is ``worse``."""

    warn: float
    fail: float
    advice: str
    check: ClassVar[str]
    worse: ClassVar[str]  # a key of _WORSE

    def row(self, term: str, value: float, detail: str = "") -> Finding:
        """A graded row: pass, warn or fail, with the advice unless it passes."""
        status = _grade(value, self.warn, self.fail, _WORSE[self.worse])
        advice = self.advice if status != "pass" else ""
        return Finding(self.check, value, self.warn, self.fail, status, advice, detail, term=term)

    def skip(self, term: str, reason: str) -> Finding:
        return Finding(self.check, None, self.warn, self.fail, "skip", "", reason, term=term)


@dataclass(frozen=True)
class VifCheck(_Check):
    """Variance inflation factor of each regressor (above is worse)."""

    warn: float = 10.0
    fail: float = 100.0
    advice: str = (
        "This regressor is nearly a linear combination of the others, so its effect trades "
        "off against theirs and is weakly identified: merge or drop collinear terms, or give "
        "them informative priors (model.priors)."
    )
    check = "vif"
    worse = "above"

    def run(self, regs: Regressors, found: Collinearity) -> list[Finding]:
        rows = []
        for name, value, flat in zip(regs.names, found.vif, found.constant, strict=True):
            if flat:
                rows.append(self.skip(name, "constant on the fitted rows: see near_constant"))
                continue
            detail = "exact linear dependency" if math.isinf(value) else ""
            rows.append(self.row(name, float(value), detail))
        return rows


@dataclass(frozen=True)
class ConditionCheck(_Check):
    """Condition number of the standardised design (above is worse; Belsley's scale)."""

    warn: float = 30.0
    fail: float = 1000.0
    advice: str = (
        "Some combination of the design's columns is barely identified by the data (the "
        "columns in `detail` move together): merge or drop them, or give them informative "
        "priors."
    )
    check = "condition_number"
    worse = "above"

    def run(self, regs: Regressors, found: Collinearity) -> Finding:
        value = found.condition_number
        if math.isnan(value):
            return self.skip("design", "no varying column")
        terms = ", ".join(name for name, _ in found.smallest)
        loadings = ", ".join(f"{name} ({loading:+.2f})" for name, loading in found.smallest)
        n, p = regs.values.shape[0], int((~found.constant).sum())
        detail = f"smallest singular vector: {loadings}"
        if p >= n:
            detail = f"{p} varying columns on {n} fitted rows; {detail}"
        return self.row(terms, value, detail)


@dataclass(frozen=True)
class RowsPerParameterCheck(_Check):
    """Fitted rows per free parameter (below is worse)."""

    warn: float = 10.0
    fail: float = 3.0
    advice: str = (
        "Few fitted rows per free parameter, so the priors dominate: use fewer terms "
        "(channels, controls, seasonal order, changepoints, varying effects) or more data."
    )
    check = "rows_per_parameter"
    worse = "below"

    def run(self, rows: int, parameters: int) -> Finding:
        value = rows / parameters if parameters else math.inf
        return self.row("model", value, f"{rows} fitted rows / {parameters} free parameters")


@dataclass(frozen=True)
class NearConstantCheck(_Check):
    """Share of fitted rows on a column's most common value (at or above is worse)."""

    warn: float = 0.99
    fail: float = 1.0
    advice: str = (
        "This column hardly varies on the fitted rows, so its effect rests on a handful of "
        "periods (or, when constant, cannot be told from the intercept): drop it, merge it "
        "with a related term, or widen the fitting window (data.start, data.end)."
    )
    check = "near_constant"
    worse = "at_or_above"

    def run(self, names: tuple[str, ...], values: Array) -> list[Finding]:
        rows = []
        for j, name in enumerate(names):
            share = mode_share(values[:, j])
            if math.isnan(share):
                reason = "no fitted rows" if values.shape[0] == 0 else "non-finite values"
                rows.append(self.skip(name, reason))
                continue
            row = self.row(name, share)
            if row.status != "pass":
                row = replace(row, detail=_describe(values[:, j]))
            rows.append(row)
        return rows


def _describe(column: Array) -> str:
    values, counts = np.unique(column, return_counts=True)
    top = int(np.argmax(counts))
    if values.size == 1 or column.std() <= ROUNDING * abs(column.mean()):
        return f"constant ({column.mean():.6g}) on all {column.size} fitted rows"
    return f"{counts[top]} of {column.size} fitted rows are {values[top]:.6g}"


def _grade(
    value: float, warn: float, fail: float, worse: Callable[[float, float], bool]
) -> Status:
    if worse(value, fail):
        return "fail"
    return "warn" if worse(value, warn) else "pass"


def _above(value: float, warn: float, fail: float) -> Status:
    return _grade(value, warn, fail, operator.gt)


@dataclass(frozen=True)
class Limits:
    """The identifiability checks with their thresholds (frozen: documented, not configured)."""

    vif: VifCheck = field(default_factory=VifCheck)
    condition_number: ConditionCheck = field(default_factory=ConditionCheck)
    rows_per_parameter: RowsPerParameterCheck = field(default_factory=RowsPerParameterCheck)
    near_constant: NearConstantCheck = field(default_factory=NearConstantCheck)


LIMITS = Limits()


# ---------------------------------------------------------------------------
# The whole table


def check_regressors(
    regs: Regressors,
    data_names: tuple[str, ...],
    data_values: Array,
    parameters: int,
    limits: Limits = LIMITS,
) -> list[Finding]:
    """Every check on given regressors (and the data columns the near-constant check reads)."""
    found = collinearity(regs.values, regs.names)
    return [
        *limits.vif.run(regs, found),
        limits.condition_number.run(regs, found),
        limits.rows_per_parameter.run(regs.values.shape[0], parameters),
        *limits.near_constant.run(data_names, data_values),
    ]


def check_design(design: Design, spec: ModelSpec, limits: Limits = LIMITS) -> list[Finding]:
    """The identifiability table of a design (media at their prior medians)."""
    regs = regressors(design, spec)
    data = np.column_stack([design.media, design.x_raw[:, kept_columns(design)]])[design.fitted]
    data = np.asarray(data, dtype=float)
    return check_regressors(regs, regs.names, data, free_parameters(design, spec), limits)


def free_parameters(design: Design, spec: ModelSpec) -> int:
    """The model's free parameters: ``spec.n_parameters`` plus the design columns the config
    alone cannot count (a categorical control's levels beyond one, and calendar columns
    beyond one per named holiday and event, e.g. every holiday of a country)."""
    count = spec.n_parameters(design.n_groups)
    terms = Counter(c.term for c in design.columns)
    count += sum(max(0, terms[name] - 1) for name in spec.categorical)
    if spec.calendar is not None:
        counted = len(spec.calendar.events) + len(spec.calendar.holidays or ())
        count += max(0, terms[HOLIDAYS] + terms[EVENTS] - counted)
    return count


def table(findings: list[Finding]) -> pd.DataFrame:
    """identifiability.csv."""
    return pd.DataFrame([asdict(f) for f in findings], columns=list(COLUMNS))


def failing(findings: list[Finding], policy: Policy) -> list[Finding]:
    """The rows that stop a run before fitting: fails under the strict policy only."""
    return [f for f in findings if f.status == "fail"] if policy == "strict" else []


def summary(findings: list[Finding]) -> dict[str, Any]:
    """Largest VIF and its term, the condition number, rows per parameter, counts."""
    vifs = [f for f in findings if f.check == "vif" and f.value is not None]
    worst = max(vifs, key=lambda f: f.value or 0.0, default=None)
    condition = next((f for f in findings if f.check == "condition_number"), None)
    rows = next((f for f in findings if f.check == "rows_per_parameter"), None)
    counts = Counter(f.status for f in findings)
    return {
        "max_vif": _number(worst.value if worst else None),
        "max_vif_term": worst.term if worst else None,
        "condition_number": _number(condition.value if condition else None),
        "condition_terms": condition.term if condition else None,
        "rows_per_parameter": _number(rows.value if rows else None),
        "identifiability": {s: counts.get(s, 0) for s in STATUSES},
    }


def _number(value: float | None) -> float | str | None:
    """A value for JSON: infinity as the text 'inf' (JSON has no infinity)."""
    if value is None or math.isfinite(value):
        return value
    return "inf" if value > 0 else "-inf"
