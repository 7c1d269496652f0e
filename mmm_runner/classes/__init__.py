"""The model-class registry: every class the runner fits, by its config name.

Adding a class is one module here (a ``ModelClass`` subclass), one Stan
program in ``stan/``, one line below and its name in the config's
``ModelClass`` choices (a test checks the two lists agree).
"""

from __future__ import annotations

from mmm_runner.classes.base import ModelClass
from mmm_runner.classes.blm import Blm
from mmm_runner.classes.hierarchical import Hierarchical
from mmm_runner.classes.nested import Combined, Multivariate, Nested
from mmm_runner.classes.pooled import Pooled

REGISTRY: dict[str, ModelClass] = {
    cls.name: cls() for cls in (Blm, Hierarchical, Pooled, Nested, Multivariate, Combined)
}


def get(name: str) -> ModelClass:
    """The model class of a config's ``model.class``."""
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise KeyError(f"unknown model class {name!r} (known: {known})") from None


__all__ = ["REGISTRY", "ModelClass", "get"]
