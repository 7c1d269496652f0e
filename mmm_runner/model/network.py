"""NumPy twin of the network program (``stan/network.stan``).

The network classes (nested, multivariate, combined) share one Stan program
whose structure arrives as data.  This module redoes its maths for one set of
parameter values on the stated scale, from the same data dict the program
reads: the structural means of every equation, each mediator's mean and
variance given its observation, each row's outcome covariance and the
pointwise log likelihoods.  Decomposition and tests use it; a test checks it
against the Stan functions to 1e-8.

Equations are numbered as in the program: mediators ``0 .. D-1``, then
outcomes ``D .. D+K-1`` (0-based here, 1-based in the data dict).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import expit

from mmm_runner.model.transforms import ADSTOCKS, SATURATIONS, Adstock, Array, Saturation

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
Data = Mapping[str, Any]

ADSTOCK_BY_CODE: dict[int, Adstock] = {a.code: a for a in ADSTOCKS.values()}
SATURATION_BY_CODE: dict[int, Saturation] = {s.code: s for s in SATURATIONS.values()}

EXACT, NOISY, UNOBSERVED = 0, 1, 2
"""How a row sees a mediator: observed exactly (fully observed type), observed
with noise (partially observed type) or not at all (latent, or no value)."""


@dataclass(frozen=True)
class NetworkParams:
    """One draw of the program's parameters on the stated scale.

    ``nu`` holds the observation noise sds of the partially observed mediators
    in mediator order; ``R`` is the outcome error correlation (identity when
    the errors are independent).
    """

    alpha: Array  # (E,) intercepts
    beta: Array  # (B,) media path coefficients (effect at full saturation)
    theta: Array  # (P,) transform parameters
    xcoef: Array  # (BX,) X coefficients
    sigma: Array  # (E,) noise sds
    gamma: Array  # (G,) mediator -> outcome effects
    nu: Array  # (D2,) observation noise sds
    psi: Array  # (C,) cross-effects
    R: Array  # (K, K)


@dataclass(frozen=True)
class NetworkMeans:
    """Structural means and what the observations say about the mediators."""

    mu: Array  # (T, E): mediators m, outcomes mu (using E[M | obs])
    med_mean: Array  # (T, D): E[M | obs]
    med_var: Array  # (T, D): Var[M | obs]


@dataclass(frozen=True)
class NetworkLogLik:
    """Pointwise log likelihoods of the fitted rows and the outcome covariances."""

    log_lik: Array  # (N,): outcomes and observed mediator values of a row, jointly
    log_lik_marginal: Array  # (N, K): each outcome on its own, the mediators integrated out
    log_lik_outcomes: Array  # (N,): the outcomes jointly, the mediators integrated out
    cov: Array  # (T, K, K): outcome covariance of every row


def _floats(data: Data, key: str, shape: tuple[int, ...]) -> Array:
    return np.asarray(data[key], dtype=float).reshape(shape)


def _ints(data: Data, key: str) -> Ints:
    return np.asarray(data[key], dtype=np.int64).reshape(-1)


def _sizes(data: Data) -> tuple[int, int, int]:
    """Rows, mediators and outcomes (T, D and K in the program)."""
    return int(data["T"]), int(data["D"]), int(data["K"])


def _component_params(names: tuple[str, ...], values: Array) -> dict[str, Array]:
    return {name: np.array([v]) for name, v in zip(names, values, strict=True)}


def feature_sets(data: Data, theta: Array) -> Array:
    """Each feature set's saturated adstock of its channel, (T, Q)."""
    n_rows, window, n_sets = int(data["T"]), int(data["L"]), int(data["Q"])
    x_lag = _floats(data, "X_lag", (int(data["M"]), n_rows, window))
    channel, start = _ints(data, "set_channel") - 1, _ints(data, "theta_start") - 1
    ad_type, sat_type = _ints(data, "adstock_type"), _ints(data, "saturation_type")
    l_max = _ints(data, "l_max")
    out = np.zeros((n_rows, n_sets))
    for q in range(n_sets):
        adstock = ADSTOCK_BY_CODE[int(ad_type[q])]
        saturation = SATURATION_BY_CODE[int(sat_type[q])]
        na, ns = len(adstock.params), len(saturation.params)
        pa = theta[start[q] : start[q] + na]
        ps = theta[start[q] + na : start[q] + na + ns]
        weights = np.zeros(window)
        # Lag windows beyond l_max carry zero weight, as in Stan.
        raw = adstock.weights(
            _component_params(tuple(p.name for p in adstock.params), pa), l_max[q]
        )
        weights[: raw.shape[1]] = raw[0]
        carried = x_lag[channel[q]] @ weights
        params = _component_params(tuple(p.name for p in saturation.params), ps)
        out[:, q] = saturation.apply(carried[None, :], params)[0]
    return out


