"""Runs side by side (`mmm compare-runs`): specification, diagnostics, fit, LOO, channels.

Every run folder is read defensively: a failed, interrupted, abandoned (its
process gone while the manifest says running) or damaged run is listed with the
reason and the comparison goes on with what it has. LOO
differences come from ArviZ's compare, only between runs fit on the same data
(same data hash and the same fitted periods); elpd on different data is not
comparable, and the comparison says so.
"""

from __future__ import annotations

import json
import math
import warnings as warnings_module
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from mmm_runner import constants
from mmm_runner.atomic import write_csv, write_text
from mmm_runner.pipeline.manifest import describe_state, manifest_state

METADATA, FIT, POST, DIAG, SELECT = (
    constants.stage_folder(s)
    for s in ("run_metadata", "model_fit", "post_run", "diagnostics", "model_selection")
)
# Config keys that name or place a run rather than specify it.
NOT_SPECIFICATION = ("name", "description", "output_dir")
GATE_ORDER = {"fail": 3, "warn": 2, "pass": 1, "skip": 0}


@dataclass
class RunRecord:
    """What one run folder offers for comparison, and what it lacks."""

    path: Path
    label: str = ""  # the folder name, or more of its path when names collide
    manifest: dict[str, Any] = field(default_factory=dict)
    state: str = ""  # pipeline.manifest.run_state: "abandoned" where the manifest says running
    config: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def completed(self) -> bool:
        return self.manifest.get("status") == "completed"

    @property
    def data_key(self) -> tuple[str, int, str, str] | None:
        """What makes LOO comparable: the same observations, i.e. the data's hash, the
        number of fitted periods, the KPI and the grouping."""
        loo = self.tables.get("loo")
        sha = self.manifest.get("data", {}).get("sha256")
        if loo is None or not sha:
            return None
        data = self.config.get("data", {})
        return (
            sha,
            int(loo["n_obs"].iloc[0]),
            str(self.model.get("kpi")),
            str(data.get("group_column")),
        )

    def expects(self, table: str) -> bool:
        """Whether the run's config asked for the stage that writes this table."""
        if table == "cv":
            return bool((self.config.get("cv") or {}).get("enabled", False))
        if table == "loo":
            fit = self.config.get("fit", {}).get("method", "mcmc")
            return bool((self.config.get("loo") or {}).get("enabled", True)) and fit != "map"
        if table in ("totals", "roi"):
            return bool((self.config.get("decomposition") or {}).get("enabled", True))
        if table == "calibration":
            return bool(self.lift_tests) and self.expects("roi")
        # Runs from before WAIC lack its file: blanks in the comparison, not a problem.
        return table != "waic"

    @property
    def lift_tests(self) -> list[dict[str, Any]]:
        """The lift tests of the run's config (as resolved)."""
        tests = ((self.config or {}).get("calibration") or {}).get("lift_tests") or []
        return [t for t in tests if isinstance(t, dict)]

    @property
    def posterior(self) -> Path | None:
        path = self.path / FIT / constants.POSTERIOR
        return path if path.is_file() else None


# Tables read from each run: key -> (path inside the run, why it matters if missing).
TABLES = {
    "gates": (f"{DIAG}/{constants.GATES}", "diagnostics"),
    "metrics": (f"{FIT}/{constants.FIT_METRICS}", "in-sample fit"),
    "loo": (f"{SELECT}/{constants.LOO_SUMMARY}", "LOO"),
    "waic": (f"{SELECT}/{constants.WAIC_SUMMARY}", "WAIC"),
    "cv": (f"{SELECT}/{constants.CV_SUMMARY}", "cross-validation"),
    "totals": (f"{POST}/{constants.DECOMP_TOTALS}", "contributions"),
    "roi": (f"{POST}/{constants.ROI}", "ROI"),
    "calibration": (f"{POST}/{constants.CALIBRATION}", "lift-test calibration"),
}


