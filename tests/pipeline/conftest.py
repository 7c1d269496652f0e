"""Real runs of the pipeline, shared by the tests that inspect their folders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mmm_runner.pipeline.runner import RunOptions, execute

ROOT = Path(__file__).resolve().parents[2]


class Recorder:
    """A reporter that keeps what the run said."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def stage_started(self, folder: str) -> None:
        self.events.append(("started", folder))

    def stage_finished(self, folder: str, status: str, seconds: float, message: str) -> None:
        self.events.append(("finished", (folder, status)))

    def note(self, message: str) -> None:
        self.events.append(("note", message))

    def sampling(self, chain: int, iteration: int, total: int) -> None:
        self.events.append(("sampling", (chain, iteration, total)))


def compiled_program(model_class: str) -> Any:
    """A model class's compiled program, from the shared cache (compiled on first use)."""
    from mmm_runner.backend import cache, toolchain
    from mmm_runner.model import programs

    return cache.compile_model(programs.program(model_class), toolchain.locate())


def elpd_loo(run_dir: Path) -> tuple[float, float]:
    """A run's PSIS-LOO elpd and its standard error (50_model_selection)."""
    import pandas as pd

    row = pd.read_csv(run_dir / "50_model_selection" / "loo_summary.csv").iloc[0]
    return float(row["elpd_loo"]), float(row["se"])


def replay(exe: Path, data: dict[str, Any], inits: dict[str, Any], out: Path) -> Any:
    """Runs a compiled program once at fixed parameter values (for its generated quantities)."""
    import cmdstanpy

    return cmdstanpy.CmdStanModel(exe_file=str(exe)).sample(
        data=data,
        inits=inits,
        fixed_param=True,
        chains=1,
        iter_sampling=1,
        sig_figs=18,
        output_dir=out,
        show_progress=False,
    )


def panel_posterior(point: Any) -> Any:
    """The hierarchical program's replayed draw as the NumPy analysis takes it."""
    from mmm_runner.analysis.posterior import Posterior

    names = ("alpha", "beta", "theta", "sigma", "alpha_g", "beta_g", "tau")
    return Posterior(*(point.stan_variable(n) for n in names), 1)


def run_config(config: Path, out: Path, reporter: Any = None) -> Path:
    outcome = execute(config, RunOptions(output_dir=out), reporter)
    return outcome.run_dir


@pytest.fixture(scope="session")
def single_market_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Recorder]:
    """The shipped single-market example, run by MCMC as a user would."""
    recorder = Recorder()
    out = tmp_path_factory.mktemp("results")
    return run_config(ROOT / "config" / "single_market.yaml", out, recorder), recorder


@pytest.fixture(scope="session")
def truth() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "data" / "single_market_truth.json").read_text())
    return data
