"""lm()-style model formulas.

``revenue ~ tv + search + price + trend + season`` lists the terms;
``log(revenue) ~ ...`` models the log of the KPI; ``factor(events)`` enters a
text (or integer-coded) column as a categorical term, one dummy per level
beside the reference; ``(tv + search | market)`` lets terms vary by group,
with a group intercept unless ``0 +`` or ``- 1`` says otherwise (as in lme4).
Several such parts with different grouping columns pool across each of them,
crossed: ``(tv | geo) + (tv | product)``.
``trend``, ``season`` and ``calendar`` are the built-in trend, Fourier
seasonality and holiday/event components, configured under ``model.trend``,
``model.seasonality`` and ``model.calendar``; every other name is a data column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

TREND = "trend"
SEASON = "season"
CALENDAR = "calendar"  # the holidays and custom events of model.calendar
RESERVED = (TREND, SEASON, CALENDAR)

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


class FormulaError(ValueError):
    """A formula that cannot be read: ``column`` points into the text."""

    def __init__(self, message: str, column: int, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.column = column
        self.fix = fix


@dataclass(frozen=True)
class RandomPart:
    """One ``(terms | group)`` part: terms whose effects vary by a grouping column."""

    terms: tuple[str, ...]
    intercept: bool
    group: str


@dataclass(frozen=True)
class Formula:
    """A parsed formula."""

    response: str
    log_response: bool
    terms: tuple[str, ...]  # population-level terms, in order (columns or reserved words)
    intercept: bool
    parts: tuple[RandomPart, ...] = ()  # the (terms | group) parts, in order
    factors: tuple[str, ...] = ()  # terms written factor(column): categorical
    outcomes: tuple[str, ...] = ()  # `a + b ~ ...`: several KPI columns (response is "")

    @property
    def varying(self) -> tuple[str, ...]:
        """Terms that vary by some group."""
        return tuple(dict.fromkeys(t for part in self.parts for t in part.terms))

    def part(self, group: str | None) -> RandomPart | None:
        """The part that varies by ``group``, if any."""
        return next((p for p in self.parts if p.group == group), None)

    @property
    def columns(self) -> tuple[str, ...]:
        """Data columns the right-hand side names (without reserved words)."""
        names = [t for t in (*self.terms, *self.varying) if t not in RESERVED]
        return tuple(dict.fromkeys(names))


def parse_formula(text: str) -> Formula:
    """Reads a formula; raises FormulaError pointing at the offending place."""
    if text.count("~") != 1:
        raise FormulaError(
            "a formula needs exactly one '~' between the KPI and the terms",
            max(text.find("~"), 0),
            "write it as kpi ~ term + term, e.g. revenue ~ tv + search + trend + season",
        )
    lhs, rhs = text.split("~")
    outcomes = _parse_outcomes(lhs)
    response, log_response = ("", False) if outcomes else _parse_response(lhs)
    parser = _Terms(rhs, offset=len(lhs) + 1)
    parsed = parser.parse(response, log_response)
    for name in outcomes:
        if name in parsed.terms or name in parsed.varying:
            raise FormulaError(f"the outcome '{name}' cannot also be a term", len(lhs) + 1)
    return replace(parsed, outcomes=outcomes)


def _parse_outcomes(lhs: str) -> tuple[str, ...]:
    """The outcomes of a left side `a + b` (several KPI columns), or () for one KPI."""
    if "+" not in lhs:
        return ()
    names = [part.strip() for part in lhs.split("+")]
    for name in names:
        if not _NAME.fullmatch(name):
            raise FormulaError(
                f"the left of '~' must be KPI columns joined by '+', found '{lhs.strip()}'",
                0,
                "write e.g. sales_a + sales_b ~ tv + search (log outcomes are not supported)",
            )
    if len(set(names)) < len(names):
        raise FormulaError("an outcome is named twice on the left of '~'", 0, "name each once")
    return tuple(names)


def _parse_response(lhs: str) -> tuple[str, bool]:
    stripped = lhs.strip()
    log_match = re.fullmatch(r"log\s*\(\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\)", stripped)
    if log_match:
        return log_match.group(1), True
    if _NAME.fullmatch(stripped):
        return stripped, False
    raise FormulaError(
        f"the left of '~' must be a KPI column or log(column), found '{stripped}'",
        0,
        "write e.g. revenue ~ ... or log(revenue) ~ ...",
    )


class _Terms:
    """A small recursive-descent reader of the right-hand side."""

    def __init__(self, text: str, offset: int) -> None:
        self.text = text
        self.offset = offset
        self.pos = 0

    def error(self, message: str, fix: str = "") -> FormulaError:
        return FormulaError(message, self.offset + self.pos, fix)

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        self.skip()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def take(self, char: str) -> None:
        if self.peek() != char:
            found = self.peek() or "the end"
            raise self.error(f"expected '{char}' but found {found!r}")
        self.pos += 1

    def term(self, factors: list[str]) -> str:
        """A name, a constant, or factor(name) (recorded in ``factors``)."""
        self.skip()
        start = self.pos
        name = self.name_or_constant()
        if name != "factor" or self.peek() != "(":
            return name
        self.take("(")
        column = self.name_or_constant()
        if column in ("0", "1") or column in RESERVED:
            self.pos = start
            raise self.error(
                f"factor() takes a data column, not '{column}'", "write e.g. factor(events)"
            )
        self.take(")")
        factors.append(column)
        return column

    def name_or_constant(self) -> str:
        self.skip()
        if self.text.startswith(("0", "1"), self.pos):
            constant = self.text[self.pos]
            self.pos += 1
            return constant
        match = _NAME.match(self.text, self.pos)
        if not match:
            found = self.text[self.pos : self.pos + 10] or "the end"
            raise self.error(
                f"expected a term name but found {found!r}",
                "terms are column names joined by '+', e.g. tv + search",
            )
        self.pos = match.end()
        return match.group(0)

    def parse(self, response: str, log_response: bool) -> Formula:
        terms: list[str] = []
        intercept = True
        parts: list[RandomPart] = []
        factors: list[str] = []
        sign = "+"
        while True:
            if self.peek() == "(":
                if sign == "-":
                    raise self.error("a (terms | group) part cannot be removed with '-'")
                start = self.pos
                part = self.random_part()
                if any(p.group == part.group for p in parts):
                    self.pos = start
                    raise self.error(
                        f"two (terms | {part.group}) parts",
                        f"list every term that varies by {part.group} in one part",
                    )
                parts.append(part)
            else:
                name = self.term(factors)
                if name in ("0", "1"):
                    intercept = (name == "1") if sign == "+" else False
                elif sign == "-":
                    raise self.error(f"removing '{name}' with '-' is not supported; leave it out")
                elif name in terms:
                    raise self.error(f"term '{name}' appears twice")
                else:
                    terms.append(name)
            nxt = self.peek()
            if nxt == "":
                break
            if nxt not in "+-":
                raise self.error(f"expected '+' between terms but found {nxt!r}")
            sign = nxt
            self.pos += 1
        varying = {t for part in parts for t in part.terms}
        if response in terms or response in varying:
            raise FormulaError(f"the KPI '{response}' cannot also be a term", self.offset)
        for name in sorted(varying):
            if name in factors:
                raise FormulaError(
                    f"the categorical term '{name}' cannot vary by group",
                    self.offset,
                    "keep factor() terms population-level",
                )
        return Formula(
            response,
            log_response,
            tuple(terms),
            intercept,
            tuple(parts),
            tuple(factors),
        )

    def random_part(self) -> RandomPart:
        self.take("(")
        names: list[str] = []
        with_intercept = True
        sign = "+"
        while True:
            self.skip()
            start = self.pos
            name = self.name_or_constant()
            if name in RESERVED and name != SEASON:
                self.pos = start
                raise self.error(
                    f"'{name}' cannot vary by group", "of the built-in terms only season can"
                )
            if name in ("0", "1"):
                with_intercept = (name == "1") if sign == "+" else False
            elif sign == "-":
                raise self.error(f"removing '{name}' with '-' is not supported")
            else:
                names.append(name)
            nxt = self.peek()
            if nxt == "|":
                self.pos += 1
                break
            if nxt not in ("+", "-"):
                raise self.error(
                    f"expected '+' or '|' in the group part but found {nxt or 'the end'!r}",
                    "write it as (tv + search | market)",
                )
            sign = nxt
            self.pos += 1
        group = self.name_or_constant()
        if group in ("0", "1"):
            raise self.error("the group after '|' must be a column name")
        self.take(")")
        return RandomPart(tuple(names), with_intercept, group)
