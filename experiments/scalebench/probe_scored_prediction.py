"""Which prediction of an underdetermined fit to score: the MAP's, or the median of the posterior draws pushed
through the law?

Runs the active campaigns of one task at one budget (every form, ``--seeds`` seeds, every group, the defaults or
``NAME=VALUE`` overrides of ``benchmark.scalebench.Settings``) and scores each campaign's fit at the targets two
ways: the law at the MAP (the benchmark's score) and, per target point, the median over the Laplace draws of the law
itself at the draw (``LaplaceFit.through_law``), each group's only where its fit holds fewer runs than the law has
parameters (``laplace.underdetermined``; elsewhere the MAP's). ``--nuts``: the median of the law over NUTS's draws
of the same runs' posterior (``Law.pymc_model``, the flat boxes as priors), in every fit. Prints per form the mean
R^2 of both. ``--held-out SHARE`` (with ``--nuts``): a third score, each group's fit choosing between the two by
how well each, fitted without the dearest SHARE of the campaign's runs (at least 2), predicts those runs.

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


def nuts_median(law, runs: dict, y: np.ndarray, points: dict, seed: int, draws: int) -> np.ndarray | None:
    """NUTS's posterior median of the law at ``points`` given ``runs`` (None where nutpie finds no initial point
    with a finite log density)."""
    try:
        return sampled_interval("nuts", law, runs, y, points, seed, draws)[0]
    except RuntimeError:
        return None


def median_predicts_better(law, campaign, seed: int, share: float, draws: int) -> bool | None:
    """Whether NUTS's posterior median, fitted without the dearest ``share`` of the campaign's runs, predicts them
    with a smaller squared error than the MAP fitted alike (None: too few runs to hold any out, or no NUTS fit)."""
    chosen = np.array(campaign.chosen)
    chosen = chosen[np.argsort(campaign.task.costs[chosen], kind="stable")]
    held = max(2, int(round(share * len(chosen))))
    if len(chosen) - held < 2:
        return None
    kept, out = chosen[:-held], chosen[-held:]
    runs, tests = ({key: v[rows] for key, v in campaign.features.items()} for rows in (kept, out))
    y, y_out = campaign.y[kept].ravel(), campaign.y[out].ravel()
    fit = laplace.fit(law, runs, y, rng=np.random.default_rng(seed), starts=8, polish=True)
    map_error = np.mean((law.predict(fit.best, tests)[0] - y_out) ** 2)
    median = nuts_median(law, runs, y, tests, seed, draws)
    return None if median is None else bool(np.mean((median - y_out) ** 2) < map_error)


def main(argv=None) -> int:
    parser = probe_parser(__doc__.splitlines()[0])
    parser.add_argument("--nuts", action="store_true", help="score NUTS's posterior median in every fit")
    parser.add_argument("--draws", type=int, default=500, help="NUTS: draws and tuning steps a chain, 2 chains")
    parser.add_argument("--held-out", type=float, help="choose per fit by the dearest runs held out (with --nuts)")
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
            mapped, median, chosen_by_runs, truth, underdetermined, choices = [], [], [], [], [], []
            for g, (rows, target_rows) in enumerate(task.groups()):
                c = scalebench.GroupCampaign(task, law, rows, target_rows, "active",
                                             np.random.default_rng([seed, k, g]), settings)
                c.advance(args.budget)
                if c.fit is None:
                    continue
                best = law.predict(c.fit.best, c.target_features)[0]
                under = laplace.underdetermined(law, len(c.chosen))
                mapped.append(best)
                if args.nuts:
                    chosen = np.array(c.chosen)
                    runs = {key: v[chosen] for key, v in c.features.items()}
                    found = nuts_median(law, runs, c.y[chosen].ravel(), c.target_features, seed, args.draws)
                    median.append(best if found is None else found)  # no NUTS fit: the MAP stands
                elif under:
                    median.append(np.median(c.fit.through_law().mean_draws(c.target_features), axis=0))
                else:
                    median.append(best)
                if args.held_out and args.nuts:
                    choices.append(median_predicts_better(law, c, seed, args.held_out, args.draws))
                    chosen_by_runs.append(median[-1] if choices[-1] else best)
                truth.append(y_targets[target_rows].ravel())
                underdetermined.append(under)
            score = [scalebench.scores(args.budget, p, p, p, truth)["r2"] for p in (mapped, median)]
            campaigns.append({"seed": seed, "r2_map": score[0], "r2_median": score[1], "underdetermined": underdetermined})
            if choices:
                campaigns[-1] |= {"r2_chosen": scalebench.scores(args.budget, chosen_by_runs, chosen_by_runs,
                                                                 chosen_by_runs, truth)["r2"], "median_chosen": choices}
        forms[law.name] = {key: float(np.mean([c[key] for c in campaigns])) for key in ("r2_map", "r2_median", "r2_chosen")
                           if key in campaigns[0]} | {"campaigns": campaigns}
        print(json.dumps({law.name: forms[law.name]}), flush=True)
    scores = {key: float(np.mean([f[key] for f in forms.values()])) for key in ("r2_map", "r2_median", "r2_chosen")
              if key in next(iter(forms.values()))}
    print(json.dumps({"task": task.name, "budget": args.budget, "overrides": args.overrides, "nuts": args.nuts,
                      **scores, "cpu_s": time.process_time() - start, "forms": forms}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
