"""Small MAP configs for batch tests, and a runner whose worker dies mid-run.

Workers import this module by name (``tests.batch.helpers``), so what they run is
defined here rather than inside a test function.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from mmm_runner.batch.work import RunResult, RunTask, run_task
from mmm_runner.pipeline.context import SilentReporter

ROOT = Path(__file__).resolve().parents[2]
FIT_STAGE = "20_model_fit"


def map_config(folder: Path, name: str, **changes: Any) -> Path:
    """The shipped MAP example from 2 starts, one process at a time (so two runs fit the
    two cores), written to ``folder/<name>.yaml``; ``changes`` replace top-level sections."""
    config = yaml.safe_load((ROOT / "config" / "single_market_map.yaml").read_text())
    config["name"] = name
    config["data"]["path"] = str(ROOT / "data" / "single_market.csv")
    config["fit"].update(map_starts=2, parallel_chains=1)
    config.update(changes)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


class _ExitInFit(SilentReporter):
    """Ends the worker process outright when the fit stage starts: a worker lost mid-run
    (the OOM killer, a node gone), with the run folder already marked running."""

    def stage_started(self, folder: str) -> None:
        if folder == FIT_STAGE:
            os._exit(70)


def dying_runner(task: RunTask, *, once: str, always: str, markers: str) -> RunResult:
    """Runs a task, but the run named ``always`` kills its worker every time and the run
    named ``once`` on its first attempt only (a marker file remembers it)."""
    die = task.name == always or (task.name == once and _first_attempt(Path(markers) / once))
    return run_task(task, _ExitInFit() if die else None)


def _first_attempt(marker: Path) -> bool:
    try:
        marker.touch(exist_ok=False)
    except FileExistsError:
        return False
    return True