def load_run(path: Path) -> RunRecord:
    """Reads a run folder; never raises: what cannot be read becomes a listed problem."""
    record = RunRecord(path, path.name)
    manifest = path / METADATA / constants.MANIFEST
    if not manifest.is_file():
        record.problems.append(f"no {METADATA}/{constants.MANIFEST}: not a run folder")
        return record
    try:
        document = json.loads(manifest.read_text())
        written = datetime.fromtimestamp(manifest.stat().st_mtime, UTC)
    except (OSError, ValueError) as error:
        record.problems.append(f"{METADATA}/{constants.MANIFEST} is unreadable ({error})")
        return record
    if not isinstance(document, dict):
        record.problems.append(f"{METADATA}/{constants.MANIFEST} holds no JSON object")
        return record
    record.manifest = document
    record.state = manifest_state(document, written)
    if record.state != "completed":
        record.problems.append(describe_state(document, record.state))
    _read_config(record)
    for key, (relative, purpose) in TABLES.items():
        file = path / relative
        if not file.is_file():
            if record.completed and record.expects(key):
                record.problems.append(f"missing {relative} (no {purpose})")
            continue
        try:
            record.tables[key] = pd.read_csv(file)
        except (OSError, ValueError) as error:
            record.problems.append(f"{relative} is unreadable ({error})")
    return record


def _read_config(record: RunRecord) -> None:
    file = record.path / METADATA / constants.CONFIG_RESOLVED
    try:
        document = yaml.safe_load(file.read_text())
    except (OSError, yaml.YAMLError) as error:
        record.problems.append(f"{METADATA}/{constants.CONFIG_RESOLVED} is unreadable ({error})")
        return
    if not isinstance(document, dict):
        record.problems.append(f"{METADATA}/{constants.CONFIG_RESOLVED} holds no mapping")
        return
    record.model = document.pop("resolved", {}) or {}
    record.config = document


# --- the comparison ------------------------------------------------------------------------


@dataclass
class Comparison:
    summary: pd.DataFrame  # one row per run
    channels: pd.DataFrame  # run x channel: share and ROI with intervals
    config_diff: pd.DataFrame  # config keys that differ, one column per run
    warnings: list[str]
    problems: dict[str, list[str]]  # run label -> problems
    # lift test x run: the model's lift as each run predicts it (calibrated by it or not)
    calibration: pd.DataFrame = field(default_factory=pd.DataFrame)


def compare(records: list[RunRecord]) -> Comparison:
    """The side-by-side tables of runs (records in the order given)."""
    _unique_labels(records)
    warnings: list[str] = []
    summary = pd.DataFrame([_summary_row(r) for r in records])
    loo = loo_differences(records, warnings)
    if not loo.empty:
        summary = summary.merge(loo, on="run", how="left")
    else:
        for column in ("elpd_diff", "elpd_diff_se", "loo_rank", "loo_weight", "loo_set"):
            summary[column] = np.nan
    return Comparison(
        summary=summary,
        channels=channel_table(records),
        config_diff=config_differences(records),
        warnings=warnings,
        problems={r.label: r.problems for r in records if r.problems},
        calibration=calibration_table(records, warnings),
    )


def _unique_labels(records: list[RunRecord]) -> None:
    """Folder names label runs; where two collide, their parent folders are added."""
    names = [r.path.name for r in records]
    for record in records:
        if names.count(record.path.name) > 1:
            record.label = f"{record.path.parent.name}/{record.path.name}"
    seen: dict[str, int] = {}
    for record in records:
        seen[record.label] = seen.get(record.label, 0) + 1
        if seen[record.label] > 1:
            record.label = f"{record.label}#{seen[record.label]}"


def _summary_row(record: RunRecord) -> dict[str, Any]:
    config, manifest = record.config, record.manifest
    model = config.get("model", {}) if config else {}
    row: dict[str, Any] = {
        "run": record.label,
        "name": manifest.get("name", config.get("name", "")),
        "status": record.state or manifest.get("status", "damaged"),
        "model_class": manifest.get("model_class", model.get("class", "")),
        "terms": _terms(record),
        "lift_tests": len(((config or {}).get("calibration") or {}).get("lift_tests") or []),
        "fit_method": manifest.get("fit_method", ""),
        "data_sha256": str(manifest.get("data", {}).get("sha256", ""))[:12],
        "worst_gate": _worst_gate(record.tables.get("gates")),
    }
    metrics = record.tables.get("metrics")
    row["r2"] = float(metrics["r2"].median()) if metrics is not None else np.nan
    row["holdout_mape"] = _gate_value(record.tables.get("gates"), "holdout_mape")
    cv = record.tables.get("cv")
    for column in ("rmse", "mape", "crps"):
        row[f"cv_{column}"] = float(cv[column].iloc[0]) if cv is not None else np.nan
    loo = record.tables.get("loo")
    for column, source in (("elpd_loo", "elpd_loo"), ("elpd_se", "se")):
        row[column] = float(loo[source].iloc[0]) if loo is not None else np.nan
    waic = record.tables.get("waic")
    row["elpd_waic"] = _first(waic, "elpd_waic")
    row["waic_se"] = _first(waic, "se")
    row["p_loo"] = float(loo["p_loo"].iloc[0]) if loo is not None else np.nan
    row["pareto_k_bad"] = int(loo["k_bad"].iloc[0]) if loo is not None else np.nan
    row["problems"] = "; ".join(record.problems)
    return row


