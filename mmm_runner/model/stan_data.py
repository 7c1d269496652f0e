"""The single builder of the Stan data for the model programs.

Field names match the ``data`` blocks of the programs in ``stan/``; a test
checks them against the declared inputs that ``stanc --info`` reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mmm_runner.config.notation import Distribution
from mmm_runner.config.resolve import ModelSpec
from mmm_runner.data.design import Design, lag_matrices
from mmm_runner.model import calibration, hsgp, selection, transforms


@dataclass(frozen=True)
class Layout:
    """How the model's parameter vectors map to names."""

    beta: tuple[str, ...]  # media channels, then design columns
    beta_terms: tuple[str, ...]  # the coefficient group of each beta
    theta: tuple[str, ...]  # "<channel>.<stage>.<param>"
    theta_start: tuple[int, ...]  # 1-based first theta index of each channel
    window: int  # L: the longest adstock window
    group_effects: tuple[str, ...] = ()  # what varies: "intercept", varying columns, crossed
    # crossed effects: (index into spec.crossed, index into beta or -1 for the intercept)
    crossed: tuple[tuple[int, int], ...] = ()

    def varying_columns(self, terms: tuple[str, ...]) -> list[int]:
        """0-based indices into ``beta`` of every coefficient of the varying terms
        (a term such as ``season`` has several)."""
        return [j for j, term in enumerate(self.beta_terms) if term in terms]

    labels: tuple[tuple[str, str], ...] = ()  # pooled class: (dimension, label) of each label
    selected: tuple[int, ...] = ()  # 0-based indices into beta under model.selection
    drifting: tuple[str, ...] = ()  # time-varying channels, in the programs' order
    drift_basis: int = 0  # functions of their shared drift basis
    span: int = 0  # fitted periods of a series, first to last (default GP priors scale with it)

    @property
    def selected_names(self) -> tuple[str, ...]:
        """The coefficients under the selection prior, in the programs' order."""
        return tuple(self.beta[j] for j in self.selected)


def layout(design: Design, spec: ModelSpec) -> Layout:
    """Names of every coefficient and transform parameter, in Stan's order."""
    theta: list[str] = []
    starts: list[int] = []
    for media in spec.media:
        starts.append(len(theta) + 1)
        for stage, form in (
            ("adstock", transforms.ADSTOCKS[media.adstock]),
            ("saturation", transforms.SATURATIONS[media.saturation]),
        ):
            theta += [f"{media.name}.{stage}.{p.name}" for p in form.params]
    window = max([m.l_max for m in spec.media], default=1)
    beta = (*spec.media_names, *(c.name for c in design.columns))
    beta_terms = (*spec.media_names, *(c.term for c in design.columns))
    varying = tuple(
        name for name, term in zip(beta, beta_terms, strict=True) if term in spec.varying
    )
    crossed = [
        (f, j)
        for f, part in enumerate(spec.crossed)
        for j in ([-1] if part.intercept else [])
        + [j for j, term in enumerate(beta_terms) if term in part.terms]
    ]
    crossed_names = tuple(
        f"{'intercept' if j < 0 else beta[j]}|{spec.crossed[f].column}" for f, j in crossed
    )
    return Layout(
        beta=beta,
        beta_terms=beta_terms,
        theta=tuple(theta),
        theta_start=tuple(starts),
        window=window,
        group_effects=(("intercept",) if spec.varying_intercept else ()) + varying + crossed_names,
        crossed=tuple(crossed),
        labels=tuple(pooling_labels(spec)),
        selected=selection.selected_columns(spec, beta_terms),
        drifting=spec.time_varying,
        drift_basis=hsgp.drift_basis(design, spec)[1].shape[1] if spec.time_varying else 0,
        span=hsgp.fitted_span(design),
    )


def prior_code(dist: Distribution) -> tuple[int, list[float]]:
    """A prior as the programs take it: family code and arguments padded to 3."""
    return dist.spec.code, list(dist.stan_args())