def typical_levels(data: Data, theta: Array) -> Array:
    """Each feature set's saturation at a scaled, adstocked level of 1, (Q,).

    Media path coefficients are sampled as ``beta * typical``.
    """
    start, sat_type = _ints(data, "theta_start") - 1, _ints(data, "saturation_type")
    ad_type = _ints(data, "adstock_type")
    out = np.ones(int(data["Q"]))
    for q in range(out.size):
        saturation = SATURATION_BY_CODE[int(sat_type[q])]
        first = start[q] + len(ADSTOCK_BY_CODE[int(ad_type[q])].params)
        ps = theta[first : first + len(saturation.params)]
        params = _component_params(tuple(p.name for p in saturation.params), ps)
        out[q] = saturation.apply(np.ones((1, 1)), params)[0, 0]
    return out


def term_sums(columns: Array, n_eq: int, eq: Ints, col: Ints, coef: Array) -> Array:
    """Terms summed by equation: column e sums ``coef[j] * columns[:, col[j]]`` over
    the terms j of equation e (1-based ``eq`` and ``col``, as in the data)."""
    out = np.zeros((columns.shape[0], n_eq))
    for j in range(eq.size):
        out[:, eq[j] - 1] += coef[j] * columns[:, col[j] - 1]
    return out


def gamma_matrix(data: Data, gamma: Array) -> Array:
    """Mediator -> outcome effects as a (D, K) matrix."""
    _, n_med, n_out = _sizes(data)
    out = np.zeros((n_med, n_out))
    for g, (d, k) in enumerate(
        zip(_ints(data, "gamma_from"), _ints(data, "gamma_to"), strict=True)
    ):
        out[d - 1, k - 1] += gamma[g]
    return out


def mediator_states(data: Data) -> Ints:
    """``EXACT``, ``NOISY`` or ``UNOBSERVED`` for each row and mediator, (T, D)."""
    n_rows, n_med, _ = _sizes(data)
    observed = np.asarray(data["med_observed"], dtype=np.int64).reshape(n_rows, n_med) == 1
    med_type = _ints(data, "med_type")
    state = np.full((n_rows, n_med), UNOBSERVED, dtype=np.int64)
    for d in range(n_med):
        if med_type[d] != 3:
            state[observed[:, d], d] = EXACT if med_type[d] == 1 else NOISY
    return state


def mediator_noise(data: Data, nu: Array) -> Array:
    """Observation noise sd of each mediator: its nu when partially observed, else 0."""
    med_type = _ints(data, "med_type")
    out = np.zeros(med_type.size)
    out[med_type == 2] = nu
    return out


def latent_noise_paths(data: Data) -> tuple[Ints, Ints, Ints]:
    """Each latent mediator with a signed effect (a gamma bounded at 0), its first such
    gamma and that gamma's outcome equation (0-based), as the program's ``lat_med``,
    ``lat_gamma`` and ``lat_eq``: their noise is sampled as a share (equation_noise)."""
    n_med = int(data["D"])
    med_type = _ints(data, "med_type")
    sources, targets = _ints(data, "gamma_from") - 1, _ints(data, "gamma_to") - 1
    lower = _floats(data, "gamma_lower", (sources.size,))
    upper = _floats(data, "gamma_upper", (sources.size,))
    signed = (lower >= 0) | (upper <= 0)
    latent, first = [], []
    for d in np.flatnonzero(med_type == 3):
        own = np.flatnonzero((sources == d) & signed)
        if own.size:
            latent.append(d)
            first.append(own[0])
    latent_arr, first_arr = np.array(latent, dtype=np.int64), np.array(first, dtype=np.int64)
    return latent_arr, first_arr, n_med + targets[first_arr]


