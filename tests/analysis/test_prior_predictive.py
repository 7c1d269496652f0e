"""Prior predictive summaries and flags, on NumPy draws with known answers (no compiler)."""

from __future__ import annotations

import math
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from mmm_runner import plotting
from mmm_runner.analysis import prior_predictive as pp
from mmm_runner.analysis.posterior import Posterior
from mmm_runner.config.notation import parse_distribution
from mmm_runner.config.resolve import Coefficient, MediaTerm, ModelSpec, default
from mmm_runner.data.design import Design
from mmm_runner.model.stan_data import Layout

RNG_SEED = 20240101
DRAWS = 200_000
X = np.linspace(0.0, 3.0, 7)
# y = alpha + beta * x + eps with alpha ~ N(A, SA), beta ~ N(B, SB), eps ~ N(0, S)
A, SA, B, SB, S = 10.0, 2.0, 3.0, 0.5, 1.5


def _linear_model_draws() -> np.ndarray:
    rng = np.random.default_rng(RNG_SEED)
    alpha = rng.normal(A, SA, DRAWS)
    beta = rng.normal(B, SB, DRAWS)
    eps = rng.normal(0.0, S, (DRAWS, X.size))
    return np.asarray(alpha[:, None] + beta[:, None] * X[None, :] + eps)


def _design(kpi: np.ndarray, spend: np.ndarray, log_response: bool = False) -> Design:
    """A one-market design with given KPI and media spend (the summaries read little else)."""
    rows, channels = spend.shape
    return Design(
        dates=pd.date_range("2024-01-01", periods=rows, freq="W-MON"),
        group=np.zeros(rows, dtype=np.int64),
        group_names=("all",),
        fitted=np.ones(rows, dtype=bool),
        kpi=kpi,
        y=kpi - kpi.mean(),
        y_mean=float(kpi.mean()),
        y_sd=1.0,
        media_names=tuple(f"m{i}" for i in range(channels)),
        media=spend,
        spend=spend,
        media_scale=spend.mean(axis=0),
        columns=(),
        x_raw=np.zeros((rows, 0)),
        x_mean=np.zeros(0),
        x_sd=np.ones(0),
        log_response=log_response,
    )


def _spec(channels: int) -> ModelSpec:
    media = default("media")
    return ModelSpec(
        model_class="blm",
        kpi="kpi",
        log_response=False,
        standardise=True,
        media=tuple(MediaTerm(f"m{i}", f"m{i}", "none", 1, "none") for i in range(channels)),
        controls=(),
        trend=None,
        seasonality=(),
        coefficients={f"m{i}": Coefficient(f"m{i}", "media", media, 0.0) for i in range(channels)},
        transform_params=(),
        intercept=Coefficient("intercept", "intercept", default("intercept")),
        sigma_prior=default("sigma"),
    )


# --- the prior predictive KPI: closed-form moments ------------------------------------------


def test_band_summary_matches_the_linear_models_closed_form() -> None:
    summary = pp.band_summary(_linear_model_draws())
    mean = A + B * X
    sd = np.sqrt(SA**2 + (SB * X) ** 2 + S**2)
    np.testing.assert_allclose(summary["mean"], mean, atol=4 * sd.max() / math.sqrt(DRAWS))
    np.testing.assert_allclose(summary["sd"], sd, rtol=0.01)
    # The predictive is normal: each quantile is mean + z * sd.
    for level in pp.LEVELS:
        expected = mean + NormalDist().inv_cdf(level) * sd
        np.testing.assert_allclose(summary[pp.level_name(level)], expected, atol=0.03 * sd.max())
    assert [pp.level_name(q) for q in pp.LEVELS] == ["q05", "q25", "q50", "q75", "q95"]


def test_kpi_bands_lay_out_the_summary_beside_the_observed_kpi() -> None:
    draws = _linear_model_draws()
    observed = A + B * X + 0.1
    design = _design(observed, np.ones((X.size, 1)))
    bands = pp.kpi_bands(draws, design)
    assert list(bands.columns) == [
        "date",
        "observed",
        "mean",
        "sd",
        "q05",
        "q25",
        "q50",
        "q75",
        "q95",
        "in_fit",
    ]
    np.testing.assert_array_equal(bands["observed"], observed)
    sd = np.sqrt(SA**2 + (SB * X) ** 2 + S**2)
    np.testing.assert_allclose(bands["q95"] - bands["q05"], 2 * 1.6449 * sd, rtol=0.02)
    assert bands["in_fit"].all()


