"""Facts about the machine that several parts of the runner act on."""

from __future__ import annotations

import os


def usable_cores() -> int:
    """Cores this process may run on: CPU affinity and container limits respected."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
