"""The compact prior and boundary notation users already know.

``m_tv ~ normal(0, 10)`` sets a prior; ``m_tv > 0`` or ``0 < m_search < 5``
sets hard bounds.  Distributions are a small registry: their parameters,
their support, and the integer code the Stan programs switch on.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass

INF = math.inf
NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf"
NAME = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*){0,2}"


class NotationError(ValueError):
    """A prior, boundary or distribution that cannot be read; ``fix`` says how to write it."""

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix


@dataclass(frozen=True)
class Family:
    """A distribution family: parameter names, support and Stan code."""

    name: str
    code: int
    params: tuple[str, ...]
    support: tuple[float, float]
    positive_params: tuple[str, ...]  # parameters that must be > 0


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("normal", 1, ("mu", "sigma"), (-INF, INF), ("sigma",)),
        Family("student_t", 2, ("nu", "mu", "sigma"), (-INF, INF), ("nu", "sigma")),
        Family("cauchy", 3, ("mu", "sigma"), (-INF, INF), ("sigma",)),
        Family("lognormal", 4, ("mu", "sigma"), (0.0, INF), ("sigma",)),
        Family("gamma", 5, ("alpha", "beta"), (0.0, INF), ("alpha", "beta")),
        Family("beta", 6, ("alpha", "beta"), (0.0, 1.0), ("alpha", "beta")),
        Family("exponential", 7, ("rate",), (0.0, INF), ("rate",)),
        Family("half_normal", 8, ("sigma",), (0.0, INF), ("sigma",)),
        Family("half_student_t", 9, ("nu", "sigma"), (0.0, INF), ("nu", "sigma")),
        Family("uniform", 10, ("lower", "upper"), (-INF, INF), ()),
        Family("half_cauchy", 11, ("sigma",), (0.0, INF), ("sigma",)),
    )
}
ALIASES = {"halfnormal": "half_normal", "halfcauchy": "half_cauchy", "t": "student_t"}


@dataclass(frozen=True)
class Distribution:
    """A family with its parameter values, e.g. normal(0, 10)."""

    family: str
    args: tuple[float, ...]

    @property
    def spec(self) -> Family:
        return FAMILIES[self.family]

    def support(self) -> tuple[float, float]:
        """Where the density is positive."""
        if self.family == "uniform":
            return self.args[0], self.args[1]
        return self.spec.support

    def mean(self) -> float:
        """The mean where it exists (used to centre optimiser starts); else the mode."""
        a = self.args
        means = {
            "normal": lambda: a[0],
            "student_t": lambda: a[1],
            "cauchy": lambda: a[0],
            "lognormal": lambda: math.exp(a[0] + a[1] ** 2 / 2),
            "gamma": lambda: a[0] / a[1],
            "beta": lambda: a[0] / (a[0] + a[1]),
            "exponential": lambda: 1 / a[0],
            "half_normal": lambda: a[0] * math.sqrt(2 / math.pi),
            "half_student_t": lambda: a[1],
            "uniform": lambda: (a[0] + a[1]) / 2,
            "half_cauchy": lambda: a[0],  # no mean: the scale is a sensible centre
        }
        return float(means[self.family]())

    def stan_args(self) -> tuple[float, float, float]:
        """The arguments padded to three, as the Stan programs take them."""
        return (*self.args, *(0.0,) * (3 - len(self.args)))  # type: ignore[return-value]

    def __str__(self) -> str:
        return f"{self.family}({', '.join(_fmt(v) for v in self.args)})"


@dataclass(frozen=True)
class Prior:
    """``target ~ distribution``."""

    target: str
    distribution: Distribution

    def __str__(self) -> str:
        return f"{self.target} ~ {self.distribution}"


@dataclass(frozen=True)
class Bound:
    """Hard bounds on a coefficient: ``lower < target < upper``."""

    target: str
    lower: float = -INF
    upper: float = INF

    def __str__(self) -> str:
        if self.lower > -INF and self.upper < INF:
            return f"{_fmt(self.lower)} < {self.target} < {_fmt(self.upper)}"
        if self.lower > -INF:
            return f"{self.target} > {_fmt(self.lower)}"
        return f"{self.target} < {_fmt(self.upper)}"


def _fmt(value: float) -> str:
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:g}"


def _number(text: str) -> float:
    return float(text.strip())


_DIST = re.compile(r"^\s*([A-Za-z_]+)\s*\(\s*(.*?)\s*\)\s*$")


def parse_distribution(text: str) -> Distribution:
    """Reads ``family(arg, arg, ...)``."""
    match = _DIST.match(text)
    if not match:
        raise NotationError(
            f"'{text.strip()}' is not a distribution",
            "write it as family(arguments), e.g. normal(0, 1) or beta(2, 5)",
        )
    name = match.group(1).lower()
    name = ALIASES.get(name, name)
    args_text = match.group(2)
    family = FAMILIES.get(name)
    if family is None:
        close = difflib.get_close_matches(name, FAMILIES, n=1)
        raise NotationError(
            f"unknown distribution '{match.group(1)}'",
            (f"did you mean {close[0]}? " if close else "")
            + f"Known distributions: {', '.join(FAMILIES)}",
        )
    parts = [p.strip() for p in args_text.split(",")] if args_text.strip() else []
    if len(parts) != len(family.params):
        raise NotationError(
            f"{name} takes {len(family.params)} argument(s) ({', '.join(family.params)}), "
            f"found {len(parts)}",
            f"write {name}({', '.join(family.params)})",
        )
    values: list[float] = []
    for label, part in zip(family.params, parts, strict=True):
        if not re.fullmatch(NUMBER, part):
            raise NotationError(
                f"{name} argument {label} must be a number, found '{part}'",
                "use plain or scientific numbers, e.g. 0.5 or 1e-3",
            )
        values.append(_number(part))
    for label, value in zip(family.params, values, strict=True):
        if label in family.positive_params and not value > 0:
            raise NotationError(
                f"{name} argument {label} must be > 0, found {_fmt(value)}",
                f"{label} is a scale or shape: use a positive number, e.g. 1",
            )
        if not math.isfinite(value):
            raise NotationError(
                f"{name} argument {label} must be finite, found {_fmt(value)}",
                "use a plain number (1e308 is the largest; moderate values are usual)",
            )
    if name == "uniform" and not values[0] < values[1]:
        raise NotationError("uniform(lower, upper) needs lower < upper")
    distribution = Distribution(name, tuple(values))
    _check_not_degenerate(distribution)
    return distribution


# A prior whose sd (or scale) is below MIN_SPREAD pins its parameter to one value: the
# sampler cannot move it (and below ~1e-154 the density overflows).  Far from zero the
# floor is relative: RESOLUTION x |mean| is a few thousand steps of double precision.
MIN_SPREAD = 1e-8
RESOLUTION = 1e-12
# Shape arguments below MIN_SHAPE pile the density up against a boundary (gamma, beta)
# or make it improper in all but name (degrees of freedom).
MIN_SHAPE = 1e-8
SHAPES = {
    "student_t": ("nu",),
    "half_student_t": ("nu",),
    "gamma": ("alpha",),
    "beta": ("alpha", "beta"),
}
HEAVY_TAILED = ("student_t", "cauchy", "half_student_t", "half_cauchy")


def centre_and_spread(dist: Distribution) -> tuple[float, float]:
    """The mean and sd of a distribution, or its location and scale for heavy tails.

    Overflow gives ``inf`` rather than an exception, so callers can test finiteness.
    """
    a = dist.args
    family = dist.family
    if family in ("normal", "cauchy"):
        return a[0], a[1]
    if family == "student_t":
        return a[1], a[2]
    if family in ("half_student_t", "half_cauchy"):
        return 0.0, a[-1]
    if family == "half_normal":
        return a[0] * math.sqrt(2 / math.pi), a[0] * math.sqrt(1 - 2 / math.pi)
    if family == "lognormal":
        mu, sigma = a
        log_mean = mu + sigma * sigma / 2
        if log_mean > 700 or sigma * sigma > 700:  # exp would overflow
            return (INF if log_mean > 700 else math.exp(log_mean)), INF
        mean = math.exp(log_mean)
        return mean, mean * math.sqrt(math.expm1(sigma * sigma))
    if family == "gamma":
        return a[0] / a[1], math.sqrt(a[0]) / a[1]
    if family == "beta":
        total = a[0] + a[1]
        # products rather than powers: float ** raises on overflow, * gives inf
        return a[0] / total, math.sqrt((a[0] / total) * (a[1] / total) / (total + 1))
    if family == "exponential":
        return 1 / a[0], 1 / a[0]
    if family == "uniform":
        return a[0] / 2 + a[1] / 2, (a[1] - a[0]) / math.sqrt(12)
    raise KeyError(family)


def _check_not_degenerate(dist: Distribution) -> None:
    """Refuses arguments whose density, mean or spread is not a usable number."""
    for label, value in zip(dist.spec.params, dist.args, strict=True):
        if label in SHAPES.get(dist.family, ()) and value < MIN_SHAPE:
            why = (
                "makes its tails so heavy that it is improper in all but name"
                if label == "nu"
                else "piles the density up at a boundary"
            )
            raise NotationError(
                f"{dist} is degenerate: argument {label} = {_fmt(value)} is below {MIN_SHAPE:g} "
                f"and {why}",
                f"make {label} at least {MIN_SHAPE:g} (1 or more is usual)",
            )
    centre, spread = centre_and_spread(dist)
    where, width = ("location", "scale") if dist.family in HEAVY_TAILED else ("mean", "sd")
    if not math.isfinite(centre):
        raise NotationError(
            f"{dist} is degenerate: its {where} is not a finite number",
            "use arguments of moderate size, e.g. gamma(2, 1) or normal(0, 3)",
        )
    if not math.isfinite(spread):
        raise NotationError(
            f"{dist} is degenerate: its {width} is not a finite number",
            "use a prior with a finite spread, e.g. normal(0, 10)",
        )
    floor = max(MIN_SPREAD, RESOLUTION * abs(centre))
    if spread < floor:
        raise NotationError(
            f"{dist} is degenerate: its {width} ({spread:.3g}) is below {floor:.3g}, so it "
            "pins the value and the sampler cannot move it",
            f"widen the prior ({width} at least {floor:.3g}); to leave a term out of the "
            "model, remove the term instead",
        )


_PRIOR = re.compile(rf"^\s*({NAME})\s*~\s*(.+?)\s*$")


def parse_prior(text: str) -> Prior:
    """Reads ``name ~ family(args)``; ``name`` may be ``channel.parameter``."""
    match = _PRIOR.match(text)
    if not match:
        raise NotationError(
            f"'{text.strip()}' is not a prior statement",
            "write it as term ~ distribution, e.g. m_tv ~ normal(0, 10)",
        )
    return Prior(match.group(1), parse_distribution(match.group(2)))


_SINGLE = re.compile(rf"^\s*({NAME})\s*(>=|<=|>|<)\s*({NUMBER})\s*$")
_SINGLE_REV = re.compile(rf"^\s*({NUMBER})\s*(>=|<=|>|<)\s*({NAME})\s*$")
_DOUBLE = re.compile(rf"^\s*({NUMBER})\s*(<=|<)\s*({NAME})\s*(<=|<)\s*({NUMBER})\s*$")


def parse_boundary(text: str) -> Bound:
    """Reads ``name > a``, ``name < b``, ``a < name``, or ``a < name < b``.

    ``>=`` and ``<=`` are accepted and mean the same as ``>`` and ``<``
    (a bound has no mass of its own).
    """
    if match := _DOUBLE.match(text):
        lower, name, upper = _number(match.group(1)), match.group(3), _number(match.group(5))
        if not lower < upper:
            raise NotationError(
                f"empty boundary '{text.strip()}': lower {_fmt(lower)} is not below "
                f"upper {_fmt(upper)}"
            )
        return Bound(name, lower, upper)
    if match := _SINGLE.match(text):
        name, op, value = match.group(1), match.group(2), _number(match.group(3))
        return Bound(name, lower=value) if op.startswith(">") else Bound(name, upper=value)
    if match := _SINGLE_REV.match(text):
        value, op, name = _number(match.group(1)), match.group(2), match.group(3)
        return Bound(name, lower=value) if op.startswith("<") else Bound(name, upper=value)
    raise NotationError(
        f"'{text.strip()}' is not a boundary",
        "write it as m_tv > 0, price < 0, or 0 < m_search < 5",
    )
