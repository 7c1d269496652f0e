"""60_optimisation: the budget scenario, response curves and the budget sweep."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from mmm_runner import constants, plotting
from mmm_runner.analysis import budget as bud
from mmm_runner.analysis.effects import channel_params, log_scale_parts
from mmm_runner.analysis.gates import Gate
from mmm_runner.config.models import BudgetConfig
from mmm_runner.errors import OptimisationError
from mmm_runner.pipeline.context import RunContext, StageResult
from mmm_runner.pipeline.manifest import write_json

Array = npt.NDArray[np.float64]
SWEEP = np.round(np.arange(0.5, 1.51, 0.1), 2)


def run(ctx: RunContext) -> StageResult:
    config = ctx.config.budget
    if config is None or not config.enabled:
        return StageResult("skipped", "no budget scenario in the config")
    return optimise_budget(ctx, config)


def _last_periods(design: Any, horizon: int) -> list[npt.NDArray[np.int64]]:
    """Row indices of each group's last ``horizon`` periods (fitted or not)."""
    return [np.flatnonzero(design.group == g)[-horizon:] for g in range(design.n_groups)]


def _shape(spend: Array) -> Array:
    """Spend as shares of its total (flat when there was none)."""
    total = float(spend.sum())
    shape: Array = spend / total if total > 0 else np.full(spend.shape, 1.0 / spend.size)
    return shape


def _params(post: Any, names: Any, channel: str, stage: str, groups: int) -> dict[str, Array]:
    """A channel's transform draws: (D,) when shared, (D, G) with one set per group."""
    if post.theta_g.shape[1] == 1:
        return channel_params(post, names, channel, stage)
    per_group = [channel_params(post, names, channel, stage, g) for g in range(groups)]
    return {k: np.stack([p[k] for p in per_group], axis=1) for k in per_group[0]}


def build_response(ctx: RunContext, horizon: int) -> tuple[bud.Response, Array]:
    """The posterior's response to plans, and the current plan (spend of the last periods).

    Panels: group-level media are split across groups like their recent spend; a
    national channel's plan is paid for once and seen in full by every group.
    Effects are the population's, or each group's when budget_effects is sum_groups.
    """
    design, post, spec, names = ctx.need("design"), ctx.need("post"), ctx.spec, ctx.need("names")
    last = _last_periods(design, horizon)
    groups = design.n_groups
    by_group = spec.budget_effects == "sum_groups" and groups > 1
    channels = []
    current = np.zeros(len(spec.media))
    for i, media in enumerate(spec.media):
        spend = np.stack([design.spend[rows, i] for rows in last])  # (G, H)
        if media.scope == "national" and groups > 1:
            current[i] = float(spend[0].sum())
            pattern = np.tile(_shape(spend[0]), (groups, 1))
        else:
            current[i] = float(spend.sum())
            pattern = _shape(spend)
        history = np.stack(
            [
                design.media_scaled[np.flatnonzero(design.group == g), i][-(media.l_max - 1) :]
                if media.l_max > 1
                else np.zeros(0)
                for g in range(groups)
            ]
        )
        effect = post.beta_g[:, :, i] if by_group else post.beta[:, i]
        channels.append(
            bud.Channel(
                media.name,
                media.adstock,
                _params(post, names, media.name, "adstock", groups),
                media.saturation,
                _params(post, names, media.name, "saturation", groups),
                media.l_max,
                effect * design.y_sd,
                float(design.media_scale[i]),
                history.reshape(groups, -1),
                pattern,
            )
        )
    base = noise = None
    tail = max(m.l_max for m in spec.media) - 1
    if design.log_response:
        parts = log_scale_parts(post, design, spec, names, ctx.need("curves"))
        other = sum(v for k, v in parts.items() if k not in spec.media_names)
        assert isinstance(other, np.ndarray)
        rows = np.stack([np.concatenate([r, np.repeat(r[-1:], tail)]) for r in last])
        base = other[:, rows]  # (D, G, H + tail): the last periods' non-media level
        noise = post.sigma * design.y_sd
    return bud.Response(tuple(channels), horizon, design.log_response, base, noise), current


