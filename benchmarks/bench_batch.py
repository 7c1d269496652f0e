"""A batch of 8 MAP runs on a local Dask cluster against the same runs one after another.

Eight seeds of the shipped MAP example (10 starts each) as a sweep: `mmm batch --sweep`
(its local cluster started inside the timing) against `mmm run` eight times in a row, and
against the pipeline called eight times in one warm process. Prints wall times, runs per
minute and the ratios (medians over --repeat). Issue 19 asks for throughput that grows
with workers; on 2 cores a MAP run's two optimiser processes already fill the machine, so
the batch gains mainly from warm workers (no interpreter start and imports per run).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

from _common import MMM, ROOT, median, show, timed_run

RUNS = 8
CONFIG = ROOT / "config" / "single_market_map.yaml"


def sweep_file(folder: Path) -> Path:
    path = folder / "seeds.yaml"
    seeds = ", ".join(str(20240101 + i) for i in range(RUNS))
    path.write_text(f"name: seeds\nbase: {CONFIG}\ngrid:\n  seed: [{seeds}]\n")
    return path


def timed_batch(sweep: Path, out: Path, *options: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [*MMM, "batch", "--sweep", str(sweep), "-o", str(out), "-q", "--no-plots", *options],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    return time.perf_counter() - started


def timed_in_process(configs: list[Path], out: Path) -> float:
    from mmm_runner.pipeline.runner import RunOptions, execute

    started = time.perf_counter()
    for config in configs:
        execute(config, RunOptions(output_dir=out, plots=False))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=0, help="local cluster size [auto]")
    args = parser.parse_args()
    extra = ("--workers", str(args.workers)) if args.workers else ()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sweep = sweep_file(folder)
        timed_run(CONFIG, folder / "warm", "--no-plots")  # compile cache and toolchain warm
        # The sweep's expanded configs, for the one-by-one runs (the same bytes as the batch's).
        timed_batch(sweep, folder / "expand", *extra)
        configs = sorted((next((folder / "expand").glob("*_batch_seeds")) / "configs").iterdir())
        batch, one_by_one, in_process = [], [], []
        for attempt in range(args.repeat):
            batch.append(timed_batch(sweep, folder / f"batch{attempt}", *extra))
            one_by_one.append(
                sum(timed_run(c, folder / f"seq{attempt}", "--no-plots")[0] for c in configs)
            )
            in_process.append(timed_in_process(configs, folder / f"proc{attempt}"))
    print(f"{RUNS} MAP runs of {CONFIG.name} (10 starts), {args.repeat} repeats (medians)")
    for label, times in (
        ("mmm batch --sweep (local cluster included)", batch),
        ("mmm run, one after another", one_by_one),
        ("pipeline in one process, one after another", in_process),
    ):
        show(label, f"{median(times):.1f} s, {RUNS / median(times) * 60:.1f} runs/min")
    show("ratio: one after another / batch", f"{median(one_by_one) / median(batch):.2f}x")
    show("ratio: in one process / batch", f"{median(in_process) / median(batch):.2f}x")


if __name__ == "__main__":
    main()
