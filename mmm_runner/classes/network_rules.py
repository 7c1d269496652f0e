"""Config rules of the network classes: mediators (nested, combined) and several
outcomes with their cross-effects (multivariate, combined)."""

from __future__ import annotations

from typing import Any

from mmm_runner.config.models import RunConfig
from mmm_runner.config.resolve import Collector, ModelSpec, did_you_mean
from mmm_runner.model import network_data as nd


def mediator_rules(config: RunConfig, spec: ModelSpec, out: Collector) -> None:
    """Mediators: each built by channels of the model, its column its own, its outcomes
    known; a latent one needs informative priors."""
    model = config.model
    if not model.mediators:
        out.add(
            ("model", "mediators"),
            f"class {config.model.model_class} needs at least one mediator",
            "list model.mediators (name, channels, observation), or use class "
            + ("multivariate" if spec.outcomes else "blm"),
        )
    media = set(spec.media_names)
    taken = {
        **dict.fromkeys(spec.kpi_columns, "an outcome (KPI)"),
        **{m.spend_column: "a spend column" for m in spec.media},
        **dict.fromkeys(spec.media_names, "a media channel"),
        **dict.fromkeys(spec.controls, "a control"),
    }
    outcomes = nd.outcome_names(spec)
    names = {
        **dict.fromkeys(outcomes, "an outcome (the KPI)" if not spec.outcomes else "an outcome"),
        **dict.fromkeys(spec.media_names, "a media channel"),
        **dict.fromkeys(spec.controls, "a control"),
    }
    seen: set[str] = set()
    for i, (given, m) in enumerate(zip(model.mediators, spec.mediators, strict=True)):
        at = ("model", "mediators", i)
        if m.name in seen:
            out.add((*at, "name"), f"mediator '{m.name}' is listed twice", "keep one entry")
        seen.add(m.name)
        if m.name in names:
            out.add(
                (*at, "name"),
                f"mediator '{m.name}' has the name of {names[m.name]}: reports and paths "
                "would mix the two",
                "name the mediator after what it measures (e.g. awareness) and point "
                "`column` at its data",
            )
        if given.outcomes is not None and not given.outcomes:
            out.add(
                (*at, "outcomes"),
                f"mediator '{m.name}' moves no outcome: its channels would reach nothing "
                "through it",
                "list the outcomes it moves, or drop `outcomes` (every outcome)",
            )
        if not m.channels:
            out.add(
                (*at, "channels"),
                f"mediator '{m.name}' has no channels: nothing builds it",
                "name the media that build it, e.g. channels: [tv, social]",
            )
        for j, channel in enumerate(m.channels):
            if channel in m.channels[:j]:
                out.add(
                    (*at, "channels", j),
                    f"'{channel}' is listed twice among the channels of '{m.name}'",
                    "list each channel once",
                )
            elif channel not in media:
                out.add(
                    (*at, "channels", j),
                    f"'{channel}' is not a media channel of the model",
                    did_you_mean(channel, media),
                )
        for j, target in enumerate(given.outcomes or []):
            if target not in outcomes:
                out.add(
                    (*at, "outcomes", j),
                    f"'{target}' is not an outcome of the model",
                    did_you_mean(target, outcomes),
                )
        if m.column is not None and m.column in taken:
            out.add(
                (*at, "column" if given.column else "name"),
                f"mediator '{m.name}' reads column '{m.column}', which is {taken[m.column]}",
                "a mediator is its own column (e.g. a brand-awareness survey); set `column` to it",
            )
        if m.observation == "latent":
            _latent_rules(given, m, at, out)


def _latent_rules(given: Any, m: Any, at: tuple[Any, ...], out: Collector) -> None:
    missing = {"effect_prior", "media_prior"} - m.stated
    if isinstance(given.media_prior, dict):
        unstated = [c for c in m.channels if c not in given.media_prior]
        missing |= {f"media_prior for {', '.join(unstated)}"} if unstated else set()
        missing -= {"media_prior"} if not unstated else set()
    if missing:
        out.add(
            at,
            f"latent mediator '{m.name}' is never observed: the data cannot separate its "
            "effect from the direct ones, so its priors decide it",
            f"state informative {' and '.join(sorted(missing))} (e.g. effect_prior: "
            "normal(0.5, 0.1), from a brand-lift study), or observe it (observation: full "
            "or partial)",
        )
    if given.effect_sign == "any":
        # decision 0022: its noise is a share of the KPI's variance only through a
        # gamma that never crosses 0; sampled as it is, it left divergent transitions
        out.add(
            (*at, "effect_sign"),
            f"latent mediator '{m.name}' may act with either sign: its own noise and the "
            "KPI's then form a ridge the sampler crosses slowly (divergent transitions)",
            "set effect_sign: positive (or negative) when the direction is known",
            severity="warning",
        )


