"""Which inference for pool selection: the Laplace mixture (linearized or not) against NUTS (nutpie),
by 90% coverage of the target rows and wall time, on ScaleBench tasks (docs/scalebench.md).

For each task, law form and seed: the runs a cost-random campaign holds at the task's middle budget
(``benchmarks.scalebench``), then each inference on exactly those runs, scored at the targets.

    python -m bayes_moe.benchmarks.scalebench_inference --tasks moe sparsity --laws 2 --seeds 2
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from bayes_moe import laplace, sampling
from bayes_moe.benchmarks.scalebench import LEVEL, GroupCampaign, Settings, scores
from bayes_moe.pooltask import find_task, load_task


def _nuts_interval(law, features, y, target_features, seed, draws):
    model = law.pymc_model({column: features[symbol] for symbol, column in law.inputs.items()}, observed=y)
    idata = sampling.sample(model, draws=draws, tune=draws, chains=2, seed=seed, progressbar=False)
    posterior = idata.posterior.stack(sample=("chain", "draw"))
    theta = np.stack([posterior[name].values for name in law.parameter_names], axis=1)
    sigma = posterior["sigma"].values
    rng = np.random.default_rng(seed)
    predictive = law.predict(theta, target_features) + sigma[:, None] * rng.standard_normal((len(sigma), 1))
    tail = (1 - LEVEL) / 2
    median = np.median(law.predict(theta, target_features), axis=0)
    return median, np.quantile(predictive, tail, axis=0), np.quantile(predictive, 1 - tail, axis=0)


def measure(task_name: str, law_index: int, seed: int, nuts_draws: int) -> list[dict]:
    task = load_task(find_task(task_name))
    law = task.laws[law_index]
    budget = task.budgets[len(task.budgets) // 2]
    y_targets = law.observed(task.targets).reshape(len(task.targets), -1)
    parts = {name: ([], [], [], []) for name in ("laplace", "laplace-nonlinear", "nuts")}
    walls = dict.fromkeys(parts, 0.0)
    for g, (rows, target_rows) in enumerate(task.groups()):
        campaign = GroupCampaign(task, law, rows, target_rows, "cost_random", np.random.default_rng([seed, g]),
                                  Settings())
        campaign.advance(budget)
        chosen = np.array(campaign.chosen)
        features = {k: v[chosen] for k, v in campaign.features.items()}
        y = campaign.y[chosen].ravel()
        for name in parts:
            start = time.perf_counter()
            rng = np.random.default_rng(seed)
            if name == "nuts":
                mean, lower, upper = _nuts_interval(law, features, y, campaign.target_features, seed, nuts_draws)
            else:
                fit = laplace.fit(law, features, y, rng=rng, starts=8, linearized=name == "laplace")
                mean = law.predict(fit.best, campaign.target_features)[0]
                lower, upper = fit.interval(campaign.target_features, LEVEL, rng)
            walls[name] += time.perf_counter() - start
            for part, value in zip(parts[name], (mean, lower, upper, y_targets[target_rows].ravel())):
                part.append(value)
    return [{"task": task.name, "law": law.name, "seed": seed, "inference": name, "wall_s": walls[name],
             **scores(budget, *parts[name])} for name in parts]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["moe", "sparsity"])
    parser.add_argument("--laws", type=int, default=2, help="the first N law forms of each task")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--nuts-draws", type=int, default=500, help="draws (and tuning steps) per chain, 2 chains")
    args = parser.parse_args(argv)
    for task_name in args.tasks:
        for k in range(args.laws):
            for seed in range(args.seeds):
                for row in measure(task_name, k, seed, args.nuts_draws):
                    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
