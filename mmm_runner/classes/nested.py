"""Classes nested, multivariate and combined: ``stan/network.stan`` (see
``classes/network.py`` for what they share).

* nested: media build mediators (brand awareness), mediators move the KPI;
  every channel also acts on the KPI directly.
* multivariate: several KPI columns (products' sales), each with its own
  media and control coefficients, cross-effects between them (halo,
  cannibalisation) and optionally correlated errors.
* combined: both, mediators feeding several outcomes.

A mediator is observed every period, in some periods (a survey, with
observation noise) or never (latent: identified by its priors only).
"""

from __future__ import annotations

from mmm_runner.classes.network import Network


class Nested(Network):
    name = "nested"
    summary = "media -> mediators (e.g. brand awareness) -> KPI, with direct effects"
    mediators = True


class Multivariate(Network):
    name = "multivariate"
    summary = "several KPIs (e.g. products' sales) with cross-effects and correlated errors"
    several_outcomes = True


class Combined(Network):
    name = "combined"
    summary = "media -> mediators -> several KPIs, with cross-effects between the KPIs"
    mediators = True
    several_outcomes = True