def _first(table: pd.DataFrame | None, column: str) -> float:
    """A one-row table's value; blank (NaN) when the table or the column is missing."""
    if table is None or column not in table or table.empty:
        return np.nan
    return float(table[column].iloc[0])


def _terms(record: RunRecord) -> str:
    model = record.config.get("model", {}) if record.config else {}
    if model.get("formula"):
        return str(model["formula"])
    resolved = record.model
    if not resolved:
        return ""
    terms = [m["name"] for m in resolved.get("media", [])] + list(resolved.get("controls", []))
    return f"{resolved.get('kpi', '?')} ~ " + " + ".join(terms)


def _worst_gate(gates: pd.DataFrame | None) -> str:
    if gates is None or gates.empty:
        return "unknown"
    worst = max(gates["status"], key=lambda s: GATE_ORDER.get(str(s), 0))
    if worst in ("pass", "skip"):
        return str(worst)
    checks = gates.loc[gates["status"] == worst, "check"]
    return f"{worst}: " + ", ".join(map(str, checks))


def _gate_value(gates: pd.DataFrame | None, check: str) -> float:
    if gates is None:
        return np.nan
    row = gates[gates["check"] == check]
    return float(row["value"].iloc[0]) if len(row) else np.nan


def loo_differences(records: list[RunRecord], warnings: list[str]) -> pd.DataFrame:
    """ArviZ compare within each set of runs fit on the same data."""
    sets: dict[tuple[str, int, str, str], list[RunRecord]] = {}
    for record in records:
        key = record.data_key
        if key is not None and record.posterior is not None:
            sets.setdefault(key, []).append(record)
    if len(sets) > 1:
        described = "; ".join(
            f"data {sha[:12]}, {n} fitted periods, KPI {kpi}: " + ", ".join(r.label for r in runs)
            for (sha, n, kpi, _), runs in sets.items()
        )
        warnings.append(
            "runs were fit on different data, so their LOO is not comparable across sets; "
            f"elpd differences are computed within each set ({described})"
        )
    rows = []
    for number, runs in enumerate(sets.values(), start=1):
        table = _compare_set(runs, warnings)
        for label, values in table.iterrows():
            rows.append(
                {
                    "run": label,
                    "elpd_diff": float(values["elpd_diff"]),
                    "elpd_diff_se": float(values["dse"]),
                    "loo_rank": int(values["rank"]) + 1,
                    "loo_weight": float(values["weight"]),
                    "loo_set": number,
                }
            )
    return pd.DataFrame(rows)


def _compare_set(runs: list[RunRecord], warnings: list[str]) -> pd.DataFrame:
    from mmm_runner.analysis.posterior import import_arviz

    az = import_arviz()
    if len(runs) == 1:
        return pd.DataFrame(
            {"elpd_diff": [0.0], "dse": [0.0], "rank": [0], "weight": [1.0]},
            index=[runs[0].label],
        )
    data = {}
    for run in runs:
        assert run.posterior is not None
        data[run.label] = az.from_netcdf(str(run.posterior), engine="h5netcdf")
    with warnings_module.catch_warnings():
        # High Pareto k is reported below, per run, rather than as a Python warning.
        warnings_module.simplefilter("ignore", UserWarning)
        table: pd.DataFrame = az.compare(data, ic="loo", scale="log")
    flagged = [str(label) for label, flag in table["warning"].items() if flag]
    if flagged:
        warnings.append(
            "Pareto k above ArviZ's threshold in "
            + ", ".join(flagged)
            + ": their elpd may be optimistic (see each run's pareto_k.csv)"
        )
    return table


