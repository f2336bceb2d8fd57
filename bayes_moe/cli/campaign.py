"""``campaign``: the closed loop on a workspace (execute what is queued, refit, stop when r* is pinned at the
targets or the budget is spent, else propose and execute), with the executor its flags ask for."""

from __future__ import annotations

import argparse
import dataclasses

from bayes_moe import config
from bayes_moe.cli.flags import SAMPLERS, fit_options, sampling_flags, trainer_flags
from bayes_moe.cli.output import emit, table, workspace_path
from bayes_moe.errors import InputError
from bayes_moe.executors import DEFAULT_EXECUTOR, EXECUTORS
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
        from bayes_moe.train.settings import read_config

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
    trainer_flags(trainer)
    slurm = p.add_argument_group("slurm executor (defaults: [slurm] of campaign.toml)")
    slurm.add_argument("--payload", choices=("trainer", "simulator"), default="trainer",
                       help="what each job runs (trainer)")
    slurm.add_argument("--partition")
    slurm.add_argument("--account")
    slurm.add_argument("--gpus-per-job", type=int)
    slurm.add_argument("--time-limit-min", type=int)
    slurm.add_argument("--max-jobs", type=int, help="jobs in flight at most (32)")
    slurm.add_argument("--retries", type=int, help="resubmissions of a job the scheduler killed (0)")
