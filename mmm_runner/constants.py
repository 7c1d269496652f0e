"""Names and numbers the whole package agrees on, kept in one place."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from mmm_runner import errors

# Exit codes of the `mmm` command.  Only the CLI uses this table.
EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
EXIT_CONFIG: Final = 2
EXIT_COMPILE: Final = 3
EXIT_SAMPLING: Final = 4
EXIT_GATE: Final = 5
EXIT_OPTIMISATION: Final = 6
EXIT_MISMATCH: Final = 7  # `mmm reproduce`: the rerun differs from the original
EXIT_STORAGE: Final = 8  # the run's files could not be written (disk full, read-only)
EXIT_BATCH: Final = 9  # `mmm batch`: some runs failed (the others ran; see the summary)
EXIT_INTERRUPTED: Final = 130

EXIT_CODES: Final[dict[type[errors.MMMError], int]] = {
    errors.ConfigError: EXIT_CONFIG,  # DataError is a ConfigError
    errors.UsageError: EXIT_CONFIG,
    errors.ToolchainError: EXIT_COMPILE,
    errors.CompileError: EXIT_COMPILE,
    errors.SamplingError: EXIT_SAMPLING,
    errors.GateError: EXIT_GATE,
    errors.OptimisationError: EXIT_OPTIMISATION,
    errors.RunInterruptedError: EXIT_INTERRUPTED,
    errors.ReproductionError: EXIT_MISMATCH,
    errors.StorageError: EXIT_STORAGE,
    errors.BatchError: EXIT_BATCH,
}


def exit_code(error: errors.MMMError) -> int:
    """The exit code of an error (the CLI's one mapping)."""
    for kind, code in EXIT_CODES.items():
        if isinstance(error, kind):
            return code
    return EXIT_FAILURE


# Environment variables the package reads.
ENV_CACHE_DIR: Final = "MMM_CACHE_DIR"
ENV_CMDSTAN: Final = "CMDSTAN"
ENV_NO_PCH: Final = "MMM_NO_PCH"
ENV_DASK_SCHEDULER: Final = "MMM_DASK_SCHEDULER"  # `mmm batch`: an existing Dask cluster
ENV_CORES: Final = "MMM_CORES"  # cores a process may use (set for a batch's local workers)

# The pipeline's stages, in run order; folder numbers come from the position
# (00_run_metadata, 10_pre_run, ...).
STAGES: Final = (
    "run_metadata",
    "pre_run",
    "model_fit",
    "post_run",
    "diagnostics",
    "model_selection",
    "optimisation",
    "forecast",
)


def stage_folder(stage: str, stages: Sequence[str] = STAGES) -> str:
    """The numbered folder of a stage among ``stages`` (the run's by default): 20_model_fit."""
    return f"{10 * stages.index(stage):02d}_{stage}"


# Files every run folder carries (the artefact contract, docs/artefacts.md).
MANIFEST: Final = "manifest.json"
STATUS: Final = "status.json"
RUN_LOG: Final = "run.log"
CONFIG_AS_GIVEN: Final = "config_as_given.yaml"
CONFIG_RESOLVED: Final = "config_resolved.yaml"
POSTERIOR: Final = "posterior.nc"
POSTERIOR_SUMMARY: Final = "posterior_summary.csv"
FIT_METRICS: Final = "fit_metrics.csv"
FITTED_VALUES: Final = "fitted_values.csv"
DECOMP_ROWS: Final = "decomp_timeseries.csv"
DECOMP_TOTALS: Final = "decomp_totals.csv"
CALIBRATION: Final = "calibration.csv"
SELECTION: Final = "selection.csv"
DRIFT: Final = "time_varying_effects.csv"
ROI: Final = "roi.csv"
GATES: Final = "gates.csv"
LOO_SUMMARY: Final = "loo_summary.csv"
PARETO_K: Final = "pareto_k.csv"
WAIC_SUMMARY: Final = "waic_summary.csv"
CV_FOLDS: Final = "cv_folds.csv"
CV_SUMMARY: Final = "cv_summary.csv"
FORECAST: Final = "forecast.csv"

# Dimension names of the posterior (ArviZ coordinates).
DIM_COEF: Final = "coef"
DIM_TRANSFORM: Final = "transform_param"
DIM_TIME: Final = "time"
DIM_OBS: Final = "obs"
