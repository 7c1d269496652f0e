"""`mmm priors`: sample a config's prior, show what it implies, and flag what looks wrong.

The model's own Stan program runs with ``prior_only`` (the likelihood off; the
compiled program comes from the content-hashed cache, so nothing new is
compiled), and the draws go through the run's analysis: the prior predictive
KPI against the data, each channel's implied contribution, share and ROI,
adstock and saturation bands, each prior's density, and flags with advice.
``--compare`` samples a second config and sets the two side by side.

The folder is run-shaped: ``<output_dir>/<timestamp>_<name>_priors/`` with a
manifest (status, config and data hashes, process and heartbeat) and one
numbered folder per stage, each with its ``status.json``. Layout and columns:
docs/priors.md.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from mmm_runner import classes, constants, plotting
from mmm_runner.analysis import prior_predictive as pp
from mmm_runner.analysis.curves import channel_curves, response_unit
from mmm_runner.analysis.decomposition import roi_table
from mmm_runner.analysis.posterior import (
    Posterior,
    PosteriorData,
    predictive_kpi,
    preload_arviz,
    summary_table,
    to_inference_data,
)
from mmm_runner.atomic import copy_file, write_csv, write_text
from mmm_runner.backend import cache, fit, toolchain
from mmm_runner.data.design import Design, build_design
from mmm_runner.errors import UsageError
from mmm_runner.model import programs, stan_data
from mmm_runner.model.stan_data import Layout
from mmm_runner.pipeline import runner
from mmm_runner.pipeline.context import (
    Reporter,
    RunContext,
    SilentReporter,
    StageResult,
    Validated,
)
from mmm_runner.pipeline.folders import create_run_folder
from mmm_runner.pipeline.manifest import process_fields, versions, write_json
from mmm_runner.pipeline.stages import run_metadata
from mmm_runner.pipeline.stages.model_fit import stan_record
from mmm_runner.validation import Validation, validate

Array = npt.NDArray[np.float64]

# The stages of a priors folder, in order; folder numbers come from the position.
STAGES: Final = (
    "run_metadata",
    "prior_sampling",
    "prior_predictive",
    "implied_effects",
    "prior_densities",
    "flags",
    "compare",
)
FOLDER_SUFFIX: Final = "priors"  # <timestamp>_<name>_priors
CHAINS: Final = 4
DEFAULT_DRAWS: Final = 250  # per chain, after as many warm-up iterations
MIN_DRAWS: Final = 20
# Warm-up iterations at least: Stan's adaptation windows need about this many to find
# the scale of a wide prior (fewer leave its tails unexplored).
MIN_WARMUP: Final = 150
ADAPT_DELTA: Final = 0.95  # at least
PRIOR: Final = "prior.nc"
PRIOR_SUMMARY: Final = "prior_summary.csv"
KPI_BANDS: Final = "kpi_bands.csv"
IMPLIED_EFFECTS: Final = "implied_effects.csv"
PRIORS_TABLE: Final = "priors.csv"
REFERENCE_CSV: Final = "prior_reference.csv"
REFERENCE_MD: Final = "prior_reference.md"
FLAGS: Final = "flags.csv"
COMPARE_CONFIG: Final = "compare_config_as_given.yaml"


def warmup(draws: int) -> int:
    """Warm-up iterations per chain for ``draws`` kept draws per chain."""
    return max(draws, MIN_WARMUP)


def stage_folder(stage: str) -> str:
    """The numbered folder of a priors stage, e.g. 20_prior_predictive."""
    return constants.stage_folder(stage, STAGES)


@dataclass(frozen=True)
class PriorsOptions:
    """Command-line choices of `mmm priors`."""

    output_dir: Path | None = None
    compare: Path | None = None
    draws: int = DEFAULT_DRAWS
    plots: bool = True
    command: tuple[str, ...] = ()


@dataclass(frozen=True)
class PriorsOutcome:
    run_dir: Path
    manifest: dict[str, Any]
    flags: pd.DataFrame


@dataclass(frozen=True)
class PriorSample(Validated):
    """One config's prior, sampled and taken apart as the run takes a posterior apart."""

    validation: Validation
    design: Design
    names: Layout
    draws: fit.Draws
    post: Posterior
    quantities: dict[str, tuple[str, str, Array]]
    contributions: dict[str, Array]
    kpi_rep: Array  # prior predictive KPI, (draws, rows)
    spend: dict[str, float]  # per channel, as roi.csv counts it
    stan: dict[str, Any]  # the manifest's record of the program

    @property
    def divergent_share(self) -> float | None:
        diverging = self.draws.sample_stats.get("diverging")
        return None if diverging is None else float(np.mean(diverging))

    @functools.cached_property
    def panels(self) -> list[pp.PriorPanel]:
        """Every stated prior with its density and draws (modelling scale)."""
        return pp.prior_panels(self.post, self.spec, self.names)

    def evidence(self) -> pp.PriorEvidence:
        return pp.prior_evidence(
            self.kpi_rep,
            self.design,
            self.spec,
            self.contributions,
            self.spend,
            self.divergent_share,
            self.panels,
        )


