"""Per task, budget and strategy of `benchmark-scalebench --log` files: R^2 (the command's summary), its standard
error over the seeds (each seed's summary: its mean over the forms), the mean of the first three seeds alone, and
how many campaigns of those seeds give the same R^2 as a reference log (a rerun's check).

Usage: python experiments/scalebench/seed_spread.py LOG.jsonl [...] [--reference DIR]; prints a Markdown table.
"""
import argparse
from pathlib import Path

import numpy as np

from bayes_moe.benchmarks.scalebench import read_log, summarise


def _by_cell(campaigns: list[dict]) -> dict:
    """``summarise``'s rows keyed by (budget, strategy)."""
    return {(row["budget"], row["strategy"]): row for row in summarise(campaigns)}


def spread(logs: list[Path], reference: Path | None) -> list[str]:
    """One Markdown row per (task, budget, strategy)."""
    rows = ["| task | budget | strategy | seeds | R^2 mean | se over seeds | seeds 0-2 | coverage90 | same as reference |",
            "|---|---|---|---|---|---|---|---|---|"]
    for log in logs:
        found = read_log(log)
        known = {}
        if reference is not None and (reference / log.name).is_file():
            known = {(c["law"], c["strategy"], c["seed"]): c for c in read_log(reference / log.name)}
        seeds = sorted({c["seed"] for c in found})
        per_seed = [_by_cell([c for c in found if c["seed"] == seed]) for seed in seeds]
        first = _by_cell([c for c in found if c["seed"] < 3])
        budgets = [result["budget"] for result in found[0]["results"]]
        for (budget, strategy), row in _by_cell(found).items():
            b = budgets.index(budget)
            means = np.array([cells[budget, strategy]["r2_mean"] for cells in per_seed])
            same = [abs(known[c["law"], strategy, c["seed"]]["results"][b]["r2"] - c["results"][b]["r2"]) < 1e-6
                    for c in found if c["strategy"] == strategy and (c["law"], strategy, c["seed"]) in known]
            rows.append(f"| {row['task']} | {budget:g} | {strategy} | {len(means)} | {row['r2_mean']:.3f} | "
                        f"{means.std(ddof=1) / np.sqrt(len(means)):.3f} | {first[budget, strategy]['r2_mean']:.3f} | "
                        f"{row['coverage90']:.2f} | {f'{sum(same)} / {len(same)}' if same else '-'} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logs", nargs="+", type=Path)
    parser.add_argument("--reference", type=Path, help="a folder of logs of the same tasks (T.jsonl) to compare with")
    args = parser.parse_args()
    print("\n".join(spread(args.logs, args.reference)))


if __name__ == "__main__":
    main()
