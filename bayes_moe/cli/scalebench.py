"""``pool-next`` (the next runs from a pool of candidates, for any law file) and ``benchmark-scalebench``
(ScaleBench's protocol on a task folder); docs/scalebench.md. Neither needs a workspace."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from bayes_moe.cli.output import emit, fmt, positive, table
from bayes_moe.errors import InputError
from bayes_moe.strategy_names import BOXES, DESIGN_DRAWS, DISCREPANCY_MEANS, POOL_CRITERIA

CRITERION_NAMES = {"variance": "variance reduction", "information": "information"}
CRITERION_HELP = ("a run's value: the variance it removes at the targets, summed (variance), or the information it "
                  "carries about them, each target's reduction relative to its variance left (information, EPIG-style)")
DESIGN_DRAWS_HELP = ("where the selection's posterior draws go through the law itself, not its linearization at each "
                     "mode: in a fit whose runs partly determine the law (the default), in one of fewer runs than "
                     "parameters, in every fit, or never; scored fits and intervals stay linearized")
LEARNT_HELP = ("the intervals' discrepancy of --discrepancy's prior sd everywhere (default: of the prior sd the fit's "
               "residuals show where they show smooth structure, by type-II maximum likelihood kept where a likelihood "
               "ratio test passes; the selection's is --discrepancy's either way)")
MEAN_HELP = ("where the predictions add the law's discrepancy's posterior mean given the fit's residuals (Kennedy and "
             "O'Hagan's prediction): where the residuals showed the discrepancy (the default; see "
             "--no-learnt-discrepancy), wherever there is one, or never (the law's best fit alone)")
LOO_HELP = ("where the residuals show the discrepancy, keep the intervals' noise and discrepancy as learnt (default: "
            "both scaled by the factor that maximises the residuals' leave-one-out predictive likelihood)")
BOXES_HELP = ("where each flat parameter box enters the MAP search as a Gaussian of its centre and sd: in a fit of fewer "
              "runs than the law has parameters (the default), in no fit, or in every fit")
NOISE_TREND_HELP = ("the noise sd a log-linear function of each run's log cost, fitted where the residuals show one "
                    "(a likelihood ratio test)")

def _cmd_benchmark(args: argparse.Namespace) -> None:
    from bayes_moe.benchmarks import scalebench

    rows = scalebench.summarise(scalebench.read_log(args.summarise)) if args.summarise else _run_benchmark(args)
    if not rows:
        raise InputError(f"{args.summarise}: no finished campaign to summarise")
    text = (f"ScaleBench task {rows[0]['task']}: {rows[0]['laws']} law forms x {rows[0]['seeds']} seed(s), "
            f"R^2 on the targets (mean over forms and seeds; std across forms)\n"
            + table([{**r, "budget": f"{r['budget']:g}"} for r in rows],
                    ["budget", "strategy", "r2_mean", "r2_std", "coverage90", "width90", "wall_s", "cpu_s"]))
    emit(args, rows, text)


def _run_benchmark(args: argparse.Namespace) -> list[dict]:
    from bayes_moe.benchmarks import scalebench
    from bayes_moe.pooltask import find_task, load_task

    if not args.task:
        raise InputError("benchmark-scalebench needs --task (or --summarise LOG)")
    task = load_task(find_task(args.task))
    budgets = sorted(args.budget) if args.budget else None
    if budgets and any(not 0 < b <= 1 for b in budgets):
        raise InputError(f"--budget {args.budget}: shares of the pool's cost must be in (0, 1]")
    names = [law.name for law in task.laws]
    unknown = [name for name in args.laws or () if name not in names]
    if unknown:
        raise InputError(f"--laws {' '.join(unknown)}: task {task.name} has {', '.join(names)}")
    laws = [names.index(name) for name in args.laws] if args.laws else None
    settings = scalebench.Settings(starts=args.starts, cost_power=args.cost_power, final_starts=args.final_starts,
                                   first_design=args.first_design, discrepancy=_amplitude(args),
                                   learnt_discrepancy=args.learnt_discrepancy, discrepancy_mean=args.discrepancy_mean,
                                   loo_scale=args.loo_scale, polish=args.polish,
                                   noise_trend=args.noise_trend, discrepancy_over_pool=args.discrepancy_over_pool,
                                   first_design_spread=args.first_design_spread, boxes=args.boxes,
                                   design_draws=args.design_draws, criterion=args.criterion,
                                   bagged=args.bagged, bag_min_runs=args.bag_min_runs)
    log = open(args.log, "a") if args.log else None  # noqa: SIM115 - closed below, written as campaigns end

    def record(campaign: dict):
        log.write(json.dumps(campaign) + "\n")
        log.flush()

    try:
        return scalebench.benchmark(task, seeds=args.seeds, strategies=args.strategies, budgets=budgets,
                                    settings=settings, workers=args.workers, laws=laws,
                                    on_campaign=record if log else None)
    finally:
        if log:
            log.close()


def _amplitude(args: argparse.Namespace) -> float:
    """``--discrepancy``, by default ``discrepancy.AMPLITUDE``; a negative one is refused."""
    from bayes_moe.discrepancy import AMPLITUDE

    if args.discrepancy is not None and args.discrepancy < 0:
        raise InputError(f"--discrepancy {args.discrepancy}: an sd cannot be negative")
    return AMPLITUDE if args.discrepancy is None else args.discrepancy


def _cmd_pool_next(args: argparse.Namespace) -> None:
    from bayes_moe.pool_next import propose
    from bayes_moe.pooltask import read_table
    from bayes_moe.userlaw import load_law

    plot_format = args.plot and Path(args.plot).suffix.lstrip(".").lower()
    if plot_format not in (None, "png", "svg", "pdf"):
        raise InputError(f"--plot {args.plot}: name a .png, .svg or .pdf file")
    law = load_law(args.law)
    targets = read_table(Path(args.targets))
    proposal = propose(law, read_table(Path(args.pool)), targets, args.cost,
                       budget=math.inf if args.budget is None else args.budget, batch=args.batch,
                       cost_power=args.cost_power, criterion=args.criterion, starts=args.starts,
                       discrepancy=_amplitude(args), learnt_discrepancy=args.learnt_discrepancy,
                       discrepancy_mean=args.discrepancy_mean, loo_scale=args.loo_scale, noise_trend=args.noise_trend,
                       design_draws=args.design_draws, seed=args.seed,
                       pool_name=args.pool, targets_name=args.targets)
    candidates, columns = proposal.candidates, list(law.inputs.values())
    shown = ["output"] * (len(law.outputs) > 1) + ["predicted", "lower90", "upper90"]
    none_fits = (f" (none costs {fmt(args.budget)} or less: the cheapest costs {fmt(proposal.costs[candidates].min())})"
                 if candidates and not proposal.picks else "")
    text = (f"law {law.name} fitted to {proposal.done.size} runs (Laplace; {_noise_text(proposal.noise)}); next "
            f"{len(proposal.picks)} run(s) of "
            f"{len(candidates)} candidates{none_fits}, by {CRITERION_NAMES[args.criterion]} at the targets per unit cost\n"
            + table([{k: fmt(v) for k, v in r.items()} for r in proposal.next], ["row", *columns, "cost", *shown])
            + f"\n\n{', '.join(law.outputs)} at the targets ({_predicted(proposal)}, 90% predictive interval; "
            f"{_discrepancy(proposal)})\n"
            + table([{k: fmt(v) for k, v in r.items()} for r in proposal.at_targets], ["row", *columns, *shown]))
    if args.plot:
        _save_figure(proposal, targets, args, plot_format)
    emit(args, {"law": law.name, "runs_done": int(proposal.done.size), "noise_sd": proposal.noise, "next": proposal.next,
                "targets": proposal.at_targets, "discrepancy_sd": proposal.discrepancy_sd,
                "discrepancy_learnt": proposal.discrepancy_learnt, "discrepancy_mean": proposal.discrepancy_mean}, text)


def _noise_text(noise: dict) -> str:
    """``pool_next.noise_summary`` on the fit's line."""
    where = "the prior's: no more observations than parameters" if noise["prior"] else "from the residuals"
    text = f"noise sd {fmt(noise['median'])} [{fmt(noise['lower90'])}, {fmt(noise['upper90'])}], {where}"
    if noise["prior_too_narrow"] is not None:
        text += (f"; the residuals' rms {fmt(noise['prior_too_narrow'])} is beyond the noise_sd prior's 99th "
                 "percentile: widen it in the law file")
    return text


