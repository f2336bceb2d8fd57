"""Which inference for pool selection: the Laplace mixture (linearized or not) against NUTS (nutpie), mean-field
ADVI and sequential Monte Carlo (PyMC's), by 90% coverage of the target rows, R^2 and wall time, on ScaleBench
tasks (docs/scalebench.md).

For each task, law form and seed: the runs a cost-random campaign holds at the task's middle budget
(``benchmarks.scalebench``), then each inference on exactly those runs, scored at the targets (the Laplace fits by
their MAP, the others by the posterior median of the law; intervals from each one's draws with its noise).

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


METHODS = ("laplace", "laplace-nonlinear", "nuts", "advi", "smc")


def sampled_interval(method, law, features, y, target_features, seed, draws):
    """The posterior median of the law at the targets and its 90% predictive interval, from ``method``'s draws of
    the law's PyMC model (``nuts``: 2 chains of ``draws`` after as many tuning steps; ``advi``: ``draws`` draws;
    ``smc``: 2 populations of ``draws`` particles)."""
    model = law.pymc_model({column: features[symbol] for symbol, column in law.inputs.items()}, observed=y)
    if method == "nuts":
        idata = sampling.sample(model, draws=draws, tune=draws, chains=2, seed=seed, progressbar=False)
    else:
        idata = sampling.approximate(model, method=method, draws=draws, seed=seed)
    posterior = idata.posterior.stack(sample=("chain", "draw"))
    theta = np.stack([posterior[name].values for name in law.parameter_names], axis=1)
    sigma = posterior["sigma"].values
    rng = np.random.default_rng(seed)
    predictive = law.predict(theta, target_features) + sigma[:, None] * rng.standard_normal((len(sigma), 1))
    tail = (1 - LEVEL) / 2
    median = np.median(law.predict(theta, target_features), axis=0)
    return median, np.quantile(predictive, tail, axis=0), np.quantile(predictive, 1 - tail, axis=0)


def measure(task_name: str, law_index: int, seed: int, draws: int, methods=METHODS) -> list[dict]:
    task = load_task(find_task(task_name))
    law = task.laws[law_index]
    budget = task.budgets[len(task.budgets) // 2]
    y_targets = law.observed(task.targets).reshape(len(task.targets), -1)
    parts = {name: ([], [], [], []) for name in methods}
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
            if name in ("nuts", "advi", "smc"):
                mean, lower, upper = sampled_interval(name, law, features, y, campaign.target_features, seed, draws)
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
    parser.add_argument("--draws", type=int, default=500,
                        help="NUTS: draws (and tuning steps) per chain, 2 chains; ADVI: draws; SMC: particles a chain")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    args = parser.parse_args(argv)
    for task_name in args.tasks:
        for k in range(args.laws):
            for seed in range(args.seeds):
                for row in measure(task_name, k, seed, args.draws, args.methods):
                    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
