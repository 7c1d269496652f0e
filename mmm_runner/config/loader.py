"""Reading a config file: the only place YAML is read.

Every mistake comes back at once as a Problem naming its YAML path
(``model.media[2].adstock.l_max``), its line, the bad value and a fix; an
unknown key gets a "did you mean" from the keys allowed there.
"""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from mmm_runner.config.models import RunConfig
from mmm_runner.errors import ConfigError, Problem

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class LoadedConfig:
    """A valid config with where it came from."""

    config: RunConfig
    path: Path
    raw: dict[str, Any]  # as given (for the run folder)
    lines: dict[Loc, int]  # YAML path -> line number

    @property
    def folder(self) -> Path:
        return self.path.parent

    def line(self, loc: Loc) -> int | None:
        """The line of a YAML path, or of its nearest ancestor."""
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return None


def format_loc(loc: Loc) -> str:
    """('model', 'media', 2, 'adstock') -> 'model.media[2].adstock'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def load_config(path: Path) -> LoadedConfig:
    """Reads and validates a config file; raises ConfigError listing every problem."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"config file not found: {path}",
            hint="Check the path, or create a starter config with `mmm init --data <csv>`.",
        )
    text = path.read_text(encoding="utf-8")
    raw, lines = _read_yaml(text, path)
    try:
        config = RunConfig.model_validate(raw)
    except ValidationError as exc:
        problems = [_problem(err, lines) for err in exc.errors(include_url=False)]
        raise ConfigError(
            f"{path}: {len(problems)} problem(s) in the config",
            problems,
            hint="Fix the lines above; `mmm validate --config` rechecks without running.",
        ) from None
    return LoadedConfig(config, path.resolve(), raw, lines)


def _read_yaml(text: str, path: Path) -> tuple[dict[str, Any], dict[Loc, int]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(exc, path) from None
    if raw is None:
        raise ConfigError(f"{path} is empty", hint="Start from `mmm init --data <csv>`.")
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path} must be a mapping of sections (name, data, model, ...), "
            f"found a {type(raw).__name__}",
        )
    lines: dict[Loc, int] = {}
    _index_lines(node, (), lines)
    return raw, lines


def _yaml_error(exc: yaml.MarkedYAMLError, path: Path) -> ConfigError:
    """A YAML syntax error as a located problem; the context line often is the culprit."""
    mark = exc.problem_mark
    line = mark.line + 1 if mark else 0
    return ConfigError(
        f"{path} is not valid YAML (line {line}): {exc.problem}",
        [
            Problem(
                f"{path.name}:{line}",
                str(exc.problem),
                f"check line {line} and the line before it for a missing ':' after a key, "
                "a tab, or bad indentation",
            )
        ],
        hint="YAML needs 'key: value' with a space after ':', spaces (no tabs) for "
        "indentation, and quotes around text containing ': ' or ' #'.",
    )


def _index_lines(node: yaml.Node | None, loc: Loc, lines: dict[Loc, int]) -> None:
    if node is None:
        return
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*loc, str(key.value))
            lines[child] = key.start_mark.line + 1
            _index_lines(value, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, (*loc, index), lines)


def _problem(err: Any, lines: dict[Loc, int]) -> Problem:
    loc: Loc = tuple(err["loc"])
    kind = err["type"]
    message = str(err["msg"]).removeprefix("Value error, ")
    given = err.get("input")
    scalar = not isinstance(given, (dict, list)) and kind not in ("missing", "extra_forbidden")
    value = _show(given) if scalar else None
    fix = ""
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
        message = f"unknown key '{loc[-1]}'"
        fix = (
            f"did you mean '{close[0]}'?" if close else f"allowed keys here: {', '.join(allowed)}"
        )
    elif kind == "missing":
        message = "this key is required"
        fix = f"add `{loc[-1]}:`"
    elif kind == "literal_error":
        expected = [
            s.strip(" '") for s in str(err["ctx"]["expected"]).replace(" or ", ",").split(",")
        ]
        close = difflib.get_close_matches(str(err.get("input")), expected, n=1)
        fix = f"did you mean '{close[0]}'?" if close else ""
    elif kind == "string_type" and given is None and "priors" in loc:
        message = "a prior here is not a distribution"
        fix = "quote distributions inside {...} mappings, e.g. {shape: 'gamma(3, 2)'}"
    line = None
    probe = loc
    while probe and line is None:
        line = lines.get(probe)
        probe = probe[:-1]
    return Problem(format_loc(loc), message, fix, value, line=line)


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed_keys(loc: Loc) -> list[str]:
    """The keys a config section accepts, found by walking the models along ``loc``."""
    model: type[BaseModel] | None = RunConfig
    pending_key = False
    for part in loc:
        if model is None:
            return []
        if isinstance(part, int) or pending_key:
            pending_key = False
            continue
        field = _field(model, str(part))
        if field is None:
            return []
        model, pending_key = _inner_model(field.annotation)
    if model is None:
        return []
    return sorted(f.alias or name for name, f in model.model_fields.items())


def _field(model: type[BaseModel], key: str) -> Any:
    for name, field in model.model_fields.items():
        if key in (name, field.alias):
            return field
    return None


def _inner_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model inside an annotation, and whether a dict key comes first in paths."""
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    if origin in (list, tuple):
        return _inner_model(typing.get_args(annotation)[0])[0], False
    if origin is dict:
        return _inner_model(typing.get_args(annotation)[1])[0], True
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found, keyed = _inner_model(arg)
            if found is not None:
                return found, keyed
    return None, False
