"""Every figure of a run. The only module that imports matplotlib; each function returns a figure.

Loaded by ``plotting.render_all`` only when figures are drawn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.figure import Figure

from mmm_runner.atomic import replacing

Array = npt.NDArray[np.float64]
BAND: dict[str, Any] = {"alpha": 0.25, "linewidth": 0}


def save(fig: Figure, path: Path) -> Path:
    """Writes a figure as PNG (atomically) and releases it."""
    with replacing(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return path


def _grid(count: int, cols: int, width: float, height: float) -> tuple[Figure, Any]:
    """A grid of small panels with a fixed layout (cheaper than tight_layout)."""
    rows = int(np.ceil(count / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    tall = height * rows  # margins fixed in inches, so tall grids do not waste the top
    fig.subplots_adjust(
        left=0.07, right=0.98, bottom=0.45 / tall, top=1 - 0.65 / tall, hspace=0.55, wspace=0.3
    )
    for ax in axes.ravel()[count:]:
        ax.set_visible(False)
    return fig, axes


def _dates(frame: pd.DataFrame) -> Any:
    return pd.to_datetime(frame["date"])


def _by_group(frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    if "group" not in frame:
        return [("", frame)]
    return [(str(g), part) for g, part in frame.groupby("group", sort=False)]


def fitted_vs_actual(fitted: pd.DataFrame, kpi: str) -> Figure:
    """Actual KPI, the fitted mean with its 90% interval; holdout periods shaded."""
    groups = _by_group(fitted)
    fig, axes = plt.subplots(len(groups), 1, figsize=(11, 3.2 * len(groups)), squeeze=False)
    for ax, (name, part) in zip(axes[:, 0], groups, strict=True):
        x = _dates(part)
        ax.fill_between(
            x,
            part["predictive_q05"],
            part["predictive_q95"],
            color="tab:blue",
            alpha=0.12,
            linewidth=0,
            label="90% predictive",
        )
        ax.fill_between(
            x,
            part["fitted_q05"],
            part["fitted_q95"],
            color="tab:blue",
            **BAND,
            label="90% fitted mean",
        )
        ax.plot(x, part["fitted"], color="tab:blue", label="fitted")
        ax.plot(x, part["actual"], color="black", linewidth=1, label="actual")
        held = ~part["in_fit"].astype(bool)
        if held.any():
            ax.axvspan(x[held].min(), x[held].max(), color="grey", alpha=0.15, label="holdout")
        ax.set_title(f"{kpi}: fitted vs actual" + (f" ({name})" if name else ""))
        ax.legend(loc="upper left", fontsize=8, ncol=5)
    fig.tight_layout()
    return fig


def residuals(fitted: pd.DataFrame) -> Figure:
    """Residuals over time and their distribution."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 3.5), width_ratios=[3, 1])
    for name, part in _by_group(fitted):
        left.plot(_dates(part), part["residual"], linewidth=1, label=name or None)
    left.axhline(0, color="black", linewidth=0.8)
    left.set_title("Residuals (actual − fitted mean)")
    right.hist(fitted["residual"], bins=30, color="tab:grey")
    right.set_title("Distribution")
    fig.tight_layout()
    return fig


def decomposition(rows: pd.DataFrame, kpi: str) -> Figure:
    """Mean contribution of each term over time, stacked (positive and negative apart)."""
    data = rows[rows["group"] == rows["group"].iloc[0]] if "group" in rows else rows
    wide = data.pivot_table(index="date", columns="term", values="mean", sort=False)
    if "group" in rows:
        wide = rows.pivot_table(
            index="date", columns="term", values="mean", aggfunc="sum", sort=False
        )
    x = pd.to_datetime(wide.index)
    fig, ax = plt.subplots(figsize=(12, 4.5))
    positive = wide.clip(lower=0)
    negative = wide.clip(upper=0)
    colours = [plt.get_cmap("tab20")(i % 20) for i in range(wide.shape[1])]
    ax.stackplot(x, positive.T.to_numpy(), labels=list(wide.columns), colors=colours, alpha=0.85)
    ax.stackplot(x, negative.T.to_numpy(), colors=colours, alpha=0.85)
    ax.plot(x, wide.sum(axis=1), color="black", linewidth=1, label="fitted")
    ax.set_title(f"Decomposition of {kpi} over time")
    ax.legend(loc="upper left", fontsize=7, ncol=6)
    fig.tight_layout()
    return fig