def equation_noise(
    data: Data, sigma_free: Array, share_logit: Array, gamma: Array
) -> tuple[Array, float]:
    """The program's ``equation_noise``: every equation's noise sd from the sampled ones
    (an outcome fed by latent mediators: its total sd, which they take shares of in
    turn, each share given by its logit) and the log Jacobian of that change of
    variables."""
    n_eq = int(data["D"]) + int(data["K"])
    latent, first, eq = latent_noise_paths(data)
    sigma = np.zeros(n_eq)
    sigma[np.setdiff1d(np.arange(n_eq), latent)] = sigma_free
    left = sigma**2
    log_jac = 0.0
    for i, (d, g, e) in enumerate(zip(latent, first, eq, strict=True)):
        share = expit(share_logit[i])
        tau2 = share * left[e]
        log_jac -= np.logaddexp(0, -share_logit[i]) + np.logaddexp(0, share_logit[i])  # logit
        log_jac += np.log(left[e]) - np.log(2 * np.sqrt(tau2) * abs(gamma[g]))
        left[e] -= tau2
        sigma[d] = np.sqrt(tau2) / abs(gamma[g])
    for e in np.unique(eq):
        log_jac += np.log(sigma[e]) - 0.5 * np.log(left[e])
        sigma[e] = np.sqrt(left[e])
    return sigma, float(log_jac)


def survey_noise(data: Data, sigma: Array, share_logit: Array) -> tuple[Array, Array, float]:
    """The program's ``survey_noise`` and ``survey_jacobian``: each surveyed mediator's
    noise sd and its survey's (``nu``) from the survey's total sd, held where the
    mediator's sd belongs in ``sigma``, and the logit of the mediator's share of that
    variance; and the log Jacobian of that change."""
    partial = np.flatnonzero(_ints(data, "med_type") == 2)
    share, rest = expit(share_logit), expit(-share_logit)
    total = sigma[partial]
    out = sigma.copy()
    out[partial] = total * np.sqrt(share)
    log_jac = np.log(total).sum() + 0.5 * np.log(share * rest).sum() - total.size * np.log(2)
    return out, total * np.sqrt(rest), float(log_jac)


def sampled_survey(data: Data, sigma: Array, nu: Array) -> tuple[Array, Array]:
    """The inverse of :func:`survey_noise`: ``sigma`` with each surveyed mediator's sd
    replaced by its survey's total sd, and the logits of the mediators' shares."""
    partial = np.flatnonzero(_ints(data, "med_type") == 2)
    out = sigma.copy()
    out[partial] = np.sqrt(sigma[partial] ** 2 + nu**2)
    return out, np.log(sigma[partial] ** 2 / nu**2)


def path_pairs(data: Data) -> tuple[Ints, Ints, Ints]:
    """The program's ``pair_direct``, ``pair_med`` and ``pair_g`` (0-based): each path
    into a mediator observed in part or never, with bounds [0, inf), paired with the
    first direct path of the same feature set, with bounds [0, inf) and not paired
    yet, into an outcome that the mediator moves with a gamma bounded below at 0
    (gammas in their order, the first that has such a partner); in the order of the
    mediated paths. Such a pair is sampled as its total and a second coordinate
    (:func:`pair_effects`)."""
    n_med = int(data["D"])
    med_type = _ints(data, "med_type")
    eq, sets = _ints(data, "path_eq") - 1, _ints(data, "path_set")
    sources, targets = _ints(data, "gamma_from") - 1, _ints(data, "gamma_to") - 1
    n_paths = eq.size
    lower = _floats(data, "beta_lower", (n_paths,))
    upper = _floats(data, "beta_upper", (n_paths,))
    positive = (lower == 0) & np.isinf(upper)
    low_gamma = _floats(data, "gamma_lower", (sources.size,))
    direct: list[int] = []
    mediated: list[int] = []
    gammas: list[int] = []
    for b in range(n_paths):
        if eq[b] >= n_med or med_type[eq[b]] < 2 or not positive[b]:
            continue
        partner = next(
            (
                (c, g)
                for g in np.flatnonzero((sources == eq[b]) & (low_gamma == 0))
                for c in range(n_paths)
                if eq[c] == n_med + targets[g]
                and sets[c] == sets[b]
                and positive[c]
                and c not in direct
            ),
            None,
        )
        if partner is not None:
            direct.append(partner[0])
            mediated.append(b)
            gammas.append(int(partner[1]))
    as_ints = [np.array(x, dtype=np.int64) for x in (direct, mediated, gammas)]
    return as_ints[0], as_ints[1], as_ints[2]