def _predicted(proposal) -> str:
    """What the targets' predictions are: a user reads whether the law alone or the law and its discrepancy."""
    return "best fit plus the discrepancy's posterior mean" if proposal.discrepancy_mean else "best fit"


def _discrepancy(proposal) -> str:
    """How large the intervals take the law's own error to be: a user's sign of a law that misfits its runs."""
    if not proposal.discrepancy_sd:
        return "no discrepancy"
    how = "learnt from the residuals" if proposal.discrepancy_learnt else "assumed"
    return f"the law's discrepancy {fmt(proposal.discrepancy_sd)} noise sds, {how}"


def _save_figure(proposal, targets, args: argparse.Namespace, plot_format: str) -> None:
    """``--plot``: the proposal against each run's cost (``pool_plots.proposal_figure``; with the targets' observed
    outputs where their table has them all, as a benchmark's does), in ``plot_format`` (the file's suffix),
    written whole or not at all."""
    import matplotlib
    import pandas as pd

    matplotlib.use("Agg")
    from bayes_moe.files import replacing
    from bayes_moe.pool_plots import proposal_figure

    law = proposal.law
    observed = (np.column_stack([pd.to_numeric(targets[o], errors="coerce") for o in law.outputs]).ravel()
                if all(o in targets for o in law.outputs) else None)
    truth = observed if observed is not None and np.isfinite(observed).all() else None
    figure = proposal_figure(proposal, f"cost ({args.cost})", truth=truth)
    with replacing(args.plot, binary=True) as handle:
        figure.savefig(handle, format=plot_format, dpi=120)


