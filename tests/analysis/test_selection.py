"""selection.csv on synthetic draws: inclusion per family, evidence bands, coefficients on
the original scale (no compiler)."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from mmm_runner.analysis import selection as sel
from mmm_runner.analysis.posterior import Posterior
from mmm_runner.data.design import build_design
from mmm_runner.model import stan_data
from mmm_runner.validation import validate

ROOT = Path(__file__).resolve().parents[2]
DRAWS = 400


@pytest.mark.parametrize(
    ("inclusion", "band"),
    [(0.9, "strong"), (0.75, "moderate"), (0.6, "moderate"), (0.3, "weak"), (0.25, "little")],
)
def test_evidence_bands_are_the_guides(inclusion: float, band: str) -> None:
    assert sel.evidence(inclusion) == band


def _setup(tmp_path: Path, prior: str) -> tuple[Any, Any, Any]:
    config = yaml.safe_load((ROOT / "config" / "selection.yaml").read_text())
    config = copy.deepcopy(config)
    config["data"]["path"] = str(ROOT / "data" / "selection.csv")
    config["model"]["selection"] = {"prior": prior}
    path = tmp_path / "selection.yaml"
    path.write_text(yaml.safe_dump(config))
    result = validate(path)
    assert result.ok
    assert result.spec
    assert result.frame is not None
    assert result.loaded
    design = build_design(result.frame, result.loaded.config, result.spec)
    return result.spec, design, stan_data.layout(design, result.spec)


def _posterior(names: Any, scale: float) -> Posterior:
    """Draws whose first two selected coefficients are large and the rest near zero."""
    rng = np.random.default_rng(1)
    j = len(names.beta)
    beta = rng.normal(0, 0.01, (DRAWS, j))
    first, second = names.selected[:2]
    beta[:, first] += 0.4
    beta[:, second] -= 0.3
    sigma = np.full(DRAWS, 0.4)
    post = Posterior.single(np.zeros(DRAWS), beta, np.ones((DRAWS, 0)), sigma, 4)
    scales = np.full((DRAWS, len(names.selected)), scale)
    scales[:, :2] = 0.5
    return replace(post, pool={"sel_scale": scales, "ss_rate": np.full((DRAWS, 1), 0.25)})


@pytest.mark.parametrize("prior", ["horseshoe", "spike_slab", "lasso"])
def test_large_effects_are_strong_and_the_rest_little(tmp_path: Path, prior: str) -> None:
    spec, design, names = _setup(tmp_path, prior)
    table = sel.selection_table(_posterior(names, 0.005), design, spec, names)
    assert list(table["term"]) == list(spec.selected)
    assert (table["prior"] == prior).all()
    assert (table["measure"] == sel.MEASURE[prior]).all()
    assert list(table["evidence"][:2]) == ["strong", "strong"]
    assert (table["evidence"][2:] == "little").all()
    assert table["inclusion"].between(0, 1).all()


def test_coefficients_are_per_unit_of_the_control(tmp_path: Path) -> None:
    spec, design, names = _setup(tmp_path, "horseshoe")
    post = _posterior(names, 0.005)
    table = sel.selection_table(post, design, spec, names).set_index("term")
    j = names.selected[0]
    column = j - len(spec.media)
    per_unit = post.beta[:, j] * design.y_sd / design.x_sd[column]
    assert table.loc[names.beta[j], "mean"] == pytest.approx(per_unit.mean())
    assert table.loc[names.beta[j], "q05"] == pytest.approx(np.quantile(per_unit, 0.05))
    assert table.loc[names.beta[j], "unit"] == "KPI per unit"


def test_horseshoe_inclusion_is_the_share_of_draws_shrunk_less_than_half(
    tmp_path: Path,
) -> None:
    spec, design, names = _setup(tmp_path, "horseshoe")
    n = int(design.fitted.sum())
    post = _posterior(names, 0.0)
    # 1 - kappa > 1/2 exactly when n * scale^2 > sigma^2 (standardised columns)
    edge = 0.4 / np.sqrt(n)
    scales = post.pool["sel_scale"].copy()
    scales[: DRAWS // 4, 2] = 1.01 * edge
    scales[DRAWS // 4 :, 2] = 0.99 * edge
    post = replace(post, pool={**post.pool, "sel_scale": scales})
    draws = sel.inclusion_draws(post, design, spec, names)
    assert draws[:, 2].mean() == pytest.approx(0.25)


def test_the_selection_draws_become_posterior_variables() -> None:
    from mmm_runner.analysis import posterior
    from mmm_runner.classes import get

    rng = np.random.default_rng(0)
    v = {
        "alpha": rng.normal(size=(2, 5)),
        "beta": rng.normal(size=(2, 5, 4)),
        "sigma": rng.uniform(size=(2, 5)),
        "sel_scale": rng.uniform(size=(2, 5, 3)),
        "sel_inclusion": rng.uniform(size=(2, 5, 3)),
        "ss_rate": rng.uniform(size=(2, 5, 1)),
    }
    variables = get("blm").posterior_variables(v, None, None)  # type: ignore[arg-type]
    coords = {"coef": list("abcd"), "transform_param": [], "selected": list("bcd")}
    dataset = posterior._dataset(variables, coords, "mcmc")
    assert dataset["ss_rate"].dims == ("chain", "draw")
    assert dataset["sel_inclusion"].dims == ("chain", "draw", "selected")
    assert set(posterior.shrinkage_draws(v)) == {"sel_scale", "sel_inclusion", "ss_rate"}
