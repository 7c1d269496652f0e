"""What the stages share: the validated config and data, the run folder, and results so far."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from mmm_runner import constants
from mmm_runner.config.models import RunConfig
from mmm_runner.config.resolve import ModelSpec
from mmm_runner.validate import Validation

Array = npt.NDArray[np.float64]
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


@dataclass
class RunContext:
    """The state of one run, handed from stage to stage."""

    validation: Validation
    run_dir: Path
    started: datetime
    reporter: Reporter
    log: logging.Logger
    command: list[str]
    force_recompile: bool = False
    plots: bool = True
    manifest: dict[str, Any] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)  # stage outputs, by name

    @property
    def config(self) -> RunConfig:
        assert self.validation.loaded is not None
        return self.validation.loaded.config

    @property
    def spec(self) -> ModelSpec:
        assert self.validation.spec is not None
        return self.validation.spec

    def folder(self, stage: str) -> Path:
        return self.run_dir / constants.stage_folder(stage)

    def need(self, key: str) -> Any:
        """A result an earlier stage produced (a bug if missing)."""
        if key not in self.results:
            raise RuntimeError(f"stage order bug: '{key}' was not produced before it was needed")
        return self.results[key]
