"""The nested class without a compiler: what validate accepts and refuses, the Stan data it
builds, and its reduced form (decomposition, mediation tables) against the NumPy twin of
stan/network.stan on synthetic draws."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from mmm_runner import classes
from mmm_runner.analysis import effects
from mmm_runner.backend.fit import Draws
from mmm_runner.config.notation import parse_distribution
from mmm_runner.data.simulate_network import simulate_nested
from mmm_runner.model import network, network_data
from mmm_runner.validation import validate
from tests.model.test_network import random_params

from .conftest import errors, setup

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "config" / "nested.yaml"


def _config(tmp_path: Path, edit: Any = None, frame: pd.DataFrame | None = None) -> Path:
    config = yaml.safe_load(SHIPPED.read_text())
    config["data"]["path"] = str(ROOT / "data" / "nested.csv")
    if frame is not None:
        csv = tmp_path / "nested.csv"
        frame.to_csv(csv, index=False)
        config["data"]["path"] = str(csv)
    if edit:
        edit(config)
    path = tmp_path / "nested.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False, width=1000))
    return path


def _mediator(config: dict[str, Any]) -> dict[str, Any]:
    mediator: dict[str, Any] = config["model"]["mediators"][0]
    return mediator


# --- validate -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "where", "message"),
    [
        (
            lambda c: _mediator(c).update(channels=[]),
            "model.mediators[0].channels",
            "mediator 'awareness' has no channels",
        ),
        (
            lambda c: _mediator(c).update(channels=["tv", "tvv"]),
            "model.mediators[0].channels[1]",
            "did you mean 'tv'",
        ),
        (
            lambda c: _mediator(c).update(column="search"),
            "model.mediators[0].column",
            "reads column 'search', which is a media channel",
        ),
        (
            lambda c: _mediator(c).update(column="sales"),
            "model.mediators[0].column",
            "which is an outcome (KPI)",
        ),
        (
            lambda c: _mediator(c).update(observation="latent"),
            "model.mediators[0]",
            "state informative effect_prior and media_prior",
        ),
        (
            lambda c: _mediator(c).update(
                observation="latent",
                effect_prior="normal(0.3, 0.05)",
                media_prior={"tv": "normal(1, 0.2)"},
            ),
            "model.mediators[0]",
            "media_prior for social, display",
        ),
        (
            lambda c: _mediator(c).update(media_prior={"search": "normal(1, 0.2)"}),
            "model.mediators[0].media_prior.search",
            "not one of the channels that build 'awareness'",
        ),
        (
            lambda c: _mediator(c).update(effect_prior="normal(0, -1)"),
            "model.mediators[0].effect_prior",
            "",
        ),
        (
            lambda c: c["model"].update({"class": "blm"}),
            "model.mediators",
            "model.mediators needs model.class nested or combined, not blm",
        ),
        (
            lambda c: c["model"].pop("mediators"),
            "model.mediators",
            "class nested needs at least one mediator",
        ),
        (
            lambda c: c["model"]["mediators"].append(dict(_mediator(c))),
            "model.mediators[1].name",
            "listed twice",
        ),
        (
            lambda c: _mediator(c).update(channels=["tv", "social", "tv"]),
            "model.mediators[0].channels[2]",
            "'tv' is listed twice",
        ),
        (
            lambda c: _mediator(c).update(media_prior={"tv": "normal(1, -2)"}),
            "model.mediators[0].media_prior.tv",
            "",
        ),
    ],
)
def test_config_mistakes_are_located(tmp_path: Path, edit: Any, where: str, message: str) -> None:
    result = validate(_config(tmp_path, edit))
    located = [p for p in result.errors if p.location == where]
    assert located, errors(result)
    assert any(message in p.message or message in p.fix for p in located), errors(result)


def test_a_full_mediator_with_gaps_points_to_partial(tmp_path: Path) -> None:
    frame = pd.read_csv(ROOT / "data" / "nested.csv")
    frame.loc[[4, 9], "awareness"] = np.nan
    text = errors(validate(_config(tmp_path, frame=frame)))
    assert "nested.csv:awareness:row 5, 10" in text
    assert "observation: partial" in text


def test_a_partial_mediator_may_have_gaps_but_needs_some_surveys(tmp_path: Path) -> None:
    frame = pd.read_csv(ROOT / "data" / "nested.csv")
    frame.loc[frame.index % 5 != 0, "awareness"] = np.nan
    assert validate(
        _config(tmp_path, lambda c: _mediator(c).update(observation="partial"), frame)
    ).ok
    frame.loc[frame.index > 15, "awareness"] = np.nan  # 4 waves left
    text = errors(
        validate(_config(tmp_path, lambda c: _mediator(c).update(observation="partial"), frame))
    )
    assert "observed in 4 period(s)" in text


def test_a_sparse_survey_with_a_default_effect_prior_is_warned_about(tmp_path: Path) -> None:
    frame = pd.read_csv(ROOT / "data" / "nested.csv")
    frame.loc[frame.index % 5 != 0, "awareness"] = np.nan  # 20% of the weeks
    partial = {"observation": "partial"}
    result = validate(_config(tmp_path, lambda c: _mediator(c).update(partial), frame))
    assert result.ok
    warned = [p for p in result.warnings if "observed in" in p.message]
    assert len(warned) == 1
    assert warned[0].location.startswith("model.mediators[0].effect_prior")
    assert "32 of 156 fitted periods" in warned[0].message
    informed = {**partial, "effect_prior": "normal(0.5, 0.1)"}
    result = validate(_config(tmp_path, lambda c: _mediator(c).update(informed), frame))
    assert not [p for p in result.problems if "observed in" in p.message]
    # a constant survey is still refused beside the warning
    frame.loc[frame["awareness"].notna(), "awareness"] = 30.0
    result = validate(_config(tmp_path, lambda c: _mediator(c).update(partial), frame))
    assert not result.ok
    assert any("is constant" in p.message for p in result.errors)
    assert any("observed in" in p.message for p in result.warnings)


def test_a_latent_mediator_with_its_priors_validates(tmp_path: Path) -> None:
    def latent(config: dict[str, Any]) -> None:
        _mediator(config).update(
            observation="latent",
            effect_prior="normal(0.3, 0.05)",
            media_prior={
                "tv": "normal(1, 0.2)",
                "social": "normal(0.5, 0.2)",
                "display": "normal(0.3, 0.1)",
            },
        )

    result, design, _ = setup(_config(tmp_path, latent))
    assert result.spec is not None
    assert not result.warnings  # the shipped effect_sign: positive
    data = network_data.network_data(design, result.spec)
    assert data["med_type"] == [3]
    assert data["med_observed"].sum() == 0
    assert [round(a[0], 3) for a in data["beta_prior_args"][4:]] == [1.0, 0.5, 0.3]
    assert data["gamma_pinned"] == [1]  # its pairs sampled by log ratios


@pytest.mark.parametrize(
    ("prior", "pins"),
    [
        ("normal(0.3, 0.05)", True),
        ("normal(-0.5, 0.1)", True),  # a negative effect: the spread against its size
        ("lognormal(-0.7, 0.1)", True),
        ("normal(0.5, 0.2)", False),  # 40%: gamma may still reach its wall
        ("normal(0, 1)", False),  # the default
        ("half_normal(0.5)", False),
    ],
)
def test_a_gamma_is_pinned_when_its_prior_holds_it_within_a_fifth(prior: str, pins: bool) -> None:
    # decision 0022: a loose gamma with pairs is sampled as a share of its wall
    assert network_data.pinned(parse_distribution(prior)) is pins


@pytest.mark.parametrize(
    ("sign", "prior", "dense"),
    [
        ("positive", None, True),  # its gamma walled
        ("any", "normal(0.3, 0.05)", True),
        ("any", None, False),  # not paired: gamma may near 0, where dense fits diverged
    ],
)
def test_auto_takes_a_dense_metric_unless_a_survey_has_an_unsigned_default_effect(
    tmp_path: Path, sign: str, prior: str | None, dense: bool
) -> None:
    # decision 0022: with its gamma sampled as a share of its wall, a survey in 20% of
    # the weeks with the default effect prior ran clean with a dense metric too
    frame = pd.read_csv(ROOT / "data" / "nested.csv")
    frame.loc[frame.index % 5 != 0, "awareness"] = np.nan
    stated = {"effect_prior": prior} if prior else {}
    edit = lambda c: _mediator(c).update(  # noqa: E731
        observation="partial", effect_sign=sign, **stated
    )
    result = validate(_config(tmp_path, edit, frame))
    assert result.spec is not None
    assert classes.get("nested").correlated(result.spec) is dense
    assert classes.get("blm").correlated(result.spec) is False


def test_a_latent_mediator_of_either_sign_is_warned_about(tmp_path: Path) -> None:
    def latent(config: dict[str, Any]) -> None:
        _mediator(config).update(
            observation="latent",
            effect_sign="any",
            effect_prior="normal(0.3, 0.05)",
            media_prior="normal(1, 0.2)",
        )

    result = validate(_config(tmp_path, latent))
    assert result.ok
    assert [w.location for w in result.warnings] == ["model.mediators[0].effect_sign"]
    assert "either sign" in result.warnings[0].message


# --- Stan data -----------------------------------------------------------------------


def test_stan_data_lays_out_direct_then_mediator_paths() -> None:
    result, design, _ = setup(SHIPPED)
    assert result.spec is not None
    data = network_data.network_data(design, result.spec)
    assert data["D"] == 1
    assert data["K"] == 1
    assert data["path_eq"] == [2, 2, 2, 2, 1, 1, 1]  # direct (KPI is equation 2), then awareness
    assert data["path_set"] == [1, 2, 3, 4, 1, 3, 4]  # a channel's paths share its transforms
    assert data["xcoef_eq"] == [2]
    assert data["gamma_lower"] == [0.0]  # effect_sign: positive
    observed = design.mediators[:, 0]
    standard = (observed - observed.mean()) / observed.std()
    np.testing.assert_allclose(data["med_value"][:, 0], standard)
    np.testing.assert_allclose(data["Y"][:, 0], design.y)


def test_held_out_mediators_are_not_seen_and_bounds_stay_on_their_paths(tmp_path: Path) -> None:
    def edit(config: dict[str, Any]) -> None:
        config["data"]["holdout"] = 10
        config["boundaries"] = ["0.2 < tv < 2"]

    result, design, _ = setup(_config(tmp_path, edit))
    assert result.spec is not None
    data = network_data.network_data(design, result.spec)
    held = ~design.fitted
    assert held.sum() == 10
    assert data["med_observed"][held].sum() == 0  # forecasts do not know awareness
    assert (data["med_value"][held] == 0).all()
    assert data["med_observed"][design.fitted].all()
    tv_direct, tv_awareness = 0, 4  # direct paths first, then awareness's channels
    bounds = list(zip(data["beta_lower"], data["beta_upper"], strict=True))
    assert bounds[tv_direct][1] > bounds[tv_direct][0] > 0  # the KPI-scale bounds
    assert bounds[tv_awareness] == (0.0, np.inf)  # only the sign carries over


# --- the reduced form against the NumPy twin -----------------------------------------


def _synthetic(data: dict[str, Any], n_chains: int = 2, n_draws: int = 3) -> dict[str, np.ndarray]:
    """Draws of the program's outputs, made from random parameters by the NumPy twin."""
    rng = np.random.default_rng(11)
    out: dict[str, list[Any]] = {}
    for _ in range(n_chains * n_draws):
        params = random_params(data, rng, np.zeros(0), np.eye(1))
        means = network.structural_means(data, params)
        draw = {
            "alpha": params.alpha,
            "beta": params.beta,
            "theta": params.theta,
            "xcoef": params.xcoef,
            "sigma": params.sigma,
            "gamma": params.gamma,
            "med_mean": means.med_mean,
            "mu": means.mu,
        }
        for key, value in draw.items():
            out.setdefault(key, []).append(value)
    return {k: np.array(v).reshape(n_chains, n_draws, *np.shape(v[0])) for k, v in out.items()}


