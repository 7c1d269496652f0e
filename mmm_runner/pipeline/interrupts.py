"""Stopping a run from outside: SIGTERM counts as Ctrl-C, and the Stan processes stop too.

A CI job's timeout, ``kill`` or a scheduler sends SIGTERM to the runner alone.
Unhandled, it would leave the run folder marked "running", and the Stan
processes cmdstanpy started would outlive the runner, keeping the cores busy
until their sampling finished.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def stop_programs_under(folder: Path) -> list[int]:
    """Sends SIGTERM to this process's children that run an executable inside ``folder``.

    Reads /proc, so it acts on Linux only (elsewhere Ctrl-C reaches the whole
    process group anyway). Returns the ids signalled.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    root, me = folder.resolve(), os.getpid()
    stopped = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The parent id is the second field after the command name, which may hold ")".
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            program = (entry / "cmdline").read_bytes().split(b"\0", 1)[0].decode()
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
        if parent == me and program and Path(program).resolve().is_relative_to(root):
            try:
                os.kill(int(entry.name), signal.SIGTERM)
                stopped.append(int(entry.name))
            except ProcessLookupError:
                pass
    return stopped
