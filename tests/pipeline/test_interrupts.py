"""Stopping a run from outside: which processes are stopped, and SIGTERM as Ctrl-C."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mmm_runner.pipeline.interrupts import sigterm_as_interrupt, stop_programs_under


def test_only_children_running_programs_from_the_folder_are_stopped(tmp_path: Path) -> None:
    sleeper = tmp_path / "models" / "sleeper"
    sleeper.parent.mkdir()
    shutil.copy(shutil.which("sleep") or "/bin/sleep", sleeper)
    inside = subprocess.Popen([str(sleeper), "60"])
    outside = subprocess.Popen(["sleep", "60"])
    try:
        assert stop_programs_under(tmp_path / "models") == [inside.pid]
        assert inside.wait(timeout=10) == -signal.SIGTERM
        assert outside.poll() is None
    finally:
        for proc in (inside, outside):
            proc.kill()
            proc.wait()


def _terminate_self_inside_the_block() -> None:
    with sigterm_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
        signal.sigtimedwait([], 0)  # lets the handler run before the block ends


def test_sigterm_raises_keyboard_interrupt_inside_the_block_only() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        _terminate_self_inside_the_block()
    assert signal.getsignal(signal.SIGTERM) == before


def test_outside_the_main_thread_signals_are_left_alone() -> None:
    code = (
        "import signal, threading\n"
        "from mmm_runner.pipeline.interrupts import sigterm_as_interrupt\n"
        "def check():\n"
        "    with sigterm_as_interrupt():\n"
        "        print(signal.getsignal(signal.SIGTERM) == signal.SIG_DFL)\n"
        "t = threading.Thread(target=check); t.start(); t.join()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
