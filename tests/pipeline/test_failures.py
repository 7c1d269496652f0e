"""Failure paths: each leaves a clear record and the right exit code."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from mmm_runner import constants
from mmm_runner.cli.main import app
from mmm_runner.errors import CompileError, RunInterruptedError, SamplingError
from mmm_runner.pipeline import runner
from mmm_runner.pipeline.runner import RunOptions, execute

from .conftest import ROOT

pytestmark = pytest.mark.stan


def _map_config(tmp_path: Path, **changes: Any) -> Path:
    config = yaml.safe_load((ROOT / "config" / "single_market_map.yaml").read_text())
    config["data"]["path"] = str(ROOT / "data" / "single_market.csv")
    config["fit"]["map_starts"] = 3
    for key, value in changes.items():
        config[key] = value
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _manifest(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (run_dir / "00_run_metadata" / constants.MANIFEST).read_text()
    )
    return data


def _only_run(out: Path) -> Path:
    runs = [p for p in out.iterdir() if p.is_dir()]
    assert len(runs) == 1
    return runs[0]


def test_failed_gate_under_publish_exits_5_and_marks_the_folder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = _map_config(
        tmp_path,
        diagnostics={"policy": "publish", "thresholds": {"r2": {"warn": 0.999, "fail": 0.999}}},
    )
    out = tmp_path / "results"
    result = CliRunner().invoke(app, ["run", "--config", str(path), "-o", str(out), "-q"])
    assert result.exit_code == 5, result.output
    assert "diagnostics policy 'publish' stops the run" in result.stderr
    assert "r2 (fail" in result.stderr
    run_dir = _only_run(out)
    assert str(run_dir) in result.stderr
    manifest = _manifest(run_dir)
    assert manifest["status"] == "failed"
    assert manifest["exit_code"] == 5
    assert manifest["failed_stage"] == "40_diagnostics"
    status = json.loads((run_dir / "40_diagnostics" / constants.STATUS).read_text())
    assert status["status"] == "failed"
    assert status["error"]["type"] == "GateError"
    assert (run_dir / "40_diagnostics" / constants.GATES).is_file()
    assert not (run_dir / "50_model_selection").exists()
    stages = {s["folder"]: s["status"] for s in manifest["stages"]}
    assert stages["50_model_selection"] == "pending"


def test_strict_fails_on_a_warning(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = _map_config(
        tmp_path,
        diagnostics={"policy": "strict", "thresholds": {"r2": {"warn": 0.999, "fail": 0.1}}},
    )
    result = CliRunner().invoke(app, ["run", "-c", str(path), "-o", str(tmp_path / "r"), "-q"])
    assert result.exit_code == 5


def test_invalid_config_exits_2_and_writes_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = _map_config(tmp_path, priors=["tv ~ normall(0, 1)"])
    out = tmp_path / "results"
    result = CliRunner().invoke(app, ["run", "--config", str(path), "-o", str(out)])
    assert result.exit_code == 2
    assert "unknown distribution 'normall'" in result.stderr
    assert "Traceback" not in result.output
    assert not out.exists()


def test_interrupted_run_is_marked_interrupted(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def interrupt(ctx: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setitem(runner.STAGE_FUNCTIONS, "post_run", interrupt)
    out = tmp_path / "results"
    with pytest.raises(RunInterruptedError):
        execute(_map_config(tmp_path), RunOptions(output_dir=out))
    run_dir = _only_run(out)
    manifest = _manifest(run_dir)
    assert manifest["status"] == "interrupted"
    assert manifest["exit_code"] == 130
    status = json.loads((run_dir / "30_post_run" / constants.STATUS).read_text())
    assert status["status"] == "interrupted"


def _default_sigint() -> None:
    # A job started in the background by a non-interactive shell (as CI runners
    # do) inherits SIGINT ignored, and Python then never raises KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_long_run(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    """`mmm run` of an MCMC fit far too long to finish, once its sampler is writing."""
    config = yaml.safe_load((ROOT / "config" / "single_market.yaml").read_text())
    config["data"]["path"] = str(ROOT / "data" / "single_market.csv")
    config["fit"].update(warmup=20000, samples=20000)
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump(config))
    out = tmp_path / "results"
    command = [sys.executable, "-m", "mmm_runner.cli.main", "run", "-c", str(path)]
    proc = subprocess.Popen(
        [*command, "-o", str(out), "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=_default_sigint,
    )
    deadline = time.time() + 300
    while time.time() < deadline and not list(out.glob("*/20_model_fit/stan_csv/*.csv")):
        assert proc.poll() is None, proc.communicate()[1]
        time.sleep(0.5)
    time.sleep(2)
    return proc, out


def _programs_writing_to(out: Path, runner_pid: int) -> list[str]:
    """Command lines of live processes, other than the runner, whose arguments mention ``out``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (cmdline.parent / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if int(cmdline.parent.name) != runner_pid and str(out) in text and state != "Z":
            found.append(text)
    return found


def _assert_interrupted(proc: subprocess.Popen[str], out: Path) -> None:
    try:
        _, stderr = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr
    manifest = _manifest(_only_run(out))
    assert manifest["status"] == "interrupted"
    fit_status = next(s for s in manifest["stages"] if s["name"] == "model_fit")
    assert fit_status["status"] == "interrupted"


def test_ctrl_c_during_sampling(tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc, out = _start_long_run(tmp_path)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    _assert_interrupted(proc, out)


def test_sigterm_to_the_runner_alone_stops_the_sampler(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A CI timeout signals the runner, not its process group.
    proc, out = _start_long_run(tmp_path)
    assert _programs_writing_to(out, proc.pid), "the Stan program should be sampling"
    os.kill(proc.pid, signal.SIGTERM)
    _assert_interrupted(proc, out)
    assert _programs_writing_to(out, proc.pid) == []


def test_compile_failure_exits_3(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    broken = tmp_path / "broken.stan"
    broken.write_text("parameters { real mu }\n")
    monkeypatch.setattr("mmm_runner.model.programs.program", lambda model_class: broken)
    out = tmp_path / "results"
    with pytest.raises(CompileError):
        execute(_map_config(tmp_path), RunOptions(output_dir=out))
    manifest = _manifest(_only_run(out))
    assert manifest["exit_code"] == 3
    assert manifest["failed_stage"] == "20_model_fit"


def test_sampling_failure_exits_4(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise SamplingError("all 3 MAP starts failed: initialization failed")

    monkeypatch.setattr("mmm_runner.backend.fit.optimise", fail)
    out = tmp_path / "results"
    with pytest.raises(SamplingError):
        execute(_map_config(tmp_path), RunOptions(output_dir=out))
    manifest = _manifest(_only_run(out))
    assert manifest["exit_code"] == 4
    assert manifest["status"] == "failed"


def test_run_folders_never_collide(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime

    from mmm_runner.pipeline.folders import create_run_folder

    now = datetime(2026, 1, 2, 3, 4, 5)
    first = create_run_folder(tmp_path, "my run/1", now)
    second = create_run_folder(tmp_path, "my run/1", now)
    assert first.name == "20260102-030405_my_run_1"
    assert second.name == "20260102-030405_my_run_1_2"
