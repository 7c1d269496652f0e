"""Fit-stage overhead: the time `mmm run --no-plots` spends around the Stan sampler.

Targets (issue 11): fit-stage overhead, (20_model_fit stage − sampling) / sampling, ≤ 0.2;
whole run ≤ 1.3 × sampling time. Measured on the shipped single-market example
(config/single_market.yaml) and on a two-channel, 179-week example generated here.

"Sampling" is the Stan process alone: from the write of stan_data.json (the stage writes
it just before it starts the sampler) to the last write of a chain's CSV (its elapsed-time
comment, written when the chain ends). The `fit_seconds` of 20_model_fit/status.json is
not that: it runs until cmdstanpy has parsed the CSVs into arrays, so it is shown apart.
The per-chain "Elapsed Time" comments are shown too, but their maximum is not the sampler
time: the chains run in one process on `num_threads` threads (2 on a 2-core machine), so
4 chains take about two chains' time.

`--profile` also runs each example once in-process under cProfile and prints where the
fit stage's time goes, plus the import time of ArviZ.
"""

from __future__ import annotations

import argparse
import io
import json
import pstats
import re
import subprocess
import sys
import tempfile
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from _common import ROOT, median, show, stage_seconds, stage_summary, timed_run

from mmm_runner.data import simulate as sim
from mmm_runner.model.transforms import media_scale

OVERHEAD_TARGET = 0.2
WHOLE_TARGET = 1.3
FIT = "20_model_fit"

TWO_CHANNEL_WEEKS = 179
TWO_CHANNEL_SEED = 20250179
TWO_CHANNELS = {
    "tv": sim.Channel(
        "geometric", {"decay": 0.5}, 8, "hill", {"half_saturation": 1.0, "shape": 1.8}
    ),
    "search": sim.Channel(
        "geometric", {"decay": 0.25}, 4, "hill", {"half_saturation": 0.9, "shape": 1.3}
    ),
}
TWO_CHANNEL_COEFS = sim.Coefficients(
    intercept=100_000.0,
    betas={"tv": 40_000.0, "search": 18_000.0},
    gammas={"price": -40_000.0},
    slope=80.0,
    sin=(7_000.0, -2_500.0),
    cos=(4_000.0, 1_500.0),
)

TWO_CHANNEL_CONFIG = """\
# Two-channel model written by benchmarks/bench_overhead.py (modelled on
# config/single_market.yaml): 179 weeks, tv and search, price, trend, season.
name: two_channel
description: Two-channel weekly model for the fit-overhead benchmark.
seed: 20240101

data:
  path: two_channel.csv
  date_column: date
  frequency: weekly

model:
  class: blm
  formula: revenue ~ tv + search + price + trend + season
  media:
    - name: tv
      adstock: {type: geometric, l_max: 8}
      saturation: {type: hill}
    - name: search
      adstock: {type: geometric, l_max: 4}
      saturation: {type: hill}
  controls:
    - {name: price, sign: negative}
  trend: {type: linear}
  seasonality:
    - {period: 52.18, order: 2}

priors:
  - tv.adstock.decay ~ beta(2, 2)       # flighted TV: carry-over expected
  - search.adstock.decay ~ beta(1, 3)

fit:
  method: mcmc
  chains: 4
  warmup: 1000
  samples: 1000
  adapt_delta: 0.9

diagnostics:
  policy: explore

loo: true
decomposition: true

budget:
  horizon: 13
  objective: kpi
  default_change: 0.5
"""


