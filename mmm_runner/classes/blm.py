"""Class ``blm``: one market, one additive KPI equation (``stan/blm.stan``)."""

from __future__ import annotations

from typing import Any

from mmm_runner.classes.base import ModelClass
from mmm_runner.config.resolve import ModelSpec
from mmm_runner.data.design import Design
from mmm_runner.model import stan_data


class Blm(ModelClass):
    name = "blm"
    program = "blm.stan"
    summary = "single market: media with adstock and saturation, controls, trend, seasonality"
    roi_priors = True

    def stan_data(self, design: Design, spec: ModelSpec, **options: bool) -> dict[str, Any]:
        return stan_data.blm_data(design, spec, **options)
