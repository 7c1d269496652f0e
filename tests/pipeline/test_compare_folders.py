"""compare-runs and reproduce on hand-made run folders (no Stan needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from mmm_runner import comparison as compare
from mmm_runner import constants
from mmm_runner import reproduction as reproduce
from mmm_runner.cli.main import app


def _fake_run(folder: Path, *, method: str = "mcmc", loo: bool = True, share: float = 0.1) -> Path:
    """A minimal completed run folder: manifest, resolved config, gates, totals, ROI."""
    meta = folder / "00_run_metadata"
    meta.mkdir(parents=True)
    manifest = {
        "status": "completed",
        "name": "m",
        "model_class": "blm",
        "fit_method": method,
        "data": {"path": "/data.csv", "sha256": "ab" * 32},
    }
    (meta / constants.MANIFEST).write_text(json.dumps(manifest))
    config: dict[str, Any] = {
        "name": "m",
        "model": {"formula": "y ~ tv"},
        "fit": {"method": method},
        "loo": {"enabled": loo},
        "resolved": {"kpi": "y", "media": [{"name": "tv"}], "controls": []},
    }
    (meta / constants.CONFIG_RESOLVED).write_text(yaml.safe_dump(config))
    (folder / "20_model_fit").mkdir()
    pd.DataFrame({"r2": [0.8, 0.9]}).to_csv(folder / "20_model_fit" / "fit_metrics.csv")
    diag = folder / "40_diagnostics"
    diag.mkdir()
    gates = pd.DataFrame(
        {"check": ["rhat", "ess_bulk"], "status": ["pass", "warn"], "value": [1.0, 300.0]}
    )
    gates.to_csv(diag / constants.GATES, index=False)
    post = folder / "30_post_run"
    post.mkdir()
    totals = {"group": ["all"], "term": ["tv"], "share": [share]}
    totals |= {"share_q05": [share / 2], "share_q95": [share * 2]}
    pd.DataFrame(totals).to_csv(post / constants.DECOMP_TOTALS, index=False)
    roi = {"group": ["all"], "channel": ["tv"], "roi": [2.0], "roi_q05": [1.0], "roi_q95": [3.0]}
    pd.DataFrame(roi).to_csv(post / constants.ROI, index=False)
    return folder


def test_runs_with_the_same_folder_name_get_distinct_labels(tmp_path: Path) -> None:
    a = _fake_run(tmp_path / "one" / "20260101-000000_m", share=0.1)
    b = _fake_run(tmp_path / "two" / "20260101-000000_m", share=0.2)
    comparison = compare.compare([compare.load_run(a), compare.load_run(b)])
    assert list(comparison.summary["run"]) == ["one/20260101-000000_m", "two/20260101-000000_m"]
    assert set(comparison.channels["run"]) == set(comparison.summary["run"])
    assert "20.0%" in compare.markdown(comparison)


def test_a_map_run_without_loo_is_not_a_problem(tmp_path: Path) -> None:
    record = compare.load_run(_fake_run(tmp_path / "map_run", method="map", loo=False))
    assert record.problems == []
    mcmc = compare.load_run(_fake_run(tmp_path / "mcmc_run"))
    assert mcmc.problems == [f"missing {compare.SELECT}/{constants.LOO_SUMMARY} (no LOO)"]


def test_worst_gate_names_its_checks(tmp_path: Path) -> None:
    row = compare.compare([compare.load_run(_fake_run(tmp_path / "r"))]).summary.iloc[0]
    assert row["worst_gate"] == "warn: ess_bulk"
    assert row["r2"] == pytest.approx(0.85)  # the median over draws


def test_json_output_is_strict_json(tmp_path: Path) -> None:
    run = _fake_run(tmp_path / "r")
    args = ["compare-runs", str(run), "-o", str(tmp_path / "out"), "--json", "--no-plots"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    document = json.loads(
        result.stdout, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c))
    )
    assert document["runs"][0]["elpd_loo"] is None


def test_reproduce_compares_tables_exactly_and_ignores_volatile_keys(tmp_path: Path) -> None:
    a, b = _fake_run(tmp_path / "a"), _fake_run(tmp_path / "b")
    for run, seconds in ((a, 1.0), (b, 2.5)):
        status = {"status": "completed", "seconds": seconds, "message": f"done in {seconds} s"}
        (run / "40_diagnostics" / constants.STATUS).write_text(json.dumps(status))
    result = reproduce.compare_folders(a, b)
    assert result.identical, result.differences
    table = pd.read_csv(b / "30_post_run" / constants.ROI)
    table.loc[0, "roi_q95"] = 3.0 + 1e-12  # the smallest change still counts
    table.to_csv(b / "30_post_run" / constants.ROI, index=False)
    (b / "40_diagnostics" / constants.STATUS).write_text(json.dumps({"status": "failed"}))
    differences = {d.artefact: d.detail for d in reproduce.compare_folders(a, b).differences}
    assert "column roi_q95: 1 of 1 values differ" in differences["30_post_run/roi.csv"]
    assert "status: 'completed' vs 'failed'" in differences["40_diagnostics/status.json"]


def _selection(run: Path, *, waic: bool) -> None:
    """50_model_selection of a fake run: LOO always, WAIC only when asked (older runs lack it)."""
    folder = run / compare.SELECT
    folder.mkdir()
    loo = {"elpd_loo": [-120.5], "se": [6.0], "p_loo": [4.2], "n_obs": [100], "k_bad": [0]}
    pd.DataFrame(loo).to_csv(folder / constants.LOO_SUMMARY, index=False)
    if waic:
        table = {"elpd_waic": [-120.3], "se": [5.9], "p_waic": [4.0], "var_high": [1]}
        pd.DataFrame(table | {"warning": ["exceeds 0.4"]}).to_csv(
            folder / constants.WAIC_SUMMARY, index=False
        )


def test_comparison_shows_waic_beside_loo_and_blanks_for_runs_without_it(tmp_path: Path) -> None:
    new, old = _fake_run(tmp_path / "new"), _fake_run(tmp_path / "old")
    _selection(new, waic=True)
    _selection(old, waic=False)
    records = [compare.load_run(new), compare.load_run(old)]
    assert [r.problems for r in records] == [[], []]  # a missing WAIC file is no problem
    comparison = compare.compare(records)
    summary = comparison.summary.set_index("run")
    assert summary.loc["new", "elpd_waic"] == pytest.approx(-120.3)
    assert summary.loc["new", "waic_se"] == pytest.approx(5.9)
    assert summary.loc["old", ["elpd_waic", "waic_se"]].isna().all()
    columns = list(comparison.summary.columns)
    assert columns.index("elpd_waic") == columns.index("elpd_se") + 1
    table = compare.markdown(comparison).split("## Runs\n")[1]
    header, _, first, second = table.strip().splitlines()[:4]
    cells = dict(zip(header.split(" | "), first.split(" | "), strict=True))
    assert (cells["elpd_loo"], cells["elpd_waic"], cells["waic_se"]) == ("-120.5", "-120.3", "5.9")
    cells = dict(zip(header.split(" | "), second.split(" | "), strict=True))
    assert (cells["elpd_loo"], cells["elpd_waic"], cells["waic_se"]) == ("-120.5", "", "")


LIFT = {
    "name": "tv_dark",
    "channel": "tv",
    "start": "2024-02-05",
    "end": "2024-03-25",
    "measured_until": "2024-04-22",
    "spend_change": -5000.0,
    "lift": -900.0,
    "se": 100.0,
}


def test_a_calibrated_run_beside_one_without_draws_lists_the_test_for_both(
    tmp_path: Path,
) -> None:
    """The calibrated run's own lift comes from its calibration.csv; a MAP run without
    the test has no draws to rebuild it from: a blank with the reason, and a warning."""
    calibrated = _fake_run(tmp_path / "calibrated")
    file = calibrated / "00_run_metadata" / constants.CONFIG_RESOLVED
    config = yaml.safe_load(file.read_text())
    config["calibration"] = {"lift_tests": [{**LIFT, "group": None, "outcome": None}]}
    file.write_text(yaml.safe_dump(config))
    own = {k: [v] for k, v in LIFT.items() if k not in ("lift", "se", "name")}
    own |= {"test": ["tv_dark"], "group": ["all"], "measured_lift": [-900.0]}
    own |= {"model_lift": [-950.0], "model_q05": [-1100.0], "model_q95": [-800.0], "z": [-0.3]}
    pd.DataFrame(own).to_csv(calibrated / "30_post_run" / constants.CALIBRATION, index=False)
    plain = _fake_run(tmp_path / "plain", method="map", loo=False)
    records = [compare.load_run(calibrated), compare.load_run(plain)]
    assert records[0].problems == [f"missing {compare.SELECT}/{constants.LOO_SUMMARY} (no LOO)"]
    comparison = compare.compare(records)
    table = comparison.calibration.set_index("run")
    assert table.loc["calibrated", "calibrated"]
    assert table.loc["calibrated", "model_lift"] == pytest.approx(-950.0)
    assert table.loc["calibrated", "measured_until"] == "2024-04-22"
    assert not table.loc["plain", "calibrated"]
    assert pd.isna(table.loc["plain", "model_lift"])
    assert table.loc["plain", "note"] == "fitted by map: no posterior draws"
    assert any("tv_dark: no model lift from plain" in w for w in comparison.warnings)
    text = compare.markdown(comparison)
    assert "-950 [-1100, -800] (z -0.3, calibrated)" in text
    assert "| tv_dark | -900 ± 100 |" in text
    written = compare.write(comparison, tmp_path / "out", plots=False)
    assert constants.CALIBRATION in written
    assert len(pd.read_csv(tmp_path / "out" / constants.CALIBRATION)) == 2


def test_runs_without_lift_tests_have_no_calibration_table(tmp_path: Path) -> None:
    comparison = compare.compare([compare.load_run(_fake_run(tmp_path / "r"))])
    assert comparison.calibration.empty
    assert constants.CALIBRATION not in compare.write(comparison, tmp_path / "o", plots=False)


def test_a_run_whose_data_is_gone_gets_the_reason_instead_of_a_lift(tmp_path: Path) -> None:
    """Rebuilding a lift validates the run's config and data again: a data file that is
    no longer there is the note (and a warning), not a crash."""
    calibrated = _fake_run(tmp_path / "calibrated")
    file = calibrated / "00_run_metadata" / constants.CONFIG_RESOLVED
    config = yaml.safe_load(file.read_text())
    config["calibration"] = {"lift_tests": [LIFT]}
    file.write_text(yaml.safe_dump(config))
    plain = _fake_run(tmp_path / "plain")
    (plain / "20_model_fit" / "stan_csv").mkdir()
    (plain / "20_model_fit" / "stan_csv" / "chain_1.csv").write_text("# nothing\n")
    comparison = compare.compare([compare.load_run(calibrated), compare.load_run(plain)])
    row = comparison.calibration.set_index("run").loc["plain"]
    assert pd.isna(row["model_lift"])
    assert "/data.csv" in row["note"]
    assert any("no model lift from plain" in w for w in comparison.warnings)


def test_a_run_resolved_before_the_pilot_and_metric_settings_reruns_as_it_ran(
    tmp_path: Path,
) -> None:
    metadata = tmp_path / constants.stage_folder("run_metadata")
    metadata.mkdir()
    resolved = metadata / constants.CONFIG_RESOLVED
    resolved.write_text(yaml.safe_dump({"name": "old", "fit": {"warmup": 1000}}))
    fit = reproduce.resolved_config(tmp_path)["fit"]
    assert (fit["warmup_pilot"], fit["metric"]) == (0, "diag")
    # resolved with the pilot but before fit.metric: its pilot as it was, a diagonal metric
    resolved.write_text(yaml.safe_dump({"name": "mid", "fit": {"warmup_pilot": "auto"}}))
    fit = reproduce.resolved_config(tmp_path)["fit"]
    assert (fit["warmup_pilot"], fit["metric"]) == ("auto", "diag")
    resolved.write_text(yaml.safe_dump({"name": "new", "fit": {"metric": "auto"}}))
    assert reproduce.resolved_config(tmp_path)["fit"]["metric"] == "auto"


def test_settings_newer_than_a_run_are_no_difference_at_the_value_it_ran_with(
    tmp_path: Path,
) -> None:
    original, rerun = tmp_path / "a.yaml", tmp_path / "b.yaml"
    original.write_text(yaml.safe_dump({"fit": {"warmup": 1000}}))
    defaults = {"warmup_pilot": 0, "metric": "diag"}
    rerun.write_text(yaml.safe_dump({"fit": {"warmup": 1000, **defaults}}))
    assert reproduce.compare_file(original, rerun) == ""
    # another value is a difference, and so is a key the rerun lacks
    rerun.write_text(yaml.safe_dump({"fit": {"warmup": 1000, "metric": "dense"}}))
    assert "fit.metric in only one" in reproduce.compare_file(original, rerun)
    assert "fit.metric in only one" in reproduce.compare_file(rerun, original)
    before, after = tmp_path / "status_a.json", tmp_path / "status_b.json"
    before.write_text(json.dumps({"summary": {"divergences": 0}}))
    after.write_text(json.dumps({"summary": {"divergences": 0, "metric": "diag"}}))
    assert reproduce.compare_file(before, after) == ""
