"""`mmm validate`: every structural, data and cross-field check, without compiling.

This module never imports cmdstanpy or touches the Stan toolchain (a test
asserts it), so validation is fast and works on machines without a compiler.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mmm_runner import classes
from mmm_runner.config.loader import LoadedConfig, load_config
from mmm_runner.config.resolve import Collector, ModelSpec, resolve
from mmm_runner.data import long
from mmm_runner.data.checks import check_data
from mmm_runner.data.load import read_table
from mmm_runner.errors import ConfigError, Problem


@dataclass
class Validation:
    """The outcome of validating a config file and its data."""

    config_path: Path
    loaded: LoadedConfig | None = None
    spec: ModelSpec | None = None
    frame: pd.DataFrame | None = None
    problems: list[Problem] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def data_path(self) -> Path:
        assert self.loaded is not None
        # Absolute but not resolved: resolving a symlink loop raises before the data
        # reader can report it as the data problem it is.
        return Path(os.path.abspath(self.loaded.folder / self.loaded.config.data.path))

    def raise_for_errors(self) -> None:
        """Raises ConfigError listing every error (used by `mmm run`)."""
        if self.errors:
            raise ConfigError(
                f"{self.config_path}: {len(self.errors)} problem(s) found",
                self.errors,
                hint="`mmm validate --config` lists the same problems; fix them and rerun.",
            )

    def as_dict(self) -> dict[str, Any]:
        """The outcome as plain data (for --json and the pre-run report)."""
        return {
            "config": str(self.config_path),
            "valid": self.ok,
            "errors": [_problem_dict(p) for p in self.errors],
            "warnings": [_problem_dict(p) for p in self.warnings],
            "summary": self.summary,
        }


def _problem_dict(problem: Problem) -> dict[str, Any]:
    return {
        "location": problem.location,
        "line": problem.line,
        "message": problem.message,
        "value": problem.value,
        "fix": problem.fix,
    }


def validate(config_path: Path) -> Validation:
    """Checks a config file and its data; problems are collected, not raised."""
    result = Validation(Path(config_path))
    try:
        result.loaded = load_config(result.config_path)
    except ConfigError as exc:
        result.problems = exc.problems or [Problem(str(config_path), exc.message, exc.hint)]
        return result
    config = result.loaded.config
    spec, problems = resolve(config, result.loaded)
    result.problems.extend(problems)
    if spec is None:
        return result
    result.spec = spec
    model_class = classes.get(spec.model_class)
    rules = Collector(result.loaded)
    model_class.config_rules(config, spec, rules)
    result.problems.extend(rules.problems)
    table: long.LongTable | None = None
    try:
        raw = read_table(result.data_path())
        if config.data.format == "long":  # a flat file: pivot the model's variables to wide
            table = long.pivot(raw, result.loaded, spec, result.data_path())
            raw = table.frame
    except ConfigError as exc:
        line = result.loaded.line(("data", "path"))
        result.problems.extend(
            Problem(
                p.location,
                p.message,
                p.fix,
                p.value,
                p.severity,
                line if p.location == "data.path" else p.line,
            )
            for p in exc.problems
        )
        return result
    checked = check_data(raw, result.loaded, spec, result.data_path())
    result.problems.extend(table.relocate(checked.problems) if table else checked.problems)
    if checked.profile:  # every data check ran: the frame is sorted and typed
        rules = Collector(result.loaded)
        model_class.data_rules(checked.frame, config, rules)
        result.problems.extend(rules.problems)
    result.frame = checked.frame
    result.summary = checked.profile
    return result
