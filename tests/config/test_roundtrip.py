"""A run's resolved config (every default written out) reads back as the same config."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmm_runner.config.models import RunConfig
from mmm_runner.validation import validate

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "config").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_the_written_out_config_validates_again(path: Path) -> None:
    loaded = validate(path).loaded
    assert loaded is not None
    document = loaded.config.model_dump(mode="json", by_alias=True)
    assert RunConfig.model_validate(document) == loaded.config
