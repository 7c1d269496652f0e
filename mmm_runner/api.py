"""The public Python API: the `mmm` commands as functions, and finished runs as objects.

For scripts and notebooks::

    import mmm_runner

    check = mmm_runner.validate("config/single_market.yaml")  # never raises for a bad config
    run = mmm_runner.run("config/single_market.yaml", plots=False)
    run = mmm_runner.load_run("results/20261121-140757_single_market")  # no refit
    run.posterior  # ArviZ InferenceData (loaded on first use)
    run.table("roi")  # 30_post_run/roi.csv as a DataFrame
    mmm_runner.compare(run, "results/20261122-091500_single_market_log").summary

Failures raise the package's errors (``mmm_runner.errors``): a bad config raises
ConfigError from `run`, a failed stage its own error (its ``run_dir`` names the folder),
a folder that is not a run UsageError. Heavy libraries (the pipeline, ArviZ,
matplotlib) are imported when first needed, not when this module is.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml

from mmm_runner import constants
from mmm_runner.errors import ConfigError, Problem, UsageError

if TYPE_CHECKING:
    from arviz import InferenceData

    from mmm_runner.comparison import Comparison
    from mmm_runner.config.models import RunConfig
    from mmm_runner.reproduction import Reproduction
    from mmm_runner.validation import Validation

__all__ = [
    "MissingArtefactError",
    "Run",
    "RunTables",
    "compare",
    "load_run",
    "reproduce",
    "run",
    "validate",
]

METADATA = constants.stage_folder("run_metadata")
FIT = constants.stage_folder("model_fit")
PathLike = str | Path


class MissingArtefactError(UsageError, KeyError):
    """A run folder lacks the file asked for (e.g. the run failed before writing it).

    A KeyError too, so ``run.tables[name]`` behaves as a mapping lookup; the message
    lists what the run does have.
    """

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


# --- finished runs ------------------------------------------------------------------------


class RunTables(Mapping[str, pd.DataFrame]):
    """A run's CSV tables by name, each read on first use and kept.

    The name of a table is its file name without ``.csv`` (``roi`` is
    ``30_post_run/roi.csv``); the artefact contract (docs/artefacts.md) gives every
    table a distinct name. Stan's own CSVs (``20_model_fit/stan_csv/``) are not tables.
    """

    def __init__(self, run: Run) -> None:
        self._run = run
        self.paths: dict[str, Path] = {}
        for stage in constants.STAGES:
            folder = run.path / constants.stage_folder(stage)
            for file in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
                # A name two stages share (none do today) is qualified by the later folder.
                name = file.stem if file.stem not in self.paths else f"{folder.name}/{file.stem}"
                self.paths[name] = file
        self._read: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self.paths:
            raise self._missing(name)
        if name not in self._read:
            self._read[name] = pd.read_csv(self.paths[name])
        return self._read[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __repr__(self) -> str:
        return f"RunTables({', '.join(self.paths) or 'none'})"

    def _missing(self, name: str) -> MissingArtefactError:
        hint = "Tables are named by file name without .csv, e.g. run.table('roi')."
        stem = Path(name).stem if name.endswith(".csv") else ""
        if stem in self.paths:
            hint = f"Tables are named by file name without .csv: run.table({stem!r})."
        error = MissingArtefactError(
            f"run {self._run.path} has no table {name!r}{self._run._status_note()}; "
            f"its tables: {', '.join(self.paths) or 'none'}",
            hint=hint,
        )
        error.run_dir = str(self._run.path)
        return error


@dataclass(frozen=True, repr=False)
class Run:
    """A run folder read back for exploration: nothing is refitted.

    ``manifest`` is ``00_run_metadata/manifest.json``; ``config``, ``posterior`` and
    the tables are read on first use, so a failed or interrupted run loads too
    (``status`` says so) and raises MissingArtefactError only for what it lacks.
    """

    path: Path
    manifest: dict[str, Any] = field(compare=False)

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r}, status={self.status!r})"

    @property
    def name(self) -> str:
        """The run's config name (the folder name if the manifest lacks it)."""
        return str(self.manifest.get("name") or self.path.name)

    @property
    def status(self) -> str:
        """``completed``, ``failed``, ``interrupted`` or ``running`` (as the manifest says;
        ``running`` also for a run killed outright)."""
        return str(self.manifest.get("status", "unknown"))

    @property
    def completed(self) -> bool:
        return self.status == "completed"

    @cached_property
    def config(self) -> RunConfig:
        """The resolved config (``00_run_metadata/config_resolved.yaml``: every default
        filled in) as the package's typed RunConfig. Its ``data.path`` is as written in
        the original config, relative to that file; ``manifest["data"]["path"]`` is
        absolute."""
        from pydantic import ValidationError

        from mmm_runner.config.loader import format_loc
        from mmm_runner.config.models import RunConfig

        document = self._resolved_document()
        document.pop("resolved", None)  # the model as fitted: see `model`
        file = self.path / METADATA / constants.CONFIG_RESOLVED
        try:
            return RunConfig.model_validate(document)
        except ValidationError as exc:
            problems = [
                Problem(format_loc(tuple(e["loc"])), str(e["msg"]))
                for e in exc.errors(include_url=False)
            ]
            raise ConfigError(
                f"{file} is not a valid config for this version of mmm_runner",
                problems,
                hint="The run was probably made by another version; its tables and "
                "posterior still load.",
            ) from None

    @cached_property
    def model(self) -> dict[str, Any]:
        """The model as fitted (``resolved`` in config_resolved.yaml): class, KPI,
        media with their forms, controls, priors and bounds."""
        model = self._resolved_document().get("resolved") or {}
        return dict(model) if isinstance(model, dict) else {}

    @cached_property
    def posterior(self) -> InferenceData:
        """``20_model_fit/posterior.nc`` as ArviZ InferenceData (ArviZ is imported on
        first use: it takes about two seconds)."""
        from mmm_runner.analysis.posterior import import_arviz

        file = self._file(FIT, constants.POSTERIOR)
        idata: InferenceData = import_arviz().from_netcdf(str(file), engine="h5netcdf")
        return idata

    @cached_property
    def tables(self) -> RunTables:
        """Every CSV table of the stage folders by name (file name without .csv)."""
        return RunTables(self)

    def table(self, name: str) -> pd.DataFrame:
        """One table by name, e.g. ``run.table("roi")`` for 30_post_run/roi.csv."""
        return self.tables[name]

    @property
    def gates(self) -> pd.DataFrame:
        """``40_diagnostics/gates.csv``: one row per diagnostics check."""
        return self.table(Path(constants.GATES).stem)

    def _status_note(self) -> str:
        """`` (run failed in stage ...)`` for an unfinished run, else ''."""
        if self.completed:
            return ""
        stage = self.manifest.get("failed_stage")
        return f" (the run is {self.status}" + (f" in stage {stage})" if stage else ")")

    def _file(self, folder: str, name: str) -> Path:
        file = self.path / folder / name
        if file.is_file():
            return file
        where = self.path / folder
        present = sorted(p.name for p in where.iterdir()) if where.is_dir() else []
        error = MissingArtefactError(
            f"run {self.path} has no {folder}/{name}{self._status_note()}; "
            + (f"{folder} holds: {', '.join(present)}" if present else f"there is no {folder}"),
            hint="Load a completed run, or rerun this one.",
        )
        error.run_dir = str(self.path)
        raise error

    def _resolved_document(self) -> dict[str, Any]:
        file = self._file(METADATA, constants.CONFIG_RESOLVED)
        document = yaml.safe_load(file.read_text(encoding="utf-8"))
        if not isinstance(document, dict):
            raise UsageError(f"{file} holds no config mapping", hint="The run folder is damaged.")
        return document


