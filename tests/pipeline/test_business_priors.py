"""ROI and share priors against their specification and against known truth.

Sampling the prior alone (the program with ``prior_only``), the quantity a prior is
stated on, computed in NumPy from the draws (the decomposition's contributions, or the
population coefficient times the saturated media), has the stated distribution's
quantiles: the program's change of variables (``log c``) is right, for one series and
for a panel with per-group transforms. A fit with a prior away from the truth moves
toward it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from mmm_runner import classes, constants
from mmm_runner.data.simulate_calibration import simulate_confounded

from .conftest import ROOT, run_config

pytestmark = pytest.mark.stan

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def _prior_draws(path: Path, out: Path) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
    """Prior-only draws of a config's program: (spec, design, posterior, layout, data)."""
    import cmdstanpy

    from mmm_runner.backend import cache, toolchain
    from mmm_runner.backend.fit import Draws
    from mmm_runner.data.design import build_design
    from mmm_runner.model import programs, stan_data
    from mmm_runner.validation import validate

    result = validate(path)
    assert result.ok, [p.render() for p in result.errors]
    spec, loaded, frame = result.spec, result.loaded, result.frame
    assert spec is not None
    assert loaded is not None
    assert frame is not None
    design = build_design(frame, loaded.config, spec)
    model_class = classes.get(spec.model_class)
    data = model_class.stan_data(design, spec, prior_only=True)
    exe = cache.compile_model(programs.program(spec.model_class), toolchain.locate()).exe
    fit = cmdstanpy.CmdStanModel(exe_file=str(exe)).sample(
        data=data,
        chains=2,
        iter_warmup=1000,
        iter_sampling=2000,
        seed=11,
        output_dir=out,
        show_progress=False,
        adapt_delta=0.99,  # the prior alone has funnels (group sds); 0.95 diverged 8%
    )
    wanted = ("alpha", "beta", "sigma", "theta", "alpha_g", "beta_g", "tau")
    variables = {n: fit.stan_variable(n) for n in wanted if n in fit.stan_variables()}
    draws = Draws("mcmc", {k: v.reshape(2, -1, *v.shape[1:]) for k, v in variables.items()})
    post = model_class.posterior(draws, design, spec)
    return spec, design, post, stan_data.layout(design, spec), data


def _matches(draws: np.ndarray, stated: Any, rel: float, what: str) -> None:
    for q in QUANTILES:
        assert np.quantile(draws, q) == pytest.approx(stated.ppf(q), rel=rel), (what, q)


def _transforms_as_stated(
    spec: Any, post: Any, names: Any, channels: list[str], tol: float
) -> None:
    """The channels' transform parameters keep their own priors: each draw's prior CDF
    is uniform. This is what the program's log c is for: without it the ROI (or share)
    would still have the stated prior, but the transforms' prior would be tilted by
    1 / c(theta), toward transforms that make the channel's saturated media small."""
    from mmm_runner.analysis.priors import Truncated

    for param in spec.transform_params:
        if param.channel not in channels:
            continue
        draws = post.theta[..., names.theta.index(param.label)].ravel()
        cdf = Truncated(param.prior, param.lower, param.upper).cdf(draws)
        for q in QUANTILES:
            assert np.quantile(cdf, q) == pytest.approx(q, abs=tol), (param.label, q)


def test_panel_roi_and_share_priors_imply_the_stated_distributions(tmp_path: Path) -> None:
    """The shipped panel: national TV's population ROI (its spend counted once per
    week), search's over 2023 (its effect varies by market) and social's share of sales,
    each as stated; TV's equals roi.csv's 'all' row; the transforms keep their priors.
    Transforms shared by the markets: with one set per market, c sums six markets'
    saturated media and depends too little on any one set for the transform check to
    notice a missing log c (the ROI itself is exact either way)."""
    from mmm_runner.analysis.decomposition import roi_table
    from mmm_runner.analysis.effects import media_curves

    config = yaml.safe_load((ROOT / "config" / "panel_hierarchical.yaml").read_text())
    config["data"]["path"] = str(ROOT / "data" / "panel.csv")
    config["calibration"] = {
        "roi_priors": [
            {"channel": "tv", "prior": "lognormal(1.8, 0.3)"},
            {"channel": "search", "prior": "lognormal(1.0, 0.4)", "end": "2023-12-25"},
        ],
        "share_priors": [{"channel": "social", "prior": "beta(3, 40)"}],
    }
    path = tmp_path / "panel.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    spec, design, post, names, _ = _prior_draws(path, tmp_path)
    curves = media_curves(post, design, spec, names)
    fitted = design.fitted
    first = design.group == 0

    def population(channel: str, rows: np.ndarray) -> np.ndarray:
        m = spec.media_names.index(channel)
        value = design.kpi_value[rows]
        return np.asarray(design.y_sd * post.beta[:, m] * (curves[:, m, rows] * value).sum(axis=1))

    tv_roi = population("tv", fitted) / design.spend[fitted & first, 0].sum()
    _matches(tv_roi, stats.lognorm(s=0.3, scale=np.exp(1.8)), 0.08, "tv roi")
    window = fitted & (design.dates <= "2023-12-25")
    search = spec.media_names.index("search")
    search_roi = population("search", window) / design.spend[window, search].sum()
    _matches(search_roi, stats.lognorm(s=0.4, scale=np.exp(1.0)), 0.08, "search roi")
    social_share = population("social", fitted) / design.kpi[fitted].sum()
    _matches(social_share, stats.beta(3, 40), 0.08, "social share")
    _transforms_as_stated(spec, post, names, ["tv", "search", "social"], 0.05)
    # TV's effect is the same in every market: the population ROI is roi.csv's
    contributions = classes.get("hierarchical").decompose(post, design, spec, names).contributions
    table = roi_table(contributions, design, spec)
    row = table[(table["group"] == "all") & (table["channel"] == "tv")].iloc[0]
    assert row["roi"] == pytest.approx(float(tv_roi.mean()), rel=1e-6)