def channel_table(records: list[RunRecord]) -> pd.DataFrame:
    """Each run's media channels: contribution share and ROI with 90% intervals (all groups)."""
    frames = []
    for record in records:
        totals, roi = record.tables.get("totals"), record.tables.get("roi")
        media = [m["name"] for m in record.model.get("media", [])]
        if totals is None or not media:
            continue
        shares = totals[(totals["group"] == "all") & totals["term"].isin(media)]
        part = shares[["term", "share", "share_q05", "share_q95"]].rename(
            columns={"term": "channel"}
        )
        if roi is not None and "roi" in roi:
            roi_all = roi[roi["group"] == "all"][["channel", "roi", "roi_q05", "roi_q95"]]
            part = part.merge(roi_all, on="channel", how="left")
        part.insert(0, "run", record.label)
        frames.append(part)
    if not frames:
        return pd.DataFrame(columns=["run", "channel", "share", "share_q05", "share_q95"])
    return pd.concat(frames, ignore_index=True)


CALIBRATION_COLUMNS = [
    "test",
    "channel",
    "group",
    "outcome",
    "start",
    "end",
    "measured_until",
    "spend_change",
    "measured_lift",
    "measured_se",
    "run",
    "calibrated",
    "model_lift",
    "model_q05",
    "model_q95",
    "z",
    "note",
]


def calibration_table(records: list[RunRecord], warnings: list[str]) -> pd.DataFrame:
    """Every lift test of any run, as each run's model predicts it: before calibration
    (a run whose fit did not use the test: its posterior's lift for the same spend
    change, rebuilt from its Stan CSVs) and after (a run that used it: its own
    calibration.csv). A test is the same test in two runs when its channel, group,
    outcome, periods, spend change, lift and standard error agree."""
    tests: dict[tuple[str, ...], dict[str, Any]] = {}
    for record in records:
        for test in record.lift_tests:
            tests.setdefault(_test_key(test), test)
    rows, labels = [], set()
    for key, test in tests.items():
        label = base = str(_test_columns(test)["test"])
        for n in range(2, len(tests) + 2):
            if label not in labels:
                break
            label = f"{base}#{n}"  # two different tests under one name
        labels.add(label)
        for record in records:
            used = any(_test_key(t) == key for t in record.lift_tests)
            row, note = _run_lift(record, test, used)
            if note:
                warnings.append(f"lift test {label}: no model lift from {record.label} ({note})")
            columns = {**_test_columns(test), "test": label}
            rows.append({**columns, "run": record.label, "calibrated": used, **row})
    return pd.DataFrame(rows, columns=CALIBRATION_COLUMNS)


def _test_key(test: dict[str, Any]) -> tuple[str, ...]:
    """What makes two runs' tests the same test (their names may differ)."""
    fields = ("channel", "group", "outcome", "start", "end", "spend_change", "lift", "se")
    until = test.get("measured_until") or test.get("end")
    return (*(str(test.get(f)) for f in fields), str(until))


def _test_columns(test: dict[str, Any]) -> dict[str, Any]:
    return {
        "test": test.get("name") or f"{test.get('channel')}@{test.get('start')}",
        "channel": test.get("channel"),
        "group": test.get("group") or "all",
        "outcome": test.get("outcome") or "",
        "start": str(test.get("start")),
        "end": str(test.get("end")),
        "measured_until": str(test.get("measured_until") or test.get("end")),
        "spend_change": float(test.get("spend_change", np.nan)),
        "measured_lift": float(test.get("lift", np.nan)),
        "measured_se": float(test.get("se", np.nan)),
    }


def _run_lift(record: RunRecord, test: dict[str, Any], used: bool) -> tuple[dict[str, Any], str]:
    """A run's model lift for a test (mean, 90% interval, z), and a note when it has none."""
    blank: dict[str, Any] = {
        "model_lift": np.nan,
        "model_q05": np.nan,
        "model_q95": np.nan,
        "z": np.nan,
        "note": "",
    }
    if not record.completed:
        return {**blank, "note": "run not completed"}, ""
    if used:
        table = record.tables.get("calibration")
        own = _own_row(table, test) if table is not None else None
        if own is None:
            return {
                **blank,
                "note": f"not in its {constants.CALIBRATION}",
            }, "its own lift is missing"
        return {
            **{k: float(own[k]) for k in ("model_lift", "model_q05", "model_q95", "z")},
            "note": "",
        }, ""
    try:
        row = _rebuilt_lift(record, test)
    except _NoLiftError as reason:
        return {**blank, "note": str(reason)}, str(reason)
    return {**row, "note": "before calibration (this run's fit did not use the test)"}, ""


