"""Transforms per outcome (``model.media[].per_outcome``) without a compiler: what validate
refuses and where, the feature sets the Stan data lays out, and the pipeline's readings of
the total (response curves, budget, quantities, priors' draws) against each outcome's own
transforms, on draws made by the NumPy twin of stan/network.stan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mmm_runner import classes
from mmm_runner.analysis import budget as bud
from mmm_runner.analysis import curves as channel_curves
from mmm_runner.analysis import flighting
from mmm_runner.analysis import prior_predictive as pp
from mmm_runner.analysis.budget_response import last_periods, spend_shape
from mmm_runner.analysis.network_effects import shape_of
from mmm_runner.backend.fit import Draws
from mmm_runner.config.models import BudgetConfig, FlightingConfig
from mmm_runner.model import network_data as nd
from mmm_runner.model import transforms
from mmm_runner.validation import validate

from .conftest import assert_refused, errors, setup
from .test_multivariate import ROOT, _config, _draws, _forward, _model

NAME = "outcome_transforms"


def _per_outcome(channel: int) -> Any:
    def edit(config: dict[str, Any]) -> None:
        _model(config)["media"][channel]["per_outcome"] = True

    return edit


def _either_sign(config: dict[str, Any]) -> None:
    _model(config)["media"][0]["sign"] = "any"


# --- validate ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "edit", "where", "message"),
    [
        (
            "single_market",
            _per_outcome(0),
            "model.media[0].per_outcome",
            "transforms per outcome apply to the classes with several outcomes",
        ),
        (
            "nested",
            _per_outcome(0),
            "model.media[0].per_outcome",
            "not nested: it fits one KPI",
        ),
        (
            "combined",
            _per_outcome(0),  # tv builds awareness
            "model.media[0].per_outcome",
            "builds mediator 'awareness'",
        ),
        (
            NAME,
            _either_sign,  # the outcomes' coefficients of tv may have opposite signs
            "model.media[0].per_outcome",
            "may take either sign",
        ),
    ],
)
def test_unsupported_uses_are_located(
    tmp_path: Path, name: str, edit: Any, where: str, message: str
) -> None:
    assert_refused(_config(tmp_path, name, edit), where, message)


def test_a_channel_on_one_outcome_is_warned_about_and_mediators_of_others_are_fine(
    tmp_path: Path,
) -> None:
    def on_one(config: dict[str, Any]) -> None:
        _model(config)["outcomes"] = [
            {"name": "product_a"},
            {"name": "product_b", "channels": ["search", "social"]},
        ]

    result = validate(_config(tmp_path, NAME, on_one))
    assert result.ok, errors(result)
    warned = [p for p in result.problems if p.severity == "warning"]
    assert any(
        "acts directly on 1 outcome(s)" in p.message and "model.media[0].per_outcome" in p.render()
        for p in warned
    )
    # its parameters keep the shared layout and labels (compare-runs lines them up with a
    # shared run's)
    result, design, names = setup(_config(tmp_path, NAME, on_one))
    spec = result.spec
    data = classes.get("multivariate").stan_data(design, spec)
    assert data["Q"] == 3
    assert nd.set_labels(spec, names.theta, names.theta_start) == list(names.theta)
    assert "tv.adstock.decay" in names.theta
    # combined: a channel that builds no mediator may have transforms per outcome
    result = validate(_config(tmp_path, "combined", _per_outcome(1)))
    assert result.ok, errors(result)


def test_a_boundary_gives_a_per_outcome_channel_its_sign(tmp_path: Path) -> None:
    def negative(config: dict[str, Any]) -> None:
        _either_sign(config)
        config["boundaries"] = ["tv < 0"]

    result = validate(_config(tmp_path, NAME, negative))
    assert result.ok, errors(result)


def test_a_per_outcome_channel_without_transform_parameters_is_warned_about(
    tmp_path: Path,
) -> None:
    def untransformed(config: dict[str, Any]) -> None:
        tv = _model(config)["media"][0]
        tv["adstock"], tv["saturation"] = {"type": "none", "l_max": 1}, {"type": "none"}

    result, design, _ = setup(_config(tmp_path, NAME, untransformed))
    warned = [p for p in result.problems if p.severity == "warning"]
    assert any(
        "has no transform parameters" in p.message and "model.media[0].per_outcome" in p.render()
        for p in warned
    ), [p.render() for p in warned]
    data = classes.get("multivariate").stan_data(design, result.spec)
    assert data["Q"] == 3


# --- Stan data --------------------------------------------------------------------------


def test_a_per_outcome_channel_gets_a_feature_set_per_outcome(tmp_path: Path) -> None:
    result, design, names = setup(_config(tmp_path, NAME))
    spec = result.spec
    data = classes.get("multivariate").stan_data(design, spec)
    # sets: tv (product_a), search, social, then tv (product_b)
    assert data["Q"] == 4
    assert data["set_channel"] == [1, 2, 3, 1]
    assert data["path_eq"] == [1, 1, 1, 2, 2, 2]
    assert data["path_set"] == [1, 2, 3, 4, 2, 3]
    assert data["theta_start"] == [1, 3, 5, 7]
    assert data["P"] == 8
    assert data["adstock_type"][3] == data["adstock_type"][0]
    assert data["l_max"][3] == data["l_max"][0] == 8
    # the further set copies tv's bounds and priors
    assert data["theta_prior"][6:] == data["theta_prior"][:2]
    np.testing.assert_array_equal(data["theta_prior_args"][6:], data["theta_prior_args"][:2])
    labels = nd.set_labels(spec, names.theta, names.theta_start)
    assert labels[:2] == ["tv.adstock.decay[product_a]", "tv.saturation.rate[product_a]"]
    assert labels[2] == "search.adstock.decay"
    assert labels[6:] == ["tv.adstock.decay[product_b]", "tv.saturation.rate[product_b]"]
    # without per_outcome the layout is the shared one
    shared = setup(_config(tmp_path, "multivariate"))
    data = classes.get("multivariate").stan_data(shared[1], shared[0].spec)
    assert data["Q"] == 3
    assert data["path_set"] == [1, 2, 3, 1, 2, 3]


# --- the total's readings against each outcome's transforms -----------------------------


def _fit(
    tmp_path: Path, edit: Any = None, draws: Any = None, name: str = NAME, frame: Any = None
) -> tuple[Any, Any, Any, Any, Any]:
    """The class's posterior of twin draws (``draws`` edits them first)."""
    result, design, names = setup(_config(tmp_path, name, edit, frame))
    spec = result.spec
    model_class = classes.get(spec.model_class)
    variables = _draws(model_class.stan_data(design, spec))
    for key in ("mu", "params"):
        variables.pop(key)
    if draws is not None:
        draws(variables)
    draws = model_class.kpi_draws(Draws("mcmc", variables), design, spec)
    return model_class, model_class.posterior(draws, design, spec), design, spec, names


