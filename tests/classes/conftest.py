"""Helpers of the class tests: a validated config laid out for the model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mmm_runner.data.design import build_design
from mmm_runner.model import stan_data
from mmm_runner.validation import Validation, validate


def errors(result: Validation) -> str:
    """Every error of a validation, rendered as the CLI shows them."""
    return "\n".join(p.render() for p in result.errors)


def assert_refused(path: Path, where: str, message: str) -> None:
    """The config at ``path`` fails validation with ``message`` located at ``where``."""
    result = validate(path)
    assert not result.ok
    text = errors(result)
    assert where in text, text
    assert message in text, text


def setup(path: Path) -> tuple[Validation, Any, Any]:
    """A config that must validate: its validation, design and layout."""
    result = validate(path)
    assert result.ok, errors(result)
    assert result.spec is not None
    assert result.loaded is not None
    assert result.frame is not None
    design = build_design(result.frame, result.loaded.config, result.spec)
    return result, design, stan_data.layout(design, result.spec)
