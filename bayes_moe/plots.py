"""Figures of a fitted posterior, the loss surface and the design, for the notebooks and the docs.

Every function returns a ``matplotlib.figure.Figure`` (nothing is shown or saved here), with axes in
the project's units: compute in FLOPs, loss in nats, both on log axes where they span decades.
Colours come from the Okabe-Ito palette (distinguishable with the common colour-vision deficiencies)
and the sequential ``cividis`` / ``viridis`` maps. ``notebook_workspace`` is the one set-up the
notebooks share: a workspace (env ``WORKSPACE``, else a fresh copy of the demo campaign) and its
posterior, fitted if missing or stale.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import arviz as az
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import xarray as xr
from matplotlib.colors import LogNorm
from matplotlib.lines import Line2D
from matplotlib.ticker import LogFormatterSciNotation

from bayes_moe import arch, laws, model, posterior, regime
from bayes_moe.config import load_campaign
from bayes_moe.design.space import DesignSpace
from bayes_moe.errors import InputError
from bayes_moe.palette import OKABE_ITO

BANDS = (0.9, 0.5)  # central credible intervals drawn as bands, widest first
BAND_ALPHA = {0.9: 0.22, 0.5: 0.45}
PAPER_STYLE = dict(color="black", linestyle="--", linewidth=1.2)
HYPERPARAMETERS = ("a0", "a1", "b0", "b1", "sigma_alpha", "sigma_beta", "curvature", "E", "gamma", "kappa",
                   "kappa_skew", "kappa_exponent", "A_A", "p", "q", "q_slope", "bend_scale", "sigma", "seed_share",
                   "tau_seed", "nu")  # those a fit has
DODGE = 0.025  # relative horizontal offset between sparsities that share an r
EDGE = 1.12  # margin (a factor) around the design space, so runs on its edge are seen whole
MIN_SWEEP = 3  # distinct r values at one (compute, sparsity) for the cell to count as a sweep
PAPER_COMPUTE_MAX = 1e21  # the paper's largest training compute (FLOPs): r* bands reach at least this far
DEMO = Path(__file__).resolve().parents[1] / "experiments" / "demo"


# --- the notebooks' workspace --------------------------------------------------------------------


def fast() -> bool:
    """Whether the notebooks run with few draws (env ``BAYES_MOE_FAST=1``, as the tests do)."""
    return os.environ.get("BAYES_MOE_FAST", "") not in ("", "0")


def fit_options() -> dict:
    """MCMC settings of the notebooks: the CLI's defaults, or a quick fit under ``fast()``."""
    if fast():
        return dict(draws=200, tune=200, chains=2, progressbar=False)
    return dict(draws=1000, tune=1000, chains=4, progressbar=False)


def notebook_workspace():
    """``(workspace, idata, runs)``: env ``WORKSPACE`` (else a fresh copy of experiments/demo in a
    temporary folder), its posterior (fitted and saved first if missing or stale) and its finished runs."""
    from bayes_moe.fitting import current_posterior, fitted_runs
    from bayes_moe.ledger import LEDGER_FILE, Ledger
    from bayes_moe.workspace import create_workspace

    # PyTensor warns on every compile that it found no BLAS: the joint model has no matrix products
    warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")

    workspace = Path(os.environ.get("WORKSPACE") or Path(tempfile.mkdtemp(prefix="bayes-moe-")) / "demo")
    if not (workspace / LEDGER_FILE).is_file():
        create_workspace(workspace, DEMO)
    idata = current_posterior(workspace, **fit_options())
    campaign = load_campaign(workspace)
    with Ledger.open(workspace) as ledger:  # the fitted runs, those outside the campaign's [regime] marked for the plots
        runs = regime.mark(fitted_runs(workspace, ledger), campaign, ledger.runs("done", campaign.min_compute))
    return workspace, idata, runs


# --- helpers -------------------------------------------------------------------------------------


def sparsity_label(sparsity: float) -> str:
    """``S = 0.9538 (E = 65)``: the sparsity with its expert count where one achieves it."""
    try:
        return f"S = {sparsity:.4f} (E = {arch.experts_for_sparsity(sparsity)})"
    except InputError:  # any sparsity may be plotted; E only where one is achievable
        return f"S = {sparsity:.4f}"