def _outcome_params(post: Any, spec: Any, names: Any, q: int) -> tuple[dict[str, Any], ...]:
    """Feature set q's adstock and saturation draws by parameter name."""
    blocks = nd.set_blocks(spec, names.theta_start, len(names.theta))
    theta = post.pool["theta_sets"][:, blocks[q]]
    return {"decay": theta[:, 0]}, {"rate": theta[:, 1]}


def test_the_budget_plans_the_sum_of_a_channels_transforms(tmp_path: Path) -> None:
    def no_cross(config: dict[str, Any]) -> None:
        _model(config)["cross_effects"] = []

    model_class, post, design, spec, names = _fit(tmp_path, no_cross)
    parts = model_class.decompose(post, design, spec, names)
    horizon = 13
    response, current = model_class.budget_response(post, design, spec, names, parts, horizon)
    assert len(response.channels[0].pieces) == 1  # tv: product_b's transform
    assert not response.channels[1].pieces
    budgets = current * np.array([1.4, 0.8, 1.1])
    _, per_channel = bud.uplift(response, budgets)
    # tv's uplift on the total, computed outcome by outcome from its own transforms
    i, window = 0, 8
    rows = last_periods(design, horizon)[0]
    history = design.media_scaled[:, i][-(window - 1) :]
    plan = budgets[0] * spend_shape(design.spend[rows, i]) / design.media_scale[i]
    tail = np.zeros(window - 1)
    weights = nd.outcome_weights(design, spec)
    expected = np.zeros(post.n_draws)
    for k, q in enumerate((0, 3)):  # product_a: tv's own set; product_b: the further one
        adstock, saturation = _outcome_params(post, spec, names, q)
        gain = [
            transforms.transform(
                np.concatenate([history, media, tail]),
                "geometric",
                adstock,
                "logistic",
                saturation,
                window,
            )[:, window - 1 :].sum(axis=1)
            for media in (plan, np.zeros(horizon))
        ]
        effect = design.y_sd * weights[k] * post.pool["direct"][:, k, i]
        expected += effect * (gain[0] - gain[1])
    np.testing.assert_allclose(per_channel[0], expected, rtol=1e-9)
    # a response curve's point and the optimiser's search see the same sum
    assert bud.channel_uplift(response, 0, budgets) == pytest.approx(per_channel[0], rel=1e-12)
    subset = response.subset(np.array([0, 2]))
    np.testing.assert_allclose(bud.uplift(subset, budgets)[1][0], per_channel[0][[0, 2]])
    # a per-period plan splitting each total as the current plan does is the same plan
    names = [c.name for c in response.channels]
    lower, upper = budgets * 0.5, budgets * 2.0
    scenario = flighting.flight(response, FlightingConfig(), names, lower, upper)
    config = BudgetConfig(horizon=horizon, flighting=True)
    plan = budgets[:, None] * scenario.current
    np.testing.assert_allclose(
        scenario.value(plan, config), bud.objective_draws(response, budgets, config), rtol=1e-9
    )


