"""The log-log specification's config: media default to log(1 + x), controls may enter
as logs, and the data checks refuse values a log cannot take."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from mmm_runner.data.design import build_design
from mmm_runner.validation import validate

ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, edit: Any = None, frame: pd.DataFrame | None = None) -> Path:
    config = yaml.safe_load((ROOT / "config" / "loglog.yaml").read_text())
    config["data"]["path"] = str(ROOT / "data" / "loglog.csv")
    if frame is not None:
        frame.to_csv(tmp_path / "data.csv", index=False)
        config["data"]["path"] = str(tmp_path / "data.csv")
    if edit:
        edit(config)
    path = tmp_path / "loglog.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _errors(path: Path) -> str:
    return "\n".join(p.render() for p in validate(path).errors)


def test_media_default_to_log1p_and_price_enters_as_its_log(tmp_path: Path) -> None:
    def tv_hill(config: dict[str, Any]) -> None:
        config["model"]["media"][0]["saturation"] = {"type": "hill"}

    result = validate(_config(tmp_path, tv_hill))
    assert result.ok
    assert result.spec is not None
    assert result.loaded is not None
    assert result.frame is not None
    saturations = {m.name: m.saturation for m in result.spec.media}
    assert saturations == {"tv": "hill", "search": "log1p", "social": "log1p"}
    assert result.spec.log_response
    design = build_design(result.frame, result.loaded.config, result.spec)
    price = next(j for j, c in enumerate(design.columns) if c.name == "price")
    np.testing.assert_allclose(design.x_raw[:, price], np.log(result.frame["price"]))


@pytest.mark.parametrize(
    ("edit", "where", "message"),
    [
        (
            lambda c: c["model"].update(formula="sales ~ tv + search + social + price"),
            "model.response",
            "left side is not log(...)",
        ),
        (
            lambda c: c["model"]["controls"][0].update(type="categorical", sign="any"),
            "model.controls[0]",
            "remove `transform`",
        ),
    ],
)
def test_config_mistakes_are_located(tmp_path: Path, edit: Any, where: str, message: str) -> None:
    text = _errors(_config(tmp_path, edit))
    assert where in text, text
    assert message in text, text


def test_a_log_control_must_be_positive(tmp_path: Path) -> None:
    frame = pd.read_csv(ROOT / "data" / "loglog.csv")
    frame.loc[[4, 9], "price"] = 0.0
    text = _errors(_config(tmp_path, frame=frame))
    assert "data.csv:price:row 5, 10" in text  # data rows, counted from 1
    assert "must be above 0" in text
