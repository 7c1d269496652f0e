"""`mmm reproduce`: rerun a finished run from its own resolved config and compare.

A run is reproducible when the same config, data, seed, Stan program and
toolchain give bit-identical posterior draws and identical tables. The rerun
uses the original's `config_resolved.yaml` (every default explicit, the data
path absolute) and its data file; both, and the config as given, must still
have the sha256 the manifest recorded (an edited input is a usage error, exit
2: nothing is rerun). A run that is not completed (failed, interrupted, still
running, or abandoned by a process that is gone) is refused the same way.
Every artefact is then compared exactly: netCDF variables array by array, CSV
tables cell by cell, JSON and YAML documents key by key, with timings,
timestamps and paths set aside. Figures are not compared (they are drawn from
the tables that are).
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from mmm_runner import constants
from mmm_runner.atomic import write_json
from mmm_runner.errors import MMMError, ReproductionError, RunInterruptedError, UsageError
from mmm_runner.hashing import file_sha256
from mmm_runner.pipeline.manifest import describe_state, load_manifest, manifest_state
from mmm_runner.pipeline.runner import RunOptions, execute

METADATA = constants.stage_folder("run_metadata")
# Keys whose values differ between identical runs: when and where a run happened.
VOLATILE_KEYS = frozenset(
    {
        "seconds",
        "fit_seconds",
        "warmup_pilot_seconds",
        "cv_seconds",
        "compile_seconds",
        "created",
        "finished",
        "started",
        "cache_hit",
        "compile_cache_hit",
        "executable",
        "run_id",
        "command",
        "output_dir",
        "config_path",
        "force_recompile",
    }
)
# Per file, more of the same: the rerun is given the resolved config at another path (and
# perhaps the data from another place); stage messages quote timings; the manifest's
# environment entries are reported as environment changes, not as result differences.
FILE_VOLATILE_KEYS = {
    constants.MANIFEST: frozenset(
        {
            "config",
            "path",
            "toolchain_path",
            "compiler",
            "versions",
            "options",
            "process",
            "heartbeat",
        }
    ),
    constants.CONFIG_RESOLVED: frozenset({"path"}),
    "validation_report.json": frozenset({"config"}),
    constants.STATUS: frozenset({"message"}),
}
# Settings and records newer than some runs, by dotted path in their document: a run made
# before one existed ran as its value here says (no warmup pilot, a diagonal metric), so
# its rerun is given that value, and the rerun's copy of it is not a difference.
ADDED_LATER: dict[str, Any] = {
    "fit.warmup_pilot": 0,
    "fit.metric": "diag",
    "summary.metric": "diag",
}
# Files that are not results: the log, the session, the config file as given (the rerun is
# given the resolved one), the compile record (where and when the program was built; its
# key and toolchain are in the manifest), Stan CSVs (timestamped; their draws are in
# posterior.nc) and figures.
SKIPPED_NAMES = frozenset(
    {constants.RUN_LOG, "session_info.json", constants.CONFIG_AS_GIVEN, "compile_record.json"}
)
SKIPPED_SUFFIXES = frozenset({".png", ".txt"})
PLANS = "80_plans"  # mmm forecast writes here (mmm_runner.planning)
# What the manifest says about the environment: reported when it changed.
ENVIRONMENT = (
    ("data", "sha256"),
    ("stan", "program_sha256"),
    ("stan", "compile_key"),
    ("stan", "toolchain_identity"),
    ("stan", "compiler"),
    ("versions",),
)


@dataclass(frozen=True)
class Difference:
    artefact: str  # path inside the run folder
    detail: str


@dataclass
class Reproduction:
    original: Path
    rerun: Path
    compared: list[str] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    environment: list[str] = field(default_factory=list)  # what changed around the run

    @property
    def identical(self) -> bool:
        return not self.differences

    def as_dict(self) -> dict[str, Any]:
        return {
            "original": str(self.original),
            "rerun": str(self.rerun),
            "identical": self.identical,
            "compared": self.compared,
            "differences": [d.__dict__ for d in self.differences],
            "environment": self.environment,
        }


# --- rerunning --------------------------------------------------------------------------------


def reproduce(
    run_dir: Path, output_dir: Path | None = None, data: Path | None = None
) -> Reproduction:
    """Reruns ``run_dir`` (into ``output_dir``, or a temporary folder) and compares.

    ``data`` points at the run's data file where it now lives (e.g. another
    checkout); it must still have the sha256 the manifest recorded, as must the
    config copies in 00_run_metadata (UsageError naming the file otherwise).
    """
    manifest = read_manifest(run_dir)
    _check_config_copies(run_dir, manifest)
    config = resolved_config(run_dir)
    data_path = (data or Path(manifest.get("data", {}).get("path", ""))).resolve()
    check_run_data(data_path, manifest)
    config["data"]["path"] = str(data_path)
    with tempfile.TemporaryDirectory(prefix="mmm_reproduce_") as scratch:
        config_file = Path(scratch) / f"{config.get('name', 'run')}.yaml"
        config_file.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
        target = output_dir or Path(scratch) / "results"
        try:
            outcome = execute(
                config_file, RunOptions(output_dir=target, plots=_plots(run_dir, manifest))
            )
        except RunInterruptedError:
            raise
        except MMMError as error:
            raise ReproductionError(
                f"the rerun of {run_dir} failed where the original completed: {error.message}",
                hint=error.hint,
            ) from error
        result = compare_folders(run_dir, outcome.run_dir)
        result.environment = environment_changes(manifest, outcome.manifest)
        if output_dir is not None:
            write_json(outcome.run_dir / "reproduction.json", result.as_dict())
        return result


def _plots(run_dir: Path, manifest: dict[str, Any]) -> bool:
    """Whether the run drew figures (so that stage artefact lists match)."""
    options = manifest.get("options")
    if options is not None:
        return bool(options.get("plots", True))
    return any(run_dir.rglob("*.png"))  # runs from before the manifest recorded options


def read_manifest(run_dir: Path) -> dict[str, Any]:
    """The manifest of a completed run; UsageError for anything else."""
    manifest, written = load_manifest(run_dir)
    state = manifest_state(manifest, written)
    if state in ("running", "abandoned"):
        hint = (
            "Wait for it to finish, then reproduce it."
            if state == "running"
            else "The run never finished and has no results: rerun its config with `mmm run`."
        )
        raise UsageError(
            f"{run_dir} is not a completed run: {describe_state(manifest, state)}", hint=hint
        )
    if state != "completed":
        raise UsageError(
            f"{run_dir} did not complete (status {state}): there are no results to reproduce",
            hint="Reproduce a completed run.",
        )
    return manifest


def _check_config_copies(run_dir: Path, manifest: dict[str, Any]) -> None:
    """The config copies must be as the run left them: an edited copy is not the run."""
    config = manifest.get("config") or {}
    recorded = dict(config.get("copies") or {})
    # The config as given is a byte copy of the file whose sha256 the manifest always had.
    recorded.setdefault(constants.CONFIG_AS_GIVEN, config.get("sha256"))
    edited = []
    for name, expected in recorded.items():
        path = run_dir / METADATA / name
        if not expected or not path.is_file():
            continue  # a missing copy is reported where it is needed
        digest = file_sha256(path)
        if digest != expected:
            edited.append(
                f"{METADATA}/{name} (sha256 {digest[:12]}…, the run recorded {expected[:12]}…)"
            )
    if edited:
        raise UsageError(
            f"{run_dir}: {' and '.join(edited)} changed after the run",
            hint="`mmm reproduce` reruns the run's own config copy: restore the file (or "
            "copy the run folder again). To try an edited config, run it as a new run: "
            "mmm run --config FILE.",
        )


def resolved_config(run_dir: Path) -> dict[str, Any]:
    """The run's resolved config as a document (without its record of the fitted model)."""
    path = run_dir / METADATA / constants.CONFIG_RESOLVED
    if not path.is_file():
        raise UsageError(
            f"{path} is missing: the run cannot be rerun from its own config",
            hint="The run folder is incomplete; rerun from the original config instead.",
        )
    document = yaml.safe_load(path.read_text())
    document.pop("resolved", None)  # a record of the model as fitted, not an input
    assert isinstance(document, dict)
    fit = document.get("fit")
    if isinstance(fit, dict):  # resolved before some fit settings existed: see ADDED_LATER
        for dotted, value in ADDED_LATER.items():
            section, _, key = dotted.partition(".")
            if section == "fit":
                fit.setdefault(key, value)
    return document