def _halo_apart(variables: dict[str, Any]) -> None:
    """A strong halo (A to B) and TV's transforms far apart: fast and sharp on A, slow and
    gradual on B."""
    variables["psi"] = np.full_like(variables["psi"], 0.9)
    theta = variables["theta"]  # sets: tv on A (0, 1), search, social, tv on B (6, 7)
    theta[..., 0], theta[..., 6] = 0.05, 0.9  # decay
    theta[..., 1], theta[..., 7] = 3.0, 0.3  # logistic rate


def test_the_budget_carries_each_transform_by_its_own_cross_effects(tmp_path: Path) -> None:
    """The halo carries on only product A's transform of TV: the budget's uplift against a
    forward simulation (each product's own transform, the halo period by period) is flat in
    spend (0.999 throughout); one carried ratio for both transforms bent the curve
    (0.98 to 1.08)."""
    model_class, post, design, spec, names = _fit(tmp_path, draws=_halo_apart)
    assert np.all(nd.cross_modulators(design, spec) == 1.0)
    parts = model_class.decompose(post, design, spec, names)
    horizon, window, lag = 13, 8, spec.cross_effects[0].lag
    response, current = model_class.budget_response(post, design, spec, names, parts, horizon)
    rows = last_periods(design, horizon)[0]
    history = design.media_scaled[:, 0][-(window - 1) :]
    pattern = spend_shape(design.spend[rows, 0])
    weights = nd.outcome_weights(design, spec)
    psi = post.pool["psi"][:, 0, None]

    def total(plan: Any) -> Any:
        """TV's effect on the total over the plan's periods and its tail (KPI units)."""
        media = np.concatenate([history, plan, np.zeros(window - 1)])
        own = []
        for k, q in enumerate((0, 3)):  # product_a: tv's own set; product_b: the further one
            adstock, saturation = _outcome_params(post, spec, names, q)
            curve = transforms.transform(
                media, "geometric", adstock, "logistic", saturation, window
            )
            own.append(post.pool["direct"][:, k, 0, None] * curve[:, window - 1 :])
        a, b = own
        b[:, lag:] += psi * a[:, :-lag]
        return design.y_sd * (weights[0] * a + weights[1] * b)

    ratios = []
    for factor in (0.5, 1.0, 2.0, 4.0):
        budgets = current.copy()
        budgets[0] *= factor
        plan = budgets[0] * pattern / design.media_scale[0]
        exact = (total(plan) - total(np.zeros(horizon))).sum(axis=1)
        ratios.append(bud.uplift(response, budgets)[1][0] / exact)
    spread = np.ptp(np.array(ratios), axis=0)  # per draw, over the spend levels
    assert spread.max() < 0.005, ratios
    np.testing.assert_allclose(ratios, 1.0, atol=0.01)