@dataclass(frozen=True)
class PairCoordinates:
    """The program's sampled media paths and gammas: the unpaired paths (``beta_eff``),
    the pairs' totals (``pair_total``), the log ratios of the other pairs' paths
    (``pair_ratio_log``) and the walled pairs' log mediated paths (``pair_med_log``), the
    gammas without a wall (``gamma_free``) and the walled ones' logit shares of their
    walls (``gamma_wall_logit``)."""

    solo: Array
    total: Array
    ratio_log: Array
    med_log: Array
    gamma_free: Array
    wall_logit: Array


def walled_gammas(data: Data) -> tuple[Ints, Ints, Bools]:
    """The program's ``wall_g`` and ``free_g`` (0-based): the gammas with pairs whose
    priors do not pin them (``gamma_pinned``), and the others; and whether each pair's
    gamma is walled."""
    _, _, gammas = path_pairs(data)
    walled = np.zeros(len(data["gamma_from"]), dtype=bool)
    walled[gammas] = _ints(data, "gamma_pinned")[gammas] == 0
    return np.flatnonzero(walled), np.flatnonzero(~walled), walled[gammas]


def wall_slots(data: Data) -> Ints:
    """The program's ``wpair_wall`` (0-based): each walled pair's gamma's place among
    the walled gammas."""
    wall_g, _, walled = walled_gammas(data)
    return np.searchsorted(wall_g, path_pairs(data)[2][walled]).astype(np.int64)


def gamma_walls(data: Data, total: Array, med: Array) -> Array:
    """The program's ``gamma_walls``: each walled gamma's largest value (its upper bound
    and each of its pairs' total over mediated path), from the walled pairs' totals and
    mediated paths."""
    wall_g = walled_gammas(data)[0]
    upper = _floats(data, "gamma_upper", (len(data["gamma_from"]),))
    wall = upper[wall_g].copy()
    np.minimum.at(wall, wall_slots(data), total / med)
    return wall


def pair_effects(data: Data, coords: PairCoordinates) -> tuple[Array, Array, float]:
    """The program's ``pair_effects`` and ``pair_jacobian`` with its gammas: every path's
    beta_eff (in path order) and every gamma from the sampled coordinates, and the log
    Jacobian of that change. A walled gamma is its wall times inv_logit of its logit;
    a walled pair's paths are exp(med_log) and total - gamma * that; another pair's
    direct share's logit is x = ratio_log - log gamma (direct = inv_logit(x) * total,
    mediated = inv_logit(-x) * total / gamma)."""
    direct, mediated, gammas = path_pairs(data)
    wall_g, free_g, walled = walled_gammas(data)
    beta_eff = np.zeros(len(data["path_eq"]))
    solo = np.setdiff1d(np.arange(beta_eff.size), np.concatenate([direct, mediated]))
    beta_eff[solo] = coords.solo
    med = np.exp(coords.med_log)
    wall = gamma_walls(data, coords.total[walled], med)
    gamma = np.zeros(len(data["gamma_from"]))
    gamma[free_g] = coords.gamma_free
    gamma[wall_g] = wall * expit(coords.wall_logit)
    g_ratio = gamma[gammas[~walled]]
    x = coords.ratio_log - np.log(g_ratio)
    share, rest = expit(x), expit(-x)
    beta_eff[direct[~walled]] = share * coords.total[~walled]
    beta_eff[mediated[~walled]] = rest * coords.total[~walled] / g_ratio
    beta_eff[mediated[walled]] = med
    # total - gamma * med as the program computes it, with nothing to cancel at the wall
    slot = wall_slots(data)
    r = wall[slot] * med / coords.total[walled]
    rest_w = np.maximum(1 - r, 0) + r * expit(-coords.wall_logit[slot])
    beta_eff[direct[walled]] = coords.total[walled] * rest_w
    log_jac = np.log(coords.total[~walled]).sum() - np.log(g_ratio).sum()
    log_jac += np.log(share * rest).sum() + coords.med_log.sum() + np.log(wall).sum()
    log_jac += np.log(expit(coords.wall_logit) * expit(-coords.wall_logit)).sum()
    return beta_eff, gamma, float(log_jac)


