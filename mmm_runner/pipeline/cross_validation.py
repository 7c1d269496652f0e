"""Refits the run's model on expanding windows and scores the periods after each.

Folds are cut by date, the same dates for every group: fold k fits the rows up
to its training end and predicts the next ``horizon`` dates. The run's own
holdout rows never enter. Each fold reuses the run's compiled program and
learns scales, means and CRE group means from its own training rows only.
Folds run side by side when the cores allow (an MCMC fold already uses
``parallel_chains`` cores), or on a Dask cluster (``cv.scheduler``), each worker
compiling the program into its own cache. The folds' Stan CSVs are temporary: only the scores
are kept.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mmm_runner import classes
from mmm_runner.analysis import cv
from mmm_runner.analysis.posterior import predictive_kpi
from mmm_runner.backend import fit
from mmm_runner.backend.cache import CompiledModel
from mmm_runner.backend.toolchain import Toolchain
from mmm_runner.config.models import CvConfig, RunConfig
from mmm_runner.config.resolve import ModelSpec
from mmm_runner.data.design import Design, build_design
from mmm_runner.errors import ConfigError
from mmm_runner.system import usable_cores

# Fold seeds are the run's seed plus this times the fold number: distinct, reproducible.
FOLD_SEED_STRIDE = 1000


def cross_validate(
    frame: pd.DataFrame,
    config: RunConfig,
    spec: ModelSpec,
    compiled: CompiledModel,
    tools: Toolchain,
    note: Callable[[str], None] = lambda _: None,
) -> pd.DataFrame:
    """One row per fold: its windows and scores (cv_folds.csv)."""
    settings = config.cv
    assert settings is not None
    rows = _without_holdout(frame, config)
    when = rows[config.data.date_column]
    # Folds are cut in the fitting window; warm-up rows before it stay in every fold.
    start = pd.Timestamp(config.data.start) if config.data.start else when.min()
    dates = np.sort(when[when >= start].unique())
    folds = cv.plan(settings, len(dates))
    if not folds:
        raise ConfigError(
            f"cv: initial {settings.initial} + horizon {settings.horizon} leave no fold in the "
            f"{len(dates)} fitted periods",
            hint="Shorten cv.initial or cv.horizon.",
        )
    method = settings.method or config.fit.method

    def job(fold: cv.Fold) -> FoldJob:
        train_end, test_end = dates[fold.train - 1], dates[fold.train + fold.horizon - 1]
        when = rows[config.data.date_column]
        part = rows[when <= test_end].reset_index(drop=True)
        fitted = (part[config.data.date_column] <= train_end).to_numpy()
        return FoldJob(fold, part, fitted, config, spec, method)

    jobs = [job(fold) for fold in folds]
    if settings.scheduler:
        note(f"cross-validation: {len(folds)} fold(s) by {method} on {settings.scheduler}")
        return pd.DataFrame(_on_cluster(settings.scheduler, jobs))
    workers = max(1, usable_cores() // fit.cores_per_fit(config.fit, method))
    note(f"cross-validation: {len(folds)} fold(s) by {method}, {workers} at a time")
    with (
        tempfile.TemporaryDirectory(prefix="mmm_cv_") as scratch,
        ThreadPoolExecutor(max_workers=workers) as pool,
    ):
        results = list(pool.map(lambda j: j.run(compiled, tools, Path(scratch)), jobs))
    return pd.DataFrame(results)


@dataclass(frozen=True)
class FoldJob:
    """One fold's inputs, self-contained so that a Dask worker can fit it."""

    fold: cv.Fold
    rows: pd.DataFrame
    fitted: np.ndarray[Any, np.dtype[np.bool_]]
    config: RunConfig
    spec: ModelSpec
    method: str

    def run(self, compiled: CompiledModel, tools: Toolchain, scratch: Path) -> dict[str, Any]:
        return _fold(
            self.fold,
            self.rows,
            self.fitted,
            self.config,
            self.spec,
            compiled,
            tools,
            self.method,
            scratch,
        )


