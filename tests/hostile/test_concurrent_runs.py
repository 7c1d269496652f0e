"""Two runs of one config started at the same moment into one output folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mmm_runner import constants

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.stan


def test_concurrent_runs_get_their_own_folders_and_both_complete(tmp_path: Path) -> None:
    config = yaml.safe_load((ROOT / "config" / "single_market_map.yaml").read_text())
    config["data"]["path"] = str(ROOT / "data" / "single_market.csv")
    config["fit"]["map_starts"] = 2
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    out = tmp_path / "results"
    command = [sys.executable, "-m", "mmm_runner.cli.main", "run", "-c", str(path)]
    runs = [
        subprocess.Popen(
            [*command, "-o", str(out), "-q", "--no-plots"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [run.communicate(timeout=300) for run in runs]
    for run, (_, stderr) in zip(runs, results, strict=True):
        assert run.returncode == 0, stderr
    folders = sorted(p for p in out.iterdir() if p.is_dir())
    assert len(folders) == 2  # same name and second: one gets a _2 suffix
    for folder in folders:
        manifest = json.loads((folder / "00_run_metadata" / constants.MANIFEST).read_text())
        assert manifest["status"] == "completed"
    posteriors = [(f / "20_model_fit" / constants.POSTERIOR).read_bytes() for f in folders]
    assert all(len(p) > 0 for p in posteriors)
    assert list(out.rglob("*.tmp")) == []