def sampled_paths(data: Data, beta_eff: Array, gamma: Array) -> PairCoordinates:
    """The inverse of :func:`pair_effects`: the program's coordinates of the paths and
    gammas (inits on its sampling scale)."""
    direct, mediated, gammas = path_pairs(data)
    wall_g, free_g, walled = walled_gammas(data)
    total = beta_eff[direct] + gamma[gammas] * beta_eff[mediated]
    share = gamma[wall_g] / gamma_walls(data, total[walled], beta_eff[mediated[walled]])
    return PairCoordinates(
        solo=np.delete(beta_eff, np.concatenate([direct, mediated]).astype(np.int64)),
        total=total,
        ratio_log=np.log(beta_eff[direct[~walled]] / beta_eff[mediated[~walled]]),
        med_log=np.log(beta_eff[mediated[walled]]),
        gamma_free=gamma[free_g],
        wall_logit=np.log(share / (1 - share)),
    )


def sampled_noise(data: Data, sigma: Array, gamma: Array) -> tuple[Array, Array]:
    """The inverse of :func:`equation_noise`: ``sigma_free`` and the share logits that
    give every equation's noise sd ``sigma`` (inits on the program's sampling scale)."""
    latent, first, eq = latent_noise_paths(data)
    total = sigma**2
    passed = (sigma[latent] * np.abs(gamma[first])) ** 2  # tau^2 of each latent mediator
    for e, tau2 in zip(eq, passed, strict=True):
        total[e] += tau2
    left = total.copy()
    share = np.zeros(latent.size)
    for i, (e, tau2) in enumerate(zip(eq, passed, strict=True)):
        share[i] = tau2 / left[e]
        left[e] -= tau2
    return np.sqrt(np.delete(total, latent)), np.log(share / (1 - share))


def conditional_mediators(
    m: Array, med_value: Array, state: Ints, sigma_med: Array, nu_med: Array
) -> tuple[Array, Array]:
    """E[M | obs] and Var[M | obs] of each row and mediator.

    With ``M = m + sigma * eta`` and ``M_obs = M + nu * eps``, the observation
    pulls M toward itself by ``k = sigma^2 / (sigma^2 + nu^2)`` and leaves
    variance ``(1 - k) sigma^2``; an exact observation (nu = 0) is M itself,
    and without one M keeps its structural mean and variance sigma^2.
    """
    s2, n2 = sigma_med**2, nu_med**2
    k = s2 / (s2 + n2)
    mean = np.where(state == NOISY, m + k * (med_value - m), m)
    mean = np.where(state == EXACT, med_value, mean)
    noisy_var = s2 * n2 / (s2 + n2)
    var = np.where(state == NOISY, noisy_var, np.where(state == EXACT, 0.0, s2))
    return mean, np.broadcast_to(var, m.shape).copy()


def cross_values(data: Data, y: Array) -> Array:
    """The cross-effects' regressors from outcomes ``y`` (T, K) on the modelling scale:
    the modulator times the source's uncentred value (``y + y_offset``) ``lag`` rows
    earlier, 0 in the first ``lag`` rows, (T, C)."""
    n_rows, n_cross = y.shape[0], int(data["C"])
    offset = _floats(data, "y_offset", (y.shape[1],))
    modulator = _floats(data, "cross_mod", (n_rows, n_cross))
    out = np.zeros((n_rows, n_cross))
    for c, (j, lag) in enumerate(
        zip(_ints(data, "cross_from") - 1, _ints(data, "cross_lag"), strict=True)
    ):
        if lag < n_rows:  # a lag beyond the data leaves the regressor 0
            out[lag:, c] = modulator[lag:, c] * (y[: n_rows - lag, j] + offset[j])
    return out