@dataclass
class Explorer:
    """The state of one `mmm priors` call, handed from stage to stage."""

    ctx: RunContext  # the config, folder, log, reporter and manifest
    options: PriorsOptions
    other: Validation | None = None
    sample: PriorSample | None = None
    flags: list[pp.Flag] = field(default_factory=list)

    def folder(self, stage: str) -> Path:
        return self.ctx.run_dir / stage_folder(stage)

    @property
    def prior(self) -> PriorSample:
        if self.sample is None:
            raise RuntimeError("stage order bug: the prior was not sampled")
        return self.sample


def explore(
    config_path: Path, options: PriorsOptions = PriorsOptions(), reporter: Reporter | None = None
) -> PriorsOutcome:
    """Validates (both configs with ``--compare``), then runs every stage.

    Invalid configs raise ConfigError before any folder is created.
    """
    if options.draws < MIN_DRAWS:
        raise UsageError(
            f"--draws {options.draws} is too few to summarise a prior",
            hint=f"use at least {MIN_DRAWS} (default {DEFAULT_DRAWS}) draws per chain",
        )
    reporter = reporter or SilentReporter()
    validation = validate(config_path)
    validation.raise_for_errors()
    other = None
    if options.compare is not None:
        other = validate(options.compare)
        other.raise_for_errors()
    assert validation.loaded is not None
    config = validation.loaded.config
    started = datetime.now(UTC)
    output = options.output_dir or Path(config.output_dir)
    name = f"{config.name}_{FOLDER_SUFFIX}"
    run_dir = create_run_folder(output, name, started.astimezone())
    ctx = RunContext(
        validation,
        run_dir,
        started,
        reporter,
        runner.file_log(run_dir),
        list(options.command),
        plots=options.plots,
    )
    ex = Explorer(ctx, options, other)
    ctx.manifest = _initial_manifest(ex)
    runner.save_manifest(ctx)
    stages = [(stage, functools.partial(STAGE_FUNCTIONS[stage], ex)) for stage in STAGES]
    runner.run_stages(ctx, stages, what="mmm priors", rerun="mmm priors")
    counts = {s: sum(f.status == s for f in ex.flags) for s in ("pass", "flag", "skip")}
    ctx.manifest["config"]["copies"] = runner.config_copies(ctx)
    ctx.manifest.update(
        status="completed",
        exit_code=0,
        finished=datetime.now(UTC).isoformat(),
        flags=counts,
        flagged=[f.check for f in ex.flags if f.status == "flag"],
    )
    runner.save_manifest(ctx)
    ctx.log.info("priors completed: %d flag(s)", counts["flag"])
    return PriorsOutcome(run_dir, ctx.manifest, pp.flag_table(ex.flags))


# --- sampling the prior ---------------------------------------------------------------------