def load_run(path: PathLike) -> Run:
    """Reads a run folder (``results/<timestamp>_<name>``) for exploration, without refitting.

    Raises UsageError when ``path`` is not a run folder (it has no
    ``00_run_metadata/manifest.json``). Runs that failed or were interrupted load
    too: ``run.status`` says so.
    """
    folder = Path(path).expanduser().resolve()
    hint = "Pass a folder that `mmm run` wrote, e.g. results/<timestamp>_<name>."
    if not folder.is_dir():
        raise UsageError(f"{path} is not a folder", hint=hint)
    file = folder / METADATA / constants.MANIFEST
    if not file.is_file():
        raise UsageError(
            f"{path} is not a run folder: {METADATA}/{constants.MANIFEST} is missing", hint=hint
        )
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UsageError(
            f"{file} is unreadable ({error})", hint="The run folder is damaged."
        ) from None
    if not isinstance(manifest, dict):
        raise UsageError(f"{file} holds no manifest object", hint="The run folder is damaged.")
    return Run(folder, manifest)


# --- the commands -------------------------------------------------------------------------


def validate(config: PathLike) -> Validation:
    """Checks a config file and its data, like `mmm validate`: nothing is compiled or fitted.

    Never raises for a bad config or data: the report lists every problem.
    ``report.ok`` is True when there are no errors; ``report.errors`` and
    ``report.warnings`` are lists of Problem (``location``, ``message``, ``fix``,
    ``line``; ``problem.render()`` as text); ``report.summary`` describes a valid
    config's data and model; ``report.as_dict()`` is what `mmm validate --json` prints;
    ``report.raise_for_errors()`` raises ConfigError when there are errors.
    """
    from mmm_runner.validation import validate as check

    return check(Path(config))