@pytest.mark.parametrize("observation", ["full", "partial"])
def test_decomposition_adds_up_to_the_programs_kpi_mean(tmp_path: Path, observation: str) -> None:
    frame, _ = simulate_nested(
        weeks=60, observation=observation, observed_share=0.3, shared_transforms=True
    )
    edit = (
        (lambda c: _mediator(c).update(observation="partial"))
        if observation == "partial"
        else None
    )
    result, design, names = setup(_config(tmp_path, edit, frame))
    spec = result.spec
    assert spec is not None
    model_class = classes.get("nested")
    data = model_class.stan_data(design, spec)
    variables = _synthetic(data)
    mu = variables.pop("mu")
    post = model_class.posterior(Draws("mcmc", variables), design, spec)
    parts = model_class.decompose(post, design, spec, names)
    kpi_mean = design.y_mean + design.y_sd * mu[..., -1].reshape(post.n_draws, -1)
    np.testing.assert_allclose(parts.expected, kpi_mean, rtol=1e-9, atol=1e-6)
    reduced = effects.linear_predictor(post, design, spec, names)
    other = parts.contributions["awareness_other"] / design.y_sd
    np.testing.assert_allclose(reduced + other, mu[..., -1].reshape(post.n_draws, -1), atol=1e-9)
    if observation == "full":  # E[M | obs] is the observation: all of the surprise is seen
        assert np.abs(other).max() > 0
    # the mediation tables split each channel's total into its paths
    tables = model_class.extra_tables(post, parts, design, spec, names)
    totals = tables["mediation.csv"].set_index(["channel", "path"])
    for channel in spec.media_names:
        whole = parts.contributions[channel][:, design.fitted].sum(axis=1).mean()
        assert totals.loc[(channel, "total"), "mean"] == pytest.approx(whole)
        paths = [p for p in totals.loc[channel].index if p == "direct" or p.startswith("via ")]
        assert sum(totals.loc[(channel, p), "mean"] for p in paths) == pytest.approx(whole)
    assert totals.loc[("search", "proportion_mediated"), "mean"] == 0.0
    series = tables["mediation_timeseries.csv"]
    tv = series[series["channel"] == "tv"].groupby("date")["mean"].sum().to_numpy()
    np.testing.assert_allclose(tv, parts.contributions["tv"].mean(axis=0), atol=1e-6)
    # priors are compared with what they are stated on: the direct paths
    n_media = len(spec.media)
    direct = variables["beta"].reshape(post.n_draws, -1)[:, :n_media]
    np.testing.assert_allclose(post.beta_stated[:, :n_media], direct)
    assert not np.allclose(post.beta[:, :n_media], direct)