def model_fields(design: Design, spec: ModelSpec, names: Layout) -> dict[str, Any]:
    """The fields every program shares: media, transforms, columns, coefficients, priors."""
    params = {p.label: p for p in spec.transform_params}
    theta = [params[label] for label in names.theta]
    coefs = [spec.coefficients[term] for term in names.beta_terms]
    return {
        "M": len(spec.media),
        "L": names.window,
        "X_lag": lag_matrices(design, names.window),
        "adstock_type": [transforms.ADSTOCKS[m.adstock].code for m in spec.media],
        "l_max": [m.l_max for m in spec.media],
        "saturation_type": [transforms.SATURATIONS[m.saturation].code for m in spec.media],
        "theta_start": list(names.theta_start),
        "P": len(theta),
        "theta_lower": [p.lower for p in theta],
        "theta_upper": [p.upper for p in theta],
        "theta_prior": [prior_code(p.prior)[0] for p in theta],
        "theta_prior_args": np.array([prior_code(p.prior)[1] for p in theta]).reshape(-1, 3),
        "K": len(design.columns),
        "X": design.x,
        "beta_lower": [c.lower for c in coefs],
        "beta_upper": [c.upper for c in coefs],
        "beta_prior": [prior_code(c.prior)[0] for c in coefs],
        "beta_prior_args": np.array([prior_code(c.prior)[1] for c in coefs]).reshape(-1, 3),
        "alpha_prior": prior_code(spec.intercept.prior)[0],
        "alpha_prior_args": prior_code(spec.intercept.prior)[1],
        "sigma_prior": prior_code(spec.sigma_prior)[0],
        "sigma_prior_args": prior_code(spec.sigma_prior)[1],
    }


def _pooling_fields(spec: ModelSpec) -> dict[str, Any]:
    """Labels of the pooled class: each media term's label on each dimension."""
    dims = sorted({d for labels in spec.pooling.values() for d in labels})
    labels = sorted({(d, lab) for term in spec.pooling.values() for d, lab in term.items()})
    index = {pair: i + 1 for i, pair in enumerate(labels)}
    pooled = [1 if m in spec.pooling else 0 for m in spec.media_names]
    label = [
        [
            index[(d, spec.pooling[m][d])] if m in spec.pooling and d in spec.pooling[m] else 0
            for d in dims
        ]
        for m in spec.media_names
    ]
    return {
        "D": len(dims),
        "n_labels": len(labels),
        "label": np.array(label, dtype=int).reshape(len(spec.media), len(dims)),
        "label_dim": [dims.index(d) + 1 for d, _ in labels],
        "is_pooled": pooled,
    }


def _crossed_fields(
    design: Design, spec: ModelSpec, names: Layout, prior_only: bool
) -> dict[str, Any]:
    """Crossed pooling: each group's level on each crossed column, and what varies."""
    level_of = np.array([c.of_group + 1 for c in design.crossed], dtype=int)
    rows = np.bincount(design.group[design.fitted], minlength=design.n_groups)
    fewest = min(
        (int(np.bincount(c.of_group, weights=rows).min()) for c in design.crossed), default=0
    )
    return {
        "F": len(design.crossed),
        "n_levels": [len(c.levels) for c in design.crossed],
        "level_of": level_of.reshape(len(design.crossed), design.n_groups),
        "C": len(names.crossed),
        "cross_factor": [f + 1 for f, _ in names.crossed],
        "cross_term": [j + 1 for _, j in names.crossed],  # the intercept (-1) becomes 0
        # a level's rows are its groups' rows: it may well have enough for the centred form
        "cross_centred": int(not prior_only and spec.centred(fewest)),
    }


def pooling_labels(spec: ModelSpec) -> list[tuple[str, str]]:
    """The (dimension, label) of each pooling label, in the program's order."""
    return sorted({(d, lab) for term in spec.pooling.values() for d, lab in term.items()})


