"""From config files or a sweep to checked runs, before anything runs.

Every config of the batch gets the checks of `mmm validate` (structure, data,
cross-field rules); a single problem anywhere stops the batch with exit 2 and
every problem listed, located in its config file or, for a sweep, at the sweep's
line. Nothing is written until all of them pass.

A run is identified by the sha256 of its config file and of its data file, the
hashes its manifest records: a completed run in the output folder with both is
the same run done already (``completed_runs``).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mmm_runner import constants
from mmm_runner.backend.fit import cores_per_fit
from mmm_runner.config.sweep import Sweep, load_sweep, locate
from mmm_runner.errors import ConfigError, Problem, UsageError
from mmm_runner.hashing import file_sha256
from mmm_runner.pipeline.manifest import METADATA
from mmm_runner.validation import Validation, validate


@dataclass(frozen=True)
class PlannedRun:
    """A config that passed validation, with what identifies its run."""

    name: str
    config: Path  # as given; for a sweep, the expanded copy (written again by the batch)
    config_sha256: str
    data_sha256: str
    output_dir: str  # the config's own output_dir
    text: str | None = None  # a sweep's expanded config, to write into the batch folder
    changes: dict[str, Any] = field(default_factory=dict)
    cores: int = 1  # processes its fit keeps busy

    @property
    def key(self) -> tuple[str, str]:
        return self.config_sha256, self.data_sha256


@dataclass(frozen=True)
class BatchPlan:
    name: str
    runs: tuple[PlannedRun, ...]
    sweep: Sweep | None = None
    sources: tuple[Path, ...] = ()  # the config files or the sweep file given


def plan_configs(paths: list[Path], name: str | None = None) -> BatchPlan:
    """Checks each config file; raises ConfigError listing every problem of every file."""
    if not paths:
        raise UsageError(
            "no configs to run", hint="Name config files, or give a sweep with --sweep FILE."
        )
    runs, problems = [], []
    for path in paths:
        result = validate(Path(path))
        if result.ok:
            runs.append(_planned(result))
        problems += [_in_file(p, Path(path)) for p in result.errors]
    _raise_problems(problems, f"{len(paths)} config(s)")
    _refuse_repeats(runs)
    return BatchPlan(name or "runs", tuple(runs), sources=tuple(Path(p) for p in paths))


def plan_sweep(path: Path, name: str | None = None) -> BatchPlan:
    """Expands a sweep and checks its base and every expanded config; ConfigError lists
    every problem at the sweep line (or base config line) that causes it."""
    sweep = load_sweep(path)
    base = validate(sweep.base)
    _raise_problems([_in_file(p, sweep.base) for p in base.errors], f"the sweep's base {path}")
    runs, problems = [], []
    seen: set[tuple[str, str]] = set()
    with tempfile.TemporaryDirectory(prefix="mmm_sweep_") as scratch:
        for run in sweep.runs:
            file = Path(scratch) / f"{run.name}.yaml"
            file.write_text(run.text(), encoding="utf-8")
            result = validate(file)
            if result.ok:
                runs.append(_planned(result, run.text(), run.grid_values))
            for problem in locate(result.errors, run, sweep):
                # A bad override fails every run alike: say it once.
                if (problem.location, problem.message) not in seen:
                    seen.add((problem.location, problem.message))
                    problems.append(problem)
    _raise_problems(problems, f"the sweep {path}")
    return BatchPlan(name or sweep.name, tuple(runs), sweep, (Path(path),))


def _planned(
    result: Validation, text: str | None = None, changes: dict[str, Any] | None = None
) -> PlannedRun:
    assert result.loaded is not None
    config = result.loaded.config
    return PlannedRun(
        name=config.name,
        config=result.config_path,
        config_sha256=file_sha256(result.config_path),
        data_sha256=file_sha256(result.data_path()),
        output_dir=config.output_dir,
        text=text,
        changes=dict(changes or {}),
        cores=cores_per_fit(config.fit, config.fit.method),
    )


def _refuse_repeats(runs: list[PlannedRun]) -> None:
    """The same config and data twice would be one run done twice (and one resumed as both)."""
    first: dict[tuple[str, str], Path] = {}
    for run in runs:
        if run.key in first:
            raise UsageError(
                f"{run.config} and {first[run.key]} are the same run (the same config and "
                "data, byte for byte)",
                hint="Name each config once; to repeat a run with another seed, change its seed.",
            )
        first[run.key] = run.config


def _in_file(problem: Problem, path: Path) -> Problem:
    """A config's problem, named with its file (a batch has many)."""
    return Problem(
        f"{path}: {problem.location}",
        problem.message,
        problem.fix,
        problem.value,
        problem.severity,
        problem.line,
    )


def _raise_problems(problems: list[Problem], what: str) -> None:
    if problems:
        raise ConfigError(
            f"{what}: {len(problems)} problem(s); nothing was run",
            problems,
            hint="Fix them and rerun; `mmm validate --config` checks one config at a time.",
        )


def completed_runs(output_dir: Path) -> dict[tuple[str, str], Path]:
    """Completed runs in ``output_dir`` by (config sha256, data sha256), the latest of each."""
    found: dict[tuple[str, str], Path] = {}
    for manifest in sorted(output_dir.glob(f"*/{METADATA}/{constants.MANIFEST}")):
        record = _read_manifest(manifest)
        if record.get("status") != "completed":
            continue
        key = manifest_key(record)
        if all(key):
            found[key] = manifest.parent.parent  # sorted by folder name: later wins
    return found


def runs_since(
    output_dir: Path, keys: set[tuple[str, str]], since: datetime
) -> dict[Path, dict[str, Any]]:
    """Run folders of the given keys whose manifest was created at or after ``since``
    (timezone-aware), with their manifests: this batch's attempts, lost ones included."""
    found = {}
    for manifest in sorted(output_dir.glob(f"*/{METADATA}/{constants.MANIFEST}")):
        record = _read_manifest(manifest)
        try:
            created = datetime.fromisoformat(str(record.get("created")))
        except ValueError:
            continue
        if created.tzinfo is not None and created >= since and manifest_key(record) in keys:
            found[manifest.parent.parent] = record
    return found


def manifest_key(record: dict[str, Any]) -> tuple[str, str]:
    """A manifest's (config sha256, data sha256)."""
    return (
        str((record.get("config") or {}).get("sha256", "")),
        str((record.get("data") or {}).get("sha256", "")),
    )


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # damaged or being written: not a completed run
    return record if isinstance(record, dict) else {}
