"""Abandoned runs, interrupted compiles and edited inputs of `mmm reproduce`.

A run killed with SIGKILL (or a machine that lost power) leaves a manifest
saying "running"; `run_state` must call it abandoned, and compare-runs and
reproduce must say so. An interrupted compile must leave no staging folder and
no compiler behind; one killed outright leaves a folder the next compile
clears. `mmm reproduce` refuses, with exit 2 and the file's name, a run whose
config copy or data file changed since.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from mmm_runner import constants
from mmm_runner.backend import cache
from mmm_runner.backend.cache import ProcessRecord
from mmm_runner.cli.main import app
from mmm_runner.hashing import file_sha256
from mmm_runner.pipeline import manifest as mf
from mmm_runner.pipeline.manifest import Heartbeat, abandoned_runs, manifest_state, run_state

ROOT = Path(__file__).resolve().parents[2]
METADATA = constants.stage_folder("run_metadata")


def _dead_process() -> ProcessRecord:
    """The record of a process of this machine that has ended (and been reaped)."""
    child = subprocess.Popen(["sleep", "5"])
    record = ProcessRecord.of(child.pid)
    child.kill()
    child.wait()
    return record


def _running_manifest(process: ProcessRecord | None, heartbeat: datetime) -> dict[str, Any]:
    manifest: dict[str, Any] = {"status": "running", "heartbeat": heartbeat.isoformat()}
    if process is not None:
        manifest["process"] = process.as_dict()
    return manifest


def _run_folder(folder: Path, manifest: dict[str, Any]) -> Path:
    (folder / METADATA).mkdir(parents=True)
    (folder / METADATA / constants.MANIFEST).write_text(json.dumps({"name": "m", **manifest}))
    return folder


# --- run_state ----------------------------------------------------------------------------


def test_a_running_manifest_whose_process_is_gone_is_abandoned(tmp_path: Path) -> None:
    dead = _dead_process()
    fresh = datetime.now(UTC)  # a fresh heartbeat does not revive a dead process
    run = _run_folder(tmp_path / "run", _running_manifest(dead, fresh))
    assert run_state(run) == "abandoned"
    message = mf.describe_state(
        json.loads((run / METADATA / "manifest.json").read_text()), "abandoned"
    )
    assert message == (
        f"abandoned: process {dead.pid} on {socket.gethostname()} is gone "
        f"(last heartbeat {fresh.isoformat()})"
    )


def test_this_process_is_running_unless_its_id_was_reused_or_the_machine_restarted() -> None:
    me = ProcessRecord.of()
    now = datetime.now(UTC)
    assert manifest_state(_running_manifest(me, now)) == "running"
    if me.start_time is not None:  # /proc tells start times apart
        reused = ProcessRecord(me.pid, me.host, me.start_time + 1, me.boot_id)
        assert manifest_state(_running_manifest(reused, now)) == "abandoned"
    if me.boot_id is not None:  # a power cut: the same id, an earlier boot
        rebooted = ProcessRecord(me.pid, me.host, me.start_time, "another-boot")
        assert manifest_state(_running_manifest(rebooted, now)) == "abandoned"


def test_another_users_process_counts_as_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(pid: int, sig: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(cache.os, "kill", refuse)
    assert cache.process_alive(os.getpid())


def test_an_unreaped_child_is_not_alive() -> None:
    child = subprocess.Popen(["sleep", "30"])
    try:
        child.kill()
        deadline = time.monotonic() + 10
        while cache.process_alive(child.pid) and time.monotonic() < deadline:
            time.sleep(0.02)  # becomes a zombie: ended, its status not yet read
        assert not cache.process_alive(child.pid)
    finally:
        child.wait()


def test_another_hosts_run_is_judged_by_its_heartbeat() -> None:
    remote = ProcessRecord(12345, "some-other-host", 999, "their-boot")
    now = datetime.now(UTC)
    recent = _running_manifest(remote, now - timedelta(minutes=2))
    stale = _running_manifest(remote, now - mf.ABANDONED_AFTER - timedelta(seconds=1))
    assert manifest_state(recent, now=now) == "running"
    assert manifest_state(stale, now=now) == "abandoned"
    assert mf.describe_state(stale, "abandoned").startswith(
        "abandoned: process 12345 on some-other-host is gone (last heartbeat "
    )


def test_final_statuses_stand_and_old_manifests_fall_back_on_the_file_time() -> None:
    for status in ("completed", "failed", "interrupted"):
        assert (
            manifest_state({"status": status, "process": ProcessRecord.of().as_dict()}) == status
        )
    now = datetime.now(UTC)
    legacy: dict[str, Any] = {"status": "running"}  # before pid, host and heartbeat
    assert manifest_state(legacy, written=now - timedelta(seconds=30), now=now) == "running"
    assert manifest_state(legacy, written=now - timedelta(hours=1), now=now) == "abandoned"


def test_the_heartbeat_advances_and_never_tears_the_manifest(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    manifest: dict[str, Any] = {"status": "running", "heartbeat": "", "stages": []}
    mf.write_json(path, manifest)
    with Heartbeat(path, manifest, interval=0.001):
        for i in range(300):  # the runner keeps writing while the thread beats
            manifest["stages"].append({"name": f"s{i}"})
            mf.write_json(path, manifest)
            assert json.loads(path.read_text())["status"] == "running"
        first = json.loads(path.read_text())["heartbeat"]
        time.sleep(0.05)
    manifest.update(status="completed")
    mf.write_json(path, manifest)
    final = json.loads(path.read_text())
    assert final["heartbeat"] > first
    assert len(final["stages"]) == 300
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]  # no temporary left


def test_abandoned_runs_lists_only_dead_running_runs(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    _run_folder(tmp_path / "a_dead", _running_manifest(_dead_process(), now))
    _run_folder(tmp_path / "b_live", _running_manifest(ProcessRecord.of(), now))
    _run_folder(tmp_path / "c_done", {"status": "completed"})
    found = abandoned_runs(tmp_path)
    assert [(d.name, why.split(":")[0]) for d, why in found] == [("a_dead", "abandoned")]


# --- compare-runs and reproduce on an abandoned run -----------------------------------------


def _completed_run(folder: Path, data: Path) -> Path:
    """A completed run folder with its config copies and data hashes, as `mmm run` leaves."""
    meta = folder / METADATA
    meta.mkdir(parents=True)
    as_given = {"name": "m", "data": {"path": str(data)}, "model": {"formula": "y ~ tv"}}
    (meta / constants.CONFIG_AS_GIVEN).write_text(yaml.safe_dump(as_given))
    resolved = {**as_given, "fit": {"method": "map"}, "loo": {"enabled": False}}
    resolved["resolved"] = {"kpi": "y", "media": [{"name": "tv"}], "controls": []}
    (meta / constants.CONFIG_RESOLVED).write_text(yaml.safe_dump(resolved))
    copies = {
        n: file_sha256(meta / n) for n in (constants.CONFIG_AS_GIVEN, constants.CONFIG_RESOLVED)
    }
    manifest = {
        "status": "completed",
        "name": "m",
        "model_class": "blm",
        "fit_method": "map",
        **mf.process_fields(),
        "config": {
            "path": "/elsewhere/m.yaml",
            "sha256": copies[constants.CONFIG_AS_GIVEN],
            "copies": copies,
        },
        "data": {"path": str(data), "sha256": file_sha256(data), "rows": 2},
    }
    (meta / constants.MANIFEST).write_text(json.dumps(manifest))
    return folder


def _abandoned_copy(run: Path, target: Path, process: ProcessRecord) -> Path:
    shutil.copytree(run, target)
    path = target / METADATA / constants.MANIFEST
    manifest = json.loads(path.read_text())
    manifest.update(
        status="running", process=process.as_dict(), heartbeat="2026-01-05T10:00:00+00:00"
    )
    path.write_text(json.dumps(manifest))
    return target


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "data.csv"
    path.write_text("date,y,tv\n2024-01-01,1.0,2.0\n2024-01-08,1.5,0.0\n")
    return path


def test_compare_runs_lists_an_abandoned_run_with_its_process(
    tmp_path: Path, data_file: Path
) -> None:
    done = _completed_run(tmp_path / "20260105-100000_m", data_file)
    dead = _dead_process()
    gone = _abandoned_copy(done, tmp_path / "20260105-110000_m", dead)
    expected = (
        f"abandoned: process {dead.pid} on {dead.host} is gone "
        "(last heartbeat 2026-01-05T10:00:00+00:00)"
    )
    args = ["compare-runs", str(done), str(gone), "-o", str(tmp_path / "out"), "--no-plots"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"20260105-110000_m: {expected}" in result.output
    result = CliRunner().invoke(app, [*args, "--json"])
    document = json.loads(result.stdout)
    assert document["problems"]["20260105-110000_m"] == [expected]
    assert [r["status"] for r in document["runs"]] == ["completed", "abandoned"]


def test_reproduce_refuses_an_abandoned_or_running_run_with_exit_2(
    tmp_path: Path, data_file: Path
) -> None:
    done = _completed_run(tmp_path / "done", data_file)
    dead = _dead_process()
    gone = _abandoned_copy(done, tmp_path / "gone", dead)
    result = CliRunner().invoke(app, ["reproduce", str(gone)])
    assert result.exit_code == constants.EXIT_CONFIG, result.output
    assert f"abandoned: process {dead.pid} on {dead.host} is gone" in result.output
    live = _abandoned_copy(done, tmp_path / "live", ProcessRecord.of())
    result = CliRunner().invoke(app, ["reproduce", str(live)])
    assert result.exit_code == constants.EXIT_CONFIG, result.output
    assert f"running: process {os.getpid()} on {socket.gethostname()}" in result.output


# --- edited inputs of reproduce ---------------------------------------------------------------


@pytest.mark.parametrize("name", [constants.CONFIG_RESOLVED, constants.CONFIG_AS_GIVEN])
def test_reproduce_refuses_an_edited_config_copy_naming_it(
    tmp_path: Path, data_file: Path, name: str
) -> None:
    run = _completed_run(tmp_path / "run", data_file)
    copy = run / METADATA / name
    copy.write_text(copy.read_text().replace("y ~ tv", "y ~ tv + radio"))
    result = CliRunner().invoke(app, ["reproduce", str(run)])
    assert result.exit_code == constants.EXIT_CONFIG, result.output
    assert f"{METADATA}/{name} (sha256 " in result.output
    assert "changed after the run" in result.output
    assert "mmm run --config" in result.output


def test_reproduce_refuses_an_edited_data_file_naming_it(tmp_path: Path, data_file: Path) -> None:
    run = _completed_run(tmp_path / "run", data_file)
    data_file.write_text(data_file.read_text().replace("1.5", "1.6"))
    result = CliRunner().invoke(app, ["reproduce", str(run)])
    assert result.exit_code == constants.EXIT_CONFIG, result.output
    assert f"the run's data file {data_file} changed since the run" in result.output
    data_file.unlink()
    result = CliRunner().invoke(app, ["reproduce", str(run)])
    assert result.exit_code == constants.EXIT_CONFIG, result.output
    assert "does not exist" in result.output


# --- staging folders of killed compiles ----------------------------------------------------


def _staging(root: Path, suffix: str, owner: ProcessRecord | None, group: Any = None) -> Path:
    folder = root / f".blm-0123456789abcdef-{suffix}"
    folder.mkdir(parents=True)
    if owner is not None:
        record = {"owner": owner.as_dict(), "group": group.as_dict() if group else None}
        (folder / cache.STAGING_OWNER).write_text(json.dumps(record))
    return folder


def test_stale_staging_folders_are_cleared_and_live_ones_kept(tmp_path: Path) -> None:
    dead = _staging(tmp_path, "dead0000", _dead_process())
    mine = _staging(tmp_path, "mine0000", ProcessRecord.of())
    fresh = _staging(tmp_path, "fresh000", None)  # its owner record not written yet
    old = _staging(tmp_path, "old00000", None)
    remote = _staging(tmp_path, "remote00", ProcessRecord(1, "some-other-host"))
    long_ago = time.time() - cache.STALE_STAGING_SECONDS - 60
    os.utime(old, (long_ago, long_ago))
    other = tmp_path / ".git"
    other.mkdir()
    assert sorted(cache.clear_stale_staging(tmp_path)) == [dead, old]
    assert {p.name for p in tmp_path.iterdir()} == {mine.name, fresh.name, remote.name, ".git"}


def test_a_killed_runners_orphaned_compiler_is_stopped(tmp_path: Path) -> None:
    # What SIGKILL of a runner mid-compile leaves: make's group, in its own session, alive.
    orphan = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        folder = _staging(tmp_path, "orphan00", _dead_process(), ProcessRecord.of(orphan.pid))
        assert cache.clear_stale_staging(tmp_path) == [folder]
        assert orphan.wait(timeout=10) == -signal.SIGTERM
        assert not folder.exists()
    finally:
        orphan.kill()
        orphan.wait()


# --- real processes (Stan) -----------------------------------------------------------------


def _group_members(group: int) -> list[str]:
    """Commands of the running processes of a process group (Linux /proc)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command, fields = (entry / "stat").read_text().rsplit(")", 1)
        except OSError:
            continue
        state, _, pgrp = fields.split()[:3]
        if int(pgrp) == group and state != "Z":
            members.append(command.split("(", 1)[1])
    return members


