"""The lm()-style formula parser, on edge cases."""

from __future__ import annotations

import pytest

from mmm_runner.config.formula import FormulaError, RandomPart, parse_formula


def test_terms_and_reserved_words() -> None:
    f = parse_formula("kpi ~ m_tv + m_search + price + trend + season")
    assert f.response == "kpi"
    assert not f.log_response
    assert f.terms == ("m_tv", "m_search", "price", "trend", "season")
    assert f.columns == ("m_tv", "m_search", "price")
    assert f.intercept
    assert f.parts == ()


def test_log_response_and_group_part() -> None:
    f = parse_formula("log( sales )~tv+search+(search + social | market)")
    assert f.response == "sales"
    assert f.log_response
    assert f.varying == ("search", "social")
    assert f.parts == (RandomPart(("search", "social"), True, "market"),)


def test_crossed_parts_each_with_their_own_group() -> None:
    f = parse_formula("sales ~ tv + search + (tv | geo) + (0 + tv + search | product)")
    assert f.parts == (
        RandomPart(("tv",), True, "geo"),
        RandomPart(("tv", "search"), False, "product"),
    )
    assert f.varying == ("tv", "search")
    assert f.part("product") == f.parts[1]
    assert f.part("market") is None


@pytest.mark.parametrize(
    ("text", "intercept", "varying_intercept"),
    [
        ("y ~ 0 + a", False, False),
        ("y ~ a - 1", False, False),
        ("y ~ 1 + a", True, False),
        ("y ~ a + (0 + b | g)", True, False),
        ("y ~ a + (1 | g)", True, True),
        ("y ~ a + (b - 1 | g)", True, False),
    ],
)
def test_intercepts(text: str, intercept: bool, varying_intercept: bool) -> None:
    f = parse_formula(text)
    assert f.intercept is intercept
    assert any(p.intercept for p in f.parts) is varying_intercept


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("kpi m_tv", "exactly one '~'", 0),
        ("kpi ~ tv ~ x", "exactly one '~'", 4),
        ("kpi ~ tv +", "expected a term name but found 'the end'", 10),
        ("kpi ~ tv tv", "expected '+' between terms", 9),
        ("kpi ~ tv + tv", "term 'tv' appears twice", 13),
        ("kpi ~ (tv | )", "expected a term name", 12),
        ("kpi ~ (tv  market)", "expected '+' or '|' in the group part", 11),
        ("kpi ~ kpi", "cannot also be a term", 5),
        ("kpi ~ tv + (trend | g)", "'trend' cannot vary by group", 12),
        ("lg(kpi) ~ x", "must be a KPI column or log(column)", 0),
        ("kpi ~ a + (b | g) + (c | g)", "two (terms | g) parts", 20),
        ("kpi ~ a - b", "removing 'b' with '-' is not supported", 11),
    ],
)
def test_mistakes_point_at_the_place(text: str, message: str, column: int) -> None:
    with pytest.raises(FormulaError) as caught:
        parse_formula(text)
    assert message in caught.value.message
    assert caught.value.column == column