def check_run_data(path: Path, manifest: dict[str, Any]) -> None:
    """UsageError unless the run's data file is where it is looked for, unchanged."""
    data = manifest.get("data", {})
    if not path.is_file():
        raise UsageError(
            f"the run's data file {path} does not exist",
            hint="Restore it, or point --data at its copy (its sha256 is in the manifest).",
        )
    digest = file_sha256(path)
    if digest != data.get("sha256"):
        raise UsageError(
            f"the run's data file {path} changed since the run "
            f"(sha256 {digest[:12]}…, the run used {str(data.get('sha256'))[:12]}…)",
            hint="A changed data file cannot reproduce the run; restore the original data.",
        )


def environment_changes(original: dict[str, Any], rerun: dict[str, Any]) -> list[str]:
    """What differs around the run: data, Stan program, toolchain, package versions."""
    changes = []
    for path in ENVIRONMENT:
        before, after = _dig(original, path), _dig(rerun, path)
        if before == after:
            continue
        if isinstance(before, dict) and isinstance(after, dict):
            for key in sorted(set(before) | set(after)):
                if before.get(key) != after.get(key):
                    changes.append(
                        f"{'.'.join(path)}.{key}: {before.get(key)} -> {after.get(key)}"
                    )
        else:
            changes.append(f"{'.'.join(path)}: {before} -> {after}")
    return changes