def interval_bars(table: pd.DataFrame, label: str, value: str, title: str) -> Figure:
    """Horizontal bars with 90% intervals (channel contributions, ROI)."""
    data = table.sort_values(value)
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(data) + 1.5))
    err = np.vstack([data[value] - data[f"{value}_q05"], data[f"{value}_q95"] - data[value]])
    ax.barh(
        data[label],
        data[value],
        xerr=np.clip(err, 0, None),
        color="tab:blue",
        alpha=0.8,
        capsize=3,
    )
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def curves(
    xs: dict[str, Array],
    bands: dict[str, tuple[Array, Array, Array]],
    title: str,
    xlabel: str,
    observed: dict[str, float] | None = None,
) -> Figure:
    """One panel per channel: median curve with its 90% band (adstock or saturation)."""
    names = list(bands)
    fig, axes = _grid(len(names), min(3, len(names)), 4.0, 2.8)
    for ax, name in zip(axes.ravel(), names, strict=False):
        median, low, high = bands[name]
        x = xs[name]
        ax.fill_between(x, low, high, color="tab:orange", **BAND)
        ax.plot(x, median, color="tab:orange")
        if observed and name in observed:
            ax.axvline(observed[name], color="grey", linestyle=":", linewidth=1)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel(xlabel, fontsize=8)
    fig.suptitle(title)
    return fig


def prior_vs_posterior(pairs: dict[str, tuple[Array, Array]]) -> Figure:
    """Prior and posterior draws of each parameter, as overlaid histograms."""
    names = list(pairs)
    fig, axes = _grid(len(names), min(4, len(names)), 3.6, 2.5)
    # One filled outline per histogram rather than 40 bars: a tenth of the drawing time.
    shape: dict[str, Any] = {"density": True, "histtype": "stepfilled"}
    for ax, name in zip(axes.ravel(), names, strict=False):
        prior, post = pairs[name]
        low, high = np.quantile(np.concatenate([prior, post]), [0.005, 0.995])
        low, high = min(low, float(post.min())), max(high, float(post.max()))
        bins = np.linspace(low, high, 40) if high > low else 40
        ax.hist(prior, bins=bins, alpha=0.4, color="grey", label="prior", **shape)
        if len(post) >= 10:
            ax.hist(post, bins=bins, alpha=0.6, color="tab:blue", label="posterior", **shape)
        else:  # a point estimate (MAP)
            ax.axvline(float(post.mean()), color="tab:blue", label="posterior mode")
        ax.set_title(name, fontsize=9)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("Prior vs posterior (modelling scale)")
    return fig


