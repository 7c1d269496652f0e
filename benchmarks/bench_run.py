"""Times `mmm run` on the shipped single-market example (MCMC and MAP).

Targets (issue 4): MCMC run ≤ 30 s, MAP ≤ 3 s, min bulk ESS/s of media coefficients ≥ 50;
(issue 5): budget stage ≤ 10 s. Reference R runner: MCMC 2-5 min (2 chains × 2000),
MAP 10-30 s.
"""

from __future__ import annotations

import argparse
import json
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

MEDIA = ["tv", "search", "social", "display", "radio", "ooh"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        # Warm the compile cache and the toolchain so the timings are of runs, not builds.
        timed_run(ROOT / "config" / "single_market_map.yaml", out / "warm")
        mcmc_times, fit_times, budget_times, ess_rates, evaluations = [], [], [], [], []
        stages: list[dict[str, float]] = []
        for _ in range(args.repeat):
            seconds, run_dir = timed_run(ROOT / "config" / "single_market.yaml", out / "mcmc")
            mcmc_times.append(seconds)
            stages.append(stage_seconds(run_dir))
            fit = stage_summary(run_dir, "20_model_fit")
            fit_times.append(fit["fit_seconds"])
            summary = pd.read_csv(run_dir / "20_model_fit" / "posterior_summary.csv")
            media = summary[summary["parameter"].isin(MEDIA)]
            ess_rates.append(float(media["ess_bulk"].min()) / fit["fit_seconds"])
            budget = json.loads((run_dir / "60_optimisation" / "budget_summary.json").read_text())
            budget_times.append(stages[-1]["60_optimisation"])
            evaluations.append(budget["evaluations"])
        map_config = ROOT / "config" / "single_market_map.yaml"
        map_times = [timed_run(map_config, out / "map")[0] for _ in range(args.repeat)]
        map_quick = [
            timed_run(map_config, out / "map", "--no-plots")[0] for _ in range(args.repeat)
        ]
    print(f"mmm run on config/single_market.yaml, {args.repeat} repeats (medians)")
    show(
        "MCMC run, wall time (4 × 1000 + 1000)",
        f"{median(mcmc_times):.1f} s "
        f"(target ≤ 30 s; R runner 120-300 s for half the draws: "
        f"{120 / median(mcmc_times):.0f}-{300 / median(mcmc_times):.0f}x faster)",
    )
    show("  of which sampling (4 chains, 2 cores)", f"{median(fit_times):.1f} s")
    for folder in stages[0]:
        show(f"  stage {folder}", f"{median([s[folder] for s in stages]):.2f} s")
    show("min bulk ESS/s, media coefficients", f"{median(ess_rates):.0f} (target ≥ 50)")
    show(
        "budget stage (4000 draws, 6 channels, 13 weeks)",
        f"{median(budget_times):.1f} s, {median(evaluations):.0f} objective evaluations "
        "(target ≤ 10 s)",
    )
    show(
        "MAP run, wall time (10 starts), --no-plots",
        f"{median(map_quick):.1f} s (target ≤ 3 s; R runner 10-30 s)",
    )
    show("MAP run with its 10 figures", f"{median(map_times):.1f} s")
    show("peak memory of a run", f"{peak_child_memory_mb():.0f} MB")


if __name__ == "__main__":
    main()
