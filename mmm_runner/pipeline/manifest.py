"""The run manifest: what ran, on what, with which versions, and how each stage went."""

from __future__ import annotations

import json
import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = (
    "mmm_runner",
    "cmdstanpy",
    "httpstan",
    "arviz",
    "numpy",
    "pandas",
    "scipy",
    "xarray",
    "pydantic",
    "matplotlib",
)


def versions() -> dict[str, str]:
    """Versions of Python and the packages a run depends on."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def session_info() -> dict[str, Any]:
    """Where the run happened (session_info.json)."""
    return {
        "python": sys.version,
        "executable": sys.executable,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "packages": versions(),
    }


def write_json(path: Path, data: Any) -> None:
    """Writes JSON atomically: readers never see a half-written file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(tmp, path)
