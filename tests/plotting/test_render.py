"""Figures are drawn by name, in worker processes, only when asked for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mmm_runner import plotting


def _fitted() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": pd.date_range("2024-01-01", periods=6, freq="W").astype(str),
            "residual": [0.1, -0.2, 0.3, 0.0, -0.1, 0.2],
        }
    )


def test_figures_are_written_as_png(tmp_path: Path) -> None:
    jobs: list[plotting.PlotJob] = [
        ("residuals.png", "residuals", (_fitted(),)),
        ("again.png", "residuals", (_fitted(),)),
    ]
    written = plotting.render_all(jobs, tmp_path)
    assert written == ["residuals.png", "again.png"]
    for name in written:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_disabled_plots_write_nothing(tmp_path: Path) -> None:
    assert plotting.render_all([("r.png", "residuals", (_fitted(),))], tmp_path, False) == []
    assert list(tmp_path.iterdir()) == []


def test_unknown_figure_is_refused_before_drawing(tmp_path: Path) -> None:
    jobs: list[plotting.PlotJob] = [
        ("residuals.png", "residuals", (_fitted(),)),
        ("x.png", "no_such_figure", ()),
    ]
    with pytest.raises(ValueError, match="no_such_figure"):
        plotting.render_all(jobs, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_commands_load_without_matplotlib_or_scipy_stats() -> None:
    # Keeps `mmm validate` and `mmm run --no-plots` quick to start.
    heavy = ("matplotlib", "scipy.stats", "scipy.optimize")
    code = f"import sys, mmm_runner.cli.main; print([m for m in {heavy} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_selection_figure_draws_inclusion_beside_the_effects(tmp_path: Path) -> None:
    table = pd.DataFrame(
        {
            "term": ["temperature", "humidity", "rainfall"],
            "prior": "horseshoe",
            "measure": "P(1 - shrinkage factor > 0.5)",
            "inclusion": [0.99, 0.2, 0.6],
            "evidence": ["strong", "little", "moderate"],
            "mean": [230.0, 3.0, -45.0],
            "q05": [190.0, -10.0, -60.0],
            "q95": [270.0, 20.0, -30.0],
            "unit": "KPI per unit",
            "per_sd": [900.0, 30.0, -500.0],
            "per_sd_q05": [700.0, -100.0, -700.0],
            "per_sd_q95": [1100.0, 150.0, -300.0],
        }
    )
    assert plotting.render_all([("selection.png", "selection", (table,))], tmp_path) == [
        "selection.png"
    ]
