"""60_optimisation: the budget scenario, response curves and the budget sweep."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mmm_runner import plotting
from mmm_runner.analysis import budget as bud
from mmm_runner.analysis import budget_report, flighting
from mmm_runner.analysis.gates import Gate
from mmm_runner.atomic import write_csv
from mmm_runner.config.models import BudgetConfig
from mmm_runner.errors import OptimisationError
from mmm_runner.pipeline.context import RunContext, StageResult
from mmm_runner.pipeline.manifest import write_json
from mmm_runner.pipeline.stages.diagnostics import record_gates

OPTIMISER_ADVICE = (
    "The optimiser did not report convergence; the plan is the best found. Check "
    "budget_summary.json and consider wider bounds."
)


def run(ctx: RunContext) -> StageResult:
    config = ctx.config.budget
    if config is None or not config.enabled:
        return StageResult("skipped", "no budget scenario in the config")
    return optimise_budget(ctx, config)


def build_response(ctx: RunContext, horizon: int) -> tuple[bud.Response, np.ndarray]:
    """The posterior's response to plans, and the current plan, as the model class defines them."""
    fit = ctx.fit
    return ctx.model_class.budget_response(
        fit.post, fit.design, ctx.spec, fit.names, fit.decomposition, horizon
    )


def optimise_budget(ctx: RunContext, config: BudgetConfig) -> StageResult:
    folder = ctx.folder("optimisation")
    response, current = build_response(ctx, config.horizon)
    names = [c.name for c in response.channels]
    if not names:
        return StageResult("skipped", "no paid channels to plan (every channel is organic)")
    total = config.total if config.total is not None else float(current.sum())
    bounds = bud.channel_bounds(config, dict(zip(names, current, strict=True)))
    lower = np.array([bounds[n][0] for n in names])
    upper = np.array([bounds[n][1] for n in names])
    seed = ctx.config.seed
    if config.mode == "total":
        _feasible(config, lower, upper, total)
        effective, optimum = config, bud.optimise(response, config, lower, upper, total, seed)
    else:
        effective, optimum = _target_plan(response, config, names, lower, upper, seed)
        total = float(optimum.budgets.sum())
    table, summary = budget_report.report(
        response, effective, names, current, optimum, lower, upper, total
    )
    summary.update(budget_report.target_summary(response, config, optimum))
    artefacts = []
    if config.flighting is not None:
        artefacts = _flighting(ctx, folder, response, config, names, lower, upper, total, optimum)
    if config.by_group is not None:
        artefacts = _by_group(ctx, folder, response, config, names, lower, upper, total, optimum)
    curves = budget_report.response_curves(response, names, current, upper)
    fixed = config.model_copy(update={"mode": "total", "target": None})
    sweep = budget_report.sweep(response, fixed, names, lower, upper, total, seed, optimum)
    write_csv(table, folder / "allocation.csv")
    write_csv(curves, folder / "response_curves.csv")
    write_csv(sweep, folder / "budget_sweep.csv")
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
    record_gates(ctx, [_optimiser_gate(optimum)])
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
            *artefacts,
            *figures,
        ],
        summary={
            k: summary[k]
            for k in ("objective", "total", "probability_better", "converged", "evaluations")
        },
    )


def _flighting(
    ctx: RunContext,
    folder: Path,
    response: bud.Response,
    config: BudgetConfig,
    names: list[str],
    lower: np.ndarray,
    upper: np.ndarray,
    total: float,
    optimum: bud.Optimum,
) -> list[str]:
    """The per-period plan (started from the fixed-pattern optimum) and its report."""
    assert config.flighting is not None
    scenario = flighting.flight(response, config.flighting, names, lower, upper)
    plan = flighting.optimise_flight(
        scenario, config, lower, upper, total, optimum.budgets, ctx.config.seed
    )
    dates = budget_report.future_dates(
        ctx.fit.design.dates, ctx.config.data.frequency, response.horizon
    )
    table, wide, summary = budget_report.flight_report(
        scenario, config, names, plan, optimum, dates
    )
    write_csv(table, folder / "flighting.csv")
    write_csv(wide, folder / "flight_plan.csv")
    write_json(folder / "flighting_summary.json", summary)
    figures = plotting.render_all([("flighting.png", "flighting", (table,))], folder, ctx.plots)
    record_gates(ctx, [_optimiser_gate(plan, "flighting_optimiser")])
    return ["flighting.csv", "flight_plan.csv", "flighting_summary.json", *figures]


def _by_group(
    ctx: RunContext,
    folder: Path,
    response: bud.Response,
    config: BudgetConfig,
    names: list[str],
    lower: np.ndarray,
    upper: np.ndarray,
    total: float,
    optimum: bud.Optimum,
) -> list[str]:
    """The group × channel allocation (started from the channel-level optimum, split as
    the current plan splits it) and its report."""
    assert config.by_group is not None
    groups = list(ctx.fit.design.group_names)
    national = {m.name for m in ctx.spec.media if m.scope == "national"}
    scenario = flighting.cells(
        response, config.by_group.cells, names, groups, national, lower, upper
    )
    plan = flighting.optimise_flight(
        scenario, config, lower, upper, total, optimum.budgets, ctx.config.seed
    )
    flags = [n in national for n in names]
    table, summary = budget_report.cell_report(
        scenario, config, names, groups, flags, plan, optimum
    )
    write_csv(table, folder / "allocation_by_group.csv")
    write_json(folder / "by_group_summary.json", summary)
    record_gates(ctx, [_optimiser_gate(plan, "by_group_optimiser")])
    return ["allocation_by_group.csv", "by_group_summary.json"]


def _feasible(config: BudgetConfig, lower: np.ndarray, upper: np.ndarray, total: float) -> None:
    feasible_low = lower.sum() <= total * (1 + 1e-9)
    feasible_high = config.objective == "profit" or upper.sum() >= total * (1 - 1e-9)
    if not (feasible_low and feasible_high):
        raise OptimisationError(
            f"the budget scenario is infeasible: minimums {lower.sum():,.0f}, maximums "
            f"{upper.sum():,.0f}, total {total:,.0f}",
            hint="Adjust budget.total or the channel bounds (mmm validate checks this).",
        )


def _target_plan(
    response: bud.Response,
    config: BudgetConfig,
    names: list[str],
    lower: np.ndarray,
    upper: np.ndarray,
    seed: int,
) -> tuple[BudgetConfig, bud.Optimum]:
    """Target modes: the plan whose total is the result (bounds must be finite)."""
    unbounded = [n for n, u in zip(names, upper, strict=True) if not np.isfinite(u)]
    if unbounded:
        raise OptimisationError(
            f"budget.mode {config.mode} needs an upper bound for every channel; "
            f"{', '.join(unbounded)} has none",
            hint="Give those channels a `max` (or a relative `change`) under budget.channels.",
        )
    if config.mode == "target_mroi":
        effective = bud.marginal_config(config, response)
        return effective, bud.optimise(response, effective, lower, upper, float(upper.sum()), seed)
    return config, bud.target_roi_plan(response, config, lower, upper, seed)


def _optimiser_gate(optimum: Any, name: str = "budget_optimiser") -> Gate:
    """The optimiser's convergence as a gate row (never silently)."""
    converged = optimum.converged
    return Gate(
        name,
        float(optimum.evaluations),
        None,
        None,
        "pass" if converged else "warn",
        "" if converged else OPTIMISER_ADVICE,
        optimum.message,
    )
