"""Cost of a gp trend and of a time-varying channel against the same model without.

On the shipped single-market example (6 channels, price, promo, yearly seasonality, 156
weeks), `mmm run` with MCMC 4 chains × 1000 + 1000 at the config's adapt_delta and no
plots, budget or LOO: as shipped (linear trend, constant effects), with
`model.trend.type: gp` (default priors), and with TV `time_varying: true`. Reports the
sampling time (median of the repeats, interleaved), its ratio to the shipped model,
leapfrog steps per iteration, divergent transitions and the smallest bulk ESS per
second. Targets (issue 15): gp trend ≤ 1.5 ×, one time-varying channel ≤ 2 ×, 0
divergences.
"""

from __future__ import annotations

import argparse
import copy
import tempfile
from pathlib import Path
from typing import Any

import yaml
from _common import ROOT, median, sampler_measures, show

FIT = {"method": "mcmc", "chains": 4, "warmup": 1000, "samples": 1000}
TARGETS = {"gp trend": 1.5, "time-varying tv": 2.0}


def _variants() -> dict[str, dict[str, Any]]:
    base: dict[str, Any] = yaml.safe_load((ROOT / "config" / "single_market.yaml").read_text())
    base["data"]["path"] = str(ROOT / "data" / "single_market.csv")
    base["fit"] = {**FIT, "adapt_delta": base["fit"].get("adapt_delta", 0.95)}
    base["budget"] = None
    base["loo"] = False
    gp = copy.deepcopy(base)
    gp["model"]["trend"] = {"type": "gp"}
    drift = copy.deepcopy(base)
    tv = next(m for m in drift["model"]["media"] if m["name"] == "tv")
    tv["time_varying"] = True
    return {"shipped": base, "gp trend": gp, "time-varying tv": drift}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    variants = _variants()
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in variants}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        configs = {}
        for i, (name, config) in enumerate(variants.items()):
            configs[name] = folder / f"variant{i}.yaml"
            configs[name].write_text(yaml.safe_dump(config, sort_keys=False))
        for _ in range(args.repeat):  # interleaved, so drifts of a shared machine even out
            for name, path in configs.items():
                runs[name].append(sampler_measures(path, folder / "results"))

    def med(name: str, key: str) -> float:
        return median([r[key] for r in runs[name]])

    base = med("shipped", "fit")
    print(f"config/single_market.yaml, MCMC 4 × 1000 + 1000 on 2 cores, {args.repeat} repeats")
    for name in variants:
        ratio = med(name, "fit") / base
        target = f" (target ≤ {TARGETS[name]})" if name in TARGETS else ""
        show(f"{name}: sampling", f"{med(name, 'fit'):.1f} s, {ratio:.2f} × shipped{target}")
        show(f"{name}: leapfrog steps per iteration", f"{med(name, 'leapfrog'):.1f}")
        show(
            f"{name}: divergent transitions of 4000",
            ", ".join(f"{r['divergences']:.0f}" for r in runs[name]),
        )
        show(f"{name}: min bulk ESS per second", f"{med(name, 'ess_per_second'):.1f}")


if __name__ == "__main__":
    main()
