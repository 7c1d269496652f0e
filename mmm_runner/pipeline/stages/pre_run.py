"""10_pre_run: the validation report, a data profile and design checks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmm_runner import plotting
from mmm_runner.atomic import write_csv
from mmm_runner.pipeline.context import RunContext, StageResult
from mmm_runner.pipeline.manifest import write_json


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
    high = [
        (a, media[j], float(values[i, j]))
        for i, a in enumerate(media)
        for j in range(i + 1, len(media))
        if abs(values[i, j]) >= 0.7
    ]
    return StageResult(
        message=f"{len(validation.warnings)} warning(s)",
        artefacts=[
            "validation_report.json",
            "data_profile.csv",
            "media_correlation.csv",
            *figures,
        ],
        summary={
            "warnings": len(validation.warnings),
            "max_media_correlation": float(np.nanmax(np.abs(corr.to_numpy() - np.eye(len(media)))))
            if len(media) > 1
            else 0.0,
            "correlated_pairs": high,
        },
    )
