"""Each model-class hook on real configs and synthetic draws (no compiler)."""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mmm_runner import classes
from mmm_runner.analysis import effects
from mmm_runner.backend.fit import Draws
from mmm_runner.config import models
from mmm_runner.config.resolve import Collector
from mmm_runner.data.design import Design, build_design
from mmm_runner.model import network_data, programs, stan_data
from mmm_runner.validation import validate

ROOT = Path(__file__).resolve().parents[2]
CHAINS, DRAWS = 2, 25


def _setup(config: str) -> tuple[Any, Design, stan_data.Layout]:
    result = validate(ROOT / "config" / config)
    assert result.ok, result.errors
    assert result.frame is not None
    assert result.spec is not None
    assert result.loaded is not None
    design = build_design(result.frame, result.loaded.config, result.spec)
    return result, design, stan_data.layout(design, result.spec)


def _draws(names: stan_data.Layout, design: Design, groups: int = 0, seed: int = 0) -> Draws:
    """Synthetic draws shaped as the class's program writes them (groups > 0: hierarchical)."""
    rng = np.random.default_rng(seed)
    shape = (CHAINS, DRAWS)
    theta = np.stack(
        [
            rng.uniform(0.2, 0.8, shape) if label.endswith("decay") else rng.uniform(0.5, 2, shape)
            for label in names.theta
        ],
        axis=-1,
    )
    j = len(names.beta)
    v: dict[str, np.ndarray] = {
        "alpha": rng.normal(0, 0.3, shape),
        "beta": np.abs(rng.normal(0.5, 0.2, (*shape, j))),
        "log_lik": rng.normal(-1, 0.1, (*shape, int(design.fitted.sum()))),
        "y_rep": rng.normal(0, 1, (*shape, design.n_rows)),
    }
    if groups:
        v["alpha_g"] = v["alpha"][..., None] + rng.normal(0, 0.1, (*shape, groups))
        v["beta_g"] = v["beta"][:, :, None, :] + rng.normal(0, 0.05, (*shape, groups, j))
        v["tau"] = rng.uniform(0.1, 0.5, (*shape, len(names.group_effects)))
        levels = sum(len(design.crossed[f].levels) for f, _ in names.crossed)
        v["cross_level"] = rng.normal(0, 0.1, (*shape, levels))
        v["theta"] = theta[:, :, None, :]
        v["sigma"] = rng.uniform(0.2, 0.4, (*shape, groups))
    else:
        v["theta"] = theta
        v["sigma"] = rng.uniform(0.2, 0.4, shape)
    return Draws("mcmc", v)


def test_registry_names_match_the_config_choices_and_programs_exist() -> None:
    assert set(typing.get_args(models.ModelClass)) == set(classes.REGISTRY)
    for name, model_class in classes.REGISTRY.items():
        assert model_class.name == name
        assert programs.program(name).name == model_class.program
    with pytest.raises(KeyError, match="unknown model class 'tobit'"):
        classes.get("tobit")


def test_nothing_outside_the_registry_branches_on_a_class_name() -> None:
    pattern = re.compile(r"model_class\s*[!=]=|model_class\s+(not\s+)?in\b")
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in (ROOT / "mmm_runner").rglob("*.py")
        if "classes" not in path.parts
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


@pytest.mark.parametrize(
    ("config", "builder"),
    [
        ("single_market.yaml", stan_data.blm_data),
        ("pooled.yaml", stan_data.blm_data),
        ("panel_hierarchical.yaml", stan_data.hierarchical_data),
        ("nested.yaml", network_data.network_data),
    ],
)
def test_stan_data_hook_is_the_programs_builder(config: str, builder: Any) -> None:
    result, design, _ = _setup(config)
    model_class = classes.get(result.spec.model_class)
    for options in ({}, {"use_jacobian": False, "save_mu": True}):
        ours = model_class.stan_data(design, result.spec, **options)
        theirs = builder(design, result.spec, **options)
        assert ours.keys() == theirs.keys()
        for key, value in ours.items():
            np.testing.assert_array_equal(np.asarray(value), np.asarray(theirs[key]))


def test_single_market_posterior_hooks_flatten_chain_by_chain() -> None:
    result, design, names = _setup("single_market.yaml")
    blm = classes.get("blm")
    draws = _draws(names, design)
    post = blm.posterior(draws, design, result.spec)
    assert post.n_draws == CHAINS * DRAWS
    assert post.n_chains == CHAINS
    np.testing.assert_array_equal(post.alpha[:DRAWS], draws.variables["alpha"][0])
    np.testing.assert_array_equal(post.beta_g[:, 0, :], post.beta)
    variables = blm.posterior_variables(draws.variables, design, result.spec)
    assert {k: v[0] for k, v in variables.items()} == {
        "alpha": [],
        "beta": ["coef"],
        "theta": ["transform_param"],
        "sigma": [],
    }
    quantities = blm.quantities(post, design, result.spec, names)
    tv = names.beta.index("tv")
    np.testing.assert_allclose(quantities["tv"][2], post.beta[:, tv] * design.y_sd)
    np.testing.assert_allclose(quantities["sigma"][2], post.sigma * design.y_sd)
    # The intercept on the original scale: y_mean + y_sd * (alpha - sum beta_j x_mean_j / x_sd_j).
    m = len(result.spec.media)
    shift = sum(
        post.beta[:, m + k] * design.x_mean[k] / design.x_sd[k] for k in range(len(design.columns))
    )
    np.testing.assert_allclose(
        quantities["intercept"][2], design.y_mean + design.y_sd * (post.alpha - shift)
    )
    assert not any(name.startswith(("level[", "sd_")) for name in quantities)