def levels(idata) -> np.ndarray:
    """The sparsity levels the posterior was fit on."""
    return np.asarray(idata.attrs["sparsity_levels"], float)


def _panels(n: int, width: float = 4.2, height: float = 3.4, **kwargs):
    """A figure with ``n`` panels, at most two per row, and the flat list of the used axes."""
    columns = min(n, 2)
    rows = -(-n // columns)
    width = width if n > 1 else 1.4 * width  # room for the figure legend under a lone panel
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, height * rows), squeeze=False,
                             layout="constrained", **kwargs)
    for ax in axes.ravel()[n:]:
        ax.remove()
    return fig, list(axes.ravel()[:n])


def sweep_argmins(runs: xr.Dataset, sparsities) -> pd.DataFrame:
    """The paper's reading of r*: in every (compute, sparsity) cell swept over at least MIN_SWEEP
    values of r, the r of the lowest loss. Runs are matched to ``sparsities`` (model levels)."""
    frame = runs[["r", "compute", "sparsity", "loss"]].to_dataframe().reset_index(drop=True)
    index = model.level_index(frame["sparsity"].values, sparsities)
    frame = frame[index >= 0].assign(sparsity=np.asarray(sparsities)[index[index >= 0]])
    cells = frame.groupby(["sparsity", "compute"])
    best = frame.loc[cells["loss"].idxmin(), ["sparsity", "compute", "r"]].set_index(["sparsity", "compute"])
    best["n_r"] = cells["r"].nunique()
    return best[best["n_r"] >= MIN_SWEEP].reset_index()


# --- r* and the law's parameters -----------------------------------------------------------------


def r_star_bands(idata, runs: xr.Dataset | None = None, compute=None, sparsities=None):
    """r* against compute, one panel per sparsity: the posterior median with 50% and 90% bands, the
    paper's law (dashed), the data's per-sweep argmins (the paper's reading), and the compute range
    beyond the largest run shaded as extrapolation."""
    sparsities = levels(idata) if sparsities is None else np.atleast_1d(sparsities)
    largest = None if runs is None else float(runs["compute"].max())
    if compute is None:
        low = 1e17 if runs is None else float(runs["compute"].min())
        compute = np.geomspace(low, max(PAPER_COMPUTE_MAX, 10 * (largest or low)), 60)
    argmins = None if runs is None else sweep_argmins(runs, sparsities)
    fig, axes = _panels(len(sparsities), sharex=True, sharey=True)
    for ax, s in zip(axes, sparsities):
        for prob in BANDS:
            band = posterior.r_star(idata, compute, s, prob=prob)
            ax.fill_between(compute, band["lower"], band["upper"], color=OKABE_ITO[0], alpha=BAND_ALPHA[prob],
                            linewidth=0, label=f"{prob:.0%} interval")
        ax.plot(compute, band["median"], color=OKABE_ITO[0], linewidth=2, label="posterior median")
        ax.plot(compute, laws.paper_r_star(compute, s), **PAPER_STYLE, label="paper's law")
        if argmins is not None:
            cell = argmins[np.isclose(argmins["sparsity"], s)]
            ax.plot(cell["compute"], cell["r"], "o", color=OKABE_ITO[5], markersize=5,
                    label="sweep argmin (data)")
        if largest is not None and largest < compute[-1]:
            ax.axvspan(largest, compute[-1], color="0.92", zorder=0, label="beyond the data")
        ax.set(xscale="log", yscale="log", title=sparsity_label(s))
        ax.grid(True, which="major", alpha=0.3)
    for ax in axes:
        ax.set_xlabel("training compute C (FLOPs)") if ax.get_subplotspec().is_last_row() else None
        ax.set_ylabel("r* = C_E / C_A") if ax.get_subplotspec().is_first_col() else None
    _decimal_ticks(axes[0].yaxis)
    # minor compute labels (2 x 10^14, 3 x 10^14, ...) collide in narrow panels over a decade or so
    axes[0].xaxis.set_minor_formatter(LogFormatterSciNotation(labelOnlyBase=False, minor_thresholds=(0.5, 0.2)))
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3, frameon=False)
    return fig


