"""The calibration table of the frontiers over the simulated worlds (issue #17 item 7), pooled from the frontier
benchmark's records (``bayes_moe.benchmarks.frontier``: each data set fitted with every frontier in one run, so the
frontiers are compared on the same data). Per world and frontier: the fits' convergence, the coverage, half-width
and error of r*'s 90% intervals at the queries; against the baseline frontier on the same data sets, the median
ratio of the half-widths and the mean difference of the absolute errors with its standard error over data sets
(a data set's four sparsities share one fit, so the data set is the unit), which says whether one frontier's
errors are larger beyond the spread of the data sets.

    python -m bayes_moe.benchmarks.frontier_calibration --name NAME \
        paper=frontier_paper_valley,frontier_paper_valley_seeds10_19 two-term=frontier_two_term,...
"""

from __future__ import annotations

import argparse
import json
import re

import numpy as np

from bayes_moe import simulate
from bayes_moe.benchmarks import RESULTS, write_results
from bayes_moe.benchmarks.calibration import QUERIES

# frontier_paper_valley (6a062a0) named today's flexible frontier, with the valley's bends, "flexible-valley"
RENAMED = {"flexible-valley": "flexible"}
SCORES = ("hit", "half-width", "error")


class RecordError(ValueError):
    """A record that cannot be pooled: missing, or another world, design or seeds than its world's others."""


def pooled_fits(names: list[str]) -> tuple[dict, list[int]]:
    """The fits of the frontier benchmark's records ``names`` (experiments/benchmarks/NAME.json) of one world,
    per frontier in the order of their seeds, and those seeds."""
    fits, seeds, world = {}, [], None
    for name in names:
        path = RESULTS / f"{name}.json"
        if not path.is_file():
            raise RecordError(f"{path}: no such record (the frontier benchmark writes NAME.json)")
        record = json.loads(path.read_text())
        # the world less its first data set's seed, and the design's computes
        simulated = (re.sub(r"seed=\d+, ", "", record["world"])
                     + f" at computes {record.get('computes', list(simulate.DEMO_COMPUTES))}")
        if world is not None and simulated != world:
            raise RecordError(f"{path}: simulates {simulated}, the world's other records {world}")
        world = simulated
        first = record["first_seed"]
        for frontier, results in record["results"].items():
            fits.setdefault(RENAMED.get(frontier, frontier), []).extend(results)
        seeds += range(first, first + record["datasets"])
    if len(set(seeds)) < len(seeds):
        raise RecordError(f"records {', '.join(names)}: a data set's seed in two of them")
    counts = {frontier: len(results) for frontier, results in fits.items()}
    if set(counts.values()) != {len(seeds)}:
        raise RecordError(f"records {', '.join(names)}: not every frontier fitted on every data set ({counts}, "
                          f"{len(seeds)} data sets)")
    return fits, seeds


def scores(fits: list[dict]) -> dict:
    """Per query and score (``SCORES``), an array of data sets x sparsities."""
    return {query: {key: np.array([fit["r_star"][query][key] for fit in fits], float) for key in SCORES}
            for query in QUERIES}


def summary(fits: list[dict], baseline: list[dict]) -> dict:
    """One frontier's fits on a world: convergence, and per query the coverage, the data sets whose four
    intervals all hold the truth, the median half-width and absolute error; against ``baseline`` (the same data
    sets) the median half-width ratio and the mean (with its standard error) over data sets of the difference of
    the absolute errors, each data set's averaged over its sparsities."""
    own, base = scores(fits), scores(baseline)
    per_query = {}
    for query in QUERIES:
        mine, theirs = own[query], base[query]
        difference = np.mean(np.abs(mine["error"]) - np.abs(theirs["error"]), axis=1)
        per_query[query] = {
            "coverage": float(mine["hit"].mean()), "all covered": int(mine["hit"].all(axis=1).sum()),
            "half-width": float(np.median(mine["half-width"])), "error": float(np.median(np.abs(mine["error"]))),
            "half-width ratio": float(np.median(mine["half-width"] / theirs["half-width"])),
            "error difference": float(difference.mean()),
            "error difference se": float(difference.std(ddof=1) / np.sqrt(len(difference)))}
    return {"datasets": len(fits), "unconverged": sum(not fit["converged"] for fit in fits),
            "max r-hat": max(fit["max_rhat"] for fit in fits), "min bulk ESS": min(fit["min_ess_bulk"] for fit in fits),
            "min tail ESS": min(fit["min_ess_tail"] for fit in fits),
            "divergences": sum(fit["divergences"] for fit in fits),
            "cpu seconds": float(np.median([fit["cpu seconds"] for fit in fits])), "queries": per_query}


