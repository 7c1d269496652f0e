"""Per-capita models: the design divides by population, every report is in totals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mmm_runner import classes
from mmm_runner.analysis import effects
from mmm_runner.analysis.posterior import Posterior
from mmm_runner.data.design import build_design
from mmm_runner.model import stan_data
from mmm_runner.validation import validate

ROOT = Path(__file__).resolve().parents[2]
TRUTH = json.loads((ROOT / "data" / "geo_population_truth.json").read_text())


def _setup():  # type: ignore[no-untyped-def]
    result = validate(ROOT / "config" / "geo_population.yaml")
    assert result.ok, result.errors
    assert result.frame is not None
    assert result.spec is not None
    assert result.loaded is not None
    design = build_design(result.frame, result.loaded.config, result.spec)
    return result.spec, design, stan_data.layout(design, result.spec)


def _true_posterior(spec, design, names) -> Posterior:  # type: ignore[no-untyped-def]
    """One draw at the generating parameters (per person, on the modelling scale)."""
    media = TRUTH["media"]
    theta = np.array(
        [
            [
                media[label.split(".")[0]][label.split(".")[1]][label.split(".")[2]]
                for label in names.theta
            ]
        ]
    )
    beta = np.zeros((1, len(names.beta)))
    for j, name in enumerate(spec.media_names):
        beta[0, j] = media[name]["beta_per_person"] / design.y_sd
    groups = design.n_groups
    return Posterior(
        np.zeros(1),
        beta,
        theta[:, None, :],
        np.ones((1, groups)),
        np.zeros((1, groups)),
        np.repeat(beta[:, None, :], groups, axis=1),
        np.zeros((1, 1)),
        1,
    )


def test_the_model_sees_per_capita_kpi_and_media() -> None:
    _spec, design, _ = _setup()
    people = design.population
    assert people is not None
    np.testing.assert_allclose(
        design.media_scale[0], TRUTH["media"]["tv"]["media_scale_per_person"]
    )
    per_capita = design.kpi / people
    np.testing.assert_allclose(design.y * design.y_sd + design.y_mean, per_capita)
    np.testing.assert_allclose(design.media[:, 0] * people, design.spend[:, 0])  # spend: totals


def test_contributions_at_the_true_parameters_are_the_true_totals() -> None:
    spec, design, names = _setup()
    post = _true_posterior(spec, design, names)
    parts = effects.log_scale_parts(post, design, spec, names)
    for name in spec.media_names:
        assert parts[name].sum() == pytest.approx(TRUTH["media"][name]["total_contribution"])


def test_the_budget_plans_totals_and_counts_every_person() -> None:
    spec, design, names = _setup()
    post = _true_posterior(spec, design, names)
    model_class = classes.get("hierarchical")
    parts = model_class.decompose(post, design, spec, names)
    response, current = model_class.budget_response(post, design, spec, names, parts, 13)
    people = np.array([TRUTH["population"][g] for g in design.group_names], dtype=float)
    for channel in response.channels:
        assert channel.per_unit is not None
        np.testing.assert_allclose(channel.per_unit, 1 / people)
        assert channel.effect.shape == (1, design.n_groups)
        beta = TRUTH["media"][channel.name]["beta_per_person"]
        np.testing.assert_allclose(channel.effect[0], beta * people)
    last = design.spend[
        np.concatenate([np.flatnonzero(design.group == g)[-13:] for g in range(8)])
    ]
    np.testing.assert_allclose(current, last.sum(axis=0))
