"""The network program (stan/network.stan) and its NumPy twin.

* The twin's conditional-normal algebra (mediators integrated out) agrees
  with the explicit joint normal of mediator observations and outcomes.
* The Stan program agrees with the twin to 1e-8 on given parameter values.
* A nested model fitted to simulated data recovers its coefficients.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import arviz as az
import numpy as np
import pytest
from scipy import stats

from mmm_runner.data import simulate_network as sn
from mmm_runner.model import network, transforms
from mmm_runner.model.transforms import media_scale

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "stan" / "network.stan"
NORMAL, GAMMA, BETA, HALF_NORMAL = 1, 5, 6, 8  # prior family codes (config.notation)


# ---------------------------------------------------------------------------
# Building data dicts by hand


def lag_matrix(x: np.ndarray, window: int) -> np.ndarray:
    """x at lags 0..window-1, zero before the series starts."""
    out = np.zeros((len(x), window))
    for lag in range(window):
        out[lag:, lag] = x[: len(x) - lag]
    return out


def standardise(x: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, float, float]:
    mean, sd = float(x[rows].mean()), float(x[rows].std())
    return (x - mean) / sd, mean, sd


def blank_data(
    y: np.ndarray, fit_rows: np.ndarray, media: list[np.ndarray], window: int
) -> dict[str, Any]:
    """A data dict with outcomes and media and nothing else (no sets, paths, mediators...)."""
    rows, n_out = y.shape
    empty = np.zeros((rows, 0))
    return {
        "T": rows,
        "N": len(fit_rows),
        "fit_rows": fit_rows + 1,
        "D": 0,
        "K": n_out,
        "Y": y,
        "med_value": empty,
        "med_observed": np.zeros((rows, 0), dtype=int),
        "med_type": [],
        "M": len(media),
        "L": window,
        "X_lag": np.array([lag_matrix(x, window) for x in media]).reshape(
            len(media), rows, window
        ),
        "Q": 0,
        "set_channel": [],
        "adstock_type": [],
        "l_max": [],
        "saturation_type": [],
        "theta_start": [],
        "P": 0,
        "theta_lower": [],
        "theta_upper": [],
        "theta_prior": [],
        "theta_prior_args": np.zeros((0, 3)),
        "B": 0,
        "path_eq": [],
        "path_set": [],
        "beta_lower": [],
        "beta_upper": [],
        "beta_prior": [],
        "beta_prior_args": np.zeros((0, 3)),
        "KX": 0,
        "X": empty,
        "BX": 0,
        "xcoef_eq": [],
        "xcoef_col": [],
        "xcoef_lower": [],
        "xcoef_upper": [],
        "xcoef_prior": [],
        "xcoef_prior_args": np.zeros((0, 3)),
        "alpha_prior": [NORMAL] * n_out,
        "alpha_prior_args": np.tile([0.0, 5.0, 0.0], (n_out, 1)),
        "sigma_prior": [HALF_NORMAL] * n_out,
        "sigma_prior_args": np.tile([1.0, 0.0, 0.0], (n_out, 1)),
        "G": 0,
        "gamma_from": [],
        "gamma_to": [],
        "gamma_lower": [],
        "gamma_upper": [],
        "gamma_prior": [],
        "gamma_prior_args": np.zeros((0, 3)),
        "gamma_pinned": [],
        "nu_prior": [],
        "nu_prior_args": np.zeros((0, 3)),
        "C": 0,
        "cross_to": [],
        "cross_from": [],
        "cross_lag": [],
        "cross_mod": empty,
        "y_offset": np.zeros(n_out),
        "outcome_order": list(range(1, n_out + 1)),
        "psi_lower": [],
        "psi_upper": [],
        "psi_prior": [],
        "psi_prior_args": np.zeros((0, 3)),
        "n_tests": 0,
        "test_channel": [],
        "test_from": [],
        "test_len": [],
        "test_first_row": [],
        "n_test_rows": 0,
        "test_lag_with": np.zeros((0, window)),
        "test_lag_without": np.zeros((0, window)),
        "test_weight": np.zeros((0, n_out)),
        "test_lift": [],
        "test_se": [],
        "correlated": 0,
        "lkj_eta": 2.0,
        "prior_only": 0,
        "save_mu": 1,
        "use_jacobian": 1,
    }


def add_mediators(
    data: dict[str, Any], values: np.ndarray, observed: np.ndarray, types: list[int]
) -> None:
    """Mediators (columns of values; unobserved cells are set to 0) ahead of the outcomes."""
    n_med = len(types)
    n_eq = n_med + data["K"]
    data.update(
        D=n_med,
        med_value=np.where(observed == 1, np.nan_to_num(values), 0.0),
        med_observed=observed.astype(int),
        med_type=types,
        alpha_prior=[NORMAL] * n_eq,
        alpha_prior_args=np.tile([0.0, 5.0, 0.0], (n_eq, 1)),
        sigma_prior=[HALF_NORMAL] * n_eq,
        sigma_prior_args=np.tile([1.0, 0.0, 0.0], (n_eq, 1)),
        nu_prior=[HALF_NORMAL] * n_med,
        nu_prior_args=np.tile([1.0, 0.0, 0.0], (n_med, 1)),
    )


def add_sets(
    data: dict[str, Any],
    sets: list[tuple[int, str, int, str]],
    priors: list[tuple[int, list[float]]],
) -> None:
    """Feature sets (channel 1-based, adstock, l_max, saturation) with their theta priors."""
    starts, lower, upper = [], [], []
    for _, adstock, _, saturation in sets:
        starts.append(len(lower) + 1)
        for form in (transforms.ADSTOCKS[adstock], transforms.SATURATIONS[saturation]):
            lower += [p.lower for p in form.params]
            upper += [p.upper for p in form.params]
    data.update(
        Q=len(sets),
        set_channel=[s[0] for s in sets],
        adstock_type=[transforms.ADSTOCKS[s[1]].code for s in sets],
        l_max=[s[2] for s in sets],
        saturation_type=[transforms.SATURATIONS[s[3]].code for s in sets],
        theta_start=starts,
        P=len(lower),
        theta_lower=lower,
        theta_upper=upper,
        theta_prior=[p[0] for p in priors],
        theta_prior_args=np.array([p[1] for p in priors]).reshape(-1, 3),
    )


def coefficient_block(
    prefix: str, n: int, lower: float, prior: tuple[int, list[float]]
) -> dict[str, Any]:
    """Bounds and priors of n coefficients sharing one prior."""
    return {
        f"{prefix}_lower": [lower] * n,
        f"{prefix}_upper": [np.inf] * n,
        f"{prefix}_prior": [prior[0]] * n,
        f"{prefix}_prior_args": np.tile(prior[1], (n, 1)),
    }


# ---------------------------------------------------------------------------
# (a) The conditional algebra against the explicit joint normal


def algebra_case() -> tuple[dict[str, Any], network.NetworkParams, dict[str, np.ndarray]]:
    """Three mediators (exact, noisy, latent), two correlated outcomes, X terms and a
    cross-effect; no media, so the structural means are easy to write out here."""
    rng = np.random.default_rng(7)
    rows = 9
    fit = np.arange(7)  # two holdout rows
    y = rng.normal(size=(rows, 2))
    data = blank_data(y, fit, [], 1)
    observed = np.ones((rows, 3), dtype=int)
    observed[[1, 4, 5], 1] = 0  # the noisy mediator is seen in some rows only
    observed[3, 0] = 0  # an exact mediator missing in one row
    observed[:, 2] = 0
    values = rng.normal(size=(rows, 3))
    add_mediators(data, values, observed, [1, 2, 3])
    x = rng.normal(size=(rows, 2))
    modulator = rng.normal(size=(rows, 1))
    cross_x = modulator * y[:, :1]  # outcome 1 into outcome 2 in the same row
    data.update(
        KX=2,
        X=x,
        BX=4,
        xcoef_eq=[1, 2, 4, 5],
        xcoef_col=[1, 2, 1, 2],
        **coefficient_block("xcoef", 4, -np.inf, (NORMAL, [0.0, 1.0, 0.0])),
        G=4,
        gamma_from=[1, 2, 3, 2],
        gamma_to=[1, 1, 2, 2],
        **coefficient_block("gamma", 4, -np.inf, (NORMAL, [0.0, 1.0, 0.0])),
        gamma_pinned=[0] * 4,
        C=1,
        cross_to=[2],
        cross_from=[1],
        cross_lag=[0],
        cross_mod=modulator,
        **coefficient_block("psi", 1, -np.inf, (NORMAL, [0.0, 1.0, 0.0])),
        correlated=1,
    )
    r = np.array([[1.0, 0.35], [0.35, 1.0]])
    params = network.NetworkParams(
        alpha=np.array([0.2, -0.1, 0.3, 0.5, -0.4]),
        beta=np.zeros(0),
        theta=np.zeros(0),
        xcoef=np.array([0.7, -0.3, 0.4, 0.2]),
        sigma=np.array([0.8, 0.6, 0.9, 0.5, 0.7]),
        gamma=np.array([0.6, -0.5, 0.8, 0.3]),
        nu=np.array([0.45]),
        psi=np.array([-0.25]),
        R=r,
    )
    # Structural means written out: mediators, and outcomes without their mediator terms.
    m = params.alpha[:3] + np.column_stack([0.7 * x[:, 0], -0.3 * x[:, 1], np.zeros(rows)])
    mu0 = params.alpha[3:] + np.column_stack([0.4 * x[:, 0], 0.2 * x[:, 1] - 0.25 * cross_x[:, 0]])
    gam = np.array([[0.6, 0.0], [-0.5, 0.3], [0.0, 0.8]])
    return data, params, {"m": m, "mu0": mu0, "gamma": gam, "values": values}


def test_conditional_algebra_matches_the_joint_normal() -> None:
    data, params, known = algebra_case()
    m, mu0, gam = known["m"], known["mu0"], known["gamma"]
    sigma_med, sd_y = params.sigma[:3], params.sigma[3:]
    nu_med = np.array([0.0, 0.45, 0.0])
    base = params.R * np.outer(sd_y, sd_y)
    means = network.structural_means(data, params)
    ll = network.log_likelihood(data, params)
    np.testing.assert_allclose(means.mu[:, :3], m, atol=1e-12)
    observed = np.asarray(data["med_observed"]) == 1
    observed[:, 2] = False
    for t in range(data["T"]):
        seen = np.flatnonzero(observed[t])
        # The joint normal of (M, M_obs[seen], y): M_obs = M + nu eps, y = mu0 + gam' M + e.
        a = np.vstack([np.eye(3), np.eye(3)[seen], gam.T])  # loadings on M
        noise = np.zeros((len(a), len(a)))
        noise[3 : 3 + len(seen), 3 : 3 + len(seen)] = np.diag(nu_med[seen] ** 2)
        noise[3 + len(seen) :, 3 + len(seen) :] = base
        cov = a @ np.diag(sigma_med**2) @ a.T + noise
        mean = np.concatenate([m[t], m[t, seen], mu0[t] + gam.T @ m[t]])
        obs = np.concatenate([known["values"][t, seen], data["Y"][t]])
        hidden, shown = np.arange(3), np.arange(3, len(a))
        # M given the observations (Schur complement).
        gain = cov[np.ix_(hidden, shown[: len(seen)])] @ np.linalg.inv(
            cov[np.ix_(shown[: len(seen)], shown[: len(seen)])]
        )
        cond_mean = m[t] + gain @ (obs[: len(seen)] - mean[3 : 3 + len(seen)])
        cond_cov = cov[:3, :3] - gain @ cov[np.ix_(shown[: len(seen)], hidden)]
        np.testing.assert_allclose(means.med_mean[t], cond_mean, atol=1e-12)
        np.testing.assert_allclose(means.med_var[t], np.diag(cond_cov), atol=1e-12)
        np.testing.assert_allclose(cond_cov - np.diag(np.diag(cond_cov)), 0.0, atol=1e-12)
        # Outcomes given the observations: the twin's row covariance.
        s_oo = cov[np.ix_(shown[: len(seen)], shown[: len(seen)])]
        s_yo = cov[np.ix_(shown[len(seen) :], shown[: len(seen)])]
        y_cov = cov[np.ix_(shown[len(seen) :], shown[len(seen) :])] - s_yo @ np.linalg.solve(
            s_oo, s_yo.T
        )
        np.testing.assert_allclose(ll.cov[t], y_cov, atol=1e-12)
        if t not in data["fit_rows"] - 1:
            continue
        n = int(np.flatnonzero(data["fit_rows"] - 1 == t)[0])
        joint = stats.multivariate_normal(mean[shown], cov[np.ix_(shown, shown)]).logpdf(obs)
        assert ll.log_lik[n] == pytest.approx(joint, abs=1e-10)
        for k in range(2):
            # without the mediators' observations: the y block of the joint normal alone
            at = 3 + len(seen) + k
            alone = stats.norm(mean[at], np.sqrt(cov[at, at])).logpdf(data["Y"][t, k])
            assert ll.log_lik_marginal[n, k] == pytest.approx(alone, abs=1e-10)


def test_conditional_moments_match_monte_carlo() -> None:
    """E[M | M_obs] and Var[M | M_obs] of a noisy mediator, by simulation near one value."""
    rng = np.random.default_rng(3)
    sigma, nu, m, seen = 0.8, 0.5, 0.3, 1.1
    true = m + sigma * rng.standard_normal(2_000_000)
    obs = true + nu * rng.standard_normal(true.size)
    near = np.abs(obs - seen) < 0.01
    mean, var = network.conditional_mediators(
        np.array([[m]]),
        np.array([[seen]]),
        np.array([[network.NOISY]]),
        np.array([sigma]),
        np.array([nu]),
    )
    assert true[near].mean() == pytest.approx(mean[0, 0], abs=0.01)
    assert true[near].var() == pytest.approx(var[0, 0], rel=0.05)


def test_centred_intercepts_are_the_fitted_average_of_non_x_terms() -> None:
    data, params, _ = algebra_case()
    centred = network.centred_intercepts(data, params)
    means = network.structural_means(data, params)
    fit = data["fit_rows"] - 1
    x_terms = np.zeros((data["T"], 5))
    for j, (e, c) in enumerate(zip(data["xcoef_eq"], data["xcoef_col"], strict=True)):
        x_terms[:, e - 1] += params.xcoef[j] * data["X"][:, c - 1]
    expected = (means.mu - x_terms)[fit].mean(axis=0)
    np.testing.assert_allclose(centred, expected, atol=1e-12)


@pytest.mark.parametrize(
    ("med_type", "gamma_from", "gamma_to", "signed", "shared"),
    [
        ([1, 2], [1, 2], [1, 1], [1, 1], 0),  # no latent mediator: the sds as sampled
        ([3], [1], [1], [1], 1),  # one latent mediator and its outcome
        # two sharing their first outcome
        ([1, 3, 3], [1, 2, 3, 3, 2], [1, 2, 2, 1, 1], [1, 1, 1, 1, 1], 2),
        ([3, 3], [1, 2, 2], [2, 1, 2], [1, 1, 1], 2),  # two on different outcomes
        # the first one's gamma may cross 0: its sd as sampled; the second's share is
        # of its second, signed, outcome
        ([3, 3], [1, 2, 2], [2, 1, 2], [0, 0, 1], 1),
    ],
)
def test_latent_noise_shares_round_trip_with_their_jacobian(
    med_type: list[int], gamma_from: list[int], gamma_to: list[int], signed: list[int], shared: int
) -> None:
    data: dict[str, Any] = {"D": len(med_type), "K": 2, "med_type": med_type}
    lower = [0.0 if s else -np.inf for s in signed]
    data.update(gamma_from=gamma_from, gamma_to=gamma_to, gamma_lower=lower)
    data["gamma_upper"] = [np.inf] * len(signed)
    latent, _, eq = network.latent_noise_paths(data)
    assert latent.size == shared
    if shared == 1 and med_type == [3, 3]:
        assert list(latent) == [1]
        assert list(eq) == [3]  # outcome 2's equation, 0-based
    rng = np.random.default_rng(len(gamma_from))
    n_eq = len(med_type) + 2
    sigma, gamma = rng.uniform(0.2, 0.9, n_eq), rng.normal(0, 1, len(gamma_from))
    sigma_free, share_logit = network.sampled_noise(data, sigma, gamma)
    assert sigma_free.size == n_eq - shared
    assert share_logit.size == shared
    back, log_jac = network.equation_noise(data, sigma_free, share_logit, gamma)
    np.testing.assert_allclose(back, sigma, rtol=1e-12)
    # the log Jacobian against the determinant of a central-difference Jacobian
    x = np.concatenate([sigma_free, share_logit])

    def forward(v: np.ndarray) -> np.ndarray:
        return network.equation_noise(data, v[: sigma_free.size], v[sigma_free.size :], gamma)[0]

    step = 1e-6
    jac = np.column_stack(
        [(forward(x + step * e) - forward(x - step * e)) / (2 * step) for e in np.eye(x.size)]
    )
    assert log_jac == pytest.approx(np.log(abs(np.linalg.det(jac))), abs=1e-6)


def test_paired_paths_round_trip_with_their_jacobian() -> None:
    """A surveyed mediator's positive path pairs with the direct path of its feature set
    into the outcome it moves with a gamma bounded at 0, and so does a latent one's.
    Sampled as the pair's total and its mediated path (the survey's, whose gammas are
    shares of their walls) or the log ratio of its paths (the latent one's), the paths
    and gammas come back as they were, with the log Jacobian of that change: gammas,
    totals and second coordinates all move in the finite differences."""
    data, params = mixed_case()
    direct, mediated, gammas = network.path_pairs(data)
    wall_g, free_g, walled = network.walled_gammas(data)
    # the survey's gammas into A and B are walled, the first with two pairs; the
    # latent mediator's pair keeps its gamma free
    assert (wall_g.tolist(), walled.tolist()) == ([0, 1], [True, True, True, False])
    assert gammas.tolist() == [0, 1, 0, 3]
    rng = np.random.default_rng(2)
    beta_eff = rng.uniform(0.2, 1.0, len(data["path_eq"]))
    coords = network.sampled_paths(data, beta_eff, params.gamma)
    assert coords.solo.size == beta_eff.size - 8
    assert coords.ratio_log == pytest.approx(np.log(beta_eff[direct[3]] / beta_eff[mediated[3]]))
    back, gamma, log_jac = network.pair_effects(data, coords)
    np.testing.assert_allclose(back, beta_eff, rtol=1e-12)
    np.testing.assert_allclose(gamma, params.gamma, rtol=1e-12)
    sizes = np.cumsum([4, 1, 3, len(free_g)])
    x = np.concatenate(
        [coords.total, coords.ratio_log, coords.med_log, coords.gamma_free, coords.wall_logit]
    )

    def forward(v: np.ndarray) -> np.ndarray:
        parts = np.split(v, sizes)
        moved = network.PairCoordinates(coords.solo, *parts)
        out, gam, _ = network.pair_effects(data, moved)
        return np.concatenate([out[np.concatenate([direct, mediated])], gam])

    step = 1e-6
    jac = np.column_stack(
        [(forward(x + step * e) - forward(x - step * e)) / (2 * step) for e in np.eye(x.size)]
    )
    assert log_jac == pytest.approx(np.log(abs(np.linalg.det(jac))), abs=1e-6)
    # unsigned gammas, a gamma bounded above 0, or a fully observed mediator: nothing
    # is paired
    assert network.path_pairs(combined_case()[0])[0].size == 0
    lower = np.array(data["gamma_lower"], dtype=float)
    assert (
        network.path_pairs({**data, "gamma_lower": np.where(lower == 0, 0.1, lower)})[0].size == 0
    )
    exact = {**data, "med_type": [1, 1, 1]}
    assert network.path_pairs(exact)[0].size == 0


def test_a_walled_gamma_stops_where_a_direct_path_reaches_0() -> None:
    """A walled gamma's share of its wall near 1 leaves the pair that sets the wall a
    direct path near 0, and every other direct path positive; a gamma bounded above
    below its pairs' ratios walls at that bound."""
    data, params = mixed_case()
    direct, mediated, gammas = network.path_pairs(data)
    beta_eff = np.full(len(data["path_eq"]), 0.5)
    coords = network.sampled_paths(data, beta_eff, params.gamma)
    near = replace(coords, wall_logit=np.array([30.0, 30.0]))
    out, gamma, _ = network.pair_effects(data, near)
    assert (out[direct] >= 0).all()
    total = beta_eff[direct] + params.gamma[gammas] * beta_eff[mediated]
    walls = network.gamma_walls(data, total[:3], beta_eff[mediated[:3]])
    assert gamma[:2] == pytest.approx(walls)
    assert out[direct[:3]].min() == pytest.approx(0, abs=1e-9)
    upper = np.array(data["gamma_upper"], dtype=float)
    upper[1] = 0.01
    capped = network.gamma_walls({**data, "gamma_upper": upper}, total[:3], beta_eff[mediated[:3]])
    assert capped[1] == 0.01


def test_survey_noise_round_trips_with_its_jacobian() -> None:
    """A surveyed mediator's sd and its survey's, sampled as the survey's total sd and
    the mediator's share of its variance, come back as they were, with the log
    Jacobian of that change; the other equations' sds pass through."""
    data, params = combined_case()
    assert data["med_type"][0] == 2  # the survey
    total, logit = network.sampled_survey(data, params.sigma, params.nu)
    np.testing.assert_allclose(np.delete(total, 0), np.delete(params.sigma, 0))
    sigma, nu, log_jac = network.survey_noise(data, total, logit)
    np.testing.assert_allclose(sigma, params.sigma, rtol=1e-12)
    np.testing.assert_allclose(nu, params.nu, rtol=1e-12)
    x = np.concatenate([total[:1], logit])

    def forward(v: np.ndarray) -> np.ndarray:
        out = network.survey_noise(data, np.concatenate([v[:1], total[1:]]), v[1:])
        return np.concatenate([out[0][:1], out[1]])

    step = 1e-6
    jac = np.column_stack(
        [(forward(x + step * e) - forward(x - step * e)) / (2 * step) for e in np.eye(x.size)]
    )
    assert log_jac == pytest.approx(np.log(abs(np.linalg.det(jac))), abs=1e-6)


def test_paths_pair_in_order_once_each() -> None:
    """Mediated paths in order; for each, gammas in order and the first unpaired direct
    path of its set; a direct path with an upper bound is never paired."""
    data, _ = paired_case()
    direct, mediated, gammas = network.path_pairs(data)
    assert list(zip(direct, mediated, gammas, strict=True)) == [(8, 0, 0), (9, 3, 1), (5, 10, 0)]
    upper = np.array(data["beta_upper"], dtype=float)
    upper[9] = 3.0
    direct, mediated, _ = network.path_pairs({**data, "beta_upper": upper})
    assert (direct.tolist(), mediated.tolist()) == ([8, 5], [0, 10])


# ---------------------------------------------------------------------------
# (b) Stan against the twin


@pytest.fixture(scope="module")
def network_model(toolchain):  # type: ignore[no-untyped-def]
    """The network program, compiled once for this module."""
    cmdstanpy = pytest.importorskip("cmdstanpy")
    from mmm_runner.backend import cache

    compiled = cache.compile_model(PROGRAM, toolchain, include_paths=[ROOT / "stan"])
    cmdstanpy.set_cmdstan_path(str(toolchain.path))
    return cmdstanpy.CmdStanModel(exe_file=str(compiled.exe))


def combined_case() -> tuple[dict[str, Any], network.NetworkParams]:
    """Every feature at once: exact, noisy and latent mediators, two correlated outcomes,
    lagged and modulated contemporaneous cross-effects, shared and own feature sets,
    every adstock and saturation form, X terms and holdout rows."""
    frame, _ = sn.simulate_combined(weeks=60, observation="partial", promotion=True)
    full, _ = sn.simulate_combined(weeks=60, observation="full", promotion=True)
    rows = len(frame)
    fit = np.arange(2, rows - 6)  # the halo needs two earlier weeks; six holdout weeks
    y = np.column_stack(
        [standardise(frame[c].to_numpy(), fit)[0] for c in ("product_a", "product_b")]
    )
    media = [
        frame[c].to_numpy() / media_scale(frame[c]) for c in ("tv", "search", "social", "display")
    ]
    data = blank_data(y, fit, media, 10)
    survey = frame["awareness"].to_numpy()
    exact = standardise(full["awareness"].to_numpy(), fit)[0]
    values = np.column_stack(
        [(survey - np.nanmean(survey)) / np.nanstd(survey), exact, np.zeros(rows)]
    )
    observed = np.column_stack(
        [~np.isnan(survey), np.arange(rows) < rows - 3, np.zeros(rows, dtype=bool)]
    ).astype(int)
    add_mediators(data, values, observed, [2, 1, 3])
    sets = [
        (1, "geometric", 10, "hill"),  # tv -> mediators
        (1, "delayed", 6, "logistic"),  # tv -> outcomes
        (2, "none", 1, "michaelis_menten"),  # search
        (3, "weibull", 8, "tanh"),  # social
        (4, "geometric", 4, "none"),  # display -> mediators
    ]
    theta = np.array([0.7, 1.1, 1.8, 0.5, 1.5, 0.9, 0.8, 1.4, 3.0, 1.2, 0.4])
    add_sets(data, sets, [(GAMMA, [2.0, 1.0, 0.0])] * len(theta))
    paths = [
        (1, 1),
        (2, 1),
        (2, 5),
        (1, 4),
        (4, 2),
        (4, 3),
        (5, 2),
        (5, 3),
        (4, 4),
        (5, 4),
        (1, 5),
    ]
    promo = frame["promo_b"].to_numpy()
    trend = np.linspace(-1, 1, rows)
    data.update(
        B=len(paths),
        path_eq=[p[0] for p in paths],
        path_set=[p[1] for p in paths],
        **coefficient_block("beta", len(paths), 0.0, (HALF_NORMAL, [1.0, 0.0, 0.0])),
        KX=2,
        X=np.column_stack([promo, trend]),
        BX=3,
        xcoef_eq=[5, 4, 1],
        xcoef_col=[1, 2, 2],
        **coefficient_block("xcoef", 3, -np.inf, (NORMAL, [0.0, 1.0, 0.0])),
        G=5,
        gamma_from=[1, 1, 2, 3, 3],
        gamma_to=[1, 2, 1, 1, 2],
        **coefficient_block("gamma", 5, -np.inf, (NORMAL, [0.0, 1.0, 0.0])),
        gamma_pinned=[0] * 5,
        C=2,
        cross_to=[2, 1],
        cross_from=[1, 2],
        cross_lag=[2, 0],
        cross_mod=np.column_stack([np.ones(rows), promo]),
        y_offset=np.array([3.0, -2.0]),
        outcome_order=[2, 1],  # B takes from A in the same week: B first
        **coefficient_block("psi", 2, -np.inf, (NORMAL, [0.0, 0.5, 0.0])),
        correlated=1,
    )
    params = network.NetworkParams(
        alpha=np.array([0.1, -0.2, 0.05, 0.3, -0.1]),
        beta=np.array([0.8, 0.5, 0.3, 0.6, 0.4, 0.2, 0.7, 0.3, 0.25, 0.35, 0.45]),
        theta=theta,
        xcoef=np.array([0.6, 0.1, -0.2]),
        sigma=np.array([0.5, 0.4, 0.6, 0.7, 0.8]),
        gamma=np.array([0.4, 0.3, 0.2, 0.5, -0.3]),
        nu=np.array([0.35]),
        psi=np.array([0.2, -0.3]),
        R=np.array([[1.0, 0.4], [0.4, 1.0]]),
    )
    return data, params


def exact_case() -> tuple[dict[str, Any], network.NetworkParams]:
    """The combined case with its three mediators observed exactly in every row (the
    program's model block then takes them as data columns: network_means' exact form)."""
    data, params = combined_case()
    data.update(
        med_type=[1, 1, 1],
        med_observed=np.ones_like(data["med_observed"]),
        # off-centre, so that the intercepts' shift by gamma times the average counts
        med_value=np.nan_to_num(data["med_value"]) + np.array([0.7, -0.4, 1.1]),
    )
    return data, replace(params, nu=np.zeros(0))


def signed_case() -> tuple[dict[str, Any], network.NetworkParams]:
    """The combined case with the latent and the surveyed mediators' effects positive
    (bounded at 0): the latent one's noise is sampled as a share of its first outcome's
    variance, and display's paths into the survey and into product A as their total
    and the direct share."""
    data, params = combined_case()
    signed = np.isin(data["gamma_from"], [1, 3])
    data["gamma_lower"] = np.where(signed, 0.0, data["gamma_lower"])
    return data, replace(params, gamma=np.where(signed, np.abs(params.gamma), params.gamma))


def paired_case() -> tuple[dict[str, Any], network.NetworkParams]:
    """The signed case with the survey's paths moved onto other feature sets, so that
    three pairs form: its first path, on social's set, takes social's direct path into
    product A; its second (social) finds that taken and takes social's into product B
    through the second gamma; its third, on search's set, takes search's into A."""
    data, params = signed_case()
    data["path_set"] = [4, 1, 5, 4, 2, 3, 2, 3, 4, 4, 3]
    return data, params


def mixed_case() -> tuple[dict[str, Any], network.NetworkParams]:
    """The paired case with a path from tv's outcome set into the latent mediator, which
    pairs with tv's direct path into product A through the latent mediator's first
    gamma, whose prior normal(0.5, 0.1) pins it: the survey's pairs (their gammas
    loose, so walled) beside one with a free gamma."""
    data, params = paired_case()
    args = np.array(data["gamma_prior_args"], dtype=float)
    args[np.array(data["gamma_from"]) == 3] = [0.5, 0.1, 0.0]
    data.update(
        gamma_prior_args=args,
        gamma_pinned=[0, 0, 0, 1, 1],
        B=data["B"] + 1,
        path_eq=[*data["path_eq"], 3],
        path_set=[*data["path_set"], 2],
        **coefficient_block("beta", data["B"] + 1, 0.0, (HALF_NORMAL, [1.0, 0.0, 0.0])),
    )
    return data, replace(params, beta=np.append(params.beta, 0.3))


def nested_partial_case() -> tuple[dict[str, Any], network.NetworkParams]:
    """The nested class's shape: one outcome fed by a surveyed mediator, with four
    held-out weeks whose surveys E[M | obs] still conditions on (the program's one-
    outcome likelihood and network_means' general form)."""
    data, _ = nested_recovery_data("partial")
    n_fit = data["T"] - 4
    data.update(N=n_fit, fit_rows=np.arange(1, n_fit + 1), save_mu=1)
    assert np.asarray(data["med_observed"])[n_fit:].any()
    return data, random_params(data, np.random.default_rng(8), np.zeros(0), np.eye(1))


def single_outcome_case() -> tuple[dict[str, Any], network.NetworkParams]:
    """No mediators, one outcome, no cross-effects, no X: the degenerate end."""
    frame, _ = sn.simulate_multivariate(weeks=40)
    fit = np.arange(36)
    y = standardise(frame["product_a"].to_numpy(), fit)[0][:, None]
    media = [frame["tv"].to_numpy() / media_scale(frame["tv"])]
    data = blank_data(y, fit, media, 6)
    add_sets(
        data,
        [(1, "geometric", 6, "logistic")],
        [(BETA, [2.0, 2.0, 0.0]), (GAMMA, [2.0, 2.0, 0.0])],
    )
    data.update(
        B=1,
        path_eq=[1],
        path_set=[1],
        **coefficient_block("beta", 1, 0.0, (HALF_NORMAL, [1.0, 0.0, 0.0])),
    )
    params = network.NetworkParams(
        alpha=np.array([-0.3]),
        beta=np.array([1.2]),
        theta=np.array([0.5, 1.3]),
        xcoef=np.zeros(0),
        sigma=np.array([0.6]),
        gamma=np.zeros(0),
        nu=np.zeros(0),
        psi=np.zeros(0),
        R=np.eye(1),
    )
    return data, params


def random_params(
    data: dict[str, Any], rng: np.random.Generator, psi: np.ndarray, corr: np.ndarray
) -> network.NetworkParams:
    """Plausible parameter values for a data dict (transforms inside their bounds, positive
    media paths and gammas), with the cross-effects and error correlation given."""
    n_eq = data["D"] + data["K"]
    return network.NetworkParams(
        alpha=rng.normal(0, 0.5, n_eq),
        beta=rng.uniform(0.2, 1.0, data["B"]),
        theta=np.array(
            [
                rng.uniform(lo, min(hi, lo + 1.5))
                for lo, hi in zip(data["theta_lower"], data["theta_upper"], strict=True)
            ]
        ),
        xcoef=rng.normal(0, 0.3, data["BX"]),
        sigma=rng.uniform(0.3, 0.6, n_eq),
        gamma=rng.uniform(0.2, 0.8, data["G"]),
        nu=rng.uniform(0.1, 0.3, sum(t == 2 for t in data["med_type"])),
        psi=psi,
        R=corr,
    )


def inits(data: dict[str, Any], params: network.NetworkParams) -> dict[str, Any]:
    """The program's parameters (its sampling scale) for the given stated values."""
    typical = network.typical_levels(data, params.theta)
    sigma_pre, survey_logit = network.sampled_survey(data, params.sigma, params.nu)
    sigma_free, share_logit = network.sampled_noise(data, sigma_pre, params.gamma)
    beta_eff = params.beta * typical[np.asarray(data["path_set"], dtype=int) - 1]
    paths = network.sampled_paths(data, beta_eff, params.gamma)
    out: dict[str, Any] = {
        "alpha_c": network.centred_intercepts(data, params),
        "sigma_free": sigma_free,
        "lat_share_logit": share_logit,
        "theta": params.theta,
        "beta_eff": paths.solo,
        "pair_total": paths.total,
        "pair_ratio_log": paths.ratio_log,
        "pair_med_log": paths.med_log,
        "xcoef": params.xcoef,
        "gamma_free": paths.gamma_free,
        "gamma_wall_logit": paths.wall_logit,
        "survey_share_logit": survey_logit,
        "psi": params.psi,
    }
    if data["correlated"] and data["K"] > 1:
        out["L_R"] = [np.linalg.cholesky(params.R)]
    return out


@pytest.mark.stan
def test_the_latent_noise_shares_keep_the_stated_priors(network_model, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Sampled as shares of an outcome's variance, a latent mediator's noise sd and its
    outcome's still follow their stated half_normal(1) priors, and so do the pairs'
    paths and gammas, sampled as totals, mediated paths or log ratios and shares of
    walls (the Jacobians are right)."""
    data, _ = mixed_case()
    assert data["med_type"][2] == 3
    assert network.latent_noise_paths(data)[0].tolist() == [2]
    # latent mediators need informative effect priors: here normal(0.5, 0.1)
    data.update(prior_only=1)
    fit = network_model.sample(
        data=data,
        chains=4,
        iter_warmup=500,
        iter_sampling=1000,
        seed=3,
        output_dir=tmp_path,
        show_progress=False,
    )
    sigma = fit.stan_variable("sigma")
    first_outcome = data["D"] + data["gamma_to"][data["gamma_from"].index(3)] - 1
    for e in (2, first_outcome, 0):  # the latent mediator, its outcome, another
        assert np.median(sigma[:, e]) == pytest.approx(stats.halfnorm.median(), abs=0.08)
        assert np.quantile(sigma[:, e], 0.9) == pytest.approx(stats.halfnorm.ppf(0.9), abs=0.15)
    # the pairs' paths and the survey's gammas (walled, the first by two pairs) keep
    # their stated half_normal(1) priors (normal(0, 1) bounded at 0) too, and so does
    # the survey's noise sd, sampled as a share of the survey's variance (as is the
    # surveyed mediator's, sigma[:, 0] above); the latent pair's gamma keeps its
    # normal(0.5, 0.1)
    beta, gamma = fit.stan_variable("beta"), fit.stan_variable("gamma")
    direct, mediated, gammas = network.path_pairs(data)
    nu = fit.stan_variable("nu")[:, 0]
    for draws in (*beta[:, direct].T, *beta[:, mediated].T, gamma[:, 0], gamma[:, 1], nu):
        assert np.median(draws) == pytest.approx(stats.halfnorm.median(), abs=0.08)
        assert np.quantile(draws, 0.9) == pytest.approx(stats.halfnorm.ppf(0.9), abs=0.15)
    assert gammas[3] == 3
    assert np.median(gamma[:, 3]) == pytest.approx(0.5, abs=0.02)
    assert np.quantile(gamma[:, 3], 0.9) == pytest.approx(0.5 + 0.1 * 1.2816, abs=0.02)


def _log_density(  # type: ignore[no-untyped-def]
    model, data: dict[str, Any], params: network.NetworkParams, tmp: Path, jacobian: int = 0
) -> float:
    """The program's log density at ``params``, with or without every Jacobian (Stan's
    constraints' and the program's own, use_jacobian): what CmdStan's optimizer reports
    of its starting point, to six significant digits."""
    from cmdstanpy import write_stan_json

    tmp.mkdir(parents=True, exist_ok=True)
    write_stan_json(str(tmp / "data.json"), {**data, "use_jacobian": jacobian})
    write_stan_json(str(tmp / "init.json"), inits(data, params))
    args = ["method=optimize", f"jacobian={jacobian}", "iter=1"]
    args += ["data", f"file={tmp / 'data.json'}"]
    args += [f"init={tmp / 'init.json'}", "output", f"file={tmp / 'out.csv'}"]
    out = subprocess.run([model.exe_file, *args], capture_output=True, text=True, check=False)
    found = re.search(r"Initial log joint probability = (\S+)", out.stdout + out.stderr)
    assert found, out.stdout + out.stderr
    return float(found.group(1))


@pytest.mark.stan
@pytest.mark.parametrize(
    "case",
    [combined_case, exact_case, nested_partial_case],
    ids=["combined", "exact", "nested_partial"],
)
def test_the_model_blocks_likelihood_matches_the_twin(network_model, case, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The log density's change when gamma and an outcome's sigma change is the twin's
    log likelihood's change plus their normal(0, 1) and half_normal(1) priors' (the
    stated alpha is kept, so its prior does not move). The exact case runs the model
    block's exact form of network_means, the others its general form; the nested one
    the one-outcome likelihood."""
    data, params = case()
    at = data["D"]  # the first outcome's sigma
    sigma = params.sigma * np.where(np.arange(params.sigma.size) == at, 1.2, 1.0)
    moved = replace(params, gamma=params.gamma * 1.3 + 0.05, sigma=sigma)
    change = _log_density(network_model, data, moved, tmp_path / "moved")
    change -= _log_density(network_model, data, params, tmp_path / "given")
    expected = network.log_likelihood(data, moved).log_lik.sum()
    expected -= network.log_likelihood(data, params).log_lik.sum()
    expected += stats.norm.logpdf(moved.gamma).sum() - stats.norm.logpdf(params.gamma).sum()
    expected += (params.sigma[at] ** 2 - moved.sigma[at] ** 2) / 2
    assert change == pytest.approx(expected, abs=2e-3)


@pytest.mark.stan
def test_the_programs_noise_jacobian_matches_the_twin(network_model, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """What the Jacobians add to the log density changes, when gamma and the sds move, by
    the twin's equation_noise, survey_noise and pair_effects log Jacobians plus Stan's
    own for the positive sds, the free gammas bounded at 0 and the pairs' totals (the
    transforms and media paths do not move; the pairs' coordinates and the walled
    gammas' shares do)."""
    data, params = mixed_case()
    sigma = params.sigma * [1.1, 0.9, 1.3, 1.2, 1]
    moved = replace(params, gamma=params.gamma * 1.3 + 0.05, sigma=sigma)

    def jacobians(p: network.NetworkParams, name: str) -> float:
        with_them = _log_density(network_model, data, p, tmp_path / f"{name}_j", jacobian=1)
        return with_them - _log_density(network_model, data, p, tmp_path / name)

    def expected(p: network.NetworkParams) -> float:
        total, survey_logit = network.sampled_survey(data, p.sigma, p.nu)
        free, logits = network.sampled_noise(data, total, p.gamma)
        noise = network.equation_noise(data, free, logits, p.gamma)[1]
        noise += network.survey_noise(data, total, survey_logit)[2]
        typical = network.typical_levels(data, p.theta)[np.asarray(data["path_set"]) - 1]
        paths = network.sampled_paths(data, p.beta * typical, p.gamma)
        pairs = network.pair_effects(data, paths)[2]
        _, free_g, _ = network.walled_gammas(data)
        bounded = free_g[np.array(data["gamma_lower"])[free_g] == 0]
        stan_own = np.log(free).sum() + np.log(p.gamma[bounded]).sum()
        return noise + pairs + stan_own + np.log(paths.total).sum()

    change = jacobians(moved, "moved") - jacobians(params, "given")
    assert change == pytest.approx(expected(moved) - expected(params), abs=3e-3)


@pytest.mark.stan
@pytest.mark.parametrize(
    "case",
    [combined_case, exact_case, mixed_case, nested_partial_case, single_outcome_case],
    ids=["combined", "exact", "mixed", "nested_partial", "single"],
)
def test_stan_matches_the_numpy_twin(network_model, case, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data, params = case()
    fit = network_model.sample(
        data=data,
        inits=inits(data, params),
        fixed_param=True,
        chains=1,
        iter_sampling=1,
        sig_figs=18,
        seed=1,
        output_dir=tmp_path,
        show_progress=False,
    )
    means = network.structural_means(data, params)
    ll = network.log_likelihood(data, params)
    # cmdstanpy leaves out variables of size zero (no mediators: med_mean).
    draw = {
        name: fit.stan_variable(name)[0] if name in fit.stan_variables() else np.zeros(0)
        for name in (
            "alpha",
            "beta",
            "gamma",
            "log_lik_marginal",
            "log_lik_outcomes",
            "med_mean",
            "mu_out",
            "R",
            "sigma",
        )
    }
    np.testing.assert_allclose(draw["alpha"], params.alpha, rtol=0, atol=1e-8)
    np.testing.assert_allclose(draw["beta"], params.beta, rtol=0, atol=1e-8)
    np.testing.assert_allclose(draw["gamma"], params.gamma, rtol=0, atol=1e-8)
    np.testing.assert_allclose(draw["R"], params.R, rtol=0, atol=1e-8)
    np.testing.assert_allclose(draw["sigma"], params.sigma, rtol=0, atol=1e-8)
    # held-out rows forecast: their cross-effects' sources come from the forecast
    forecast = network.forecast_means(data, params, means.mu)
    n_med = int(data["D"])
    np.testing.assert_allclose(draw["mu_out"][:, :n_med], means.mu[:, :n_med], atol=1e-8)
    np.testing.assert_allclose(draw["mu_out"][:, n_med:], forecast, rtol=0, atol=1e-8)
    np.testing.assert_allclose(
        draw["med_mean"].reshape(means.med_mean.shape), means.med_mean, rtol=0, atol=1e-8
    )
    np.testing.assert_allclose(draw["log_lik_marginal"], ll.log_lik_marginal, rtol=0, atol=1e-8)
    if data["K"] > 1:
        np.testing.assert_allclose(draw["log_lik_outcomes"], ll.log_lik_outcomes, atol=1e-8)
    else:  # one outcome: it would repeat log_lik_marginal, so is not written
        assert draw["log_lik_outcomes"].size == 0
        np.testing.assert_allclose(ll.log_lik_outcomes, ll.log_lik_marginal[:, 0], atol=1e-12)
    # nothing downstream reads a density given the mediators' observations
    assert not {"log_lik", "log_lik_outcome", "med_rep"} & set(fit.stan_variables())
    assert np.isfinite(fit.stan_variable("y_rep")).all()


# ---------------------------------------------------------------------------
# (c) Recovery of a nested model


def nested_recovery_data(
    observation: Literal["full", "partial"] = "full",
) -> tuple[dict[str, Any], dict[str, float]]:
    """104 weeks of sales with awareness as a mediator, three channels.

    Transforms get priors centred on their truth (the test is about the
    network's coefficients, not about learning carry-over from two years).
    Returns the data and the true coefficients on the modelling scale.
    """
    channels = ("tv", "search", "social")
    frame, truth = sn.simulate_nested(weeks=104, observation=observation, channels=channels)
    rows = len(frame)
    fit = np.arange(rows)
    y, _, sd_y = standardise(frame["sales"].to_numpy(), fit)
    survey = frame["awareness"].to_numpy()
    seen = ~np.isnan(survey)
    sd_m = float(survey[seen].std())
    aware = (survey - survey[seen].mean()) / sd_m
    media = [frame[c].to_numpy() / truth["media_scale"][c] for c in channels]
    data = blank_data(y[:, None], fit, media, 10)
    add_mediators(data, aware[:, None], seen[:, None], [1 if observation == "full" else 2])
    sales = truth["outcomes"]["sales"]["media"]
    awareness = truth["mediators"]["awareness"]["media"]
    # (equation, channel, its truth block): awareness paths first, then sales paths.
    paths = [(1, "tv", awareness), (1, "social", awareness)] + [(2, c, sales) for c in channels]
    sets, priors = [], []
    for _, channel, block in paths:
        spec = block[channel]
        sets.append(
            (
                channels.index(channel) + 1,
                "geometric",
                spec["adstock"]["l_max"],
                spec["saturation"]["type"],
            )
        )
        decay = spec["adstock"]["decay"]
        priors.append((BETA, [30 * decay, 30 * (1 - decay), 0.0]))
        (value,) = (v for k, v in spec["saturation"].items() if k != "type")
        priors.append((GAMMA, [20.0, 20.0 / value, 0.0]))
    add_sets(data, sets, priors)
    price = standardise(frame["price"].to_numpy(), fit)[0]
    data.update(
        B=len(paths),
        path_eq=[p[0] for p in paths],
        path_set=list(range(1, len(paths) + 1)),
        **coefficient_block("beta", len(paths), 0.0, (HALF_NORMAL, [2.0, 0.0, 0.0])),
        KX=1,
        X=price[:, None],
        BX=1,
        xcoef_eq=[2],
        xcoef_col=[1],
        **coefficient_block("xcoef", 1, -np.inf, (NORMAL, [0.0, 1.0, 0.0])),
        G=1,
        gamma_from=[1],
        gamma_to=[1],
        **coefficient_block("gamma", 1, -np.inf, (NORMAL, [0.0, 1.0, 0.0])),
        gamma_pinned=[0],
        save_mu=0,
    )
    true = {
        f"beta[{i + 1}]": block[c]["beta"] / (sd_m if eq == 1 else sd_y)
        for i, (eq, c, block) in enumerate(paths)
    }
    true["gamma[1]"] = truth["gamma"]["awareness"]["sales"] * sd_m / sd_y
    return data, true


@pytest.mark.stan
def test_nested_fit_recovers_its_coefficients(network_model, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data, true = nested_recovery_data()
    fit = network_model.sample(
        data=data,
        chains=2,
        parallel_chains=2,
        iter_warmup=300,
        iter_sampling=300,
        seed=20240611,
        output_dir=tmp_path,
        show_progress=False,
    )
    draws = fit.draws(concat_chains=False)  # (draw, chain, column)
    for name, value in true.items():
        column = draws[:, :, fit.column_names.index(name)]
        low, high = np.quantile(column, [0.05, 0.95])
        assert low <= value <= high, f"{name}: truth {value:.3f} outside {low:.3f}..{high:.3f}"
        rhat = float(az.rhat(column.T))
        assert rhat < 1.05, f"{name}: R-hat {rhat:.3f}"
