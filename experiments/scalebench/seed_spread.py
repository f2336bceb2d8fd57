"""Per task, budget and strategy of `benchmark-scalebench --log` files: R^2 (the command's summary), its standard
error over the seeds (each seed's summary: its mean over the forms), the mean of the first three seeds alone, and
how many campaigns of those seeds give the same R^2 as a reference log (a rerun's check); with ``--paired PREFIX``
also the difference to the variant ``PREFIX`` of probe_variants.py (its log ``PREFIX_TASK.jsonl`` beside each
log), paired by form and seed: each seed's mean difference over the forms, their mean and standard error.

Usage: python experiments/scalebench/seed_spread.py LOG.jsonl [...] [--reference DIR] [--paired PREFIX]; prints a
Markdown table.
"""
import argparse
from pathlib import Path

import numpy as np

from bayes_moe.benchmarks.scalebench import read_log, summarise


def _by_cell(campaigns: list[dict]) -> dict:
    """``summarise``'s rows keyed by (budget, strategy)."""
    return {(row["budget"], row["strategy"]): row for row in summarise(campaigns)}


def paired_difference(found: list[dict], base: list[dict], b: int, strategy: str) -> tuple[float, float]:
    """Mean and standard error over the seeds of each seed's mean R^2 difference to ``base`` at budget index ``b``,
    over the (form, seed) campaigns both logs hold."""
    known = {(c["law"], c["seed"]): c["results"][b]["r2"] for c in base if c["strategy"] == strategy}
    by_seed: dict[int, list[float]] = {}
    for c in found:
        if c["strategy"] == strategy and (c["law"], c["seed"]) in known:
            by_seed.setdefault(c["seed"], []).append(c["results"][b]["r2"] - known[c["law"], c["seed"]])
    means = np.array([np.mean(d) for d in by_seed.values()])
    return float(means.mean()), float(means.std(ddof=1) / np.sqrt(len(means))) if len(means) > 1 else float("nan")


def spread(logs: list[Path], reference: Path | None, paired: str | None = None) -> list[str]:
    """One Markdown row per (task, budget, strategy)."""
    rows = ["| task | budget | strategy | seeds | R^2 mean | se over seeds | seeds 0-2 | coverage90 | same as reference |"
            + (f" against {paired} (se) |" if paired else ""),
            "|---|---|---|---|---|---|---|---|---|" + ("---|" if paired else "")]
    for log in logs:
        found = read_log(log)
        known = {}
        if reference is not None and (reference / log.name).is_file():
            known = {(c["law"], c["strategy"], c["seed"]): c for c in read_log(reference / log.name)}
        seeds = sorted({c["seed"] for c in found})
        per_seed = [_by_cell([c for c in found if c["seed"] == seed]) for seed in seeds]
        first = _by_cell([c for c in found if c["seed"] < 3])
        budgets = [result["budget"] for result in found[0]["results"]]
        base = read_log(log.parent / f"{paired}_{found[0]['task']}.jsonl") if paired else None
        for (budget, strategy), row in _by_cell(found).items():
            b = budgets.index(budget)
            means = np.array([cells[budget, strategy]["r2_mean"] for cells in per_seed])
            same = [abs(known[c["law"], strategy, c["seed"]]["results"][b]["r2"] - c["results"][b]["r2"]) < 1e-6
                    for c in found if c["strategy"] == strategy and (c["law"], strategy, c["seed"]) in known]
            rows.append(f"| {row['task']} | {budget:g} | {strategy} | {len(means)} | {row['r2_mean']:.3f} | "
                        f"{means.std(ddof=1) / np.sqrt(len(means)):.3f} | "
                        f"{format(first[budget, strategy]['r2_mean'], '.3f') if first else '-'} | "
                        f"{row['coverage90']:.2f} | {f'{sum(same)} / {len(same)}' if same else '-'} |"
                        + (" {:+.3f} ({:.3f}) |".format(*paired_difference(found, base, b, strategy))
                           if paired else ""))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logs", nargs="+", type=Path)
    parser.add_argument("--reference", type=Path, help="a folder of logs of the same tasks (T.jsonl) to compare with")
    parser.add_argument("--paired", metavar="PREFIX", help="the variant to difference against, paired by form and seed "
                        "(its log PREFIX_TASK.jsonl beside each log)")
    args = parser.parse_args()
    print("\n".join(spread(args.logs, args.reference, args.paired)))


if __name__ == "__main__":
    main()
