"""A large geo panel on 2 cores: the hierarchical class serial and with `reduce_sum` threads.

Target (issue 19): a generated 40-geo × 156-week × 5-channel panel (hierarchical, MCMC
4 × (1000 + 1000), controls and a spline trend, about 460 parameters) in ≤ 10 minutes of
wall time on 2 cores, serial and threaded, with R-hat and ESS. A large vendor quotes
10-15 minutes on a GPU for its own demo of that size.

The panel: 40 geos of lognormal sizes, five channels (flighted TV and radio, always-on
search, social and display), price and a promotion flag, a smooth non-linear trend and a
yearly season; media, season and the per-person baseline vary by geo (441 parameters).
The process is per person (a geo's sales are its per-person rate times its size) and the
model says so with `model.population`: the earlier panel scaled trend and season by size
while the model shared them, and that misfit, not the panel's size, set the tree depth.
Modes:

- `serial`: `threads_per_chain: 1`, chains one per core (4 chains, 2 at once on 2 cores);
- `threaded`: `threads_per_chain: 2` with `parallel_chains: 1`, so the Stan process has
  2 threads, as serial: a chain's likelihood is split over the geos on whichever thread is
  free (two chains at once keep both busy; the last chain gets both);
- `auto`: what the runner picks from the cores (on 2 cores with 4 chains: serial).

Each mode is one `mmm run --no-plots`; it reports the run's wall time, the sampling time,
max R-hat, min bulk and tail ESS over the posterior summary, divergences and what the
manifest records. The first run compiles the program. `--geos`, `--weeks`, `--warmup`,
`--samples` shrink the work for a quick look.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _common import show, stage_summary, timed_run

from mmm_runner.data import simulate as sim
from mmm_runner.model.transforms import media_scale

SEED = 20250419
START = "2022-01-03"
CHANNELS = {
    "tv": sim.Channel(
        "geometric", {"decay": 0.55}, 8, "hill", {"half_saturation": 1.0, "shape": 1.8}
    ),
    "radio": sim.Channel("geometric", {"decay": 0.4}, 6, "logistic", {"rate": 1.0}),
    "search": sim.Channel(
        "geometric", {"decay": 0.2}, 4, "hill", {"half_saturation": 0.9, "shape": 1.2}
    ),
    "social": sim.Channel(
        "geometric", {"decay": 0.3}, 5, "michaelis_menten", {"half_saturation": 0.8}
    ),
    "display": sim.Channel(
        "geometric", {"decay": 0.25}, 4, "hill", {"half_saturation": 1.1, "shape": 1.0}
    ),
}
BETA = {"tv": 9_000.0, "radio": 3_000.0, "search": 7_000.0, "social": 4_000.0, "display": 2_500.0}
SPEND = {"tv": 4_000.0, "radio": 1_500.0, "search": 2_500.0, "social": 1_800.0, "display": 1_200.0}
TAU_SHARE = 0.2  # between-geo sd of a media coefficient, as a share of its population value
SEASON_SHARE = 0.25  # between-geo sd of the season's amplitude, as a share of the shared one
BASE = 60_000.0  # mean weekly baseline of a geo of size 1
# between-geo sd of the per-person baseline, as a share of it: geos differ in more than
# size (with none, the varying intercept's sd sits at 0, a funnel for its draws)
BASE_SHARE = 0.05
PEOPLE_PER_SIZE = 250_000  # the population of a geo of size 1

CONFIG = """\
# Written by benchmarks/bench_panel_threads.py: {geos} geos x {weeks} weeks, five channels,
# two controls, a spline trend and a yearly season; media and season vary by geo; the
# KPI and media are modelled per person, as the panel was made.
name: panel_threads_{mode}
seed: 20250419

data:
  path: panel.csv
  date_column: date
  group_column: geo
  frequency: weekly