def _decimal_ticks(axis, text="{:g}", minor=(2, 3, 5)) -> None:
    """Plain tick labels on a log axis that spans about a decade (0.5, 1, 2, not 5 x 10^-1); minor
    ticks labelled where their leading digit is in ``minor``, or all of them where the axis spans
    less than a factor of 3 (and would otherwise show no label at all)."""
    def minor_label(value, _):
        low, high = sorted(axis.get_view_interval())
        leading = round(value / 10 ** np.floor(np.log10(value))) if value > 0 else 0
        return text.format(value) if leading in minor or high < 3 * low else ""

    axis.set_major_formatter(plt.FuncFormatter(lambda value, _: text.format(value)))
    axis.set_minor_formatter(plt.FuncFormatter(minor_label))


def law_parameters(idata):
    """The law's parameters against the activated fraction 1 - S, per fitted level (50% and 90%
    intervals) with the population law between levels (median and 90% band) and the paper's values:
    r* at the pivot C0 (the model's alpha), the paper's raw alpha_r = r*(C0) C0^-beta_r, and beta_r."""
    draws = az.extract(idata)
    pivot = float(idata.attrs["pivot"])
    fitted = levels(idata)
    grid = np.linspace(fitted.min() - 0.02 * (1 - fitted.min()), min(fitted.max() + 0.2 * (1 - fitted.max()), 0.999), 80)
    population = posterior.population_law(idata, grid)
    population_log_alpha, population_beta = population["log_alpha"], population["beta"]
    quantities = {  # name: per-level draws, population-law draws, the paper's values, spans < 2 decades
        f"r* at C0 = {pivot:.0e} FLOPs".replace("e+", "e"): (draws["alpha_r"], np.exp(population_log_alpha),
                                           laws.paper_r_star(pivot, grid), True),
        "raw alpha_r (r* at 1 FLOP)": (draws["alpha_r"] * pivot ** -draws["beta_r"],
                                       np.exp(population_log_alpha - population_beta * np.log(pivot)),
                                       laws.paper_alpha_r(grid), False),
        "beta_r (exponent of C)": (draws["beta_r"], population_beta, laws.paper_beta_r(grid), True),
    }
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), layout="constrained", sharex=True)
    for ax, (name, (per_level, population, paper, narrow)) in zip(axes, quantities.items()):
        band = population.quantile([0.05, 0.5, 0.95], dim="sample")
        ax.fill_between(1 - grid, band[0], band[2], color=OKABE_ITO[0], alpha=BAND_ALPHA[0.9], linewidth=0,
                        label="population law, 90%")
        ax.plot(1 - grid, band[1], color=OKABE_ITO[0], linewidth=1.5, label="population law, median")
        ax.plot(1 - grid, paper, **PAPER_STYLE, label="paper")
        quantiles = per_level.quantile([0.05, 0.25, 0.5, 0.75, 0.95], dim="sample").values
        active = 1 - fitted
        ax.vlines(active, quantiles[0], quantiles[4], color=OKABE_ITO[5], linewidth=1.2)
        ax.vlines(active, quantiles[1], quantiles[3], color=OKABE_ITO[5], linewidth=4, label="level: 50% / 90%")
        ax.plot(active, quantiles[2], "o", color="white", markeredgecolor=OKABE_ITO[5], markersize=5)
        ax.set(xscale="log", yscale="log", xlabel="activated fraction 1 - S", ylabel=name)
        ax.grid(True, which="both", alpha=0.3)
        _decimal_ticks(ax.xaxis)
        if narrow:
            _decimal_ticks(ax.yaxis)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), frameon=False)
    return fig


