"""mmm_runner.load_run on a real run of the shipped single-market example."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import mmm_runner


@pytest.mark.stan
def test_load_run_reads_back_a_real_run(single_market_run: tuple[Path, Any]) -> None:
    run_dir, _ = single_market_run
    run = mmm_runner.load_run(run_dir)
    assert run.completed
    assert run.config.name == "single_market"
    channels = [m.name for m in run.config.model.media]
    assert channels == ["tv", "search", "social", "display", "radio", "ooh"]
    posterior = run.posterior.posterior
    assert set(channels) <= set(posterior["beta"].coords["coef"].values.tolist())
    assert posterior.sizes["chain"] == 4
    roi = run.table("roi")
    assert sorted(roi.loc[roi["group"] == "all", "channel"]) == sorted(channels)
    assert set(run.gates["status"]) <= {"pass", "warn", "fail", "skip"}