def blm_data(
    design: Design,
    spec: ModelSpec,
    *,
    prior_only: bool = False,
    save_mu: bool = False,
    use_jacobian: bool = True,
) -> dict[str, Any]:
    """The data of ``stan/blm.stan`` (classes blm and pooled).

    Holdout rows come after the fitted rows.  ``use_jacobian`` is False only
    for MAP without Jacobians, so the optimum is the posterior mode of the
    coefficients as the priors state them.
    """
    if design.n_groups != 1:
        raise ValueError("blm takes one series; use the hierarchical program for panels")
    names = layout(design, spec)
    n_fit = int(design.fitted.sum())
    return {
        "N": n_fit,
        "N_pred": design.n_rows - n_fit,
        "y": design.y[design.fitted],
        **model_fields(design, spec, names),
        **_pooling_fields(spec),
        **calibration.stan_fields(design, spec, names.window),
        **calibration.roi_fields(design, spec),
        **selection.stan_fields(design, spec, names.selected),
        **hsgp.stan_fields(design, spec),
        **hsgp.drift_fields(design, spec),
        "prior_only": int(prior_only),
        "save_mu": int(save_mu),
        "use_jacobian": int(use_jacobian),
    }


def term_forms(design: Design, spec: ModelSpec, names: Layout) -> dict[str, str]:
    """Each varying term's form, centred or non_centred, as the program samples it from
    the data (prior-only draws aside)."""
    shortest = int(np.bincount(design.group[design.fitted], minlength=design.n_groups).min())
    terms = dict.fromkeys(names.beta_terms[j] for j in names.varying_columns(spec.varying))
    return {t: "centred" if spec.centred(shortest, t) else "non_centred" for t in terms}


def hierarchical_data(
    design: Design,
    spec: ModelSpec,
    *,
    prior_only: bool = False,
    save_mu: bool = False,
    use_jacobian: bool = True,
) -> dict[str, Any]:
    """The data of ``stan/hierarchical.stan``: rows stacked by group."""
    names = layout(design, spec)
    rows = np.arange(design.n_rows)
    starts = [int(rows[design.group == g][0]) + 1 for g in range(design.n_groups)]
    ends = [int(rows[design.group == g][-1]) + 1 for g in range(design.n_groups)]
    varying = [j + 1 for j in names.varying_columns(spec.varying)]
    forms = term_forms(design, spec, names)
    return {
        "T": design.n_rows,
        "N": int(design.fitted.sum()),
        "fit_rows": (rows[design.fitted] + 1).tolist(),
        "y": design.y[design.fitted],
        "G": design.n_groups,
        "group": (design.group + 1).tolist(),
        "group_start": starts,
        "group_end": ends,
        "threads": 1,  # the fit stage sets the threads per chain it runs with
        **model_fields(design, spec, names),
        "group_transforms": int(spec.group_transforms),
        "varying_intercept": int(spec.varying_intercept),
        "V": len(varying),
        "varying": varying,
        "tau_prior": prior_code(spec.group_sd_prior)[0],
        "tau_prior_args": prior_code(spec.group_sd_prior)[1],
        "tau_intercept_prior": prior_code(spec.group_intercept_sd_prior)[0],
        "tau_intercept_prior_args": prior_code(spec.group_intercept_sd_prior)[1],
        # the prior alone is a funnel in the centred form, plain normals in the other
        "centred": [
            int(not prior_only and forms[names.beta_terms[j - 1]] == "centred") for j in varying
        ],
        **_crossed_fields(design, spec, names, prior_only),
        **calibration.stan_fields(design, spec, names.window),
        **calibration.roi_fields(design, spec, every_row=True),
        **selection.stan_fields(design, spec, names.selected),
        **hsgp.stan_fields(design, spec),
        **hsgp.drift_fields(design, spec),
        "prior_only": int(prior_only),
        "save_mu": int(save_mu),
        "use_jacobian": int(use_jacobian),
    }
