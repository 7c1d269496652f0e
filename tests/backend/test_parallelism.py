"""Chains at once and threads per chain, from the config and the cores (no compiler)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from mmm_runner.backend.fit import GROUPS_PER_THREAD, cores_per_fit, parallelism
from mmm_runner.config.models import AUTO_DENSE_MAX, FitConfig
from mmm_runner.system import usable_cores


def _fit(**fields: Any) -> FitConfig:
    return FitConfig.model_validate(fields)


@pytest.mark.parametrize(
    ("cores", "chains", "groups", "expected"),
    [
        (2, 4, 40, (2, 1)),  # the chains take every core
        (8, 4, 40, (4, 2)),  # two cores per chain
        (16, 4, 40, (4, 4)),
        (16, 4, 16, (4, 2)),  # a thread per GROUPS_PER_THREAD groups at most
        (16, 4, 8, (4, 1)),  # too few groups to share
        (16, 4, 0, (4, 1)),  # the program cannot split its likelihood
        (3, 1, 40, (1, 3)),
    ],
)
def test_auto_threads_use_the_cores_the_chains_leave(
    cores: int, chains: int, groups: int, expected: tuple[int, int]
) -> None:
    plan = parallelism(_fit(chains=chains), "mcmc", groups, cores=cores)
    assert (plan.parallel_chains, plan.threads_per_chain) == expected
    assert plan.num_threads <= cores
    assert plan.as_dict()["threads_per_chain_setting"] == "auto"


def test_set_threads_and_chains_are_taken_as_given() -> None:
    plan = parallelism(_fit(chains=4, parallel_chains=1, threads_per_chain=2), "mcmc", 40, 2)
    assert (plan.parallel_chains, plan.threads_per_chain, plan.num_threads) == (1, 2, 2)
    # at most one thread per group; none for a program that cannot split
    assert parallelism(_fit(threads_per_chain=8), "mcmc", 3, 16).threads_per_chain == 3
    assert parallelism(_fit(threads_per_chain=8), "mcmc", 0, 16).threads_per_chain == 1
    # the optimisers and Pathfinder run one thread
    assert parallelism(_fit(threads_per_chain=2), "map", 40, 16).threads_per_chain == 1
    assert GROUPS_PER_THREAD >= 1


def test_manifest_record_and_cores_per_fit() -> None:
    plan = parallelism(_fit(chains=4), "mcmc", 40, cores=8)
    assert plan.as_dict() == {
        "cores": 8,
        "chains": 4,
        "parallel_chains": 4,
        "threads_per_chain": 2,
        "threads_per_chain_setting": "auto",
        "num_threads": 8,
    }
    # a batch sizes its workers on set threads; auto takes what a worker is given
    assert cores_per_fit(_fit(chains=2, threads_per_chain=2), "mcmc") == min(4, usable_cores())
    assert cores_per_fit(_fit(chains=2), "mcmc") == min(2, usable_cores())


def test_threads_setting_is_a_positive_number_or_auto() -> None:
    assert _fit().threads_per_chain == "auto"
    assert _fit(threads_per_chain=3).threads_per_chain == 3
    for bad in (0, "some", 1.5):
        with pytest.raises(ValidationError):
            _fit(threads_per_chain=bad)


@pytest.mark.parametrize(
    ("fields", "iterations"),
    [
        ({}, 150),  # auto: the default warmup of 1000
        ({"warmup": 600}, 150),
        ({"warmup": 599}, 0),  # auto keeps the pilot within a quarter of the warmup
        ({"warmup": 1000, "warmup_pilot": 0}, 0),
        ({"warmup": 300, "warmup_pilot": 150}, 150),
    ],
)
def test_warmup_pilot_size(fields: dict[str, Any], iterations: int) -> None:
    assert _fit(**fields).pilot_iterations() == iterations


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"warmup_pilot": 49}, "too few to learn a metric"),
        ({"warmup": 400, "warmup_pilot": 251}, "leave 149 of the 400 warmup iterations"),
        ({"warmup_pilot": -1}, "greater than or equal to 0"),
    ],
)
def test_warmup_pilot_refusals_name_the_field(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        _fit(**fields)
    assert caught.value.errors()[0]["loc"][0] == "warmup_pilot"


def test_an_unvalidated_copy_runs_without_a_pilot_that_leaves_too_little_warmup() -> None:
    # the priors explorer copies fit settings with its own warmup (model_copy: no validation)
    copy = _fit(warmup_pilot=150).model_copy(update={"warmup": 250})
    assert copy.pilot_iterations() == 0


@pytest.mark.parametrize(
    ("metric", "parameters", "correlated", "dense"),
    [
        ("auto", 17, True, True),  # a multivariate model: its equations' parameters correlate
        ("auto", AUTO_DENSE_MAX, True, True),
        ("auto", AUTO_DENSE_MAX + 1, True, False),  # too many to adapt their covariance well
        ("auto", None, True, False),  # no pilot counted them
        ("auto", 17, False, False),  # a single-KPI model: diag measured faster (decision 0022)
        ("dense", None, False, True),
        ("dense", 500, False, True),
        ("diag", 3, True, False),
    ],
)
def test_the_metric_follows_the_setting_the_class_and_the_parameter_count(
    metric: str, parameters: int | None, correlated: bool, dense: bool
) -> None:
    assert _fit(metric=metric).dense_metric(parameters, correlated) is dense


def test_an_unknown_metric_is_refused_at_its_field() -> None:
    with pytest.raises(ValidationError, match="'auto', 'diag' or 'dense'") as caught:
        _fit(metric="unit")
    assert caught.value.errors()[0]["loc"][0] == "metric"
