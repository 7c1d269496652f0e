"""An unreachable scheduler is a usage error, and leaves nothing behind."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmm_runner.batch import cluster
from mmm_runner.cli.main import app

from .helpers import map_config


def test_an_unreachable_scheduler_exits_2_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cluster, "CONNECT_SECONDS", 1)
    with socket.socket() as probe:  # a local port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "results"
    result = CliRunner().invoke(
        app,
        ["batch", str(map_config(tmp_path, "one")), "-o", str(out)],
        env={"MMM_DASK_SCHEDULER": f"tcp://127.0.0.1:{port}"},
    )
    assert result.exit_code == 2, result.output
    assert f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in result.stderr
    assert list(out.iterdir()) == []
