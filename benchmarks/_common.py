"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MMM = [sys.executable, "-m", "mmm_runner.cli.main"]


def timed_run(config: Path, out: Path, *options: str) -> tuple[float, Path]:
    """Wall time of `mmm run` in a fresh process, and its run folder."""
    started = time.perf_counter()
    subprocess.run(
        [*MMM, "run", "-c", str(config), "-o", str(out), "-q", *options],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    seconds = time.perf_counter() - started
    run_dir = max(out.iterdir(), key=lambda p: p.stat().st_mtime)
    return seconds, run_dir


def peak_child_memory_mb() -> float:
    """Largest resident memory of any child process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def stage_seconds(run_dir: Path) -> dict[str, float]:
    manifest = json.loads((run_dir / "00_run_metadata" / "manifest.json").read_text())
    return {s["folder"]: s["seconds"] for s in manifest["stages"]}


def stage_summary(run_dir: Path, folder: str) -> dict[str, Any]:
    status = json.loads((run_dir / folder / "status.json").read_text())
    summary: dict[str, Any] = status.get("summary", {})
    return summary


def median(values: list[float]) -> float:
    return statistics.median(values)


def show(label: str, value: str) -> None:
    print(f"{label:<48} {value}")


def sampling_seconds(
    configs: dict[str, Path], folder: Path, repeat: int
) -> tuple[dict[str, list[float]], dict[str, list[dict[str, float]]]]:
    """Each config's sampling seconds over ``repeat`` rounds (after one warm-up run that
    compiles its program), and its gates' values per round, by check."""
    for config in configs.values():
        timed_run(config, folder / "warm", "--no-plots")
    seconds: dict[str, list[float]] = {name: [] for name in configs}
    gates: dict[str, list[dict[str, float]]] = {name: [] for name in configs}
    for _ in range(repeat):
        for name, config in configs.items():
            _, run = timed_run(config, folder / name, "--no-plots")
            seconds[name].append(float(stage_summary(run, "20_model_fit")["fit_seconds"]))
            rows = (run / "40_diagnostics" / "gates.csv").read_text().splitlines()[1:]
            values = {row.split(",")[0]: row.split(",")[1] for row in rows}
            gates[name].append({k: float(v) for k, v in values.items() if v})
    return seconds, gates


def compare_to_blm(
    configs: Any, guide: dict[str, float], doc: str, references: dict[str, str] | None = None
) -> None:
    """The shared main of the class benchmarks: time every config (``configs(folder)``
    writes them) ``--repeat`` times and print each one's sampling time as a ratio to its
    single-KPI reference (``references``, by default the ``blm`` config), beside the
    guide's multiplier, with R-hat and divergences."""
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        seconds, gates = sampling_seconds(configs(folder), folder, args.repeat)
    print(f"MCMC 4 x (1000 + 1000), median of {args.repeat} (sampling and CSV parsing)")
    for name, values in seconds.items():
        reference = (references or {}).get(name, "blm")
        ratio = median(values) / median(seconds[reference])
        against = f"  guide {guide[name]:.2f}x" if name in guide else ""
        show(
            name,
            f"{median(values):6.1f} s  {ratio:4.2f}x {reference:<12}{against}  "
            f"max R-hat {max(g['rhat'] for g in gates[name]):.3f}  "
            f"divergent {max(g.get('divergences', 0.0) for g in gates[name]):.2%}",
        )


def sampler_measures(config: Path, out: Path) -> dict[str, float]:
    """One `mmm run --no-plots`: sampling seconds, leapfrog steps per iteration,
    divergent transitions and the smallest bulk ESS per second."""
    import warnings

    import arviz as az
    import pandas as pd

    _, run_dir = timed_run(config, out, "--no-plots")
    fit = stage_summary(run_dir, "20_model_fit")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = az.from_netcdf(run_dir / "20_model_fit" / "posterior.nc").sample_stats
    summary = pd.read_csv(run_dir / "20_model_fit" / "posterior_summary.csv")
    return {
        "fit": float(fit["fit_seconds"]),
        "leapfrog": float(stats["n_steps"].mean()),
        "divergences": float(stats["diverging"].sum()),
        "ess_bulk": float(summary["ess_bulk"].min()),
        "ess_per_second": float(summary["ess_bulk"].min()) / float(fit["fit_seconds"]),
        "rhat": float(summary["r_hat"].max()),
    }