def two_channel_example(folder: Path) -> Path:
    """Writes two_channel.csv (simulated with mmm_runner.data.simulate's parts) and its config."""
    weeks = TWO_CHANNEL_WEEKS
    rngs = sim.streams(TWO_CHANNEL_SEED, [*TWO_CHANNELS, "price", "noise"])
    dates = sim.weekly_dates("2022-01-03", weeks)
    season = sim.fourier_seasonality(weeks, TWO_CHANNEL_COEFS.sin, TWO_CHANNEL_COEFS.cos)
    media = {
        "tv": sim.flighted_spend(rngs["tv"], weeks, 8_000.0, on_share=0.6, mean_run=4.0),
        "search": sim.phased_spend(
            rngs["search"], weeks, 2_500.0, sd=0.15, shape=sim.seasonal_shape(season, 0.2)
        ),
    }
    controls = {"price": sim.price_index(rngs["price"], weeks)}
    scales = {name: media_scale(spend) for name, spend in media.items()}
    terms = sim.linear_terms(media, scales, TWO_CHANNELS, controls, TWO_CHANNEL_COEFS)
    shock = rngs["noise"].standard_normal(weeks)
    kpi, lines, noise_sd = sim.respond(terms, TWO_CHANNEL_COEFS.intercept, shock, "identity", 0)
    series = sim.Series(media, controls, np.round(kpi, 2), lines, noise_sd)
    folder.mkdir(parents=True, exist_ok=True)
    sim.data_frame(dates, "revenue", series).to_csv(
        folder / "two_channel.csv", index=False, date_format="%Y-%m-%d", lineterminator="\n"
    )
    config = folder / "two_channel.yaml"
    config.write_text(TWO_CHANNEL_CONFIG, encoding="utf-8")
    return config


# ---------------------------------------------------------------------------
# What one run folder says about its fit


_ELAPSED = re.compile(
    r"#\s+Elapsed Time:\s*([\d.]+) seconds \(Warm-up\)\s*#\s*([\d.]+) seconds \(Sampling\)"
)


def chain_elapsed(csv: Path) -> float:
    """Warm-up + sampling seconds of one chain, from its CSV's closing comment lines."""
    with csv.open("rb") as handle:
        handle.seek(max(0, csv.stat().st_size - 4096))
        tail = handle.read().decode(errors="replace")
    found = _ELAPSED.search(tail)
    if found is None:
        raise ValueError(f"no '#  Elapsed Time:' lines at the end of {csv}")
    return float(found.group(1)) + float(found.group(2))


def fit_timeline(run_dir: Path) -> dict[str, float]:
    """The fit stage split around the Stan process, from timestamps the run leaves behind."""
    folder = run_dir / FIT
    status = json.loads((folder / "status.json").read_text())
    stage_start = datetime.fromisoformat(status["started"]).timestamp()
    stage_end = stage_start + float(status["seconds"])
    sampler_start = (folder / "stan_data.json").stat().st_mtime
    csvs = sorted((folder / "stan_csv").glob("*.csv"))
    sampler_end = max(p.stat().st_mtime for p in csvs)
    fit_seconds = float(stage_summary(run_dir, FIT)["fit_seconds"])
    sampling = sampler_end - sampler_start
    return {
        "stage": float(status["seconds"]),
        "sampling": sampling,
        "fit_seconds": fit_seconds,
        "chain_max": max(chain_elapsed(p) for p in csvs),
        "before": sampler_start - stage_start,
        "parse": fit_seconds - sampling,
        "after": stage_end - sampler_end,
    }


# ---------------------------------------------------------------------------
# Timing


def measure(label: str, config: Path, out: Path, repeat: int) -> None:
    walls: list[float] = []
    timelines: list[dict[str, float]] = []
    stages: list[dict[str, float]] = []
    for _ in range(repeat):
        seconds, run_dir = timed_run(config, out, "--no-plots")
        walls.append(seconds)
        timelines.append(fit_timeline(run_dir))
        stages.append(stage_seconds(run_dir))

    def med(key: str) -> float:
        return median([t[key] for t in timelines])

    sampling = med("sampling")
    overhead = median([(t["stage"] - t["sampling"]) / t["sampling"] for t in timelines])
    whole = median([w / t["sampling"] for w, t in zip(walls, timelines, strict=True)])
    print(f"\n{label}, {repeat} repeat(s) (medians)")
    show("mmm run --no-plots, wall time", f"{median(walls):.2f} s")
    show(f"stage {FIT}", f"{med('stage'):.2f} s")
    show("  sampling (Stan process)", f"{sampling:.2f} s")
    show("  before sampling (toolchain, cache, design)", f"{med('before'):.2f} s")
    show("  after sampling", f"{med('after'):.2f} s")
    show("    of which CSV parsing in fit_seconds", f"{med('parse'):.2f} s")
    show("  fit_seconds (status.json: sampler + parsing)", f"{med('fit_seconds'):.2f} s")
    show("  longest chain (CSV Elapsed Time, not wall)", f"{med('chain_max'):.2f} s")
    show(
        "overhead (fit stage − sampling) / sampling",
        f"{overhead:.2f} (target ≤ {OVERHEAD_TARGET}) "
        f"{'met' if overhead <= OVERHEAD_TARGET else 'MISSED'}",
    )
    show(
        "whole run / sampling",
        f"{whole:.2f} (target ≤ {WHOLE_TARGET}) {'met' if whole <= WHOLE_TARGET else 'MISSED'}",
    )
    for folder in stages[0]:
        show(f"  stage {folder}", f"{median([s[folder] for s in stages]):.2f} s")
    outside = median([w - sum(s.values()) for w, s in zip(walls, stages, strict=True)])
    show("  outside the stages (start-up, imports, checks)", f"{outside:.2f} s")