def _dig(document: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = document
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


# --- comparing ----------------------------------------------------------------------------------


def compare_folders(original: Path, rerun: Path) -> Reproduction:
    """Compares every result artefact of two run folders exactly."""
    result = Reproduction(original, rerun)
    before, after = set(_artefacts(original)), set(_artefacts(rerun))
    for relative in sorted(before | after):
        if relative not in after:
            result.differences.append(Difference(relative, "missing from the rerun"))
            continue
        if relative not in before:
            result.differences.append(Difference(relative, "only in the rerun"))
            continue
        result.compared.append(relative)
        try:
            detail = compare_file(original / relative, rerun / relative)
        except Exception as error:  # a damaged artefact is a difference, not a crash
            detail = f"could not be compared: {type(error).__name__}: {error}"
        if detail:
            result.differences.append(Difference(relative, detail))
    return result


def _artefacts(run_dir: Path) -> Iterator[str]:
    for path in sorted(run_dir.rglob("*")):
        if not path.is_file() or "stan_csv" in path.parts or path.name == "reproduction.json":
            continue
        if PLANS in path.parts:  # forecasts made from the run later are not the run's own
            continue
        if path.name in SKIPPED_NAMES or path.suffix in SKIPPED_SUFFIXES:
            continue
        yield str(path.relative_to(run_dir))


def compare_file(a: Path, b: Path) -> str:
    """'' when equal, else what differs (first differences, largest gaps)."""
    if a.suffix == ".nc":
        return _compare_netcdf(a, b)
    if a.suffix == ".csv":
        return _compare_tables(pd.read_csv(a), pd.read_csv(b))
    skip = VOLATILE_KEYS | FILE_VOLATILE_KEYS.get(a.name, frozenset())
    if a.suffix == ".json":
        return _compare_documents(json.loads(a.read_text()), json.loads(b.read_text()), skip)
    if a.suffix in (".yaml", ".yml"):
        return _compare_documents(
            yaml.safe_load(a.read_text()), yaml.safe_load(b.read_text()), skip
        )
    return "" if a.read_bytes() == b.read_bytes() else "the bytes differ"


def _compare_netcdf(a: Path, b: Path) -> str:
    import h5netcdf

    problems = []
    with h5netcdf.File(a, "r") as fa, h5netcdf.File(b, "r") as fb:
        groups_a, groups_b = set(fa.groups), set(fb.groups)
        if groups_a != groups_b:
            problems.append(f"groups {sorted(groups_a ^ groups_b)} in only one file")
        for group in sorted(groups_a & groups_b):
            va, vb = fa.groups[group].variables, fb.groups[group].variables
            for name in sorted(set(va) | set(vb)):
                if name not in va or name not in vb:
                    problems.append(f"{group}/{name} in only one file")
                    continue
                gap = _array_gap(np.asarray(va[name][...]), np.asarray(vb[name][...]))
                if gap:
                    problems.append(f"{group}/{name}: {gap}")
    return "; ".join(problems[:5]) + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else "")


