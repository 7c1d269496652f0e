"""Refits the run's model on expanding windows and scores the periods after each.

Every fold reuses the run's compiled program; its data are the first
``train + horizon`` rows of every group with the last ``horizon`` held out, so
standardisation and media scales are learnt on the fold's own training rows.
Folds run side by side when the cores allow (an MCMC fold already uses
``parallel_chains`` cores). Stan CSVs of the folds are temporary: only the
scores are kept.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

from mmm_runner.analysis import cv
from mmm_runner.analysis.posterior import predictive_kpi
from mmm_runner.backend import fit
from mmm_runner.backend.cache import CompiledModel
from mmm_runner.backend.toolchain import Toolchain
from mmm_runner.config.models import CvConfig, RunConfig
from mmm_runner.config.resolve import ModelSpec
from mmm_runner.data.design import Design, build_design
from mmm_runner.model import stan_data

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
    group = config.data.group_column
    parts = [p for _, p in frame.groupby(group, sort=False)] if group else [frame]
    periods = min(len(p) for p in parts) - config.data.holdout
    folds = cv.plan(settings, periods)
    method = settings.method or config.fit.method
    workers = max(1, (os.cpu_count() or 1) // _cores_per_fit(config, method))
    note(f"cross-validation: {len(folds)} fold(s) by {method}, {workers} at a time")
    with tempfile.TemporaryDirectory(prefix="mmm_cv_") as scratch:

        def one(fold: cv.Fold) -> dict[str, Any]:
            rows = pd.concat([p.iloc[: fold.train + fold.horizon] for p in parts])
            return _fold(fold, rows, config, spec, compiled, tools, method, Path(scratch))

        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(one, folds))
    return pd.DataFrame(results)


def _cores_per_fit(config: RunConfig, method: str) -> int:
    if method != "mcmc":
        return 1
    chains = config.fit.chains
    return min(chains, config.fit.parallel_chains or chains, os.cpu_count() or 1)


def _fold(
    fold: cv.Fold,
    rows: pd.DataFrame,
    config: RunConfig,
    spec: ModelSpec,
    compiled: CompiledModel,
    tools: Toolchain,
    method: str,
    scratch: Path,
) -> dict[str, Any]:
    fold_config = config.model_copy(
        update={"data": config.data.model_copy(update={"holdout": fold.horizon})}
    )
    design = build_design(rows.reset_index(drop=True), fold_config, spec)
    data = stan_data.build(design, spec, use_jacobian=method != "map")
    out = scratch / f"fold_{fold.number}"
    out.mkdir()
    data_file = fit.write_data(out / "data.json", data)
    draws = fit.run_method(
        method,
        compiled,
        tools,
        str(data_file),
        config.fit,
        config.seed + FOLD_SEED_STRIDE * fold.number,
        out,
    )
    predictive = predictive_kpi(draws, design)
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