def _own_row(table: pd.DataFrame, test: dict[str, Any]) -> pd.Series | None:
    """The run's calibration.csv row of a test it used (the same periods and change)."""
    mine = _test_columns(test)
    for _, row in table.iterrows():
        same = all(
            str(row[c]) == str(mine[c])
            for c in ("channel", "group", "start", "end", "measured_until")
        ) and math.isclose(float(row["spend_change"]), mine["spend_change"])
        if same:
            return row
    return None


class _NoLiftError(Exception):
    """Why a run's lift for a test cannot be rebuilt."""


def _rebuilt_lift(record: RunRecord, test: dict[str, Any]) -> dict[str, float]:
    """The run's posterior lift for a test its fit did not use: the run's config and data
    validated again and laid out by the design builder, its draws read back from its Stan
    CSVs, and the model class's lift (the NumPy twin of the programs' lift_pred)."""
    from mmm_runner import classes
    from mmm_runner.analysis.calibration import lift_table
    from mmm_runner.backend.fit import read_mcmc
    from mmm_runner.data.design import build_design
    from mmm_runner.errors import MMMError
    from mmm_runner.model import calibration
    from mmm_runner.model.stan_data import layout
    from mmm_runner.planning import validated_run

    if record.manifest.get("fit_method", "mcmc") != "mcmc":
        raise _NoLiftError(f"fitted by {record.manifest.get('fit_method')}: no posterior draws")
    csv_files = sorted((record.path / FIT / "stan_csv").glob("*.csv"))
    if not csv_files:
        raise _NoLiftError(f"no {FIT}/stan_csv")
    try:
        # the run's config with this test, validated again: the test must suit the run's
        # model (channel, group, periods, class, response) as it would have at its start
        result = validated_run(record.path, record.manifest, [test])
    except (MMMError, OSError) as error:
        raise _NoLiftError(str(error).splitlines()[0]) from error
    assert result.spec is not None
    assert result.loaded is not None
    assert result.frame is not None
    spec = result.spec
    design = build_design(result.frame, result.loaded.config, spec)
    if not calibration.place(design, spec):
        raise _NoLiftError("the test's measured periods are not all fitted in this run")
    model_class = classes.get(spec.model_class)
    draws = model_class.kpi_draws(read_mcmc(csv_files), design, spec)
    post = model_class.posterior(draws, design, spec)
    names = layout(design, spec)
    curves = model_class.decompose(post, design, spec, names).curves
    lifts = model_class.model_lifts(post, design, spec, names, curves)
    row = lift_table(design, spec, lifts).iloc[0]
    return {k: float(row[k]) for k in ("model_lift", "model_q05", "model_q95", "z")}


def config_differences(records: list[RunRecord]) -> pd.DataFrame:
    """Resolved-config keys (dotted paths) whose values differ between the runs."""
    flat = {r.label: _flatten(r.config) for r in records if r.config}
    keys = sorted({k for values in flat.values() for k in values})
    rows = []
    for key in keys:
        if key.split(".")[0] in NOT_SPECIFICATION:
            continue
        values = {label: values.get(key, "(absent)") for label, values in flat.items()}
        if len(set(values.values())) > 1:
            rows.append({"key": key, **values})
    return pd.DataFrame(rows, columns=["key", *flat])