# ---------------------------------------------------------------------------
# Profiling (--profile)

# (label, file suffix, function name): cumulative seconds inside the fit stage. Names of
# both the old and the refactored layout are listed; those never called are not shown.
SINKS = [
    ("toolchain.locate", "backend/toolchain.py", "locate"),
    ("cache.compile_model (cache hit)", "backend/cache.py", "compile_model"),
    ("build_design", "data/design.py", "build_design"),
    ("fit.write_data (first import of cmdstanpy in)", "backend/fit.py", "write_data"),
    ("fit.sample (sampler + CSV parsing)", "backend/fit.py", "sample"),
    ("  cmdstanpy exe_info (`model info` call)", "cmdstanpy/model.py", "exe_info"),
    ("  waiting for the Stan process", "concurrent/futures/thread.py", "shutdown"),
    ("  CmdStanMCMC(): CSV validation pass", "cmdstanpy/stanfit/mcmc.py", "_validate_csv_files"),
    ("  CmdStanMCMC.draws(): CSV parse pass", "cmdstanpy/stanfit/mcmc.py", "draws"),
    ("  fit._variables (extract_reshape)", "backend/fit.py", "_variables"),
    ("to_inference_data (xarray Datasets)", "analysis/posterior.py", "to_inference_data"),
    ("PosteriorData.to_netcdf (5 groups, 5 opens)", "analysis/posterior.py", "to_netcdf"),
    ("flatten / posterior", "analysis/posterior.py", "flatten"),
    ("flatten / posterior", "classes/base.py", "posterior"),
    ("original_scale / quantities", "analysis/posterior.py", "original_scale"),
    ("original_scale / quantities", "classes/base.py", "quantities"),
    ("summary_table", "analysis/posterior.py", "summary_table"),
    ("  _import_arviz (first call imports arviz)", "analysis/posterior.py", "_import_arviz"),
    ("  arviz ess (bulk + tail, per parameter)", "arviz/stats/diagnostics.py", "ess"),
    ("  arviz rhat (per parameter)", "arviz/stats/diagnostics.py", "rhat"),
    ("effects.decompose", "analysis/effects.py", "decompose"),
    ("  effects.media_curves", "analysis/effects.py", "media_curves"),
    ("  effects.contributions", "analysis/effects.py", "contributions"),
    ("  effects.log_scale_parts", "analysis/effects.py", "log_scale_parts"),
    ("  effects.expected_kpi", "analysis/effects.py", "expected_kpi"),
    ("decomposition.fit_metrics", "analysis/decomposition.py", "fit_metrics"),
    ("DataFrame.to_csv", "pandas/core/generic.py", "to_csv"),
]

PROFILE_CODE = textwrap.dedent(
    """
    import cProfile, sys
    from pathlib import Path
    from mmm_runner.pipeline import runner
    profiler = cProfile.Profile()
    stage = runner.STAGE_FUNCTIONS["model_fit"]

    def profiled(ctx):
        profiler.enable()
        try:
            return stage(ctx)
        finally:
            profiler.disable()

    runner.STAGE_FUNCTIONS["model_fit"] = profiled
    options = runner.RunOptions(output_dir=Path(sys.argv[2]), plots=False)
    outcome = runner.execute(Path(sys.argv[1]), options)
    profiler.dump_stats(sys.argv[3])
    print(outcome.run_dir)
    """
)


def cumulative(stats: pstats.Stats, suffix: str, name: str) -> tuple[float, int]:
    """Cumulative seconds and calls of the functions named `name` in files ending `suffix`."""
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    seconds, calls = 0.0, 0
    for (path, _, func), (_, primitive_calls, _, cum, _) in table.items():
        if func == name and path.replace("\\", "/").endswith(suffix):
            seconds += cum
            calls += primitive_calls
    return seconds, calls


