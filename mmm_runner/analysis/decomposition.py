"""Tables of the fit and its decomposition, summarised over draws.

Intervals are central 90% credible intervals (columns ``q05`` and ``q95``).
Totals, shares and ROI are over the fitted periods.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from mmm_runner.analysis.effects import BASELINE, INTERACTION
from mmm_runner.analysis.intervals import bounds, mean_band
from mmm_runner.analysis.intervals import columns as _interval
from mmm_runner.analysis.posterior import Posterior, row_labels
from mmm_runner.config.resolve import ModelSpec
from mmm_runner.data.design import Design

Array = npt.NDArray[np.float64]


def _row_frame(design: Design) -> pd.DataFrame:
    frame = pd.DataFrame({"date": [d.strftime("%Y-%m-%d") for d in design.dates]})
    if design.n_groups > 1:
        frame.insert(1, "group", [design.group_names[g] for g in design.group])
    return frame


def fitted_values(expected: Array, kpi_rep: Array, design: Design) -> pd.DataFrame:
    """fitted_values.csv: actual, fitted mean with its interval, predictive interval."""
    mean, low, high = mean_band(expected)
    frame = _row_frame(design)
    frame["actual"] = design.kpi
    frame["fitted"] = mean
    frame["fitted_q05"] = low
    frame["fitted_q95"] = high
    frame["predictive_q05"], frame["predictive_q95"] = bounds(kpi_rep)
    frame["residual"] = design.kpi - mean
    frame["in_fit"] = design.fitted
    return frame


def decomposition_rows(contrib: dict[str, Array], design: Design) -> pd.DataFrame:
    """decomp_timeseries.csv: each term's contribution per period, long format."""
    frames = []
    base = _row_frame(design)
    for term, values in contrib.items():
        mean, low, high = mean_band(values)
        frame = base.copy()
        frame["term"] = term
        frame["mean"] = mean
        frame["q05"] = low
        frame["q95"] = high
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    return out[np.tile(design.fitted, len(contrib))].reset_index(drop=True)


def _groups(design: Design) -> list[tuple[str, npt.NDArray[np.bool_]]]:
    fitted = design.fitted
    scopes = [("all", fitted)]
    if design.n_groups > 1:
        scopes += [
            (name, fitted & (design.group == g)) for g, name in enumerate(design.group_names)
        ]
    return scopes


def decomposition_totals(contrib: dict[str, Array], design: Design) -> pd.DataFrame:
    """decomp_totals.csv: each term's total and share of the KPI, per group and overall."""
    rows = []
    for scope, mask in _groups(design):
        totals = {term: values[:, mask].sum(axis=1) for term, values in contrib.items()}
        whole = sum(totals.values())
        assert isinstance(whole, np.ndarray)
        for term, total in totals.items():
            rows.append(
                {
                    "group": scope,
                    "term": term,
                    "kind": _kind(term, contrib),
                    **_interval("total", total),
                    **_interval("share", total / whole),
                }
            )
    return pd.DataFrame(rows)


def _kind(term: str, contrib: dict[str, Array]) -> str:
    if term in (BASELINE, INTERACTION):
        return term
    if term in ("trend", "season"):
        return term
    return "term"


