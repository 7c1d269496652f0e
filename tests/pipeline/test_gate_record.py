"""Every gate goes through one recorder: gates.csv, the status file and the policy agree."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from mmm_runner import constants
from mmm_runner.analysis.gates import Gate
from mmm_runner.errors import GateError
from mmm_runner.pipeline.context import RunContext, SilentReporter
from mmm_runner.pipeline.manifest import write_json
from mmm_runner.pipeline.stages.diagnostics import record_gates
from mmm_runner.validation import validate

ROOT = Path(__file__).resolve().parents[2]


def _context(tmp_path: Path, policy: str) -> RunContext:
    validation = validate(ROOT / "config" / "single_market_map.yaml")
    assert validation.loaded is not None
    config = validation.loaded.config
    diagnostics = config.diagnostics.model_copy(update={"policy": policy})
    validation.loaded = replace(
        validation.loaded, config=config.model_copy(update={"diagnostics": diagnostics})
    )
    ctx = RunContext(
        validation,
        tmp_path,
        datetime.now(UTC),
        SilentReporter(),
        logging.getLogger("test"),
        [],
    )
    ctx.folder("diagnostics").mkdir(parents=True)
    return ctx


def _gate(check: str, status: str) -> Gate:
    return Gate(check, 1.0, None, None, status, "", "")  # type: ignore[arg-type]


def test_a_later_gate_updates_the_table_the_counts_and_the_finished_status(
    tmp_path: Path,
) -> None:
    ctx = _context(tmp_path, "explore")
    record_gates(ctx, [_gate("rhat", "pass"), _gate("boundary", "warn")])
    status = ctx.folder("diagnostics") / constants.STATUS
    write_json(status, {"status": "completed", "summary": {"pass": 1, "warn": 1}})
    record_gates(ctx, [_gate("budget_optimiser", "warn")])
    table = pd.read_csv(ctx.folder("diagnostics") / constants.GATES)
    assert list(table["check"]) == ["rhat", "boundary", "budget_optimiser"]
    written = json.loads(status.read_text())
    assert written["summary"] == {"policy": "explore", "pass": 1, "warn": 2, "fail": 0, "skip": 0}
    assert written["message"] == "1 pass, 2 warn"
    assert ctx.manifest["gates"] == {"pass": 1, "warn": 2, "fail": 0, "skip": 0}


@pytest.mark.parametrize(
    ("policy", "stops"), [("explore", False), ("publish", False), ("strict", True)]
)
def test_the_policy_applies_to_the_budget_optimisers_gate(
    tmp_path: Path, policy: str, stops: bool
) -> None:
    ctx = _context(tmp_path, policy)
    record_gates(ctx, [_gate("rhat", "pass")])
    if stops:
        with pytest.raises(GateError, match="budget_optimiser"):
            record_gates(ctx, [_gate("budget_optimiser", "warn")])
    else:
        record_gates(ctx, [_gate("budget_optimiser", "warn")])
    # Recorded either way: a stopped run still shows the gate that stopped it.
    table = pd.read_csv(ctx.folder("diagnostics") / constants.GATES)
    assert list(table["check"]) == ["rhat", "budget_optimiser"]


def test_publish_stops_on_a_failed_gate_only(tmp_path: Path) -> None:
    ctx = _context(tmp_path, "publish")
    record_gates(ctx, [_gate("boundary", "warn")])
    with pytest.raises(GateError, match=r"rhat \(fail"):
        record_gates(ctx, [_gate("rhat", "fail")])
