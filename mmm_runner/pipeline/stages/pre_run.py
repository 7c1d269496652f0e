"""10_pre_run: the validation report, a data profile and design checks.

The identifiability checks (collinearity, conditioning, rows per parameter,
near-constant columns) run here, before any fit; under the ``strict``
diagnostics policy a failed one stops the run (after its table is written).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmm_runner import plotting
from mmm_runner.analysis import identifiability
from mmm_runner.atomic import write_csv
from mmm_runner.data.design import build_design
from mmm_runner.errors import GateError
from mmm_runner.pipeline.context import RunContext, StageResult
from mmm_runner.pipeline.manifest import write_json

IDENTIFIABILITY = "identifiability.csv"


def run(ctx: RunContext) -> StageResult:
    folder = ctx.folder("pre_run")
    validation = ctx.validation
    report = validation.as_dict()
    write_json(folder / "validation_report.json", report)
    profile = pd.DataFrame(validation.summary["columns"]).T.rename_axis("column").reset_index()
    write_csv(profile, folder / "data_profile.csv")
    frame = validation.frame
    assert frame is not None
    media = list(ctx.spec.media_names)
    corr = frame[media].corr().round(4)
    write_csv(corr.rename_axis("channel"), folder / "media_correlation.csv", index=True)
    values = corr.to_numpy(dtype=float)
    figures = plotting.render_all(
        [
            (
                "data_overview.png",
                "media_overview",
                (
                    frame,
                    ctx.config.data.date_column,
                    media,
                    ctx.spec.kpi,
                    ctx.config.data.group_column,
                ),
            )
        ],
        folder,
        ctx.plots,
    )
    checks = _identifiability(ctx, frame)
    high = [
        (a, media[j], float(values[i, j]))
        for i, a in enumerate(media)
        for j in range(i + 1, len(media))
        if abs(values[i, j]) >= 0.7
    ]
    flagged = _flagged(checks)
    return StageResult(
        message=f"{len(validation.warnings)} warning(s)"
        + (f"; identifiability: {flagged}" if flagged else ""),
        artefacts=[
            "validation_report.json",
            "data_profile.csv",
            "media_correlation.csv",
            IDENTIFIABILITY,
            *figures,
        ],
        summary={
            "warnings": len(validation.warnings),
            "max_media_correlation": float(np.nanmax(np.abs(corr.to_numpy() - np.eye(len(media)))))
            if len(media) > 1
            else 0.0,
            "correlated_pairs": high,
            **identifiability.summary(checks),
        },
    )


def _identifiability(ctx: RunContext, frame: pd.DataFrame) -> list[identifiability.Finding]:
    """Writes identifiability.csv; reports warnings, and stops a strict run on a failure."""
    design = build_design(frame, ctx.config, ctx.spec)
    checks = identifiability.check_design(design, ctx.spec)
    path = ctx.folder("pre_run") / IDENTIFIABILITY
    write_csv(identifiability.table(checks), path)
    flagged = _flagged(checks)
    if flagged:
        ctx.log.warning("identifiability: %s (see %s)", flagged, path)
        ctx.reporter.note(f"identifiability: {flagged} (see {IDENTIFIABILITY})")
    policy = ctx.config.diagnostics.policy
    stopping = identifiability.failing(checks, policy)
    if stopping:
        names = ", ".join(f"{f.check} ({f.term}: {_value(f.value)})" for f in stopping[:5])
        more = f" and {len(stopping) - 5} more" if len(stopping) > 5 else ""
        raise GateError(
            f"diagnostics policy '{policy}' stops the run before fitting: identifiability "
            f"check failed: {names}{more}",
            hint=f"See {path} for values and advice; merge or drop the terms involved, or use "
            "policy publish or explore to record the checks without stopping.",
        )
    return checks


def _flagged(checks: list[identifiability.Finding]) -> str:
    """'2 warn (vif, near_constant), 1 fail (condition_number)', or '' when all pass."""
    parts = []
    for status in ("warn", "fail"):
        hits = [f.check for f in checks if f.status == status]
        if hits:
            parts.append(f"{len(hits)} {status} ({', '.join(dict.fromkeys(hits))})")
    return ", ".join(parts)


def _value(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"