def optimise_budget(ctx: RunContext, config: BudgetConfig) -> StageResult:
    folder = ctx.folder("optimisation")
    names = list(ctx.spec.media_names)
    response, current = build_response(ctx, config.horizon)
    total = config.total if config.total is not None else float(current.sum())
    bounds = bud.channel_bounds(config, dict(zip(names, current, strict=True)))
    lower = np.array([bounds[n][0] for n in names])
    upper = np.array([bounds[n][1] for n in names])
    feasible_low = lower.sum() <= total * (1 + 1e-9)
    feasible_high = config.objective == "profit" or upper.sum() >= total * (1 - 1e-9)
    if not (feasible_low and feasible_high):
        raise OptimisationError(
            f"the budget scenario is infeasible: minimums {lower.sum():,.0f}, maximums "
            f"{upper.sum():,.0f}, total {total:,.0f}",
            hint="Adjust budget.total or the channel bounds (mmm validate checks this).",
        )
    optimum = bud.optimise(response, config, lower, upper, total, ctx.config.seed)
    table, summary = _report(response, config, names, current, optimum, lower, upper, total)
    curves = _response_curves(response, names, current, upper)
    sweep = _sweep(response, config, names, lower, upper, total, ctx.config.seed, optimum)
    table.to_csv(folder / "allocation.csv", index=False)
    curves.to_csv(folder / "response_curves.csv", index=False)
    sweep.to_csv(folder / "budget_sweep.csv", index=False)
    write_json(folder / "budget_summary.json", summary)
    figures = plotting.render_all(
        [
            ("allocation.png", "allocation", (table,)),
            ("response_curves.png", "response_curves", (curves,)),
            ("efficient_frontier.png", "frontier", (sweep, config.objective)),
        ],
        folder,
        ctx.plots,
    )
    _record_gate(ctx, optimum)
    message = (
        f"uplift vs current {summary['uplift_vs_current']['mean']:+,.0f} "
        f"(P(better) {summary['probability_better']:.0%}); {optimum.evaluations} "
        f"evaluations in {optimum.seconds:.1f} s"
    )
    return StageResult(
        message=message,
        artefacts=[
            "allocation.csv",
            "budget_summary.json",
            "response_curves.csv",
            "budget_sweep.csv",
            *figures,
        ],
        summary={
            k: summary[k]
            for k in ("objective", "total", "probability_better", "converged", "evaluations")
        },
    )


def _interval(values: Array) -> dict[str, float]:
    return {
        "mean": float(values.mean()),
        "q05": float(np.quantile(values, 0.05)),
        "q95": float(np.quantile(values, 0.95)),
    }


def _marginal_roi(response: bud.Response, budgets: Array) -> Array:
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


def _report(
    response: bud.Response,
    config: BudgetConfig,
    names: list[str],
    current: Array,
    optimum: bud.Optimum,
    lower: Array,
    upper: Array,
    total: float,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    now_total, now_parts = bud.uplift(response, current)
    new_total, new_parts = bud.uplift(response, optimum.budgets)
    value_now = bud.objective_draws(response, current, config)
    value_new = bud.objective_draws(response, optimum.budgets, config)
    marginal = _marginal_roi(response, optimum.budgets)
    rows = []
    for m, name in enumerate(names):
        now, new = _interval(now_parts[m]), _interval(new_parts[m])
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
            }
        )
    diff = value_new - value_now
    summary = {
        "objective": config.objective,
        "risk": config.risk,
        "horizon": config.horizon,
        "total": total,
        "spent": float(optimum.budgets.sum()),
        "kpi_uplift_current": _interval(now_total),
        "kpi_uplift_optimised": _interval(new_total),
        "uplift_vs_current": _interval(diff),
        "probability_better": float((diff > 0).mean()),
        "converged": optimum.converged,
        "optimiser_message": optimum.message,
        "evaluations": optimum.evaluations,
        "seconds": round(optimum.seconds, 3),
        "draws": response.draws(),
        "note": "uplift: KPI the plan adds over the horizon and its carry-over tail, beyond "
        "what history alone carries in; intervals are 90%",
    }
    return pd.DataFrame(rows), summary


def _response_curves(
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
            means.append(values.mean())
            rows.append(
                {
                    "channel": name,
                    "spend": spend,
                    "contribution": values.mean(),
                    "contribution_q05": np.quantile(values, 0.05),
                    "contribution_q95": np.quantile(values, 0.95),
                    "is_current": bool(np.isclose(spend, current[m])),
                }
            )
        slopes = np.gradient(np.asarray(means), grid)
        for row, slope in zip(rows[-len(grid) :], slopes, strict=True):
            row["marginal_roi"] = slope
    return pd.DataFrame(rows)


def _sweep(
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
                **{f"value_{k}": v for k, v in _interval(values).items()},
            }
        )
    return pd.DataFrame(rows)


def _record_gate(ctx: RunContext, optimum: bud.Optimum) -> None:
    """Adds the optimiser's convergence to gates.csv and the manifest (never silently)."""
    gate = Gate(
        "budget_optimiser",
        float(optimum.evaluations),
        None,
        None,
        "pass" if optimum.converged else "warn",
        ""
        if optimum.converged
        else "The optimiser did not report convergence; the "
        "plan is the best found. Check budget_summary.json and consider wider bounds.",
        optimum.message,
    )
    path = ctx.folder("diagnostics") / constants.GATES
    if path.is_file():
        table = pd.read_csv(path)
        table = pd.concat([table, pd.DataFrame([gate.__dict__])], ignore_index=True)
        table.to_csv(path, index=False)
    counts = ctx.manifest.setdefault("gates", {})
    counts[gate.status] = counts.get(gate.status, 0) + 1
