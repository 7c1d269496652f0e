"""The classes multivariate and combined without a compiler: what validate accepts and
refuses, the Stan data they build, and their reduced form (decomposition through the
cross-effects, the KPI's draws and log density) against the NumPy twin of
stan/network.stan on synthetic draws."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from mmm_runner import classes
from mmm_runner.backend.fit import Draws
from mmm_runner.config.formula import FormulaError, parse_formula
from mmm_runner.model import network, network_data
from mmm_runner.validation import validate
from tests.model.test_network import random_params

from .conftest import assert_refused, errors, setup

ROOT = Path(__file__).resolve().parents[2]


def _config(
    tmp_path: Path, name: str = "multivariate", edit: Any = None, frame: Any = None
) -> Path:
    config = yaml.safe_load((ROOT / "config" / f"{name}.yaml").read_text())
    config["data"]["path"] = str(ROOT / "data" / f"{name}.csv")
    if frame is not None:
        frame.to_csv(tmp_path / "data.csv", index=False)
        config["data"]["path"] = str(tmp_path / "data.csv")
    if edit:
        edit(config)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False, width=1000))
    return path


def _model(config: dict[str, Any]) -> dict[str, Any]:
    model: dict[str, Any] = config["model"]
    return model


# --- the formula ------------------------------------------------------------------------


def test_a_formula_names_several_outcomes_on_its_left() -> None:
    parsed = parse_formula("a + b ~ tv + search")
    assert parsed.outcomes == ("a", "b")
    assert parsed.terms == ("tv", "search")
    with pytest.raises(FormulaError, match="cannot also be a term"):
        parse_formula("a + b ~ tv + b")
    with pytest.raises(FormulaError, match="joined by"):
        parse_formula("log(a) + b ~ tv")
    with pytest.raises(FormulaError, match="twice"):
        parse_formula("a + a ~ tv")


# --- validate ---------------------------------------------------------------------------


def _cross(config: dict[str, Any]) -> list[dict[str, Any]]:
    cross: list[dict[str, Any]] = _model(config)["cross_effects"]
    return cross


@pytest.mark.parametrize(
    ("edit", "where", "message"),
    [
        (
            lambda c: _model(c)["outcomes"][0].update(column="tv"),
            "model.outcomes[0]",
            "which is a media channel",
        ),
        (
            lambda c: _cross(c)[0].update({"from": "product_c"}),
            "model.cross_effects[0].from",
            "'product_c' is not an outcome",
        ),
        (
            lambda c: _cross(c)[0].update({"lag": 0}),
            "model.cross_effects",
            "form a cycle",
        ),
        (
            lambda c: _cross(c)[0].update({"to": "product_a"}),
            "model.cross_effects[0]",
            "to itself",
        ),
        (
            lambda c: _cross(c).append(dict(_cross(c)[0])),
            "model.cross_effects[2]",
            "listed twice",
        ),
        (
            lambda c: _model(c).update(kpi_value=2.0),
            "model.kpi_value",
            "each outcome's `value`",
        ),
        (
            lambda c: _model(c).update({"class": "blm"}),
            "model.outcomes",
            "belong to the classes with several outcomes",
        ),
        (
            lambda c: _model(c)["outcomes"][0].update(channels=["tv", "radio"]),
            "model.outcomes[0].channels[1]",
            "'radio' is not a media channel",
        ),
        (
            lambda c: _model(c).update(
                formula="product_a ~ tv + search + social + promo_b",
                outcomes=[{"name": "product_a"}],
                cross_effects=[],
            ),
            "model.outcomes",
            "fits several outcomes; found 1",
        ),
        (
            lambda c: _model(c).update(kpi="promo_b"),
            "model.kpi",
            "names the outcomes' total",
        ),
        (
            lambda c: _model(c).update(formula="product_a + product_c ~ tv + search + social"),
            "model.outcomes",
            "the formula's left side has product_a, product_c",
        ),
        (
            lambda c: [o.update(channels=["tv", "search"]) for o in _model(c)["outcomes"]],
            "model.media[2]",
            "'social' acts on no outcome and no mediator",
        ),
    ],
)
def test_config_mistakes_are_located(tmp_path: Path, edit: Any, where: str, message: str) -> None:
    assert_refused(_config(tmp_path, edit=edit), where, message)


@pytest.mark.parametrize(
    ("name", "edit", "where", "message"),
    [
        (
            "combined",
            lambda c: _model(c)["mediators"][0].update(name="product_a", column="awareness"),
            "model.mediators[0].name",
            "has the name of an outcome",
        ),
        (
            "combined",
            lambda c: _model(c)["mediators"][0].update(outcomes=[]),
            "model.mediators[0].outcomes",
            "moves no outcome",
        ),
        (
            "multivariate",
            lambda c: _model(c)["outcomes"].append({"name": "product_a", "value": 2.0}),
            "model.outcomes[2].name",
            "listed twice",
        ),
        (
            "multivariate",
            lambda c: _model(c)["outcomes"][1].update(controls=[]),
            "model.controls[0]",
            "'promo_b' is in no outcome's equation",
        ),
        (
            "multivariate",
            lambda c: _model(c)["outcomes"][0].update(channels=["tv", "search", "tv"]),
            "model.outcomes[0].channels[2]",
            "listed twice",
        ),
        (
            "multivariate",
            lambda c: (_cross(c)[0].update(lag=100), c["data"].update(holdout=60)),
            "model.cross_effects[0].lag",
            "not shorter than the 96 fitted periods",
        ),
        (
            "multivariate",
            lambda c: _model(c).update(
                outcomes=[{"name": "product_b"}, {"name": "product_a", "controls": ["price"]}]
            ),
            "model.outcomes[1].controls[0]",
            "'price' is not a control",
        ),
    ],
)
def test_more_mistakes_are_located(
    tmp_path: Path, name: str, edit: Any, where: str, message: str
) -> None:
    assert_refused(_config(tmp_path, name, edit), where, message)


def test_a_same_period_effect_beside_correlated_errors_is_warned_about(tmp_path: Path) -> None:
    def unmodulated(config: dict[str, Any]) -> None:
        _cross(config)[1].pop("modulator")

    result = validate(_config(tmp_path, edit=unmodulated))
    assert result.ok, errors(result)
    warnings = [p for p in result.problems if p.severity == "warning"]
    assert any("cannot tell it from the error correlation" in p.message for p in warnings)


def test_combined_needs_mediators_with_known_outcomes(tmp_path: Path) -> None:
    def without(config: dict[str, Any]) -> None:
        _model(config).pop("mediators")

    text = errors(validate(_config(tmp_path, "combined", without)))
    assert "class combined needs at least one mediator" in text

    def unknown(config: dict[str, Any]) -> None:
        _model(config)["mediators"][0]["outcomes"] = ["product_a", "product_z"]

    text = errors(validate(_config(tmp_path, "combined", unknown)))
    assert "model.mediators[0].outcomes[1]" in text
    assert "'product_z'" in text


def test_outcomes_can_be_listed_without_a_formula(tmp_path: Path) -> None:
    def structured(config: dict[str, Any]) -> None:
        model = _model(config)
        model.pop("formula")
        model["kpi"] = "sales"

    result, design, _ = setup(_config(tmp_path, edit=structured))
    assert result.spec is not None
    assert [o.name for o in result.spec.outcomes] == ["product_a", "product_b"]
    frame = pd.read_csv(ROOT / "data" / "multivariate.csv")
    np.testing.assert_allclose(design.kpi, frame["product_a"] + frame["product_b"])


# --- Stan data --------------------------------------------------------------------------


def test_stan_data_lays_out_each_outcomes_terms_and_the_cross_effects(tmp_path: Path) -> None:
    def valued(config: dict[str, Any]) -> None:
        _model(config)["outcomes"][1]["value"] = 2.5

    result, design, _ = setup(_config(tmp_path, edit=valued))
    spec = result.spec
    data = classes.get("multivariate").stan_data(design, spec)
    assert (data["D"], data["K"], data["C"]) == (0, 2, 2)
    assert data["path_eq"] == [1, 1, 1, 2, 2, 2]
    assert data["path_set"] == [1, 2, 3, 1, 2, 3]
    assert data["xcoef_eq"] == [2]  # promo_b is in product_b's equation only
    assert data["cross_to"] == [2, 1]
    assert data["cross_from"] == [1, 2]
    assert data["cross_lag"] == [2, 0]
    assert data["outcome_order"] == [2, 1]  # b acts on a in the same week: b first
    assert data["psi_lower"] == [0.0, -np.inf]
    assert data["psi_upper"] == [np.inf, 0.0]
    assert data["correlated"] == 1
    assert data["lkj_eta"] == 2.0
    frame = result.frame
    np.testing.assert_allclose(data["cross_mod"][:, 1], frame["promo_b"])
    for k, name in enumerate(("product_a", "product_b")):
        values = frame[name].to_numpy()
        np.testing.assert_allclose(data["Y"][:, k], (values - values.mean()) / values.std())
        assert data["y_offset"][k] == pytest.approx(values.mean() / values.std())
    # the KPI is the value-weighted total; its modelling scale weighs each outcome by
    # value * sd / sd of the total
    total = frame["product_a"] + 2.5 * frame["product_b"]
    np.testing.assert_allclose(design.kpi, total)
    weights = network_data.outcome_weights(design, spec)
    sds = frame[["product_a", "product_b"]].std(ddof=0).to_numpy()
    np.testing.assert_allclose(weights, np.array([1.0, 2.5]) * sds / total.std(ddof=0))


# --- the reduced form against the twin --------------------------------------------------


def _draws(data: dict[str, Any], n_chains: int = 2, n_draws: int = 3) -> dict[str, np.ndarray]:
    """Draws of the program's outputs, made from random parameters by the NumPy twin."""
    rng = np.random.default_rng(5)
    out: dict[str, list[Any]] = {}
    for _ in range(n_chains * n_draws):
        rho = rng.uniform(-0.5, 0.5)
        psi = np.array([0.2, -0.3])[: data["C"]] * rng.uniform(0.5, 1.5)
        corr = np.array([[1.0, rho], [rho, 1.0]]) if data["K"] == 2 else np.eye(data["K"])
        params = random_params(data, rng, psi, corr)
        means = network.structural_means(data, params)
        forecast = network.forecast_means(data, params, means.mu)  # held-out rows forecast
        ll = network.log_likelihood(data, params)
        draw = {
            "alpha": params.alpha,
            "beta": params.beta,
            "theta": params.theta,
            "xcoef": params.xcoef,
            "sigma": params.sigma,
            "gamma": params.gamma,
            "psi": params.psi,
            "R": params.R,
            "med_mean": means.med_mean,
            "log_lik_marginal": ll.log_lik_marginal,
            "y_rep": forecast,
            "mu": forecast,
            "params": params,
        }
        if data["K"] > 1:  # as the program: with one outcome, log_lik_marginal alone
            draw["log_lik_outcomes"] = ll.log_lik_outcomes
        for key, value in draw.items():
            out.setdefault(key, []).append(value)
    params_list = out.pop("params")
    arrays = {k: np.array(v).reshape(n_chains, n_draws, *np.shape(v[0])) for k, v in out.items()}
    arrays["params"] = np.array(params_list, dtype=object)
    return arrays


