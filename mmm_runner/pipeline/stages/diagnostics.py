"""40_diagnostics: the gates, and what the policy makes of them.

Every gate of a run goes through ``record_gates``: the posterior's checks
here, the budget optimiser's in 60_optimisation.  It keeps one list, writes
``gates.csv`` and this folder's status summary from it (so the two always
agree), and applies the run's policy to the new rows.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from mmm_runner import constants
from mmm_runner.analysis import gates, loo, waic
from mmm_runner.analysis.gates import Gate
from mmm_runner.atomic import write_csv
from mmm_runner.errors import GateError
from mmm_runner.pipeline.context import RunContext, Score, StageResult
from mmm_runner.pipeline.manifest import write_json

STATUSES = ("pass", "warn", "fail", "skip")


def score(ctx: RunContext) -> Score:
    """PSIS-LOO and WAIC of the fit, when the config asks for LOO and the fit has draws."""
    if not ctx.config.loo.enabled:
        return Score(None, "loo disabled in the config")
    if ctx.fit.method == "map":
        return Score(None, "LOO and WAIC need posterior draws; MAP gives a point estimate")
    idata = ctx.fit.posterior.idata
    return Score(loo.compute(idata), waic=waic.compute(idata))


def run(ctx: RunContext) -> StageResult:
    ctx.score = score(ctx)
    fit = ctx.fit
    result = ctx.score.loo
    inputs = gates.GateInputs(
        idata=fit.posterior.idata if fit.method == "mcmc" else None,
        post=fit.post,
        design=fit.design,
        spec=ctx.spec,
        names=fit.names,
        method=fit.method,
        expected=fit.decomposition.expected,
        details=fit.draws.details,
        pareto_k=result.pareto_k if result is not None else None,
    )
    counts = record_gates(ctx, gates.run_gates(inputs, ctx.config.diagnostics.thresholds))
    return StageResult(
        message=_message(counts),
        artefacts=[constants.GATES],
        summary=_summary(ctx, counts),
    )


def record_gates(ctx: RunContext, rows: list[Gate]) -> Counter[str]:
    """Adds gates to the run's list, rewrites gates.csv and the counts, applies the policy.

    Raises GateError when the policy stops the run on one of ``rows``.
    """
    ctx.gates.extend(rows)
    folder = ctx.folder("diagnostics")
    write_csv(gates.table(ctx.gates), folder / constants.GATES)
    counts: Counter[str] = Counter(g.status for g in ctx.gates)
    ctx.manifest["gates"] = {status: counts.get(status, 0) for status in STATUSES}
    _refresh_status(ctx, counts)
    policy = ctx.config.diagnostics.policy
    blocking = gates.verdict(rows, policy)
    if blocking:
        names = ", ".join(f"{g.check} ({g.status}: {g.detail or g.value})" for g in blocking)
        raise GateError(
            f"diagnostics policy '{policy}' stops the run: {names}",
            hint=f"See {folder / constants.GATES} for values and advice; use policy explore "
            "to record gates without stopping.",
        )
    return counts


def _message(counts: Counter[str]) -> str:
    return ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s])


def _summary(ctx: RunContext, counts: Counter[str]) -> dict[str, Any]:
    return {"policy": ctx.config.diagnostics.policy, **{s: counts.get(s, 0) for s in STATUSES}}


def _refresh_status(ctx: RunContext, counts: Counter[str]) -> None:
    """Brings a finished 40_diagnostics/status.json up to date with gates added later."""
    path = ctx.folder("diagnostics") / constants.STATUS
    if not path.is_file():
        return
    status = json.loads(path.read_text())
    if status.get("status") != "completed":
        return  # the stage itself is writing it; its result carries the counts
    status.update(message=_message(counts), summary=_summary(ctx, counts))
    write_json(path, status)
