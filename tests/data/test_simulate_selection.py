"""The selection dataset: its lines add up, its truth matches its files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

DATA = Path(__file__).resolve().parents[2] / "data"


def test_lines_add_up_and_only_three_precision_controls_matter() -> None:
    data = pd.read_csv(DATA / "selection.csv", parse_dates=["date"])
    truth = json.loads((DATA / "selection_truth.json").read_text())
    lines = pd.read_csv(DATA / "selection_contributions.csv").pivot(
        index="date", columns="term", values="contribution"
    )
    np.testing.assert_allclose(lines.sum(axis=1).to_numpy(), data["sales"], atol=1e-6)
    precision = [n for n, c in truth["controls"].items() if c["role"] == "precision"]
    assert len(precision) == 12
    nonzero = [n for n in precision if truth["controls"][n]["coefficient"] != 0]
    assert nonzero == truth["nonzero_precision"]
    assert len(nonzero) == 3
    assert truth["controls"]["price"]["role"] == "confounder"
    sd = data["sales"].std(ddof=0)
    for name, control in truth["controls"].items():
        x = data[name].to_numpy()
        np.testing.assert_allclose(lines[name].to_numpy(), control["coefficient"] * x)
        assert control["standardised"] == pytest.approx(control["coefficient"] * x.std() / sd)


def test_price_confounds_search() -> None:
    data = pd.read_csv(DATA / "selection.csv")
    assert np.corrcoef(data["price"], data["search"])[0, 1] < -0.2
