"""Sweeps: one base config and a grid of changes, expanded into one config per run.

A sweep file (`mmm batch --sweep SWEEP.yaml`, docs/batch.md)::

    name: media_forms              # optional; default: the sweep file's name
    base: single_market_map.yaml   # the config every run starts from (relative to this file)
    overrides:                     # optional: changes every run gets
      fit.map_starts: 4
    grid:                          # one run per combination of these values
      model.media[tv].adstock.type: [geometric, weibull]
      model.media[tv].saturation.type: [hill, logistic]

Paths are written as `mmm validate` prints YAML paths: keys joined by dots, list items
by position (``model.media[0]``) or, in lists of named entries, by name
(``model.media[tv]``). A path may name a key the base leaves out (the run gets it);
a list item must exist. Expansion checks the sweep's shape; each expanded config is
then checked like any config (``validation.validate``), and ``locate`` points its
problems back at the sweep line that caused them.
"""

from __future__ import annotations

import copy
import difflib
import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import Field, ValidationError

from mmm_runner.config.loader import Loc, format_loc, read_document
from mmm_runner.config.models import Section
from mmm_runner.config.paths import PathError, apply
from mmm_runner.errors import ConfigError, Problem
from mmm_runner.hashing import parts_sha256

MAX_RUNS: Final = 1000  # a grid past this is a typo more often than a plan


class SweepFile(Section):
    """A sweep: a base config and the changes that make each run."""

    name: str | None = Field(
        None, min_length=1, max_length=60, description="Batch name (default: the file's name)."
    )
    description: str = Field("", description="Free text kept with the batch.")
    base: str = Field(description="The config every run starts from, relative to this file.")
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="YAML path -> value, applied to every run."
    )
    grid: dict[str, list[Any]] = Field(
        description="YAML path -> list of values; one run per combination."
    )


@dataclass(frozen=True)
class Change:
    """One value a sweep sets in a run's config, and where the sweep says so."""

    path: str  # as written in the sweep: model.media[tv].adstock.type
    loc: Loc  # where it landed in the config: ('model', 'media', 0, 'adstock', 'type')
    value: Any
    where: str  # in the sweep file: grid.<path> or overrides.<path>
    line: int | None


@dataclass(frozen=True)
class SweepRun:
    """One expanded config: its name, the document and the changes that made it."""

    name: str
    document: dict[str, Any]
    changes: tuple[Change, ...]

    @property
    def grid_values(self) -> dict[str, Any]:
        """The grid's values of this run, by sweep path (what tells runs apart)."""
        return {c.path: c.value for c in self.changes if c.where.startswith("grid.")}

    def text(self) -> str:
        """The config as YAML (what the run's worker reads and its manifest hashes)."""
        return yaml.safe_dump(self.document, sort_keys=False, allow_unicode=True)


@dataclass(frozen=True)
class Sweep:
    path: Path
    name: str
    description: str
    base: Path
    runs: tuple[SweepRun, ...]
    grid: dict[str, list[Any]] = field(default_factory=dict)


def load_sweep(path: Path) -> Sweep:
    """Reads a sweep file and expands its grid; raises ConfigError naming the sweep's lines.

    The base config must be a readable YAML mapping; whether each expanded config
    is valid is for the caller to check (and ``locate`` to point back here).
    """
    path = Path(path)
    raw, lines = read_document(path)
    spec = _spec(raw, lines, path)
    base = Path(os.path.abspath(path.parent / spec.base))
    base_raw = _base_document(base, path, lines)
    name = spec.name or path.stem
    problems = _shape_problems(spec, path, lines)
    runs: list[SweepRun] = []
    if not problems:
        runs, problems = _expand(spec, base_raw, base, name, path, lines)
    if problems:
        raise ConfigError(
            f"{path}: {len(problems)} problem(s) in the sweep",
            problems,
            hint="Fix the sweep lines above; paths are YAML paths as `mmm validate` prints them.",
        )
    return Sweep(path.resolve(), name, spec.description, base, tuple(runs), dict(spec.grid))