def rank_plots(idata: Any, variables: list[str], coords: dict[str, list[str]]) -> Figure:
    """Rank plots of key parameters: uniform bars mean the chains agree."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module="arviz")
        warnings.filterwarnings("ignore", category=UserWarning)
        import arviz as az

        plot_rank: Any = az.plot_rank
        axes = plot_rank(idata, var_names=variables, coords=coords, kind="bars")
    fig: Figure = np.atleast_1d(axes).ravel()[0].figure
    return fig


def pareto_k(k: Array, labels: list[str]) -> Figure:
    """Pareto k of every fitted period, with the 0.5 and 0.7 bands."""
    fig, ax = plt.subplots(figsize=(11, 3.2))
    colours = np.where(k > 0.7, "tab:red", np.where(k > 0.5, "tab:orange", "tab:blue"))
    ax.scatter(range(len(k)), k, c=colours, s=12)
    for level in (0.5, 0.7):
        ax.axhline(level, color="grey", linestyle="--", linewidth=0.8)
    ticks = np.linspace(0, len(k) - 1, min(8, len(k))).astype(int)
    ax.set_xticks(ticks, [labels[i] for i in ticks], fontsize=7, rotation=20)
    ax.set_title("PSIS-LOO Pareto k by period")
    fig.tight_layout()
    return fig


def media_overview(
    frame: pd.DataFrame, date: str, media: list[str], kpi: str, group: str | None
) -> Figure:
    """The KPI and each media series over time (summed over groups)."""
    data = (
        frame.groupby(date)[[kpi, *media]].sum() if group else frame.set_index(date)[[kpi, *media]]
    )
    fig, axes = plt.subplots(2, 1, figsize=(12, 6), sharex=True)
    axes[0].plot(data.index, data[kpi], color="black")
    axes[0].set_title(kpi)
    for name in media:
        axes[1].plot(data.index, data[name], linewidth=1, label=name)
    axes[1].set_title("Media")
    axes[1].legend(fontsize=7, ncol=6)
    fig.tight_layout()
    return fig


def allocation(table: pd.DataFrame) -> Figure:
    """Current vs optimised spend per channel."""
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(table) + 2))
    y = np.arange(len(table))
    ax.barh(y - 0.2, table["current_spend"], height=0.4, label="current", color="tab:grey")
    ax.barh(y + 0.2, table["optimised_spend"], height=0.4, label="optimised", color="tab:green")
    ax.set_yticks(y, table["channel"])
    ax.set_title("Spend over the horizon: current vs optimised")
    ax.legend()
    fig.tight_layout()
    return fig


def response_curves(curves: pd.DataFrame) -> Figure:
    """Each channel's contribution over the horizon as its spend varies (90% band)."""
    names = list(dict.fromkeys(curves["channel"]))
    fig, axes = _grid(len(names), min(3, len(names)), 4.2, 2.8)
    for ax, name in zip(axes.ravel(), names, strict=False):
        part = curves[curves["channel"] == name]
        ax.fill_between(
            part["spend"],
            part["contribution_q05"],
            part["contribution_q95"],
            color="tab:green",
            **BAND,
        )
        ax.plot(part["spend"], part["contribution"], color="tab:green")
        now = part[part["is_current"]]
        if len(now):
            ax.axvline(float(now["spend"].iloc[0]), color="grey", linestyle=":")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("spend over the horizon", fontsize=8)
    for ax in axes.ravel()[len(names) :]:
        ax.set_visible(False)
    fig.suptitle("Response curves (dotted: current spend)")
    fig.tight_layout()
    return fig


def frontier(sweep: pd.DataFrame, objective: str) -> Figure:
    """Best achievable value against the total budget."""
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.fill_between(
        sweep["total"], sweep["value_q05"], sweep["value_q95"], color="tab:green", **BAND
    )
    ax.plot(sweep["total"], sweep["value_mean"], marker="o", color="tab:green")
    factors = sweep["total_factor"].to_numpy(dtype=float)
    ax.axvline(
        float(sweep["total"].to_numpy(dtype=float)[np.argmin(np.abs(factors - 1))]),
        color="grey",
        linestyle=":",
    )
    ax.set_xlabel("total budget over the horizon")
    ax.set_ylabel("KPI uplift" if objective == "kpi" else "profit")
    ax.set_title("Efficient frontier (dotted: the scenario's total)")
    fig.tight_layout()
    return fig


def elpd_differences(summary: pd.DataFrame) -> Figure:
    """elpd difference to the best run of its data set, with the difference's SE."""
    data = summary.dropna(subset=["elpd_diff"]).sort_values(["loo_set", "elpd_diff"])
    fig, ax = plt.subplots(figsize=(8, 0.5 * max(len(data), 1) + 1.6))
    if data.empty:
        ax.text(0.5, 0.5, "no run has LOO", ha="center", va="center")
        ax.set_axis_off()
        return fig
    labels = [f"{r} (set {int(s)})" for r, s in zip(data["run"], data["loo_set"], strict=True)]
    y = np.arange(len(data))
    ax.errorbar(-data["elpd_diff"], y, xerr=data["elpd_diff_se"], fmt="o", capsize=3)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel("elpd_loo difference to the best run (0 = best; ± SE of the difference)")
    ax.set_title("LOO: expected log predictive density relative to the best run")
    fig.tight_layout()
    return fig


