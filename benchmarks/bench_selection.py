"""Cost of a selection prior against the same model with plain priors.

On the shipped selection example (2 channels, a confounder and 12 precision controls,
156 weeks), `mmm run` with MCMC 4 chains × 1000 + 1000 and no plots, budget or LOO:
the twelve controls under the horseshoe (as shipped) against the same config without
`model.selection` (each control then has its default normal(0, 1) prior). Reports the
sampling time (median of the repeats), leapfrog steps per iteration, divergent
transitions and the smallest bulk ESS per second. Target (issue 15): horseshoe sampling
≤ 1.5 × plain. `--all` adds spike_slab and lasso.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import yaml
from _common import ROOT, median, sampler_measures, show

FIT = {"method": "mcmc", "chains": 4, "warmup": 1000, "samples": 1000, "adapt_delta": 0.95}


def _config(tmp: Path, prior: str | None) -> Path:
    config: dict[str, Any] = yaml.safe_load((ROOT / "config" / "selection.yaml").read_text())
    config["data"]["path"] = str(ROOT / "data" / "selection.csv")
    config["fit"] = FIT
    config["budget"] = None
    config["loo"] = False
    if prior is None:
        del config["model"]["selection"]
    elif prior != "horseshoe":
        config["model"]["selection"] = {"prior": prior}
    path = tmp / f"{prior or 'plain'}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--all", action="store_true", help="also spike_slab and lasso")
    args = parser.parse_args()
    variants: list[str | None] = [None, "horseshoe"]
    if args.all:
        variants += ["spike_slab", "lasso"]
    runs: dict[str | None, list[dict[str, float]]] = {v: [] for v in variants}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        configs = {v: _config(folder, v) for v in variants}
        for _ in range(args.repeat):  # interleaved, so drifts of a shared machine even out
            for variant in variants:
                runs[variant].append(sampler_measures(configs[variant], folder / "results"))

    def med(variant: str | None, key: str) -> float:
        return median([r[key] for r in runs[variant]])

    plain = med(None, "fit")
    print(
        f"config/selection.yaml, MCMC 4 × 1000 + 1000 on 2 cores, {args.repeat} repeats (medians)"
    )
    for variant in variants:
        name = variant or "plain priors"
        ratio = med(variant, "fit") / plain
        target = " (target ≤ 1.5)" if variant == "horseshoe" else ""
        show(f"{name}: sampling", f"{med(variant, 'fit'):.1f} s, {ratio:.2f} × plain{target}")
        show(f"{name}: leapfrog steps per iteration", f"{med(variant, 'leapfrog'):.1f}")
        show(
            f"{name}: divergent transitions of 4000",
            ", ".join(f"{r['divergences']:.0f}" for r in runs[variant]),
        )
        show(f"{name}: min bulk ESS per second", f"{med(variant, 'ess_per_second'):.1f}")


if __name__ == "__main__":
    main()
