"""Storage faults: a read-only or full output folder, and a disk that fills mid-run.

Each ends in a StorageError (exit 8) naming the folder or stage, leaves the
run marked failed (or no run folder at all), and never a truncated artefact
under its real name.  Full and read-only disks are real tmpfs mounts where the
tests run as root (as CI does); elsewhere writes are made to fail instead.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from mmm_runner import atomic, constants
from mmm_runner.cli.main import app
from mmm_runner.errors import StorageError
from mmm_runner.pipeline import folders, runner
from mmm_runner.pipeline.runner import RunOptions, execute

ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path) -> Path:
    config = yaml.safe_load((ROOT / "config" / "single_market_map.yaml").read_text())
    config["data"]["path"] = str(ROOT / "data" / "single_market.csv")
    config["fit"]["map_starts"] = 2
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@contextlib.contextmanager
def _tmpfs(path: Path, options: str) -> Iterator[bool]:
    """A tmpfs at ``path`` (True), or False where this process may not mount one."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True
        ).returncode
        == 0
    )
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], check=False)


def _refusing(code: int) -> Any:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise OSError(code, os.strerror(code), str(args[0]) if args else None)

    return refuse


def test_replacing_leaves_the_old_file_and_no_temporary_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "table.csv"
    target.write_text("old\n")

    def fill_then_fail() -> None:
        with atomic.replacing(target) as tmp:
            tmp.write_text("half a tab")
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        fill_then_fail()
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]
    atomic.write_csv(pd.DataFrame({"a": [1, 2]}), target)
    assert target.read_text() == "a\n1\n2\n"


@pytest.mark.parametrize(
    ("options", "code", "phrase"),
    [("ro,size=1m", errno.EROFS, "Read-only"), ("size=16k", errno.ENOSPC, "No space")],
    ids=["read_only", "full"],
)
def test_an_unwritable_output_folder_stops_before_any_stage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, options: str, code: int, phrase: str
) -> None:
    out = tmp_path / "mnt"
    with _tmpfs(out, options) as mounted:
        if not mounted:  # not root: make the folder's first write fail the same way
            monkeypatch.setattr(folders.tempfile, "TemporaryFile", _refusing(code))
        result = CliRunner().invoke(
            app, ["run", "--config", str(_config(tmp_path)), "-o", str(out / "results"), "-q"]
        )
        assert result.exit_code == constants.EXIT_STORAGE, result.output
        assert phrase in result.output
        assert "creating the run folder" in result.output
        assert "Traceback" not in result.output
        runs = list((out / "results").iterdir()) if (out / "results").is_dir() else []
        assert runs == []  # nothing that looks like a run


def _failing_stage(stage: str, code: int) -> Any:
    """The stage function, with every atomic write of that stage refused."""
    original = runner.STAGE_FUNCTIONS[stage]

    def run(ctx: Any) -> Any:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(atomic, "replacing", _refusing(code))
            return original(ctx)

    return run


@pytest.mark.stan
@pytest.mark.parametrize("stage", ["model_fit", "post_run", "diagnostics"])
def test_a_disk_that_fills_in_a_stage_fails_the_run_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stage: str
) -> None:
    monkeypatch.setitem(runner.STAGE_FUNCTIONS, stage, _failing_stage(stage, errno.ENOSPC))
    out = tmp_path / "results"
    with pytest.raises(StorageError, match="No space left") as raised:
        execute(_config(tmp_path), RunOptions(output_dir=out, plots=False))
    folder = constants.stage_folder(stage)
    assert f"stage {folder}" in raised.value.message
    assert constants.exit_code(raised.value) == constants.EXIT_STORAGE
    run_dir = Path(str(raised.value.run_dir))
    manifest = json.loads((run_dir / "00_run_metadata" / constants.MANIFEST).read_text())
    assert manifest["status"] == "failed"
    assert manifest["failed_stage"] == folder
    assert manifest["exit_code"] == constants.EXIT_STORAGE
    status = json.loads((run_dir / folder / constants.STATUS).read_text())
    assert status["status"] == "failed"
    assert status["error"]["type"] == "StorageError"
    leftovers = [p.name for p in run_dir.rglob("*.tmp")]
    assert leftovers == []
