"""20_model_fit: compile (cached), fit, and save the posterior with its summaries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from mmm_runner import constants
from mmm_runner.analysis import decomposition
from mmm_runner.analysis.posterior import preload_arviz, summary_table, to_inference_data
from mmm_runner.atomic import write_csv
from mmm_runner.backend import cache, fit, toolchain
from mmm_runner.data.design import build_design
from mmm_runner.hashing import files_sha256
from mmm_runner.model import programs, stan_data
from mmm_runner.pipeline.context import Fit, RunContext, StageResult
from mmm_runner.pipeline.manifest import write_json


def run(ctx: RunContext) -> StageResult:
    folder = ctx.folder("model_fit")
    config, spec, model_class = ctx.config, ctx.spec, ctx.model_class
    program = programs.program(spec.model_class)
    tools = toolchain.locate(progress=ctx.reporter.note)
    ctx.reporter.note(f"compiling {program.name} (cached by content)")
    compiled = cache.compile_model(program, tools, force=ctx.force_recompile)
    write_json(
        folder / "compile_record.json",
        {
            **compiled.record,
            "cache_hit": compiled.cache_hit,
            "seconds": round(compiled.seconds, 3),
            "executable": str(compiled.exe),
        },
    )
    assert ctx.validation.frame is not None
    design = build_design(ctx.validation.frame, config, spec)
    names = stan_data.layout(design, spec)
    method = config.fit.method
    data = model_class.stan_data(design, spec, use_jacobian=method != "map")
    plan = fit.parallelism(config.fit, method, design.n_groups if model_class.group_threads else 0)
    if model_class.group_threads:
        data["threads"] = plan.threads_per_chain
    data_file = fit.write_data(folder / "stan_data.json", data)
    csv_dir = folder / "stan_csv"
    csv_dir.mkdir(exist_ok=True)
    ctx.reporter.note(f"fitting by {method}")
    if method != "map":  # a point estimate needs no ArviZ; draws do, after sampling
        preload_arviz()
    draws = fit.run_method(
        method,
        compiled,
        tools,
        str(data_file),
        config.fit,
        config.seed,
        csv_dir,
        progress=ctx.reporter.sampling,
        plan=plan,
        correlated=model_class.correlated(spec),
    )
    draws = model_class.kpi_draws(draws, design, spec)
    posterior = to_inference_data(
        draws,
        design,
        names,
        model_class.posterior_variables(draws.variables, design, spec),
        model_class.coordinates(spec, names),
    )
    posterior.to_netcdf(folder / constants.POSTERIOR)
    post = model_class.posterior(draws, design, spec)
    quantities = model_class.quantities(post, design, spec, names)
    write_csv(summary_table(quantities, post.n_chains), folder / constants.POSTERIOR_SUMMARY)
    decomposed = model_class.decompose(post, design, spec, names)
    metrics = decomposition.fit_metrics(decomposed.expected, post, design)
    write_csv(metrics, folder / constants.FIT_METRICS)
    artefacts = [
        "compile_record.json",
        "stan_data.json",
        "stan_csv/",
        constants.POSTERIOR,
        constants.POSTERIOR_SUMMARY,
        constants.FIT_METRICS,
    ]
    if "starts" in draws.details:
        write_csv(pd.DataFrame(draws.details["starts"]), folder / "map_starts.csv")
        artefacts.append("map_starts.csv")
    ctx.fit = Fit(design, names, draws, posterior, post, quantities, decomposed, compiled, tools)
    ctx.manifest["stan"] = stan_record(program, compiled, tools)
    ctx.manifest["seeds"]["sampler"] = config.seed
    ctx.manifest["parallelism"] = {"method": method, **plan.as_dict()}
    return StageResult(
        message=f"{method}: {draws.n_chains} chain(s) × {draws.n_draws} draw(s) in "
        f"{draws.seconds:.1f} s",
        artefacts=artefacts,
        summary=_summary(draws, metrics, compiled.cache_hit),
    )


def stan_record(
    program: Path, compiled: cache.CompiledModel, tools: toolchain.Toolchain
) -> dict[str, Any]:
    return {
        "program": program.name,
        "program_sha256": files_sha256([program, *sorted(compiled.included_files)]),
        "compile_key": compiled.key,
        "cache_hit": compiled.cache_hit,
        "stan_version": tools.stan_version,
        "toolchain": tools.source,
        "toolchain_path": str(tools.path),
        "toolchain_identity": tools.identity,
        "compiler": tools.compiler,
    }


def _summary(draws: fit.Draws, metrics: pd.DataFrame, cache_hit: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "method": draws.method,
        "chains": draws.n_chains,
        "draws": draws.n_draws,
        "fit_seconds": round(draws.seconds, 2),
        "compile_cache_hit": cache_hit,
        "r2_mean": float(metrics["r2"].mean()),
        "rmse_mean": float(metrics["rmse"].mean()),
    }
    if "diverging" in draws.sample_stats:
        out["divergences"] = int(draws.sample_stats["diverging"].sum())
    if "metric" in draws.details:
        out["metric"] = draws.details["metric"]
    if "pilot" in draws.details:
        out["warmup_pilot"] = draws.details["pilot"]["iterations"]
        out["warmup_pilot_seconds"] = draws.details["pilot"]["seconds"]
    if "agreement" in draws.details:
        out["map_agreement"] = draws.details["agreement"]
        out["map_best_lp"] = draws.details["best_lp"]
    plain: dict[str, Any] = json.loads(json.dumps(out, default=float))
    return plain
