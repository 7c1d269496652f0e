"""The JSON Schema is fresh; `mmm init` writes a config that validates."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from typer.testing import CliRunner

from mmm_runner.cli.main import app
from mmm_runner.config import schema
from mmm_runner.starter import classify
from mmm_runner.validation import validate

ROOT = Path(__file__).resolve().parents[2]


def test_committed_schema_is_fresh() -> None:
    assert schema.SCHEMA_FILE.read_text() == schema.render(), (
        "schemas/run_config.schema.json is stale: run `python -m mmm_runner.config.schema`"
    )


def test_committed_reference_is_fresh() -> None:
    assert schema.REFERENCE_FILE.read_text() == schema.reference(), (
        "docs/config_reference.md is stale: run `python -m mmm_runner.config.schema`"
    )


def test_schema_describes_every_field() -> None:
    body = schema.schema()

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            for name, prop in node.get("properties", {}).items():
                assert "description" in prop, f"{path}.{name} has no description"
            for key, value in node.items():
                walk(value, f"{path}.{key}")

    walk(body, "schema")
    assert body["additionalProperties"] is False


def test_init_on_each_shipped_dataset_validates(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    for name in ("single_market", "panel", "pooled"):
        data = tmp_path / f"{name}.csv"
        shutil.copy(ROOT / "data" / f"{name}.csv", data)
        result = CliRunner().invoke(app, ["init", "--data", str(data)])
        assert result.exit_code == 0, result.output
        config = tmp_path / f"{name}.yaml"
        assert config.is_file()
        assert validate(config).ok
        text = config.read_text()
        assert text.startswith("# Starter config")
        assert yaml.safe_load(text)["data"]["path"] == f"{name}.csv"


def test_init_classifies_columns() -> None:
    import pandas as pd

    cols = classify(pd.read_csv(ROOT / "data" / "single_market.csv"))
    assert cols.date == "date"
    assert cols.frequency == "weekly"
    assert cols.kpi == "revenue"
    assert set(cols.media_names) == {"tv", "search", "social", "display", "radio", "ooh"}
    assert set(cols.controls) == {"price", "promo"}
    panel = classify(pd.read_csv(ROOT / "data" / "panel.csv"))
    assert panel.group == "market"
    assert panel.kpi == "sales"


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "c.yaml"
    target.write_text("name: keep\n")
    result = CliRunner().invoke(
        app, ["init", "--data", str(ROOT / "data" / "single_market.csv"), "-o", str(target)]
    )
    assert result.exit_code == 2
    assert "exists" in result.stderr
    assert target.read_text() == "name: keep\n"