def profile(label: str, config: Path, out: Path, top: int) -> None:
    """Runs the pipeline once in a fresh process under cProfile and prints the fit stage."""
    dump = out / "profile.pstats"
    done = subprocess.run(
        [sys.executable, "-c", PROFILE_CODE, str(config), str(out / "runs"), str(dump)],
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    run_dir = Path(done.stdout.strip().splitlines()[-1])
    stats = pstats.Stats(str(dump))
    stage, _ = cumulative(stats, "pipeline/stages/model_fit.py", "run")
    timeline = fit_timeline(run_dir)
    print(
        f"\n{label}: fit stage under cProfile (one run; cumulative seconds, profiler overhead in)"
    )
    show(f"stage {FIT} (profiled)", f"{stage:.2f} s")
    show("sampling (Stan process, file timestamps)", f"{timeline['sampling']:.2f} s")
    shown: set[str] = set()
    for name, suffix, func in SINKS:
        seconds, calls = cumulative(stats, suffix, func)
        if calls and name not in shown:  # the first name found of a renamed function
            shown.add(name)
            show(name, f"{seconds:6.2f} s  ({calls} call{'s' if calls > 1 else ''})")
    waiting, _ = cumulative(stats, "concurrent/futures/thread.py", "shutdown")
    show("stage − waiting for Stan (profiled overhead)", f"{stage - waiting:6.2f} s")
    text = io.StringIO()
    pstats.Stats(str(dump), stream=text).sort_stats("cumulative").print_stats(
        r"mmm_runner|cmdstanpy|arviz|xarray|netCDF|h5netcdf|pandas/io", top
    )
    print(f"\ntop {top} cumulative entries (mmm_runner, cmdstanpy, arviz, xarray, pandas io):")
    lines = text.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    print("\n".join(line for line in lines[start:] if line.strip()))


def arviz_import_seconds() -> tuple[float, float]:
    """Seconds to import arviz in a fresh process: alone, and after what a run has loaded
    when summary_table first imports it (the CLI, the pipeline, cmdstanpy, xarray, h5netcdf)."""
    code = (
        "import time, sys\n"
        "if sys.argv[1] == 'after':\n"
        "    import mmm_runner.cli.main, mmm_runner.pipeline.runner, cmdstanpy, xarray, h5netcdf\n"
        "t = time.perf_counter()\n"
        "import arviz\n"
        "print(time.perf_counter() - t)\n"
    )
    times = []
    for mode in ("alone", "after"):
        done = subprocess.run(
            [sys.executable, "-c", code, mode],
            check=True,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        times.append(float(done.stdout.strip().splitlines()[-1]))
    return times[0], times[1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per example")
    parser.add_argument(
        "--example", choices=["single_market", "two_channel", "both"], default="both"
    )
    parser.add_argument(
        "--profile", action="store_true", help="also profile one run of each example"
    )
    parser.add_argument("--top", type=int, default=30, help="entries in the profile listing")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        examples: list[tuple[str, Path]] = []
        if args.example in ("single_market", "both"):
            examples.append(
                (
                    "config/single_market.yaml (156 weeks, 6 channels, 4 × 1000 + 1000)",
                    ROOT / "config" / "single_market.yaml",
                )
            )
        if args.example in ("two_channel", "both"):
            examples.append(
                (
                    f"two-channel example ({TWO_CHANNEL_WEEKS} weeks, tv + search, "
                    "4 × 1000 + 1000)",
                    two_channel_example(out / "two_channel"),
                )
            )
        # Untimed: assembles the toolchain and compiles blm if the cache lacks them, and
        # loads the Python modules into the page cache. MAP is enough: same program.
        timed_run(ROOT / "config" / "single_market_map.yaml", out / "warm", "--no-plots")
        print(f"targets: overhead ≤ {OVERHEAD_TARGET}, whole run ≤ {WHOLE_TARGET} × sampling")
        for i, (label, config) in enumerate(examples):
            measure(label, config, out / f"runs{i}", args.repeat)
        if args.profile:
            for i, (label, config) in enumerate(examples):
                profile(label, config, out / f"profile{i}", args.top)
            alone, after = arviz_import_seconds()
            print()
            show("import arviz, fresh process", f"{alone:.2f} s")
            show("import arviz where the fit stage does", f"{after:.2f} s")


if __name__ == "__main__":
    main()
