"""How far the fitted frontier (the lowest loss reachable at each compute) and the runs' residuals stray
from a world's truth, per compute, and what that does to r*: the frontier's flexibility measured
(docs/model.md, "The frontier's flexibility"). For each frontier (``forms.FRONTIERS``: the power law and the
flexible one by default) and each of N seeds: simulate the demo design, fit at the CLI's defaults with that
frontier, and record at each of its computes the posterior median frontier less the true one and the mean
residual of the runs (observed loss less the posterior mean loss) over the four sparsities; the 90%
intervals of r* at 1e18, 1e20 and 1e21 against the truth (``calibration.interval_scores``); the sampler's
diagnostics and the fit's CPU seconds. A frontier that follows the data has both errors near 0 (the
noise's scale is 0.01 nats). The bending world's bends are parameters (``--frontier-bend`` nats per decade
below ``--bend-compute``, either sign; ``--r-star-bend`` log r* per decade; ``--kappa-bend`` log of the valley's
curvature per decade). The files are rewritten after
every fit, so that a long run leaves the fits it finished.

    nice python -m bayes_moe.benchmarks.frontier [--world bending] [--frontier-bend 0.2] [--datasets 3] [--name NAME]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bayes_moe import laws, model, posterior, sampling, simulate
from bayes_moe.benchmarks import write_results
from bayes_moe.benchmarks.calibration import QUERIES, interval_scores
from bayes_moe.forms import FRONTIERS

SPARSITY = np.array(laws.PAPER_SPARSITIES)
COMPARED = ("power", "flexible")


def frontier_scores(world: simulate.World, frontier: str, draws: int = 1000,
                    computes=simulate.DEMO_COMPUTES) -> dict:
    """One fit's frontier error and mean residual (nats) at each of the design's ``computes`` (the demo's by
    default), averaged over sparsity; its r* intervals' scores (``interval_scores``), diagnostics and CPU
    seconds. ``draws`` per chain (the CLI's default 1000)."""
    # the same runs for every frontier
    runs = simulate.sweep_dataset(world, computes=computes, rng=np.random.default_rng(world.seed))
    cpu_start = time.process_time()
    idata = model.fit(runs, frontier=frontier, seed=world.seed, draws=draws, progressbar=False)
    cpu_seconds = time.process_time() - cpu_start
    errors = []
    for compute in computes:
        true_frontier = world.mean_loss(np.exp(world.log_r_star(compute, SPARSITY)), compute, SPARSITY)
        errors.append(float(np.mean(posterior.frontier_draws(idata, compute, SPARSITY).median("sample") - true_frontier)))
    return {"frontier error": errors, "mean residual": mean_residuals(idata, runs), "r_star": interval_scores(world, idata),
            "converged": posterior.converged(idata), "cpu seconds": cpu_seconds,
            **{key: idata.attrs[key] for key in sampling.DIAGNOSTICS}}


def mean_residuals(idata, runs) -> list[float]:
    """The runs' mean residual (observed less posterior mean loss, nats) at each of their computes."""
    residuals = []
    for compute in np.unique(runs["compute"].values):
        at = runs["compute"].values == compute
        fitted = posterior.loss_draws(idata, runs["r"].values[at], compute, runs["sparsity"].values[at]).mean("sample")
        residuals.append(float(np.mean(runs["loss"].values[at] - fitted.values)))
    return residuals


def markdown(world: simulate.World, results: dict, seconds: float, cpu_seconds: float, draws: int = 1000,
             computes=simulate.DEMO_COMPUTES) -> str:
    """The record: per compute, the median over data sets of the frontier error and mean residual; per
    frontier, r*'s coverage, half-width and error at the queries, the fits' diagnostics and CPU seconds."""
    results = {frontier: fits for frontier, fits in results.items() if fits}
    draws = "" if draws == 1000 else f" and {draws} draws a chain"
    design = ("Demo design" if tuple(computes) == tuple(simulate.DEMO_COMPUTES)
              else f"Demo design at {len(computes)} computes")
    columns = " | ".join(f"{c:.2g}" for c in computes)
    per_compute = "\n".join(f"| {frontier} | {key} | " + " | ".join(f"{np.median(column):+.4f}" for column in
                                                                   zip(*(fit[key] for fit in fits))) + " |"
                            for frontier, fits in results.items() for key in ("frontier error", "mean residual"))
    queries = " / ".join(f"{c:.0e}" for c in QUERIES.values())
    rows = []
    for frontier, fits in results.items():
        scores = {name: {key: sum((fit["r_star"][name][key] for fit in fits), []) for key in ("hit", "half-width", "error")}
                  for name in QUERIES}
        rows.append(f"| {frontier} | {len(fits)} | {sum(not fit['converged'] for fit in fits)} | "
                    f"{max(fit['max_rhat'] for fit in fits):.3f} | {min(fit['min_ess_bulk'] for fit in fits):.0f} / "
                    f"{min(fit['min_ess_tail'] for fit in fits):.0f} | {sum(fit['divergences'] for fit in fits)} | "
                    + " / ".join(f"{np.mean(s['hit']):.0%}" for s in scores.values()) + " | "
                    + " / ".join(f"{np.median(s['half-width']):.1%}" for s in scores.values()) + " | "
                    + " / ".join(f"{np.median(np.abs(s['error'])):.1%}" for s in scores.values()) + " | "
                    + f"{np.median([fit['cpu seconds'] for fit in fits]):.1f} |")
    bends = (f" (frontier_bend {world.frontier_bend:+g} nats, r_star_bend {world.r_star_bend:+g} log r* and kappa_bend "
             f"{world.kappa_bend:+g} log kappa per decade below {world.bend_compute:.0e} FLOPs)"
             if world.law == "bending" else "")
    return (f"# The fitted frontier against the {world.law} world's{bends}\n\n"
            f"{design}, CLI defaults but the frontier{draws}. Per compute: the median over data sets of the mean over "
            f"the four sparsities, nats: the posterior median frontier less the truth, and the runs' observed "
            f"less posterior mean loss.\n\n| frontier | quantity | {columns} |\n|---|---|"
            + "---|" * len(computes) + f"\n{per_compute}\n\n"
            f"r*'s 90% intervals at {queries} FLOPs (4 sparsities per data set): coverage, median relative "
            f"half-width, median absolute relative error; the fits' worst diagnostics and median CPU seconds "
            f"(compilation in the first fit of each frontier).\n\n| frontier | fits | unconverged | max r-hat | "
            f"min bulk / tail ESS | divergences | coverage | half-width | error | CPU s per fit |\n"
            f"|---|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows)
            + f"\n\n{seconds:.0f} s wall, {cpu_seconds:.0f} CPU s in all, this shared 2-core machine")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", default="bending", choices=simulate.LAWS)
    parser.add_argument("--frontier-bend", type=float, default=simulate.World.frontier_bend,
                        help="bending world: nats added to the frontier per decade below --bend-compute (either sign)")
    parser.add_argument("--r-star-bend", type=float, default=simulate.World.r_star_bend,
                        help="bending world: log r* added per decade below --bend-compute")
    parser.add_argument("--kappa-bend", type=float, default=simulate.World.kappa_bend,
                        help="bending world: log of the valley's curvature added per decade below --bend-compute")
    parser.add_argument("--bend-compute", type=float, default=simulate.World.bend_compute)
    parser.add_argument("--frontiers", nargs="+", default=list(COMPARED), choices=FRONTIERS)
    parser.add_argument("--datasets", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--draws", type=int, default=1000, help="NUTS draws per chain (the CLI's default)")
    parser.add_argument("--computes", type=float, nargs="+", default=list(simulate.DEMO_COMPUTES),
                        help="the design's computes, FLOPs (default: the demo's five, 1e17..1e19)")
    parser.add_argument("--name", default=None, help="result files experiments/benchmarks/NAME.json|md "
                                                     "(default: frontier_WORLD)")
    args = parser.parse_args(argv)
    if args.datasets < 1 or args.first_seed < 0 or args.draws < 1 or not args.bend_compute > 0:
        parser.error(f"need --datasets >= 1, --first-seed >= 0, --draws >= 1 and --bend-compute > 0, got "
                     f"{args.datasets}, {args.first_seed}, {args.draws} and {args.bend_compute}")
    if len(set(args.computes)) < 2 or min(args.computes) <= 0:
        parser.error(f"--computes: need two or more distinct computes > 0, got {args.computes}")
    args.computes = sorted(set(args.computes))
    bends = dict(frontier_bend=args.frontier_bend, r_star_bend=args.r_star_bend, kappa_bend=args.kappa_bend,
                 bend_compute=args.bend_compute)
    worlds = [simulate.World(law=args.world, seed=seed, **bends)
              for seed in range(args.first_seed, args.first_seed + args.datasets)]
    start, cpu_start = time.perf_counter(), time.process_time()
    results = {frontier: [] for frontier in args.frontiers}
    for world in worlds:
        for frontier in args.frontiers:
            results[frontier].append(frontier_scores(world, frontier, args.draws, args.computes))
            write_results(args.name or f"frontier_{args.world}",
                          {"world": repr(worlds[0]), "datasets": args.datasets, "first_seed": args.first_seed,
                           "draws": args.draws, "computes": args.computes, "results": results},
                          markdown(worlds[0], results, time.perf_counter() - start, time.process_time() - cpu_start,
                                   args.draws, args.computes))


if __name__ == "__main__":
    main()