def locate(problems: list[Problem], run: SweepRun, sweep: Sweep) -> list[Problem]:
    """An expanded config's problems, each pointed at the sweep line that caused it.

    A problem at or inside a changed path, or at a section that holds one (a rule
    across its fields), belongs to that change; any other is the combination's.
    """
    located = []
    for problem in problems:
        change = next((c for c in run.changes if _related(problem.location, c.loc)), None)
        if change is not None:
            where = f"{sweep.path.name}: {change.where}"
            inner = "" if problem.location == format_loc(change.loc) else f" at {problem.location}"
            message = f"value {_show(change.value)}{inner}: {problem.message}"
            located.append(
                Problem(where, message, problem.fix, None, problem.severity, change.line)
            )
        else:
            values = ", ".join(f"{k}={_show(v)}" for k, v in run.grid_values.items())
            where = f"{sweep.path.name}: run {run.name} ({values}) {problem.location}"
            located.append(
                Problem(where, problem.message, problem.fix, problem.value, problem.severity)
            )
    return located


# --- reading ----------------------------------------------------------------------------------


def _spec(raw: dict[str, Any], lines: dict[Loc, int], path: Path) -> SweepFile:
    try:
        return SweepFile.model_validate(raw)
    except ValidationError as exc:
        problems = [_schema_problem(e, lines, path) for e in exc.errors(include_url=False)]
        raise ConfigError(f"{path}: {len(problems)} problem(s) in the sweep", problems) from None


def _schema_problem(err: Any, lines: dict[Loc, int], path: Path) -> Problem:
    loc: Loc = tuple(err["loc"])
    where = f"{path.name}: {format_loc(loc)}"
    line = _line(lines, loc)
    kind, message, fix = err["type"], str(err["msg"]), ""
    if kind == "extra_forbidden":
        allowed = list(SweepFile.model_fields)
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        message = f"unknown key '{loc[-1]}'"
        fix = f"did you mean '{close[0]}'?" if close else f"allowed keys: {', '.join(allowed)}"
    elif kind == "missing":
        message, fix = "this key is required", f"add `{loc[-1]}:`"
        if loc == ("grid",):
            fix = "add `grid:` with at least one YAML path and a list of values"
    elif kind == "list_type":
        message = "give a list of values"
        fix = "write the values as a list, e.g. [geometric, weibull]"
    return Problem(where, message, fix, line=line)


def _base_document(base: Path, sweep: Path, lines: dict[Loc, int]) -> dict[str, Any]:
    try:
        raw, _ = read_document(base)
    except ConfigError as exc:
        problems = [
            Problem(f"{sweep.name}: base", f"{exc.message}", line=lines.get(("base",))),
            *exc.problems,
        ]
        raise ConfigError(f"{sweep}: the base config cannot be read", problems) from None
    return raw


def _shape_problems(spec: SweepFile, path: Path, lines: dict[Loc, int]) -> list[Problem]:
    """An empty grid or list, a path in both sections, a run count past MAX_RUNS."""
    problems = []
    if not spec.grid:
        problems.append(
            Problem(
                f"{path.name}: grid",
                "the grid is empty: a sweep needs at least one path with values",
                "add e.g. `model.media[tv].adstock.type: [geometric, weibull]` under grid:",
                line=lines.get(("grid",)),
            )
        )
    for key, values in spec.grid.items():
        if not values:
            problems.append(
                Problem(
                    f"{path.name}: grid.{key}",
                    "no values: every grid path needs at least one",
                    "list the values to try, or move a single value to overrides:",
                    line=lines.get(("grid", key)),
                )
            )
    for key in spec.overrides.keys() & spec.grid.keys():
        problems.append(
            Problem(
                f"{path.name}: grid.{key}",
                "this path is in overrides too",
                "keep it in one section",
                line=lines.get(("grid", key)),
            )
        )
    count = 1
    for values in spec.grid.values():
        count *= max(1, len(values))
    if count > MAX_RUNS:
        problems.append(
            Problem(
                f"{path.name}: grid",
                f"the grid makes {count:,} runs, over the limit of {MAX_RUNS:,}",
                "sweep fewer values at once",
                line=lines.get(("grid",)),
            )
        )
    return problems


