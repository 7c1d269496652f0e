"""cmdstanpy, unchanged, against the toolchain: every method checked against truth.

These tests compile and run real Stan programs (marked ``stan``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

cmdstanpy = pytest.importorskip("cmdstanpy")

pytestmark = pytest.mark.stan

PROGRAMS = Path(__file__).parent / "stan_programs"

# Data with a closed-form posterior: mu | y ~ normal(post_mean, post_sd).
NORMAL = {"N": 20, "mu0": 1.0, "tau0": 2.0, "sigma": 1.5}
_rng = np.random.default_rng(7)
NORMAL["y"] = list(np.round(_rng.normal(3.0, 1.5, size=20), 4))
_precision = 1 / NORMAL["tau0"] ** 2 + NORMAL["N"] / NORMAL["sigma"] ** 2
POST_SD = _precision**-0.5
POST_MEAN = (
    NORMAL["mu0"] / NORMAL["tau0"] ** 2 + sum(NORMAL["y"]) / NORMAL["sigma"] ** 2
) / _precision

BERNOULLI = {"N": 10, "y": [0, 1, 0, 0, 0, 0, 0, 0, 0, 1], "a": 2.0, "b": 2.0}
SCHOOLS = {
    "J": 8,
    "y": [28, 8, -3, 7, -1, 1, 18, 12],
    "sigma": [15, 10, 16, 11, 9, 11, 10, 18],
}


@pytest.fixture(scope="module")
def normal_model(compiled):  # type: ignore[no-untyped-def]
    return cmdstanpy.CmdStanModel(exe_file=str(compiled(PROGRAMS / "normal_known_sigma.stan").exe))


@pytest.fixture(scope="module")
def normal_fit(normal_model):  # type: ignore[no-untyped-def]
    return normal_model.sample(data=NORMAL, chains=4, seed=11, show_progress=False)


def _within_mc_error(draws: np.ndarray, truth: float, sd: float) -> bool:
    ess_floor = 400  # conservative effective size for 4000 NUTS draws of this model
    return abs(draws.mean() - truth) < 4 * sd / np.sqrt(ess_floor)


def test_plain_cmdstanpy_compiles_next_to_the_stan_file(toolchain, tmp_path):  # type: ignore[no-untyped-def]
    stan_file = tmp_path / "bernoulli_beta.stan"
    shutil.copy(PROGRAMS / "bernoulli_beta.stan", stan_file)
    cmdstanpy.set_cmdstan_path(str(toolchain.path))
    model = cmdstanpy.CmdStanModel(stan_file=str(stan_file))
    assert Path(model.exe_file).is_file()
    info = model.exe_info()
    assert info["stan_version_major"] == "2"
    assert info["STAN_THREADS"] == "true"
    fit = model.sample(data=BERNOULLI, chains=2, seed=3, show_progress=False)
    theta = fit.stan_variable("theta")
    # Conjugate posterior beta(a + s, b + n - s) = beta(4, 10).
    a, b = 2 + 2, 2 + 8
    mean, sd = a / (a + b), np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    assert abs(theta.mean() - mean) < 4 * sd / np.sqrt(300)
    assert theta.min() > 0
    assert theta.max() < 1


def test_sample_matches_the_analytic_posterior(normal_fit):  # type: ignore[no-untyped-def]
    mu = normal_fit.stan_variable("mu")
    assert mu.shape == (4000,)
    assert _within_mc_error(mu, POST_MEAN, POST_SD)
    assert mu.std() == pytest.approx(POST_SD, rel=0.1)
    assert normal_fit.chains == 4
    assert np.all(normal_fit.divergences == 0)
    np.testing.assert_allclose(normal_fit.stan_variable("twice_mu"), 2 * mu, rtol=1e-5)


def test_same_seed_gives_identical_draws_and_other_seeds_do_not(normal_model, normal_fit):  # type: ignore[no-untyped-def]
    again = normal_model.sample(data=NORMAL, chains=4, seed=11, show_progress=False)
    other = normal_model.sample(data=NORMAL, chains=4, seed=12, show_progress=False)
    assert np.array_equal(normal_fit.draws(), again.draws())
    assert not np.array_equal(normal_fit.draws(), other.draws())
    # Chains differ from each other within one run.
    draws = normal_fit.draws()
    assert not np.array_equal(draws[:, 0, :], draws[:, 1, :])


def test_hierarchical_model_converges(compiled):  # type: ignore[no-untyped-def]
    model = cmdstanpy.CmdStanModel(exe_file=str(compiled(PROGRAMS / "eight_schools.stan").exe))
    fit = model.sample(data=SCHOOLS, chains=4, seed=5, adapt_delta=0.95, show_progress=False)
    import arviz as az

    draws = fit.draws()[:, :, 7:].transpose(1, 0, 2)  # chain, draw, parameter
    rhat = [az.rhat(draws[:, :, j]) for j in range(draws.shape[2])]
    assert max(rhat) < 1.01
    assert fit.divergences.sum() <= 4  # eight schools may show a rare divergence


def test_optimize_finds_the_analytic_mode(compiled):  # type: ignore[no-untyped-def]
    model = cmdstanpy.CmdStanModel(exe_file=str(compiled(PROGRAMS / "bernoulli_beta.stan").exe))
    s, n, a, b = 2, 10, 2.0, 2.0
    mode = (s + a - 1) / (n + a + b - 2)
    plain = model.optimize(data=BERNOULLI, seed=1)
    assert plain.stan_variable("theta") == pytest.approx(mode, abs=1e-4)
    # With the Jacobian of the logit transform the mode moves to (s + a) / (n + a + b).
    jac = model.optimize(data=BERNOULLI, seed=1, jacobian=True)
    assert jac.stan_variable("theta") == pytest.approx((s + a) / (n + a + b), abs=1e-4)
    for algorithm in ("bfgs", "newton"):
        fit = model.optimize(data=BERNOULLI, seed=1, algorithm=algorithm)
        assert fit.stan_variable("theta") == pytest.approx(mode, abs=1e-3)


def test_laplace_and_pathfinder_match_a_gaussian_posterior(normal_model):  # type: ignore[no-untyped-def]
    mode = normal_model.optimize(data=NORMAL, seed=2, jacobian=True)
    assert mode.stan_variable("mu") == pytest.approx(POST_MEAN, abs=1e-3)
    laplace = normal_model.laplace_sample(data=NORMAL, mode=mode, draws=4000, seed=3)
    mu = laplace.stan_variable("mu")
    assert mu.mean() == pytest.approx(POST_MEAN, abs=4 * POST_SD / np.sqrt(4000))
    assert mu.std() == pytest.approx(POST_SD, rel=0.05)
    pathfinder = normal_model.pathfinder(data=NORMAL, seed=4)
    mu = pathfinder.stan_variable("mu")
    assert mu.mean() == pytest.approx(POST_MEAN, abs=0.05)
    assert mu.std() == pytest.approx(POST_SD, rel=0.15)


def test_generate_quantities_on_a_previous_fit(normal_model, normal_fit):  # type: ignore[no-untyped-def]
    gq = normal_model.generate_quantities(data=NORMAL, previous_fit=normal_fit, seed=9)
    twice = gq.stan_variable("twice_mu")
    np.testing.assert_allclose(twice, 2 * normal_fit.stan_variable("mu"), rtol=1e-5)
    y_rep = gq.stan_variable("y_rep")
    assert y_rep.shape == (4000, 20)
    assert y_rep.mean() == pytest.approx(POST_MEAN, abs=0.1)


def test_fixed_param_and_thinning(normal_model):  # type: ignore[no-untyped-def]
    fit = normal_model.sample(
        data=NORMAL,
        chains=2,
        seed=1,
        iter_warmup=200,
        iter_sampling=300,
        thin=3,
        save_warmup=True,
        show_progress=False,
    )
    assert fit.draws().shape[0] == 100
    assert fit.draws(inc_warmup=True).shape[0] == 100 + 67
    fixed = normal_model.sample(
        data=NORMAL,
        chains=1,
        seed=1,
        iter_sampling=50,
        fixed_param=True,
        inits={"mu": 0.5},
        show_progress=False,
    )
    assert np.all(fixed.stan_variable("mu") == 0.5)


def test_dense_and_unit_metrics_run(normal_model):  # type: ignore[no-untyped-def]
    for metric in ("dense_e", "unit_e"):
        fit = normal_model.sample(
            data=NORMAL, chains=2, seed=1, metric=metric, show_progress=False
        )
        assert _within_mc_error(fit.stan_variable("mu"), POST_MEAN, POST_SD)


def _run_exe(exe: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(exe), *args], capture_output=True, text=True, cwd=cwd, check=False)


def test_bad_argument_exits_non_zero_with_a_message(compiled, tmp_path):  # type: ignore[no-untyped-def]
    exe = compiled(PROGRAMS / "normal_known_sigma.stan").exe
    out = _run_exe(exe, "method=sample", "num_sample=10", cwd=tmp_path)
    assert out.returncode != 0
    assert "num_sample is either mistyped or misplaced" in out.stderr
    out = _run_exe(exe, "method=sample", "num_samples=-3", cwd=tmp_path)
    assert out.returncode != 0
    assert '-3 is not a valid value for "num_samples"' in out.stderr
    out = _run_exe(exe, "method=sample", "adapt", "delta=1.5", cwd=tmp_path)
    assert out.returncode != 0
    assert "delta" in out.stderr


def test_missing_data_file_is_reported(compiled, tmp_path):  # type: ignore[no-untyped-def]
    exe = compiled(PROGRAMS / "normal_known_sigma.stan").exe
    out = _run_exe(exe, "method=sample", "data", "file=nowhere.json", cwd=tmp_path)
    assert out.returncode != 0
    assert "nowhere.json" in out.stderr


def test_data_of_the_wrong_shape_surfaces_through_cmdstanpy(normal_model):  # type: ignore[no-untyped-def]
    bad = dict(NORMAL, y=NORMAL["y"][:5])  # N says 20
    with pytest.raises(RuntimeError, match="mismatch in dimension"):
        normal_model.sample(data=bad, chains=1, show_progress=False)


def test_csv_config_block_reads_like_cmdstan(normal_fit):  # type: ignore[no-untyped-def]
    text = Path(normal_fit.runset.csv_files[0]).read_text()
    assert "# method = sample (Default)" in text
    assert "#       delta = 0.80000000000000004 (Default)" in text
    assert "#     save_warmup = false (Default)" in text
    assert "#     num_chains = 4\n" in text
    assert "# stanc_version = stanc3 v2.35.0" in text
    assert "# Adaptation terminated" in text
    assert "#  Elapsed Time:" in text
    config = normal_fit.metadata.cmdstan_config
    assert config["model"] == "normal_known_sigma_model"
    assert config["num_samples"] == 1000


def test_inits_and_metric_files_per_chain(normal_model, tmp_path):  # type: ignore[no-untyped-def]
    inits = [{"mu": 0.1}, {"mu": 0.2}]
    fit = normal_model.sample(
        data=NORMAL,
        chains=2,
        seed=1,
        inits=inits,
        iter_warmup=0,
        iter_sampling=5,
        adapt_engaged=False,
        metric="diag_e",
        inv_metric={"inv_metric": [POST_SD**2]},
        show_progress=False,
        save_warmup=False,
    )
    assert fit.draws().shape == (5, 2, fit.draws().shape[2])
    metric_file = tmp_path / "m.json"
    metric_file.write_text(json.dumps({"inv_metric": [[POST_SD**2]]}))
    dense = normal_model.sample(
        data=NORMAL,
        chains=1,
        seed=1,
        metric="dense_e",
        inv_metric=str(metric_file),
        show_progress=False,
    )
    assert dense.metric_type == "dense_e"


def test_arviz_summaries_match_the_analytic_posterior(normal_fit):  # type: ignore[no-untyped-def]
    # The runner summarises fits with ArviZ, never with CmdStan's stansummary or
    # diagnose tools (not bundled, see docs/decisions/0006-no-cmdstan-tools.md).
    import arviz as az

    from mmm_runner.analysis.posterior import summary_table

    columns = list(normal_fit.column_names)
    draws = normal_fit.draws()  # draw, chain, column
    mu = draws[:, :, columns.index("mu")].T  # chain, draw
    assert mu.shape == (4, 1000)
    summary = az.summary(az.from_dict(posterior={"mu": mu}), round_to="none")
    row = summary.loc["mu"]
    assert row["mean"] == pytest.approx(mu.mean(), abs=1e-12)
    assert row["sd"] == pytest.approx(mu.std(ddof=1), rel=1e-3)
    assert abs(row["mean"] - POST_MEAN) < 4 * row["mcse_mean"]
    assert row["mcse_mean"] < POST_SD / np.sqrt(400)
    assert row["sd"] == pytest.approx(POST_SD, rel=0.1)
    assert row["ess_bulk"] > 400
    assert row["ess_tail"] > 400
    assert row["r_hat"] < 1.01
    # The runner's posterior_summary.csv rows give the same numbers.
    table = summary_table({"mu": ("parameter", "", mu.ravel())}, n_chains=4).iloc[0]
    assert table["mean"] == pytest.approx(row["mean"], rel=1e-12)
    assert table["sd"] == pytest.approx(row["sd"], rel=1e-12)
    assert table["ess_bulk"] == pytest.approx(row["ess_bulk"], rel=1e-9)
    assert table["ess_tail"] == pytest.approx(row["ess_tail"], rel=1e-9)
    assert table["r_hat"] == pytest.approx(row["r_hat"], rel=1e-9)
    z = 1.6448536269514722  # the 95% quantile of a standard normal
    assert table["q05"] == pytest.approx(POST_MEAN - z * POST_SD, abs=0.3 * POST_SD)
    assert table["q50"] == pytest.approx(POST_MEAN, abs=0.15 * POST_SD)
    assert table["q95"] == pytest.approx(POST_MEAN + z * POST_SD, abs=0.3 * POST_SD)
    # What CmdStan's diagnose checked: divergences, tree depth and E-BFMI.
    assert draws[:, :, columns.index("divergent__")].sum() == 0
    assert draws[:, :, columns.index("treedepth__")].max() < 10
    energy = draws[:, :, columns.index("energy__")].T
    assert np.all(az.bfmi(energy) > 0.3)