def _confounded_config(data: Path, calibration: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "confounded",
        "seed": 7,
        "data": {"path": str(data), "date_column": "date", "frequency": "weekly"},
        "model": {
            "formula": "sales ~ tv + search",
            "media": [
                {
                    "name": "tv",
                    "adstock": {"type": "geometric", "l_max": 6},
                    "saturation": {"type": "hill"},
                },
                {
                    "name": "search",
                    "adstock": {"type": "geometric", "l_max": 4},
                    "saturation": {"type": "michaelis_menten"},
                },
            ],
        },
        "calibration": calibration,
        "fit": {"chains": 2, "warmup": 500, "samples": 500},
        "budget": None,
    }


def test_a_share_prior_implies_the_stated_share(tmp_path: Path) -> None:
    """One series: TV's contribution over the second year as a share of that year's
    sales (the decomposition's numbers) has the stated beta's quantiles."""
    frame, _ = simulate_confounded()
    frame.to_csv(tmp_path / "confounded.csv", index=False)
    second_year = str(pd.Timestamp(frame["date"].iloc[52]).date())
    prior = {"channel": "tv", "prior": "beta(4, 20)", "start": second_year}
    config = _confounded_config(tmp_path / "confounded.csv", {"share_priors": [prior]})
    path = tmp_path / "share.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    spec, design, post, names, data = _prior_draws(path, tmp_path)
    assert data["n_roi"] == 1
    contributions = classes.get("blm").decompose(post, design, spec, names).contributions
    window = design.fitted & (design.dates >= second_year)
    share = contributions["tv"][:, window].sum(axis=1) / design.kpi[window].sum()
    _matches(share, stats.beta(4, 20), 0.06, "tv share")
    _transforms_as_stated(spec, post, names, ["tv"], 0.04)


def _roi(run: Path, channel: str) -> pd.Series:
    roi = pd.read_csv(run / "30_post_run" / constants.ROI)
    return roi[(roi["group"] == "all") & (roi["channel"] == channel)].iloc[0]


def test_a_panel_roi_prior_moves_the_fit_toward_it(tmp_path: Path) -> None:
    """The panel's TV (national, true ROI 7.1) with a tight prior at half its true ROI:
    the posterior lies between the prior and the uncalibrated fit, narrower than it."""
    truth = yaml.safe_load((ROOT / "data" / "panel_truth.json").read_text())
    true_roi = truth["media"]["tv"]["roi"]
    runs = {}
    for name, calibration in (
        ("plain", None),
        (
            "prior",
            {
                "roi_priors": [
                    {"channel": "tv", "prior": f"lognormal({np.log(true_roi / 2):.4f}, 0.1)"}
                ]
            },
        ),
    ):
        config = yaml.safe_load((ROOT / "config" / "panel_hierarchical.yaml").read_text())
        config["data"]["path"] = str(ROOT / "data" / "panel.csv")
        config["fit"].update(chains=2, warmup=400, samples=400)
        config["budget"] = None
        if calibration:
            config["calibration"] = calibration
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        runs[name] = _roi(run_config(path, tmp_path / name), "tv")
    plain, prior = runs["plain"], runs["prior"]
    assert plain["roi_q05"] <= true_roi <= plain["roi_q95"], plain
    assert true_roi / 2 < prior["roi"] < plain["roi"], (prior, plain)
    assert prior["roi_q95"] - prior["roi_q05"] < plain["roi_q95"] - plain["roi_q05"]