# --- expanding --------------------------------------------------------------------------------


def _expand(
    spec: SweepFile,
    base_raw: dict[str, Any],
    base: Path,
    name: str,
    path: Path,
    lines: dict[Loc, int],
) -> tuple[list[SweepRun], list[Problem]]:
    """Every combination of the grid, applied after the overrides to a copy of the base."""
    fixed = [
        (f"overrides.{k}", k, v, lines.get(("overrides", k))) for k, v in spec.overrides.items()
    ]
    axes = [
        [(f"grid.{k}", k, v, lines.get(("grid", k, i))) for i, v in enumerate(values)]
        for k, values in spec.grid.items()
    ]
    runs: list[SweepRun] = []
    problems: list[Problem] = []
    names: set[str] = set()
    for combination in itertools.product(*axes):
        document = copy.deepcopy(base_raw)
        changes = []
        for where, key, value, line in (*fixed, *combination):
            try:
                loc = apply(document, key, value)
            except PathError as exc:
                problems.append(Problem(f"{path.name}: {where}", exc.message, exc.fix, line=line))
                continue
            changes.append(Change(key, loc, value, where, line))
        problems.extend(_overlaps(changes, path))
        if problems:
            break  # a bad path fails every combination alike: report it once
        _absolute_data_path(document, base)
        run_name = _run_name(name, [value for _, _, value, _ in combination], names)
        document["name"] = run_name
        document["description"] = _describe(document.get("description"), name, changes)
        runs.append(SweepRun(run_name, document, tuple(changes)))
    return runs, problems


def _overlaps(changes: list[Change], path: Path) -> list[Problem]:
    """Two changes at one place, or one inside the other: the result would hang on order."""
    problems = []
    for first, second in itertools.combinations(changes, 2):
        shorter, longer = sorted((first.loc, second.loc), key=len)
        if longer[: len(shorter)] == shorter:
            problems.append(
                Problem(
                    f"{path.name}: {second.where}",
                    f"{second.path} and {first.path} change the same place "
                    f"({format_loc(shorter)})",
                    "keep one of them",
                    line=second.line,
                )
            )
    return problems


def _absolute_data_path(document: dict[str, Any], base: Path) -> None:
    """The expanded config lives elsewhere: its data path must not depend on where."""
    data = document.get("data")
    if isinstance(data, dict) and isinstance(data.get("path"), str):
        data["path"] = os.path.abspath(base.parent / data["path"])


def _run_name(sweep: str, values: list[Any], taken: set[str]) -> str:
    """``<sweep>_<value>_<value>``, unique, at most 80 characters (the config's limit)."""
    label = "_".join(_label(v) for v in values)
    name = f"{sweep}_{label}"[:80] if label else sweep[:80]
    unique, number = name, 2
    while unique in taken:
        suffix = f"_{number}"
        unique, number = name[: 80 - len(suffix)] + suffix, number + 1
    taken.add(unique)
    return unique


def _label(value: Any) -> str:
    if isinstance(value, (str, int, float, bool)) and len(str(value)) <= 20:
        return str(value)
    # A list or a long text: a short digest, the same in every process (names are resumed by)
    return "v" + parts_sha256([yaml.safe_dump(value, sort_keys=True)])[:6]


def _describe(description: Any, sweep: str, changes: list[Change]) -> str:
    settings = "; ".join(f"{c.path}={_show(c.value)}" for c in changes)
    head = f"{description} " if isinstance(description, str) and description else ""
    return f"{head}[sweep {sweep}: {settings}]"


def _related(location: str, loc: Loc) -> bool:
    """Whether a problem's YAML path is at, inside or around a changed path."""
    changed = format_loc(loc)
    return _within(location, changed) or (_within(changed, location) and location != "")


def _within(inner: str, outer: str) -> bool:
    return inner == outer or (inner.startswith(outer) and inner[len(outer)] in ".[")


def _line(lines: dict[Loc, int], loc: Loc) -> int | None:
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return None


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