def test_hierarchical_posterior_hooks_keep_the_group_axis() -> None:
    result, design, names = _setup("panel_hierarchical.yaml")
    model_class = classes.get("hierarchical")
    draws = _draws(names, design, groups=design.n_groups)
    post = model_class.posterior(draws, design, result.spec)
    assert post.beta_g.shape == (CHAINS * DRAWS, design.n_groups, len(names.beta))
    assert post.tau.shape[1] == len(names.group_effects)
    variables = model_class.posterior_variables(draws.variables, design, result.spec)
    assert variables["beta_g"][0] == ["group", "coef"]
    assert variables["theta"][1].ndim == 4
    quantities = model_class.quantities(post, design, result.spec, names)
    for group in design.group_names:
        assert f"intercept[{group}]" in quantities
        assert f"sigma[{group}]" in quantities
    assert {f"sd_{e}" for e in names.group_effects} <= set(quantities)


def test_pooled_hooks_add_label_levels_and_their_table() -> None:
    result, design, names = _setup("pooled.yaml")
    model_class = classes.get("pooled")
    draws = _draws(names, design)
    n_labels, dims = len(names.labels), len({d for d, _ in names.labels})
    rng = np.random.default_rng(3)
    draws.variables.update(
        pool_mu=rng.normal(0, 0.2, (CHAINS, DRAWS, 1)),
        pool_z=rng.normal(0, 1, (CHAINS, DRAWS, n_labels)),
        pool_tau=rng.uniform(0.1, 0.3, (CHAINS, DRAWS, dims)),
        pool_sigma=rng.uniform(0.1, 0.3, (CHAINS, DRAWS, 1)),
    )
    post = model_class.posterior(draws, design, result.spec)
    assert set(post.pool) == {"pool_mu", "pool_z", "pool_tau", "pool_sigma"}
    quantities = model_class.quantities(post, design, result.spec, names)
    dim, label = names.labels[0]
    first_dim = sorted({d for d, _ in names.labels}).index(dim)
    log_level = (
        post.pool["pool_mu"][:, 0]
        + post.pool["pool_tau"][:, first_dim] * (post.pool["pool_z"][:, 0])
    )
    expected = np.exp(log_level + 0.5 * post.pool["pool_sigma"][:, 0] ** 2) * design.y_sd
    np.testing.assert_allclose(quantities[f"level[{dim}={label}]"][2], expected)
    decomposition = model_class.decompose(post, design, result.spec, names)
    tables = model_class.extra_tables(post, decomposition, design, result.spec, names)
    assert list(tables) == ["decomp_labels.csv"]
    assert set(tables["decomp_labels.csv"]["dimension"]) == {d for d, _ in names.labels}
    assert classes.get("blm").extra_tables(post, decomposition, design, result.spec, names) == {}


@pytest.mark.parametrize("config", ["single_market.yaml", "panel_hierarchical.yaml"])
def test_decomposition_adds_up_to_the_fit(config: str) -> None:
    result, design, names = _setup(config)
    model_class = classes.get(result.spec.model_class)
    groups = design.n_groups if model_class.panel else 0
    post = model_class.posterior(_draws(names, design, groups=groups), design, result.spec)
    parts = model_class.decompose(post, design, result.spec, names)
    total = sum(parts.contributions.values())
    np.testing.assert_allclose(total, parts.expected, rtol=1e-10)
    np.testing.assert_allclose(
        parts.expected,
        design.y_mean + design.y_sd * effects.linear_predictor(post, design, result.spec, names),
        rtol=1e-10,
    )


def test_budget_hook_starts_from_the_last_periods_spend() -> None:
    result, design, names = _setup("single_market.yaml")
    model_class = classes.get("blm")
    post = model_class.posterior(_draws(names, design), design, result.spec)
    parts = model_class.decompose(post, design, result.spec, names)
    response, current = model_class.budget_response(post, design, result.spec, names, parts, 13)
    np.testing.assert_allclose(current, design.spend[-13:].sum(axis=0))
    assert [c.name for c in response.channels] == list(result.spec.media_names)
    for channel, m in zip(response.channels, range(len(current)), strict=True):
        np.testing.assert_allclose(channel.effect, post.beta[:, m] * design.y_sd)
        np.testing.assert_allclose(channel.pattern.sum(axis=1), 1.0)


def test_config_rules_of_each_class() -> None:
    result, _, _ = _setup("single_market.yaml")
    config, spec = result.loaded.config, result.spec

    def problems(name: str, config: models.RunConfig) -> list[str]:
        out = Collector(None)
        classes.get(name).config_rules(config, spec, out)
        return [f"{p.location}: {p.message}" for p in out.problems]

    assert problems("blm", config) == []
    panel = config.model_copy(
        update={"data": config.data.model_copy(update={"group_column": "m"})}
    )
    assert problems("blm", panel) == [
        "data.group_column: model.class blm fits one series, but data.group_column is set"
    ]
    assert problems("hierarchical", panel) == []
    assert problems("hierarchical", config) == [
        "data.group_column: a hierarchical model needs the column naming each row's group"
    ]
    assert problems("pooled", config)[0].startswith("model.pooling.labels: a pooled model needs")


def test_data_rules_of_the_hierarchical_class() -> None:
    result, _, _ = _setup("panel_hierarchical.yaml")
    config = result.loaded.config
    column = config.data.group_column
    frame = pd.DataFrame({column: ["north"] * 5})
    out = Collector(None)
    classes.get("hierarchical").data_rules(frame, config, out)
    assert [p.message for p in out.problems] == [
        f"a hierarchical model needs at least 2 groups; '{column}' has 1"
    ]
    out = Collector(None)
    classes.get("hierarchical").data_rules(pd.DataFrame({column: ["a", "b"]}), config, out)
    assert out.problems == []