def sample_prior(
    validation: Validation, folder: Path, draws: int, reporter: Reporter
) -> PriorSample:
    """Runs the config's Stan program with the likelihood off and takes the draws apart.

    Writes ``compile_record.json``, ``stan_data.json`` and ``stan_csv/`` into ``folder``.
    """
    assert validation.loaded is not None
    assert validation.spec is not None
    assert validation.frame is not None
    config, spec = validation.loaded.config, validation.spec
    model_class = classes.get(spec.model_class)
    program = programs.program(spec.model_class)
    tools = toolchain.locate(progress=reporter.note)
    reporter.note(f"compiling {program.name} (cached by content)")
    compiled = cache.compile_model(program, tools)
    write_json(
        folder / "compile_record.json",
        {**compiled.record, "cache_hit": compiled.cache_hit, "executable": str(compiled.exe)},
    )
    design = build_design(validation.frame, config, spec)
    names = stan_data.layout(design, spec)
    data = model_class.stan_data(design, spec, prior_only=True)
    data_file = fit.write_data(folder / "stan_data.json", data)
    csv_dir = folder / "stan_csv"
    csv_dir.mkdir(exist_ok=True)
    settings = config.fit.model_copy(
        update={
            "method": "mcmc",
            "chains": CHAINS,
            "warmup": warmup(draws),
            "samples": draws,
            "thin": 1,
            # a few hundred draws of wide priors: Stan's own schedule (and a copy is not
            # validated against the run's warmup_pilot)
            "warmup_pilot": 0,
            # Wide priors have long tails: smaller steps keep divergences rare.
            "adapt_delta": max(config.fit.adapt_delta, ADAPT_DELTA),
        }
    )
    reporter.note(f"sampling the prior of {config.name}: {CHAINS} chains × {draws} draws")
    preload_arviz()
    result = fit.run_method(
        "mcmc",
        compiled,
        tools,
        str(data_file),
        settings,
        config.seed,
        csv_dir,
        progress=reporter.sampling,
    )
    result = model_class.kpi_draws(result, design, spec)
    post = model_class.posterior(result, design, spec)
    decomposed = model_class.decompose(post, design, spec, names)
    roi = roi_table(decomposed.contributions, design, spec)
    overall = roi[roi["group"] == "all"]
    spend = dict(zip(overall["channel"], overall["spend"].astype(float), strict=True))
    return PriorSample(
        validation,
        design,
        names,
        result,
        post,
        model_class.quantities(post, design, spec, names),
        decomposed.contributions,
        predictive_kpi(result, design).reshape(post.n_draws, -1),
        spend,
        stan_record(program, compiled, tools),
    )


def _prior_data(sample: PriorSample) -> PosteriorData:
    """The draws in ArviZ's prior groups: prior, prior_predictive, sample_stats_prior."""
    model_class = classes.get(sample.spec.model_class)
    variables = model_class.posterior_variables(sample.draws.variables, sample.design, sample.spec)
    coords = model_class.coordinates(sample.spec, sample.names)
    groups = to_inference_data(sample.draws, sample.design, sample.names, variables, coords).groups
    renamed = {
        "prior": groups["posterior"],
        "prior_predictive": groups["posterior_predictive"],
        "observed_data": groups["observed_data"],
    }
    if "sample_stats" in groups:
        renamed["sample_stats_prior"] = groups["sample_stats"]
    return PosteriorData(renamed, "mcmc")


# --- stages ---------------------------------------------------------------------------------


def _run_metadata(ex: Explorer) -> StageResult:
    result = run_metadata.run(ex.ctx)  # the run's own: config copies, session info
    if ex.other is not None:
        copy_file(ex.other.config_path, ex.folder("run_metadata") / COMPARE_CONFIG)
        result.artefacts.append(COMPARE_CONFIG)
    return result


def _prior_sampling(ex: Explorer) -> StageResult:
    folder = ex.folder("prior_sampling")
    sample = sample_prior(ex.ctx.validation, folder, ex.options.draws, ex.ctx.reporter)
    ex.sample = sample
    _prior_data(sample).to_netcdf(folder / PRIOR)
    write_csv(summary_table(sample.quantities, sample.post.n_chains), folder / PRIOR_SUMMARY)
    ex.ctx.manifest["stan"] = sample.stan
    ex.ctx.manifest["seeds"]["sampler"] = sample.config.seed
    divergent = sample.divergent_share or 0.0
    return StageResult(
        message=f"{sample.draws.n_chains} chain(s) × {sample.draws.n_draws} draw(s) in "
        f"{sample.draws.seconds:.1f} s",
        artefacts=["compile_record.json", "stan_data.json", "stan_csv/", PRIOR, PRIOR_SUMMARY],
        summary={
            "chains": sample.draws.n_chains,
            "draws": sample.draws.n_draws,
            "sampling_seconds": round(sample.draws.seconds, 2),
            "divergent_share": round(divergent, 4),
            "compile_cache_hit": bool(sample.stan["cache_hit"]),
        },
    )


def _prior_predictive(ex: Explorer) -> StageResult:
    folder, sample = ex.folder("prior_predictive"), ex.prior
    bands = pp.kpi_bands(sample.kpi_rep, sample.design)
    write_csv(bands, folder / KPI_BANDS)
    jobs: list[plotting.PlotJob] = [
        ("kpi_bands.png", "prior_predictive_bands", (bands, sample.spec.kpi))
    ]
    evidence = sample.evidence()
    ratio = evidence.width_ratio if evidence.observed_range > 0 else float("nan")
    return StageResult(
        message=f"median 90% band {ratio:.2g} × the observed range",
        artefacts=[KPI_BANDS, *plotting.render_all(jobs, folder, ex.ctx.plots)],
        summary={"width_ratio": round(ratio, 4)},
    )