def rank_plots(idata, var_names=HYPERPARAMETERS):
    """ArviZ rank plots of the population-level parameters (uniform ranks in every chain = mixing)."""
    names = [name for name in var_names if name in idata.posterior]
    rows = -(-len(names) // 4)
    axes = az.plot_rank(idata, var_names=names, grid=(rows, 4), figsize=(12, 1.9 * rows), labels=False,
                        colors=list(OKABE_ITO[: idata.posterior.sizes["chain"]]))
    for ax, name in zip(np.ravel(axes), names):  # labels=False drops ArviZ's titles with its crowded labels
        ax.set_title(name)
    fig = np.ravel(axes)[0].figure
    fig.set_layout_engine("constrained")
    fig.supxlabel("rank of the draw among all chains")
    fig.supylabel("chain")
    return fig


def diagnostics_table(idata, var_names=HYPERPARAMETERS) -> pd.DataFrame:
    """ArviZ's summary (mean, sd, 90% HDI, ESS, r-hat) of the population-level parameters."""
    names = [name for name in var_names if name in idata.posterior]
    return az.summary(idata, var_names=names, hdi_prob=0.9, round_to=4)


# --- the loss surface ----------------------------------------------------------------------------


def _predicted_at_runs(idata, runs: xr.Dataset, prob: float):
    """The posterior predictive loss of each run (with its trainer seed's offset): its median, lower and upper
    ``prob`` bounds."""
    predicted = posterior.predictive_loss(idata, runs["r"].values, runs["compute"].values, runs["sparsity"].values,
                                          prob=prob, trainer_seed=model.run_seeds(runs))
    return tuple(predicted[k].values for k in ("median", "lower", "upper"))


def observed_vs_predicted(idata, runs: xr.Dataset, prob: float = 0.9, title: str | None = None):
    """Each run's observed loss against the posterior predictive (median and ``prob`` interval),
    and the residual against r, coloured by sparsity; the title gives the interval's coverage."""
    median, lower, upper = _predicted_at_runs(idata, runs, prob)
    observed = runs["loss"].values
    covered = np.mean((observed >= lower) & (observed <= upper))
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    sparsity = runs["sparsity"].values
    fitted = model.sparsity_levels(sparsity)
    for k, (colour, s) in enumerate(zip(OKABE_ITO, fitted)):
        at = model.level_index(sparsity, [s]) == 0
        style = dict(fmt="o", color=colour, markersize=3.5, elinewidth=0.8, alpha=0.85, label=sparsity_label(s))
        left.errorbar(median[at], observed[at], xerr=[median[at] - lower[at], upper[at] - median[at]], **style)
        dodge = 1 + DODGE * (k - (len(fitted) - 1) / 2)  # side by side where sparsities share an r
        right.errorbar(runs["r"].values[at] * dodge, observed[at] - median[at],
                       yerr=[median[at] - lower[at], upper[at] - median[at]], **style)
    outside = runs["outside_regime"].values if "outside_regime" in runs else np.zeros(observed.size, bool)
    if outside.any():  # fitted like the others, never silently: ringed, and counted in the legend
        ring = dict(s=90, facecolors="none", edgecolors="black", linewidths=1.2)
        left.scatter(median[outside], observed[outside], label=f"outside [regime] ({outside.sum()})", **ring)
        right.scatter(runs["r"].values[outside], observed[outside] - median[outside], **ring)
    span = [min(lower.min(), observed.min()), max(upper.max(), observed.max())]
    left.plot(span, span, color="black", linewidth=1, label="observed = predicted")
    left.set(xlabel="predicted loss (nats)", ylabel="observed loss (nats)")
    right.axhline(0, color="black", linewidth=1)
    right.set(xscale="log", xlabel="r = C_E / C_A", ylabel="observed - predicted median (nats)")
    _decimal_ticks(right.xaxis)
    for ax in (left, right):
        ax.grid(True, alpha=0.3)
    left.legend(fontsize="small")
    fig.suptitle(title or f"Posterior predictive: {covered:.0%} of {observed.size} runs inside the {prob:.0%} interval")
    return fig


def residuals_by_compute(idata, runs: xr.Dataset, prob: float = 0.9):
    """Each run's observed loss less its predictive median against compute, one panel per sparsity
    level, with the ``prob`` predictive interval as error bars: residuals that trend with compute show
    where the surface misses the runs (issue #17), which a plot against r hides."""
    median, lower, upper = _predicted_at_runs(idata, runs, prob)
    residual = runs["loss"].values - median
    fitted = model.sparsity_levels(runs["sparsity"].values)
    fig, axes = plt.subplots(1, len(fitted), figsize=(3.2 * len(fitted), 3.4), sharey=True, squeeze=False,
                             layout="constrained")
    for ax, colour, s in zip(axes[0], OKABE_ITO, fitted):
        at = model.level_index(runs["sparsity"].values, [s]) == 0
        ax.errorbar(runs["compute"].values[at], residual[at], yerr=[median[at] - lower[at], upper[at] - median[at]],
                    fmt="o", color=colour, markersize=3.5, elinewidth=0.8, alpha=0.85)
        ax.axhline(0, color="black", linewidth=1)
        ax.set(xscale="log", xlabel="compute (FLOPs)", title=sparsity_label(s))
        ax.grid(True, alpha=0.3)
    axes[0][0].set_ylabel("observed - predicted median (nats)")
    fig.suptitle(f"Residuals against compute, with {prob:.0%} predictive intervals")
    return fig


def loss_curves(idata, runs: xr.Dataset, sparsities=None, r=None, prob: float = 0.9):
    """Loss against r in every swept (compute, sparsity) cell, one panel per sparsity and one colour
    per compute: the runs and the fitted mean loss (median, ``prob`` band), drawn as the excess over
    the curve's own minimum so that every compute shares one axis; a marker at the fitted r*."""
    fitted = levels(idata)
    sparsities = fitted if sparsities is None else np.atleast_1d(sparsities)
    r = np.geomspace(float(runs["r"].min()) / 1.15, float(runs["r"].max()) * 1.15, 60) if r is None else r
    cells = sweep_argmins(runs, fitted)
    computes = np.sort(cells["compute"].unique())
    norm = LogNorm(computes.min(), computes.max() * 1.0001)
    cmap = plt.get_cmap("cividis")
    tail = (1 - prob) / 2
    fig, axes = _panels(len(sparsities), sharex=True, sharey=True)
    for ax, s in zip(axes, sparsities):
        at = runs.isel(run=model.level_index(runs["sparsity"].values, [s]) == 0)
        for c in cells.loc[np.isclose(cells["sparsity"], s), "compute"]:
            colour = cmap(norm(c))
            curve = posterior.loss_draws(idata, r, c, s).quantile([tail, 0.5, 1 - tail], dim="sample").values
            floor = curve[1].min()
            ax.fill_between(r, curve[0] - floor, curve[2] - floor, color=colour, alpha=0.18, linewidth=0)
            ax.plot(r, curve[1] - floor, color=colour, linewidth=1.6)
            sweep = at.isel(run=np.isclose(at["compute"].values, c))
            ax.plot(sweep["r"], sweep["loss"] - floor, "o", color=colour, markersize=4, markeredgecolor="white",
                    markeredgewidth=0.5)
            ax.plot(float(posterior.r_star(idata, c, s)["median"][0]), 0, "v", color=colour, markersize=8,
                    markeredgecolor="black", markeredgewidth=0.6)
        ax.set(xscale="log", title=sparsity_label(s))
        ax.grid(True, alpha=0.3)
        _decimal_ticks(ax.xaxis)
    for ax in axes:
        ax.set_xlabel("r = C_E / C_A") if ax.get_subplotspec().is_last_row() else None
        ax.set_ylabel("loss above the fitted minimum (nats)") if ax.get_subplotspec().is_first_col() else None
    colourbar = fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes, shrink=0.8)
    colourbar.set_label("training compute C (FLOPs)")
    legend = [Line2D([], [], color="0.3", linewidth=1.6, label=f"fitted mean loss (median, {prob:.0%} band)"),
              Line2D([], [], color="0.3", marker="o", linestyle="", label="runs"),
              Line2D([], [], color="0.3", marker="v", markeredgecolor="black", linestyle="", label="fitted r* (median)")]
    fig.legend(handles=legend, loc="outside lower center", ncols=3, frameon=False)
    return fig


