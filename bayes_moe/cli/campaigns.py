"""Whole campaigns: ``campaign`` runs the closed loop (propose, execute, record, refit) on a workspace;
``benchmark-design`` runs it on simulated worlds to compare what each design strategy spends to pin r*.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from bayes_moe import config
from bayes_moe.cli.fitting import SAMPLERS, fit_options, sampling_flags
from bayes_moe.cli.output import emit, table, workspace_path
from bayes_moe.errors import InputError
from bayes_moe.executors import DEFAULT_EXECUTOR, EXECUTORS
from bayes_moe.forms import DEFAULT_FORM, FORM_CHOICES
from bayes_moe.strategy_names import DEFAULT_STRATEGY, STRATEGY_NAMES

# campaign's Slurm flags -> [slurm] keys of campaign.toml (the flags win)
SLURM_FLAGS = {"partition": "partition", "account": "account", "gpus_per_job": "gpus_per_job",
               "time_limit_min": "time_limit_min", "max_jobs": "max_jobs", "retries": "retries"}
TRAINER_FLAGS = ("gpus", "gpus_per_run", "slots", "nproc")


def _executor(args: argparse.Namespace):
    """The executor the flags ask for; a flag of another executor is refused, not ignored."""
    from bayes_moe.executors import make_executor

    given = {flag for flag in (*TRAINER_FLAGS, *SLURM_FLAGS) if getattr(args, flag) not in (None, False)}
    foreign = given - set(TRAINER_FLAGS if args.executor == "trainer" else SLURM_FLAGS if args.executor == "slurm"
                          else ())
    if foreign:
        flags = ", ".join(sorted("--" + flag.replace("_", "-") for flag in foreign))
        raise InputError(f"{flags}: not a setting of --executor {args.executor}")
    trainer_config = None
    if args.config:
        from bayes_moe.train.loop import read_config

        trainer_config = read_config(args.config)
    if args.executor == "trainer":
        options = {flag: getattr(args, flag) for flag in TRAINER_FLAGS if getattr(args, flag) is not None}
        return make_executor("trainer", device=args.device, config=args.config, corpus=args.corpus, **options)
    if args.executor == "slurm":
        settings = {**config.load_campaign(workspace_path(args)).slurm,
                    **{key: getattr(args, flag) for flag, key in SLURM_FLAGS.items() if getattr(args, flag) is not None}}
        return make_executor("slurm", payload=args.payload, settings=settings, device=args.device,
                             config=trainer_config, corpus=args.corpus)
    return make_executor(args.executor)


def _cmd_campaign(args: argparse.Namespace) -> None:
    from bayes_moe.executors.batch import execute_queue

    if (args.rounds is None) == (not args.execute_only):
        raise InputError("campaign needs --rounds N, or --execute-only (not both)")
    executor = _executor(args)
    if args.execute_only:
        executed, failed = execute_queue(workspace_path(args), executor)
        emit(args, {"executed": executed, "failed": failed},
             f"executed {len(executed)} queued run(s), {len(failed)} failed" + (f": {failed}" if failed else ""))
        return
    from bayes_moe.campaign import run_campaign  # PyMC and BoTorch load only for the closed loop

    result = run_campaign(workspace_path(args), executor, rounds=args.rounds, batch=args.batch,
                          strategy=args.strategy, fit_options={**fit_options(args), "progressbar": False},
                          seed=args.seed, progress=not args.json, refit_each=args.refit_each)
    rows = [{"round": r.index, "runs": len(r.executed), "failed": len(r.failed),
             "compute_spent": r.after.compute_spent, "r*_half_width": r.after.half_width,
             "converged": r.after.converged} for r in result.rounds]
    payload = {"stopped": result.stopped, "start": dataclasses.asdict(result.start),
               "rounds": [dataclasses.asdict(r) for r in result.rounds]}
    text = (table(rows, list(rows[0])) + "\n\n" if rows else "") + f"stopped: {result.stopped}"
    if result.final.intervals:
        text += "\n\nr* at the targets (90% interval):\n" + table(
            result.final.intervals, ["compute", "sparsity", "median", "lower", "upper", "half_width"])
    emit(args, payload, text)


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
    p = command("campaign", _cmd_campaign, "the closed loop: propose, execute, record, refit", reports=True)
    p.add_argument("--rounds", type=int, help="rounds of propose -> execute -> refit")
    p.add_argument("--execute-only", action="store_true",
                   help="execute the queued (proposed or running) runs with the executor, then stop: no fit, "
                        "no proposals (e.g. a GPU machine without PyMC)")
    p.add_argument("--batch", type=int, default=1, help="runs proposed per round")
    p.add_argument("--executor", choices=EXECUTORS, default=DEFAULT_EXECUTOR,
                   help=f"who runs the runs: {', '.join(EXECUTORS)} ({DEFAULT_EXECUTOR}; docs/campaign.md)")
    p.add_argument("--strategy", choices=STRATEGY_NAMES, default=DEFAULT_STRATEGY,
                   help=f"how runs are chosen ({DEFAULT_STRATEGY})")
    p.add_argument("--refit-each", action="store_true",
                   help="also refit after each run as it arrives (default: once a round's batch is in)")
    sampling_flags(p, choices=SAMPLERS, help="NUTS backend of the refits (nutpie)")
    trainer = p.add_argument_group("trainer and slurm executors")
    trainer.add_argument("--gpus", help="trainer: all, or GPU ids like 0,1,2,3: one run per GPU (group) at a time")
    trainer.add_argument("--gpus-per-run", type=int, help="trainer with --gpus: GPUs per run, through torchrun (1)")
    trainer.add_argument("--slots", type=int, help="trainer without --gpus: runs side by side, unpinned (1)")
    trainer.add_argument("--nproc", type=int, help="trainer without --gpus: processes per run through torchrun (1)")
    trainer.add_argument("--device", choices=("cpu", "cuda"), help="the runs' device (default: cuda if available)")
    trainer.add_argument("--config", type=Path, help="TOML of trainer settings for every run")
    trainer.add_argument("--corpus", type=Path, help="token shards with manifest.json, or a folder of .txt files")
    slurm = p.add_argument_group("slurm executor (defaults: [slurm] of campaign.toml)")
    slurm.add_argument("--payload", choices=("trainer", "simulator"), default="trainer",
                       help="what each job runs (trainer)")
    slurm.add_argument("--partition")
    slurm.add_argument("--account")
    slurm.add_argument("--gpus-per-job", type=int)
    slurm.add_argument("--time-limit-min", type=int)
    slurm.add_argument("--max-jobs", type=int, help="jobs in flight at most (32)")
    slurm.add_argument("--retries", type=int, help="resubmissions of a job the scheduler killed (0)")
    p = command("benchmark-design", _cmd_benchmark_design, "simulated campaigns: compute each design strategy "
                "spends to pin r* at the targets", reports=True)
    p.add_argument("--worlds", nargs="+", default=["paper", "two-term"],
                   help="simulated worlds (paper two-term; also two-term-qs, the experts' exponent varying with sparsity)")
    p.add_argument("--strategies", nargs="+", default=["active", "grid", "sobol", "max-variance"])
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
    p.add_argument("--out", default="experiments/benchmarks", help="folder for design_benchmark.json|md")
