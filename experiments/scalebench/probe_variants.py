"""Active campaigns of several setting variants at once, over every core, stopped at a wall-time limit.

For a machine with many cores and a hard limit per command (the lent GPU machines' 16 CPU cores, 10 minutes a
call): every (variant, task, seed, law form) is one job of ``benchmarks.scalebench.run_campaign`` (every group,
scored as the benchmark scores), and each finished job is appended at once to ``OUT/VARIANT_TASK.jsonl`` in the
benchmark's log format (``seed_spread.py`` and ``benchmark-scalebench --summarise`` read it), so a run cut by
the limit keeps what finished. A variant is ``NAME:`` followed by comma-separated ``Settings`` overrides
(``FIELD=VALUE``) and V-opt's pieces of ``probe_vopt_posterior.patched`` (``log_prior``, ``pool_noise``,
``polish_refits``, ``horizon=H``).

    python experiments/scalebench/probe_variants.py OUT --wall 540 --tasks moe lr_bsz --budgets task --seeds 10 \\
        base: pol:polish_refits s64:starts=64,restarts=64,final_starts=64
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time
from functools import cache
from pathlib import Path

from bayes_moe.benchmarks import scalebench
from bayes_moe.pooltask import find_task, load_task
from probe_run_choice import settings_from
from probe_vopt_posterior import patched


def parse_variant(spec: str) -> tuple[str, list[str], list[str], float | None]:
    """``NAME:a=1,flag,horizon=0.1`` as (name, Settings overrides, flags, horizon)."""
    name, _, rest = spec.partition(":")
    items = [item for item in rest.split(",") if item]
    horizon = next((float(item.partition("=")[2]) for item in items if item.startswith("horizon=")), None)
    overrides = [item for item in items if "=" in item and not item.startswith("horizon=")]
    return name, overrides, [item for item in items if "=" not in item], horizon


@cache
def _task(name: str):
    return load_task(find_task(name))


def job(arguments) -> dict:
    """One campaign, ``(spec, task name, law index, seed, budgets)``, as a benchmark log record with the variant's
    name."""
    spec, task_name, law_index, seed, budgets = arguments
    variant, overrides, flags, horizon = parse_variant(spec)
    task = _task(task_name)
    with patched(task, flags, horizon):
        results = scalebench.run_campaign(task, law_index, "active", seed, settings_from(overrides), budgets)
    return {"variant": variant, "task": task.name, "law": task.laws[law_index].name, "strategy": "active",
            "seed": seed, "results": results}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("variants", nargs="+", help="NAME:FIELD=VALUE,...,FLAG")
    parser.add_argument("--tasks", nargs="+", required=True)
    parser.add_argument("--budgets", nargs="+", default=["task"], help="budget shares, or 'task': the task's own")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds FIRST ... FIRST + SEEDS - 1 (0: the record's)")
    parser.add_argument("--wall", type=float, default=540, help="seconds after which unfinished jobs are dropped")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    args = parser.parse_intermixed_args(argv)
    start = time.time()
    budgets = None if args.budgets == ["task"] else [float(b) for b in args.budgets]
    for spec in args.variants:  # a bad variant is one error line (exit code 2), before any job runs
        _, overrides, flags, horizon = parse_variant(spec)
        try:
            settings_from(overrides)
            with patched(_task(args.tasks[0]), flags, horizon):
                pass
        except (AttributeError, ValueError) as error:
            parser.error(f"variant {spec}: {error}")
    jobs = [(spec, task, k, seed, budgets) for task in args.tasks for spec in args.variants
            for seed in range(args.first_seed, args.first_seed + args.seeds) for k in range(len(_task(task).laws))]
    args.out.mkdir(parents=True, exist_ok=True)
    done = 0
    with multiprocessing.Pool(args.workers) as pool:  # leaving the block terminates the jobs still running
        records = pool.imap_unordered(job, jobs)
        while True:
            try:
                record = records.next(timeout=max(0.01, start + args.wall - time.time()))
            except (StopIteration, multiprocessing.TimeoutError):
                break
            with open(args.out / f"{record['variant']}_{record['task']}.jsonl", "a") as log:
                log.write(json.dumps(record) + "\n")
            done += 1
    print(json.dumps({"jobs": len(jobs), "done": done, "wall_s": time.time() - start}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