def forecast_means(data: Data, params: NetworkParams, mu: Array) -> Array:
    """The outcomes' means (T, K) with held-out rows forecast: there a cross-effect's
    source is its forecast mean (fitted rows: the data), filled row by row in the
    program's outcome order, as its ``mu_out``."""
    n_rows, n_med, n_out = _sizes(data)
    y = _floats(data, "Y", (n_rows, n_out))
    fitted = np.zeros(n_rows, dtype=bool)
    fitted[_ints(data, "fit_rows") - 1] = True
    cross_x = cross_values(data, y)
    offset = _floats(data, "y_offset", (n_out,))
    modulator = _floats(data, "cross_mod", (n_rows, int(data["C"])))
    links = list(
        zip(
            _ints(data, "cross_to") - 1,
            _ints(data, "cross_from") - 1,
            _ints(data, "cross_lag"),
            strict=True,
        )
    )
    out = mu[:, n_med:].copy()
    for t in np.flatnonzero(~fitted):
        for k in _ints(data, "outcome_order") - 1:
            for c, (to, j, lag) in enumerate(links):
                s = t - lag
                if to == k and s >= 0:
                    source = y[s, j] if fitted[s] else out[s, j]
                    change = modulator[t, c] * (source + offset[j]) - cross_x[t, c]
                    out[t, k] += params.psi[c] * change
    return out


@dataclass(frozen=True)
class _Parts:
    """The parts of every equation's mean, apart from the intercepts."""

    paths: Array  # (T, E) media paths
    xs: Array  # (T, E) X terms
    m: Array  # (T, D) mediators' structural means (intercept included)
    med_mean: Array  # (T, D) E[M | obs]
    med_var: Array  # (T, D) Var[M | obs]
    outcome_other: Array  # (T, K) outcome terms but the intercept and X terms


def _parts(data: Data, params: NetworkParams) -> _Parts:
    n_rows, n_med, n_out = _sizes(data)
    n_eq = n_med + n_out
    features = feature_sets(data, params.theta)
    paths = term_sums(features, n_eq, _ints(data, "path_eq"), _ints(data, "path_set"), params.beta)
    x = _floats(data, "X", (n_rows, int(data["KX"])))
    xs = term_sums(x, n_eq, _ints(data, "xcoef_eq"), _ints(data, "xcoef_col"), params.xcoef)
    m = params.alpha[:n_med] + paths[:, :n_med] + xs[:, :n_med]
    med_mean, med_var = conditional_mediators(
        m,
        _floats(data, "med_value", (n_rows, n_med)),
        mediator_states(data),
        params.sigma[:n_med],
        mediator_noise(data, params.nu),
    )
    n_cross = int(data["C"])
    cross_x = cross_values(data, _floats(data, "Y", (n_rows, n_out)))
    cross_cols = np.arange(1, n_cross + 1)
    cross = term_sums(cross_x, n_out, _ints(data, "cross_to"), cross_cols, params.psi)
    # Outcomes use E[M | obs]; what is left of M is noise in their covariance.
    other = paths[:, n_med:] + med_mean @ gamma_matrix(data, params.gamma) + cross
    return _Parts(paths, xs, m, med_mean, med_var, other)


def structural_means(data: Data, params: NetworkParams) -> NetworkMeans:
    """Structural means of every equation and row, with the mediators' conditional moments."""
    n_med = int(data["D"])
    parts = _parts(data, params)
    outcomes = params.alpha[n_med:] + parts.outcome_other + parts.xs[:, n_med:]
    mu = np.concatenate([parts.m, outcomes], axis=1)
    return NetworkMeans(mu=mu, med_mean=parts.med_mean, med_var=parts.med_var)


def centred_intercepts(data: Data, params: NetworkParams) -> Array:
    """The program's ``alpha_c``: each intercept plus its equation's average over the
    fitted rows of every term but the X terms (inverse of the program's shift)."""
    n_med = int(data["D"])
    parts = _parts(data, params)
    fit = _ints(data, "fit_rows") - 1
    non_x = np.concatenate([parts.paths[:, :n_med], parts.outcome_other], axis=1)
    centred: Array = params.alpha + non_x[fit].mean(axis=0)
    return centred


def outcome_covariances(data: Data, params: NetworkParams, med_var: Array) -> Array:
    """Each row's outcome error covariance, (T, K, K).

    ``diag(sigma) R diag(sigma)`` plus ``Var[M_d | obs] g_d g_d'`` for each
    mediator d (g_d: its gammas over the outcomes), because the mediators'
    unexplained part reaches every outcome it feeds.
    """
    _, n_med, n_out = _sizes(data)
    sd = params.sigma[n_med:]
    base = np.asarray(params.R, dtype=float).reshape(n_out, n_out) * np.outer(sd, sd)
    gam = gamma_matrix(data, params.gamma)
    outer = np.einsum("dk,dl->dkl", gam, gam)
    cov: Array = base[None, :, :] + np.einsum("td,dkl->tkl", med_var, outer)
    return cov