def _forward(data: dict[str, Any], params: network.NetworkParams, zero: int | None) -> np.ndarray:
    """The outcomes' expected paths run forward from their own earlier values (not the
    data's), with channel ``zero`` switched off and each mediator's own movement kept:
    the counterfactual a channel's effect is measured against, on each outcome's
    modelling scale."""
    n_rows, n_med, n_out = data["T"], data["D"], data["K"]
    no_cross = {**data, "C": 0, "cross_to": [], "cross_from": [], "cross_lag": []}
    no_cross["cross_mod"] = np.zeros((n_rows, 0))
    flat = network.NetworkParams(**{**params.__dict__, "psi": np.zeros(0)})
    base = network.structural_means(no_cross, flat)
    if zero is not None:
        lags = np.array(data["X_lag"], dtype=float).copy()
        lags[zero] = 0.0
        off = network.structural_means({**no_cross, "X_lag": lags}, flat)
        moved = off.mu[:, :n_med] - base.mu[:, :n_med]  # the mediators' structural change
        values = np.asarray(data["med_value"], dtype=float) + moved
        base = network.structural_means({**no_cross, "X_lag": lags, "med_value": values}, flat)
    y = np.zeros((n_rows, n_out))
    order = np.asarray(data["outcome_order"]) - 1
    offset = np.asarray(data["y_offset"])
    for t in range(n_rows):
        for k in order:
            value = base.mu[t, n_med + k]
            for c in range(data["C"]):
                lag = data["cross_lag"][c]
                j = data["cross_from"][c] - 1
                if data["cross_to"][c] - 1 == k and t >= lag:
                    value += params.psi[c] * data["cross_mod"][t, c] * (y[t - lag, j] + offset[j])
            y[t, k] = value
    return y


