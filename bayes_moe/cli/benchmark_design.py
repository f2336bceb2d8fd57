"""``benchmark-design``: simulated campaigns against a known truth, the compute each design strategy spends to
pin r* at the targets (docs/design.md)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from bayes_moe import config
from bayes_moe.cli.output import emit
from bayes_moe.forms import DEFAULT_DISCREPANCY, DEFAULT_FORM, DISCREPANCIES, FORM_CHOICES
from bayes_moe.strategy_names import STRATEGY_NAMES


def _cmd_benchmark_design(args: argparse.Namespace) -> None:
    import time

    from bayes_moe.benchmarks import design as bench  # PyMC and BoTorch load only for this command

    campaign = config.load_campaign(args.campaign) if args.campaign else config.Campaign()
    if args.target_width is not None:
        campaign = dataclasses.replace(campaign, target_width=args.target_width)
    settings = bench.Settings(worlds=tuple(args.worlds), strategies=tuple(args.strategies), seeds=args.seeds,
                              batch=args.batch, initial=args.initial, max_runs=args.max_runs,
                              compute_cap=args.compute_cap, draws=args.draws, chains=args.chains,
                              form=args.form or campaign.form,
                              discrepancy=args.discrepancy or campaign.discrepancy,
                              frontier=campaign.frontier,
                              hinge_scale=campaign.hinge_scale if args.hinge_scale is None else args.hinge_scale,
                              top_picks=campaign.top_picks if args.top_picks is None else args.top_picks,
                              campaign=campaign)
    started = time.perf_counter()

    def report(outcomes):
        print(bench.describe(outcomes[-1]), file=sys.stderr, flush=True)
        bench.write(outcomes, settings, Path(args.out), time.perf_counter() - started)

    def progress(line):
        if not args.json:
            print(line, file=sys.stderr, flush=True)

    outcomes = bench.run(settings, report, progress)
    summary = bench.summarise(outcomes)
    emit(args, summary, bench.markdown(summary, bench.config_of(settings), time.perf_counter() - started))


def register(command) -> None:
    # the defaults are those of benchmarks.design.Settings, written out so that --help imports neither PyMC nor
    # BoTorch
    # (tests/test_cli_defaults.py checks that they agree)
    p = command("benchmark-design", _cmd_benchmark_design, "simulated campaigns: compute each design strategy "
                "spends to pin r* at the targets", reports=True)
    p.add_argument("--worlds", nargs="+", default=["paper", "two-term"],
                   help="simulated worlds (paper two-term; also two-term-qs, the experts' exponent varying with sparsity, and "
                        "bending, the law holding only from 1e18 FLOPs up)")
    p.add_argument("--strategies", nargs="+", choices=STRATEGY_NAMES, metavar="STRATEGY",
                   default=["active", "grid", "sobol", "max-variance"],
                   help=f"strategies to compare, among {', '.join(STRATEGY_NAMES)} (active grid sobol max-variance)")
    p.add_argument("--seeds", type=int, default=3, help="campaigns per world and strategy (3)")
    p.add_argument("--batch", type=int, default=4, help="runs per round (4)")
    p.add_argument("--initial", type=int, default=8, help="space-filling first batch (8)")
    p.add_argument("--max-runs", type=int, default=120, help="runs per campaign at most (120)")
    p.add_argument("--compute-cap", type=float, help="FLOPs per campaign at most (default: the campaign budget)")
    p.add_argument("--target-width", type=float, help="relative half-width to reach (default: the campaign's)")
    p.add_argument("--campaign", help="campaign .toml or workspace (default: the built-in default campaign)")
    p.add_argument("--draws", type=int, default=300, help="posterior draws (and tuning steps) per chain per fit")
    p.add_argument("--chains", type=int, default=2)
    p.add_argument("--form", choices=FORM_CHOICES,
                   help=f"the r* law every fit assumes (auto: power or two-term, as PSIS-LOO prefers); default: "
                        f"the campaign's [model] form, else {DEFAULT_FORM}")
    p.add_argument("--discrepancy", choices=DISCREPANCIES,
                   help=f"hinges: log r* may bend from the law below the top of the runs' compute (docs/model.md); "
                        f"default: the campaign's [model] discrepancy, else {DEFAULT_DISCREPANCY}")
    p.add_argument("--hinge-scale", type=float,
                   help="the hinges' prior scale, tau ~ HalfNormal(scale), wider where the law is expected to hold "
                        "only near the top of the runs' compute (default: the campaign's [model] hinge_scale, "
                        "else 0.03)")
    p.add_argument("--top-picks", type=int,
                   help="active, max-variance: picks per batch kept near the largest compute, each at the target "
                        "sparsity with the fewest runs there, taking turns between windows down a half decade and "
                        "a decade and a half (default: the campaign's "
                        "[space] top_picks, else 0)")
    p.add_argument("--out", default="experiments/benchmarks", help="folder for design_benchmark.json|md")
