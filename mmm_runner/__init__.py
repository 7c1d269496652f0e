"""mmm_runner: Bayesian marketing mix models on Stan, from one YAML file.

The public API (``mmm_runner.api``)::

    import mmm_runner

    mmm_runner.validate(config)  # -> the validation report; never raises for a bad config
    mmm_runner.run(config)  # -> Run, the new run folder loaded
    mmm_runner.load_run(path)  # -> Run: manifest, config, posterior, tables
    mmm_runner.compare(*run_dirs)  # -> the compare-runs tables
    mmm_runner.reproduce(run_dir)  # -> the reproduce report

Importing the package stays cheap (the CLI starts through it): the API is imported on
first use.
"""

from __future__ import annotations

import sys

# Importing the package imports nothing else, not even typing (the CLI's start-up pays
# for every module); mypy treats this flag as typing.TYPE_CHECKING.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from mmm_runner.api import (
        MissingArtefactError,
        Run,
        compare,
        load_run,
        reproduce,
        run,
        validate,
    )
    from mmm_runner.comparison import Comparison
    from mmm_runner.reproduction import Reproduction
    from mmm_runner.validation import Validation

__version__ = "0.1.0"

__all__ = [
    "Comparison",
    "MissingArtefactError",
    "Reproduction",
    "Run",
    "Validation",
    "compare",
    "load_run",
    "reproduce",
    "run",
    "validate",
]

# Lazy attributes: name -> the module that defines it.
_LAZY = {
    **dict.fromkeys(
        ("validate", "run", "compare", "reproduce", "load_run", "Run", "MissingArtefactError"),
        "mmm_runner.api",
    ),
    "Validation": "mmm_runner.validation",
    "Comparison": "mmm_runner.comparison",
    "Reproduction": "mmm_runner.reproduction",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    __import__(module)
    value = getattr(sys.modules[module], name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*__all__, "__version__"})
