"""Cost of the multivariate and combined classes against the single-KPI model (issue 14).

On the shipped multivariate example (156 weeks, 3 channels, two products) and the
combined one (4 channels, awareness, two products), MCMC 4 x (1000 + 1000): sampling
seconds of
* blm: product A alone with the same media (the single-KPI model),
* blm_b: product B alone with the same media and its promotion (shown against blm: its
  posterior alone takes more leapfrog steps than A's),
* multivariate without cross-effects or correlated errors (one more outcome),
* multivariate with the two cross-effects (halo at lag 2, modulated cannibalisation),
* multivariate as shipped (cross-effects and correlated errors),
* blm_combined: product A alone on the combined example's data with its four channels
  (the single-KPI model),
* combined as shipped (awareness feeding both products, cross-effects, correlation),
  against blm_combined,
each the median of ``--repeat`` runs in one session, with its ratio to its single-KPI
reference beside the reference framework's multipliers (one more outcome ~1.5x,
cross-effects ~1.1x, one mediator ~1.3x). Target: at or below them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from _common import ROOT, compare_to_blm

GUIDE = {
    "mv_outcomes": 1.5,
    "mv_cross": 1.5 * 1.1,
    "mv_shipped": 1.5 * 1.1,
    "combined_shipped": 1.5 * 1.1 * 1.3,
}


def _load(name: str) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((ROOT / "config" / f"{name}.yaml").read_text())
    config["data"]["path"] = str(ROOT / "data" / f"{name}.csv")
    config["budget"] = None
    return config


REFERENCES = {"combined_shipped": "blm_combined"}


def _single_kpi(config: dict[str, Any], formula: str) -> dict[str, Any]:
    """The config as a blm of one product (``formula``), its network parts removed."""
    blm: dict[str, Any] = json.loads(json.dumps(config))
    model = blm["model"]
    model.update({"class": "blm", "formula": formula})
    for key in ("kpi", "outcomes", "cross_effects", "correlated_errors", "mediators"):
        model.pop(key, None)
    if "promo_b" not in formula:
        model.pop("controls", None)
    return blm


def _configs(folder: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}

    def write(name: str, config: dict[str, Any]) -> None:
        out[name] = folder / f"{name}.yaml"
        out[name].write_text(yaml.safe_dump(config, sort_keys=False))

    shipped = _load("multivariate")
    write("blm", _single_kpi(shipped, "product_a ~ tv + search + social"))
    write("blm_b", _single_kpi(shipped, "product_b ~ tv + search + social + promo_b"))
    plain = json.loads(json.dumps(shipped))
    for key in ("cross_effects", "correlated_errors"):
        plain["model"].pop(key)
    write("mv_outcomes", plain)
    cross = json.loads(json.dumps(shipped))
    cross["model"].pop("correlated_errors")
    write("mv_cross", cross)
    write("mv_shipped", shipped)
    combined = _load("combined")
    write("blm_combined", _single_kpi(combined, "product_a ~ tv + search + social + display"))
    write("combined_shipped", combined)
    return out


def main() -> None:
    compare_to_blm(_configs, GUIDE, __doc__ or "", REFERENCES)


if __name__ == "__main__":
    main()