@pytest.mark.parametrize(
    ("name", "per_outcome"),
    [("multivariate", None), ("combined", None), ("outcome_transforms", None), ("combined", 1)],
    ids=["multivariate", "combined", "outcome_transforms", "combined_search_per_outcome"],
)
def test_decomposition_adds_up_and_follows_channels_through_the_cross_effects(
    tmp_path: Path, name: str, per_outcome: int | None
) -> None:
    def held_out(config: dict[str, Any]) -> None:
        config["data"]["holdout"] = 8
        if per_outcome is not None:  # a channel that builds no mediator: a set per product
            _model(config)["media"][per_outcome]["per_outcome"] = True

    result, design, names = setup(_config(tmp_path, name, held_out))
    spec = result.spec
    model_class = classes.get(spec.model_class)  # outcome_transforms: TV's set per product
    data = model_class.stan_data(design, spec)
    variables = _draws(data)
    mu = variables.pop("mu")  # the outcomes' means, held-out rows forecast
    params = variables.pop("params").reshape(-1)
    draws = model_class.kpi_draws(Draws("mcmc", dict(variables)), design, spec)
    post = model_class.posterior(draws, design, spec)
    parts = model_class.decompose(post, design, spec, names)
    # the parts add up to the outcomes' value-weighted total of the program's means
    values = np.array([o.value for o in spec.outcomes])
    scales = np.array(network_data.outcome_scales(design, spec))
    outcome_means = scales[:, 0] + scales[:, 1] * mu
    total = (outcome_means @ values).reshape(post.n_draws, -1)
    # held-out rows too: their cross-effects read forecast sources, never the data
    np.testing.assert_allclose(parts.expected, total, rtol=1e-9, atol=1e-6)

    assert any(term.startswith("cross: ") for term in parts.contributions)
    assert (data["Q"] > len(spec.media)) == (name == "outcome_transforms" or bool(per_outcome))
    # a channel's contribution is what switching it off takes from the total when the
    # outcomes run forward through their cross-effects
    for i, channel in enumerate(spec.media_names):
        for d, p in enumerate(params[:2]):
            effect = _forward(data, p, None) - _forward(data, p, i)
            expected = design.y_sd * (effect * scales[:, 1] / design.y_sd * values).sum(axis=1)
            np.testing.assert_allclose(parts.contributions[channel][d], expected, atol=1e-6)
    # the KPI's draws: its predictive mean is the weighted total; its log density is the
    # outcomes' joint one in their own units once the pipeline takes off log sd(KPI)
    y_rep = draws.variables["y_rep"] * design.y_sd + design.y_mean
    np.testing.assert_allclose(y_rep.reshape(post.n_draws, -1), total, atol=1e-6)
    joint = variables.get("log_lik_outcomes", variables["log_lik_marginal"][..., 0])
    joint = joint.reshape(post.n_draws, -1)
    kpi = draws.variables["log_lik"].reshape(post.n_draws, -1) - np.log(design.y_sd)
    np.testing.assert_allclose(kpi, joint - np.log(scales[:, 1]).sum(), atol=1e-9)
    tables = model_class.extra_tables(post, parts, design, spec, names)
    effects_table = tables["outcome_effects.csv"].set_index(["outcome", "channel", "path"])
    for channel in spec.media_names:
        whole = parts.contributions[channel][:, design.fitted].sum(axis=1).mean()
        by_outcome = sum(
            o.value * effects_table.loc[(o.name, channel, "total"), "mean"] for o in spec.outcomes
        )
        assert by_outcome == pytest.approx(whole, rel=1e-9)
    cross = tables["cross_effects.csv"]
    assert list(cross["lag"]) == [c.lag for c in spec.cross_effects]
    if spec.mediators:
        totals = tables["mediation.csv"].set_index(["channel", "path"])
        for channel in spec.media_names:
            whole = parts.contributions[channel][:, design.fitted].sum(axis=1).mean()
            paths = [
                p for p in totals.loc[channel].index if p not in ("total", "proportion_mediated")
            ]
            assert sum(totals.loc[(channel, p), "mean"] for p in paths) == pytest.approx(whole)