def test_quantities_name_every_path_on_the_original_scale(tmp_path: Path) -> None:
    result, design, names = setup(SHIPPED)
    spec = result.spec
    assert spec is not None
    model_class = classes.get("nested")
    variables = _synthetic(model_class.stan_data(design, spec))
    variables.pop("mu")
    post = model_class.posterior(Draws("mcmc", variables), design, spec)
    quantities = model_class.quantities(post, design, spec, names)
    for name in (
        "tv.direct",
        "tv.indirect",
        "tv.mediated_share",
        "tv->awareness",
        "awareness->sales",
        "awareness.intercept",
        "sigma[awareness]",
        "search.direct",
    ):
        assert name in quantities, name
    assert "search.indirect" not in quantities
    sd = design.mediators[:, 0].std()
    gamma = variables["gamma"].reshape(-1, 1)[:, 0]
    np.testing.assert_allclose(quantities["awareness->sales"][2], gamma * design.y_sd / sd)
    total = quantities["tv"][2]
    np.testing.assert_allclose(quantities["tv.direct"][2] + quantities["tv.indirect"][2], total)


def test_prior_panels_show_the_mediators_priors_on_their_own_draws(tmp_path: Path) -> None:
    from mmm_runner.analysis.prior_predictive import prior_panels

    def partial(config: dict[str, Any]) -> None:
        _mediator(config).update(observation="partial", effect_prior="normal(0.3, 0.1)")

    frame = pd.read_csv(ROOT / "data" / "nested.csv")
    frame.loc[frame.index % 4 != 0, "awareness"] = np.nan
    result, design, names = setup(_config(tmp_path, partial, frame))
    spec = result.spec
    assert spec is not None
    model_class = classes.get("nested")
    variables = _synthetic(model_class.stan_data(design, spec))
    variables.pop("mu")
    variables["nu"] = np.full((2, 3, 1), 0.2)
    post = model_class.posterior(Draws("mcmc", variables), design, spec)
    panels = {p.parameter: p for p in prior_panels(post, spec, names)}
    gamma = panels["awareness->sales"]
    assert str(gamma.dist) == "normal(0.3, 0.1)"
    assert gamma.lower == 0.0  # effect_sign: positive
    np.testing.assert_allclose(gamma.draws, variables["gamma"].reshape(-1))
    np.testing.assert_allclose(
        panels["social->awareness"].draws, variables["beta"].reshape(6, -1)[:, 5]
    )
    assert panels["awareness.observation_noise"].draws.tolist() == [0.2] * 6
    assert "sigma[awareness]" in panels
    # the channels' own panels show their direct paths, as their priors state
    np.testing.assert_allclose(panels["tv"].draws, variables["beta"].reshape(6, -1)[:, 0])
