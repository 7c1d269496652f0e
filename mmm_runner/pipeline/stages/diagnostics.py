"""40_diagnostics: the gates, and what the policy makes of them."""

from __future__ import annotations

from collections import Counter

from mmm_runner import constants
from mmm_runner.analysis import gates, loo
from mmm_runner.errors import GateError
from mmm_runner.pipeline.context import RunContext, StageResult


def loo_result(ctx: RunContext) -> loo.Loo | None:
    """PSIS-LOO, computed once per run (the Pareto-k gate and model selection share it)."""
    if "loo" not in ctx.results:
        usable = ctx.config.loo.enabled and ctx.config.fit.method != "map"
        ctx.results["loo"] = loo.compute(ctx.need("idata").idata) if usable else None
    result: loo.Loo | None = ctx.results["loo"]
    return result


def run(ctx: RunContext) -> StageResult:
    folder = ctx.folder("diagnostics")
    result = loo_result(ctx)
    draws = ctx.need("draws")
    inputs = gates.GateInputs(
        idata=ctx.need("idata").idata if ctx.need("draws").method == "mcmc" else None,
        post=ctx.need("post"),
        design=ctx.need("design"),
        spec=ctx.spec,
        names=ctx.need("names"),
        method=draws.method,
        expected=ctx.need("expected"),
        details=draws.details,
        pareto_k=result.pareto_k if result is not None else None,
    )
    rows = gates.run_gates(inputs, ctx.config.diagnostics.thresholds)
    gates.table(rows).to_csv(folder / constants.GATES, index=False)
    counts = Counter(g.status for g in rows)
    ctx.manifest["gates"] = {
        status: counts.get(status, 0) for status in ("pass", "warn", "fail", "skip")
    }
    ctx.results["gates"] = rows
    policy = ctx.config.diagnostics.policy
    blocking = gates.verdict(rows, policy)
    message = ", ".join(f"{counts[s]} {s}" for s in ("pass", "warn", "fail", "skip") if counts[s])
    if blocking:
        names = ", ".join(f"{g.check} ({g.status}: {g.detail or g.value})" for g in blocking)
        raise GateError(
            f"diagnostics policy '{policy}' stops the run: {names}",
            hint=f"See {folder / constants.GATES} for values and advice; use policy explore "
            "to record gates without stopping.",
        )
    return StageResult(
        message=message,
        artefacts=[constants.GATES],
        summary={"policy": policy, **ctx.manifest["gates"]},
    )