def test_quantities_name_each_outcomes_coefficients_and_the_cross_effects(tmp_path: Path) -> None:
    result, design, names = setup(_config(tmp_path, "combined"))
    spec = result.spec
    model_class = classes.get("combined")
    variables = _draws(model_class.stan_data(design, spec))
    for key in ("mu", "params"):
        variables.pop(key)
    post = model_class.posterior(Draws("mcmc", variables), design, spec)
    quantities = model_class.quantities(post, design, spec, names)
    for name in (
        "tv->product_a",
        "search->product_b",
        "promo_b->product_b",
        "awareness->product_a",
        "awareness->product_b",
        "tv->awareness",
        "psi[product_a->product_b (lag 2)]",
        "psi[product_b->product_a]",
        "corr[product_a,product_b]",
        "product_a.intercept",
        "sigma[product_b]",
        "tv.direct",
        "tv.indirect",
        "display.indirect",
    ):
        assert name in quantities, name
    assert "promo_b->product_a" not in quantities
    assert "display->product_a" not in quantities
    frame = result.frame
    sd_a, sd_b = frame["product_a"].std(ddof=0), frame["product_b"].std(ddof=0)
    psi = variables["psi"].reshape(-1, 2)
    np.testing.assert_allclose(
        quantities["psi[product_a->product_b (lag 2)]"][2], psi[:, 0] * sd_b / sd_a
    )
    # display builds awareness only: no direct prior is stated on it, so gates skip it
    j = spec.media_names.index("display")
    assert np.isnan(post.beta_stated[:, j]).all()


def test_the_twins_joint_outcome_density_reduces_to_the_known_cases() -> None:
    from tests.model.test_network import combined_case, single_outcome_case

    data, params = single_outcome_case()  # no mediators: the joint log_lik itself
    ll = network.log_likelihood(data, params)
    np.testing.assert_allclose(ll.log_lik_outcomes, ll.log_lik, atol=1e-12)
    # mediators feeding one outcome only, independent errors: the outcomes' joint density
    # is the product of their own ones
    data, params = combined_case()
    data = {**data, "gamma_to": [1] * data["G"]}
    independent = network.NetworkParams(**{**params.__dict__, "R": np.eye(2)})
    ll = network.log_likelihood(data, independent)
    np.testing.assert_allclose(ll.log_lik_outcomes, ll.log_lik_marginal.sum(axis=1), atol=1e-9)
    # correlated errors: not the product
    correlated = network.log_likelihood(data, params)
    assert not np.allclose(correlated.log_lik_outcomes, correlated.log_lik_marginal.sum(axis=1))
