"""How far the fitted frontier (the lowest loss reachable at each compute) and the runs' residuals stray
from a world's truth, per compute: the frontier's flexibility measured (docs/model.md). For each model
(the law of r* alone, and with the hinged discrepancy, the default) and each of N seeds: simulate the demo design, fit
at the CLI's defaults, and record at each of its computes the posterior median frontier less the true
one and the mean residual of the runs (observed loss less the posterior mean loss), over the four
sparsities. A frontier that follows the data has both near 0 (the noise's scale is 0.01 nats).

    nice python -m bayes_moe.benchmarks.frontier [--world bending] [--datasets 3] [--name NAME]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bayes_moe import laws, model, posterior, simulate
from bayes_moe.benchmarks import write_results
from bayes_moe.forms import DISCREPANCIES

SPARSITY = np.array(laws.PAPER_SPARSITIES)


def frontier_errors(world: simulate.World, discrepancy: str) -> dict:
    """The fit's frontier error and mean residual (nats) at each of the demo's computes, averaged over sparsity."""
    runs = simulate.sweep_dataset(world)
    idata = model.fit(runs, discrepancy=discrepancy, seed=world.seed, progressbar=False)
    errors, residuals = [], []
    for compute in simulate.DEMO_COMPUTES:
        true_frontier = world.mean_loss(np.exp(world.log_r_star(compute, SPARSITY)), compute, SPARSITY)
        errors.append(float(np.mean(posterior.frontier_draws(idata, compute, SPARSITY).median("sample") - true_frontier)))
        at = runs["compute"].values == compute
        fitted = posterior.loss_draws(idata, runs["r"].values[at], compute, runs["sparsity"].values[at]).mean("sample")
        residuals.append(float(np.mean(runs["loss"].values[at] - fitted.values)))
    return {"frontier error": errors, "mean residual": residuals, "converged": posterior.converged(idata)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", default="bending", choices=simulate.LAWS)
    parser.add_argument("--datasets", type=int, default=3)
    parser.add_argument("--name", default=None, help="result files experiments/benchmarks/NAME.json|md "
                                                     "(default: frontier_WORLD)")
    args = parser.parse_args(argv)
    start, cpu_start = time.perf_counter(), time.process_time()
    results = {d: [frontier_errors(simulate.World(law=args.world, seed=seed), d) for seed in range(args.datasets)]
               for d in DISCREPANCIES}
    computes = " | ".join(f"{c:.2g}" for c in simulate.DEMO_COMPUTES)
    rows = "\n".join(f"| {d} | {key} | " + " | ".join(f"{np.median(column):+.4f}" for column in
                                                   zip(*(fit[key] for fit in fits))) + " |"
                     for d, fits in results.items() for key in ("frontier error", "mean residual"))
    converged = {d: sum(fit["converged"] for fit in fits) for d, fits in results.items()}
    markdown = (f"# The fitted frontier against the {args.world} world's, per compute\n\nMedian over {args.datasets} "
                f"data sets (demo design, CLI defaults) of the mean over the four sparsities, nats: the posterior "
                f"median frontier less the truth, and the runs' observed less posterior mean loss.\n\n"
                f"| discrepancy of r* | quantity | {computes} |\n|---|---|" + "---|" * len(simulate.DEMO_COMPUTES)
                + f"\n{rows}\n\nconverged fits: {converged}; {time.perf_counter() - start:.0f} s wall, "
                f"{time.process_time() - cpu_start:.0f} CPU s, this shared 2-core machine")
    write_results(args.name or f"frontier_{args.world}", {"world": args.world, "datasets": args.datasets,
                                                         "results": results}, markdown)


if __name__ == "__main__":
    main()
