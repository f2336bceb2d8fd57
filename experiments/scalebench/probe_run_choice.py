"""Which runs the active strategy buys at one budget, and what a change of its settings does to them.

Runs the active campaigns of one task at one budget (every form, ``--seeds`` seeds, the first group) with
``benchmark.scalebench.Settings`` overridden by ``NAME=VALUE`` pairs, and prints per form the mean R^2 and,
per campaign, how many runs the first design took and how many the selection bought, each with how many of
them sit at the pool's cheapest cost (docs/scalebench_record.md, "The run choice at the smallest budgets"), and at
each selection step the fit's ``nonlinearity`` (``laplace.LaplaceFit.nonlinearity``) at the targets and at the
runs it holds.
``--ratio-only`` never compares the plan by value alone (``design.pool``'s plans to the budget's end).

    python experiments/scalebench/probe_run_choice.py lr_bsz 0.01 --seeds 3 first_design=0
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import time
from unittest import mock

import numpy as np

from bayes_moe.benchmarks import scalebench
from bayes_moe.design import pool
from bayes_moe.pooltask import find_task, load_task


def settings_from(pairs: list[str]) -> scalebench.Settings:
    """``Settings`` with ``NAME=VALUE`` overrides, each value read as its field's type."""
    defaults = scalebench.Settings()
    overrides = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        current = getattr(defaults, name)  # AttributeError names an unknown setting
        overrides[name] = value in ("1", "true", "True") if isinstance(current, bool) else type(current)(value)
    return dataclasses.replace(defaults, **overrides)


def probe(task, budget: float, seeds: int, settings: scalebench.Settings, laws=None) -> dict:
    """``{form: {r2, campaigns: [{seed, r2, first, first_cheapest, selected, selected_cheapest, nonlinearity}]}}``."""
    rows, target_rows = task.groups()[0]
    cheapest = task.costs[rows].min()
    out = {}
    for k, law in enumerate(task.laws):
        if laws and law.name not in laws:
            continue
        y_targets = law.observed(task.targets).reshape(len(task.targets), -1)[target_rows].ravel()
        campaigns = []
        for seed in range(seeds):
            selected, nonlinearity = [], []
            real = pool.select_batch

            def counted(*args, **kwargs):
                picks = real(*args, **kwargs)
                selected.append(len(picks))
                at_runs = {k: v[campaign.chosen] for k, v in campaign.features.items()}
                nonlinearity.append([round(campaign.fit.nonlinearity(f), 3) for f in (campaign.target_features, at_runs)])
                return picks

            campaign = scalebench.GroupCampaign(task, law, rows, target_rows, "active",
                                                np.random.default_rng([seed, k, 0]), settings)
            with mock.patch.object(pool, "select_batch", counted):
                campaign.advance(budget)
            chosen = np.array(campaign.chosen, dtype=int)
            first, bought = chosen[:len(chosen) - sum(selected)], chosen[len(chosen) - sum(selected):]
            predicted = law.predict(campaign.fit.best, campaign.target_features)[0]
            r2 = scalebench.scores(budget, [predicted], [predicted], [predicted], [y_targets])["r2"]
            campaigns.append({"seed": seed, "r2": r2, "first": len(first),
                              "first_cheapest": int(np.sum(task.costs[first] == cheapest)),
                              "selected": len(bought), "selected_cheapest": int(np.sum(task.costs[bought] == cheapest)),
                              "nonlinearity": nonlinearity})
        out[law.name] = {"r2": float(np.mean([c["r2"] for c in campaigns])), "campaigns": campaigns}
    return out


def probe_parser(description: str) -> argparse.ArgumentParser:
    """The arguments of this folder's probes: a task, a budget, ``Settings`` overrides, ``--seeds``, ``--laws``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("task")
    parser.add_argument("budget", type=float)
    parser.add_argument("overrides", nargs="*", help="Settings fields, NAME=VALUE")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--laws", nargs="+")
    return parser


def parse_probe(parser: argparse.ArgumentParser, argv) -> tuple[argparse.Namespace, scalebench.Settings]:
    """The parsed arguments and the ``Settings`` they override (an unknown setting: one error line, exit code 2)."""
    args = parser.parse_intermixed_args(argv)
    try:
        return args, settings_from(args.overrides)
    except (AttributeError, ValueError) as error:
        parser.error(f"settings {' '.join(args.overrides)}: {error}")


def main(argv=None) -> int:
    parser = probe_parser(__doc__.splitlines()[0])
    parser.add_argument("--ratio-only", action="store_true", help="never compare the plan by value alone")
    args, settings = parse_probe(parser, argv)
    task = load_task(find_task(args.task))
    start = time.process_time()
    ratio_only = mock.patch.object(pool, "_may_spend_out", lambda costs, budget_left: False)
    with ratio_only if args.ratio_only else contextlib.nullcontext():
        forms = probe(task, args.budget, args.seeds, settings, args.laws)
    print(json.dumps({"task": task.name, "budget": args.budget, "overrides": args.overrides, "ratio_only": args.ratio_only,
                      "r2_mean": float(np.mean([c["r2"] for f in forms.values() for c in f["campaigns"]])),
                      "cpu_s": time.process_time() - start, "forms": forms}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