def register(command) -> None:
    p = command("pool-next", _cmd_pool_next, "next runs from a pool of candidates for a law file, and intervals "
                "at the targets", reports=True)
    p.add_argument("--law", required=True, help="law file (docs/scalebench.md)")
    p.add_argument("--pool", required=True, help="CSV of runs: done ones have the law's output, candidates leave it empty")
    p.add_argument("--targets", required=True, help="CSV of the points to predict (the law's inputs)")
    p.add_argument("--cost", required=True, help="each run's cost, an expression over the pool's columns ('N * D')")
    p.add_argument("--budget", type=positive(float), help="cost the batch may spend (default: no limit)")
    p.add_argument("--batch", type=positive(int), default=1, help="runs to propose (1)")
    p.add_argument("--cost-power", type=float, default=1.0, help="acquisition per cost**POWER (1: per unit cost)")
    p.add_argument("--criterion", choices=POOL_CRITERIA, default="variance", help=CRITERION_HELP)
    p.add_argument("--starts", type=positive(int), default=16, help="random starts of the MAP search (16)")
    p.add_argument("--discrepancy", type=float,
                   help="prior sd of the law's discrepancy at the targets, in noise sds (default 0.5; 0: none)")
    p.add_argument("--no-learnt-discrepancy", dest="learnt_discrepancy", action="store_false", help=LEARNT_HELP)
    p.add_argument("--discrepancy-mean", choices=DISCREPANCY_MEANS, default=DISCREPANCY_MEANS[0], help=MEAN_HELP)
    p.add_argument("--no-loo-scale", dest="loo_scale", action="store_false", help=LOO_HELP)
    p.add_argument("--noise-trend", action="store_true", help=NOISE_TREND_HELP + "; the targets' costs by --cost "
                   "(default: one noise sd)")
    p.add_argument("--design-draws", choices=DESIGN_DRAWS, default=DESIGN_DRAWS[0], help=DESIGN_DRAWS_HELP
                   + " (partly: from half an observation per parameter)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", metavar="FILE", help="also draw the runs done, the proposed runs and the targets' 90%% "
                   "intervals against cost into FILE (.png, .svg or .pdf)")

    b = command("benchmark-scalebench", _cmd_benchmark, "ScaleBench's protocol on a task folder: active vs random "
                "vs cost-random, R^2 and coverage at the targets", reports=True)
    b.add_argument("--task", help="task folder, or a task under experiments/scalebench/")
    b.add_argument("--budget", type=float, nargs="+", help="budget share(s) of the pool's cost (default: the task's)")
    b.add_argument("--seeds", type=positive(int), default=3, help="repeats per law form (3)")
    b.add_argument("--laws", nargs="+", help="only these law forms, by name (default: all of the task's)")
    b.add_argument("--strategies", nargs="+", default=["active", "random", "cost_random"],
                   choices=["active", "random", "cost_random"])
    b.add_argument("--cost-power", type=float, default=1.0, help="active: acquisition per cost**POWER (1)")
    b.add_argument("--criterion", choices=POOL_CRITERIA, default="variance", help="active: " + CRITERION_HELP)
    b.add_argument("--starts", type=positive(int), default=8, help="random starts of a campaign's first fit (8)")
    b.add_argument("--first-design", type=positive(float, or_zero=True), default=0.5,
                   help="active: the cheapest runs until this many observations per law parameter, then selection (0.5)")
    b.add_argument("--final-starts", type=positive(int, or_zero=True), default=0, help="random starts of the fit scored at each budget, "
                   "besides the last fit's modes (0: as a refit, 2)")
    b.add_argument("--discrepancy", type=float,
                   help="active: prior sd of the law's discrepancy at the targets, in noise sds (default 0.5; 0: none)")
    b.add_argument("--no-learnt-discrepancy", dest="learnt_discrepancy", action="store_false", help=LEARNT_HELP)
    b.add_argument("--discrepancy-mean", choices=DISCREPANCY_MEANS, default=DISCREPANCY_MEANS[0], help=MEAN_HELP)
    b.add_argument("--no-loo-scale", dest="loo_scale", action="store_false", help=LOO_HELP)
    b.add_argument("--no-polish", dest="polish", action="store_false",
                   help="score the fits as the refits are searched, without running the best start on")
    b.add_argument("--discrepancy-over-pool", action="store_true",
                   help="active: the discrepancy's inducing points cover the pool too, not the targets alone")
    b.add_argument("--first-design-spread", action="store_true",
                   help="active: the first design takes cheap runs that vary every input, not the cheapest runs")
    b.add_argument("--boxes", choices=BOXES, default=BOXES[0], help=BOXES_HELP)
    b.add_argument("--design-draws", choices=DESIGN_DRAWS, default=DESIGN_DRAWS[0], help="active: " + DESIGN_DRAWS_HELP
                   + " (partly: from --first-design observations per parameter)")
    b.add_argument("--no-noise-trend", dest="noise_trend", action="store_false",
                   help="one noise sd for all runs (default: " + NOISE_TREND_HELP + ")")
    b.add_argument("--bagged", type=positive(int, or_zero=True), default=0, metavar="N",
                   help="score the median of the law at the targets over N fits to bootstrap resamples of the picks, "
                        "not the MAP (0: the MAP)")
    b.add_argument("--bag-min-runs", type=positive(int), default=1, metavar="M",
                   help="with --bagged, bag only a fit of at least M runs (1)")
    b.add_argument("--workers", type=positive(int), default=1, help="processes (1)")
    b.add_argument("--log", help="append each campaign's scores to this file as a JSON line when it ends "
                   "(a long benchmark's partial results)")
    b.add_argument("--summarise", metavar="LOG", help="summarise the campaigns of a --log file (the law forms "
                   "finished for every strategy and seed) instead of running")
