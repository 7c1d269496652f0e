"""Flighting over 13 weeks × 6 channels from a 4,000-draw posterior (issue 18).

Fits the shipped single-market example by MCMC (4 × 1000 draws) once, then times the
budget stage's flighting search (SLSQP over 78 per-period spends, 400 draws in the
search, all 4,000 in the report) ``--repeat`` times on that posterior, reporting the
median seconds, evaluations and the value gained over the fixed-pattern plan.
Target: <= 30 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import yaml
from _common import ROOT, median, show, timed_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = yaml.safe_load((ROOT / "config" / "single_market.yaml").read_text())
        config["data"]["path"] = str(ROOT / "data" / "single_market.csv")
        config.pop("cv", None)
        config["budget"]["flighting"] = {"channels": {"tv": {"period_max": 20000}}}
        path = folder / "flight.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        _, run = timed_run(path, folder / "runs", "--no-plots")
        summary = json.loads((run / "60_optimisation" / "flighting_summary.json").read_text())
        seconds = [float(summary["seconds"])]
        evaluations = [int(summary["evaluations"])]
        for _ in range(args.repeat - 1):
            _, again = timed_run(path, folder / "again", "--no-plots")
            repeat = json.loads((again / "60_optimisation" / "flighting_summary.json").read_text())
            seconds.append(float(repeat["seconds"]))
            evaluations.append(int(repeat["evaluations"]))
    print(f"flighting, 13 weeks x 6 channels, 4000 draws, median of {args.repeat}")
    show(
        "search",
        f"{median(seconds):6.1f} s  ({median([float(e) for e in evaluations]):.0f} evaluations)",
    )
    gain = summary["gain_vs_fixed_pattern"]
    show(
        "gain vs fixed pattern",
        f"{gain['mean']:,.0f} (P(better) {summary['probability_better']:.0%})",
    )


if __name__ == "__main__":
    main()