model:
  class: hierarchical
  formula: >-
    sales ~ tv + radio + search + social + display + price + promo + trend + season
    + (tv + radio + search + social + display + season | geo)
  media:
    - {{name: tv, adstock: {{type: geometric, l_max: 8}}, saturation: {{type: hill}}}}
    - {{name: radio, adstock: {{type: geometric, l_max: 6}}, saturation: {{type: logistic}}}}
    - {{name: search, adstock: {{type: geometric, l_max: 4}}, saturation: {{type: hill}}}}
    - name: social
      adstock: {{type: geometric, l_max: 5}}
      saturation: {{type: michaelis_menten}}
    - {{name: display, adstock: {{type: geometric, l_max: 4}}, saturation: {{type: hill}}}}
  controls:
    - {{name: price, sign: negative}}
    - {{name: promo, sign: positive}}
  population: {{column: population}}
  # two inner knots (a year apart) bend enough for the simulated trend; with four, the
  # spline also bends within a year and trades with the season (posterior correlation
  # 0.95 between alternate spline coefficients, R-hat 1.025)
  trend: {{type: spline, knots: 2}}
  seasonality:
    - {{period: 52.18, order: 2}}
  hierarchical:
    # 156 weeks a geo: auto centres every term, but only tv's and the season's geo values
    # are decided more by each geo's data than by the pooling (a fit's posterior sd of a
    # geo's value under 0.7 of the group sd); the other channels' funnels diverged centred
    parameterisation: {{default: non_centred, tv: centred, season: centred}}

