"""The compact prior and boundary notation, on edge cases."""

from __future__ import annotations

import math

import pytest

from mmm_runner.config.notation import (
    FAMILIES,
    NotationError,
    parse_boundary,
    parse_distribution,
    parse_prior,
)


@pytest.mark.parametrize(
    ("text", "target", "family", "args"),
    [
        ("m_tv ~ normal(0, 10)", "m_tv", "normal", (0.0, 10.0)),
        ("  price~normal( -0.2 ,1e-1 )  ", "price", "normal", (-0.2, 0.1)),
        ("x ~ student_t(3, 0, 2.5E0)", "x", "student_t", (3.0, 0.0, 2.5)),
        ("tv.decay ~ beta(2,2)", "tv.decay", "beta", (2.0, 2.0)),
        ("ooh.saturation.scale ~ gamma(3, 3)", "ooh.saturation.scale", "gamma", (3.0, 3.0)),
        ("sigma ~ half_cauchy(2.5)", "sigma", "half_cauchy", (2.5,)),
        ("sigma ~ HalfNormal(.5)", "sigma", "half_normal", (0.5,)),
        ("z ~ uniform(-1, 1)", "z", "uniform", (-1.0, 1.0)),
    ],
)
def test_priors_parse(text: str, target: str, family: str, args: tuple[float, ...]) -> None:
    prior = parse_prior(text)
    assert prior.target == target
    assert prior.distribution.family == family
    assert prior.distribution.args == pytest.approx(args)


@pytest.mark.parametrize(
    ("text", "message", "fix"),
    [
        ("tv ~ normall(0, 1)", "unknown distribution 'normall'", "did you mean normal?"),
        ("tv ~ foo(1)", "unknown distribution 'foo'", "Known distributions: normal"),
        ("tv ~ normal(0)", "normal takes 2 argument(s) (mu, sigma), found 1", "normal(mu, sigma)"),
        ("tv ~ normal(0, -1)", "normal argument sigma must be > 0", ""),
        ("tv ~ normal(a, 1)", "normal argument mu must be a number, found 'a'", "1e-3"),
        ("tv ~ normal(0, inf)", "must be finite", ""),
        ("tv ~ uniform(2, 1)", "lower < upper", ""),
        ("tv normal(0, 1)", "is not a prior statement", "term ~ distribution"),
        ("tv ~ normal 0 1", "is not a distribution", "family(arguments)"),
        ("2tv ~ normal(0, 1)", "is not a prior statement", ""),
    ],
)
def test_prior_mistakes_say_what_to_write(text: str, message: str, fix: str) -> None:
    with pytest.raises(NotationError) as caught:
        parse_prior(text)
    assert message in caught.value.message
    assert fix in caught.value.fix


@pytest.mark.parametrize(
    ("text", "target", "lower", "upper"),
    [
        ("m_tv > 0", "m_tv", 0.0, math.inf),
        ("m_tv >= 0", "m_tv", 0.0, math.inf),
        ("price < 0", "price", -math.inf, 0.0),
        ("0 < m_search < 5", "m_search", 0.0, 5.0),
        ("-1e-2<x<=2.5e1", "x", -0.01, 25.0),
        ("3 < y", "y", 3.0, math.inf),
        ("3 > y", "y", -math.inf, 3.0),
    ],
)
def test_boundaries_parse(text: str, target: str, lower: float, upper: float) -> None:
    bound = parse_boundary(text)
    assert (bound.target, bound.lower, bound.upper) == (target, lower, upper)


@pytest.mark.parametrize("text", ["tv >> 0", "tv = 0", "0 < tv", "5 < x < 1", "tv > zero"])
def test_bad_boundaries(text: str) -> None:
    if text == "0 < tv":
        assert parse_boundary(text).lower == 0.0  # the reversed form is fine
        return
    with pytest.raises(NotationError):
        parse_boundary(text)


def test_every_family_round_trips_and_has_a_mean() -> None:
    for family in FAMILIES.values():
        args = ", ".join(["2"] * len(family.params)).replace("2, 2", "1, 2", 1)
        dist = parse_distribution(f"{family.name}({args})")
        assert parse_distribution(str(dist)) == dist
        low, high = dist.support()
        assert low <= dist.mean() <= high
        assert len(dist.stan_args()) == 3
    codes = [f.code for f in FAMILIES.values()]
    assert len(set(codes)) == len(codes)
