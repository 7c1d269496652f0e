"""Times `mmm run` on the shipped hierarchical example (6 markets × 104 weeks).

Target (issue 7): 4 chains × 1000 + 1000 after compile in ≤ 3 minutes on 2 cores, with
R-hat < 1.01 and no divergences; report bulk ESS per second of the population media effects
and of the group scales. Reference R runner: 10-30 minutes for 150 weeks × 5 groups
(4 chains × 2000 iterations).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd
from _common import (
    ROOT,
    median,
    peak_child_memory_mb,
    show,
    stage_seconds,
    stage_summary,
    timed_run,
)

MEDIA = ["tv", "search", "social"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    config = ROOT / "config" / "panel_hierarchical.yaml"
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for _ in range(args.repeat):
            seconds, run_dir = timed_run(config, out)
            fit = stage_summary(run_dir, "20_model_fit")
            summary = pd.read_csv(run_dir / "20_model_fit" / "posterior_summary.csv")
            gates = pd.read_csv(run_dir / "40_diagnostics" / "gates.csv").set_index("check")
            population = summary[summary["parameter"].isin(MEDIA)]
            scales = summary[summary["kind"] == "group_sd"]
            runs.append(
                {
                    "wall": seconds,
                    "fit": fit["fit_seconds"],
                    "stages": stage_seconds(run_dir),
                    "rhat": float(gates.loc["rhat", "value"]),
                    "divergences": float(gates.loc["divergences", "value"]) * 4000,
                    "ess_media": float(population["ess_bulk"].min()) / fit["fit_seconds"],
                    "ess_scales": float(scales["ess_bulk"].min()) / fit["fit_seconds"],
                }
            )
    first_compile = runs[0]["stages"]["20_model_fit"] - runs[0]["fit"]

    def med(key: str) -> float:
        return median([r[key] for r in runs])

    print(f"mmm run on config/panel_hierarchical.yaml, {args.repeat} repeats (medians)")
    show("model_fit stage minus sampling (first run)", f"{first_compile:.1f} s")
    show(
        "sampling, 4 × 1000 + 1000 (2 cores)",
        f"{med('fit'):.1f} s (target ≤ 180 s; R runner 600-1800 s: "
        f"{600 / med('fit'):.0f}-{1800 / med('fit'):.0f}x faster)",
    )
    show("whole run, wall time", f"{med('wall'):.1f} s")
    for folder in runs[0]["stages"]:
        show(f"  stage {folder}", f"{median([r['stages'][folder] for r in runs]):.2f} s")
    show("max R-hat (target < 1.01)", f"{med('rhat'):.4f}")
    show(
        "divergent transitions of 4000 (target 0)",
        ", ".join(f"{r['divergences']:.0f}" for r in runs),
    )
    show("min bulk ESS/s, population media effects", f"{med('ess_media'):.1f}")
    show("min bulk ESS/s, group scales (sd_*)", f"{med('ess_scales'):.1f}")
    show("peak memory of a run", f"{peak_child_memory_mb():.0f} MB")


if __name__ == "__main__":
    main()