# --- implied contributions, shares and ROI --------------------------------------------------


def test_implied_effects_match_normal_coefficients() -> None:
    # contribution_m[t] = beta_m * x[t] with beta_m ~ N(b_m, s_m): its total is
    # beta_m * sum(x), so median and 90% limits are (b_m +- 1.645 s_m) * sum(x).
    rng = np.random.default_rng(RNG_SEED)
    b, s = np.array([2.0, 5.0]), np.array([0.5, 1.0])
    betas = rng.normal(b, s, (DRAWS, 2))
    x = np.array([1.0, 2.0, 3.0, 4.0])
    contributions = {f"m{i}": betas[:, i, None] * x[None, :] for i in range(2)}
    kpi = np.array([100.0, 110.0, 120.0, 130.0])
    spend = np.array([[1.0, 2.0]] * 4)
    design, spec = _design(kpi, spend), _spec(2)
    table = pp.implied_effects(contributions, design, spec, {"m0": 4.0, "m1": 8.0})
    z = NormalDist().inv_cdf(0.95)
    for i, row in enumerate(table.itertuples()):
        if row.channel == pp.ALL_MEDIA:
            centre, spread = b.sum(), math.hypot(*s)
            spent = 12.0
        else:
            centre, spread, spent = b[i], s[i], (4.0, 8.0)[i]
        total = x.sum()
        for name, scale in (("contribution", 1.0), ("share", 1 / kpi.sum()), ("roi", 1 / spent)):
            expected = np.array([centre - z * spread, centre, centre + z * spread]) * total
            found = [getattr(row, f"{name}_{q}") for q in ("q05", "q50", "q95")]
            np.testing.assert_allclose(found, expected * scale, rtol=0.01)
    assert list(table["channel"]) == ["m0", "m1", pp.ALL_MEDIA]
    shares = pp.media_share_draws(contributions, design, spec)
    assert np.median(shares) == pytest.approx(b.sum() * x.sum() / kpi.sum(), rel=0.01)


def test_an_organic_channel_has_no_roi() -> None:
    contributions = {"m0": np.ones((50, 3)), "m1": np.ones((50, 3))}
    design, spec = _design(np.full(3, 10.0), np.ones((3, 2))), _spec(2)
    table = pp.implied_effects(contributions, design, spec, {"m0": 3.0, "m1": 0.0})
    organic = table[table["channel"] == "m1"].iloc[0]
    assert not organic["paid"]
    assert math.isnan(organic["roi_q50"])
    overall = table[table["channel"] == pp.ALL_MEDIA].iloc[0]
    assert overall["roi_q50"] == pytest.approx(1.0)  # paid channels' value over their spend
    assert overall["share_q50"] == pytest.approx(0.2)
    assert set(pp.roi_draws(contributions, design, spec, {"m0": 3.0, "m1": 0.0})) == {"m0"}
    assert list(pp.effect_rows({}, {}, {}, 1.0).columns) == list(pp.EFFECT_COLUMNS)


# --- prior densities ------------------------------------------------------------------------


def test_truncated_density_is_the_stated_prior_cut_at_its_bound() -> None:
    dist = parse_distribution("normal(0, 3)")
    x, density = pp.truncated_density(dist, 0.0, math.inf)
    assert x[0] >= 0
    mass = float(np.sum((density[1:] + density[:-1]) / 2 * np.diff(x)))
    assert mass == pytest.approx(0.985, abs=0.005)  # the plotted range holds 0.5%-99%
    q05, q50, q95 = pp.truncated_quantiles(dist, 0.0, math.inf)
    half = NormalDist(0, 3)  # a half-normal's quantile q is the normal's (1 + q) / 2
    assert (q05, q50, q95) == pytest.approx(
        [half.inv_cdf(0.525), half.inv_cdf(0.75), half.inv_cdf(0.975)]
    )


