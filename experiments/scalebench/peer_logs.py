"""R^2 of the ScaleBench authors' methods (mspe.py, vopt.py) from their logs, one log per (form, seed) as
run_peer.sh writes them: per budget, the mean over forms and seeds, its standard error over the seeds (each
seed's mean over the forms, as seed_spread.py does for ours), and each form's mean over the seeds. Campaigns cut
off by a time limit leave the forms unbalanced: ``--by-form`` then gives each form's mean over the campaigns it
finished, with their number, and the mean over the forms that finished any.

Usage: python experiments/scalebench/peer_logs.py LOG [...] [--budgets B ...] [--by-form] [--json OUT]; prints a
Markdown table.
"""
import argparse
import json
import re
from pathlib import Path

import numpy as np

_NAME = re.compile(r"_(sl_\d+)_seed(\d+)\.log$")
_SCORES = re.compile(r"repeat 0 \(seed=\d+\): (.*)")  # "0.01:0.6412 | 0.05:0.6071 | 0.1:0.8312"


def read_logs(paths: list[Path]) -> dict:
    """{form: {seed: {budget: R^2}}} of the logs that finished (a log cut off mid-run has no score line)."""
    scores: dict = {}
    for path in paths:
        name, line = _NAME.search(path.name), _SCORES.search(path.read_text())
        if name is None:
            raise SystemExit(f"{path}: not a run_peer.sh log name (METHOD_DATASET_sl_K_seedS.log)")
        if line is not None:
            cells = (cell.split(":") for cell in line.group(1).split("|"))
            scores.setdefault(name.group(1), {})[int(name.group(2))] = {float(b): float(r2) for b, r2 in cells}
    return scores


def summarise(scores: dict, budgets: list[float] | None = None) -> list[dict]:
    """One record per budget (``budgets``, default all) over the seeds every form finished."""
    forms = _ordered(scores)
    seeds = sorted(set.intersection(*(set(scores[form]) for form in forms)))
    if not seeds:
        raise SystemExit(f"no seed finished every form ({', '.join(forms)}): --by-form averages what each finished")
    rows = []
    for budget in sorted(budgets or scores[forms[0]][seeds[0]]):
        per_seed = np.array([np.mean([scores[form][seed][budget] for form in forms]) for seed in seeds])
        rows.append({"budget": budget, "seeds": seeds, "r2_mean": float(per_seed.mean()),
                     "se_over_seeds": float(per_seed.std(ddof=1) / np.sqrt(len(seeds))) if len(seeds) > 1 else None,
                     "by_form": {form: float(np.mean([scores[form][s][budget] for s in seeds])) for form in forms}})
    return rows


def summarise_by_form(scores: dict, budgets: list[float] | None = None) -> list[dict]:
    """One record per budget: each form's mean over the campaigns it finished (``by_form``) and their number
    (``campaigns``), and the mean over those forms (``r2_mean``); no standard error (the seeds differ by form)."""
    forms = _ordered(scores)
    rows = []
    for budget in sorted(budgets or next(iter(scores[forms[0]].values()))):
        by_form = {form: float(np.mean([r2[budget] for r2 in scores[form].values()])) for form in forms}
        rows.append({"budget": budget, "r2_mean": float(np.mean(list(by_form.values()))), "se_over_seeds": None,
                     "by_form": by_form, "campaigns": {form: len(scores[form]) for form in forms}})
    return rows


def _ordered(scores: dict) -> list[str]:
    return sorted(scores, key=lambda form: int(form.split("_")[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logs", nargs="+", type=Path)
    parser.add_argument("--budgets", nargs="+", type=float,
                        help="only these budgets (a run stopped early with STOP_AT scores the later ones wrongly)")
    parser.add_argument("--by-form", action="store_true",
                        help="each form over the campaigns it finished (cut-off runs leave the forms unbalanced)")
    parser.add_argument("--json", type=Path, help="also write the records here")
    args = parser.parse_args()
    rows = (summarise_by_form if args.by_form else summarise)(read_logs(args.logs), args.budgets)
    forms = list(rows[0]["by_form"])
    print(f"| budget | {'campaigns a form' if args.by_form else 'seeds'} | R^2 | se over seeds | {' | '.join(forms)} |")
    print("|---|---|---|---|" + "---|" * len(forms))
    for row in rows:
        se = "-" if row["se_over_seeds"] is None else f"{row['se_over_seeds']:.3f}"
        count = "/".join(map(str, row["campaigns"].values())) if args.by_form else len(row["seeds"])
        print(f"| {row['budget']:g} | {count} | {row['r2_mean']:.3f} | {se} | "
              + " | ".join(f"{row['by_form'][form]:.2f}" for form in forms) + " |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