def test_quantities_curves_and_priors_read_every_outcomes_set(tmp_path: Path) -> None:
    model_class, post, design, spec, names = _fit(tmp_path)
    quantities = model_class.quantities(post, design, spec, names)
    for label in (
        "tv.adstock.decay[product_a]",
        "tv.adstock.decay[product_b]",
        "tv.saturation.rate[product_b]",
        "search.adstock.decay",
        "search.saturation.half_saturation_spend",
    ):
        assert label in quantities, label
    assert "tv.adstock.decay" not in quantities
    np.testing.assert_allclose(
        quantities["tv.adstock.decay[product_b]"][2], post.pool["theta_sets"][:, 6]
    )
    # the priors' checks stack both outcomes' draws of tv's parameters
    panels = {p.parameter: p for p in pp.prior_panels(post, spec, names)}
    assert panels["tv.adstock.decay"].draws.size == 2 * post.n_draws
    assert panels["search.adstock.decay"].draws.size == post.n_draws
    # tv's response on the total is the weighted sum of its two outcomes' saturations
    bands = channel_curves.channel_curves(post, design, spec, names)
    x = bands.media["tv"] / design.media_scale[0]
    weights = nd.outcome_weights(design, spec)
    total = sum(
        design.y_sd
        * weights[k]
        * post.pool["direct"][:, k, 0, None]
        * transforms.SATURATIONS["logistic"].apply(
            x[None, :], _outcome_params(post, spec, names, q)[1]
        )
        for k, q in enumerate((0, 3))
    )
    np.testing.assert_allclose(bands.response["tv"][0], np.median(total, axis=0), rtol=1e-9)
    # the netCDF keeps each set under its label
    variables = model_class.posterior_variables(
        {k: v for k, v in _draws(model_class.stan_data(design, spec)).items() if k != "params"},
        design,
        spec,
    )
    assert variables["theta"][1].shape[-1] == len(names.theta)
    assert variables["theta_outcome"][1].shape[-1] == 2
    coords = model_class.coordinates(spec, names)
    assert coords["outcome_transform"] == [
        "tv.adstock.decay[product_b]",
        "tv.saturation.rate[product_b]",
    ]
    assert coords["transform_param"][0] == "tv.adstock.decay[product_a]"


# --- three outcomes: channels left out of some, per-outcome channels of different sizes ---


def _three(channels: dict[str, list[str]], per_outcome: tuple[str, ...]) -> tuple[Any, Any]:
    """The shipped data with a third product, and a config edit giving each product its
    channels and the named channels transforms per outcome."""
    frame = pd.read_csv(ROOT / "data" / f"{NAME}.csv")
    frame["product_c"] = 0.5 * frame["product_a"] + 0.4 * frame["product_b"].shift(1).bfill()

    def edit(config: dict[str, Any]) -> None:
        model = _model(config)
        model["formula"] = "product_a + product_b + product_c ~ tv + search + social"
        model["outcomes"] = [{"name": k, "channels": v} for k, v in channels.items()]
        for media in model["media"]:
            media["per_outcome"] = media["name"] in per_outcome

    return frame, edit


def _follows_the_twin(tmp_path: Path, frame: Any, edit: Any) -> tuple[Any, ...]:
    """The class's posterior of twin draws on a config; its decomposition adds up to the
    program's means and each channel's contribution is what switching it off takes from
    the total when the outcomes run forward through their cross-effects."""
    result, design, names = setup(_config(tmp_path, NAME, edit, frame))
    spec = result.spec
    model_class = classes.get(spec.model_class)
    data = model_class.stan_data(design, spec)
    variables = _draws(data)
    mu = variables.pop("mu")
    params = variables.pop("params").reshape(-1)
    post = model_class.posterior(
        model_class.kpi_draws(Draws("mcmc", dict(variables)), design, spec), design, spec
    )
    parts = model_class.decompose(post, design, spec, names)
    values = np.array([o.value for o in spec.outcomes])
    scales = np.array(nd.outcome_scales(design, spec))
    total = ((scales[:, 0] + scales[:, 1] * mu) @ values).reshape(post.n_draws, -1)
    np.testing.assert_allclose(parts.expected, total, rtol=1e-9, atol=1e-6)
    for i, channel in enumerate(spec.media_names):
        for d, p in enumerate(params[:2]):
            effect = _forward(data, p, None) - _forward(data, p, i)
            expected = (effect * scales[:, 1] * values).sum(axis=1)
            np.testing.assert_allclose(parts.contributions[channel][d], expected, atol=1e-6)
    return model_class, post, design, spec, names, data, parts


def test_a_per_outcome_channel_left_out_of_the_first_outcome(tmp_path: Path) -> None:
    frame, edit = _three(
        {
            "product_a": ["search", "social"],
            "product_b": ["tv", "search", "social"],
            "product_c": ["tv", "search"],
        },
        ("tv",),
    )
    _, post, design, spec, names, data, _ = _follows_the_twin(tmp_path, frame, edit)
    # sets: tv (its first outcome: product_b), search, social, then tv on product_c
    assert data["set_channel"] == [1, 2, 3, 1]
    # paths outcome by outcome: a (search, social), b (tv, search, social), c (tv, search)
    assert data["path_set"] == [2, 3, 1, 2, 3, 4, 2]
    labels = nd.set_labels(spec, names.theta, names.theta_start)
    assert labels[0] == "tv.adstock.decay[product_b]"
    assert labels[-2:] == ["tv.adstock.decay[product_c]", "tv.saturation.rate[product_c]"]
    shape = shape_of(design, spec)
    assert shape.slots[:, 0].tolist() == [0, 0, 1]  # product_a has no path of tv
    share = post.pool["mix_share"][:, :, 0]
    weights = nd.outcome_weights(design, spec)
    for s, k in ((0, 1), (1, 2)):
        np.testing.assert_allclose(
            share[:, s], weights[k] * post.pool["direct"][:, k, 0] / post.beta[:, 0]
        )
    # product_c's transform of tv is its own set's (the program's last two parameters)
    np.testing.assert_array_equal(
        post.pool["mix_theta"][:, 1, :2], post.pool["theta_sets"][:, -2:]
    )


