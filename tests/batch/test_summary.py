"""The batch summary ranks by out-of-sample score only and keeps every run on record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mmm_runner.batch import cluster, summary
from mmm_runner.batch.work import RunResult, RunTask

NAN = np.nan


def _table(**columns: list[Any]) -> pd.DataFrame:
    base = {
        "run": ["a", "b", "c", "d"],
        "status": ["completed", "completed", "failed", "completed"],
        "elpd_loo": [NAN] * 4,
        "cv_crps": [NAN] * 4,
        "loo_set": [NAN] * 4,
        "data_sha256": ["x"] * 4,
        "r2": [0.99, 0.5, 0.9, 0.7],
    }
    return pd.DataFrame({**base, **columns})


def test_loo_ranks_within_each_data_set_and_failed_runs_stay_last() -> None:
    table, by = summary.rank(
        _table(
            elpd_loo=[-110.0, -100.0, -90.0, -50.0],
            loo_set=[1, 1, 1, 2],
            cv_crps=[1.0, 9.0, NAN, NAN],
        )
    )
    assert by == "elpd_loo"
    # b beats a on LOO though a's R² is far higher; the failed run is listed, unranked.
    assert list(table["run"]) == ["b", "a", "d", "c"]
    assert list(table["rank"].fillna(0)) == [1, 2, 1, 0]
    assert list(table["score_set"].fillna(0)) == [1, 1, 2, 0]


def test_cv_ranks_when_no_run_has_loo_and_nothing_ranks_without_a_score() -> None:
    table, by = summary.rank(_table(cv_crps=[3.0, 1.0, 0.5, NAN]))
    assert by == "cv_crps"
    assert list(table["run"]) == ["b", "a", "d", "c"]  # lower CRPS first; d has no CV
    assert list(table["rank"].fillna(0)) == [1, 2, 0, 0]
    table, by = summary.rank(_table())
    assert by == ""
    assert table["rank"].isna().all()
    assert list(table["run"]) == ["a", "b", "d", "c"]


def test_the_summary_says_why_and_lists_failures(tmp_path: Path) -> None:
    tasks = [
        RunTask(1, "good", tmp_path / "good.yaml", "1", "d", tmp_path, changes={"seed": 1}),
        RunTask(2, "broken", tmp_path / "broken.yaml", "2", "d", tmp_path, changes={"seed": 2}),
        RunTask(3, "gone", tmp_path / "gone.yaml", "3", "d", tmp_path, changes={"seed": 3}),
    ]
    results = [
        RunResult(1, "good", "reused", 0),
        RunResult(2, "broken", "failed", 4, error="MAP failed\nmore"),
        RunResult(3, "gone", "lost", error="the worker running it died"),
    ]
    made = summary.summarise(tasks, results, {3: ["20260101-000000_gone (abandoned: ...)"]})
    assert list(made.table["run"]) == ["good", "broken", "gone"]
    assert list(made.table.columns[:6]) == [
        "rank",
        "score_set",
        "run",
        "status",
        "exit_code",
        "seed",
    ]
    files = summary.write(made, tmp_path, {"name": "demo"}, plots=False)
    assert files == ["summary.csv", "summary.json", "summary.md"]
    text = (tmp_path / "summary.md").read_text()
    assert "No run has an out-of-sample score" in text
    assert "specification shopping" in text
    assert "- `broken`: failed (exit 4): MAP failed" in text
    assert "- `gone`: 20260101-000000_gone (abandoned: ...)" in text
    assert "specification shopping" in summary.WHY_THIS_RANKING


def test_local_workers_fit_the_cores() -> None:
    assert cluster.local_workers(2, cores=2) == 1
    assert cluster.local_workers(1, cores=2) == 2
    assert cluster.local_workers(4, cores=2) == 1
    assert cluster.local_workers(2, cores=8) == 4


def test_a_worker_share_caps_the_usable_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    from mmm_runner.system import usable_cores

    machine = usable_cores()
    monkeypatch.setenv("MMM_CORES", "1")
    assert usable_cores() == 1
    monkeypatch.setenv("MMM_CORES", str(machine + 5))
    assert usable_cores() == machine
    monkeypatch.setenv("MMM_CORES", "lots")
    assert usable_cores() == machine
