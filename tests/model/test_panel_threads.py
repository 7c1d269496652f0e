"""The hierarchical program's likelihood split over groups on threads (reduce_sum) gives
the log density of the serial form, at the same parameters and with the same gradient;
both equal the pointwise log likelihood the program writes (the old row-by-row form).

The log density at a point comes from the optimiser: Newton with ``save_iterations``
writes the initial point (random, from the seed) and its log density before its first
step, and the point after one step, which depends on the gradient and Hessian there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from mmm_runner.backend import cache
from mmm_runner.data.design import build_design
from mmm_runner.model import programs, stan_data
from mmm_runner.validation import validate

cmdstanpy = pytest.importorskip("cmdstanpy")
pytestmark = pytest.mark.stan

ROOT = Path(__file__).resolve().parents[2]
SEEDS = (11, 12)


def _panel_data(tmp_path: Path, **data: Any) -> dict[str, Any]:
    """The shipped panel example's Stan data (6 markets × 104 weeks), data section changed."""
    config = yaml.safe_load((ROOT / "config" / "panel_hierarchical.yaml").read_text())
    config["data"].update(path=str(ROOT / "data" / "panel.csv"), **data)
    path = tmp_path / "panel.yaml"
    path.write_text(yaml.safe_dump(config))
    result = validate(path)
    assert result.ok, result.errors
    assert result.frame is not None
    assert result.spec is not None
    assert result.loaded is not None
    design = build_design(result.frame, result.loaded.config, result.spec)
    return stan_data.hierarchical_data(design, result.spec)


def _first_points(exe: Path, data: dict[str, Any], seed: int, out: Path) -> Any:
    """Newton's saved iterations from the seed's random start: lp__ and every variable at
    the start (row 0) and after one step (row 1)."""
    model = cmdstanpy.CmdStanModel(exe_file=str(exe))
    fit = model.optimize(
        data=data,
        algorithm="newton",
        iter=1,
        save_iterations=True,
        seed=seed,
        inits=1.0,
        sig_figs=18,
        output_dir=out,
        show_console=False,
    )
    return fit.optimized_iterations_pd


@pytest.mark.parametrize("holdout", [0, 8])
def test_threaded_and_serial_likelihoods_agree(  # type: ignore[no-untyped-def]
    toolchain, tmp_path, monkeypatch, holdout
):
    monkeypatch.setenv("STAN_NUM_THREADS", "3")  # the driver's thread pool
    cmdstanpy.set_cmdstan_path(str(toolchain.path))
    exe = cache.compile_model(programs.program("hierarchical"), toolchain).exe
    data = _panel_data(tmp_path, holdout=holdout)
    assert data["threads"] == 1
    assert data["G"] == 6
    n_fit = data["N"]
    for seed in SEEDS:
        runs = {}
        for threads in (1, 2, 4):  # 4: slices of 2, 2, 1 and 1 groups
            out = tmp_path / f"s{seed}_t{threads}"
            runs[threads] = _first_points(exe, {**data, "threads": threads}, seed, out)
        serial = runs[1]
        start = serial.iloc[0]
        for threads in (2, 4):
            threaded = runs[threads]
            # the same start, the same log density there
            assert threaded.iloc[0]["alpha_c"] == start["alpha_c"]
            np.testing.assert_allclose(
                threaded["lp__"].iloc[0], start["lp__"], rtol=1e-12, atol=1e-9
            )
            # the same step: the gradient and Hessian agree too
            np.testing.assert_allclose(
                threaded.iloc[1].to_numpy(float),
                serial.iloc[1].to_numpy(float),
                rtol=1e-7,
                atol=1e-9,
            )
        # and the group-by-group likelihood is the rows' normal density the generated
        # quantities write (log_lik): the log density less the prior-only one
        prior = _first_points(
            exe, {**data, "prior_only": 1}, seed, tmp_path / f"s{seed}_prior"
        ).iloc[0]
        log_lik = start[[f"log_lik[{n + 1}]" for n in range(n_fit)]].sum()
        np.testing.assert_allclose(start["lp__"] - prior["lp__"], log_lik, rtol=1e-10)
