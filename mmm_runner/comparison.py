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
        # Runs from before WAIC lack its file: blanks in the comparison, not a problem.
        return table != "waic"

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
    figures = plotting.render_all(
        [
            ("elpd_differences.png", "elpd_differences", (comparison.summary,)),
            ("contribution_shares.png", "contribution_shares", (comparison.channels,)),
        ],
        folder,
        enabled=plots,
    )
    return ["comparison.csv", "channels.csv", "config_diff.csv", "comparison.md", *figures]


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
    return "\n".join(parts) + "\n"


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
