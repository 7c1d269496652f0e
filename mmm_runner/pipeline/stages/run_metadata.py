"""00_run_metadata: the config as given and as resolved, and the session."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import yaml

from mmm_runner import constants
from mmm_runner.atomic import copy_file, write_text
from mmm_runner.config.notation import Distribution
from mmm_runner.config.resolve import ModelSpec
from mmm_runner.pipeline.context import RunContext, StageResult
from mmm_runner.pipeline.manifest import session_info, write_json


def run(ctx: RunContext) -> StageResult:
    folder = ctx.folder("run_metadata")
    copy_file(ctx.validation.config_path, folder / constants.CONFIG_AS_GIVEN)
    document = ctx.config.model_dump(mode="json", by_alias=True)
    document["resolved"] = resolved(ctx.spec)
    write_text(
        folder / constants.CONFIG_RESOLVED,
        "# The config with every default filled in; `resolved` shows the model as fitted:\n"
        "# each term's role, prior and bounds (on the modelling scale).\n"
        + yaml.safe_dump(document, sort_keys=False, allow_unicode=True),
    )
    write_json(folder / "session_info.json", session_info())
    files = [
        constants.CONFIG_AS_GIVEN,
        constants.CONFIG_RESOLVED,
        "session_info.json",
        constants.MANIFEST,
        constants.RUN_LOG,
    ]
    return StageResult(artefacts=files)


def _bound(value: float) -> float | str:
    return value if math.isfinite(value) else ("inf" if value > 0 else "-inf")


def _prior_of(spec: ModelSpec, name: str, prior: Distribution) -> str:
    """A coefficient's prior as fitted: its own, or the selection prior it is under."""
    if spec.selection is not None and name in spec.selected:
        return f"{spec.selection.prior} (model.selection)"
    return str(prior)


def resolved(spec: ModelSpec) -> dict[str, Any]:
    """The model as fitted: terms, forms, priors and bounds, all explicit."""
    return {
        "class": spec.model_class,
        "kpi": spec.kpi,
        "response": "log" if spec.log_response else "identity",
        "standardise": spec.standardise,
        "media": [
            {
                "name": m.name,
                "spend_column": m.spend_column,
                "adstock": m.adstock,
                "l_max": m.l_max,
                "saturation": m.saturation,
                "scope": m.scope,
            }
            for m in spec.media
        ],
        "controls": list(spec.controls),
        "trend": spec.trend.model_dump(mode="json") if spec.trend else None,
        "seasonality": [{"period": p, "order": o} for p, o in spec.seasonality],
        "group": spec.group,
        "varying": list(spec.varying),
        "varying_intercept": spec.varying_intercept,
        "crossed": {p.column: list(p.labels()) for p in spec.crossed},
        "priors": [f"intercept ~ {spec.intercept.prior}", f"sigma ~ {spec.sigma_prior}"]
        + [f"{name} ~ {_prior_of(spec, name, c.prior)}" for name, c in spec.coefficients.items()]
        + [f"{p.label} ~ {p.prior}" for p in spec.transform_params],
        "selection": dataclasses.asdict(spec.selection) if spec.selection else None,
        "bounds": {
            name: [_bound(c.lower), _bound(c.upper)]
            for name, c in spec.coefficients.items()
            if math.isfinite(c.lower) or math.isfinite(c.upper)
        },
    }
