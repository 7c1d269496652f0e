"""Cost of the nested class against the single-KPI model on the same data (issue 14).

On the shipped nested example (156 weeks, 4 channels, one mediator, price), MCMC
4 × (1000 + 1000): sampling seconds of
* blm: the same formula without the mediator (the single-KPI model),
* nested, awareness observed every week,
* nested, awareness in 20% of the weeks (a survey, observation noise), default priors,
* the same with informative priors on gamma and the media -> awareness paths (the guide:
  a partially observed mediator needs "sufficient survey observations, informative
  priors"), the latent variant's priors,
* nested, awareness latent with those informative priors,
each the median of ``--repeat`` runs in one session, with its ratio to blm beside the
reference framework's multipliers (one mediator ~1.3x, partial observation ~1.2x more).
Target: at or below them; the nested example samples in <= 60 s on 2 cores.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from _common import ROOT, compare_to_blm

from mmm_runner.data.simulate_network import simulate_nested

GUIDE = {
    "nested_full": 1.3,
    "nested_partial": 1.3 * 1.2,
    "nested_partial_informed": 1.3 * 1.2,
    "nested_latent": 1.3,
}


def _configs(folder: Path) -> dict[str, Path]:
    base = yaml.safe_load((ROOT / "config" / "nested.yaml").read_text())
    base["data"]["path"] = str(ROOT / "data" / "nested.csv")
    base["budget"] = None
    out: dict[str, Path] = {}

    def write(name: str, config: dict[str, Any]) -> None:
        out[name] = folder / f"{name}.yaml"
        out[name].write_text(yaml.safe_dump(config, sort_keys=False))

    blm = json.loads(json.dumps(base))
    blm["model"]["class"] = "blm"
    del blm["model"]["mediators"]
    write("blm", blm)
    write("nested_full", base)
    partial_frame, _ = simulate_nested(observation="partial", shared_transforms=True)
    partial_frame.to_csv(folder / "partial.csv", index=False)
    partial = json.loads(json.dumps(base))
    partial["data"]["path"] = str(folder / "partial.csv")
    partial["model"]["mediators"][0]["observation"] = "partial"
    write("nested_partial", partial)
    latent_frame, truth = simulate_nested(observation="latent", shared_transforms=True)
    latent_frame.to_csv(folder / "latent.csv", index=False)
    sd = float(latent_frame["sales"].std(ddof=0))
    gamma = truth["gamma"]["awareness"]["sales"] / sd
    media = truth["mediators"]["awareness"]["media"]

    def informative(unit: float) -> dict[str, Any]:
        """Priors at the truth (gamma within 10%, the paths within 20%) on the modelling
        scale: the KPI over its sd, the mediator over ``unit`` (its observed sd; a latent
        one keeps its own units)."""
        effect = gamma * unit
        return {
            "effect_prior": f"normal({effect:.5f}, {0.1 * effect:.5f})",
            "media_prior": {
                c: f"normal({p['beta'] / unit:.5f}, {0.2 * p['beta'] / unit:.5f})"
                for c, p in media.items()
            },
        }

    informed = json.loads(json.dumps(partial))
    survey_sd = float(partial_frame["awareness"].std(ddof=0))
    informed["model"]["mediators"][0].update(informative(survey_sd))
    write("nested_partial_informed", informed)
    latent = json.loads(json.dumps(base))
    latent["data"]["path"] = str(folder / "latent.csv")
    latent["model"]["mediators"][0].update(observation="latent", **informative(1.0))
    write("nested_latent", latent)
    return out


def main() -> None:
    compare_to_blm(_configs, GUIDE, __doc__ or "")


if __name__ == "__main__":
    main()
