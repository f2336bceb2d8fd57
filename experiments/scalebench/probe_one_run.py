"""How much one run moves R^2 at a budget: a set of runs scored by our fit (Laplace MAP from ``--starts`` random
starts, polished: the least-squares optimum, "The scored fit or the picks?") with every run and without each in
turn, on the task's first group.

Run sets: V-opt's (``--vopt-logs``, the authors' ``vopt.py`` logs, one per form as ``run_peer.sh`` writes them: its
first design and its picks before the one that crossed the budget, as ``probe_scored_fit.vopt_picks`` reads them)
and our active campaign's at the budget (``--seeds`` seeds, the defaults or ``NAME=VALUE`` overrides).

    python experiments/scalebench/probe_one_run.py moe 0.01 --seeds 1 \\
        --vopt-logs vopt/vopt_moe_scaling_law_sl_*_seed42.log   # from results/peer/vopt_10_repeats/logs.tgz
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from bayes_moe.benchmarks import scalebench
from bayes_moe.pooltask import find_task, load_task
from probe_run_choice import parse_probe, probe_parser  # this folder's probes
from probe_scored_fit import r2, vopt_picks


def leave_one_out(task, law_index: int, runs: list[int], settings: scalebench.Settings, starts: int,
                  seed: int = 0) -> dict:
    """R^2 of our fit of ``runs`` at the first group's targets, and without each run in turn (``without[i]``: run i
    left out)."""
    law = task.laws[law_index]
    rows, target_rows = task.groups()[0]
    truth = law.observed(task.targets).reshape(len(task.targets), -1)[target_rows].ravel()

    def score(chosen) -> float:
        campaign = scalebench.GroupCampaign(task, law, rows, target_rows, "active",
                                            np.random.default_rng([seed, law_index, 2]), settings)
        campaign.chosen = list(chosen)
        campaign.refit(starts, polish=True)
        return r2(law, campaign.fit.best, campaign.target_features, truth)

    return {"runs": [int(r) for r in runs], "r2": score(runs),
            "without": [score(runs[:i] + runs[i + 1:]) for i in range(len(runs))]}


def main(argv=None) -> int:
    parser = probe_parser(__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=64, help="random starts of every fit (64)")
    parser.add_argument("--vopt-logs", nargs="*", default=[], help="vopt.py logs, one per form")
    args, settings = parse_probe(parser, argv)
    task = load_task(find_task(args.task))
    rows, target_rows = task.groups()[0]
    start = time.process_time()
    text = "\n".join(Path(log).read_text() for log in args.vopt_logs)
    vopt = vopt_picks(text, task.costs[rows], args.budget, {law.name: len(law.priors) for law in task.laws})
    out = {}
    for k, law in enumerate(task.laws):
        if args.laws and law.name not in args.laws:
            continue
        record = {"ours": []}
        if law.name in vopt:
            record["vopt"] = leave_one_out(task, k, vopt[law.name]["runs"], settings, args.starts)
            _report(law.name, "vopt", record["vopt"])
        for seed in range(args.seeds):
            campaign = scalebench.GroupCampaign(task, law, rows, target_rows, "active",
                                                np.random.default_rng([seed, k, 0]), settings)
            campaign.advance(args.budget)
            record["ours"].append(leave_one_out(task, k, list(campaign.chosen), settings, args.starts, seed))
            _report(law.name, "ours", record["ours"][-1])
        out[law.name] = record
    print(json.dumps({"task": args.task, "budget": args.budget, "starts": args.starts,
                      "cpu_s": time.process_time() - start, "forms": out}))
    return 0


def _report(form: str, name: str, record: dict) -> None:
    print(f"{form} {name}: {len(record['runs'])} runs, R^2 {record['r2']:.2f}, one run out "
          f"{min(record['without']):.2f} to {max(record['without']):.2f}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