def _on_cluster(scheduler: str, jobs: list[FoldJob]) -> list[dict[str, Any]]:
    """The folds fitted on a Dask cluster (cv.scheduler), in fold order."""
    from mmm_runner.batch.cluster import connect

    with connect(scheduler, workers=1, retries=0) as client:
        futures = client.map(_on_worker, jobs, pure=False)
        results: list[dict[str, Any]] = client.gather(futures)
    return results


def _on_worker(job: FoldJob) -> dict[str, Any]:
    """A fold on a worker: the program from the worker's own cache (compiled there on
    first use), the fold's files in the worker's own scratch folder."""
    from mmm_runner.backend import cache, toolchain
    from mmm_runner.model import programs

    tools = toolchain.locate()
    compiled = cache.compile_model(programs.program(job.spec.model_class), tools)
    with tempfile.TemporaryDirectory(prefix="mmm_cv_") as scratch:
        return job.run(compiled, tools, Path(scratch))


def _without_holdout(frame: pd.DataFrame, config: RunConfig) -> pd.DataFrame:
    """The run's fitted rows: all but the last ``data.holdout`` of each group."""
    holdout, group = config.data.holdout, config.data.group_column
    if not holdout:
        return frame
    parts = [p for _, p in frame.groupby(group, sort=False)] if group else [frame]
    return pd.concat([p.iloc[:-holdout] for p in parts])


def _fold(
    fold: cv.Fold,
    rows: pd.DataFrame,
    fitted: np.ndarray[Any, np.dtype[np.bool_]],
    config: RunConfig,
    spec: ModelSpec,
    compiled: CompiledModel,
    tools: Toolchain,
    method: str,
    scratch: Path,
) -> dict[str, Any]:
    design = build_design(rows, config, spec, fitted=fitted)
    # MAP gives a point: score the fitted mean, not a single noisy predictive draw.
    point = method == "map"
    model_class = classes.get(spec.model_class)
    data = model_class.stan_data(design, spec, use_jacobian=not point, save_mu=point)
    out = scratch / f"fold_{fold.number}"
    out.mkdir()
    data_file = fit.write_data(out / "data.json", data)
    seed = config.seed + FOLD_SEED_STRIDE * fold.number
    draws = fit.run_method(
        method,
        compiled,
        tools,
        str(data_file),
        config.fit,
        seed,
        out,
        correlated=model_class.correlated(spec),
    )
    draws = model_class.kpi_draws(draws, design, spec)
    predictive = _point_kpi(draws, design) if point else predictive_kpi(draws, design)
    predictive = predictive.reshape(-1, predictive.shape[-1])
    test = ~design.fitted
    shutil.rmtree(out, ignore_errors=True)
    return {
        "fold": fold.number,
        **_windows(design),
        "n_train": int(design.fitted.sum()),
        "n_test": int(test.sum()),
        **cv.scores(predictive[:, test], design.kpi[test]),
    }


def _point_kpi(draws: fit.Draws, design: Design) -> np.ndarray[Any, np.dtype[np.float64]]:
    """The linear predictor on the KPI scale (the median KPI for log-response models)."""
    mu = draws.variables["mu_out"] * design.y_sd + design.y_mean
    point: np.ndarray[Any, np.dtype[np.float64]] = np.exp(mu) if design.log_response else mu
    return point * design.per_capita  # per-capita models are scored in totals


def _windows(design: Design) -> dict[str, str]:
    train, test = design.dates[design.fitted], design.dates[~design.fitted]
    return {
        "train_start": str(train.min().date()),
        "train_end": str(train.max().date()),
        "test_start": str(test.min().date()),
        "test_end": str(test.max().date()),
    }


def summarise(folds: pd.DataFrame, settings: CvConfig) -> pd.DataFrame:
    """cv_summary.csv: mean scores over the folds, with the fold settings."""
    means = folds[["rmse", "mape", "crps", "coverage_90"]].mean()
    return pd.DataFrame(
        [
            {
                "folds": len(folds),
                "initial": settings.initial,
                "horizon": settings.horizon,
                "step": settings.step,
                **{k: float(v) for k, v in means.items()},
            }
        ]
    )