def test_two_per_outcome_channels_with_different_numbers_of_sets(tmp_path: Path) -> None:
    frame, edit = _three(
        {
            "product_a": ["tv", "search", "social"],
            "product_b": ["tv", "social"],
            "product_c": ["tv", "search"],
        },
        ("tv", "search"),
    )
    model_class, post, design, spec, names, data, parts = _follows_the_twin(tmp_path, frame, edit)
    # the channels' own sets (their first outcomes'), then tv's further ones, then search's
    assert data["set_channel"] == [1, 2, 3, 1, 1, 2]
    assert data["theta_start"] == [1, 3, 5, 7, 9, 11]
    assert data["path_set"] == [1, 2, 3, 4, 3, 5, 6]
    tv, search, social = (names.theta[a - 1 : a + 1] for a in names.theta_start)
    labels = nd.set_labels(spec, names.theta, names.theta_start)
    assert labels == [
        *(f"{p}[product_a]" for p in (*tv, *search)),
        *social,
        *(f"{p}[product_b]" for p in tv),
        *(f"{p}[product_c]" for p in tv),
        *(f"{p}[product_c]" for p in search),
    ]
    assert model_class.coordinates(spec, names)["outcome_transform"] == labels[6:]
    # slots: tv has three, search two (its third slot repeats its own set, share 0),
    # social one
    shape = shape_of(design, spec)
    assert shape.slots.tolist() == [[0, 0, 0], [1, 0, 0], [2, 1, 0]]
    share, mix = post.pool["mix_share"], post.pool["mix_theta"]
    theta = post.pool["theta_sets"]
    assert share.shape[1] == 3
    np.testing.assert_allclose(share.sum(axis=1), 1.0)
    assert np.all(share[:, 2, 1] == 0)
    assert np.all(share[:, 1:, 2] == 0)
    for s, block in ((0, slice(0, 2)), (1, slice(6, 8)), (2, slice(8, 10))):
        np.testing.assert_array_equal(mix[:, s, 0:2], theta[:, block])
    for s, block in ((0, slice(2, 4)), (1, slice(10, 12)), (2, slice(2, 4))):
        np.testing.assert_array_equal(mix[:, s, 2:4], theta[:, block])
    # the priors' checks see every outcome's draws once
    panels = {p.parameter: p for p in pp.prior_panels(post, spec, names)}
    assert panels[tv[0]].draws.size == 3 * post.n_draws
    assert panels[search[0]].draws.size == 2 * post.n_draws
    assert panels[social[0]].draws.size == post.n_draws
    # the budget plans each further transform as a piece
    response, _ = model_class.budget_response(post, design, spec, names, parts, 13)
    assert [len(c.pieces) for c in response.channels] == [2, 1, 0]


# --- cost -------------------------------------------------------------------------------


def test_each_transform_is_computed_once_per_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def with_tests(config: dict[str, Any]) -> None:
        test = {"start": "2024-03-04", "end": "2024-04-22", "lift": -1.0, "se": 1.0}
        config["calibration"] = {
            "lift_tests": [
                {**test, "name": f"tv_{n}", "channel": "tv", "spend_change": -20000.0}
                for n in range(2)
            ]
        }

    model_class, post, design, spec, names = _fit(tmp_path, with_tests)
    calls: list[int] = []
    transform = transforms.transform

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return transform(*args, **kwargs)

    monkeypatch.setattr(transforms, "transform", counted)
    parts = model_class.decompose(post, design, spec, names)
    # each channel's own transform and tv's on product_b, once each (one group)
    assert len(calls) == 4
    calls.clear()
    lifts = model_class.model_lifts(post, design, spec, names, parts.curves)
    assert len(lifts) == 2
    # tv's two transforms of the data, then of each test's changed media
    assert len(calls) == 2 + 2 * 2
