"""Where the Stan programs are: one generic program per model class."""

from __future__ import annotations

from pathlib import Path

from mmm_runner.errors import CompileError


def stan_dir() -> Path:
    """The project's stan/ folder (a source checkout) or the copy packaged with a wheel."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[2] / "stan", here.parents[1] / "_stan"):
        if (candidate / "functions").is_dir():
            return candidate
    raise CompileError(
        "the Stan programs are missing from this installation",
        hint="Reinstall mmm_runner (pip install -e . in the project).",
    )


def program(model_class: str) -> Path:
    """The Stan program of a model class (the registry says which file)."""
    from mmm_runner.classes import get  # the registry sits above the model layer

    path = stan_dir() / get(model_class).program
    if not path.is_file():
        raise CompileError(f"no Stan program for model class {model_class} at {path}")
    return path