def _array_gap(x: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> str:
    if x.shape != y.shape:
        return f"shape {x.shape} vs {y.shape}"
    if x.dtype.kind not in "fiu" or y.dtype.kind not in "fiu":
        return "" if np.array_equal(x, y) else "values differ"
    if np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
        return ""
    with np.errstate(invalid="ignore"):
        gap = np.abs(x.astype(float) - y.astype(float))
    unequal = int(np.sum(~((x == y) | (np.isnan(x.astype(float)) & np.isnan(y.astype(float))))))
    return f"{unequal} of {x.size} values differ, largest |difference| {np.nanmax(gap):.3g}"


def _compare_tables(a: pd.DataFrame, b: pd.DataFrame) -> str:
    if list(a.columns) != list(b.columns):
        return f"columns differ: {sorted(set(a.columns) ^ set(b.columns))}"
    if len(a) != len(b):
        return f"{len(a)} rows vs {len(b)}"
    gaps = []
    for column in a.columns:
        if column in VOLATILE_KEYS:
            continue
        x, y = a[column].to_numpy(), b[column].to_numpy()
        if x.dtype.kind in "fiu" and y.dtype.kind in "fiu":
            gap = _array_gap(x, y)
        else:
            same = (a[column].fillna("\0").astype(str) == b[column].fillna("\0").astype(str)).all()
            gap = "" if same else "text differs"
        if gap:
            gaps.append(f"column {column}: {gap}")
    return "; ".join(gaps)


def _compare_documents(a: Any, b: Any, skip: frozenset[str], where: str = "") -> str:
    """'' when two parsed documents agree, keys in ``skip`` aside (at any depth)."""
    if isinstance(a, dict) and isinstance(b, dict):
        gaps = []
        for key in sorted(set(a) | set(b), key=str):
            if key in skip:
                continue
            inner = f"{where}.{key}" if where else str(key)
            if key not in a and inner in ADDED_LATER and b[key] == ADDED_LATER[inner]:
                continue  # the original predates it and ran as its value says
            if key not in a or key not in b:
                gaps.append(f"{inner} in only one")
                continue
            gap = _compare_documents(a[key], b[key], skip, inner)
            if gap:
                gaps.append(gap)
        return "; ".join(gaps[:5])
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{where or 'list'}: {len(a)} items vs {len(b)}"
        pairs = enumerate(zip(a, b, strict=True))
        gaps = [_compare_documents(x, y, skip, f"{where}[{i}]") for i, (x, y) in pairs]
        return "; ".join(g for g in gaps if g)[:500]
    if _same_value(a, b):
        return ""
    return f"{where or 'value'}: {a!r} vs {b!r}"


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)
