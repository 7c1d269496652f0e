"""The NUTS metric: `fit.metric: diag` against `dense` on the shipped single-series
examples, the measurements behind `auto`'s choice (decision 0022).

Each example runs as shipped but with MCMC 4 chains × 1000 + 1000 (the warmup pilot on,
as by default), no plots, budget or LOO, once with `fit.metric: diag` and once with
`dense`, interleaved over ``--repeat`` rounds. Reports the medians of the sampling time
(sampling and CSV parsing), leapfrog steps per iteration, the smallest bulk ESS, bulk ESS
per second and the largest R-hat, and the divergent transitions.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import yaml
from _common import ROOT, median, sampler_measures, show

EXAMPLES = (
    "single_market",
    "pooled",
    "selection",
    "gp_trend",
    "drift",
    "loglog",
    "nested",
    "multivariate",
    "combined",
    "outcome_transforms",
)
FIT = {"method": "mcmc", "chains": 4, "warmup": 1000, "samples": 1000}
METRICS = ("diag", "dense")


def _config(name: str, metric: str) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((ROOT / "config" / f"{name}.yaml").read_text())
    data = Path(config["data"]["path"])
    config["data"]["path"] = str((ROOT / "config" / data).resolve())
    adapt_delta = config.get("fit", {}).get("adapt_delta", 0.9)
    config["fit"] = {**FIT, "adapt_delta": adapt_delta, "metric": metric}
    config["budget"] = None
    config["loo"] = False
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--examples", nargs="*", default=list(EXAMPLES))
    args = parser.parse_args()
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = {}
        for name in args.examples:
            for metric in METRICS:
                paths[name, metric] = folder / f"{name}_{metric}.yaml"
                config = _config(name, metric)
                paths[name, metric].write_text(yaml.safe_dump(config, sort_keys=False))
                runs[name, metric] = []
        for _ in range(args.repeat):  # interleaved, so drifts of a shared machine even out
            for key, path in paths.items():
                runs[key].append(sampler_measures(path, folder / "results"))

    def med(key: tuple[str, str], measure: str) -> float:
        return median([r[measure] for r in runs[key]])

    print(f"MCMC 4 × (1000 + 1000), medians of {args.repeat}; diag → dense")
    for name in args.examples:
        diag, dense = (name, "diag"), (name, "dense")
        show(
            name,
            f"{med(diag, 'fit'):5.1f} → {med(dense, 'fit'):5.1f} s "
            f"({med(dense, 'fit') / med(diag, 'fit'):.2f}×)  "
            f"leapfrog {med(diag, 'leapfrog'):5.1f} → {med(dense, 'leapfrog'):5.1f}  "
            f"min ESS {med(diag, 'ess_bulk'):5.0f} → {med(dense, 'ess_bulk'):5.0f}  "
            f"ESS/s {med(diag, 'ess_per_second'):5.0f} → {med(dense, 'ess_per_second'):5.0f}  "
            f"R-hat {med(diag, 'rhat'):.3f} → {med(dense, 'rhat'):.3f}  "
            f"divergent {max(r['divergences'] for r in runs[diag]):.0f} / "
            f"{max(r['divergences'] for r in runs[dense]):.0f}",
        )


if __name__ == "__main__":
    main()
