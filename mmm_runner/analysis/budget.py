"""Budget scenarios: channel bounds now, the optimiser on the posterior later."""

from __future__ import annotations

import math

from mmm_runner.config.models import BudgetConfig


def channel_bounds(
    budget: BudgetConfig, current: dict[str, float]
) -> dict[str, tuple[float, float]]:
    """Lowest and highest spend of each channel over the horizon.

    Locked channels stay at current spend; absolute min/max win over the
    relative ``change``; channels not named may move by ``default_change``.
    """
    bounds: dict[str, tuple[float, float]] = {}
    for name, spend in current.items():
        rule = budget.channels.get(name)
        if rule is not None and rule.locked:
            bounds[name] = (spend, spend)
        elif rule is not None and (rule.min is not None or rule.max is not None):
            bounds[name] = (rule.min or 0.0, rule.max if rule.max is not None else math.inf)
        else:
            change = (
                rule.change
                if rule is not None and rule.change is not None
                else (budget.default_change)
            )
            bounds[name] = (max(0.0, spend * (1 - change)), spend * (1 + change))
    return bounds
