"""`mmm validate` end to end: summaries, warnings, JSON, exit codes, no compiling."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmm_runner.cli.main import app
from mmm_runner.validation import validate

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"
BROKEN = Path(__file__).parent / "broken"


def test_valid_config_prints_a_summary() -> None:
    result = CliRunner().invoke(app, ["validate", "--config", str(CONFIG / "single_market.yaml")])
    assert result.exit_code == 0, result.output
    assert "is valid" in result.stdout
    assert "156 rows, 2022-01-03 to 2024-12-23" in result.stdout
    assert "parameters: 32" in result.stdout


def test_panel_summary_names_the_groups() -> None:
    result = validate(CONFIG / "panel_hierarchical.yaml")
    assert result.ok, [p.render() for p in result.errors]
    assert result.summary["groups"] == ["central", "coast", "east", "north", "south", "west"]
    assert result.summary["rows"] == 624


def test_json_output_is_machine_readable() -> None:
    result = CliRunner().invoke(
        app, ["validate", "--config", str(BROKEN / "prior_mistakes.yaml"), "--json"]
    )
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["valid"] is False
    first = data["errors"][0]
    assert set(first) == {"location", "line", "message", "value", "fix"}
    assert any(e["location"] == "priors[1]" and e["line"] == 14 for e in data["errors"])


def test_errors_exit_2_with_locations_and_no_traceback() -> None:
    result = CliRunner().invoke(app, ["validate", "--config", str(BROKEN / "unknown_key.yaml")])
    assert result.exit_code == 2
    assert "model.media[0].adstok (line 9)" in result.stderr
    assert "did you mean 'adstock'?" in result.stderr
    assert "Traceback" not in result.output


def test_missing_config_file_exits_2() -> None:
    result = CliRunner().invoke(app, ["validate", "--config", "no/such/file.yaml"])
    assert result.exit_code == 2
    assert "config file not found" in result.stderr


def test_warnings_do_not_fail(tmp_path: Path) -> None:
    import pandas as pd

    data = tmp_path / "d.csv"
    days = pd.date_range("2023-01-01", periods=60, freq="D")
    rows = ["date,kpi,tv,radio,radio_copy"]
    for i, day in enumerate(days):
        tv = 100.0 if i % 10 == 0 else 0.0  # zero in 90% of days
        radio = 50.0 + (i % 7)
        rows.append(f"{day.date()},{1000 + i},{tv},{radio},{radio * 2}")
    data.write_text("\n".join(rows) + "\n")
    config = tmp_path / "c.yaml"
    config.write_text(
        f"name: w\ndata: {{path: {data.name}, frequency: daily}}\n"
        "model: {kpi: kpi, media: [tv, radio, radio_copy], seasonality: []}\n"
    )
    result = validate(config)
    messages = [p.message for p in result.warnings]
    assert result.ok, [p.render() for p in result.errors]
    assert any("zero in 90% of periods" in m for m in messages)
    assert any("strongly collinear" in m for m in messages)


def test_validate_never_imports_cmdstanpy_or_compiles() -> None:
    code = (
        "import sys; from pathlib import Path; from mmm_runner.validation import validate;"
        f"r = validate(Path({str(CONFIG / 'single_market.yaml')!r})); assert r.ok;"
        "from mmm_runner.cli.main import app;"
        "bad = [m for m in sys.modules if m.startswith(('cmdstanpy', 'arviz', 'httpstan'))];"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("path", sorted(CONFIG.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_configs_validate_clean(path: Path) -> None:
    result = validate(path)
    assert result.ok, [p.render() for p in result.errors]