def markdown(table: dict, baseline: str) -> str:
    """The record: per world and frontier, convergence and the intervals; then each frontier against
    ``baseline``."""
    queries = " / ".join(f"{c:.0e}" for c in QUERIES.values())
    joined = lambda row, key, fmt: " / ".join(format(row["queries"][q][key], fmt) for q in QUERIES)  # noqa: E731
    rows, versus = [], []
    for world, entry in table.items():
        first, last = entry["seeds"][0], entry["seeds"][-1]
        for frontier, row in entry["frontiers"].items():
            rows.append(f"| {world} | {frontier} | {row['datasets']} ({first}-{last}) | {row['unconverged']} | "
                        f"{row['max r-hat']:.3f} | {row['min bulk ESS']:.0f} / {row['min tail ESS']:.0f} | "
                        f"{row['divergences']} | {joined(row, 'coverage', '.0%')} | {joined(row, 'all covered', 'd')} | "
                        f"{joined(row, 'half-width', '.1%')} | {joined(row, 'error', '.1%')} | {row['cpu seconds']:.1f} |")
            if frontier != baseline:
                differences = " / ".join(f"{100 * q['error difference']:+.1f} +- {100 * q['error difference se']:.1f}"
                                         for q in row["queries"].values())
                cpu = row["cpu seconds"] / entry["frontiers"][baseline]["cpu seconds"]
                versus.append(f"| {world} | {frontier} | {joined(row, 'half-width ratio', '.2f')} | {differences} | "
                              f"{cpu:.2f} |")
    return (f"# Calibration of r*'s 90% intervals per frontier, pooled from the frontier benchmark's records\n\n"
            f"Demo design (4 sparsities x 5 computes 1e17..1e19 x 9 r), CLI defaults (4 chains x 1000 draws + 1000 "
            f"tune) but the frontier; each data set fitted with every frontier. Queries at {queries} FLOPs, the "
            f"four sparsities of each data set: coverage of the truth, data sets whose four intervals all hold it, "
            f"median relative half-width, median absolute relative error; unconverged by the gate (r-hat <= 1.01, "
            f"bulk and tail ESS >= 400, no divergences); median CPU s per fit (compilation in each record's first "
            f"fit of a frontier).\n\n| world | frontier | data sets (seeds) | unconverged | max r-hat | min bulk / "
            f"tail ESS | divergences | coverage | all 4 covered | half-width | error | CPU s |\n"
            f"|---|---|---|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows)
            + f"\n\nAgainst {baseline} on the same data sets: the median over intervals of the half-widths' ratio; the "
            f"mean over data sets of the absolute error less {baseline}'s (percentage points of r*, each data set's "
            f"four sparsities averaged) +- its standard error; the ratio of the median CPU s.\n\n| world | frontier | "
            f"half-width ratio {queries} | absolute error difference (points) | CPU ratio |\n|---|---|---|---|---|\n"
            + "\n".join(versus))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("worlds", nargs="+", metavar="WORLD=RECORD[,RECORD...]",
                        help="a world's frontier benchmark records (names under experiments/benchmarks/)")
    parser.add_argument("--baseline", default="power", help="the frontier the others are compared with")
    parser.add_argument("--name", required=True, help="result files experiments/benchmarks/NAME.json|md")
    args = parser.parse_args(argv)
    table = {}
    for spec in args.worlds:
        world, _, names = spec.partition("=")
        if not world or not names:
            parser.error(f"{spec!r}: give WORLD=RECORD[,RECORD...]")
        try:
            fits, seeds = pooled_fits(names.split(","))
        except RecordError as problem:
            parser.error(str(problem))
        if args.baseline not in fits:
            parser.error(f"{world}: no {args.baseline!r} fits to compare with (frontiers: {', '.join(fits)})")
        table[world] = {"records": names.split(","), "seeds": sorted(seeds),
                        "frontiers": {frontier: summary(results, fits[args.baseline])
                                      for frontier, results in fits.items()}}
    write_results(args.name, {"baseline": args.baseline, "worlds": table}, markdown(table, args.baseline))


if __name__ == "__main__":
    main()
