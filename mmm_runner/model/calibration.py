"""Lift tests as the Stan programs take them, and the model's lift in NumPy.

A lift test changed one channel's spend over some periods (in one group of a
panel) and measured the KPI it added over its measured periods. The model's
lift for the same change is the channel's coefficient times its saturated
adstock with the change minus as it ran, summed over the measured periods:
carry-over into and out of the test window is included because the lags are
those of the whole series. Spend changes become media changes at the channel's
own media-per-spend ratio (exposure channels), then the media scale.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from mmm_runner.config.models import LiftTest
from mmm_runner.config.resolve import ModelSpec, RoiSpec
from mmm_runner.data.design import Design, lag_matrices

Array = npt.NDArray[np.float64]
Rows = npt.NDArray[np.int64]


@dataclass(frozen=True)
class PlacedTest:
    """A lift test located in the design: its channel, group and rows."""

    name: str
    test: LiftTest
    channel: int  # index into spec.media
    group: int  # index into design.group_names
    changed: Rows  # rows whose media the test changed
    measured: Rows  # rows over which the lift was measured
    media_change: Array  # per changed period, in the channel's media units


def label(i: int, test: LiftTest) -> str:
    return test.name or f"test{i + 1}"


def place(design: Design, spec: ModelSpec) -> list[PlacedTest]:
    """The lift tests whose measured periods are all fitted, located in the design
    (validated beforehand; a cross-validation fold leaves out those that reach past its
    fitted periods, which a held-out period must not inform).

    A cut (negative change) is spread over the test's periods in proportion to their
    spend, so cutting everything that was spent takes the channel fully dark; added spend
    is spread evenly.
    """
    placed = []
    dates = design.dates
    for i, test in enumerate(spec.lift_tests):
        m = spec.media_names.index(test.channel)
        g = design.group_names.index(str(test.group)) if test.group is not None else 0
        own = design.group == g
        day = dates.normalize()
        until = test.measured_until or test.end
        changed = np.flatnonzero(own & (day >= _ts(test.start)) & (day <= _ts(test.end)))
        measured = np.flatnonzero(own & (day >= _ts(test.start)) & (day <= _ts(until)))
        if not len(measured) or not design.fitted[measured].all():
            continue
        fitted = own & design.fitted
        spent = float(design.spend[fitted, m].sum())
        ratio = float(design.media[fitted, m].sum()) / spent if spent > 0 else 1.0
        window = design.spend[changed, m]
        if test.spend_change < 0 and window.sum() > 0:
            shares = window / window.sum()
        else:
            shares = np.full(len(changed), 1.0 / max(len(changed), 1))
        change = test.spend_change * shares * ratio
        placed.append(PlacedTest(label(i, test), test, m, g, changed, measured, change))
    return placed


def _ts(day: Any) -> np.datetime64:
    return np.datetime64(day, "ns")


def changed_media(design: Design, test: PlacedTest) -> Array:
    """The design's media with the test's change (never below zero)."""
    media = design.media.copy()
    column = media[test.changed, test.channel] + test.media_change
    media[test.changed, test.channel] = np.maximum(column, 0.0)
    return media


def stan_fields(design: Design, spec: ModelSpec, window: int) -> dict[str, Any]:
    """The lift-test fields of the blm and hierarchical programs."""
    tests = place(design, spec)
    base = lag_matrices(design, window) if tests else np.zeros((0, design.n_rows, window))
    with_rows, without_rows, starts = [], [], []
    at = 1
    for test in tests:
        lags = lag_matrices(replace(design, media=changed_media(design, test)), window)
        with_rows.append(lags[test.channel][test.measured])
        without_rows.append(base[test.channel][test.measured])
        starts.append(at)
        at += len(test.measured)
    stack = (lambda parts: np.vstack(parts)) if tests else (lambda _: np.zeros((0, window)))
    return {
        "n_tests": len(tests),
        "test_channel": [t.channel + 1 for t in tests],
        "test_group": [t.group + 1 for t in tests],
        "test_from": starts,
        "test_len": [len(t.measured) for t in tests],
        "n_test_rows": at - 1,
        "test_lag_with": stack(with_rows),
        "test_lag_without": stack(without_rows),
        "test_lift": [t.test.lift / design.y_sd for t in tests],
        "test_se": [t.test.se / design.y_sd for t in tests],
    }


def roi_window(design: Design, roi: RoiSpec) -> npt.NDArray[np.bool_]:
    """The fitted periods of an ROI (or share) prior's window, in every group."""
    day = design.dates.normalize()
    inside = np.ones(design.n_rows, dtype=bool)
    if roi.start is not None:
        inside &= day >= _ts(roi.start)
    if roi.end is not None:
        inside &= day <= _ts(roi.end)
    return np.asarray(inside & design.fitted)


