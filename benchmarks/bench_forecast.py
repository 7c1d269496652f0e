"""`mmm forecast` speed (issue 18): a 13-week plan from a 4,000-draw posterior.

Fits the shipped single-market example once (MCMC 4 × 1000 + 1000, the shipped settings)
with its last 13 weeks left out (data.end), then forecasts those weeks as a plan
``--repeat`` times in this process, and once through the CLI (start-up included).
Target: ≤ 2 s per forecast.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml
from _common import ROOT, show, timed_run

from mmm_runner.planning import forecast

WEEKS = 13


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = yaml.safe_load((ROOT / "config" / "single_market.yaml").read_text())
        data = ROOT / "data" / "single_market.csv"
        frame = pd.read_csv(data)
        config["data"]["path"] = str(data)
        config["data"]["end"] = str(frame["date"].iloc[-WEEKS - 1])
        config["data"]["holdout"] = 0
        config["budget"] = None
        path = folder / "run.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        _, run = timed_run(path, folder / "runs", "--no-plots")
        plan = folder / "plan.csv"
        frame.iloc[-WEEKS:].drop(columns=["revenue"]).to_csv(plan, index=False)  # the KPI
        seconds = []
        for i in range(args.repeat):
            started = time.perf_counter()
            forecast(run, plan, f"bench{i}")
            seconds.append(time.perf_counter() - started)
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "mmm_runner.cli.main",
                "forecast",
                str(run),
                "--plan",
                str(plan),
            ],
            check=True,
            capture_output=True,
        )
        cli = time.perf_counter() - started
    show("forecast, 13 weeks, 4,000 draws (median)", f"{statistics.median(seconds):.2f} s")
    show("the same through the CLI (start-up included)", f"{cli:.2f} s")


if __name__ == "__main__":
    main()