def outcome_rules(config: RunConfig, spec: ModelSpec, out: Collector) -> None:
    """Outcomes: two or more, their own columns, every channel acting somewhere;
    cross-effects between known outcomes without a same-period cycle."""
    model = config.model
    where = ("model", "formula") if model.formula else ("model", "outcomes")
    if len(spec.outcomes) < 2:
        out.add(
            where,
            f"class {model.model_class} fits several outcomes; found {len(spec.outcomes)}",
            "list two or more KPI columns in model.outcomes (or `a + b ~ ...` in the "
            "formula), or use class " + ("nested" if spec.mediators else "blm"),
        )
    if model.kpi_value is not None:
        out.add(
            ("model", "kpi_value"),
            "with several outcomes the money per unit is each outcome's `value`",
            "remove model.kpi_value and set value on each entry of model.outcomes",
        )
    taken = {
        **{m.spend_column: "a spend column" for m in spec.media},
        **dict.fromkeys(spec.media_names, "a media channel"),
        **dict.fromkeys(spec.controls, "a control"),
        **{c.modulator: "a cross-effect's modulator" for c in spec.cross_effects if c.modulator},
    }
    listed: dict[str, int] = {}
    for i, entry in enumerate(model.outcomes):
        if entry.name in listed:
            out.add(
                ("model", "outcomes", i, "name"),
                f"outcome '{entry.name}' is listed twice",
                "keep one entry",
            )
        listed.setdefault(entry.name, i)
        for key in ("channels", "controls"):
            items = getattr(entry, key) or []
            for j, item in enumerate(items):
                if item in items[:j]:
                    out.add(
                        ("model", "outcomes", i, key, j),
                        f"'{item}' is listed twice in the {key} of '{entry.name}'",
                        "list each once",
                    )
    names = {
        **dict.fromkeys(spec.media_names, "a media channel"),
        **dict.fromkeys(spec.controls, "a control"),
        **{m.name: "a mediator" for m in spec.mediators},
    }
    columns: set[str] = set()
    for o in spec.outcomes:
        at = ("model", "outcomes", listed[o.name]) if o.name in listed else where
        if o.name in names:
            out.add(
                (*at, "name") if o.name in listed else at,
                f"outcome '{o.name}' has the name of {names[o.name]}",
                "name each outcome after its KPI column (set `column` when they differ)",
            )
        if o.column in taken:
            out.add(
                at,
                f"outcome '{o.name}' reads column '{o.column}', which is {taken[o.column]}",
                "an outcome is a KPI column (e.g. a product's sales); a column cannot both "
                "drive the model and be explained by it",
            )
        if o.column in columns:
            out.add(at, f"column '{o.column}' is two outcomes", "list each outcome once")
        columns.add(o.column)
    used = {c for o in spec.outcomes for c in o.controls}
    for i, control in enumerate(spec.controls):
        if control not in used:
            out.add(
                ("model", "controls", i) if model.controls else where,
                f"control '{control}' is in no outcome's equation",
                "add it to an outcome's `controls`, or remove it from the model",
            )
    reached = {c for o in spec.outcomes for c in o.channels}
    moving = [
        m for m, targets in zip(spec.mediators, spec.mediator_outcomes, strict=True) if targets
    ]
    reached |= {c for m in moving for c in m.channels}
    for i, channel in enumerate(spec.media_names):
        if channel not in reached:
            out.add(
                ("model", "media", i) if model.media else where,
                f"channel '{channel}' acts on no outcome and no mediator",
                "add it to an outcome's `channels` (or a mediator's), or remove it",
            )
    _cross_rules(config, spec, out)
    per_outcome_rules(config, spec, out)