# --- design ----------------------------------------------------------------------------------------


def acquisition_map(acquisition, space: DesignSpace, proposed=(), done=(), resolution: int = 40,
                    label: str = "acquisition value"):
    """The acquisition value over (r, compute) at each sparsity of ``space`` (one panel each, one
    shared log colour scale), with the runs done (grey dots) and the proposed batch numbered in
    the order it was picked. ``proposed`` and ``done``: anything with r, compute, sparsity."""
    u = np.linspace(0.0, 1.0, resolution)
    u_r, u_c = np.meshgrid(u, u)
    r = space.r_of(torch.as_tensor(np.stack([u_r, u_c], -1)))
    compute = space.compute_of(torch.as_tensor(np.stack([u_r, u_c], -1)))
    values = []
    for s in space.sparsities:
        X = space.to_features(r.numpy().ravel(), compute.numpy().ravel(), np.full(u_r.size, s))
        with torch.no_grad():
            values.append(acquisition(X.unsqueeze(-2)).reshape(u_r.shape).numpy())
    values = np.stack(values)
    positive = values[values > 0]
    norm = LogNorm(max(positive.min(), positive.max() * 1e-4), positive.max()) if positive.size else None
    fig, axes = _panels(len(space.sparsities), sharex=True, sharey=True)
    for ax, s, value in zip(axes, space.sparsities, values):
        mesh = ax.pcolormesh(r.numpy(), compute.numpy(), np.clip(value, norm.vmin if norm else None, None),
                             norm=norm, cmap="viridis", shading="gouraud", rasterized=True)
        here = [run for run in done if abs(run.sparsity - s) < arch.SPARSITY_TOLERANCE]
        ax.plot([run.r for run in here], [run.compute for run in here], "o", color="white", markersize=3.5,
                markeredgecolor="black", markeredgewidth=0.6, label="runs done")
        for number, run in enumerate(proposed, start=1):
            if abs(run.sparsity - s) < arch.SPARSITY_TOLERANCE:
                ax.plot(run.r, run.compute, "o", markersize=13, color="white", markeredgecolor=OKABE_ITO[5],
                        markeredgewidth=2)
                ax.annotate(str(number), (run.r, run.compute), ha="center", va="center", fontsize=8,
                            fontweight="bold")
        ax.set(xscale="log", yscale="log", title=sparsity_label(s), facecolor="0.93",  # grey: outside the space
               xlim=(space.r_bounds[0] / EDGE, space.r_bounds[1] * EDGE),
               ylim=(space.compute_bounds[0] / EDGE**2, space.compute_bounds[1] * EDGE**2))
        _decimal_ticks(ax.xaxis)
    for ax in axes:
        ax.set_xlabel("r = C_E / C_A") if ax.get_subplotspec().is_last_row() else None
        ax.set_ylabel("run compute (FLOPs)") if ax.get_subplotspec().is_first_col() else None
    fig.colorbar(mesh, ax=axes, shrink=0.8).set_label(label)
    legend = [Line2D([], [], marker="o", color="white", markeredgecolor="black", markersize=4, linestyle="",
                     label="runs done"),
              Line2D([], [], marker="o", color="white", markeredgecolor=OKABE_ITO[5], markeredgewidth=2,
                     markersize=10, linestyle="", label="proposed batch (pick order)")]
    fig.legend(handles=legend, loc="outside lower center", ncols=2, frameon=False)
    return fig


