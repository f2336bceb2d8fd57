"""Coverage of the 90% credible intervals of r* over simulated campaigns with a known truth.

For each world and each of N seeds: simulate the demo design (4 sparsities x 5 computes 1e17..1e19 x
9 r), fit, and check whether the 90% interval of r* contains the true r* inside the data (C = 1e18)
and beyond it (C = 1e21), at every sparsity. Worlds: ``paper`` (well specified), ``asymmetric`` and
``two-term`` (misspecified), each fit with the default asymmetric valley; ``asymmetric`` also with a
symmetric valley to show what the asymmetry buys. Goal: 85-95% in the well-specified world.

    nice python -m bayes_moe.benchmarks.calibration [--datasets 20]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bayes_moe import laws, model, posterior, simulate
from bayes_moe.benchmarks import write_results

CASES = (("paper", "asymmetric"), ("asymmetric", "asymmetric"), ("asymmetric", "symmetric"),
         ("two-term", "asymmetric"))
QUERIES = {"inside (1e18)": 1e18, "beyond (1e21)": 1e21}


def run_case(law: str, penalty: str, seeds, draws: int) -> dict:
    sparsity = np.array(laws.PAPER_SPARSITIES)
    hits = {name: [] for name in QUERIES}
    widths, errors, unconverged = {name: [] for name in QUERIES}, {name: [] for name in QUERIES}, 0
    for seed in seeds:
        world = simulate.World(law=law, seed=seed)
        idata = model.fit(simulate.sweep_dataset(world), penalty=penalty, draws=draws, tune=draws, chains=2,
                          seed=seed, progressbar=False)
        unconverged += not posterior.converged(idata)
        for name, compute in QUERIES.items():
            truth = np.exp(world.log_r_star(compute, sparsity))
            interval = posterior.r_star(idata, compute, sparsity)
            hits[name] += list((interval["lower"].values <= truth) & (truth <= interval["upper"].values))
            widths[name] += list((interval["upper"].values - interval["lower"].values) / (2 * interval["median"].values))
            errors[name] += list(interval["median"].values / truth - 1)
    return {"world": law, "penalty": penalty, "datasets": len(seeds), "unconverged": unconverged,
            **{f"coverage {n}": float(np.mean(hits[n])) for n in QUERIES},
            **{f"relative half-width {n}": float(np.median(widths[n])) for n in QUERIES},
            **{f"median abs error {n}": float(np.median(np.abs(errors[n]))) for n in QUERIES}}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=20)
    parser.add_argument("--draws", type=int, default=1000, help="draws (and tuning steps) per chain, 2 chains")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    results = [run_case(law, penalty, range(args.datasets), args.draws) for law, penalty in CASES]
    keys = [k for k in results[0] if k not in ("world", "penalty", "datasets")]
    header = "| world | valley | " + " | ".join(keys) + " |\n|---|---|" + "---|" * len(keys)
    rows = "\n".join(f"| {r['world']} | {r['penalty']} | " + " | ".join(
        f"{r[k]:.0%}" if "coverage" in k else f"{r[k]:.3g}" for k in keys) + " |" for r in results)
    markdown = (f"# Calibration of 90% r* intervals ({args.datasets} simulated data sets per row, "
                f"{4 * args.datasets} intervals per cell)\n\nDesign: 4 sparsities x 5 computes (1e17..1e19) x 9 r; "
                f"{args.draws} draws x 2 chains. Coverage goal 85-95%.\n\n{header}\n{rows}\n\n"
                f"({time.perf_counter() - start:.0f} s in all)")
    write_results("model_calibration", {"datasets": args.datasets, "draws": args.draws, "results": results}, markdown)


if __name__ == "__main__":
    main()
