"""What the stages share: the validated config and data, the run folder, and results so far."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from mmm_runner import classes, constants
from mmm_runner.analysis.effects import Decomposition
from mmm_runner.analysis.gates import Gate
from mmm_runner.analysis.loo import Loo
from mmm_runner.analysis.posterior import Posterior, PosteriorData
from mmm_runner.analysis.waic import Waic
from mmm_runner.backend.cache import CompiledModel
from mmm_runner.backend.fit import Draws
from mmm_runner.backend.toolchain import Toolchain
from mmm_runner.config.models import RunConfig
from mmm_runner.config.resolve import ModelSpec
from mmm_runner.data.design import Design
from mmm_runner.model.stan_data import Layout
from mmm_runner.validation import Validation

Array = npt.NDArray[np.float64]
T = TypeVar("T")
StageStatus = Literal["completed", "skipped", "failed", "interrupted", "running"]


class Reporter(Protocol):
    """Where a run reports its progress (the CLI draws it; tests record it)."""

    def stage_started(self, folder: str) -> None: ...

    def stage_finished(
        self, folder: str, status: StageStatus, seconds: float, message: str
    ) -> None: ...

    def note(self, message: str) -> None: ...

    def sampling(self, chain: int, iteration: int, total: int) -> None: ...


class SilentReporter:
    """Reports nothing (`--quiet`, and library use)."""

    def stage_started(self, folder: str) -> None:
        pass

    def stage_finished(
        self, folder: str, status: StageStatus, seconds: float, message: str
    ) -> None:
        pass

    def note(self, message: str) -> None:
        pass

    def sampling(self, chain: int, iteration: int, total: int) -> None:
        pass


@dataclass
class StageResult:
    """What a stage did: completed or skipped (failures are raised), and its files."""

    status: Literal["completed", "skipped"] = "completed"
    message: str = ""
    artefacts: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Fit:
    """What 20_model_fit hands on: the design, the program it ran and the posterior."""

    design: Design
    names: Layout
    draws: Draws
    posterior: PosteriorData  # ArviZ groups (posterior, predictive, log_lik, stats)
    post: Posterior  # flat draws for the NumPy analysis
    quantities: dict[str, tuple[str, str, Array]]  # original-scale parameters
    decomposition: Decomposition
    compiled: CompiledModel
    toolchain: Toolchain

    @property
    def method(self) -> str:
        return self.draws.method

    @property
    def kpi_rep(self) -> Array:
        """Posterior predictive draws of the KPI, (draws, rows)."""
        values: Array = self.posterior.posterior_predictive["kpi_rep"].values
        return values.reshape(self.post.n_draws, -1)


@dataclass(frozen=True)
class Score:
    """PSIS-LOO and WAIC of the fit, computed once (for the Pareto-k gate and model selection)."""

    loo: Loo | None  # None: disabled, or a point estimate (MAP)
    reason: str = ""  # why there is none
    waic: Waic | None = None  # None exactly when loo is


class Validated:
    """The config and model spec of a ``validation`` that passed (a bug if it did not)."""

    validation: Validation

    @property
    def config(self) -> RunConfig:
        assert self.validation.loaded is not None
        return self.validation.loaded.config

    @property
    def spec(self) -> ModelSpec:
        assert self.validation.spec is not None
        return self.validation.spec


@dataclass
class RunContext(Validated):
    """The state of one run, handed from stage to stage.

    Stage outputs are typed slots (``fit``, ``score``, ``gates``): reading one
    before the stage that fills it has run is a stage-order bug.
    """

    validation: Validation
    run_dir: Path
    started: datetime
    reporter: Reporter
    log: logging.Logger
    command: list[str]
    force_recompile: bool = False
    plots: bool = True
    manifest: dict[str, Any] = field(default_factory=dict)
    gates: list[Gate] = field(default_factory=list)  # every gate of the run, in order
    _fit: Fit | None = None
    _score: Score | None = None

    @property
    def model_class(self) -> classes.ModelClass:
        return classes.get(self.spec.model_class)

    @property
    def fit(self) -> Fit:
        return _produced(self._fit, "fit")

    @fit.setter
    def fit(self, value: Fit) -> None:
        self._fit = value

    @property
    def score(self) -> Score:
        return _produced(self._score, "score")

    @score.setter
    def score(self, value: Score) -> None:
        self._score = value

    def folder(self, stage: str) -> Path:
        return self.run_dir / constants.stage_folder(stage)


def _produced(value: T | None, name: str) -> T:
    """A result an earlier stage produced (a bug if missing)."""
    if value is None:
        raise RuntimeError(f"stage order bug: '{name}' was not produced before it was needed")
    return value