def contribution_shares(channels: pd.DataFrame) -> Figure:
    """Each channel's share of the fitted KPI in every run, with 90% intervals."""
    fig, ax = plt.subplots(figsize=(10, 4.5))
    if channels.empty:
        ax.text(0.5, 0.5, "no channel contributions", ha="center", va="center")
        ax.set_axis_off()
        return fig
    names = list(dict.fromkeys(channels["channel"]))
    runs = list(dict.fromkeys(channels["run"]))
    width = 0.8 / len(runs)
    for i, run in enumerate(runs):
        part = channels[channels["run"] == run].set_index("channel").reindex(names)
        x = np.arange(len(names)) + (i - (len(runs) - 1) / 2) * width
        err = np.vstack([part["share"] - part["share_q05"], part["share_q95"] - part["share"]])
        ax.bar(x, part["share"], width, yerr=np.clip(err, 0, None), capsize=2, label=run)
    ax.set_xticks(np.arange(len(names)), names, rotation=20, fontsize=8)
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_title("Share of the fitted KPI by channel (90% intervals)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


# --- `mmm priors` ---------------------------------------------------------------------------


def _band_panel(ax: Any, part: pd.DataFrame, colour: str, label: str, inner: bool = True) -> None:
    """A prior predictive band on one axis: 90% (and 50%) bands and the median."""
    x = _dates(part)
    ax.fill_between(
        x, part["q05"], part["q95"], color=colour, alpha=0.15, linewidth=0, label=f"{label}90%"
    )
    if inner:
        ax.fill_between(x, part["q25"], part["q75"], color=colour, **BAND, label=f"{label}50%")
    ax.plot(x, part["q50"], color=colour, linewidth=1, label=f"{label}median")


def prior_predictive_bands(bands: pd.DataFrame, kpi: str) -> Figure:
    """The prior predictive KPI (50% and 90% bands, median) against the observed KPI."""
    groups = _by_group(bands)
    fig, axes = plt.subplots(len(groups), 1, figsize=(11, 3.2 * len(groups)), squeeze=False)
    for ax, (name, part) in zip(axes[:, 0], groups, strict=True):
        _band_panel(ax, part, "tab:purple", "prior ")
        ax.plot(_dates(part), part["observed"], color="black", linewidth=1, label="observed")
        held = ~part["in_fit"].astype(bool)
        if held.any():
            x = _dates(part)
            ax.axvspan(x[held].min(), x[held].max(), color="grey", alpha=0.15, label="holdout")
        ax.set_title(f"{kpi}: prior predictive vs observed" + (f" ({name})" if name else ""))
        ax.legend(loc="upper left", fontsize=8, ncol=5)
    fig.tight_layout()
    return fig


def _histogram_range(draws: list[Array]) -> Any:
    """Bins over the bulk of some draws (heavy prior tails would flatten the plot)."""
    pooled = np.concatenate([d[np.isfinite(d)] for d in draws])
    if pooled.size == 0:
        return 40
    low, high = np.quantile(pooled, [0.005, 0.995])
    return np.linspace(low, high, 40) if high > low else 40


def prior_densities(
    panels: list[tuple[str, Array | None, Array | None, Array]], title: str
) -> Figure:
    """One panel per prior: its stated density (line) and the sampler's draws (histogram).

    ``panels``: (title, x, density, draws); x and density None for draws alone.
    """
    fig, axes = _grid(len(panels), min(4, max(len(panels), 1)), 3.6, 2.5)
    shape: dict[str, Any] = {"density": True, "histtype": "stepfilled"}
    for ax, (name, x, density, draws) in zip(axes.ravel(), panels, strict=False):
        ax.hist(draws, bins=_histogram_range([draws]), color="tab:purple", alpha=0.35, **shape)
        if x is not None and density is not None:
            ax.plot(x, density, color="black", linewidth=1)
        low, high = np.quantile(draws, [0.05, 0.95])
        for edge in (low, high):
            ax.axvline(float(edge), color="grey", linestyle=":", linewidth=0.8)
        ax.set_yticks([])  # densities: the shape matters, not the height
        ax.set_title(name, fontsize=8)
    fig.suptitle(title, y=1 - 0.1 / fig.get_figheight())
    return fig


def compare_priors(
    bands: dict[str, pd.DataFrame], pairs: dict[str, dict[str, Array]], kpi: str
) -> Figure:
    """Two configs' priors: their KPI prior predictive bands, then each shared parameter.

    ``bands``: config label -> kpi_bands table; ``pairs``: parameter -> label -> draws.
    """
    labels = list(bands)
    colours = dict(zip(labels, ("tab:purple", "tab:green"), strict=False))
    cols = min(4, max(len(pairs), 1))
    rows = int(np.ceil(len(pairs) / cols))
    tall = 3.4 + 2.5 * rows
    fig = plt.figure(figsize=(3.6 * cols + 1, tall))
    grid = fig.add_gridspec(
        rows + 1,
        cols,
        height_ratios=[1.4] + [1.0] * rows,
        hspace=0.6,
        top=1 - 0.7 / tall,  # margins in inches, as _grid keeps them
        bottom=0.45 / tall,
        left=0.06,
        right=0.98,
    )
    top = fig.add_subplot(grid[0, :])
    for label, table in bands.items():
        part = table[table["group"] == table["group"].iloc[0]] if "group" in table else table
        _band_panel(top, part, colours[label], f"{label}: ", inner=False)
    first = next(iter(bands.values()))
    first = first[first["group"] == first["group"].iloc[0]] if "group" in first else first
    top.plot(_dates(first), first["observed"], color="black", linewidth=1, label="observed")
    top.set_title(f"{kpi}: prior predictive 90% bands")
    top.legend(loc="upper left", fontsize=7, ncol=4)
    shape: dict[str, Any] = {"density": True, "histtype": "stepfilled", "alpha": 0.35}
    for i, (name, draws) in enumerate(pairs.items()):
        ax = fig.add_subplot(grid[1 + i // cols, i % cols])
        bins = _histogram_range(list(draws.values()))
        for label, values in draws.items():
            ax.hist(values, bins=bins, color=colours[label], label=label, **shape)
        ax.set_title(name, fontsize=8)
    fig.suptitle("Priors compared (parameters on the modelling scale)", y=1 - 0.1 / tall)
    return fig


def mediation_paths(totals: pd.DataFrame, kpi: str) -> Figure:
    """Path diagram of a nested model: channels (left), mediators (middle), the KPI
    (right); each arrow is labelled with the mean contribution along it (direct, or via a
    mediator) and drawn as thick as its share of all media contributions."""
    parts = totals[~totals["path"].isin(["total", "proportion_mediated"])]
    channels = list(dict.fromkeys(parts["channel"]))
    mediators = sorted({p.removeprefix("via ") for p in parts["path"] if p.startswith("via ")})
    whole = float(parts["mean"].abs().sum()) or 1.0
    fig, ax = plt.subplots(figsize=(10, 0.9 * max(len(channels), 3) + 1.5))
    ax.set_axis_off()

    def rows(count: int) -> Array:
        return np.linspace(0.9, 0.1, count) if count > 1 else np.array([0.5])

    at = dict(zip(channels, ((0.08, y) for y in rows(len(channels))), strict=True))
    at.update(zip(mediators, ((0.5, y) for y in rows(len(mediators))), strict=True))
    at[kpi] = (0.92, 0.5)
    box = {"boxstyle": "round,pad=0.4", "facecolor": "white", "edgecolor": "0.3"}
    for name, (x, y) in at.items():
        ax.text(x, y, name, ha="center", va="center", bbox=box, zorder=3)

    def arrow(a: str, b: str, value: float, colour: str, bend: float = 0.0) -> None:
        """An arrow from a to b (bent around the mediators for direct paths), labelled
        near its start (a bent one on the side it bends to)."""
        (x0, y0), (x1, y1) = at[a], at[b]
        width = 0.5 + 8 * abs(value) / whole
        ax.annotate(
            "",
            xy=(x1 - 0.05, y1),
            xytext=(x0 + 0.05, y0),
            arrowprops={
                "arrowstyle": "-|>",
                "lw": width,
                "color": colour,
                "alpha": 0.6,
                "connectionstyle": f"arc3,rad={bend}",
            },
        )
        x, y = x0 + 0.2 * (x1 - x0), y0 + 0.2 * (y1 - y0)
        y += 0.05 if bend < 0 else -0.05 if bend > 0 else 0.0
        ax.text(x, y, f"{value:,.0f}", fontsize=8, ha="center", color=colour)

    via_total = dict.fromkeys(mediators, 0.0)
    for channel, path, mean in zip(parts["channel"], parts["path"], parts["mean"], strict=True):
        if path == "direct":
            bend = 0.0 if not mediators else (-0.25 if at[str(channel)][1] >= 0.5 else 0.25)
            arrow(str(channel), kpi, float(mean), "tab:blue", bend)
        else:
            mediator = str(path).removeprefix("via ")
            arrow(str(channel), mediator, float(mean), "tab:orange")
            via_total[mediator] += float(mean)
    for mediator, value in via_total.items():
        arrow(mediator, kpi, value, "tab:orange")
    ax.set_title(
        f"Contributions to {kpi} along each path (means over the fitted periods; "
        "blue direct, orange through mediators)",
        fontsize=10,
    )
    return fig


def network_paths(effects: pd.DataFrame, cross: pd.DataFrame) -> Figure:
    """Path diagram of several outcomes: channels (left) to outcomes (right), each arrow
    labelled with the channel's own contribution to the outcome (direct and through
    mediators), and cross-effect arrows between outcomes labelled with what they add
    (means over the fitted periods, in each outcome's units)."""
    own = effects[effects["path"] == "own"]
    channels = list(dict.fromkeys(own["channel"]))
    outcomes = list(dict.fromkeys(own["outcome"]))
    whole = float(own["mean"].abs().sum()) or 1.0
    fig, ax = plt.subplots(figsize=(10, 0.9 * max(len(channels), len(outcomes), 3) + 1.5))
    ax.set_axis_off()

    def rows(count: int) -> Array:
        return np.linspace(0.9, 0.1, count) if count > 1 else np.array([0.5])

    at = dict(zip(channels, ((0.08, y) for y in rows(len(channels))), strict=True))
    at.update(zip(outcomes, ((0.8, y) for y in rows(len(outcomes))), strict=True))
    box = {"boxstyle": "round,pad=0.4", "facecolor": "white", "edgecolor": "0.3"}
    for name, (x, y) in at.items():
        ax.text(x, y, name, ha="center", va="center", bbox=box, zorder=3)
    for channel, outcome, mean in zip(own["channel"], own["outcome"], own["mean"], strict=True):
        (x0, y0), (x1, y1) = at[str(channel)], at[str(outcome)]
        ax.annotate(
            "",
            xy=(x1 - 0.06, y1),
            xytext=(x0 + 0.05, y0),
            arrowprops={
                "arrowstyle": "-|>",
                "lw": 0.5 + 8 * abs(float(mean)) / whole,
                "color": "tab:blue",
                "alpha": 0.5,
            },
        )
        ax.text(
            x0 + 0.25 * (x1 - x0),
            y0 + 0.25 * (y1 - y0),
            f"{float(mean):,.0f}",
            fontsize=8,
            ha="center",
            color="tab:blue",
        )
    columns = ("from", "to", "lag", "psi_mean", "added_mean")
    links = zip(*(cross[c] for c in columns), strict=True)
    for i, (source, target, lag, psi, added) in enumerate(links):
        (x0, y0), (x1, y1) = at[str(source)], at[str(target)]
        bend = 0.5 if i % 2 == 0 else -0.5
        colour = "tab:green" if float(psi) >= 0 else "tab:red"
        ax.annotate(
            "",
            xy=(x1 + 0.04, y1),
            xytext=(x0 + 0.04, y0),
            arrowprops={
                "arrowstyle": "-|>",
                "lw": 1.5,
                "color": colour,
                "connectionstyle": f"arc3,rad={bend}",
            },
        )
        label = f"{float(added):+,.0f}" + (f" (lag {int(lag)})" if int(lag) else "")
        ax.text(
            x0 + 0.12 + (0.05 if bend > 0 else 0.0),
            (y0 + y1) / 2 + 0.03 * np.sign(bend),
            label,
            fontsize=8,
            color=colour,
        )
    ax.set_xlim(0, 1.05)
    ax.set_title(
        "Contributions along each path (means over the fitted periods, outcome units): "
        "blue media, green halo, red cannibalisation",
        fontsize=10,
    )
    return fig


def flighting(table: pd.DataFrame) -> Figure:
    """The per-period plan: spend by channel, stacked (top), and the KPI it adds in each
    period with its interval (bottom)."""
    dates = list(dict.fromkeys(table["date"]))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    x = np.arange(len(dates))
    stacked = np.zeros(len(dates))
    added = np.zeros(len(dates))
    low = np.zeros(len(dates))
    high = np.zeros(len(dates))
    for channel, part in table.groupby("channel", sort=False):
        spend = part["spend"].to_numpy(dtype=float)
        top.bar(x, spend, bottom=stacked, label=str(channel))
        stacked += spend
        added += part["kpi_added"].to_numpy(dtype=float)
        low += part["kpi_added_q05"].to_numpy(dtype=float)
        high += part["kpi_added_q95"].to_numpy(dtype=float)
    top.set_ylabel("spend")
    top.legend(fontsize=8, ncol=3)
    top.set_title("Flighted plan: spend per period and what it adds", fontsize=10)
    bottom.plot(x, added, color="tab:blue")
    bottom.fill_between(x, low, high, color="tab:blue", **BAND)
    bottom.set_ylabel("KPI added (sum of channels' 90% bounds shaded)")
    bottom.set_xticks(x, dates, rotation=45, ha="right", fontsize=8)
    fig.tight_layout()
    return fig


def lift_tests(table: pd.DataFrame) -> Figure:
    """Each lift test: the measured lift (±1.645 standard errors) beside the model's lift
    (90% interval)."""
    fig, ax = plt.subplots(figsize=(8, 0.6 * len(table) + 1.5))
    y = np.arange(len(table))
    measured = table["measured_lift"].to_numpy(dtype=float)
    se = table["measured_se"].to_numpy(dtype=float)
    ax.errorbar(
        measured,
        y + 0.15,
        xerr=1.645 * se,
        fmt="o",
        color="black",
        capsize=3,
        label="measured (90%)",
    )
    model = table["model_lift"].to_numpy(dtype=float)
    err = np.vstack([model - table["model_q05"], table["model_q95"] - model])
    ax.errorbar(
        model,
        y - 0.15,
        xerr=np.clip(err, 0, None),
        fmt="s",
        color="tab:blue",
        capsize=3,
        label="model (90%)",
    )
    ax.set_yticks(y, [f"{t} ({c})" for t, c in zip(table["test"], table["channel"], strict=True)])
    ax.set_ylim(-0.6, len(table) - 0.4)
    ax.axvline(0, color="0.5", linewidth=0.8)
    ax.set_xlabel("lift over the measured periods (KPI)")
    ax.set_title("Lift tests: measured and as the calibrated model predicts them")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig


# Colours of the evidence bands of selection.csv.
EVIDENCE_COLOURS = {
    "strong": "tab:green",
    "moderate": "tab:olive",
    "weak": "tab:orange",
    "little": "0.6",
}


def selection(table: pd.DataFrame) -> Figure:
    """Each selected control's inclusion with the evidence bands' edges, beside the
    effect of a one-sd change of it (mean and 90% interval, KPI units)."""
    data = table.sort_values("inclusion")
    y = np.arange(len(data))
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(10, 0.4 * len(data) + 1.6), sharey=True, width_ratios=(1, 1.3)
    )
    colours = [EVIDENCE_COLOURS[e] for e in data["evidence"]]
    left.barh(y, data["inclusion"], color=colours)
    for edge in (0.25, 0.5, 0.75):
        left.axvline(edge, color="0.4", linewidth=0.7, linestyle=":")
    left.set_xlim(0, 1)
    left.set_yticks(y, data["term"])
    left.set_xlabel(str(data["measure"].iloc[0]) if len(data) else "inclusion")
    left.set_title(f"Inclusion ({data['prior'].iloc[0] if len(data) else ''})")
    mean = data["per_sd"].to_numpy(dtype=float)
    err = np.vstack([mean - data["per_sd_q05"], data["per_sd_q95"] - mean])
    right.errorbar(mean, y, xerr=np.clip(err, 0, None), fmt="o", color="black", capsize=3)
    right.axvline(0, color="0.5", linewidth=0.8)
    right.set_xlabel(f"{data['unit'].iloc[0].split(' per ')[0]} per sd of the control (90%)")
    right.set_title("Effect")
    fig.tight_layout()
    return fig


def plan_forecast(history: pd.DataFrame, forecast: pd.DataFrame) -> Figure:
    """The KPI's history (actual and fitted mean) and the plan's forecast (mean, 90%
    predictive band), summed over groups."""
    past = history.groupby("date")[["actual", "expected"]].sum(min_count=1)
    future = (
        forecast.assign(date=pd.to_datetime(forecast["date"]))
        .groupby("date")[["kpi_mean", "kpi_q05", "kpi_q95"]]
        .sum()
    )
    past = past[past.index < future.index.min()]
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot(past.index, past["actual"], color="black", linewidth=1, label="actual")
    ax.plot(past.index, past["expected"], color="tab:blue", linewidth=1, label="fitted mean")
    ax.fill_between(
        future.index,
        future["kpi_q05"],
        future["kpi_q95"],
        color="tab:orange",
        **BAND,
        label="forecast (90%)",
    )
    ax.plot(future.index, future["kpi_mean"], color="tab:orange", label="forecast mean")
    ax.set_title("KPI under the plan (groups summed; band: 90% per period)")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig


def time_varying_effects(table: pd.DataFrame) -> Figure:
    """Each time-varying channel's effectiveness multiplier per period (mean, 90% band),
    with 1 (its average effectiveness) marked; periods after the fit hold the latest."""
    channels = list(dict.fromkeys(table["channel"]))
    fig, axes = plt.subplots(
        len(channels), 1, figsize=(10, 2.6 * len(channels) + 0.6), squeeze=False, sharex=True
    )
    for ax, name in zip(axes[:, 0], channels, strict=True):
        data = table[table["channel"] == name]
        dates = pd.to_datetime(data["date"])
        ax.fill_between(dates, data["multiplier_q05"], data["multiplier_q95"], alpha=0.3)
        ax.plot(dates, data["multiplier"], color="black", linewidth=1.2)
        ax.axhline(1.0, color="0.5", linewidth=0.8, linestyle=":")
        held = ~data["fitted"].to_numpy(dtype=bool)
        if held.any():
            ax.axvspan(dates[held].min(), dates[held].max(), color="0.9", zorder=0)
        ax.set_ylabel("x average")
        ax.set_title(f"{name}: effectiveness over time (90% band)")
    fig.tight_layout()
    return fig