fit:
  method: mcmc
  chains: 4
  warmup: {warmup}
  samples: {samples}
  # random starts within (-0.5, 0.5): at the default (-1, 1) one chain of seed 20250419
  # was still in its first 100 warmup iterations when two others had finished
  init_radius: 0.5
{fit}
"""
MODES = {
    "serial": "  threads_per_chain: 1",
    "threaded": "  threads_per_chain: 2\n  parallel_chains: 1",
    "auto": "  threads_per_chain: auto",
}


def simulate_geo_panel(geos: int, weeks: int, seed: int = SEED) -> pd.DataFrame:
    """A panel of ``geos`` geos whose process is per capita, as the model is configured.

    Each geo's people respond alike in form: a per-person baseline, media effects of
    spend per person and a season whose size are drawn around population values, and
    shared controls and trend; a geo's sales are that rate times its size, plus noise. Spend
    grows with size (social more slowly), so per-person exposure differs between geos.
    """
    names = [f"geo_{i + 1:02d}" for i in range(geos)]
    rngs = sim.streams(
        seed, ["sizes", "betas", "seasons", *(f"{g}:{p}" for g in names for p in "msn"), "bases"]
    )
    bases = BASE * (1 + BASE_SHARE * rngs["bases"].standard_normal(geos))
    sizes = np.exp(rngs["sizes"].normal(0.0, 0.35, geos))
    dates = sim.weekly_dates(START, weeks)
    season = sim.fourier_seasonality(weeks, (4_000.0, -1_500.0), (2_000.0, 800.0))
    amplitudes = 1 + SEASON_SHARE * rngs["seasons"].standard_normal(geos)
    t = np.linspace(0.0, 1.0, weeks)
    trend = 6_000.0 * np.sin(2.5 * t) - 2_000.0 * t  # smooth, not linear: the spline's job
    spend: dict[str, dict[str, np.ndarray]] = {}
    for g, size in zip(names, sizes, strict=True):
        rng = rngs[f"{g}:m"]
        spend[g] = {
            "tv": sim.flighted_spend(rng, weeks, SPEND["tv"] * size, 0.55, 4.0),
            "radio": sim.flighted_spend(rng, weeks, SPEND["radio"] * size, 0.5, 3.0),
            "search": sim.phased_spend(
                rng, weeks, SPEND["search"] * size, shape=sim.seasonal_shape(season, 0.3)
            ),
            "social": sim.phased_spend(rng, weeks, SPEND["social"] * np.sqrt(size)),
            "display": sim.phased_spend(rng, weeks, SPEND["display"] * size, sd=0.3),
        }
    per_size = {
        g: {c: x / size for c, x in spend[g].items()} for g, size in zip(names, sizes, strict=True)
    }
    scales = {c: media_scale(np.concatenate([per_size[g][c] for g in names])) for c in CHANNELS}
    frames = []
    for g, size, amplitude, base in zip(names, sizes, amplitudes, bases, strict=True):
        rng = rngs[f"{g}:s"]
        betas = {c: b * (1 + TAU_SHARE * rngs["betas"].standard_normal()) for c, b in BETA.items()}
        coefs = sim.Coefficients(
            intercept=base,
            betas={c: max(b, 0.1 * BETA[c]) for c, b in betas.items()},
            gammas={"price": -20_000.0, "promo": 3_000.0},
            slope=0.0,
            sin=(0.0,),
            cos=(0.0,),
        )
        controls = {"price": sim.price_index(rng, weeks), "promo": sim.promo_flags(rng, weeks)}
        terms = sim.linear_terms(per_size[g], scales, CHANNELS, controls, coefs)
        terms["trend"] = trend
        terms["seasonality"] = amplitude * season
        shock = rngs[f"{g}:n"].standard_normal(weeks)
        rate, lines, noise_sd = sim.respond(terms, coefs.intercept, shock, "identity", 0.0)
        series = sim.Series(spend[g], controls, np.round(rate * size, 2), lines, noise_sd)
        frame = sim.data_frame(dates, "sales", series, g)
        frame.insert(2, "population", np.round(size * PEOPLE_PER_SIZE))
        frames.append(frame.rename(columns={"market": "geo"}))
    return pd.concat(frames, ignore_index=True)


def measure(config: Path, out: Path) -> dict[str, Any]:
    """One `mmm run`: wall and sampling seconds, convergence and the recorded threads."""
    wall, run = timed_run(config, out, "--no-plots")
    fit = stage_summary(run, "20_model_fit")
    summary = pd.read_csv(run / "20_model_fit" / "posterior_summary.csv")
    manifest = json.loads((run / "00_run_metadata" / "manifest.json").read_text())
    return {
        "wall": wall,
        "fit": float(fit["fit_seconds"]),
        "divergences": int(fit.get("divergences", 0)),
        "rhat": float(summary["r_hat"].max()),
        "ess_bulk": float(summary["ess_bulk"].min()),
        "ess_tail": float(summary["ess_tail"].min()),
        "parallelism": manifest["parallelism"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--geos", type=int, default=40)
    parser.add_argument("--weeks", type=int, default=156)
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--modes", default="serial,threaded", help="of " + ", ".join(MODES))
    parser.add_argument("--keep", type=Path, help="write the panel, configs and runs here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        simulate_geo_panel(args.geos, args.weeks).to_csv(folder / "panel.csv", index=False)
        print(f"{args.geos} geos x {args.weeks} weeks, MCMC 4 x ({args.warmup} + {args.samples})")
        for mode in args.modes.split(","):
            config = folder / f"{mode}.yaml"
            text = CONFIG.format(
                geos=args.geos,
                weeks=args.weeks,
                mode=mode,
                warmup=args.warmup,
                samples=args.samples,
                fit=MODES[mode],
            )
            config.write_text(text)
            r = measure(config, folder / "runs")
            p = r["parallelism"]
            show(
                f"{mode} ({p['parallel_chains']} chains x {p['threads_per_chain']} threads)",
                f"run {r['wall']:6.1f} s  sampling {r['fit']:6.1f} s (target <= 600)  "
                f"max R-hat {r['rhat']:.3f}  min ESS bulk {r['ess_bulk']:.0f} "
                f"tail {r['ess_tail']:.0f}  divergent {r['divergences']}",
            )


if __name__ == "__main__":
    main()
