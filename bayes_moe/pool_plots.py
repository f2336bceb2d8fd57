"""Figures of a pool selection (``pool_next.Proposal``) and of ScaleBench's results
(``benchmarks.scalebench_table``), for the scalebench notebook and the docs. Every function returns a
``matplotlib.figure.Figure``; nothing is shown or saved here."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from bayes_moe.palette import OKABE_ITO
from bayes_moe.pool_next import Proposal

# method -> (colour, marker, line style, filled): ours solid, the paper's dashed, the authors' code run here hollow
LABELS = {"MSPE": "MSPE (paper)", "MSPE here": "MSPE (authors' code, here)", "V-opt": "V-opt (paper)",
          "V-opt here": "V-opt (authors' code, here)"}
METHOD_STYLES = {
    "active": (OKABE_ITO[0], "o", "-", True),
    "random": (OKABE_ITO[2], "s", "-", True),
    "cost_random": (OKABE_ITO[4], "^", "-", True),
    "MSPE": (OKABE_ITO[7], "x", "--", True),
    "MSPE here": (OKABE_ITO[7], "o", "", False),
    "V-opt": (OKABE_ITO[1], "x", "--", True),
    "V-opt here": (OKABE_ITO[1], "o", "", False),
}


def proposal_figure(proposal: Proposal, cost_label: str = "cost", truth: np.ndarray | None = None):
    """One panel per output of the law against each run's cost (log axis; where the costs do not vary or the targets
    have none, against the law's first input): the runs done, the proposed runs at their predicted value with its
    90% interval (numbered in pick order) and the targets likewise; ``truth`` (target rows x outputs) adds the
    targets' observed values, as in a benchmark."""
    x, x_targets, label, scale = _x_axis(proposal, cost_label)
    outputs = proposal.law.outputs
    fig, axes = plt.subplots(1, len(outputs), figsize=(5.2 * len(outputs), 4.0), squeeze=False, sharex=True)
    for o, (ax, output) in enumerate(zip(axes[0], outputs)):
        done = proposal.done
        ax.plot(x[done], proposal.observed[done, o], "o", color="0.55", markersize=4, label=f"runs done ({done.size})")
        picked = [r for r in proposal.next if r["output"] == output]
        at = x[[r["row"] - 1 for r in picked]]
        _intervals(ax, at, picked, OKABE_ITO[1], "D", f"next runs ({len(picked)}), predicted")
        numbers: dict = {}  # replicates (one place, one prediction) share a label: "1, 3"
        for n, (record, place) in enumerate(zip(picked, at), 1):
            labels, top = numbers.get((place, record["predicted"]), ([], -np.inf))
            numbers[place, record["predicted"]] = (labels + [str(n)], max(top, record["upper90"]))
        for (place, _), (labels, top) in numbers.items():
            ax.annotate(", ".join(labels), (place, top), textcoords="offset points", xytext=(0, 3),
                        ha="center", fontsize=8, color=OKABE_ITO[1])
        at_targets = [r for r in proposal.at_targets if r["output"] == output]
        _intervals(ax, x_targets[[r["row"] - 1 for r in at_targets]], at_targets, OKABE_ITO[0], "o",
                   "targets, predicted (90%)")
        if truth is not None:
            ax.plot(x_targets, np.asarray(truth).reshape(len(x_targets), -1)[:, o], "x",
                    color=OKABE_ITO[7], markersize=5, label="targets, observed")
        ax.set_xscale(scale)
        ax.set_xlabel(label)
        ax.set_ylabel(output)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8, loc="best")
    fig.suptitle(f"law {proposal.law.name}: fitted to {proposal.done.size} runs, next {len(proposal.picks)}")
    fig.tight_layout()
    return fig


def _x_axis(proposal: Proposal, cost_label: str) -> tuple[np.ndarray, np.ndarray, str, str]:
    """Where the figure places the pool's and the targets' rows: by cost on a log axis where the costs vary and the
    targets have them, else by the law's first input (log where it is positive and spans a decade)."""
    if proposal.target_costs is not None:
        costs = np.concatenate([proposal.costs, proposal.target_costs])
        if costs.max() > costs.min() * (1 + 1e-9):
            return proposal.costs, proposal.target_costs, cost_label, "log"
    symbol, column = next(iter(proposal.law.inputs.items()))
    x, x_targets = proposal.features[symbol], proposal.target_features[symbol]
    both = np.concatenate([x, x_targets])
    return x, x_targets, column, "log" if both.min() > 0 and both.max() >= 10 * both.min() else "linear"