def mvn_log_density(resid: Array, cov: Array) -> Array:
    """Log density of each row of ``resid`` (n, K) under N(0, cov[i]) with cov (n, K, K)."""
    dim = resid.shape[1]
    chol = np.linalg.cholesky(cov)
    z = np.linalg.solve(chol, resid[:, :, None])[:, :, 0]
    log_det = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
    density: Array = -0.5 * (z**2).sum(axis=1) - 0.5 * log_det - 0.5 * dim * np.log(2 * np.pi)
    return density


def normal_log_density(x: Array, mean: Array, sd: Array) -> Array:
    """Elementwise normal log density."""
    z = (x - mean) / sd
    density: Array = -0.5 * z**2 - np.log(sd) - 0.5 * np.log(2 * np.pi)
    return density


def log_likelihood(data: Data, params: NetworkParams) -> NetworkLogLik:
    """Pointwise log likelihoods of the fitted rows: ``log_lik`` (joint: every outcome
    and every observed mediator value of the row; the program's model block sums it)
    and, the mediators integrated out, the program's ``log_lik_marginal`` and
    ``log_lik_outcomes`` (the program writes the latter only with several outcomes)."""
    n_rows, n_med, n_out = _sizes(data)
    means = structural_means(data, params)
    cov = outcome_covariances(data, params, means.med_var)
    fit = _ints(data, "fit_rows") - 1
    resid = _floats(data, "Y", (n_rows, n_out))[fit] - means.mu[fit, n_med:]
    joint = mvn_log_density(resid, cov[fit])
    # Observed mediator values: M_obs ~ N(m, sqrt(sigma^2 + nu^2)).
    state = mediator_states(data)[fit]
    obs_sd = np.sqrt(params.sigma[:n_med] ** 2 + mediator_noise(data, params.nu) ** 2)
    med_value = _floats(data, "med_value", (n_rows, n_med))[fit]
    med_density = normal_log_density(med_value, means.mu[fit, :n_med], obs_sd)
    joint = joint + np.where(state != UNOBSERVED, med_density, 0.0).sum(axis=1)
    return NetworkLogLik(
        log_lik=joint,
        log_lik_marginal=marginal_outcomes(data, params, means, fit),
        log_lik_outcomes=joint_outcomes(data, params, means, fit),
        cov=cov,
    )


def marginal_outcomes(data: Data, params: NetworkParams, means: NetworkMeans, fit: Ints) -> Array:
    """Each outcome's log density with the mediators integrated out (not using their
    observations): mean with gamma * m instead of gamma * E[M | obs], variance
    sigma_k^2 + sum_d gamma_dk^2 sigma_d^2. What a model without the mediators predicts
    too, so LOO compares the two on the same quantity."""
    n_rows, n_med, n_out = _sizes(data)
    gam = gamma_matrix(data, params.gamma)
    shift = (means.med_mean - means.mu[:, :n_med]) @ gam
    mean = means.mu[:, n_med:] - shift
    var = params.sigma[n_med:] ** 2 + (gam**2 * params.sigma[:n_med, None] ** 2).sum(axis=0)
    y = _floats(data, "Y", (n_rows, n_out))
    return normal_log_density(y[fit], mean[fit], np.sqrt(var)[None, :])


def joint_outcomes(data: Data, params: NetworkParams, means: NetworkMeans, fit: Ints) -> Array:
    """The outcomes' joint log density with the mediators integrated out: mean as in
    :func:`marginal_outcomes`, covariance ``diag(sigma) R diag(sigma)`` plus
    ``sigma_d^2 g_d g_d'`` for every mediator d."""
    n_rows, n_med, n_out = _sizes(data)
    gam = gamma_matrix(data, params.gamma)
    mean = means.mu[:, n_med:] - (means.med_mean - means.mu[:, :n_med]) @ gam
    unobserved = np.broadcast_to(params.sigma[:n_med] ** 2, (n_rows, n_med))
    cov = outcome_covariances(data, params, unobserved)
    y = _floats(data, "Y", (n_rows, n_out))
    return mvn_log_density(y[fit] - mean[fit], cov[fit])
