"""Per task, budget and strategy of `benchmark-scalebench --log` files: R^2 (mean over forms and seeds, as the
command's summary), its standard error over the seeds (each seed's mean over the forms), the mean of the first
three seeds alone, and how many campaigns of those seeds give the same R^2 as a reference log (a rerun's check).

Usage: python experiments/scalebench/seed_spread.py LOG.jsonl [...] [--reference DIR]; prints a Markdown table.
"""
import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np


def campaigns(path: Path) -> list[dict]:
    """The campaigns of one `--log` file."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def spread(logs: list[Path], reference: Path | None) -> list[str]:
    """One Markdown row per (task, budget, strategy)."""
    rows = ["| task | budget | strategy | seeds | R^2 mean | se over seeds | seeds 0-2 | coverage90 | same as reference |",
            "|---|---|---|---|---|---|---|---|---|"]
    for log in logs:
        found = campaigns(log)
        known = {}
        if reference is not None and (reference / log.name).is_file():
            known = {(c["law"], c["strategy"], c["seed"]): c for c in campaigns(reference / log.name)}
        cells = defaultdict(lambda: defaultdict(dict))  # (budget index, strategy) -> seed -> law -> result
        for c in found:
            for b, result in enumerate(c["results"]):
                cells[b, c["strategy"]][c["seed"]][c["law"]] = result
        for (b, strategy), by_seed in sorted(cells.items()):
            per_seed = {seed: np.mean([r["r2"] for r in by_law.values()]) for seed, by_law in by_seed.items()}
            values = np.array(list(per_seed.values()))
            coverage = [r["coverage90"] for by_law in by_seed.values() for r in by_law.values()
                        if r["coverage90"] is not None and np.isfinite(r["coverage90"])]
            same = [abs(known[law, strategy, seed]["results"][b]["r2"] - r["r2"]) < 1e-6
                    for seed, by_law in by_seed.items() for law, r in by_law.items() if (law, strategy, seed) in known]
            first = [per_seed[s] for s in (0, 1, 2) if s in per_seed]
            budget = found[0]["results"][b]["budget"]
            rows.append(f"| {found[0]['task']} | {budget:g} | {strategy} | {len(values)} | {values.mean():.3f} | "
                        f"{values.std(ddof=1) / np.sqrt(len(values)):.3f} | {np.mean(first):.3f} | "
                        f"{np.mean(coverage) if coverage else float('nan'):.2f} | "
                        f"{f'{sum(same)} / {len(same)}' if same else '-'} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logs", nargs="+", type=Path)
    parser.add_argument("--reference", type=Path, help="a folder of logs of the same tasks (T.jsonl) to compare with")
    args = parser.parse_args()
    print("\n".join(spread(args.logs, args.reference)))


if __name__ == "__main__":
    main()
