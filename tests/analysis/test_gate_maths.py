"""Gate maths on synthetic draws with answers known by hand (no compiler, no sampling)."""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mmm_runner.analysis import gates
from mmm_runner.analysis.posterior import Posterior
from mmm_runner.config.models import Thresholds
from mmm_runner.config.notation import Distribution
from mmm_runner.config.resolve import Coefficient, MediaTerm, ModelSpec
from mmm_runner.data.design import Column, Design
from mmm_runner.model.stan_data import Layout

LIMITS = Thresholds()
MEDIA = ("tv", "search")
BETA = (*MEDIA, "price")


def _az() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import arviz as az
    return az


def _spec(coefficients: dict[str, Coefficient] | None = None) -> ModelSpec:
    normal = Distribution("normal", (0.0, 1.0))
    coefs = {name: Coefficient(name, "media", normal) for name in MEDIA}
    coefs["price"] = Coefficient("price", "control", normal)
    coefs.update(coefficients or {})
    return ModelSpec(
        model_class="blm",
        kpi="sales",
        log_response=False,
        standardise=True,
        media=tuple(MediaTerm(m, m, "none", 1, "none") for m in MEDIA),
        controls=("price",),
        trend=None,
        seasonality=(),
        coefficients=coefs,
        transform_params=(),
        intercept=Coefficient("intercept", "intercept", Distribution("normal", (0.0, 5.0))),
        sigma_prior=Distribution("half_normal", (1.0,)),
    )