def _implied_effects(ex: Explorer) -> StageResult:
    folder, sample = ex.folder("implied_effects"), ex.prior
    spec, design = sample.spec, sample.design
    table = pp.implied_effects(sample.contributions, design, spec, sample.spend)
    write_csv(table, folder / IMPLIED_EFFECTS)
    jobs: list[plotting.PlotJob] = []
    if spec.media:
        shares = table.rename(columns={"share_q50": "share"})
        title = f"Prior: each channel's share of the observed {spec.kpi} (median, 90%)"
        jobs.append(("implied_shares.png", "interval_bars", (shares, "channel", "share", title)))
        paid = table[table["paid"] & (table["channel"] != pp.ALL_MEDIA)]
        if len(paid):
            roi = paid.rename(columns={"roi_q50": "roi"})
            title = "Prior: ROI per channel (median, 90%)"
            jobs.append(("implied_roi.png", "interval_bars", (roi, "channel", "roi", title)))
        jobs += _curve_jobs(sample)
    media = table[table["channel"] == pp.ALL_MEDIA]
    summary = {}
    if len(media):
        summary["media_share_q50"] = round(float(media["share_q50"].iloc[0]), 4)
    return StageResult(
        artefacts=[IMPLIED_EFFECTS, *plotting.render_all(jobs, folder, ex.ctx.plots)],
        summary=summary,
    )


def _curve_jobs(sample: PriorSample) -> list[plotting.PlotJob]:
    """Adstock weights and response curves drawn from the prior (median and 90% band)."""
    curves = channel_curves(sample.post, sample.design, sample.spec, sample.names)
    return plotting.curve_jobs(curves, response_unit(sample.design, sample.spec), "Prior")


def _prior_densities(ex: Explorer) -> StageResult:
    folder, sample = ex.folder("prior_densities"), ex.prior
    panels = sample.panels
    write_csv(pp.prior_table(panels), folder / PRIORS_TABLE)
    reference = pp.reference_table()
    write_csv(reference, folder / REFERENCE_CSV)
    write_text(
        folder / REFERENCE_MD,
        "# Common MMM prior choices (standardised data)\n\n" + pp.markdown_table(reference),
    )
    modelling = [(p.title, p.x, p.density, p.draws) for p in panels]
    original = [
        (f"{name} [{unit}]" if unit else name, None, None, draws)
        for name, (unit, draws) in pp.original_scale_draws(sample.quantities, sample.names).items()
    ]
    jobs: list[plotting.PlotJob] = [
        (
            "prior_densities.png",
            "prior_densities",
            (modelling, "Priors on the modelling scale: stated density (line), draws (fill)"),
        ),
    ]
    if original:
        title = "Priors on the original scale (draws; dotted: 90% interval)"
        jobs.append(("prior_densities_original.png", "prior_densities", (original, title)))
    figures = plotting.render_all(jobs, folder, ex.ctx.plots)
    return StageResult(
        message=f"{len(panels)} prior(s)",
        artefacts=[PRIORS_TABLE, REFERENCE_CSV, REFERENCE_MD, *figures],
    )


def _flags(ex: Explorer) -> StageResult:
    folder = ex.folder("flags")
    ex.flags = pp.run_checks(ex.prior.evidence())
    write_csv(pp.flag_table(ex.flags), folder / FLAGS)
    flagged = [f for f in ex.flags if f.status == "flag"]
    for flag in flagged:
        ex.ctx.log.info("flag %s: %s; %s", flag.check, flag.detail, flag.advice)
    counts = {s: sum(f.status == s for f in ex.flags) for s in ("pass", "flag", "skip")}
    message = (
        "no flags"
        if not flagged
        else f"{len(flagged)} flag(s): " + ", ".join(f.check for f in flagged)
    )
    return StageResult(message=message, artefacts=[FLAGS], summary=counts)


