"""The warmup pilot: capped-depth iterations that learn a first metric, then Stan's own
adaptation from their end (``backend.fit.sample``), checked against an analytic posterior."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mmm_runner.backend import fit
from mmm_runner.config.models import FitConfig

pytestmark = pytest.mark.stan

PROGRAM = Path(__file__).parent / "stan_programs" / "normal_known_sigma.stan"
# a posterior sd far from the unit metric's 1: the case the pilot is for
_rng = np.random.default_rng(3)
DATA = {"N": 400, "mu0": 0.0, "tau0": 10.0, "sigma": 0.5, "y": list(_rng.normal(2.0, 0.5, 400))}
_precision = 1 / DATA["tau0"] ** 2 + DATA["N"] / DATA["sigma"] ** 2
POST_SD = _precision**-0.5
POST_MEAN = sum(DATA["y"]) / DATA["sigma"] ** 2 / _precision


def _csv_config(csv: Path, key: str) -> str:
    for line in csv.read_text().splitlines():
        if line.startswith("#") and line.lstrip("# ").startswith(f"{key} = "):
            return line.split("=", 1)[1].strip().split(" ")[0]
    raise AssertionError(f"{key} not in {csv}")


@pytest.fixture(scope="module")
def piloted(compiled, toolchain, tmp_path_factory) -> tuple[Any, Path, list[tuple[int, int, int]]]:  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("pilot_fit")
    # metric auto, for a class not marked correlated: diagonal, its file the learned scale
    config = FitConfig(chains=2, warmup=300, samples=600, warmup_pilot=60)
    seen: list[tuple[int, int, int]] = []
    draws = fit.sample(
        compiled(PROGRAM), toolchain, DATA, config, 5, out, progress=lambda *a: seen.append(a)
    )
    return draws, out, seen


def test_piloted_draws_match_the_analytic_posterior(piloted) -> None:  # type: ignore[no-untyped-def]
    draws, _, _ = piloted
    mu = draws.variables["mu"]
    assert mu.shape == (2, 600)
    assert abs(mu.mean() - POST_MEAN) < 4 * POST_SD / np.sqrt(300)
    assert abs(mu.std() / POST_SD - 1) < 0.15


def test_the_main_run_starts_where_the_pilot_ended(piloted) -> None:  # type: ignore[no-untyped-def]
    draws, out, _ = piloted
    pilot = out / fit.PILOT_DIR
    assert draws.details["pilot"]["iterations"] == 60
    assert draws.details["pilot"]["max_treedepth"] == fit.PILOT_TREEDEPTH
    assert draws.details["pilot"]["parameters"] == 1
    assert draws.details["metric"] == "diag"
    for chain, csv in enumerate(draws.csv_files, start=1):
        assert csv.parent == out  # the pilot's CSVs stay out of the run's draws
        # the warmup is shared: 60 pilot iterations, then 240
        assert _csv_config(csv, "num_warmup") == "240"
        assert _csv_config(csv, "init_buffer") == str(fit.MAIN_INIT_BUFFER)
        # cmdstanpy hands Stan copies of the kept inits and metric files
        assert _csv_config(csv, "init").endswith(".json")
        assert _csv_config(csv, "metric_file").endswith(".json")
        step = np.median(draws.details["pilot"]["step_size"])
        assert float(_csv_config(csv, "stepsize")) == pytest.approx(step)
        inits = pilot / f"inits_{chain}.json"
        # the learned metric is the posterior's scale (unconstrained mu: mu), not 1
        metric = pilot / f"metric_{chain}.json"
        inv_metric = json.loads(metric.read_text())["inv_metric"]
        assert 0.2 < inv_metric[0] / POST_SD**2 < 5
        pilot_csv = next(pilot.glob(f"*_{chain}.csv"))
        assert _csv_config(pilot_csv, "num_warmup") == "59"
        assert _csv_config(pilot_csv, "max_depth") == str(fit.PILOT_TREEDEPTH)
        last = pd.read_csv(pilot_csv, comment="#", float_precision="round_trip").iloc[-1]
        assert json.loads(inits.read_text()) == {"mu": last["mu"]}


def test_progress_counts_the_pilot_and_the_main_run_as_one(piloted) -> None:  # type: ignore[no-untyped-def]
    _, _, seen = piloted
    assert seen
    assert {total for _, _, total in seen} == {900}
    for chain in (1, 2):
        iterations = [i for c, i, _ in seen if c == chain]
        assert iterations == sorted(iterations)
        assert iterations[-1] == 900


def test_one_chain_with_bounded_and_vector_parameters_and_thinning(
    compiled, toolchain, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    schools = {
        "J": 8,
        "y": [28, 8, -3, 7, -1, 1, 18, 12],
        "sigma": [15, 10, 16, 11, 9, 11, 10, 18],
    }
    program = compiled(PROGRAM.parent / "eight_schools.stan")
    config = FitConfig(chains=1, warmup=250, samples=200, thin=2, max_treedepth=5, warmup_pilot=90)
    draws = fit.sample(program, toolchain, schools, config, 8, tmp_path, correlated=True)
    assert draws.variables["theta"].shape == (1, 100, 8)
    assert draws.details["pilot"]["max_treedepth"] == 5  # never above the run's own limit
    inits = json.loads((tmp_path / fit.PILOT_DIR / "inits_1.json").read_text())
    # the parameters alone (not theta, a transformed parameter), tau inside its bound
    assert set(inits) == {"mu", "tau", "theta_raw"}
    assert inits["tau"] > 0
    assert len(inits["theta_raw"]) == 8
    assert _csv_config(draws.csv_files[0], "num_warmup") == "160"
    # auto, as for a class whose parameters correlate: ten parameters take a dense metric,
    # which starts from the pilot's scales
    assert draws.details["pilot"]["parameters"] == 10
    assert draws.details["metric"] == "dense"
    assert _csv_config(draws.csv_files[0], "metric") == "dense_e"
    start_file = tmp_path / fit.PILOT_DIR / "metric_1.json"
    start = np.array(json.loads(start_file.read_text())["inv_metric"])
    assert start.shape == (10, 10)
    assert (np.diag(start) > 0).all()
    assert (start == np.diag(np.diag(start))).all()


def test_a_dense_metric_without_a_pilot(compiled, toolchain, tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = FitConfig(chains=1, warmup=300, samples=300, warmup_pilot=0, metric="dense")
    draws = fit.sample(compiled(PROGRAM), toolchain, DATA, config, 4, tmp_path)
    assert draws.details["metric"] == "dense"
    assert "pilot" not in draws.details
    assert _csv_config(draws.csv_files[0], "metric") == "dense_e"
    assert abs(draws.variables["mu"].mean() - POST_MEAN) < 5 * POST_SD / np.sqrt(100)