def test_prior_panels_pair_each_prior_with_its_draws() -> None:
    rng = np.random.default_rng(RNG_SEED)
    n = 4000
    post = Posterior.single(
        rng.normal(0, 5, n),
        np.abs(rng.normal(0, 3, (n, 2))),
        np.zeros((n, 0)),
        np.abs(rng.normal(0, 1, n)),
        1,
    )
    names = Layout(beta=("m0", "m1"), beta_terms=("m0", "m1"), theta=(), theta_start=(), window=1)
    panels = pp.prior_panels(post, _spec(2), names)
    assert [p.parameter for p in panels] == ["intercept", "sigma", "m0", "m1"]
    assert panels[2].title == "m0 ~ normal(0, 3), > 0"
    table = pp.prior_table(panels)
    for row in table.itertuples():  # the draws follow the stated priors
        assert row.draws_q50 == pytest.approx(row.prior_q50, rel=0.1, abs=0.2)
        assert row.draws_q95 == pytest.approx(row.prior_q95, rel=0.1)
    ratios = pp.width_ratios(panels)
    assert set(ratios) == {"intercept", "sigma", "m0", "m1"}
    assert all(0.9 < r < 1.1 for r in ratios.values()), ratios


# --- flags ----------------------------------------------------------------------------------


def _evidence(**changes: object) -> pp.PriorEvidence:
    """A sensible prior's evidence: a band a few times the data's range around the data."""
    rng = np.random.default_rng(RNG_SEED)
    t = np.arange(52)
    observed = 100 + 10 * np.sin(t / 4)
    values: dict[str, object] = {
        "band_low": observed - 40,
        "band_high": observed + 40,
        "observed": observed,
        "negative_share": 0.001,
        "media_share": rng.normal(0.3, 0.1, 1000),
        "roi": {"tv": rng.lognormal(0, 0.5, 1000), "search": rng.lognormal(1, 0.8, 1000)},
        "divergent_share": 0.0,
        "width_ratios": {"intercept": 1.05, "tv": 0.93},
    }
    values.update(changes)
    return pp.PriorEvidence(**values)  # type: ignore[arg-type]


def _statuses(evidence: pp.PriorEvidence) -> dict[str, str]:
    return {f.check: f.status for f in pp.run_checks(evidence)}


def test_a_sensible_prior_raises_no_flag() -> None:
    flags = pp.run_checks(_evidence())
    assert [f.status for f in flags] == ["pass"] * len(flags)
    assert [f.check for f in flags] == [
        "kpi_band_too_narrow",
        "kpi_band_too_wide",
        "kpi_band_overlap",
        "negative_kpi",
        "media_share",
        "roi_span[tv]",
        "roi_span[search]",
        "prior_draws_match",
        "prior_divergences",
    ]
    table = pp.flag_table(flags)
    assert list(table.columns) == ["check", "value", "threshold", "status", "advice", "detail"]
    assert table["advice"].str.len().min() > 20


@pytest.mark.parametrize(
    ("changes", "flagged"),
    [
        (
            {"band_low": np.full(52, -5000.0), "band_high": np.full(52, 5000.0)},
            "kpi_band_too_wide",
        ),
        ({"band_low": np.full(52, 99.0), "band_high": np.full(52, 100.0)}, "kpi_band_too_narrow"),
        ({"band_low": np.full(52, 1000.0), "band_high": np.full(52, 1080.0)}, "kpi_band_overlap"),
        ({"negative_share": 0.3}, "negative_kpi"),
        ({"media_share": np.full(100, 2.5)}, "media_share"),
        ({"roi": {"tv": np.random.default_rng(1).lognormal(0, 3, 4000)}}, "roi_span[tv]"),
        ({"width_ratios": {"intercept": 0.1, "tv": 1.0}}, "prior_draws_match"),
        ({"divergent_share": 0.1}, "prior_divergences"),
    ],
    ids=[
        "too-wide",
        "too-narrow",
        "off-the-data",
        "negative",
        "media-share",
        "roi",
        "under-sampled",
        "diverged",
    ],
)
def test_a_bad_prior_is_flagged_by_its_check_alone(
    changes: dict[str, object], flagged: str
) -> None:
    statuses = _statuses(_evidence(**changes))
    assert statuses.pop(flagged) == "flag"
    assert set(statuses.values()) == {"pass"}