def _flatten(value: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(value, dict):
        out: dict[str, str] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out = {}
        for i, item in enumerate(value):
            name = item.get("name", i) if isinstance(item, dict) else i
            out.update(_flatten(item, f"{prefix}[{name}]"))
        return out
    return {prefix: json.dumps(value, default=str)}


# --- output ---------------------------------------------------------------------------------


def write(comparison: Comparison, folder: Path, plots: bool = True) -> list[str]:
    """CSV and Markdown tables (and figures) in the output folder; returns the files written."""
    from mmm_runner import plotting

    folder.mkdir(parents=True, exist_ok=True)
    write_csv(comparison.summary, folder / "comparison.csv")
    write_csv(comparison.channels, folder / "channels.csv")
    write_csv(comparison.config_diff, folder / "config_diff.csv")
    write_text(folder / "comparison.md", markdown(comparison))
    tables = ["comparison.csv", "channels.csv", "config_diff.csv"]
    if not comparison.calibration.empty:
        write_csv(comparison.calibration, folder / constants.CALIBRATION)
        tables.append(constants.CALIBRATION)
    figures = plotting.render_all(
        [
            ("elpd_differences.png", "elpd_differences", (comparison.summary,)),
            ("contribution_shares.png", "contribution_shares", (comparison.channels,)),
        ],
        folder,
        enabled=plots,
    )
    return [*tables, "comparison.md", *figures]


def markdown(comparison: Comparison) -> str:
    parts = ["# Run comparison", ""]
    if comparison.warnings:
        parts += ["## Warnings", "", *[f"- {w}" for w in comparison.warnings], ""]
    if comparison.problems:
        parts += ["## Runs with problems", ""]
        parts += [f"- `{run}`: {'; '.join(p)}" for run, p in comparison.problems.items()]
        parts.append("")
    columns = [c for c in comparison.summary.columns if c != "problems"]
    parts += ["## Runs", "", markdown_table(comparison.summary[columns]), ""]
    parts += [
        "`elpd_diff` is the best run's elpd_loo minus this run's (ArviZ compare, within runs",
        "on the same data); a difference of a few `elpd_diff_se` is one to take seriously.",
        "`elpd_waic` (SE `waic_se`) is WAIC's estimate of the same elpd, a cross-check: close",
        "to `elpd_loo` when both are reliable; where they differ, trust PSIS-LOO (see the",
        "run's waic_summary.csv for large variance terms). Blank for runs without it.",
        "",
    ]
    parts += ["## Config differences", ""]
    if comparison.config_diff.empty:
        parts.append("The resolved configs agree (names and output folders aside).")
    else:
        parts.append(markdown_table(comparison.config_diff))
    parts += ["", "## Channels (share of the fitted KPI and ROI, 90% intervals)", ""]
    parts.append(markdown_table(_channel_cells(comparison.channels)))
    if not comparison.calibration.empty:
        parts += ["", "## Lift tests: the model's lift before and after calibration", ""]
        parts.append(markdown_table(_lift_cells(comparison.calibration)))
        parts += [
            "",
            "Each run's model lift for each test (mean [90% interval], z against the",
            "measured lift with both uncertainties): *calibrated* where the run's fit used",
            "the test, *before* where it did not (the run's posterior for the same spend",
            "change, rebuilt from its draws).",
        ]
    return "\n".join(parts) + "\n"


def _lift_cells(calibration: pd.DataFrame) -> pd.DataFrame:
    """Tests down (with the measured lift), runs across: `lift [q05, q95] (z, how)`."""

    def cell(row: pd.Series) -> str:
        if pd.isna(row["model_lift"]):
            return f"— ({row['note']})"
        how = "calibrated" if row["calibrated"] else "before"
        return (
            f"{row['model_lift']:.4g} [{row['model_q05']:.4g}, {row['model_q95']:.4g}] "
            f"(z {row['z']:.1f}, {how})"
        )

    cells = calibration.assign(
        cell=calibration.apply(cell, axis=1),
        measured=calibration.apply(
            lambda r: f"{r['measured_lift']:.4g} ± {r['measured_se']:.3g}", axis=1
        ),
    )
    wide = cells.pivot(index=["test", "measured"], columns="run", values="cell")
    runs = list(dict.fromkeys(calibration["run"]))
    tests = list(dict.fromkeys(zip(calibration["test"], cells["measured"], strict=True)))
    return wide.reindex(index=pd.MultiIndex.from_tuples(tests), columns=runs).reset_index(
        names=["test", "measured"]
    )


def _channel_cells(channels: pd.DataFrame) -> pd.DataFrame:
    """Channels down, runs across: `share [q05, q95] · ROI [q05, q95]`."""
    if channels.empty:
        return pd.DataFrame({"channel": []})

    def cell(row: pd.Series) -> str:
        text = f"{row['share']:.1%} [{row['share_q05']:.1%}, {row['share_q95']:.1%}]"
        if "roi" in row and not pd.isna(row["roi"]):
            text += f" · ROI {row['roi']:.2f} [{row['roi_q05']:.2f}, {row['roi_q95']:.2f}]"
        return text

    cells = channels.assign(cell=channels.apply(cell, axis=1))
    wide = cells.pivot(index="channel", columns="run", values="cell").fillna("—")
    order = list(dict.fromkeys(channels["channel"]))  # the models' own channel order
    runs = list(dict.fromkeys(channels["run"]))  # the runs in the order given
    return wide.reindex(index=order, columns=runs).reset_index()


def markdown_table(frame: pd.DataFrame) -> str:
    """A table as Markdown: floats to four significant digits, NaN blank."""

    def fmt(value: Any) -> str:
        if isinstance(value, float):
            if math.isnan(value):
                return ""
            return f"{value:.4g}"
        return str(value).replace("|", "\\|")

    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = ["| " + " | ".join(fmt(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])
