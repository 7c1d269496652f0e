"""Shared fixtures: the Stan toolchain (assembled once per machine) and compiled programs."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

# Plots render off-screen in tests.
os.environ.setdefault("MPLBACKEND", "Agg")

TESTS = Path(__file__).parent
ROOT = TESTS.parent


@pytest.fixture(scope="session")
def toolchain():  # type: ignore[no-untyped-def]
    """The toolchain every Stan test uses (a real CmdStan if the user has one)."""
    from mmm_runner.backend import toolchain

    return toolchain.locate()


@pytest.fixture(scope="session")
def compiled(toolchain) -> Callable[[Path], object]:  # type: ignore[no-untyped-def]
    """Compiles a Stan program through the content-hashed cache (once per session)."""
    from mmm_runner.backend import cache

    built: dict[Path, object] = {}

    def build(stan_file: Path) -> object:
        if stan_file not in built:
            built[stan_file] = cache.compile_model(stan_file, toolchain)
        return built[stan_file]

    return build