def _design(kpi: np.ndarray, fitted: np.ndarray | None = None, groups: int = 1) -> Design:
    n = len(kpi)
    group = np.repeat(np.arange(groups), n // groups).astype(np.int64)
    return Design(
        dates=pd.DatetimeIndex(pd.date_range("2024-01-01", periods=n, freq="W-MON")),
        group=group,
        group_names=tuple(f"g{g}" for g in range(groups)),
        fitted=np.ones(n, dtype=bool) if fitted is None else fitted,
        kpi=kpi,
        y=kpi,
        y_mean=0.0,
        y_sd=1.0,
        media_names=MEDIA,
        media=np.zeros((n, len(MEDIA))),
        spend=np.zeros((n, len(MEDIA))),
        media_scale=np.ones(len(MEDIA)),
        columns=(Column("price", "price"),),
        x_raw=np.zeros((n, 1)),
        x_mean=np.zeros(1),
        x_sd=np.ones(1),
        log_response=False,
    )


def _run(
    beta: np.ndarray | None = None,
    kpi: np.ndarray | None = None,
    expected: np.ndarray | None = None,
    *,
    spec: ModelSpec | None = None,
    design: Design | None = None,
    method: str = "pathfinder",
    idata: Any = None,
    details: dict[str, Any] | None = None,
    pareto_k: np.ndarray | None = None,
    names: Layout | None = None,
) -> dict[str, gates.Gate]:
    """Every gate by check name; the inputs not under test are harmless defaults."""
    beta = np.ones((400, len(BETA))) if beta is None else beta
    kpi = np.linspace(1.0, 2.0, 8) if kpi is None else kpi
    expected = np.tile(kpi, (2, 1)) if expected is None else expected
    d = len(beta)
    post = Posterior.single(np.zeros(d), beta, np.zeros((d, 0)), np.ones(d), n_chains=4)
    names = names or Layout(beta=BETA, beta_terms=BETA, theta=(), theta_start=(), window=1)
    inputs = gates.GateInputs(
        idata,
        post,
        design or _design(kpi),
        spec or _spec(),
        names,
        method,
        expected,
        details or {},
        pareto_k,
    )
    return {g.check: g for g in gates.run_gates(inputs, LIMITS)}


def test_boundary_share_is_the_draws_in_the_lowest_percent_of_the_prior() -> None:
    # half_normal(1) truncated at 0: its 1% quantile is the half-normal's, in closed form.
    q01 = stats.halfnorm.ppf(0.01)
    half = Coefficient("tv", "media", Distribution("half_normal", (1.0,)), lower=0.0)
    capped = Coefficient("price", "control", Distribution("normal", (0.0, 1.0)), upper=0.0)
    beta = np.ones((400, 3))
    beta[:60, 0] = 0.5 * q01  # 15% of tv's draws next to its lower bound
    beta[60:80, 0] = 2.0 * q01  # near, but outside the 1% of mass
    beta[:, 1] = -50.0  # search: unbounded, so ignored however extreme
    beta[:, 2] = -3.0
    beta[:40, 2] = -0.5 * q01  # 10% of price's draws next to its upper bound of 0
    row = _run(beta, spec=_spec({"tv": half, "price": capped}))["boundary"]
    assert row.value == pytest.approx(0.15)
    assert row.status == "warn"  # 0.05 < 0.15 <= 0.25
    assert row.detail == "tv: 15% of draws at a bound"

    beta[:, 0] = 1.0  # tv now clear: the worst is price's upper bound
    row = _run(beta, spec=_spec({"tv": half, "price": capped}))["boundary"]
    assert row.value == pytest.approx(0.10)
    assert row.detail.startswith("price:")


def test_boundary_passes_with_no_bounded_coefficient_near_a_bound() -> None:
    beta = np.full((400, 3), -50.0)  # far out in the tails, but every bound is infinite
    row = _run(beta)["boundary"]
    assert (row.value, row.status, row.detail) == (0.0, "pass", "")


def _with_variance(n: int, var: float, seed: int) -> np.ndarray:
    z = np.random.default_rng(seed).normal(size=n)
    scaled: np.ndarray = (z - z.mean()) / z.std() * math.sqrt(var)  # np.var is exactly var
    return scaled


def test_prior_contraction_against_known_prior_variances() -> None:
    # Truncated.variance estimates the prior variance from 20 000 draws: the relative
    # sd of that estimate is sqrt(2 / 20 000) = 1% for a normal, about 1.2% for a
    # half-normal; tolerances allow four of those sds.
    beta = np.column_stack(
        [_with_variance(2000, 0.25, 1), _with_variance(2000, 0.9, 2), np.zeros(2000)]
    )
    row = _run(beta)["prior_contraction"]  # normal(0, 1) priors: 1 - 0.25 = 0.75 for tv
    assert row.value == pytest.approx(0.1, abs=0.9 * 0.04)  # search: 1 - 0.9, the least
    assert row.detail == "least: search"  # price (a control, variance 0) does not count
    beta[:, 1] = 0.0
    assert _run(beta)["prior_contraction"].value == pytest.approx(0.75, abs=0.25 * 0.04)

    # half_normal(2) at 0: variance (1 - 2/pi) * 4; posterior with half of it -> 0.5.
    prior_var = (1 - 2 / math.pi) * 4.0
    half = Coefficient("search", "media", Distribution("half_normal", (2.0,)), lower=0.0)
    beta[:, 0] = 0.0
    beta[:, 1] = _with_variance(2000, 0.5 * prior_var, 3)
    row = _run(beta, spec=_spec({"search": half}))["prior_contraction"]
    assert row.value == pytest.approx(0.5, abs=0.5 * 0.05)
    assert row.status == "pass"

    beta[:, 1] = _with_variance(2000, 1.2 * prior_var, 4)  # wider than the prior
    row = _run(beta, spec=_spec({"search": half}))["prior_contraction"]
    assert row.value == pytest.approx(-0.2, abs=1.2 * 0.05)
    assert row.status == "warn"  # warn-only check: never fails


def test_prior_contraction_skips_point_estimates() -> None:
    row = _run(np.ones((1, 3)), method="map")["prior_contraction"]
    assert row.status == "skip"


def _pearson_lag1(r: np.ndarray) -> float:
    a, b = r[:-1] - r[:-1].mean(), r[1:] - r[1:].mean()
    return float(np.sum(a * b) / math.sqrt(np.sum(a * a) * np.sum(b * b)))


def test_residual_acf_of_alternating_and_ar1_residuals() -> None:
    n = 200
    level = np.linspace(100.0, 120.0, n)
    alternating = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    expected = np.stack([level - 3.0, level + 3.0])  # the posterior mean is `level`
    row = _run(kpi=level + alternating, expected=expected)["residual_acf"]
    assert row.value == pytest.approx(1.0)  # lag-1 acf is -1: the gate takes |acf|
    assert row.status == "fail"

    phi, rng = 0.6, np.random.default_rng(7)
    ar = np.zeros(5000)
    for t in range(1, len(ar)):
        ar[t] = phi * ar[t - 1] + rng.normal()
    level = np.full(len(ar), 50.0)
    row = _run(kpi=level + ar, expected=level[None, :])["residual_acf"]
    assert row.value == pytest.approx(_pearson_lag1(ar), abs=1e-12)
    assert row.value == pytest.approx(phi, abs=0.05)  # the sampling sd is about 0.011
    assert row.status == "fail"


def test_residual_acf_of_a_panel_is_the_mean_over_groups_of_fitted_rows() -> None:
    n = 100  # rows per group; the last 4 of each are held out
    alternating = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    ar = np.zeros(n)
    rng = np.random.default_rng(3)
    for t in range(1, n):
        ar[t] = 0.3 * ar[t - 1] + rng.normal()
    resid = np.concatenate([alternating, ar])
    fitted = np.tile(np.arange(n) < n - 4, 2)
    resid[~fitted] = [5.0, -7.0, 9.0, 1.0] * 2  # held out: must not count
    level = np.full(2 * n, 20.0)
    design = _design(level + resid, fitted, groups=2)
    row = _run(kpi=design.kpi, expected=level[None, :], design=design)["residual_acf"]
    assert row.value == pytest.approx((1.0 + abs(_pearson_lag1(ar[: n - 4]))) / 2, abs=1e-12)


def test_r2_and_holdout_mape_on_hand_made_numbers() -> None:
    kpi = np.array([2.0, 4.0, 6.0, 8.0, 100.0, 200.0])
    mean = np.array([3.0, 4.0, 5.0, 8.0, 110.0, 150.0])
    fitted = np.array([True] * 4 + [False] * 2)
    expected = np.stack([mean - 1.0, mean + 1.0])
    rows = _run(kpi=kpi, expected=expected, design=_design(kpi, fitted))
    assert rows["r2"].value == pytest.approx(1 - 2 / 20)  # SS_res 2, SS_tot 20
    assert rows["r2"].status == "pass"
    assert rows["holdout_mape"].value == pytest.approx((10 / 100 + 50 / 200) / 2)
    assert rows["holdout_mape"].status == "warn"  # 0.175: above 0.1, not above 0.25
    assert rows["residual_acf"].value == pytest.approx(0.0, abs=1e-12)  # -1, 0, 1, 0
    assert _run(kpi=kpi, expected=expected)["holdout_mape"].status == "skip"


def test_pareto_k_share_above_0_7() -> None:
    row = _run(pareto_k=np.array([0.2, 0.8, 0.5, 0.9, 0.1, 0.3, 0.6, 0.69, 0.4, 0.0]))
    assert row["pareto_k"].value == pytest.approx(0.2)
    assert row["pareto_k"].status == "fail"
    assert _run()["pareto_k"].status == "skip"


def _blocks(n: int, k: int) -> np.ndarray:
    """+1/-1 in blocks of k: sum(diff^2) = 4 (n/k - 1), sum((E - mean)^2) = n."""
    return np.where((np.arange(n) // k) % 2 == 0, 1.0, -1.0)


def _idata(beta: np.ndarray, diverging: np.ndarray, depth: np.ndarray) -> Any:
    draws = diverging.shape[1]
    energy = 100.0 + 5.0 * np.stack([_blocks(draws, k) for k in (1, 10, 25, 5)])
    return _az().from_dict(
        posterior={"alpha": beta[..., 2].copy(), "beta": beta},
        sample_stats={"energy": energy, "diverging": diverging, "tree_depth": depth},
        coords={"coef": list(BETA)},
        dims={"beta": ["coef"]},
    )


def test_sampler_gates_on_known_energy_divergences_and_tree_depths() -> None:
    chains, draws = 4, 1000
    rng = np.random.default_rng(11)
    beta = rng.normal(size=(chains, draws, 3))
    diverging = np.zeros((chains, draws), dtype=bool)
    diverging[0, :12] = diverging[3, 500:508] = True  # 20 of 4000
    depth = np.full((chains, draws), 5, dtype=np.int64)
    depth[1, :100] = 8  # at the maximum of 8
    depth[2, :20] = 9  # above it: also counted
    rows = _run(method="mcmc", idata=_idata(beta, diverging, depth), details={"max_treedepth": 8})
    # E-BFMI per chain = 4 (n/k - 1) / n for blocks of k: 3.996, 0.396, 0.156, 0.796.
    assert rows["ebfmi"].value == pytest.approx(4 * (draws / 25 - 1) / draws)
    assert rows["ebfmi"].status == "fail"
    assert rows["divergences"].value == pytest.approx(20 / 4000)
    assert rows["divergences"].status == "warn"  # any divergence warns; > 1% fails
    assert rows["divergences"].detail == "20 of 4000 transitions"
    assert rows["treedepth"].value == pytest.approx(120 / 4000)
    assert rows["treedepth"].status == "warn"
    for check in ("rhat", "ess_bulk", "ess_tail"):  # iid normal draws
        assert rows[check].status == "pass", rows[check]
    assert (rows["rhat"].value or math.inf) < 1.01
    assert (rows["ess_bulk"].value or 0.0) > 2000

    beta[2:, :, 0] += 3.0  # tv: two chains sit three sds away from the others
    rows = _run(method="mcmc", idata=_idata(beta, diverging, depth))
    assert rows["rhat"].status == "fail"
    assert rows["rhat"].detail.startswith("beta[tv]:")
    assert rows["ess_bulk"].status == "fail"
    assert rows["ess_bulk"].detail.startswith("beta[tv]:")
    assert rows["treedepth"].value == 0.0  # default max_treedepth 10: none reach it


def test_divergences_at_small_group_sds_are_put_down_to_that_terms_funnel() -> None:
    chains, draws = 4, 500
    rng = np.random.default_rng(5)
    tau = np.exp(rng.normal(size=(chains, draws, 3)))  # intercept, search, season_sin1
    names = Layout(
        beta=(*BETA, "season_sin1"),
        beta_terms=(*BETA, "season"),
        theta=(),
        theta_start=(),
        window=1,
        group_effects=("intercept", "search", "season_sin1"),
    )

    def detail(diverging: np.ndarray, **forms: Any) -> str:
        idata = _az().from_dict(
            posterior={"tau": tau},
            sample_stats={"diverging": diverging, "tree_depth": np.ones((chains, draws))},
            coords={"group_effect": list(names.group_effects)},
            dims={"tau": ["group_effect"]},
        )
        season = Coefficient("season", "control", Distribution("normal", (0.0, 1.0)))
        rows = _run(
            np.ones((400, 4)),
            method="mcmc",
            idata=idata,
            names=names,
            spec=dataclasses.replace(
                _spec({"season": season}),
                varying=("search", "season"),
                parameterisation="centred",
                **forms,
            ),
        )
        return rows["divergences"].detail

    for k, term, other in ((1, "search", "season"), (2, "season", "search")):
        lowest = tau[..., k] <= np.quantile(tau[..., k], 0.01)  # 20 draws at its smallest
        text = detail(lowest)
        assert text.startswith("20 of 2000 transitions; they sit at small group sds of")
        assert f"sample '{term}' non-centred" in text
        # the run's own forms, the funnel's term non-centred (a tie: non-centred default)
        assert f"{{default: non_centred, {other}: centred}}" in text
        # a term the run did not centre has no funnel of this kind
        assert detail(lowest, term_parameterisation={term: "non_centred"}) == (
            "20 of 2000 transitions"
        )
    # both low at once: both named, the lower first; the intercept's (not a choice) never
    both = (tau[..., 1] < np.quantile(tau[..., 1], 0.15)) & (tau[..., 2] < 0.6)
    tau[..., 0] = np.where(both, 0.01, tau[..., 0])
    text = detail(both)
    assert "'intercept'" not in text
    assert "(model.hierarchical.parameterisation: {default: non_centred})" in text
    assert "sample 'search' and 'season' non-centred" in text
    scattered = np.zeros((chains, draws), dtype=bool)
    scattered[:, ::100] = True  # 20 draws wherever they fall: no funnel named
    assert detail(scattered) == "20 of 2000 transitions"
    first_two = lowest & (np.cumsum(lowest).reshape(lowest.shape) <= 2)
    assert detail(first_two) == "2 of 2000 transitions"  # too few to say


def _shrunk_posterior(
    within: dict[str, float],
    draws: int = 4000,
    groups: int = 8,
    effects: tuple[str, ...] = ("intercept", *BETA),
) -> Posterior:
    """Draws whose group values scatter by ``within`` (a share of the coefficient's group
    sd) around each group's own centre, for tv, search and price in that order; each
    group effect's sd has its own size (1, 2, 0.5, 4, ... in ``effects``' order)."""
    rng = np.random.default_rng(2)
    sizes = np.array([(1.0, 2.0, 0.5, 4.0, 3.0)[k % 5] for k in range(len(effects))])
    tau = sizes * np.exp(0.05 * rng.normal(size=(draws, len(effects))))
    sd = np.array([within[b] * sizes[effects.index(b)] if b in effects else 1.0 for b in BETA])
    centres = rng.normal(size=(groups, len(BETA)))
    beta_g = centres + sd * rng.normal(size=(draws, groups, len(BETA)))
    post = Posterior.single(
        np.zeros(draws), beta_g.mean(axis=1), np.zeros((draws, 0)), np.ones(draws), n_chains=4
    )
    return dataclasses.replace(post, beta_g=beta_g, tau=tau, alpha_g=np.zeros((draws, groups)))


def _panel_names(effects: tuple[str, ...] = ("intercept", *BETA)) -> Layout:
    return Layout(
        beta=BETA, beta_terms=BETA, theta=(), theta_start=(), window=1, group_effects=effects
    )


PANEL_NAMES = _panel_names()


@pytest.mark.parametrize(
    "effects",
    [
        ("intercept", *BETA),
        BETA,  # no varying intercept
        ("intercept", "search", "tv", "price", "intercept|product"),  # other order, crossed
    ],
)
def test_the_posterior_suggests_centring_the_terms_its_data_decide(
    effects: tuple[str, ...],
) -> None:
    # a group's posterior sd over the group sd: sqrt(shrinkage); centred below sqrt(1/2)
    post = _shrunk_posterior({"tv": 0.3, "search": 0.95, "price": 0.6}, effects=effects)
    forms = gates.suggested_forms(post, _panel_names(effects))
    assert forms == {"tv": "centred", "search": "non_centred", "price": "centred"}
    assert gates.form_mapping(forms) == "{default: centred, search: non_centred}"
    assert gates.form_mapping({"tv": "centred"}) == "{default: centred}"
    # a tie: non-centred is the default, whatever the order or the hash seed
    assert gates.form_mapping({"tv": "centred", "search": "non_centred"}) == (
        "{default: non_centred, tv: centred}"
    )


def test_divergences_add_the_suggested_forms_when_the_run_used_others() -> None:
    draws, groups = 2000, 8
    post = _shrunk_posterior({"tv": 0.3, "search": 0.95, "price": 0.95}, draws, groups)
    diverging = np.zeros((4, draws // 4), dtype=bool)
    diverging[1, :30] = True
    idata = _az().from_dict(
        posterior={"tau": post.tau.reshape(4, -1, 4)},
        sample_stats={"diverging": diverging, "tree_depth": np.ones((4, draws // 4))},
        coords={"group_effect": list(PANEL_NAMES.group_effects)},
        dims={"tau": ["group_effect"]},
    )
    kpi = np.linspace(1.0, 2.0, 8 * 20)  # 20 rows a group: auto is non-centred
    spec = dataclasses.replace(_spec(), varying=BETA, group="market")

    def detail(**forms: Any) -> str:
        inputs = gates.GateInputs(
            idata,
            post,
            _design(kpi, groups=groups),
            dataclasses.replace(spec, **forms),
            PANEL_NAMES,
            "mcmc",
            np.tile(kpi, (2, 1)),
            {},
            None,
        )
        rows = {g.check: g for g in gates.run_gates(inputs, LIMITS)}
        return rows["divergences"].detail

    assert detail() == (
        "30 of 2000 transitions; the posterior suggests "
        "model.hierarchical.parameterisation: {default: non_centred, tv: centred}"
    )
    assert detail(term_parameterisation={"tv": "centred"}) == "30 of 2000 transitions"


def test_sampler_gates_skip_without_mcmc() -> None:
    rows = _run(method="laplace", details={"agreement": 0.3})
    assert all(rows[c].status == "skip" for c in ("rhat", "ess_bulk", "ebfmi", "treedepth"))
    assert rows["map_agreement"].status == "warn"  # 0.2 <= 0.3 < 0.5


@pytest.mark.parametrize("check", list(Thresholds.model_fields))
def test_judge_direction_and_skips_for_every_default_threshold(check: str) -> None:
    limits = getattr(LIMITS, check)
    better = 1.0 if check in gates.HIGHER_IS_BETTER else -1.0
    assert gates.judge(check, limits.warn, limits).status == "pass"  # at the threshold
    assert gates.judge(check, limits.warn - better * 1e-3, limits).status in ("warn", "fail")
    worst = limits.fail if limits.fail is not None else limits.warn
    bad = gates.judge(check, worst - better * 1.0, limits)
    assert bad.status == ("fail" if limits.fail is not None else "warn")
    assert bad.advice == gates.ADVICE[check]
    for missing in (None, float("nan")):
        assert gates.judge(check, missing, limits).status == "skip"


def test_verdict_by_policy() -> None:
    rows = [
        gates.judge("r2", 0.9, LIMITS.r2),  # pass
        gates.judge("rhat", 1.02, LIMITS.rhat),  # warn
        gates.judge("ebfmi", 0.1, LIMITS.ebfmi),  # fail
        gates.judge("holdout_mape", None, LIMITS.holdout_mape),  # skip
    ]
    assert [g.status for g in rows] == ["pass", "warn", "fail", "skip"]
    assert gates.verdict(rows, "explore") == []
    assert [g.check for g in gates.verdict(rows, "publish")] == ["ebfmi"]
    assert [g.check for g in gates.verdict(rows, "strict")] == ["rhat", "ebfmi"]