def roi_fields(design: Design, spec: ModelSpec, *, every_row: bool = False) -> dict[str, Any]:
    """The ROI- and share-prior fields of the blm and hierarchical programs: weights w
    over the rows such that the population coefficient times w . (saturated media) is
    the quantity the prior is on (columns: the fitted rows, or with ``every_row`` every
    row of the design, 0 where not fitted).

    An ROI prior's weights are each period's KPI value per unit of the window's spend,
    times the KPI sd, so that the result is the ROI that roi.csv reports over the window
    (in a panel, its 'all' row when the channel's effect is the same in every group:
    summed over the groups, national media's spend counted once per period). A share
    prior's are the KPI sd over the observed KPI summed over the window: the result is
    the channel's contribution over the window as a fraction of the KPI."""
    rows = np.arange(design.n_rows) if every_row else np.flatnonzero(design.fitted)
    # a cross-validation fold whose fitted periods miss a window's spend (or KPI) keeps
    # the channel's coefficient prior (validation ensures the full run has them)
    priors = [r for r in spec.window_priors if _window_total(design, spec, r) > 0]
    weights = np.zeros((len(priors), len(rows)))
    for r, roi in enumerate(priors):
        window = roi_window(design, roi)[rows]
        total = _window_total(design, spec, roi)
        per_row = design.kpi_value[rows] if roi.kind == "roi" else np.ones(len(rows))
        weights[r] = np.where(window, design.y_sd * per_row / total, 0.0)
    codes = [(r.prior.spec.code, list(r.prior.stan_args())) for r in priors]
    return {
        "n_roi": len(priors),
        "roi_channel": [spec.media_names.index(r.channel) + 1 for r in priors],
        "roi_weight": weights,
        "roi_prior": [code for code, _ in codes],
        "roi_prior_args": np.array([args for _, args in codes], dtype=float).reshape(-1, 3),
    }


def _window_total(design: Design, spec: ModelSpec, roi: RoiSpec) -> float:
    """What an ROI prior divides by (the channel's spend over its window, as roi.csv
    counts it) or a share prior (the observed KPI summed over its window)."""
    window = roi_window(design, roi)
    if roi.kind == "share":
        return float(design.kpi[window].sum())
    m = spec.media_names.index(roi.channel)
    if spec.media[m].scope == "national" and design.n_groups > 1:
        window &= design.group == 0  # the same spend in every group: counted once
    return float(design.spend[window, m].sum())


def network_fields(design: Design, spec: ModelSpec, window: int) -> dict[str, Any]:
    """The lift-test fields of the network program: the blm program's, each test's first
    design row (for the cross-effects' modulators) and its weights over the outcomes."""
    fields = stan_fields(design, spec, window)
    tests = place(design, spec)
    weights, sd = measured_weights(design, spec, tests)
    return {
        **{k: v for k, v in fields.items() if k != "test_group"},
        "test_first_row": [int(t.measured[0]) + 1 for t in tests],
        "test_weight": weights,
        "test_lift": [t.test.lift / s for t, s in zip(tests, sd, strict=True)],
        "test_se": [t.test.se / s for t, s in zip(tests, sd, strict=True)],
    }


def measured_weights(
    design: Design, spec: ModelSpec, tests: list[PlacedTest]
) -> tuple[Array, Array]:
    """What each test measured, for the network classes: a modelling-scale unit of each
    outcome in units of the measured quantity's sd (weights, (tests, K)), and that sd
    (the outcome's own, or the KPI's: the value-weighted total)."""
    from mmm_runner.model import network_data  # the network classes' layout

    names = network_data.outcome_names(spec)
    scales = network_data.outcome_scales(design, spec)
    weights = np.zeros((len(tests), len(names)))
    sd = np.zeros(len(tests))
    for e, test in enumerate(tests):
        if test.test.outcome is None:
            weights[e] = network_data.outcome_weights(design, spec)
            sd[e] = design.y_sd
        else:
            k = names.index(test.test.outcome)
            weights[e, k], sd[e] = 1.0, scales[k][1]
    return weights, sd
