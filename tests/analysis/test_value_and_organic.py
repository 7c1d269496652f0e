"""KPI value and organic channels: ROI in money, budgets of paid channels, config rules.

Designs, posteriors and decompositions are built by hand (no compiler, no sampling);
expected numbers are computed here from the same synthetic arrays.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mmm_runner.analysis import budget as bud
from mmm_runner.analysis.budget_response import build_response
from mmm_runner.analysis.decomposition import roi_table
from mmm_runner.analysis.effects import Decomposition
from mmm_runner.analysis.posterior import Posterior
from mmm_runner.config.models import BudgetConfig, RunConfig
from mmm_runner.config.notation import Distribution
from mmm_runner.config.resolve import Coefficient, MediaTerm, ModelSpec, resolve
from mmm_runner.data.design import Column, Design, build_design
from mmm_runner.model.stan_data import Layout
from mmm_runner.validation import validate

NORMAL = Distribution("normal", (0.0, 1.0))
# tv and radio are paid, news is organic (its own column holds sends, not spend).
MEDIA = (
    MediaTerm("tv", "tv_spend", "geometric", 3, "hill"),
    MediaTerm("news", "news", "geometric", 4, "michaelis_menten", organic=True),
    MediaTerm("radio", "radio", "none", 1, "logistic"),
)
NAMES = tuple(m.name for m in MEDIA)
BETA = (*NAMES, "price")
THETA = (
    "tv.adstock.decay",
    "tv.saturation.half_saturation",
    "tv.saturation.shape",
    "news.adstock.decay",
    "news.saturation.half_saturation",
    "radio.saturation.rate",
)
LAYOUT = Layout(beta=BETA, beta_terms=BETA, theta=THETA, theta_start=(1, 4, 6), window=4)


def _spec(log: bool = False, kpi_value: float | str | None = None) -> ModelSpec:
    coefs = {m.name: Coefficient(m.name, "media", NORMAL) for m in MEDIA}
    coefs["price"] = Coefficient("price", "control", NORMAL)
    return ModelSpec(
        model_class="blm",
        kpi="sales",
        log_response=log,
        standardise=True,
        media=MEDIA,
        controls=("price",),
        trend=None,
        seasonality=(),
        coefficients=coefs,
        transform_params=(),
        intercept=Coefficient("intercept", "intercept", Distribution("normal", (0.0, 5.0))),
        sigma_prior=Distribution("half_normal", (1.0,)),
        kpi_value=kpi_value,
    )


def _design(
    n: int = 10,
    log: bool = False,
    value: np.ndarray | None = None,
    fitted: np.ndarray | None = None,
    seed: int = 0,
) -> Design:
    rng = np.random.default_rng(seed)
    media = rng.uniform(1.0, 10.0, size=(n, 3))
    spend = media * np.array([2.0, 0.0, 1.0])  # tv's spend differs from exposure; news none
    kpi = rng.uniform(50.0, 100.0, n)
    return Design(
        dates=pd.DatetimeIndex(pd.date_range("2024-01-01", periods=n, freq="W-MON")),
        group=np.zeros(n, dtype=np.int64),
        group_names=("all",),
        fitted=np.ones(n, dtype=bool) if fitted is None else fitted,
        kpi=kpi,
        y=kpi,
        y_mean=4.0,
        y_sd=2.5,
        media_names=NAMES,
        media=media,
        spend=spend,
        media_scale=np.array([5.0, 4.0, 6.0]),
        columns=(Column("price", "price"),),
        x_raw=rng.normal(size=(n, 1)),
        x_mean=np.zeros(1),
        x_sd=np.ones(1),
        log_response=log,
        value=value,
    )


def _contributions(draws: int, n: int, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.uniform(0.5, 3.0, size=(draws, n)) for name in NAMES}


def _interval(draws: np.ndarray) -> tuple[float, float, float]:
    return float(draws.mean()), float(np.quantile(draws, 0.05)), float(np.quantile(draws, 0.95))


def _row(table: pd.DataFrame, channel: str) -> pd.Series:
    rows = table[(table["group"] == "all") & (table["channel"] == channel)]
    assert len(rows) == 1
    return rows.iloc[0]


# --------------------------------------------------------------------------- roi.csv


def test_roi_table_organic_channel_has_no_spend_and_no_roi() -> None:
    n, draws = 8, 200
    fitted = np.array([True] * 6 + [False] * 2)
    design = _design(n, fitted=fitted)
    contrib = _contributions(draws, n)
    table = roi_table(contrib, design, _spec())
    assert "contribution_value" not in table.columns
    news = _row(table, "news")
    assert not news["paid"]
    assert news["spend"] == 0.0
    total = contrib["news"][:, fitted].sum(axis=1)
    assert news["contribution"] == pytest.approx(total.mean())
    for column in ("roi", "roi_q05", "roi_q95", "cost_per_kpi"):
        assert np.isnan(news[column])
    for name, i in (("tv", 0), ("radio", 2)):
        row = _row(table, name)
        assert row["paid"]
        spend = design.spend[fitted, i].sum()
        assert row["spend"] == pytest.approx(spend)
        total = contrib[name][:, fitted].sum(axis=1)
        mean, low, high = _interval(total / spend)
        assert (row["roi"], row["roi_q05"], row["roi_q95"]) == pytest.approx((mean, low, high))
        assert row["cost_per_kpi"] == pytest.approx(np.median(spend / total))


def test_roi_table_in_money_with_a_kpi_value_column() -> None:
    n, draws = 8, 200
    fitted = np.array([True] * 7 + [False])
    value = np.linspace(20.0, 48.0, n)  # money per KPI unit, varying by period
    design = _design(n, value=value, fitted=fitted)
    contrib = _contributions(draws, n)
    table = roi_table(contrib, design, _spec(kpi_value="value"))
    for name, i in (("tv", 0), ("news", 1), ("radio", 2)):
        row = _row(table, name)
        money = np.zeros(draws)
        for t in range(n):
            if fitted[t]:
                money += contrib[name][:, t] * value[t]
        mean, low, high = _interval(money)
        found = (row["contribution_value"], row["contribution_value_q05"])
        assert found == pytest.approx((mean, low))
        assert row["contribution_value_q95"] == pytest.approx(high)
        units = contrib[name][:, fitted].sum(axis=1)
        assert row["contribution"] == pytest.approx(units.mean())  # still in KPI units
        if name == "news":
            assert np.isnan(row["roi"])
            continue
        spend = design.spend[fitted, i].sum()
        mean, low, high = _interval(money / spend)
        assert (row["roi"], row["roi_q05"], row["roi_q95"]) == pytest.approx((mean, low, high))
        # Cost per KPI unit stays in KPI units (spend per conversion, not per money).
        assert row["cost_per_kpi"] == pytest.approx(np.median(spend / units))


def test_roi_table_with_a_constant_kpi_value() -> None:
    n, draws = 6, 50
    design = _design(n, value=np.full(n, 45.0))
    contrib = _contributions(draws, n)
    table = roi_table(contrib, design, _spec(kpi_value=45.0))
    tv = _row(table, "tv")
    total = contrib["tv"].sum(axis=1)
    assert tv["contribution_value"] == pytest.approx(45.0 * total.mean())
    assert tv["roi"] == pytest.approx((45.0 * total / design.spend[:, 0].sum()).mean())


# --------------------------------------------------------------------------- build design


def test_design_of_an_organic_channel_and_a_kpi_value_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    n = 30
    rng = np.random.default_rng(4)
    frame = pd.DataFrame(
        {
            "date": pd.date_range("2022-01-03", periods=n, freq="7D").strftime("%Y-%m-%d"),
            "conversions": np.round(rng.uniform(800, 1200, n)),
            "tv": np.round(rng.uniform(100, 200, n), 2),
            "tv_spend": np.round(rng.uniform(1000, 2000, n), 2),
            "news": np.round(rng.uniform(5000, 9000, n)),
            "rpc": np.round(rng.uniform(40, 50, n), 2),
        }
    )
    frame.to_csv("d.csv", index=False)
    (tmp_path / "c.yaml").write_text(
        "name: t\ndata: {path: d.csv, start: 2022-02-07}\nmodel:\n  kpi: conversions\n"
        "  seasonality: []\n  kpi_value: rpc\n  media:\n"
        "    - {name: tv, spend_column: tv_spend}\n    - {name: news, organic: true}\n"
    )
    result = validate(tmp_path / "c.yaml")
    assert result.ok, [p.render() for p in result.errors]
    assert result.loaded is not None
    assert result.spec is not None
    assert result.frame is not None
    assert [m.organic for m in result.spec.media] == [False, True]
    assert "news (organic)" in result.summary["terms"]
    design = build_design(result.frame, result.loaded.config, result.spec)
    inside = pd.DatetimeIndex(frame["date"]) >= pd.Timestamp("2022-02-07")
    np.testing.assert_array_equal(design.spend[:, 0], frame["tv_spend"][inside])
    np.testing.assert_array_equal(design.spend[:, 1], np.zeros(inside.sum()))
    np.testing.assert_array_equal(design.media[:, 1], frame["news"][inside])
    assert design.value is not None
    np.testing.assert_array_equal(design.kpi_value, frame["rpc"][inside])


def test_design_without_a_kpi_value_has_unit_value() -> None:
    design = _design(5)
    assert design.value is None
    np.testing.assert_array_equal(design.kpi_value, np.ones(5))


# --------------------------------------------------------------------------- budget response


def _posterior(draws: int = 6, seed: int = 2) -> Posterior:
    rng = np.random.default_rng(seed)
    theta = np.column_stack(
        [
            rng.uniform(0.2, 0.8, draws),  # tv decay
            rng.uniform(0.5, 1.5, draws),  # tv half saturation
            rng.uniform(0.8, 2.0, draws),  # tv shape
            rng.uniform(0.2, 0.8, draws),  # news decay
            rng.uniform(0.5, 1.5, draws),  # news half saturation
            rng.uniform(0.5, 2.0, draws),  # radio rate
        ]
    )
    return Posterior.single(
        rng.normal(size=draws),
        rng.uniform(0.1, 1.0, size=(draws, 4)),
        theta,
        rng.uniform(0.1, 0.3, draws),
        n_chains=2,
    )


def _decomposition(draws: int, n: int, seed: int = 3) -> Decomposition:
    rng = np.random.default_rng(seed)
    parts = {name: rng.normal(0.0, 0.1, size=(draws, n)) for name in ("baseline", *NAMES, "price")}
    parts["baseline"] += 4.0
    zeros = np.zeros((draws, n))
    return Decomposition(np.zeros((draws, 3, n)), parts, parts, zeros)


@pytest.mark.parametrize("log", [False, True])
def test_build_response_plans_paid_channels_only(log: bool) -> None:
    n, horizon, draws = 10, 4, 6
    value = np.arange(1.0, n + 1.0) * 10.0
    design = _design(n, log=log, value=value)
    post = _posterior(draws)
    decomposition = _decomposition(draws, n)
    response, current = build_response(post, design, _spec(log), LAYOUT, decomposition, horizon)
    assert [c.name for c in response.channels] == ["tv", "radio"]
    last = slice(n - horizon, n)
    np.testing.assert_allclose(current, [design.spend[last, 0].sum(), design.spend[last, 2].sum()])
    tv, radio = response.channels
    # Coefficients, scales and history of the paid channels (indices 0 and 2).
    np.testing.assert_allclose(tv.effect, post.beta[:, 0] * design.y_sd)
    np.testing.assert_allclose(radio.effect, post.beta[:, 2] * design.y_sd)
    assert (tv.scale, radio.scale) == (5.0, 6.0)
    np.testing.assert_allclose(tv.history, design.media[None, n - 2 :, 0] / 5.0)
    assert radio.history.shape == (1, 0)
    spend = design.spend[last, 0]
    np.testing.assert_allclose(tv.pattern, (spend / spend.sum())[None, :])
    np.testing.assert_allclose(tv.adstock_params["decay"], post.theta[:, 0])
    np.testing.assert_allclose(radio.saturation_params["rate"], post.theta[:, 5])
    # The organic channel (l_max 4) does not set the carry-over tail: tv's l_max 3 does.
    assert response.tail == 2
    assert response.value == pytest.approx(value[last].mean())
    if not log:
        assert response.base is None
        assert response.noise is None
        return
    # Log designs: the base keeps everything but the paid media, organic news included.
    parts = decomposition.parts
    other = parts["baseline"] + parts["news"] + parts["price"]
    rows = [*range(n - horizon, n), n - 1, n - 1]  # the horizon, then the tail at the last row
    assert response.base is not None
    np.testing.assert_allclose(response.base, other[:, None, rows])
    assert response.noise is not None
    np.testing.assert_allclose(response.noise, post.sigma * design.y_sd)


def test_build_response_without_paid_channels() -> None:
    media = (MediaTerm("news", "news", "geometric", 4, "michaelis_menten", organic=True),)
    spec = dataclasses.replace(_spec(), media=media)
    design = _design(6)
    post = _posterior()
    response, current = build_response(post, design, spec, LAYOUT, _decomposition(6, 6), 3)
    assert response.channels == ()
    assert current.shape == (0,)


# --------------------------------------------------------------------------- objective


def _linear(name: str, effect: np.ndarray, scale: float, horizon: int = 4) -> bud.Channel:
    """No carry-over, no saturation: a plan b adds effect × b / scale over the horizon."""
    return bud.Channel(
        name=name,
        adstock="none",
        adstock_params={},
        saturation="none",
        saturation_params={},
        l_max=1,
        effect=effect,
        scale=scale,
        history=np.zeros((1, 0)),
        pattern=np.full((1, horizon), 1.0 / horizon),
    )


def _linear_response(value: float) -> tuple[bud.Response, tuple[np.ndarray, np.ndarray]]:
    effects = (np.array([2.0, 3.0, 4.0]), np.array([1.0, 1.5, 0.5]))
    channels = (_linear("tv", effects[0], 50.0), _linear("radio", effects[1], 10.0))
    budgets = np.array([100.0, 30.0])
    gain = effects[0] * 100.0 / 50.0 + effects[1] * 30.0 / 10.0
    return bud.Response(channels, 4, False, None, None, value), (budgets, gain)


def test_kpi_objective_is_in_money() -> None:
    response, (budgets, gain) = _linear_response(value=40.0)
    found = bud.objective_draws(response, budgets, BudgetConfig())
    np.testing.assert_allclose(found, 40.0 * gain)


def test_kpi_objective_without_a_value_is_in_kpi_units() -> None:
    response, (budgets, gain) = _linear_response(value=1.0)
    default = bud.Response(response.channels, 4, False, None, None)
    assert default.value == 1.0
    np.testing.assert_allclose(bud.objective_draws(default, budgets, BudgetConfig()), gain)


def test_profit_uses_the_margin_when_given() -> None:
    response, (budgets, gain) = _linear_response(value=40.0)
    config = BudgetConfig(objective="profit", margin=12.0)
    found = bud.objective_draws(response, budgets, config)
    np.testing.assert_allclose(found, 12.0 * gain - 130.0)


def test_profit_falls_back_to_the_kpi_value() -> None:
    response, (budgets, gain) = _linear_response(value=40.0)
    config = BudgetConfig(objective="profit")
    found = bud.objective_draws(response, budgets, config)
    np.testing.assert_allclose(found, 40.0 * gain - 130.0)


def test_the_value_survives_a_subset_of_draws() -> None:
    response, (budgets, gain) = _linear_response(value=40.0)
    smaller = response.subset(np.array([0, 2]))
    assert smaller.value == 40.0
    found = bud.objective_draws(smaller, budgets, BudgetConfig())
    np.testing.assert_allclose(found, 40.0 * gain[[0, 2]])


# --------------------------------------------------------------------------- config rules


def _resolve(model: dict[str, Any], **sections: Any) -> list[tuple[str, str]]:
    config = RunConfig.model_validate(
        {"name": "t", "data": {"path": "d.csv"}, "model": model, **sections}
    )
    spec, problems = resolve(config)
    assert spec is not None
    return [(p.location, f"{p.message} | fix: {p.fix}") for p in problems if p.severity == "error"]


MODEL = {
    "kpi": "sales",
    "media": ["tv", {"name": "news", "organic": True}],
    "controls": ["price"],
}


@pytest.mark.parametrize("term", ["sales", "tv", "news", "price"])
def test_kpi_value_cannot_be_a_model_term(term: str) -> None:
    errors = _resolve({**MODEL, "kpi_value": term})
    assert errors == [
        (
            "model.kpi_value",
            f"'{term}' is a term of the model, not a value per KPI unit | fix: name a column "
            "of money per KPI unit (e.g. revenue_per_conversion)",
        )
    ]


@pytest.mark.parametrize("value", [0, -2.5, float("inf"), float("nan")])
def test_kpi_value_must_be_positive(value: float) -> None:
    errors = _resolve({**MODEL, "kpi_value": value})
    assert len(errors) == 1
    location, body = errors[0]
    assert location == "model.kpi_value"
    assert "the KPI's value must be a positive number" in body


@pytest.mark.parametrize("value", [45, 0.01, "revenue_per_sale"])
def test_valid_kpi_values(value: float | str) -> None:
    assert _resolve({**MODEL, "kpi_value": value}) == []


def test_an_organic_channel_cannot_be_budgeted() -> None:
    errors = _resolve(MODEL, budget={"channels": {"news": {"change": 0.2}, "tv": {"max": 9}}})
    assert errors == [
        (
            "budget.channels.news",
            "'news' is an organic channel: it has no spend for the budget to move | fix: "
            "remove it from budget.channels (organic channels keep their own level)",
        )
    ]


def test_an_unknown_budget_channel_is_not_matched_to_an_organic_one() -> None:
    errors = _resolve(MODEL, budget={"channels": {"newz": {"change": 0.2}}})
    assert len(errors) == 1
    location, body = errors[0]
    assert location == "budget.channels.newz"
    assert "'newz' is not a media channel of the model" in body
    assert "news" not in body.split("fix:")[1]


def test_profit_needs_a_margin_or_a_kpi_value() -> None:
    errors = _resolve(MODEL, budget={"objective": "profit"})
    assert len(errors) == 1
    assert errors[0][0] == "budget"
    assert (
        "objective profit needs `margin` (profit per KPI unit) or model.kpi_value"
        in (errors[0][1])
    )
    assert _resolve(MODEL, budget={"objective": "profit", "margin": 3.0}) == []
    assert _resolve({**MODEL, "kpi_value": 45.0}, budget={"objective": "profit"}) == []


def test_an_organic_channel_has_no_spend_column() -> None:
    with pytest.raises(ValueError, match="an organic channel has no spend: remove `spend_column`"):
        RunConfig.model_validate(
            {
                "name": "t",
                "data": {"path": "d.csv"},
                "model": {
                    "kpi": "sales",
                    "media": [{"name": "news", "organic": True, "spend_column": "news_cost"}],
                },
            }
        )
