"""Sweeps expand to the right configs; bad ones stop before anything runs, located."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from mmm_runner.batch import plan
from mmm_runner.cli.main import app
from mmm_runner.config.sweep import load_sweep
from mmm_runner.errors import ConfigError, UsageError

from .helpers import ROOT, map_config


def _sweep(folder: Path, text: str) -> Path:
    map_config(folder, "base")
    path = folder / "sweep.yaml"
    path.write_text(text)
    return path


def _problems(sweep: Path) -> list[Any]:
    with pytest.raises(ConfigError) as caught:
        plan.plan_sweep(sweep)
    return caught.value.problems


GRID = """\
name: forms
base: base.yaml
overrides:
  fit.map_starts: 3
grid:
  model.media[tv].adstock.type: [geometric, weibull]
  model.media[1].saturation.type: [hill, logistic]
"""


def test_a_grid_expands_to_every_combination(tmp_path: Path) -> None:
    sweep = load_sweep(_sweep(tmp_path, GRID))
    assert [r.name for r in sweep.runs] == [
        "forms_geometric_hill",
        "forms_geometric_logistic",
        "forms_weibull_hill",
        "forms_weibull_logistic",
    ]
    last = sweep.runs[-1].document
    assert last["model"]["media"][0]["adstock"]["type"] == "weibull"  # tv, by name
    assert last["model"]["media"][1]["saturation"]["type"] == "logistic"  # search, by position
    assert last["fit"]["map_starts"] == 3  # the override, in every run
    assert last["data"]["path"] == str(ROOT / "data" / "single_market.csv")
    assert (
        "[sweep forms: fit.map_starts=3; model.media[tv].adstock.type='weibull'"
        in (last["description"])
    )
    assert sweep.runs[0].grid_values == {
        "model.media[tv].adstock.type": "geometric",
        "model.media[1].saturation.type": "hill",
    }
    assert load_sweep(tmp_path / "sweep.yaml").runs[0].text() == sweep.runs[0].text()


def test_every_expanded_config_is_validated_and_planned(tmp_path: Path) -> None:
    batch = plan.plan_sweep(_sweep(tmp_path, GRID))
    assert batch.name == "forms"
    assert len(batch.runs) == 4
    assert len({r.config_sha256 for r in batch.runs}) == 4
    assert len({r.data_sha256 for r in batch.runs}) == 1
    assert batch.runs[0].changes == {
        "model.media[tv].adstock.type": "geometric",
        "model.media[1].saturation.type": "hill",
    }


def test_a_path_into_a_shorthand_list_entry_and_a_missing_section(tmp_path: Path) -> None:
    path = tmp_path / "sweep.yaml"
    base = yaml.safe_load((ROOT / "config" / "single_market_map.yaml").read_text())
    base["model"]["media"] = ["tv", "search"]
    base.pop("loo")
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(base))
    path.write_text(
        "base: base.yaml\ngrid:\n  model.media[tv].adstock.l_max: [2, 4]\n  loo.enabled: [false]\n"
    )
    runs = load_sweep(path).runs
    assert runs[1].document["model"]["media"][0] == {"name": "tv", "adstock": {"l_max": 4}}
    assert runs[1].document["loo"] == {"enabled": False}


@pytest.mark.parametrize(
    ("text", "where", "line", "words"),
    [
        (
            "base: base.yaml\noverrides:\n  fit.map_start: 2\ngrid:\n  seed: [1, 2]\n",
            "sweep.yaml: overrides.fit.map_start",
            3,
            ["unknown key 'map_start'", "did you mean 'map_starts'?"],
        ),
        (
            "base: base.yaml\ngrid:\n  model.media[tv].adstock.type:\n    - geometric\n"
            "    - geometrik\n",
            "sweep.yaml: grid.model.media[tv].adstock.type",
            5,
            ["value 'geometrik'", "did you mean 'geometric'?"],
        ),
        (
            "base: base.yaml\ngrid:\n  fit.map_starts: [2, 0]\n",
            "sweep.yaml: grid.fit.map_starts",
            3,
            ["value 0", "greater than or equal to 1"],
        ),
        (
            "base: base.yaml\ngrid: {}\n",
            "sweep.yaml: grid",
            2,
            ["the grid is empty"],
        ),
        (
            "base: base.yaml\ngrid:\n  seed: []\n",
            "sweep.yaml: grid.seed",
            3,
            ["no values"],
        ),
        (
            "base: base.yaml\ngrid:\n  model.media[tvv].adstock.type: [hill]\n",
            "sweep.yaml: grid.model.media[tvv].adstock.type",
            3,
            ["has no item named 'tvv'", "did you mean [tv]?"],
        ),
        (
            "base: base.yaml\ngrid:\n  model..kpi: [sales]\n",
            "sweep.yaml: grid.model..kpi",
            3,
            ["is not a YAML path"],
        ),
        (
            "base: base.yaml\ngrids:\n  seed: [1]\n",
            "sweep.yaml: grids",
            2,
            ["unknown key 'grids'", "did you mean 'grid'?"],
        ),
        (
            "base: base.yaml\ngrid:\n  seed: 3\n",
            "sweep.yaml: grid.seed",
            3,
            ["give a list of values"],
        ),
    ],
)
def test_bad_sweeps_are_located_in_the_sweep_file(
    tmp_path: Path, text: str, where: str, line: int, words: list[str]
) -> None:
    problems = _problems(_sweep(tmp_path, text))
    found = [p for p in problems if p.location == where]
    assert found, [p.render() for p in problems]
    assert found[0].line == line
    rendered = found[0].render()
    for word in words:
        assert word in rendered


def test_a_combination_that_breaks_a_rule_across_fields_names_the_run(tmp_path: Path) -> None:
    # Weibull has no `decay` prior: a rule of the adstock section, broken by the grid value.
    text = (
        "base: base.yaml\ngrid:\n"
        "  model.media[tv].adstock: [{type: geometric, priors: {decay: 'beta(2, 2)'}},"
        " {type: weibull, priors: {decay: 'beta(2, 2)'}}]\n"
    )
    problems = _problems(_sweep(tmp_path, text))
    assert len(problems) == 1
    assert problems[0].location == "sweep.yaml: grid.model.media[tv].adstock"
    assert "adstock weibull has no parameter 'decay'" in problems[0].message


def test_the_cli_exits_2_before_writing_anything(tmp_path: Path) -> None:
    sweep = _sweep(tmp_path, "base: base.yaml\ngrid:\n  fit.method: [map, mc]\n")
    out = tmp_path / "results"
    result = CliRunner().invoke(app, ["batch", "--sweep", str(sweep), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "sweep.yaml: grid.fit.method (line 3): value 'mc'" in result.stderr
    assert "nothing was run" in result.stderr
    assert not out.exists()


def test_config_files_are_checked_each_named(tmp_path: Path) -> None:
    good = map_config(tmp_path, "good")
    bad = map_config(tmp_path, "bad", seed=-1)
    with pytest.raises(ConfigError) as caught:
        plan.plan_configs([good, bad])
    assert [p.location for p in caught.value.problems] == [f"{bad}: seed"]
    with pytest.raises(UsageError, match="are the same run"):
        plan.plan_configs([good, good])
    result = CliRunner().invoke(app, ["batch"])
    assert result.exit_code == 2
    assert "give config files or --sweep FILE" in result.stderr


def test_a_broken_base_is_reported_in_the_base_file(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("base: missing.yaml\ngrid:\n  seed: [1]\n")
    assert _problems(sweep)[0].location == "sweep.yaml: base"
    map_config(tmp_path, "base", seed="soon")
    sweep.write_text("base: base.yaml\ngrid:\n  fit.map_starts: [2]\n")
    assert [p.location for p in _problems(sweep)] == [f"{tmp_path / 'base.yaml'}: seed"]
