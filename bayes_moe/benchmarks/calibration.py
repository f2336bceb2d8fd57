"""Coverage of the 90% credible intervals of r* over simulated campaigns with a known truth.

For each case (world, form, valley) and each of N seeds: simulate the demo design (4 sparsities x 5
computes 1e17..1e19 x 9 r), fit at the CLI's defaults (4 chains x 1000 draws + 1000 tune, nutpie), and
check whether the 90% interval of r* contains the true r* inside the data (C = 1e18) and beyond it
(1e20 and 1e21: one and two decades), at every sparsity. Worlds: ``paper`` (well specified),
``asymmetric`` and ``two-term`` (misspecified). The default model (power law, asymmetric valley) is fit
to all three; ``asymmetric`` also with a symmetric valley to show what the asymmetry buys, ``two-term``
also with the curved r* law and with its own (the two-term form); ``auto`` (power or two-term, as
PSIS-LOO prefers) in the paper's world and the two-term one; ``bending`` (the paper's law from 1e18 up,
r* inflated and the frontier bent below it: simulate.World) with the default model. A case may name a
discrepancy of r* from its law (WORLD/FORM/PENALTY/DISCREPANCY, forms.DISCREPANCIES; else the default,
hinges): the law alone ("none") on the paper, two-term and bending worlds. Goal: 85-95% in the well-specified world,
and >= 95% of fits converged. The tables are rewritten after every case, so that a long run leaves the
cases it finished.

    nice python -m bayes_moe.benchmarks.calibration [--datasets 20] [--first-seed 0] [--cases two-term/two-term/implied ...]
        [--name NAME]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bayes_moe import laws, model, posterior, sampling, simulate
from bayes_moe.benchmarks import write_results
from bayes_moe.forms import DEFAULT_DISCREPANCY, NO_DISCREPANCY, discrepancy_of

CASES = (("paper", "power", "asymmetric"), ("asymmetric", "power", "asymmetric"),
         ("asymmetric", "power", "symmetric"), ("two-term", "power", "asymmetric"),
         ("two-term", "curved", "asymmetric"), ("two-term", "two-term", "implied"),
         ("paper", "auto", "asymmetric"), ("two-term", "auto", "asymmetric"), ("bending", "power", "asymmetric"),
         *((world, "power", "asymmetric", NO_DISCREPANCY) for world in ("paper", "two-term", "bending")))
QUERIES = {"inside (1e18)": 1e18, "beyond (1e20)": 1e20, "beyond (1e21)": 1e21}


def interval_scores(world: simulate.World, idata) -> dict:
    """Of one fit, at each query's compute and the paper's four sparsities: whether the 90% interval of r*
    holds the world's truth (``hit``), its half-width and the median's error, both relative to r*."""
    sparsity = np.array(laws.PAPER_SPARSITIES)
    scores = {}
    for name, compute in QUERIES.items():
        truth = np.exp(world.log_r_star(compute, sparsity))
        interval = posterior.r_star(idata, compute, sparsity)
        lower, median, upper = (interval[k].values for k in ("lower", "median", "upper"))
        scores[name] = {"hit": ((lower <= truth) & (truth <= upper)).tolist(),
                        "half-width": ((upper - lower) / (2 * median)).tolist(), "error": (median / truth - 1).tolist()}
    return scores


def run_case(law: str, form: str, penalty: str, seeds, discrepancy: str = DEFAULT_DISCREPANCY) -> dict:
    hits, widths, errors = ({name: [] for name in QUERIES} for _ in range(3))
    unconverged, seconds = {}, []
    for seed in seeds:
        world = simulate.World(law=law, seed=seed)
        start = time.perf_counter()
        idata = model.fit(simulate.sweep_dataset(world), form=form, penalty=penalty, discrepancy=discrepancy,
                          seed=seed, progressbar=False)
        seconds.append(time.perf_counter() - start)
        if not posterior.converged(idata):  # which criterion failed, per seed
            unconverged[seed] = {k: idata.attrs[k] for k in sampling.DIAGNOSTICS}
        for name, score in interval_scores(world, idata).items():
            hits[name] += score["hit"]
            widths[name] += score["half-width"]
            errors[name] += score["error"]
    return {"world": law, "form": form, "penalty": penalty, "discrepancy": discrepancy_of(form, discrepancy),
            "datasets": len(seeds), "seeds": [int(seeds[0]), int(seeds[-1])],
            "unconverged": len(unconverged),
            "unconverged fits": unconverged,
            "median seconds per fit": float(np.median(seconds)),
            **{f"coverage {n}": float(np.mean(hits[n])) for n in QUERIES},
            # targets covered per data set (of its sparsities): the four of one fit are not independent
            "covered per data set": {n: np.reshape(hits[n], (len(seeds), -1)).sum(axis=1).tolist() for n in QUERIES},
            **{f"relative half-width {n}": float(np.median(widths[n])) for n in QUERIES},
            **{f"median abs error {n}": float(np.median(np.abs(errors[n]))) for n in QUERIES}}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=0, help="the data sets are seeds first-seed, first-seed + 1, ...")
    parser.add_argument("--cases", nargs="+", choices=["/".join(case) for case in CASES],
                        metavar="WORLD/FORM/PENALTY[/DISCREPANCY]",
                        help="the rows to run (default: all of " + ", ".join("/".join(case) for case in CASES) + ")")
    parser.add_argument("--name", default="model_calibration", help="result files experiments/benchmarks/NAME.json|md")
    args = parser.parse_args(argv)
    if args.datasets < 1 or args.first_seed < 0:
        parser.error(f"--datasets must be >= 1 and --first-seed >= 0, got {args.datasets} and {args.first_seed}")
    cases = [tuple(case.split("/")) for case in args.cases] if args.cases else CASES
    start, cpu_start = time.perf_counter(), time.process_time()
    results = []
    for case in cases:
        results.append(run_case(*case[:3], range(args.first_seed, args.first_seed + args.datasets), *case[3:]))
        write_results(args.name, {"datasets": args.datasets, "results": results},
                      _markdown(results, args.datasets, time.perf_counter() - start, time.process_time() - cpu_start))


def _markdown(results: list, datasets: int, seconds: float, cpu_seconds: float) -> str:
    keys = [k for k in results[0] if k not in ("world", "form", "penalty", "discrepancy", "datasets", "seeds",
                                               "unconverged fits", "covered per data set")]
    header = "| world | model | " + " | ".join(keys) + " |\n|---|---|" + "---|" * len(keys)
    rows = "\n".join(f"| {r['world']} | {_label(r)} | " + " | ".join(
        f"{r[k]:.0%}" if "coverage" in k else f"{r[k]:.3g}" for k in keys) + " |" for r in results)
    first, last = results[0]["seeds"]
    return (f"# Calibration of 90% r* intervals ({datasets} simulated data sets per row, seeds {first}-{last}, "
            f"{4 * datasets} intervals per cell)\n\nDesign: 4 sparsities x 5 computes (1e17..1e19) x 9 r; "
            f"default fit (nutpie, 4 chains x 1000 draws + 1000 tune). Coverage goal 85-95%; half-width and "
            f"error relative to r*.\n\n{header}\n{rows}\n\n({seconds:.0f} s wall, {cpu_seconds:.0f} CPU s in all, "
            f"2 shared CPUs)")


def _label(result: dict) -> str:
    """The model of a row: form/penalty/discrepancy."""
    return f"{result['form']}/{result['penalty']}/{result['discrepancy']}"


if __name__ == "__main__":
    main()
