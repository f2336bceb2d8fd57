"""Which prediction of an underdetermined fit to score: the MAP's, or the median of the posterior draws pushed
through the law?

Runs the active campaigns of one task at one budget (every form, ``--seeds`` seeds, every group, the defaults or
``NAME=VALUE`` overrides of ``benchmark.scalebench.Settings``) and scores each campaign's fit at the targets two
ways: the law at the MAP (the benchmark's score) and, per target point, the median over the Laplace draws of the law
itself at the draw (``LaplaceFit.through_law``), each group's only where its fit holds fewer runs than the law has
parameters (``laplace.underdetermined``; elsewhere the MAP's). ``--nuts``: the median of the law over NUTS's draws
of the same runs' posterior (``Law.pymc_model``, the flat boxes as priors), in every fit. Prints per form the mean
R^2 of both.

    python experiments/scalebench/probe_scored_prediction.py domain_mixture 0.2 --seeds 3
    python experiments/scalebench/probe_scored_prediction.py sparsity 0.5 --seeds 3 --nuts
"""

from __future__ import annotations

import json
import time

import numpy as np

from bayes_moe import laplace
from bayes_moe.benchmarks import scalebench
from bayes_moe.benchmarks.scalebench_inference import sampled_interval
from bayes_moe.pooltask import find_task, load_task
from probe_run_choice import parse_probe, probe_parser  # this folder's probe


def main(argv=None) -> int:
    parser = probe_parser(__doc__.splitlines()[0])
    parser.add_argument("--nuts", action="store_true", help="score NUTS's posterior median in every fit")
    parser.add_argument("--draws", type=int, default=500, help="NUTS: draws and tuning steps a chain, 2 chains")
    args, settings = parse_probe(parser, argv)
    task = load_task(find_task(args.task))
    start = time.process_time()
    forms = {}
    for k, law in enumerate(task.laws):
        if args.laws and law.name not in args.laws:
            continue
        y_targets = law.observed(task.targets).reshape(len(task.targets), -1)
        campaigns = []
        for seed in range(args.seeds):
            mapped, median, truth, underdetermined = [], [], [], []
            for g, (rows, target_rows) in enumerate(task.groups()):
                c = scalebench.GroupCampaign(task, law, rows, target_rows, "active",
                                             np.random.default_rng([seed, k, g]), settings)
                c.advance(args.budget)
                if c.fit is None:
                    continue
                best = law.predict(c.fit.best, c.target_features)[0]
                under = laplace.underdetermined(law, len(c.chosen))
                mapped.append(best)
                chosen = np.array(c.chosen)
                if args.nuts:
                    runs = {key: v[chosen] for key, v in c.features.items()}
                    median.append(sampled_interval("nuts", law, runs, c.y[chosen].ravel(), c.target_features, seed,
                                                   args.draws)[0])
                elif under:
                    median.append(np.median(c.fit.through_law().mean_draws(c.target_features), axis=0))
                else:
                    median.append(best)
                truth.append(y_targets[target_rows].ravel())
                underdetermined.append(under)
            score = [scalebench.scores(args.budget, p, p, p, truth)["r2"] for p in (mapped, median)]
            campaigns.append({"seed": seed, "r2_map": score[0], "r2_median": score[1], "underdetermined": underdetermined})
        forms[law.name] = {"r2_map": float(np.mean([c["r2_map"] for c in campaigns])),
                           "r2_median": float(np.mean([c["r2_median"] for c in campaigns])), "campaigns": campaigns}
        print(json.dumps({law.name: forms[law.name]}), flush=True)
    print(json.dumps({"task": task.name, "budget": args.budget, "overrides": args.overrides, "nuts": args.nuts,
                      "r2_map": float(np.mean([f["r2_map"] for f in forms.values()])),
                      "r2_median": float(np.mean([f["r2_median"] for f in forms.values()])),
                      "cpu_s": time.process_time() - start, "forms": forms}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