def run(
    config: PathLike,
    *,
    output_dir: PathLike | None = None,
    plots: bool = True,
    force_recompile: bool = False,
    quiet: bool = True,
) -> Run:
    """Runs the whole pipeline like `mmm run` and returns the new run folder, loaded.

    ``output_dir`` replaces the config's ``output_dir``; ``plots=False`` skips the PNG
    files; ``quiet=False`` shows stage lines and sampling progress on stderr. Raises
    ConfigError for an invalid config or data (before any folder is written), and a
    failed stage's error otherwise (CompileError, SamplingError, GateError, ...; its
    ``run_dir`` names the folder, which records the failure).
    """
    from mmm_runner.pipeline.context import Reporter, SilentReporter
    from mmm_runner.pipeline.runner import RunOptions, execute

    reporter: Reporter
    if quiet:
        reporter = SilentReporter()
    else:
        from mmm_runner.cli.run import RichReporter

        reporter = RichReporter()
    command = ["mmm_runner.run", str(config)]
    if output_dir is not None:
        command.append(f"output_dir={output_dir}")
    command += [f"{k}={v}" for k, v in (("plots", plots), ("force_recompile", force_recompile))]
    options = RunOptions(
        output_dir=None if output_dir is None else Path(output_dir),
        force_recompile=force_recompile,
        plots=plots,
        command=tuple(command),
    )
    outcome = execute(Path(config), options, reporter)
    return load_run(outcome.run_dir)


def compare(
    *run_dirs: PathLike | Run, output: PathLike | None = None, plots: bool = True
) -> Comparison:
    """Sets runs side by side like `mmm compare-runs` and returns its tables.

    The result has ``summary`` (one row per run: status, gates, fit, LOO with ArviZ
    compare's ``elpd_diff`` within runs on the same data, CV), ``channels`` (each run's
    media shares and ROI), ``config_diff`` (resolved-config keys that differ),
    ``warnings`` and ``problems`` (per run). A failed or damaged run is listed with
    its problems rather than raising. With ``output`` the CSV and Markdown tables (and,
    with ``plots``, the figures) are written there too.
    """
    from mmm_runner import comparison as comparing

    folders = [_folder(r) for r in run_dirs]
    for folder in folders:
        if not folder.is_dir():
            raise UsageError(
                f"{folder} is not a folder",
                hint="Pass run folders such as results/<timestamp>_<name>.",
            )
    unique = list(dict.fromkeys(f.resolve() for f in folders))
    if not unique:
        raise UsageError("no runs to compare", hint="Pass one or more run folders.")
    comparison = comparing.compare([comparing.load_run(f) for f in unique])
    if output is not None:
        comparing.write(comparison, Path(output), plots=plots)
    return comparison


def reproduce(
    run_dir: PathLike | Run, *, output_dir: PathLike | None = None, data: PathLike | None = None
) -> Reproduction:
    """Reruns a completed run from its own resolved config and compares every result,
    like `mmm reproduce`.

    Returns the report: ``identical`` (True when every artefact matches exactly),
    ``differences`` (artefact and detail), ``compared`` and ``environment`` (what
    changed around the run: toolchain, versions). A difference does not raise; the
    rerun is kept in ``output_dir`` (with reproduction.json) or discarded. ``data``
    points at the run's data file where it lives now (same sha256 required). Raises
    UsageError for a folder that is not a completed run and ReproductionError when the
    data changed or the rerun fails.
    """
    from mmm_runner.reproduction import reproduce as rerun

    return rerun(
        _folder(run_dir),
        None if output_dir is None else Path(output_dir),
        None if data is None else Path(data),
    )


def _folder(run_dir: PathLike | Run) -> Path:
    return run_dir.path if isinstance(run_dir, Run) else Path(run_dir).expanduser()
