"""The budget optimiser against closed-form optima, bounds, locks and risk."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mmm_runner.analysis import budget as bud
from mmm_runner.config.models import BudgetConfig, CellBounds


def _channel(
    name: str, effect: np.ndarray, rate: float, scale: float = 1.0, horizon: int = 4
) -> bud.Channel:
    """No carry-over, exponential saturation 1 - exp(-rate x): a concave, closed-form response."""
    draws = len(effect)
    return bud.Channel(
        name=name,
        adstock="none",
        adstock_params={},
        saturation="logistic",
        saturation_params={"rate": np.full(draws, rate)},
        l_max=1,
        effect=effect,
        scale=scale,
        history=np.zeros((1, 0)),
        pattern=np.full((1, horizon), 1.0 / horizon),
    )


def _response(channels: list[bud.Channel], horizon: int = 4) -> bud.Response:
    return bud.Response(tuple(channels), horizon, False, None, None)


def _closed_form(amplitude: np.ndarray, k: np.ndarray, total: float) -> np.ndarray:
    """argmax Σ A_m (1 - exp(-k_m b_m)) s.t. Σ b_m = total: equal marginal returns."""
    log_nu = (np.sum(np.log(amplitude * k) / k) - total) / np.sum(1 / k)
    return (np.log(amplitude * k) - log_nu) / k


def test_optimum_matches_equal_marginal_returns() -> None:
    horizon, total = 4, 300.0
    effects = np.array([50.0, 30.0, 20.0])
    rates = np.array([0.5, 1.0, 2.0])
    scales = np.array([40.0, 20.0, 30.0])
    channels = [
        _channel(f"c{i}", np.full(1, effects[i]), rates[i], scales[i], horizon) for i in range(3)
    ]
    response = _response(channels, horizon)
    # uplift_m(b) = H × effect × (1 - exp(-rate × b / (H × scale)))
    amplitude = horizon * effects
    k = rates / (horizon * scales)
    truth = _closed_form(amplitude, k, total)
    assert np.all(truth > 0)
    config = BudgetConfig(horizon=horizon)
    found = bud.optimise(response, config, np.zeros(3), np.full(3, total), total, seed=1)
    np.testing.assert_allclose(found.budgets, truth, rtol=0.005)
    assert found.budgets.sum() == pytest.approx(total, rel=1e-9)
    expected = np.sum(amplitude * (1 - np.exp(-k * truth)))
    assert found.value == pytest.approx(expected, rel=1e-6)


def test_bounds_totals_and_locks_are_met_exactly() -> None:
    channels = [_channel(f"c{i}", np.full(1, 10.0 * (i + 1)), 1.0, 10.0) for i in range(4)]
    response = _response(channels)
    config = BudgetConfig(channels={"c2": {"locked": True}})
    lower = np.array([5.0, 5.0, 12.0, 0.0])
    upper = np.array([30.0, 40.0, 12.0, 25.0])
    found = bud.optimise(response, config, lower, upper, 80.0, seed=3)
    assert found.budgets.sum() == pytest.approx(80.0, abs=1e-9)
    assert np.all(found.budgets >= lower - 1e-12)
    assert np.all(found.budgets <= upper + 1e-12)
    assert found.budgets[2] == 12.0  # locked channel unchanged
    # The most effective channel is pushed to its upper bound.
    assert found.budgets[3] == pytest.approx(25.0, abs=1e-6)


def test_same_seed_same_plan() -> None:
    channels = [_channel(f"c{i}", np.full(1, 10.0 + i), 1.0, 5.0) for i in range(3)]
    config = BudgetConfig()
    a = bud.optimise(_response(channels), config, np.zeros(3), np.full(3, 50.0), 60.0, seed=9)
    b = bud.optimise(_response(channels), config, np.zeros(3), np.full(3, 50.0), 60.0, seed=9)
    np.testing.assert_array_equal(a.budgets, b.budgets)


def test_risk_aversion_moves_spend_to_the_narrower_channel() -> None:
    rng = np.random.default_rng(0)
    draws = 4000
    narrow = 20.0 + rng.normal(0, 1.0, draws)
    wide = 20.0 + rng.normal(0, 8.0, draws)
    wide += 20.0 - wide.mean()  # equal means
    narrow += 20.0 - narrow.mean()
    response = _response(
        [_channel("narrow", narrow, 1.0, 10.0), _channel("wide", wide, 1.0, 10.0)]
    )
    bounds = (np.zeros(2), np.full(2, 100.0))
    neutral = bud.optimise(response, BudgetConfig(risk="mean"), *bounds, 100.0, seed=1)
    averse = bud.optimise(
        response, BudgetConfig(risk="quantile", risk_quantile=0.05), *bounds, 100.0, seed=1
    )
    sd = bud.optimise(
        response, BudgetConfig(risk="mean_minus_sd", risk_lambda=2.0), *bounds, 100.0, seed=1
    )
    assert neutral.budgets[0] == pytest.approx(50.0, abs=2.0)
    assert averse.budgets[0] > neutral.budgets[0] + 10
    assert sd.budgets[0] > neutral.budgets[0] + 10


def test_profit_objective_may_leave_money_unspent() -> None:
    channels = [
        _channel("a", np.full(1, 10.0), 1.0, 10.0),
        _channel("b", np.full(1, 5.0), 1.0, 10.0),
    ]
    config = BudgetConfig(objective="profit", margin=1.0)
    found = bud.optimise(
        _response(channels), config, np.zeros(2), np.full(2, 1000.0), 1000.0, seed=2
    )
    # Marginal profit of a channel at spend b: margin × H × effect × rate / (H × scale)
    # × exp(-rate b / (H scale)) - 1 = 0  ->  b = H scale ln(effect rate / scale).
    expected = 4 * 10.0 * math.log(10.0 / 10.0), 4 * 10.0 * max(math.log(5.0 / 10.0), 0)
    assert found.budgets.sum() < 1000.0
    np.testing.assert_allclose(found.budgets, expected, atol=0.5)


def test_projection_lands_on_the_feasible_set() -> None:
    lower, upper = np.array([0.0, 1.0, 2.0]), np.array([5.0, 3.0, 10.0])
    point = bud.project(np.array([10.0, -4.0, 3.0]), lower, upper, 9.0)
    assert point.sum() == pytest.approx(9.0)
    assert np.all(point >= lower)
    assert np.all(point <= upper)


def test_carry_over_from_history_is_not_credited_to_the_plan() -> None:
    draws = 2
    channel = bud.Channel(
        "tv",
        "geometric",
        {"decay": np.full(draws, 0.5)},
        "none",
        {},
        4,
        np.ones(draws),
        1.0,
        history=np.array([[8.0, 4.0, 2.0]]),
        pattern=np.array([[0.5, 0.5]]),
    )
    response = bud.Response((channel,), 2, False, None, None)
    zero, _ = bud.uplift(response, np.zeros(1))
    np.testing.assert_allclose(zero, 0.0)
    gain, _ = bud.uplift(response, np.array([10.0]))
    # Linear response: all of a plan's spend is eventually credited (weights sum to one).
    np.testing.assert_allclose(gain, 10.0)


@pytest.mark.parametrize("per_group", [False, True])
def test_precomputed_carry_over_equals_transforming_the_whole_plan(per_group: bool) -> None:
    """history + budget × unit adstock (linearity) gives the transform of the full series."""
    from mmm_runner.model import transforms

    rng = np.random.default_rng(4)
    draws, groups, horizon, l_max, n = 30, 3, 5, 4, 3
    shape = (draws, groups) if per_group else (draws,)
    adstock = {"decay": rng.uniform(0.2, 0.8, shape)}
    saturation = {"half_saturation": rng.uniform(0.5, 2, shape), "shape": rng.uniform(1, 3, shape)}
    pattern = rng.dirichlet(np.ones(horizon), groups)
    channel = bud.Channel(
        "tv", "geometric", adstock, "hill", saturation, l_max,
        rng.uniform(1, 2, shape), 7.0, rng.uniform(0, 2, (groups, n)), pattern,
    )  # fmt: skip
    response = bud.Response((channel,), horizon, False, None, None)
    budget = 42.0
    parts = bud.channel_parts(response, np.array([budget]))[0]  # (D, G, horizon + tail)
    tail = l_max - 1
    for g in range(groups):
        plan = np.concatenate([channel.history[g], budget / 7.0 * pattern[g], np.zeros(tail)])
        ads = {k: v[:, g] if per_group else v for k, v in adstock.items()}
        sat = {k: v[:, g] if per_group else v for k, v in saturation.items()}
        effect = channel.effect[:, g] if per_group else channel.effect
        direct = transforms.transform(plan, "geometric", ads, "hill", sat, l_max)[:, n:]
        np.testing.assert_allclose(parts[:, g], effect[:, None] * direct, rtol=1e-12)


# --- target modes: the total is the result -----------------------------------------------


def _two_channels(horizon: int = 4) -> tuple[bud.Response, np.ndarray, np.ndarray, np.ndarray]:
    effects = np.array([50.0, 30.0])
    rates = np.array([0.5, 1.0])
    scales = np.array([40.0, 20.0])
    channels = [
        _channel(f"c{i}", np.full(1, effects[i]), rates[i], scales[i], horizon) for i in range(2)
    ]
    # uplift_m(b) = A_m (1 - exp(-k_m b)), A = H × effect, k = rate / (H × scale)
    return _response(channels, horizon), horizon * effects, rates / (horizon * scales), scales


def test_target_mroi_stops_where_each_marginal_roi_meets_the_target() -> None:
    response, amplitude, k, _ = _two_channels()
    value = 2.0  # money per KPI unit: the target is in money per unit of spend
    response = bud.Response(response.channels, response.horizon, False, None, None, value)
    target = 0.3
    config = BudgetConfig(mode="target_mroi", target=target)
    upper = np.full(2, 1000.0)
    found = bud.optimise(
        response, bud.marginal_config(config, response), np.zeros(2), upper, 2000.0, seed=4
    )
    # value × A k exp(-k b) = target  ->  b = ln(value A k / target) / k
    analytic = np.log(value * amplitude * k / target) / k
    assert np.all((analytic > 0) & (analytic < 1000))
    np.testing.assert_allclose(found.budgets, analytic, rtol=2e-3)
    marginal = value * amplitude * k * np.exp(-k * found.budgets)
    np.testing.assert_allclose(marginal, target, rtol=2e-3)
    # a ceiling below the analytic spend binds: that channel stops at its bound
    capped = np.array([0.5 * analytic[0], 1000.0])
    bound = bud.optimise(
        response, bud.marginal_config(config, response), np.zeros(2), capped, 2000.0, seed=4
    )
    assert bound.budgets[0] == pytest.approx(capped[0], rel=1e-6)
    assert bound.budgets[1] == pytest.approx(analytic[1], rel=2e-3)


def test_target_roi_finds_the_largest_total_that_returns_the_target() -> None:
    response, amplitude, k, _ = _two_channels()
    target = 0.5
    config = BudgetConfig(mode="target_roi", target=target)
    found = bud.target_roi_plan(response, config, np.zeros(2), np.full(2, 2000.0), seed=5)
    total = found.budgets.sum()
    gain = np.sum(amplitude * (1 - np.exp(-k * found.budgets)))
    assert gain / total == pytest.approx(target, rel=1e-3)
    # the allocation at that total is the fixed-total optimum (equal marginal returns)
    np.testing.assert_allclose(found.budgets, _closed_form(amplitude, k, total), rtol=5e-3)
    # spending 2% more would return less than the target
    more = _closed_form(amplitude, k, 1.02 * total)
    assert np.sum(amplitude * (1 - np.exp(-k * more))) / (1.02 * total) < target
    # an unreachable target ends at the smallest total, a loose one at the bounds
    high = bud.target_roi_plan(
        response, BudgetConfig(mode="target_roi", target=1e6), np.zeros(2), np.full(2, 50.0), 5
    )
    assert "misses the target" in high.message
    low = bud.target_roi_plan(
        response, BudgetConfig(mode="target_roi", target=1e-6), np.zeros(2), np.full(2, 50.0), 5
    )
    assert low.budgets.sum() == pytest.approx(100.0)
    assert "bounds bind" in low.message


def test_target_modes_are_configured_consistently() -> None:
    with pytest.raises(ValueError, match="needs `target`"):
        BudgetConfig(mode="target_roi")
    with pytest.raises(ValueError, match="finds the total"):
        BudgetConfig(mode="target_mroi", target=1.0, total=100.0)
    with pytest.raises(ValueError, match="applies to mode"):
        BudgetConfig(target=1.0)


# --- flighting: spend per channel and period ---------------------------------------------


def _water_filling(
    amplitude: np.ndarray, k: np.ndarray, caps: np.ndarray, total: float
) -> np.ndarray:
    """argmax Σ_ct A_c (1 - exp(-k_c b_ct)) s.t. Σ b = total, 0 ≤ b_ct ≤ cap_ct: equal
    marginal returns A k exp(-k b) = nu where uncapped, found by bisection on log nu."""

    def plan(log_nu: float) -> np.ndarray:
        free = (np.log(amplitude * k)[:, None] - log_nu) / k[:, None]
        return np.clip(free, 0.0, caps)

    low, high = -50.0, 50.0
    for _ in range(200):
        middle = 0.5 * (low + high)
        if plan(middle).sum() > total:
            low = middle
        else:
            high = middle
    return plan(0.5 * (low + high))


def test_flighting_fills_periods_to_equal_marginal_returns_under_their_caps() -> None:
    from mmm_runner.analysis import flighting
    from mmm_runner.config.models import FlightingConfig

    horizon = 4
    effects, rates, scales = np.array([50.0, 30.0]), np.array([0.5, 1.0]), np.array([40.0, 20.0])
    channels = [
        _channel(f"c{i}", np.full(1, effects[i]), rates[i], scales[i], horizon) for i in range(2)
    ]
    response = _response(channels, horizon)
    caps = np.full((2, horizon), 400.0)
    caps[0] = 20.0  # c0 may spend little in any one period
    caps[1] = 60.0
    rules = {"c0": {"period_max": 20.0}, "c1": {"period_max": 60.0}}
    lower, upper = np.zeros(2), np.full(2, 1000.0)
    scenario = flighting.flight(
        response, FlightingConfig(channels=rules), ["c0", "c1"], lower, upper
    )
    total = 250.0
    config = BudgetConfig(horizon=horizon, flighting=True)
    start = bud.optimise(response, config, lower, upper, total, seed=1).budgets
    found = flighting.optimise_flight(scenario, config, lower, upper, total, start, seed=1)
    # per period: part = effect (1 - exp(-rate b / scale)): A = effect, k = rate / scale
    truth = _water_filling(effects, rates / scales, caps, total)
    np.testing.assert_allclose(found.plan, truth, atol=0.5)
    assert found.plan.sum() == pytest.approx(total, rel=1e-6)
    k = (rates / scales)[:, None]
    expected = np.sum(effects[:, None] * (1 - np.exp(-k * truth)))
    assert found.value == pytest.approx(expected, rel=1e-4)


def test_a_fixed_pattern_keeps_its_timing_and_carry_over_is_credited() -> None:
    from mmm_runner.analysis import flighting
    from mmm_runner.config.models import FlightingConfig

    horizon = 3
    channel = bud.Channel(
        name="tv",
        adstock="geometric",
        adstock_params={"decay": np.array([0.6])},
        saturation="logistic",
        saturation_params={"rate": np.array([1.0])},
        l_max=3,
        effect=np.array([10.0]),
        scale=10.0,
        history=np.zeros((1, 2)),
        pattern=np.full((1, horizon), 1.0 / horizon),
    )
    other = _channel("search", np.array([5.0]), 1.0, 10.0, horizon)
    response = _response([channel, other], horizon)
    rules = {"tv": {"pattern": [3.0, 0.0, 1.0]}}
    lower, upper = np.zeros(2), np.full(2, 100.0)
    scenario = flighting.flight(
        response, FlightingConfig(channels=rules), ["tv", "search"], lower, upper
    )
    config = BudgetConfig(horizon=horizon, flighting={"channels": rules})
    found = flighting.optimise_flight(
        scenario, config, lower, upper, 40.0, np.array([20.0, 20.0]), seed=2
    )
    tv = found.plan[0]
    np.testing.assert_allclose(tv / tv.sum(), [0.75, 0.0, 0.25], atol=1e-9)
    # one unit in the last period: its carry-over reaches the two tail periods
    impulse = scenario.impulses[0][horizon - 1, 0, 0]
    weights = 0.6 ** np.arange(3)
    np.testing.assert_allclose(impulse[horizon - 1 :], weights / weights.sum() / 10.0, rtol=1e-9)


def test_cells_of_a_panel_meet_equal_marginal_returns_within_their_bounds() -> None:
    from mmm_runner.analysis import flighting

    horizon = 4
    # two channels over two groups; each cell's response A (1 - exp(-k b)), k = rate / scale,
    # with A the channel's effect per period times the horizon (spend spread evenly)
    effects = np.array([[50.0, 20.0], [30.0, 40.0]])  # channel x group
    rates, scales = np.array([0.5, 1.0]), np.array([40.0, 20.0])
    channels = [
        bud.Channel(
            name=f"c{m}",
            adstock="none",
            adstock_params={},
            saturation="logistic",
            saturation_params={"rate": np.full(1, rates[m])},
            l_max=1,
            effect=effects[m][None, :],
            scale=scales[m],
            history=np.zeros((2, 0)),
            pattern=np.full((2, horizon), 1.0 / (2 * horizon)),
        )
        for m in range(2)
    ]
    response = _response(channels, horizon)
    rules = {"east": {"c0": CellBounds(max=30.0)}}
    lower, upper = np.zeros(2), np.full(2, 1000.0)
    scenario = flighting.cells(
        response, rules, ["c0", "c1"], ["east", "west"], set(), lower, upper
    )
    total = 200.0
    config = BudgetConfig(horizon=horizon)
    start = bud.optimise(response, config, lower, upper, total, seed=1).budgets
    found = flighting.optimise_flight(scenario, config, lower, upper, total, start, seed=1)
    amplitude = (horizon * effects).ravel()
    k = np.repeat(rates / (horizon * scales), 2)
    caps = np.array([30.0, 1000.0, 1000.0, 1000.0])
    truth = _water_filling(amplitude, k, caps[:, None], total)[:, 0].reshape(2, 2)
    np.testing.assert_allclose(found.plan, truth, atol=0.5)
    assert found.plan[0, 0] <= 30.0 + 1e-9  # the cell's bound holds
    assert found.plan.sum() == pytest.approx(total, rel=1e-6)


def test_flighting_searches_a_subset_of_many_draws_with_their_own_carry_over() -> None:
    """More draws than the search uses, each with its own adstock: the search's impulses
    follow its subset of draws."""
    from mmm_runner.analysis import flighting
    from mmm_runner.config.models import FlightingConfig

    draws, horizon = flighting.SEARCH_DRAWS + 200, 4
    rng = np.random.default_rng(3)
    channel = bud.Channel(
        name="tv",
        adstock="geometric",
        adstock_params={"decay": rng.uniform(0.3, 0.7, draws)},
        saturation="logistic",
        saturation_params={"rate": np.full(draws, 1.0)},
        l_max=3,
        effect=rng.uniform(8.0, 12.0, draws),
        scale=10.0,
        history=np.zeros((1, 2)),
        pattern=np.full((1, horizon), 1.0 / horizon),
    )
    other = _channel("search", np.full(draws, 5.0), 1.0, 10.0, horizon)
    response = _response([channel, other], horizon)
    lower, upper = np.zeros(2), np.full(2, 100.0)
    scenario = flighting.flight(response, FlightingConfig(), ["tv", "search"], lower, upper)
    config = BudgetConfig(horizon=horizon, flighting=True)
    start = bud.optimise(response, config, lower, upper, 60.0, seed=1).budgets
    found = flighting.optimise_flight(scenario, config, lower, upper, 60.0, start, seed=1)
    assert found.plan.sum() == pytest.approx(60.0, rel=1e-6)
    flat = bud.risk_value(bud.objective_draws(response, start, config), config)
    assert bud.risk_value(scenario.value(found.plan, config), config) >= flat - 1e-6
