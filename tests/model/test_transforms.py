"""Contract and properties of every registered adstock and saturation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmm_runner.config.notation import parse_distribution
from mmm_runner.model import transforms

positive = st.floats(0.05, 5.0)
unit = st.floats(0.01, 0.99)


def _params(form: transforms.Adstock | transforms.Saturation, draw: st.DrawFn) -> dict:  # type: ignore[type-arg]
    values = {}
    for p in form.params:
        strategy = unit if p.upper == 1.0 else positive
        values[p.name] = np.array([draw(strategy)])
    return values


@pytest.mark.parametrize("registry", [transforms.ADSTOCKS, transforms.SATURATIONS])
def test_registry_contract(registry: dict) -> None:  # type: ignore[type-arg]
    codes = [c.code for c in registry.values()]
    assert sorted(codes) == list(range(len(codes)))  # the Stan programs switch on 0..n-1
    for name, form in registry.items():
        assert form.name == name
        assert form.description
        names = [p.name for p in form.params]
        assert len(names) == len(set(names))
        for p in form.params:
            prior = parse_distribution(p.default_prior)
            low, high = prior.support()
            assert p.lower <= low, f"{name}.{p.name}"
            assert high <= p.upper, f"{name}.{p.name}"
            assert p.description


@settings(max_examples=60, deadline=None)
@given(data=st.data(), name=st.sampled_from(sorted(transforms.ADSTOCKS)), l_max=st.integers(1, 16))
def test_adstock_weights_are_a_distribution_over_lags(
    data: st.DataObject, name: str, l_max: int
) -> None:
    form = transforms.ADSTOCKS[name]
    weights = form.weights(_params(form, data.draw), l_max)
    assert weights.shape == (1, l_max)
    assert np.all(weights >= 0)
    assert weights.sum() == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    name=st.sampled_from(sorted(transforms.ADSTOCKS)),
    series=st.lists(st.floats(0, 100), min_size=1, max_size=40),
)
def test_adstock_conserves_mass_and_keeps_zero_at_zero(
    data: st.DataObject, name: str, series: list[float]
) -> None:
    form = transforms.ADSTOCKS[name]
    l_max = 6
    x = np.array(series + [0.0] * l_max)  # room for the carry-over to land
    carried = transforms.apply_adstock(x, form.weights(_params(form, data.draw), l_max))
    assert carried.sum() == pytest.approx(x.sum(), rel=1e-9, abs=1e-9)
    zero = transforms.apply_adstock(np.zeros(10), form.weights(_params(form, data.draw), l_max))
    assert np.all(zero == 0)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), name=st.sampled_from(sorted(transforms.SATURATIONS)))
def test_saturation_is_monotone_bounded_and_zero_at_zero(data: st.DataObject, name: str) -> None:
    form = transforms.SATURATIONS[name]
    params = _params(form, data.draw)
    x = np.concatenate(
        [[0.0], np.sort(np.array(data.draw(st.lists(st.floats(0, 50), min_size=2, max_size=30))))]
    )
    y = form.apply(x[None, :], params)[0]
    assert y[0] == 0.0
    assert np.all(np.diff(y) >= -1e-12)
    if name not in ("none", "log1p"):  # the linear and logarithmic forms have no ceiling
        assert np.all((y >= 0) & (y < 1 + 1e-12))


def test_transform_keeps_each_forms_parameters_apart() -> None:
    x = np.array([0.0, 2.0, 0.0, 1.0, 0.0, 0.0])
    out = transforms.transform(
        x,
        "weibull",
        {"shape": np.array([1.5]), "scale": np.array([3.0])},
        "tanh",
        {"scale": np.array([1.2])},
        4,
    )
    weights = transforms.ADSTOCKS["weibull"].weights(
        {"shape": np.array([1.5]), "scale": np.array([3.0])}, 4
    )
    expected = np.tanh(transforms.apply_adstock(x, weights)[0] / 1.2)
    np.testing.assert_allclose(out[0], expected)


def test_transform_vectorises_over_draws_and_groups() -> None:
    x = np.abs(np.random.default_rng(1).normal(size=(3, 20)))  # three groups
    decay = np.array([0.1, 0.5, 0.9, 0.3])
    out = transforms.transform(
        x,
        "geometric",
        {"decay": decay},
        "hill",
        {"half_saturation": np.full(4, 1.0), "shape": np.full(4, 2.0)},
        5,
    )
    assert out.shape == (4, 3, 20)
    single = transforms.transform(
        x[1],
        "geometric",
        {"decay": decay[2:3]},
        "hill",
        {"half_saturation": np.ones(1), "shape": np.full(1, 2.0)},
        5,
    )
    np.testing.assert_allclose(out[2, 1], single[0])


def test_media_scale_is_the_mean_of_active_periods() -> None:
    assert transforms.media_scale([0, 2, 4, 0]) == 3.0
    assert transforms.media_scale([0, 0]) == 1.0
