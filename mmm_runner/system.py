"""Facts about the machine that several parts of the runner act on."""

from __future__ import annotations

import os

from mmm_runner.constants import ENV_CORES


def usable_cores() -> int:
    """Cores this process may run on: CPU affinity and container limits respected, and
    at most ``MMM_CORES`` when set (a batch worker's share of its machine)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    share = os.environ.get(ENV_CORES, "")
    return min(cores, int(share)) if share.isdigit() and int(share) > 0 else cores
