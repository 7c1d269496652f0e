"""Time-varying media effects: the drift basis, its NumPy multiplier and the config rules
(no compiler; the Stan side is checked against these in tests/pipeline/test_drift.py)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from mmm_runner.data.design import build_design
from mmm_runner.model import hsgp, stan_data
from mmm_runner.validation import Validation, validate

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = yaml.safe_load((ROOT / "config" / "drift.yaml").read_text())


def _validate(tmp_path: Path, config: dict[str, Any]) -> Validation:
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return validate(path)


def _example(holdout: int = 0) -> dict[str, Any]:
    config = copy.deepcopy(EXAMPLE)
    config["data"]["path"] = str(ROOT / "data" / "drift.csv")
    config["data"]["holdout"] = holdout
    return config


def _design(tmp_path: Path, config: dict[str, Any]) -> tuple[Any, Any]:
    result = _validate(tmp_path, config)
    assert result.ok, [p.render() for p in result.errors]
    assert result.spec is not None
    assert result.frame is not None
    assert result.loaded is not None
    return build_design(result.frame, result.loaded.config, result.spec), result.spec


def _draws(rng: np.random.Generator, draws: int, channels: int, m: int) -> dict[str, Any]:
    return {
        "tvp_z": rng.normal(size=(draws, channels, m)),
        "tvp_amplitude": rng.uniform(0.1, 0.8, (draws, channels)),
        "tvp_lengthscale": rng.uniform(30, 120, (draws, channels)),
    }


def test_the_multiplier_is_one_on_average_and_held_after_the_fit(tmp_path: Path) -> None:
    design, spec = _design(tmp_path, _example(holdout=8))
    dom, phi = hsgp.drift_basis(design, spec)
    assert dom is not None
    assert phi.shape == (design.n_rows, dom.functions)
    last = np.flatnonzero(design.fitted)[-1]
    np.testing.assert_array_equal(phi[~design.fitted], np.tile(phi[last], (8, 1)))
    pool = _draws(np.random.default_rng(1), 50, 1, dom.functions)
    drift = hsgp.drift_multipliers(design, spec, pool)
    assert drift.shape == (50, 1, design.n_rows)
    np.testing.assert_allclose(np.log(drift[:, 0, design.fitted]).mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(drift[:, 0, ~design.fitted], drift[:, 0, [last] * 8])
    latest = hsgp.latest_drift(design, spec, pool)
    np.testing.assert_allclose(latest["tv"], drift[:, 0, last])


def test_the_multiplier_follows_the_gp_formula(tmp_path: Path) -> None:
    design, spec = _design(tmp_path, _example())
    dom, phi = hsgp.drift_basis(design, spec)
    assert dom is not None
    pool = _draws(np.random.default_rng(2), 3, 1, dom.functions)
    eigen = hsgp.eigenvalues(dom)
    for d in range(3):
        ell = pool["tvp_lengthscale"][d, 0] / dom.half_range
        amp = pool["tvp_amplitude"][d, 0]
        sd = amp * (2 * np.pi) ** 0.25 * np.sqrt(ell) * np.exp(-0.25 * ell**2 * eigen)
        f = phi @ (sd * pool["tvp_z"][d, 0])
        expected = np.exp(f - f.mean())
        np.testing.assert_allclose(hsgp.drift_multipliers(design, spec, pool)[d, 0], expected)


def test_the_stan_fields(tmp_path: Path) -> None:
    design, spec = _design(tmp_path, _example())
    data = stan_data.blm_data(design, spec)
    assert data["n_tvp"] == 1
    assert data["tvp_channel"] == [1]
    assert data["tvp_basis"].shape == (156, data["m_tvp"])
    length, amplitude = hsgp.drift_priors(spec.media[0], 156)
    assert data["tvp_lengthscale_prior_args"][0][0] == length.stan_args()[0]
    assert amplitude.stan_args()[0] == 0.3  # half_normal(0.3) by default
    names = stan_data.layout(design, spec)
    assert names.drifting == ("tv",)
    assert names.drift_basis == data["m_tvp"]
    plain = copy.deepcopy(_example())
    plain["model"]["media"][0].pop("time_varying")
    design, spec = _design(tmp_path, plain)
    data = stan_data.blm_data(design, spec)
    assert data["n_tvp"] == 0
    assert data["tvp_basis"].shape == (156, 0)


def _errors(result: Validation) -> list[tuple[str, str]]:
    return [(p.location, f"{p.message} | {p.fix}") for p in result.errors]


def _reported(result: Validation, location: str, text: str) -> bool:
    return any(loc.endswith(location) and text in body for loc, body in _errors(result))


def test_a_lift_test_or_roi_prior_on_a_drifting_channel_is_refused(tmp_path: Path) -> None:
    config = _example()
    config["calibration"] = {
        "lift_tests": [
            {
                "channel": "tv",
                "start": "2024-03-04",
                "end": "2024-04-22",
                "spend_change": -0.5,
                "lift": -4000,
                "se": 800,
            }
        ],
        "roi_priors": [{"channel": "tv", "prior": "lognormal(0, 0.5)"}],
    }
    result = _validate(tmp_path, config)
    assert len(result.errors) == 2, _errors(result)
    assert _reported(result, "calibration.lift_tests[0].channel", "time-varying"), _errors(result)
    assert _reported(result, "calibration.roi_priors[0].channel", "time-varying"), _errors(result)


def test_the_network_classes_refuse_drifting_channels(tmp_path: Path) -> None:
    config = yaml.safe_load((ROOT / "config" / "nested.yaml").read_text())
    config["data"]["path"] = str(ROOT / "data" / "nested.csv")
    first = config["model"]["media"][0]
    config["model"]["media"][0] = {**first, "time_varying": True}
    result = _validate(tmp_path, config)
    assert _reported(result, "model.media[0].time_varying", "time-varying channels"), _errors(
        result
    )


def test_time_varying_takes_true_or_its_priors(tmp_path: Path) -> None:
    config = _example()
    config["model"]["media"][0]["time_varying"] = {"amplitude_prior": "normal(0, 1)"}
    result = _validate(tmp_path, config)
    assert _reported(result, "time_varying", "positive values"), _errors(result)
    config["model"]["media"][0]["time_varying"] = {"lengthscale_prior": "lognormal(4, 0.3)"}
    assert _validate(tmp_path, config).ok