def campaign_trace(traces: dict, target_width: float | None = None, start: tuple | None = None):
    """Relative half-width of the 90% interval of r* (worst target) against compute spent, one line
    per strategy. ``traces``: ``{strategy: [(compute spent in FLOPs, half-width), ...]}``. With
    ``start = (compute, half-width)`` of a start the strategies share, compute is counted from it
    and its width drawn as a reference (a shared start can cost more than the rounds after it)."""
    offset = 0.0 if start is None else float(start[0])
    fig, ax = plt.subplots(figsize=(6.5, 4.2), layout="constrained")
    for (name, points), colour, marker in zip(traces.items(), OKABE_ITO, "osD^v<>"):
        spent, width = np.asarray(points, float).T
        ax.plot(spent - offset, width, marker=marker, color=colour, linewidth=1.8, label=name)
    if start is not None:
        ax.axhline(start[1], color="0.5", linestyle=":", label=f"shared start ({start[0]:.2g} FLOPs)")
    if target_width is not None:
        ax.axhline(target_width, **PAPER_STYLE, label=f"stopping rule: ±{target_width:.0%}")
    where = "after the shared start" if start is not None else "by the campaign"
    ax.set(xscale="log", yscale="log", xlabel=f"compute spent {where} (FLOPs)",
           ylabel="worst relative half-width of r*'s 90% interval")
    _decimal_ticks(ax.yaxis, text="{:.0%}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return fig