def _intervals(ax, costs, records: list[dict], colour, marker, label) -> None:
    if not records:
        return
    predicted = np.array([r["predicted"] for r in records])
    error = np.abs(np.array([[r["lower90"] for r in records], [r["upper90"] for r in records]]) - predicted)
    ax.errorbar(costs, predicted, yerr=error, fmt=marker, color=colour, markersize=5, elinewidth=1, capsize=2,
                label=label)


def benchmark_figure(table: pd.DataFrame):
    """One panel per task: R^2 on the target region (clipped to [-1, 1] as the paper scores it) at its three
    budgets for each method of ``table`` (``scalebench_table.results_table``), with the standard error over the
    seeds as bars where there is one."""
    def draw(ax, mine: pd.DataFrame, budgets: list):
        for method, (colour, marker, line, filled) in METHOD_STYLES.items():
            series = mine[mine["method"] == method].sort_values("budget")
            if series.empty:
                continue
            x = [budgets.index(b) for b in series["budget"]]
            ax.errorbar(x, series["r2"], yerr=series["se"].fillna(0), color=colour, marker=marker, linestyle=line,
                        markerfacecolor=colour if filled else "white", markersize=6 if filled else 7,
                        linewidth=2 if method == "active" else 1, capsize=2, label=LABELS.get(method, method))
        ax.set_ylim(-1.08, 1.08)
        ax.axhline(0, color="0.8", linewidth=0.8)
    return _by_task(table, draw, "R$^2$ at the targets", panel_height=3.3)


def coverage_figure(table: pd.DataFrame, level: float = 0.9, band: tuple = (0.8, 0.95)):
    """One panel per task: the share of target points inside the 90% intervals at its three budgets, each law form
    a small dot and their mean a large one (``scalebench_table.coverage_table``), against the nominal ``level``
    and the ``band`` #20 asks for; under each budget the intervals' width (the median over the forms), without
    which a coverage near 1 could be an interval as wide as the prior."""
    def draw(ax, mine: pd.DataFrame, budgets: list):
        ax.axhspan(*band, color=OKABE_ITO[2], alpha=0.15, linewidth=0, label=f"{band[0]:.0%}-{band[1]:.0%}")
        ax.axhline(level, color="0.5", linewidth=0.8, linestyle="--", label=f"nominal {level:.0%}")
        forms = mine.dropna(subset=["coverage"])
        jitter = np.linspace(-0.12, 0.12, max(forms["law"].nunique(), 1))
        place = {law: k for k, law in enumerate(dict.fromkeys(forms["law"]))}
        ax.plot([budgets.index(b) + jitter[place[law]] for b, law in zip(forms["budget"], forms["law"])],
                forms["coverage"], "o", color="0.6", markersize=3, label="a law form (mean over seeds)")
        means = forms.groupby("budget")["coverage"].mean()
        ax.plot([budgets.index(b) for b in means.index], means.to_numpy(), "o", color=OKABE_ITO[0], markersize=8,
                label="mean over the forms")
        widths = forms.groupby("budget")["width"].median()
        for k, budget in enumerate(budgets):
            if budget not in means.index:  # no group had a run it could afford: nothing scored
                ax.annotate("no fit", (k, band[0] - 0.03), ha="center", fontsize=8, color="0.4")
            elif np.isfinite(widths[budget]):
                ax.annotate(f"{widths[budget]:.2g}", (k, 0.04), xycoords=("data", "axes fraction"), ha="center",
                            fontsize=8, color=OKABE_ITO[0])
        if np.isfinite(widths).any():
            ax.plot([], [], " ", label="numbers: the intervals' median width, nats")
    return _by_task(table, draw, "target points inside the 90% interval", panel_height=3.0)


def _by_task(table: pd.DataFrame, draw, ylabel: str, panel_height: float):
    """A grid of panels, three a row, one per task of ``table`` in its order, each with its budgets as evenly spaced
    ticks: ``draw(ax, the task's rows, its budgets)`` fills a panel; one legend below for every panel's labels."""
    tasks = list(dict.fromkeys(table["task"]))
    columns = 3
    rows = -(-len(tasks) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, panel_height * rows), squeeze=False, sharey=True)
    for ax, task in zip(axes.flat, tasks):
        mine = table[table["task"] == task]
        budgets = sorted(mine["budget"].unique())
        draw(ax, mine, budgets)
        ax.set_xticks(range(len(budgets)), [f"{b:.0%}" for b in budgets])
        ax.set_xlim(-0.4, len(budgets) - 0.6)
        ax.set_title(task)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(tasks):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel)
    for ax in axes[-1]:
        ax.set_xlabel("budget (share of the pool's cost)")
    legend = {}
    for ax in axes.flat[:len(tasks)]:
        legend |= dict(zip(*reversed(ax.get_legend_handles_labels())))
    fig.legend(legend.values(), legend.keys(), loc="lower center", ncol=len(legend), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig
