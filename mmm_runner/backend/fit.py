"""Fitting through cmdstanpy: MCMC, MAP from several starts, Laplace, Pathfinder.

The result is plain arrays (chain, draw, ...) plus sampler statistics and the
Stan CSV files; nothing downstream sees a cmdstanpy object.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mmm_runner.atomic import replacing
from mmm_runner.backend.cache import CompiledModel
from mmm_runner.backend.toolchain import Toolchain
from mmm_runner.config.models import FitConfig
from mmm_runner.errors import SamplingError
from mmm_runner.system import usable_cores

Array = npt.NDArray[np.float64]
MAP_STARTS_AT_ONCE = 2  # optimiser starts run side by side unless fit.parallel_chains says
# `threads_per_chain: auto` gives a chain a thread per this many groups at most: a slice of
# the likelihood must hold enough rows to outweigh what reduce_sum costs (copying the
# media effects into each thread's autodiff stack); on an 8-geo panel two threads cost
# more than they saved (benchmarks/bench_panel_threads.py)
GROUPS_PER_THREAD = 8
# (chain id, iteration, total iterations) as the sampler reports them.
Progress = Callable[[int, int, int], None]

SAMPLE_STATS = {
    "lp__": "lp",
    "accept_stat__": "acceptance_rate",
    "stepsize__": "step_size",
    "treedepth__": "tree_depth",
    "n_leapfrog__": "n_steps",
    "divergent__": "diverging",
    "energy__": "energy",
}


@dataclass(frozen=True)
class Parallelism:
    """How one fit uses the cores: MCMC chains run at once and threads per chain.

    All chains run in one Stan process whose thread pool has ``parallel_chains ×
    threads_per_chain`` threads; a chain's spare threads take slices of a likelihood
    that is split over groups (``reduce_sum``), and the program is told
    ``threads_per_chain`` as data (its ``threads``) so that it splits it that way.
    """

    cores: int  # usable cores (CPU affinity, container limits, MMM_CORES)
    chains: int
    parallel_chains: int
    threads_per_chain: int
    setting: int | str  # fit.threads_per_chain as configured

    @property
    def num_threads(self) -> int:
        return self.parallel_chains * self.threads_per_chain

    def as_dict(self) -> dict[str, Any]:
        return {
            "cores": self.cores,
            "chains": self.chains,
            "parallel_chains": self.parallel_chains,
            "threads_per_chain": self.threads_per_chain,
            "threads_per_chain_setting": self.setting,
            "num_threads": self.num_threads,
        }


def parallelism(
    fit: FitConfig, method: str, groups: int = 0, cores: int | None = None
) -> Parallelism:
    """Chains at once and threads per chain for a fit, from the config and the cores.

    ``groups``: the groups the program can split its likelihood over (0: it cannot,
    so a chain has one thread). Chains at once are ``fit.parallel_chains`` or one per
    core; ``threads_per_chain: auto`` gives each chain the cores the chains leave free
    (``cores // parallel_chains``), at most one thread per ``GROUPS_PER_THREAD`` groups;
    a number is taken as given (at most one thread per group). Methods other than MCMC
    run one thread per process.
    """
    cores = usable_cores() if cores is None else cores
    chains = fit.chains if method == "mcmc" else 1
    at_once = max(1, min(chains, fit.parallel_chains or cores))
    threads = 1
    if method == "mcmc" and groups > 1:
        if fit.threads_per_chain == "auto":
            threads = max(1, min(cores // at_once, groups // GROUPS_PER_THREAD))
        else:
            threads = min(fit.threads_per_chain, groups)
    return Parallelism(cores, chains, at_once, threads, fit.threads_per_chain)


@dataclass
class Draws:
    """What a fit produced, as arrays shaped (chain, draw, *variable shape)."""

    method: str
    variables: dict[str, Array]
    sample_stats: dict[str, Array] = field(default_factory=dict)
    csv_files: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def n_chains(self) -> int:
        return int(next(iter(self.variables.values())).shape[0])

    @property
    def n_draws(self) -> int:
        return int(next(iter(self.variables.values())).shape[1])


def _model(compiled: CompiledModel, toolchain: Toolchain) -> Any:
    import cmdstanpy  # the backend is the only importer of cmdstanpy

    cmdstanpy.set_cmdstan_path(str(toolchain.path))
    logging.getLogger("cmdstanpy").setLevel(logging.WARNING)
    return cmdstanpy.CmdStanModel(exe_file=str(compiled.exe))


def _variables(fit: Any, draws: Array) -> dict[str, Array]:
    """Every Stan variable of a (chain, draw, column) array, reshaped."""
    return {
        name: np.asarray(var.extract_reshape(draws), dtype=float)
        for name, var in fit.metadata.stan_vars.items()
    }


# Stan's console lines that say why a fit could not start or stopped (cmdstanpy's
# exception quotes only the lines starting with "Error" or "Exception", and the driver
# writes the rejection reasons of initialisation to the console file alone).
_CHAIN_PREFIX = re.compile(r"^(?:Chain \[\d+\] )")
_CONSOLE_FILE = re.compile(r"\S+-stdout\.txt")
_REJECTIONS = (
    "Log probability evaluates to log(0)",
    "Gradient evaluated at the initial value is not finite",
)
_GENERIC = (
    "Error during sampling",
    "Error during optimization",
    "Error evaluating the log probability at the initial value",  # an Exception line follows
    "Error: Initialization failed",
    "Initialization failed",
    "Rejecting initial value",
    "Stan can't start sampling",
    "Try specifying initial values",
    "Consider re-running with show_console",
    "Command and output files",
)
MAX_REASONS = 8
INIT_HINT = (
    "Usual causes: a prior or boundary that leaves no room (a scale of 0, a prior outside "
    "its parameter's range), or data with extreme values (see `mmm validate`'s warnings); "
    "a smaller fit.init_radius (e.g. 0.5) can also help."
)


def _reason(line: str) -> str | None:
    """A console line as a reason for the user, or None when it says nothing specific."""
    text = _CHAIN_PREFIX.sub("", line).strip()
    if not text or text.startswith(_GENERIC):
        return None
    if text.startswith(_REJECTIONS):
        return f"Rejecting initial value: {text}"
    if text.startswith(("Exception", "Error", "Unrecoverable error", "Initialization between")):
        # Stan names the program by its full path; the file name is enough.
        return re.sub(r"in '[^']*/([^'/]+)'", r"in '\1'", text)
    return None


def stan_reasons(text: str) -> list[str]:
    """Stan's distinct reasons in a console text, in order, repeats counted."""
    counts: dict[str, int] = {}
    for line in text.splitlines():
        reason = _reason(line)
        if reason is not None:
            counts[reason] = counts.get(reason, 0) + 1
    return [f"{r} ({n} times)" if n > 1 else r for r, n in counts.items()]


def console_files(text: str, output_dir: Path | None) -> list[Path]:
    """Stan's console files of a failed fit: those the exception names, else the folder's."""
    named = [Path(m) for m in _CONSOLE_FILE.findall(text)]
    found = [p for p in dict.fromkeys(named) if p.is_file()]
    if not found and output_dir is not None and output_dir.is_dir():
        found = sorted(output_dir.glob("*-stdout.txt"))
    return found


def _failure(
    method: str, exc: Exception, output_dir: Path | None = None, advice: str = ""
) -> SamplingError:
    """The sampler's failure in Stan's own words, read from its console when needed;
    ``advice`` ends the hint (what the caller knows of how the fit started)."""
    text = str(exc)
    reasons = stan_reasons(text)
    consoles = console_files(text, output_dir)
    if not any(r.startswith(("Rejecting", "Exception")) for r in reasons):
        for console in consoles:
            try:
                reasons += stan_reasons(console.read_text(errors="replace"))
            except OSError:
                continue
        reasons = list(dict.fromkeys(reasons))
    initialisation = "Initialization" in text or any(
        r.startswith(("Rejecting initial value", "Initialization between")) for r in reasons
    )
    if not reasons:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        reasons = lines[:MAX_REASONS] or [type(exc).__name__]
    where = f" Stan's console output: {consoles[0]}." if consoles else ""
    if initialisation:
        return SamplingError(
            f"{method} failed: Stan found no starting point where the model can be "
            "evaluated. Stan says:\n" + "\n".join(reasons[:MAX_REASONS]),
            hint=INIT_HINT + where + advice,
        )
    return SamplingError(
        f"{method} failed. Stan says:\n" + "\n".join(reasons[:MAX_REASONS]),
        hint="Check the data for extreme values, or loosen priors and boundaries; "
        "rerun with --verbose for the full sampler output." + where + advice,
    )


def sample(
    compiled: CompiledModel,
    toolchain: Toolchain,
    data: dict[str, Any],
    fit: FitConfig,
    seed: int,
    output_dir: Path,
    progress: Progress | None = None,
    plan: Parallelism | None = None,
    correlated: bool = False,
) -> Draws:
    """NUTS with the config's chains, warmup, draws and adaptation settings.

    With a warmup pilot (``fit.pilot_iterations()``), its iterations run first in
    ``output_dir/pilot`` and the rest of the warmup starts each chain from the pilot's
    end (see ``_pilot``). ``plan``: chains at once and threads per chain (default: one
    thread per chain, the chains one per core); its threads must be the ones the data
    tells the program. ``correlated``: the model class expects its parameters to correlate
    (``fit.metric`` auto then adapts a dense metric).
    """
    plan = plan or parallelism(fit, "mcmc")
    model = _model(compiled, toolchain)
    started = time.perf_counter()
    pilot = fit.pilot_iterations()
    total = fit.warmup + fit.samples
    common: dict[str, Any] = {
        "data": data,
        "chains": fit.chains,
        "parallel_chains": plan.parallel_chains,
        "threads_per_chain": plan.threads_per_chain,
        "adapt_delta": fit.adapt_delta,
        "show_progress": False,
        "refresh": max(1, total // 50),
    }
    start: dict[str, Any] = {"inits": fit.init_radius, "seed": seed}
    details: dict[str, Any] = {}
    if pilot:
        with _watching(output_dir / PILOT_DIR, progress, 0, total):
            start, details["pilot"] = _pilot(
                model, compiled, fit, common, seed, output_dir, pilot, correlated
            )
    elif fit.dense_metric(None, correlated):  # with a pilot, _pilot decides
        start["metric"] = "dense_e"
    details["metric"] = "dense" if start.get("metric") == "dense_e" else "diag"
    try:
        with _watching(output_dir, progress, pilot, total):
            result = model.sample(
                **common,
                **start,
                iter_warmup=fit.warmup - pilot,
                iter_sampling=fit.samples,
                thin=fit.thin,
                max_treedepth=fit.max_treedepth,
                output_dir=str(output_dir),
            )
    except (RuntimeError, ValueError) as exc:
        raise _failure("MCMC sampling", exc, output_dir, PILOT_HINT if pilot else "") from exc
    draws = result.draws(concat_chains=False).transpose(1, 0, 2)  # chain, draw, column
    columns = list(result.column_names)
    stats = {SAMPLE_STATS[c]: draws[:, :, i] for i, c in enumerate(columns) if c in SAMPLE_STATS}
    return Draws(
        method="mcmc",
        variables=_variables(result, draws),
        sample_stats=stats,
        csv_files=[Path(p) for p in result.runset.csv_files],
        seconds=time.perf_counter() - started,
        details={
            "step_size": [float(s) for s in np.atleast_1d(result.step_size)],
            "max_treedepth": fit.max_treedepth,
            "chains": fit.chains,
            "parallelism": plan.as_dict(),
            **details,
        },
    )


# The warmup pilot. Stan's warmup starts from a unit metric; on a posterior whose scales
# are far from 1 (a geo panel's intercepts and coefficients, pinned down by thousands of
# rows, have posterior sds near 0.03) its step size shrinks until every tree of the first
# slow window reaches the maximum depth: on the 40-geo benchmark iterations 25-100 took
# over half of the warmup's leapfrog steps. The pilot runs those iterations with trees of
# at most 63 steps and its own short windows (a third, a sixth, a sixth of its length),
# then hands each chain's position, metric and step size to Stan's usual adaptation,
# which starts its first window after MAIN_INIT_BUFFER iterations since the chains are
# already in the typical set.
PILOT_DIR = "pilot"
PILOT_TREEDEPTH = 6
MAIN_INIT_BUFFER = 25
# the main run's random stream: another seed than the pilot's, and not the next one, which
# a sweep over consecutive seeds gives another run's pilot
MAIN_SEED_XOR = 0x5EED1
PILOT_HINT = (
    " The chains started from the warmup pilot's last draws; `fit.warmup_pilot: 0` starts "
    "them from random inits as Stan does."
)


def _pilot(
    model: Any,
    compiled: CompiledModel,
    fit: FitConfig,
    common: dict[str, Any],
    seed: int,
    output_dir: Path,
    iterations: int,
    correlated: bool,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Runs the pilot; returns the main run's start arguments (inits, metric and step size
    files of each chain, kept beside the pilot's CSVs; the metric's form, dense when
    ``fit.dense_metric`` says so for the parameters it counted) and what to record of
    it."""
    folder = output_dir / PILOT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    depth = min(PILOT_TREEDEPTH, fit.max_treedepth)
    started = time.perf_counter()
    try:
        # the last of its iterations is a draw after adaptation: the chain's position
        result = model.sample(
            **common,
            iter_warmup=iterations - 1,
            iter_sampling=1,
            max_treedepth=depth,
            adapt_init_phase=iterations // 3,
            adapt_metric_window=iterations // 6,
            adapt_step_size=iterations // 6,
            inits=fit.init_radius,
            seed=seed,
            sig_figs=18,  # positions exactly: a rounded one can fall on a bound
            output_dir=str(folder),
        )
    except (RuntimeError, ValueError) as exc:
        advice = " `fit.warmup_pilot: 0` runs without the pilot."
        raise _failure("MCMC sampling (warmup pilot)", exc, folder, advice) from exc
    variables = _variables(result, result.draws(concat_chains=False).transpose(1, 0, 2))
    names = [n for n in compiled.parameters if n in variables]  # zero-size ones are absent
    steps = [float(s) for s in np.atleast_1d(result.step_size)]
    scales = np.atleast_2d(result.inv_metric)
    # a dense main run (fit.metric) starts its adaptation from the pilot's scales
    dense = fit.dense_metric(scales.shape[1], correlated)
    inits, metrics = [], []
    for chain, inv_metric in enumerate(scales):
        position = {n: variables[n][chain, -1] for n in names}
        inits.append(write_data(folder / f"inits_{chain + 1}.json", position))
        metric = np.diag(inv_metric) if dense else inv_metric
        metrics.append(write_data(folder / f"metric_{chain + 1}.json", {"inv_metric": metric}))
    start = {
        "inits": [str(p) for p in inits],
        "inv_metric": [str(p) for p in metrics],
        # one process runs the chains and takes one first step size: the pilots' median
        "step_size": float(np.median(steps)),
        "adapt_init_phase": MAIN_INIT_BUFFER,
        "seed": seed ^ MAIN_SEED_XOR,
    }
    if dense:
        start["metric"] = "dense_e"
    record = {
        "iterations": iterations,
        "parameters": int(scales.shape[1]),  # unconstrained
        "max_treedepth": depth,
        "seconds": round(time.perf_counter() - started, 3),
        "step_size": steps,
    }
    return start, record


@contextlib.contextmanager
def _watching(folder: Path, progress: Progress | None, offset: int, total: int) -> Iterator[None]:
    """Reports the iterations of the sampler writing into ``folder`` while the block runs,
    ``offset`` iterations on and out of ``total`` (a pilot and the main run are one
    progress)."""
    if progress is None:
        yield
        return
    stop = threading.Event()

    def report(chain: int, iteration: int, _: int) -> None:
        progress(chain, iteration + offset, total)

    watcher = threading.Thread(target=_watch, args=(folder, report, stop), daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join(timeout=2)


_ITERATION = re.compile(r"(?:Chain \[(\d+)\] )?Iteration:\s+(\d+) / (\d+)")


def _watch(folder: Path, progress: Progress, stop: threading.Event) -> None:
    """Follows the sampler's console files and reports each chain's iteration."""
    seen: dict[int, int] = {}
    while True:
        done = stop.wait(0.25)  # one more reading once stopped: the last iterations
        for console in folder.glob("*-stdout.txt"):
            try:
                text = console.read_text(errors="replace")
            except OSError:
                continue
            for chain, iteration, total in _ITERATION.findall(text):
                key = int(chain or 1)
                if int(iteration) > seen.get(key, 0):
                    seen[key] = int(iteration)
                    progress(key, int(iteration), int(total))
        if done:
            return


def _optimize_once(
    model: Any, data: dict[str, Any], seed: int, radius: float, jacobian: bool, output_dir: Path
) -> tuple[int, Any, str]:
    # One folder per start: cmdstanpy names files by the second they start in.
    folder = output_dir / f"map_start_{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        fit = model.optimize(
            data=data,
            seed=seed,
            inits=radius,
            jacobian=jacobian,
            output_dir=str(folder),
            iter=5000,
            require_converged=False,
            show_console=False,
        )
        return seed, fit, ""
    except (RuntimeError, ValueError) as exc:
        reasons = stan_reasons(str(exc))
        if not reasons:
            for console in console_files(str(exc), folder):
                with contextlib.suppress(OSError):
                    reasons += stan_reasons(console.read_text(errors="replace"))
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return seed, None, "; ".join(reasons[:3]) or first


def optimise(
    compiled: CompiledModel,
    toolchain: Toolchain,
    data: dict[str, Any],
    fit: FitConfig,
    seed: int,
    output_dir: Path,
    jacobian: bool = False,
) -> tuple[Draws, Any]:
    """The posterior mode: L-BFGS from ``map_starts`` random starts, best by log density.

    ``details["starts"]`` lists every start; ``details["agreement"]`` is the
    share of starts that reached the best optimum.
    """
    model = _model(compiled, toolchain)
    started = time.perf_counter()
    seeds = [seed + 7919 * i for i in range(fit.map_starts)]
    workers = max(1, min(len(seeds), fit.parallel_chains or MAP_STARTS_AT_ONCE))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        runs = list(
            pool.map(
                lambda s: _optimize_once(model, data, s, fit.init_radius, jacobian, output_dir),
                seeds,
            )
        )
    good = [(s, f) for s, f, _ in runs if f is not None]
    if not good:
        reasons = "; ".join(sorted({msg for _, _, msg in runs if msg}))[:500]
        initialisation = "initial value" in reasons or "Initialization" in reasons
        raise SamplingError(
            f"all {len(seeds)} MAP starts failed: {reasons}",
            hint=INIT_HINT
            if initialisation
            else "Check the data for extreme values, or loosen priors and boundaries.",
        )
    lps = {s: float(f.optimized_params_dict["lp__"]) for s, f in good}
    best_seed = max(lps, key=lambda s: lps[s])
    best = dict(good)[best_seed]
    tolerance = 1e-3 * max(1.0, abs(lps[best_seed]))
    starts = [
        {
            "start": i + 1,
            "seed": s,
            "lp": lps.get(s, float("nan")),
            "converged": s in lps,
            "reached_best": s in lps and lps[best_seed] - lps[s] <= tolerance,
            "message": msg,
        }
        for i, (s, _, msg) in enumerate(runs)
    ]
    values = np.asarray(best.optimized_params_np, dtype=float)[None, None, :]
    draws = Draws(
        method="map",
        variables=_variables(best, values),
        csv_files=[Path(best.runset.csv_files[0])],
        seconds=time.perf_counter() - started,
        details={
            "starts": starts,
            "best_seed": best_seed,
            "best_lp": lps[best_seed],
            "agreement": sum(bool(r["reached_best"]) for r in starts) / len(starts),
        },
    )
    return draws, best


def laplace(
    compiled: CompiledModel,
    toolchain: Toolchain,
    data: dict[str, Any],
    fit: FitConfig,
    seed: int,
    output_dir: Path,
) -> Draws:
    """Draws from the normal approximation at the mode (found with Jacobians)."""
    mode, best = optimise(compiled, toolchain, data, fit, seed, output_dir, jacobian=True)
    model = _model(compiled, toolchain)
    started = time.perf_counter()
    try:
        result = model.laplace_sample(
            data=data,
            mode=best,
            draws=fit.draws,
            seed=seed,
            jacobian=True,
            output_dir=str(output_dir),
        )
    except (RuntimeError, ValueError) as exc:
        raise _failure("Laplace sampling", exc, output_dir) from exc
    draws = np.asarray(result.draws(), dtype=float)[None, :, :]
    return Draws(
        method="laplace",
        variables=_variables(result, draws),
        csv_files=[Path(result._runset.csv_files[0]), *mode.csv_files],
        seconds=mode.seconds + time.perf_counter() - started,
        details={**mode.details, "draws": fit.draws},
    )


def pathfinder(
    compiled: CompiledModel,
    toolchain: Toolchain,
    data: dict[str, Any],
    fit: FitConfig,
    seed: int,
    output_dir: Path,
) -> Draws:
    """Pathfinder: several L-BFGS paths combined by PSIS."""
    model = _model(compiled, toolchain)
    started = time.perf_counter()
    try:
        result = model.pathfinder(
            data=data,
            seed=seed,
            num_paths=4,
            draws=fit.draws,
            num_single_draws=fit.draws,
            inits=fit.init_radius,
            output_dir=str(output_dir),
            show_console=False,
        )
    except (RuntimeError, ValueError) as exc:
        raise _failure("Pathfinder", exc, output_dir) from exc
    draws = np.asarray(result.draws(), dtype=float)[None, :, :]
    return Draws(
        method="pathfinder",
        variables=_variables(result, draws),
        csv_files=[Path(p) for p in result._runset.csv_files],
        seconds=time.perf_counter() - started,
        details={"paths": 4, "draws": fit.draws},
    )


def run_method(
    method: str,
    compiled: CompiledModel,
    toolchain: Toolchain,
    data: Any,
    fit: FitConfig,
    seed: int,
    output_dir: Path,
    progress: Progress | None = None,
    plan: Parallelism | None = None,
    correlated: bool = False,
) -> Draws:
    """Fits by the named method (the config's `fit.method` values); ``plan`` and
    ``correlated``: see ``sample``."""
    if method == "mcmc":
        return sample(compiled, toolchain, data, fit, seed, output_dir, progress, plan, correlated)
    if method == "map":
        return optimise(compiled, toolchain, data, fit, seed, output_dir)[0]
    if method == "laplace":
        return laplace(compiled, toolchain, data, fit, seed, output_dir)
    return pathfinder(compiled, toolchain, data, fit, seed, output_dir)


def cores_per_fit(fit: FitConfig, method: str) -> int:
    """Cores one fit keeps busy at once: chains (times a set number of threads per
    chain) for MCMC, optimiser starts for MAP and Laplace (see ``optimise``), one for
    Pathfinder; at most the usable cores. ``threads_per_chain: auto`` counts one thread:
    it takes only the cores it is given."""
    if method == "pathfinder":
        return 1
    if method == "mcmc":
        threads = fit.threads_per_chain if isinstance(fit.threads_per_chain, int) else 1
        at_once = min(fit.chains, fit.parallel_chains or fit.chains) * threads
    else:
        at_once = min(fit.map_starts, fit.parallel_chains or MAP_STARTS_AT_ONCE)
    return max(1, min(at_once, usable_cores()))


def write_data(path: Path, data: dict[str, Any]) -> Path:
    """Writes Stan data as JSON the way cmdstanpy does (infinite bounds included), atomically."""
    import cmdstanpy

    with replacing(path) as tmp:
        cmdstanpy.write_stan_json(str(tmp), data)
    return path


def read_mcmc(csv_files: list[Path]) -> Draws:
    """The draws of finished MCMC chains from their Stan CSVs (a run's ``stan_csv``)."""
    import cmdstanpy

    result = cmdstanpy.from_csv([str(p) for p in csv_files], method="sample")
    if not isinstance(result, cmdstanpy.CmdStanMCMC):
        raise SamplingError(f"{csv_files[0].parent} holds no MCMC draws")
    draws = result.draws(concat_chains=False).transpose(1, 0, 2)  # chain, draw, column
    return Draws("mcmc", _variables(result, draws), csv_files=list(csv_files))
