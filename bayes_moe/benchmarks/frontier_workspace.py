"""A workspace's runs fitted with each of several frontiers (docs/model.md, "The frontier's flexibility"),
the rest of its campaign's [model] (form, pivot, discrepancy, fit floor, chain lengths) kept: the
sampler's diagnostics and CPU seconds, PSIS-LOO (ArviZ ``compare``), the runs' mean residual (observed
less posterior mean loss) over each quarter of them by compute, and r* at the campaign's targets.

    nice python -m bayes_moe.benchmarks.frontier_workspace WORKSPACE [--frontiers anchored anchored-flexible] [--name NAME]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from bayes_moe import fitting, model, posterior, sampling
from bayes_moe.benchmarks import write_results
from bayes_moe.config import load_campaign
from bayes_moe.forms import FRONTIERS
from bayes_moe.ledger import Ledger

QUARTERS = 4


def fit_with(workspace: Path, runs, frontier: str) -> tuple:
    """The workspace's fit with ``frontier`` (its pointwise log-likelihood kept for LOO) and its CPU seconds."""
    options = {**fitting.sampling_options(workspace, {}), **fitting.fit_law(workspace), "frontier": frontier}
    cpu_start = time.process_time()
    idata = model.fit(runs, log_likelihood=True, progressbar=False, **options)
    return idata, time.process_time() - cpu_start


def residuals_by_compute(idata, runs) -> list:
    """The runs' mean residual over each quarter of them by compute, lowest first: (median compute, nats)."""
    fitted = posterior.loss_draws(idata, runs["r"].values, runs["compute"].values, runs["sparsity"].values)
    residual = runs["loss"].values - fitted.mean("sample").values
    order = np.argsort(runs["compute"].values)
    return [(float(np.median(runs["compute"].values[part])), float(residual[part].mean()))
            for part in np.array_split(order, QUARTERS)]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--frontiers", nargs="+", default=["anchored", "anchored-flexible"], choices=FRONTIERS)
    parser.add_argument("--name", default="frontier_workspace", help="result files experiments/benchmarks/NAME.json|md")
    args = parser.parse_args(argv)
    with Ledger.open(args.workspace, readonly=True) as ledger:
        runs = fitting.fitted_runs(args.workspace, ledger)
    targets = load_campaign(args.workspace).targets
    compute, sparsity = (np.array(values) for values in zip(*targets))
    fits, rows = {}, []
    for frontier in args.frontiers:
        fits[frontier], cpu_seconds = fit_with(args.workspace, runs, frontier)
        r_star = posterior.r_star(fits[frontier], compute, sparsity)
        rows.append({"frontier": frontier, "cpu seconds": cpu_seconds,
                     **{key: fits[frontier].attrs[key] for key in sampling.DIAGNOSTICS},
                     "residuals by compute": residuals_by_compute(fits[frontier], runs),
                     "r_star": [[float(r_star[k].values[i]) for k in ("median", "lower", "upper")]
                                for i in range(compute.size)]})
    table = sampling.loo_compare(fits)
    loo = {name: {k: float(table.loc[name, k]) for k in ("elpd_loo", "se", "elpd_diff", "dse", "p_loo")}
           for name in table.index}
    write_results(args.name, {"workspace": str(args.workspace), "runs": int(runs.sizes["run"]),
                              "targets": [list(t) for t in targets], "fits": rows, "loo": loo},
                  _markdown(args.workspace, runs, targets, rows, loo))


def _markdown(workspace, runs, targets, rows, loo) -> str:
    quarters = " | ".join(f"residual near {c:.2g}" for c, _ in rows[0]["residuals by compute"])
    fit_rows = "\n".join(
        f"| {row['frontier']} | {row['max_rhat']:.3f} | {row['min_ess_bulk']:.0f} / {row['min_ess_tail']:.0f} | "
        f"{row['divergences']} | {row['cpu seconds']:.0f} | {loo[row['frontier']]['elpd_loo']:.1f} "
        f"({loo[row['frontier']]['se']:.1f}) | {loo[row['frontier']]['elpd_diff']:.1f} ({loo[row['frontier']]['dse']:.1f}) | "
        + " | ".join(f"{value:+.4f}" for _, value in row["residuals by compute"]) + " |" for row in rows)
    target_rows = "\n".join(
        f"| {c:.2g}, S = {s:.4f} | " + " | ".join("{:.2f} [{:.2f}, {:.2f}]".format(*row["r_star"][i]) for row in rows)
        + " |" for i, (c, s) in enumerate(targets))
    return (f"# Frontiers on {workspace} ({runs.sizes['run']} runs fitted, its [model] otherwise)\n\n"
            f"| frontier | max r-hat | min bulk / tail ESS | divergences | CPU s | elpd_loo (se) | elpd_diff (dse) | "
            f"{quarters} |\n|---|---|---|---|---|---|---|" + "---|" * QUARTERS + f"\n{fit_rows}\n\n"
            f"Residuals: the runs' observed less posterior mean loss (nats), mean over each quarter of the runs by "
            f"compute. r* at the targets, median [90% interval]:\n\n| target | "
            + " | ".join(row["frontier"] for row in rows) + " |\n|---|" + "---|" * len(rows) + f"\n{target_rows}\n\n"
            f"This shared 2-core machine (CPU s of each fit, compilation included)")


if __name__ == "__main__":
    main()
