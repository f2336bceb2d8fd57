"""Compute-to-width milestones of a design benchmark, down to the campaign's target width.

``bayes_moe.benchmarks.design`` reads milestones of ±100/80/60/40% off each campaign's trajectory;
with targets inside the reachable range (design_campaign.toml) the interesting ones are narrower.
This re-reads ``design_benchmark.json`` (every campaign's trajectory) and prints a Markdown table:
per (world, strategy) the median compute (over seeds) at which the 90% interval of r* first was
within each width, its ratio to the grid's, the median runs at that point, and the coverage of the
true r* at that point (mean over campaigns that got there).

    .venv/bin/python experiments/benchmarks/design_milestones.py experiments/benchmarks/design_benchmark.json
"""

import json
import math
import sys

import numpy as np

WIDTHS = (0.6, 0.4, 0.3, 0.2, 0.15, 0.10)


def first(trajectory, width):
    """(runs, compute, covered) when the half-width first was <= width, or None."""
    return next(((runs, compute, covered) for runs, compute, w, covered in trajectory if w <= width), None)


def table(payload, widths=WIDTHS):
    campaigns = payload["campaigns"]
    keys = list(dict.fromkeys((c["world"], c["strategy"]) for c in campaigns))
    cells = {}
    for key in keys:
        group = [c for c in campaigns if (c["world"], c["strategy"]) == key]
        for width in widths:
            hits = [first(c["trajectory"], width) for c in group]
            compute = float(np.median([h[1] if h else math.inf for h in hits]))
            runs = float(np.median([h[0] if h else math.inf for h in hits]))
            got = [h for h in hits if h]
            cover = float(np.mean([h[2] for h in got])) if got else None
            cells[key, width] = (compute, runs, cover, len(got), len(group))
    head = ("| world | strategy | " + " | ".join(f"to ±{w:.0%}: FLOPs (vs grid), runs, coverage [n]" for w in widths)
            + " |\n|---|---|" + "---|" * len(widths) + "\n")
    rows = []
    for world, strategy in keys:
        out = []
        for width in widths:
            compute, runs, cover, n, total = cells[(world, strategy), width]
            if not math.isfinite(compute):
                out.append(f"not reached [{n}/{total}]")
                continue
            grid = cells.get(((world, "grid"), width))
            ratio = f" ({compute / grid[0]:.2f})" if grid and math.isfinite(grid[0]) else ""
            out.append(f"{compute:.3g}{ratio}, {runs:.0f}, {cover:.0%} [{n}/{total}]")
        rows.append(f"| {world} | {strategy} | " + " | ".join(out) + " |\n")
    return head + "".join(rows)


if __name__ == "__main__":
    print(table(json.loads(open(sys.argv[1]).read())), end="")