def test_thresholds_are_an_order_of_magnitude_each_way() -> None:
    at = {c.name: c.threshold for c in pp.CHECKS}
    assert at["kpi_band_too_narrow"] == 0.1
    assert at["kpi_band_too_wide"] == 10.0
    assert at["roi_span"] == 3.0
    # Just inside either limit passes; just outside flags.
    observed = np.linspace(0, 10, 20) + 100  # range 10
    for width, status in ((0.99, "flag"), (1.01, "pass"), (99.0, "pass"), (101.0, "flag")):
        evidence = _evidence(
            observed=observed, band_low=observed - width / 2, band_high=observed + width / 2
        )
        statuses = _statuses(evidence)
        check = "kpi_band_too_narrow" if width < 10 else "kpi_band_too_wide"
        assert statuses[check] == status, (width, statuses)


def test_checks_skip_what_does_not_apply() -> None:
    roi = np.linspace(-1, 5, 1000)  # an ROI that can be negative has no span in decades
    statuses = _statuses(
        _evidence(
            negative_share=None,
            media_share=None,
            roi={"tv": roi},
            divergent_share=None,
            width_ratios={},
        )
    )
    for check in (
        "negative_kpi",
        "media_share",
        "roi_span[tv]",
        "prior_draws_match",
        "prior_divergences",
    ):
        assert statuses[check] == "skip"
    constant = _evidence(observed=np.full(52, 100.0))
    assert _statuses(constant)["kpi_band_too_wide"] == "skip"


def test_negative_share_is_skipped_for_log_responses_and_non_positive_kpis() -> None:
    contributions = {"m0": np.ones((200, 4))}
    kpi_rep = np.random.default_rng(2).normal(0, 10, (200, 4))
    spec = _spec(1)
    for kpi, log_response, expected in (
        (np.full(4, 5.0), False, True),
        (np.full(4, 5.0), True, False),
        (np.array([5.0, -1.0, 3.0, 2.0]), False, False),
    ):
        design = _design(kpi, np.ones((4, 1)), log_response)
        evidence = pp.prior_evidence(kpi_rep, design, spec, contributions, {"m0": 4.0})
        assert (evidence.negative_share is not None) is expected
    assert evidence.roi["m0"] == pytest.approx(np.ones(200))


# --- reference table and figures ------------------------------------------------------------


def test_reference_table_renders_as_csv_and_markdown() -> None:
    table = pp.reference_table()
    assert list(table.columns) == list(pp.REFERENCE_COLUMNS)
    assert len(table) >= 8
    assert "media coefficient" in set(table["parameter"])
    text = pp.markdown_table(table)
    lines = text.strip().splitlines()
    assert len(lines) == len(table) + 2
    assert all(line.count(" | ") == len(table.columns) - 1 for line in lines)


def test_docs_show_the_reference_table_and_every_check() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "priors.md").read_text()
    assert pp.markdown_table(pp.reference_table()) in docs
    for check in pp.CHECKS:
        assert f"| `{check.name}" in docs, check.name


def test_prior_figures_draw_from_synthetic_tables(tmp_path: Path) -> None:
    draws = _linear_model_draws()[:2000]
    design = _design(A + B * X, np.ones((X.size, 1)))
    bands = pp.kpi_bands(draws, design)
    panel = pd.concat([bands.assign(group="north"), bands.assign(group="south")])
    density = pp.truncated_density(parse_distribution("beta(1, 3)"), 0.0, 1.0)
    panels = [("decay ~ beta(1, 3)", *density, np.random.default_rng(3).beta(1, 3, 500))]
    pairs = {"intercept": {"a": draws[:, 0], "b": draws[:, 1]}}
    jobs: list[plotting.PlotJob] = [
        ("bands.png", "prior_predictive_bands", (panel, "kpi")),
        ("densities.png", "prior_densities", (panels, "Priors")),
        ("compare.png", "compare_priors", ({"a": bands, "b": bands}, pairs, "kpi")),
    ]
    for name in plotting.render_all(jobs, tmp_path):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