def per_outcome_rules(config: RunConfig, spec: ModelSpec, out: Collector) -> None:
    """Channels with transforms per outcome (``per_outcome``): one set of transform
    parameters for each outcome they act on directly. Refused where a channel would need
    one more set (building a mediator: its path would need a set of its own) and where
    its coefficients may take either sign (the total's readings split the channel's
    effect over its transforms by each outcome's share of its coefficient, which opposite
    signs leave undefined); warned about where nothing changes."""
    listed = {m.name: i for i, m in enumerate(config.model.media)}
    with_params = {p.channel for p in spec.transform_params}
    for m in spec.media:
        if not m.per_outcome:
            continue
        i = listed.get(m.name, 0)
        at = ("model", "media", i, "per_outcome")
        direct = [o.name for o in spec.outcomes if m.name in o.channels]
        if len(direct) < 2:
            out.add(
                at,
                f"channel '{m.name}' acts directly on {len(direct)} outcome(s): transforms "
                "per outcome change nothing (its parameters keep their shared labels)",
                "remove per_outcome, or add the channel to more outcomes' `channels`",
                severity="warning",
            )
        if m.name not in with_params:
            out.add(
                at,
                f"channel '{m.name}' has no transform parameters (adstock and saturation "
                "none): transforms per outcome change nothing",
                "remove per_outcome, or give the channel an adstock or a saturation",
                severity="warning",
            )
        coef = spec.coefficients[m.name]
        if coef.lower < 0 < coef.upper:
            out.add(
                at,
                f"channel '{m.name}' has transforms per outcome but its coefficients may "
                "take either sign (sign: any, no boundary): its effect on the total is split "
                "over its transforms by each outcome's share of its coefficient, which "
                "outcomes of opposite signs leave undefined",
                f"set sign: positive in model.media[{i}] (or bound it, e.g. "
                f"boundaries: ['{m.name} < 0']), or remove per_outcome",
            )
        for d, mediator in enumerate(spec.mediators):
            if m.name in mediator.channels:
                out.add(
                    at,
                    f"channel '{m.name}' has transforms per outcome and builds mediator "
                    f"'{mediator.name}': its path into the mediator would need a transform "
                    "of its own, which is not offered yet",
                    f"remove per_outcome, or remove '{m.name}' from model.mediators[{d}].channels",
                )


def _cross_rules(config: RunConfig, spec: ModelSpec, out: Collector) -> None:
    model = config.model
    outcomes = nd.outcome_names(spec)
    seen: set[tuple[str, str, int]] = set()
    for i, c in enumerate(spec.cross_effects):
        at = ("model", "cross_effects", i)
        for key, name in (("from", c.source), ("to", c.target)):
            if name not in outcomes:
                out.add(
                    (*at, key),
                    f"'{name}' is not an outcome of the model",
                    did_you_mean(name, outcomes),
                )
        if c.source == c.target:
            out.add(
                at,
                f"a cross-effect from '{c.source}' to itself is not between outcomes",
                "name two different outcomes (an outcome's own past belongs in a control)",
            )
        link = (c.source, c.target, c.lag)
        if link in seen:
            out.add(at, f"the cross-effect {nd.cross_label(c)} is listed twice", "keep one")
        seen.add(link)
    known = [c for c in spec.cross_effects if c.source in outcomes and c.target in outcomes]
    if nd.contemporaneous_order(outcomes, tuple(known)) is None:
        out.add(
            ("model", "cross_effects"),
            "same-period cross-effects form a cycle (e.g. a -> b and b -> a, both at lag "
            "0): the outcomes would be a simultaneous system, which is not identified from "
            "one period's data without more assumptions",
            "give one of the effects a lag (lag: 1), or drop one direction",
        )
    if spec.lkj_eta is not None:
        for i, c in enumerate(spec.cross_effects):
            if c.lag == 0 and c.modulator is None:
                out.add(
                    ("model", "cross_effects", i),
                    f"{nd.cross_label(c)} acts in the same period with correlated errors: the "
                    "data cannot tell it from the error correlation, so its prior decides",
                    "add a modulator (e.g. the source's promotion flag), a lag, or remove "
                    "correlated_errors",
                    severity="warning",
                )
    del model
