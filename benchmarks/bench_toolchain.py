"""Times the Stan toolchain: assembly, first compile, cache hit, and sampling vs CmdStan.

Targets (issue 2): cache hit < 1 s; a model compile after the first ≤ 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, median, show

from mmm_runner.backend import cache, toolchain
from mmm_runner.model import programs


def assembly_seconds() -> float:
    """A fresh assembly in a throwaway cache (a new process, so nothing is shared)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "MMM_CACHE_DIR": tmp}
        env.pop("CMDSTAN", None)
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-c",
                "from mmm_runner.backend import toolchain;toolchain.ensure_bundled()",
            ],
            check=True,
            env=env,
        )
        return time.perf_counter() - started


def sampling_seconds(exe: Path, data: Path, repeat: int) -> float:
    import cmdstanpy

    model = cmdstanpy.CmdStanModel(exe_file=str(exe))
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        model.sample(data=str(data), chains=4, seed=1, show_progress=False)
        times.append(time.perf_counter() - started)
    return median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-assembly", action="store_true")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not args.skip_assembly:
        show("toolchain assembly (fresh cache, 2 cores)", f"{assembly_seconds():.0f} s")
    tools = toolchain.locate()
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp)
        first = cache.compile_model(programs.program("blm"), tools, cache_dir=store)
        show("first compile of stan/blm.stan", f"{first.seconds:.1f} s (target ≤ 60 s)")
        hits = [
            cache.compile_model(programs.program("blm"), tools, cache_dir=store).seconds
            for _ in range(args.repeat)
        ]
        show("cache hit", f"{1000 * median(hits):.0f} ms (target < 1 s)")
        bench = ROOT / "tests" / "backend" / "stan_programs" / "eight_schools.stan"
        data = store / "schools.json"
        data.write_text(
            '{"J": 8, "y": [28, 8, -3, 7, -1, 1, 18, 12], '
            '"sigma": [15, 10, 16, 11, 9, 11, 10, 18]}'
        )
        bundled = cache.compile_model(bench, tools, cache_dir=store)
        ours = sampling_seconds(bundled.exe, data, args.repeat)
        show("eight schools, 4 chains, bundled toolchain", f"{ours:.2f} s")
        real = toolchain.find_cmdstan()
        if real is None:
            show("same under a real CmdStan", "no CmdStan installed here (CMDSTAN unset)")
        else:
            reference = toolchain.locate()
            theirs = sampling_seconds(
                cache.compile_model(bench, reference, cache_dir=store).exe, data, args.repeat
            )
            show("same under CmdStan", f"{theirs:.2f} s (ratio {ours / theirs:.2f})")


if __name__ == "__main__":
    main()
