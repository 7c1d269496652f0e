"""Names and numbers the whole package agrees on, kept in one place."""

from __future__ import annotations

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
EXIT_INTERRUPTED: Final = 130

EXIT_CODES: Final[dict[type[errors.MMMError], int]] = {
    errors.ConfigError: EXIT_CONFIG,  # DataError is a ConfigError
    errors.ToolchainError: EXIT_COMPILE,
    errors.CompileError: EXIT_COMPILE,
    errors.SamplingError: EXIT_SAMPLING,
    errors.GateError: EXIT_GATE,
    errors.OptimisationError: EXIT_OPTIMISATION,
    errors.RunInterruptedError: EXIT_INTERRUPTED,
}

# Environment variables the package reads.
ENV_CACHE_DIR: Final = "MMM_CACHE_DIR"
ENV_CMDSTAN: Final = "CMDSTAN"
ENV_NO_PCH: Final = "MMM_NO_PCH"