def _compare(ex: Explorer) -> StageResult:
    if ex.other is None:
        return StageResult(status="skipped", message="no --compare config")
    folder, main = ex.folder("compare"), ex.prior
    other = sample_prior(ex.other, folder, ex.options.draws, ex.ctx.reporter)
    labels = _labels(main, other)
    samples = dict(zip(labels, (main, other), strict=True))
    bands = {label: pp.kpi_bands(s.kpi_rep, s.design) for label, s in samples.items()}
    panels = {label: pp.prior_panels(s.post, s.spec, s.names) for label, s in samples.items()}
    flags = {labels[0]: ex.flags, labels[1]: pp.run_checks(other.evidence())}
    tables = {
        "compare_kpi_bands.csv": _stacked(bands),
        "compare_priors.csv": _compare_priors(panels),
        "compare_flags.csv": _stacked({k: pp.flag_table(v) for k, v in flags.items()}),
    }
    for name, table in tables.items():
        write_csv(table, folder / name)
    shared = _shared_draws(panels)
    jobs: list[plotting.PlotJob] = [
        ("compare_priors.png", "compare_priors", (bands, shared, main.spec.kpi))
    ]
    ex.ctx.manifest["compare"]["stan"] = other.stan
    flagged = {k: sum(f.status == "flag" for f in v) for k, v in flags.items()}
    return StageResult(
        message=", ".join(f"{k}: {n} flag(s)" for k, n in flagged.items()),
        artefacts=[
            "compile_record.json",
            "stan_data.json",
            "stan_csv/",
            *tables,
            *plotting.render_all(jobs, folder, ex.ctx.plots),
        ],
        summary={"flags": flagged, "shared_parameters": len(shared)},
    )


def _labels(main: PriorSample, other: PriorSample) -> tuple[str, str]:
    """Names for the two configs: their names, else their file names, else A and B."""
    for a, b in (
        (main.config.name, other.config.name),
        (main.validation.config_path.stem, other.validation.config_path.stem),
    ):
        if a != b:
            return a, b
    return "A", "B"


def _stacked(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Tables of each config, one below the other, with a ``config`` column first."""
    return pd.concat(
        [
            table.assign(config=label)[["config", *table.columns]]
            for label, table in tables.items()
        ],
        ignore_index=True,
    )


def _compare_priors(panels: dict[str, list[pp.PriorPanel]]) -> pd.DataFrame:
    """compare_priors.csv: every prior of each config, with whether both configs have it."""
    names = [{p.parameter for p in ps} for ps in panels.values()]
    both = set.intersection(*names)
    table = _stacked({label: pp.prior_table(ps) for label, ps in panels.items()})
    table.insert(2, "shared", table["parameter"].isin(both))
    return table


def _shared_draws(panels: dict[str, list[pp.PriorPanel]]) -> dict[str, dict[str, Array]]:
    """Draws of each parameter both configs have (modelling scale), in the first's order."""
    by_name = {label: {p.parameter: p for p in ps} for label, ps in panels.items()}
    first, second = by_name.values()
    return {
        name: {label: by_name[label][name].draws for label in by_name}
        for name in first
        if name in second
    }


StageFn = Callable[[Explorer], StageResult]
STAGE_FUNCTIONS: Final[dict[str, StageFn]] = {
    "run_metadata": _run_metadata,
    "prior_sampling": _prior_sampling,
    "prior_predictive": _prior_predictive,
    "implied_effects": _implied_effects,
    "prior_densities": _prior_densities,
    "flags": _flags,
    "compare": _compare,
}
assert tuple(STAGE_FUNCTIONS) == STAGES


# --- the manifest and stage records ---------------------------------------------------------


def _initial_manifest(ex: Explorer) -> dict[str, Any]:
    """The run manifest's shape, with ``kind: priors`` and the prior sampler's settings."""
    ctx = ex.ctx
    draws = ex.options.draws
    return {
        "run_id": ctx.run_dir.name,
        "kind": "priors",
        "name": ctx.config.name,
        "status": "running",
        "exit_code": None,
        "created": ctx.started.isoformat(),
        "finished": None,
        **process_fields(),
        "command": ctx.command,
        **runner.sources(ctx.validation),
        "model_class": ctx.spec.model_class,
        "fit_method": "mcmc",
        "prior_only": True,
        "sampler": {
            "chains": CHAINS,
            "warmup": warmup(draws),
            "samples": draws,
            "adapt_delta": max(ctx.config.fit.adapt_delta, ADAPT_DELTA),
        },
        "seeds": {"run": ctx.config.seed},
        "options": {"plots": ctx.plots, "compare": str(ex.options.compare or "") or None},
        "versions": versions(),
        "stan": {},
        "compare": runner.sources(ex.other) if ex.other is not None else None,
        "stages": runner.stage_records(STAGES),
    }
