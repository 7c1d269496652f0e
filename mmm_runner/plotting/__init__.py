"""Draws a run's figures without loading matplotlib unless one is drawn.

A job names its figure function in ``plotting.figures`` rather than holding it,
so stages, ``mmm validate`` and ``mmm run --no-plots`` never import matplotlib
(a third of a second, a tenth of a MAP run).
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmm_runner.system import usable_cores

if TYPE_CHECKING:
    from mmm_runner.analysis.curves import ChannelCurves

# (file name, name of a function in plotting.figures, its arguments)
PlotJob = tuple[str, str, tuple[Any, ...]]


def curve_jobs(curves: ChannelCurves, unit: str, source: str = "") -> list[PlotJob]:
    """The adstock-by-lag and response-curve figures of each channel's bands.

    ``unit`` is what the response is measured in; ``source`` (e.g. "Prior") is
    put before the titles when the draws are not the posterior's.
    """
    lead = f"{source}: " if source else ""
    return [
        (
            "adstock_curves.png",
            "curves",
            (curves.lags, curves.adstock, f"{lead}Adstock weights by lag", "lag (periods)"),
        ),
        (
            "saturation_curves.png",
            "curves",
            (
                curves.media,
                curves.response,
                f"{lead}Response of {unit} to a sustained media level "
                "(dotted: typical active level)",
                "media per period",
                curves.typical,
            ),
        ),
    ]


def _render(job: PlotJob, folder: Path) -> str:
    from mmm_runner.plotting import figures

    name, draw, args = job
    figures.save(getattr(figures, draw)(*args), folder / name)
    return name


def render_all(jobs: list[PlotJob], folder: Path, enabled: bool = True) -> list[str]:
    """Draws and saves figures, in parallel processes when there are several cores.

    Figures are independent, and drawing them is most of a stage's time.
    ``enabled`` False (``mmm run --no-plots``) draws nothing.
    """
    if not enabled or not jobs:
        return []
    # Imported here, before forking, so the workers share one loaded matplotlib.
    from mmm_runner.plotting import figures

    unknown = [draw for _, draw, _ in jobs if not callable(getattr(figures, draw, None))]
    if unknown:
        raise ValueError(f"no figure function named {', '.join(unknown)} in plotting.figures")
    workers = min(len(jobs), usable_cores())
    if workers <= 1:
        return [_render(job, folder) for job in jobs]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(pool.map(_render, jobs, [folder] * len(jobs)))