def roi_table(contrib: dict[str, Array], design: Design, spec: ModelSpec) -> pd.DataFrame:
    """roi.csv: spend, contribution, ROI and cost per KPI unit of each channel.

    With ``model.kpi_value`` the contribution is also given in money
    (``contribution_value``) and ROI is money per unit of spend; organic
    channels have no spend and no ROI.
    """
    rows = []
    first_group = design.group == 0
    valued = design.value is not None
    for scope, mask in _groups(design):
        for i, media in enumerate(spec.media):
            name = media.name
            # National media run once for every group: count their spend once per period.
            national = media.scope == "national" and design.n_groups > 1
            paid = mask & first_group if national and scope == "all" else mask
            if national and scope != "all":
                paid = design.fitted & first_group
            spend = float(design.spend[paid, i].sum())
            total = contrib[name][:, mask].sum(axis=1)
            row = {
                "group": scope,
                "channel": name,
                "paid": not media.organic,
                "spend": spend,
                **_interval("contribution", total),
            }
            money = total
            if valued:
                money = (contrib[name][:, mask] * design.kpi_value[mask]).sum(axis=1)
                row.update(_interval("contribution_value", money))
            if spend > 0:
                with np.errstate(divide="ignore"):
                    cost = spend / total
                low, high = bounds(cost)
                row.update(
                    {
                        **_interval("roi", money / spend),
                        "cost_per_kpi": float(np.median(cost)),
                        "cost_per_kpi_q05": float(low),
                        "cost_per_kpi_q95": float(high),
                    }
                )
            rows.append(row)
    return pd.DataFrame(rows)


def fit_metrics(expected: Array, post: Posterior, design: Design) -> pd.DataFrame:
    """fit_metrics.csv: R², RMSE, sMAPE and noise sd of every draw (fitted periods)."""
    actual = design.kpi[design.fitted]
    fit = expected[:, design.fitted]
    resid = actual[None, :] - fit
    ss_res = (resid**2).sum(axis=1)
    ss_tot = ((actual - actual.mean()) ** 2).sum()
    smape = np.mean(2 * np.abs(resid) / (np.abs(actual)[None, :] + np.abs(fit)), axis=1)
    return pd.DataFrame(
        {
            "draw": np.arange(1, post.n_draws + 1),
            "chain": np.repeat(np.arange(1, post.n_chains + 1), post.n_draws // post.n_chains),
            "r2": 1 - ss_res / ss_tot,
            "rmse": np.sqrt(ss_res / len(actual)),
            "smape": smape,
            "noise_sd": post.sigma * design.y_sd,
        }
    )


def holdout_table(expected: Array, kpi_rep: Array, design: Design) -> pd.DataFrame:
    """forecast.csv: predictions for the held-out periods with their intervals."""
    mask = ~design.fitted
    frame = _row_frame(design)[mask].reset_index(drop=True)
    mean, low, high = mean_band(expected[:, mask])
    frame["actual"] = design.kpi[mask]
    frame["predicted"] = mean
    frame["predicted_q05"] = low
    frame["predicted_q95"] = high
    frame["predictive_q05"], frame["predictive_q95"] = bounds(kpi_rep[:, mask])
    frame["error"] = frame["actual"] - frame["predicted"]
    frame["abs_pct_error"] = (frame["error"] / frame["actual"]).abs()
    return frame


def labels(design: Design) -> list[str]:
    """Row labels, as the posterior's coordinates use them."""
    return row_labels(design)


def label_totals(contrib: dict[str, Array], design: Design, spec: ModelSpec) -> pd.DataFrame:
    """decomp_labels.csv (pooled class): contributions and ROI aggregated per label."""
    rows = []
    whole = sum(v[:, design.fitted].sum(axis=1) for v in contrib.values())
    names = list(spec.media_names)
    dims = sorted({d for labels in spec.pooling.values() for d in labels})
    for dim in dims:
        members: dict[str, list[str]] = {}
        for term, labels in spec.pooling.items():
            if dim in labels:
                members.setdefault(labels[dim], []).append(term)
        for label, terms in sorted(members.items()):
            total = sum(contrib[t][:, design.fitted].sum(axis=1) for t in terms)
            assert isinstance(total, np.ndarray)
            spend = float(sum(design.spend[design.fitted, names.index(t)].sum() for t in terms))
            roi = total / spend if spend > 0 else np.full_like(total, np.nan)
            rows.append(
                {
                    "dimension": dim,
                    "label": label,
                    "terms": " ".join(terms),
                    "spend": spend,
                    **_interval("total", total),
                    **_interval("share", total / whole),
                    **_interval("roi", roi),
                }
            )
    return pd.DataFrame(rows)
