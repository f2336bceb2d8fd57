"""Figures of a pool selection (``pool_next.Proposal``) and of ScaleBench's results
(``benchmarks.scalebench_table``), for the scalebench notebook and the docs. Every function returns a
``matplotlib.figure.Figure``; nothing is shown or saved here."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from bayes_moe.errors import InputError
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
    """One panel per output of the law against each run's cost (log axis): the runs done, the proposed runs at
    their predicted value with its 90% interval (numbered in pick order) and the targets likewise; ``truth``
    (target rows x outputs) adds the targets' observed values, as in a benchmark."""
    if proposal.target_costs is None:
        raise InputError("the targets table lacks the cost rule's columns: the figure places points by cost")
    outputs = proposal.law.outputs
    fig, axes = plt.subplots(1, len(outputs), figsize=(5.2 * len(outputs), 4.0), squeeze=False, sharex=True)
    for o, (ax, output) in enumerate(zip(axes[0], outputs)):
        done = proposal.done
        ax.plot(proposal.costs[done], proposal.observed[done, o], "o", color="0.55", markersize=4,
                label=f"runs done ({done.size})")
        picked = [r for r in proposal.next if r["output"] == output]
        _intervals(ax, proposal.costs[[r["row"] - 1 for r in picked]], picked, OKABE_ITO[1], "D",
                   f"next runs ({len(picked)}), predicted")
        numbers: dict = {}  # replicates (one cost, one prediction) share a label: "1, 3"
        for n, (record, cost) in enumerate(zip(picked, proposal.costs[[r["row"] - 1 for r in picked]]), 1):
            labels, top = numbers.get((cost, record["predicted"]), ([], -np.inf))
            numbers[cost, record["predicted"]] = (labels + [str(n)], max(top, record["upper90"]))
        for (cost, _), (labels, top) in numbers.items():
            ax.annotate(", ".join(labels), (cost, top), textcoords="offset points", xytext=(0, 3),
                        ha="center", fontsize=8, color=OKABE_ITO[1])
        at_targets = [r for r in proposal.at_targets if r["output"] == output]
        _intervals(ax, proposal.target_costs[[r["row"] - 1 for r in at_targets]], at_targets, OKABE_ITO[0], "o",
                   "targets, predicted (90%)")
        if truth is not None:
            ax.plot(proposal.target_costs, np.asarray(truth).reshape(len(proposal.target_costs), -1)[:, o], "x",
                    color=OKABE_ITO[7], markersize=5, label="targets, observed")
        ax.set_xscale("log")
        ax.set_xlabel(cost_label)
        ax.set_ylabel(output)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8, loc="best")
    fig.suptitle(f"law {proposal.law.name}: fitted to {proposal.done.size} runs, next {len(proposal.picks)}")
    fig.tight_layout()
    return fig


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
    tasks = list(dict.fromkeys(table["task"]))
    columns = 3
    rows = -(-len(tasks) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.3 * rows), squeeze=False, sharey=True)
    for ax, task in zip(axes.flat, tasks):
        mine = table[table["task"] == task]
        budgets = sorted(mine["budget"].unique())
        for method, (colour, marker, line, filled) in METHOD_STYLES.items():
            series = mine[mine["method"] == method].sort_values("budget")
            if series.empty:
                continue
            x = [budgets.index(b) for b in series["budget"]]
            ax.errorbar(x, series["r2"], yerr=series["se"].fillna(0), color=colour, marker=marker, linestyle=line,
                        markerfacecolor=colour if filled else "white", markersize=6 if filled else 7,
                        linewidth=2 if method == "active" else 1, capsize=2, label=LABELS.get(method, method))
        ax.set_xticks(range(len(budgets)), [f"{b:.0%}" for b in budgets])
        ax.set_xlim(-0.3, len(budgets) - 0.7)
        ax.set_ylim(-1.08, 1.08)
        ax.axhline(0, color="0.8", linewidth=0.8)
        ax.set_title(task)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(tasks):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("R$^2$ at the targets")
    for ax in axes[-1]:
        ax.set_xlabel("budget (share of the pool's cost)")
    legend = {}
    for ax in axes.flat[:len(tasks)]:
        legend |= dict(zip(*reversed(ax.get_legend_handles_labels())))
    fig.legend(legend.values(), legend.keys(), loc="lower center", ncol=len(legend), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig
