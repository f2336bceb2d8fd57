"""Bagging the scored fit: the active campaign's runs at a budget, scored by the MAP (the benchmark's) and by the
median and the mean of the law's predictions over ``--bags`` refits on bootstrap resamples of those runs.

Bagging is the classic remedy for an unstable estimator, and at the smallest budgets the MAP is one: one run left
out moves a form's R^2 by more than 0.5 (docs/scalebench.md, "At moe 1% one run can decide a form"). Each refit
starts from the campaign's modes and the settings' random restarts, polished, as the scored fit is; every group of
the task is scored together, as the benchmark does.

    python experiments/scalebench/probe_bagged_fit.py moe 0.01 --seeds 3 --bags 16
"""

from __future__ import annotations

import json
import time

import numpy as np

from bayes_moe.benchmarks import scalebench
from bayes_moe.pooltask import find_task, load_task
from probe_run_choice import parse_probe, probe_parser  # this folder's probes


def bagged(task, law_index: int, seed: int, budget: float, settings: scalebench.Settings, bags: int) -> dict:
    """R^2 at ``budget`` of the MAP, and of the median and the mean over ``bags`` bootstrap refits."""
    law = task.laws[law_index]
    campaigns = [(scalebench.GroupCampaign(task, law, rows, target_rows, "active",
                                           np.random.default_rng([seed, law_index, g]), settings), target_rows)
                 for g, (rows, target_rows) in enumerate(task.groups())]
    truth = law.observed(task.targets).reshape(len(task.targets), -1)
    for step in task.budgets:
        if step > budget:
            break
        for campaign, _ in campaigns:
            campaign.advance(step)
    scored = {"map": [], "median": [], "mean": []}
    y = []
    for campaign, target_rows in campaigns:
        if campaign.fit is None:
            continue
        chosen, fit, modes = list(campaign.chosen), campaign.fit, campaign.modes
        rng = np.random.default_rng([seed, law_index, 99])
        predictions = []
        for _ in range(bags):
            campaign.chosen, campaign.modes = list(rng.choice(chosen, len(chosen), replace=True)), modes
            campaign.refit(settings.final_starts, polish=True)
            predicted = law.predict(campaign.fit.best, campaign.target_features)[0]
            if np.isfinite(predicted).all():
                predictions.append(predicted)
        campaign.chosen, campaign.fit, campaign.modes = chosen, fit, modes
        best = law.predict(fit.best, campaign.target_features)[0]
        scored["map"].append(best)
        scored["median"].append(np.median(predictions, axis=0) if predictions else best)
        scored["mean"].append(np.mean(predictions, axis=0) if predictions else best)
        y.append(truth[target_rows].ravel())
    return {name: scalebench.scores(budget, p, p, p, y)["r2"] for name, p in scored.items()}


def main(argv=None) -> int:
    parser = probe_parser(__doc__.splitlines()[0])
    parser.add_argument("--bags", type=int, default=16, help="bootstrap refits per campaign (16)")
    args, settings = parse_probe(parser, argv)
    task = load_task(find_task(args.task))
    start = time.process_time()
    forms = {}
    for k, law in enumerate(task.laws):
        if args.laws and law.name not in args.laws:
            continue
        forms[law.name] = [bagged(task, k, seed, args.budget, settings, args.bags) for seed in range(args.seeds)]
        print(law.name, {name: round(float(np.mean([c[name] for c in forms[law.name]])), 3)
                         for name in ("map", "median", "mean")}, flush=True)
    means = {name: float(np.mean([c[name] for cs in forms.values() for c in cs])) for name in ("map", "median", "mean")}
    print(json.dumps({"task": task.name, "budget": args.budget, "bags": args.bags, "overrides": args.overrides,
                      "r2_mean": means, "cpu_s": time.process_time() - start, "forms": forms}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
