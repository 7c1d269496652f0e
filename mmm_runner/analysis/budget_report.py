"""The budget stage's tables: the allocation report, response curves and the sweep.

Each works on a ``Response`` (see ``budget``) and reports means with the
run's interval (see ``intervals``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from mmm_runner.analysis import budget as bud
from mmm_runner.analysis.intervals import bounds, summary
from mmm_runner.analysis.intervals import summary as summary_of
from mmm_runner.config.models import BudgetConfig
from mmm_runner.data.calendar import STEP

Array = npt.NDArray[np.float64]
SWEEP = np.round(np.arange(0.5, 1.51, 0.1), 2)  # totals as factors of the scenario's


def marginal_roi(response: bud.Response, budgets: Array) -> Array:
    """Expected extra KPI per extra unit of spend, per channel, at a plan."""
    base, _ = bud.uplift(response, budgets)
    out = np.zeros(len(budgets))
    step = max(1e-3 * budgets.sum(), 1e-6)
    for m in range(len(budgets)):
        bumped = budgets.copy()
        bumped[m] += step
        gain, _ = bud.uplift(response, bumped)
        out[m] = float((gain - base).mean() / step)
    return out


def report(
    response: bud.Response,
    config: BudgetConfig,
    names: list[str],
    current: Array,
    optimum: bud.Optimum,
    lower: Array,
    upper: Array,
    total: float,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """allocation.csv and budget_summary.json: the optimum against the current plan."""
    now_total, now_parts = bud.uplift(response, current)
    new_total, new_parts = bud.uplift(response, optimum.budgets)
    value_now = bud.objective_draws(response, current, config)
    value_new = bud.objective_draws(response, optimum.budgets, config)
    marginal = marginal_roi(response, optimum.budgets)
    rows = []
    for m, name in enumerate(names):
        now, new = summary(now_parts[m]), summary(new_parts[m])
        rows.append(
            {
                "channel": name,
                "current_spend": current[m],
                "optimised_spend": optimum.budgets[m],
                "change": optimum.budgets[m] - current[m],
                "change_pct": (optimum.budgets[m] / current[m] - 1) if current[m] > 0 else np.nan,
                "lower_bound": lower[m],
                "upper_bound": upper[m],
                "locked": bool(lower[m] == upper[m]),
                "contribution_current": now["mean"],
                "contribution_current_q05": now["q05"],
                "contribution_current_q95": now["q95"],
                "contribution_optimised": new["mean"],
                "contribution_optimised_q05": new["q05"],
                "contribution_optimised_q95": new["q95"],
                "marginal_roi_optimised": marginal[m],
                "marginal_value_optimised": marginal[m] * response.value,
            }
        )
    diff = value_new - value_now
    overview = {
        "objective": config.objective,
        "risk": config.risk,
        "horizon": config.horizon,
        "total": total,
        "spent": float(optimum.budgets.sum()),
        "kpi_uplift_current": summary(now_total),
        "kpi_uplift_optimised": summary(new_total),
        "uplift_vs_current": summary(diff),
        "probability_better": float((diff > 0).mean()),
        "converged": optimum.converged,
        "optimiser_message": optimum.message,
        "evaluations": optimum.evaluations,
        "seconds": round(optimum.seconds, 3),
        "draws": response.draws(),
        "value_per_kpi": response.value,
        "note": "kpi_uplift_*: KPI units the plan adds over the horizon and its carry-over "
        "tail, beyond what history alone carries in; uplift_vs_current: the objective's "
        "difference (KPI × value_per_kpi for objective kpi, profit for profit); intervals "
        "are 90%",
    }
    return pd.DataFrame(rows), overview


def target_summary(
    response: bud.Response, config: BudgetConfig, optimum: bud.Optimum
) -> dict[str, Any]:
    """budget_summary.json's record of the mode: the target and what the plan achieves
    (its ROI, and each channel's marginal ROI in value per unit of spend)."""
    out: dict[str, Any] = {"mode": config.mode}
    if config.mode == "total":
        return out
    marginal = marginal_roi(response, optimum.budgets) * response.value
    return {
        **out,
        "target": config.target,
        "roi_optimised": bud.plan_roi(response, optimum.budgets, config),
        "marginal_value_optimised": [float(v) for v in marginal],
        "mode_note": "target_mroi funds each channel until its marginal value per unit of "
        "spend falls to the target (or a bound); target_roi finds the largest total whose "
        "best allocation returns the target per unit of spend",
    }


def response_curves(
    response: bud.Response, names: list[str], current: Array, upper: Array
) -> pd.DataFrame:
    """Each channel's contribution as its spend varies, the others at current spend."""
    rows = []
    for m, name in enumerate(names):
        top = max(2 * current[m], upper[m] if np.isfinite(upper[m]) else 0.0, 1.0)
        grid = np.linspace(0, top, 41)
        means = []
        for spend in grid:
            plan = current.copy()
            plan[m] = spend
            values = bud.channel_uplift(response, m, plan)
            low, high = bounds(values)
            means.append(values.mean())
            rows.append(
                {
                    "channel": name,
                    "spend": spend,
                    "contribution": values.mean(),
                    "contribution_q05": low,
                    "contribution_q95": high,
                    "is_current": bool(np.isclose(spend, current[m])),
                }
            )
        slopes = np.gradient(np.asarray(means), grid)
        for row, slope in zip(rows[-len(grid) :], slopes, strict=True):
            row["marginal_roi"] = slope
    return pd.DataFrame(rows)


def sweep(
    response: bud.Response,
    config: BudgetConfig,
    names: list[str],
    lower: Array,
    upper: Array,
    total: float,
    seed: int,
    optimum: bud.Optimum,
) -> pd.DataFrame:
    """The best value at totals from 50% to 150% of the scenario (bounds scaled alike)."""
    locked = lower == upper
    rows = []
    start = optimum.budgets
    for factor in SWEEP:
        low = np.where(locked, lower, lower * factor)
        high = np.where(locked, upper, upper * factor)
        target = total * factor
        if low.sum() > target or (config.objective == "kpi" and high.sum() < target):
            continue
        start = bud.project(start * factor / max(factor, 1e-9), low, high, target)
        best = bud.optimise(
            response, config, low, high, target, seed, start=start, candidates=16, refine=1
        )
        start = best.budgets
        values = bud.objective_draws(response, best.budgets, config)
        rows.append(
            {
                "total_factor": factor,
                "total": target,
                **{f"spend_{n}": b for n, b in zip(names, best.budgets, strict=True)},
                **{f"value_{k}": v for k, v in summary(values).items()},
            }
        )
    return pd.DataFrame(rows)


def future_dates(dates: pd.DatetimeIndex, frequency: str, horizon: int) -> pd.DatetimeIndex:
    """The horizon's periods: the ones after the data's last, at its frequency."""
    step = STEP[frequency]
    last = dates.max()
    return pd.DatetimeIndex([last + (i + 1) * step for i in range(horizon)])


def flight_report(
    scenario: Any,
    config: BudgetConfig,
    names: list[str],
    plan: Any,
    optimum: bud.Optimum,
    dates: pd.DatetimeIndex,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """flighting.csv (per period and channel: spend and the part of the KPI it adds in
    that period, carry-over of earlier spend included), flight_plan.csv (the spend, one
    column per channel) and flighting_summary.json (against the fixed-pattern plan)."""
    response = scenario.response
    parts = scenario.parts(plan.plan)  # (M, D, G, P)
    added = (parts - response.history_parts).sum(axis=2)  # (M, D, P)
    rows = []
    for m, name in enumerate(names):
        for h, date in enumerate(dates):
            low, high = bounds(added[m, :, h])
            rows.append(
                {
                    "date": date.strftime("%Y-%m-%d"),
                    "channel": name,
                    "spend": plan.plan[m, h],
                    "period_min": scenario.period_lower[m, h],
                    "period_max": scenario.period_upper[m, h],
                    "fixed_pattern": m in scenario.patterns,
                    "kpi_added": added[m, :, h].mean(),
                    "kpi_added_q05": low,
                    "kpi_added_q95": high,
                }
            )
    wide = pd.DataFrame({"date": [d.strftime("%Y-%m-%d") for d in dates]})
    for m, name in enumerate(names):
        wide[name] = plan.plan[m]
    summary = _finer_plan_summary(
        scenario,
        config,
        plan,
        optimum,
        ("fixed_pattern", "flighted"),
        "kpi_added counts, in each period, what the plan's spend adds then (its own and "
        "earlier periods' carry-over); the tail after the horizon is in the values",
    )
    return pd.DataFrame(rows), wide, summary


def cell_report(
    scenario: Any,
    config: BudgetConfig,
    names: list[str],
    groups: list[str],
    national: list[bool],
    plan: Any,
    optimum: bud.Optimum,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """allocation_by_group.csv (per group and channel: current and optimised spend, the
    cell's bounds and the KPI the plan adds in that group) and by_group_summary.json
    (against the channel-level plan split as today)."""
    response = scenario.response
    parts = scenario.parts(plan.plan)  # (M, D, G, P)
    added = (parts - response.history_parts).sum(axis=3)  # (M, D, G)
    rows = []
    for m, name in enumerate(names):
        # a national channel is paid once and seen by every group: one row, group "all"
        cells = [("all", None)] if national[m] else list(enumerate(groups))
        for cell in cells:
            g = cell[0] if cell[1] is not None else None
            what = added[m].sum(axis=1) if g is None else added[m, :, g]
            low, high = bounds(what)
            rows.append(
                {
                    "group": cell[1] if g is not None else "all",
                    "channel": name,
                    "split_current": 1.0 if g is None else scenario.current[m, g],
                    "optimised_spend": plan.plan[m].sum() if g is None else plan.plan[m, g],
                    "cell_min": np.nan if g is None else scenario.period_lower[m, g],
                    "cell_max": np.nan if g is None else scenario.period_upper[m, g],
                    "fixed_split": m in scenario.patterns,
                    "kpi_added": what.mean(),
                    "kpi_added_q05": low,
                    "kpi_added_q95": high,
                }
            )
    summary = _finer_plan_summary(
        scenario,
        config,
        plan,
        optimum,
        ("split_as_today", "by_group"),
        "split_current: the share of the channel's current spend in the group; national "
        "channels keep their split (paid once, seen by every group)",
    )
    return pd.DataFrame(rows), summary


def _finer_plan_summary(
    scenario: Any,
    config: BudgetConfig,
    plan: Any,
    optimum: bud.Optimum,
    labels: tuple[str, str],
    note: str,
) -> dict[str, Any]:
    """A per-period or per-group plan against the channel-level optimum it refines
    (``labels``: how the summary names the two)."""
    before, after = labels
    flat = bud.objective_draws(scenario.response, optimum.budgets, config)
    finer = scenario.value(plan.plan, config)
    diff = finer - flat
    return {
        "objective": config.objective,
        "total": float(plan.plan.sum()),
        f"value_{before}": summary_of(flat),
        f"value_{after}": summary_of(finer),
        f"gain_vs_{before}": summary_of(diff),
        "probability_better": float((diff > 0).mean()),
        "converged": plan.converged,
        "optimiser_message": plan.message,
        "evaluations": plan.evaluations,
        "seconds": round(plan.seconds, 3),
        "note": note,
    }