def _wait_for(condition: Any, seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


COMPILE_CHILD = """
import signal
import sys
from pathlib import Path
from mmm_runner.backend import cache, toolchain
from mmm_runner.pipeline.interrupts import sigterm_as_interrupt

# Ctrl-C as at a terminal, even when the tests run in a background job (which starts its
# children with SIGINT ignored)
signal.signal(signal.SIGINT, signal.default_int_handler)
with sigterm_as_interrupt():
    try:
        cache.compile_model(Path(sys.argv[1]), toolchain.locate(), cache_dir=Path(sys.argv[2]))
    except KeyboardInterrupt:
        sys.exit(130)
"""


@pytest.mark.stan
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_an_interrupted_compile_stops_its_compiler_and_leaves_no_staging(
    tmp_path: Path, sig: signal.Signals, toolchain: Any
) -> None:
    program = ROOT / "tests" / "backend" / "stan_programs" / "normal_known_sigma.stan"
    store = tmp_path / "models"  # a fresh entry; the shared toolchain
    child = subprocess.Popen([sys.executable, "-c", COMPILE_CHILD, str(program), str(store)])
    try:

        def compiling() -> int | None:
            for owner in store.glob(f".*/{cache.STAGING_OWNER}"):
                group = json.loads(owner.read_text()).get("group")
                if group and "cc1plus" in _group_members(group["pid"]):
                    return int(group["pid"])
            return None

        group = _wait_for(compiling, 120, "the C++ compiler to start")
        child.send_signal(sig)
        assert child.wait(timeout=60) == 130
    finally:
        child.kill()
        child.wait()
    assert [p.name for p in store.iterdir() if p.name.startswith(".")] == []
    assert _group_members(group) == []  # make, g++ and cc1plus all stopped


@pytest.mark.stan
def test_a_run_killed_with_sigkill_is_abandoned(tmp_path: Path) -> None:
    config = yaml.safe_load((ROOT / "config" / "single_market_map.yaml").read_text())
    config["data"]["path"] = str(ROOT / "data" / "single_market.csv")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    results = tmp_path / "results"
    command = [sys.executable, "-m", "mmm_runner.cli.main", "run", "-c", str(path)]
    runner = subprocess.Popen(
        [*command, "-o", str(results), "-q"],
        start_new_session=True,  # so that its Stan processes die with it, as in a power cut
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    fit_status = constants.stage_folder("model_fit") + "/" + constants.STATUS
    try:

        def fitting() -> Path | None:
            for run in results.glob("*"):
                manifest = run / METADATA / constants.MANIFEST
                started = (run / fit_status).is_file() and manifest.is_file()
                if started and json.loads(manifest.read_text())["status"] == "running":
                    return run
            return None

        run = _wait_for(fitting, 300, "20_model_fit to start")
    finally:
        os.killpg(runner.pid, signal.SIGKILL)
        runner.wait()
    manifest = json.loads((run / METADATA / constants.MANIFEST).read_text())
    assert manifest["status"] == "running"
    assert manifest["process"]["pid"] == runner.pid
    assert run_state(run) == "abandoned"
    result = CliRunner().invoke(app, ["reproduce", str(run)])
    assert result.exit_code == constants.EXIT_CONFIG, result.output
    assert f"abandoned: process {runner.pid} on {socket.gethostname()} is gone" in result.output
