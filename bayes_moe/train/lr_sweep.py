"""The GPU check of issue #16: a learning-rate sweep at two sizes and a smoke campaign, both at
T = 20 tokens per active parameter, trained in parallel over the machine's GPUs; and the analysis
that tells whether the batch/lr rule (``train.hparams``) holds.

On the GPU machine (torch, botorch; no PyMC needed), from the repository root::

    python3 -m bayes_moe.train.lr_sweep run --out $OUT --time-limit 420

plans two workspaces under ``--base`` (default /tmp/lr_sweep): ``sweep`` (per compute and ``--r``: one
ladder architecture, r = 1 and S = 0.9538 by default, trained at ``LR_FACTORS`` times the rule's lr, batch
and warmup by the rule) and ``smoke`` (a campaign with ``tokens_per_param = 20`` whose first batch ``next``
proposes by Sobol), trains every run through the trainer pool (``bayes_moe.executors.pool``:
``bayes-moe run ID --executor trainer`` children), ``--per-gpu`` at a time on each GPU (tiny models
leave a GPU mostly idle), the sweep's runs and then the smoke campaign's, each longest first, and
writes ``results.json`` and both ledgers to ``--out`` after every finished run. Runs still going
at ``--time-limit`` are stopped, failed and reported unfinished, never as results. The corpus is the
trainer's: ``$BAYES_MOE_CORPUS`` if set, else ./corpus, else the shipped sample.

Back here: ``python -m bayes_moe.train.lr_sweep analyse experiments/lr_sweep/results.json [more ...]``
prints the sweep per size (the best lr by the mean over the calls' runs, the rule's, their ratio and the
loss gap: the issue's check is a ratio within 2 and a gap within 0.02 nats) and the smoke runs' regime;
copy ``smoke.sqlite`` to a workspace's ``ledger.sqlite`` to fit it (``bayes-moe fit``).
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import math
import os
import sqlite3
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bayes_moe import arch, flops
from bayes_moe.cli import main as cli
from bayes_moe.cli.output import positive
from bayes_moe.errors import InputError
from bayes_moe.executors.batch import run_batch
from bayes_moe.executors.pool import LOGS, TrainerPool
from bayes_moe.ledger import LEDGER_FILE, Ledger, Run
from bayes_moe.train import data, hparams

TOKENS_PER_PARAM = 20.0
SWEEP_COMPUTES = (1e15, 3e15)
LR_FACTORS = (0.25, 0.5, 1.0, 2.0, 4.0)  # times the rule's lr
SWEEP_R, SWEEP_SPARSITY = 1.0, 0.9538
SMOKE_COMPUTE = (1e15, 1e16)
SMOKE_RUNS = 4
SMOKE_SPARSITIES = (0.9091, 0.9538)
SMOKE_R = (0.3, 4.0)
ASSUMED_FLOPS_PER_S = 40e12  # per process, for ordering runs and the printed estimate (tiny models: low MFU)
STARTUP_S = 25.0  # per run: interpreter, imports, corpus checks, evaluation
LOSS_GAP = 0.02  # nats: the rule's loss within this of the sweep's best
LR_RATIO = 2.0  # the rule's lr within this factor of the sweep's best
EXTRA = {"compile": False}  # runs of a minute: compiling would cost about as much as it saves
CHECK = ("rule lr within a factor of 2 of the sweep's best", "its loss within 0.02 nats of the best")


@dataclass(frozen=True)
class Job:
    workspace: Path
    run_id: int
    config: Path | None
    tokens: float
    seconds: float  # estimated


def plan(base: Path, *, computes=SWEEP_COMPUTES, factors=LR_FACTORS, rs=(SWEEP_R,), sparsity=SWEEP_SPARSITY,
         tokens_per_param=TOKENS_PER_PARAM, smoke_compute=SMOKE_COMPUTE, smoke_runs=SMOKE_RUNS,
         extra: dict | None = None) -> list[Job]:
    """Create the ``sweep`` and ``smoke`` workspaces under ``base`` and return their runs as jobs: one
    architecture per compute and r in ``rs`` (does the best lr move with r, and so r*?), each at every
    factor. ``extra`` trainer settings go to every run (the CPU test shrinks the batch and evaluation)."""
    from bayes_moe.design.proposals import propose_next  # BoTorch: only for the smoke campaign's batch

    base.mkdir(parents=True, exist_ok=True)
    extra = dict(extra or {})
    sweep = _workspace(base, "sweep", f"[space]\ntokens_per_param = {tokens_per_param!r}\n"
                                      f"compute = [{min(computes)!r}, {max(computes) * 1.0001!r}]\n"
                                      f"r = [{min(0.5, min(rs) / 2)!r}, {max(2.0, max(rs) * 2)!r}]\n"
                                      f"sparsities = [{sparsity!r}]\n")
    jobs = []
    with Ledger.open(sweep) as ledger:
        for compute, r in itertools.product(computes, rs):
            solved = arch.size_for_compute(r, compute, sparsity, tokens_per_param)
            rule = hparams.learning_rate(compute)
            for factor in factors:
                run_id = ledger.add_run(solved.r, compute, solved.sparsity, arch=solved.to_dict(),
                                        tokens=flops.tokens_for_compute(compute, solved.c_token),
                                        n_active=solved.n_active, n_total=solved.n_total,
                                        label=f"r {r:g} lr x{factor:g}", metrics={"lr_factor": factor, "rule_lr": rule})
                # the rule's own run takes no lr: the trainer's default (train.hparams) is what is checked
                jobs.append(_job(sweep, run_id, solved, compute, extra if factor == 1 else {**extra, "lr": rule * factor}))
    if not smoke_runs:
        return sorted(jobs, key=lambda job: -job.seconds)
    smoke = _workspace(base, "smoke", f"[campaign]\nname = \"smoke\"\n[space]\ntokens_per_param = {tokens_per_param!r}\n"
                                      f"compute = [{smoke_compute[0]!r}, {smoke_compute[1]!r}]\n"
                                      f"r = [{SMOKE_R[0]!r}, {SMOKE_R[1]!r}]\n"
                                      f"sparsities = [{', '.join(map(repr, SMOKE_SPARSITIES))}]\n"
                                      f"[stopping]\ncompute_budget = {10 * smoke_runs * smoke_compute[1]!r}\n")
    proposals, _ = propose_next(smoke, batch=smoke_runs, strategy="sobol", seed=0)
    with Ledger.open(smoke) as ledger:
        for proposal in proposals:
            solved = arch.MoEArch.from_dict(ledger.get(proposal.id).arch)
            jobs.append(_job(smoke, proposal.id, solved, proposal.compute, extra))
    return sorted(jobs, key=lambda job: -job.seconds)


def _workspace(base: Path, name: str, campaign: str) -> Path:
    source = base / "campaigns" / name
    source.mkdir(parents=True, exist_ok=True)
    (source / "campaign.toml").write_text(campaign)
    workspace = base / name
    if cli(["--workspace", str(workspace), "init", "--from", str(source)]) not in (0, None):
        raise RuntimeError(f"could not create the workspace {workspace}")
    return workspace


def _job(workspace: Path, run_id: int, solved: arch.MoEArch, compute: float, settings: dict) -> Job:
    config = None
    if settings:
        config = workspace / "configs" / f"{run_id}.toml"
        config.parent.mkdir(exist_ok=True)
        config.write_text("".join(f"{key} = {json.dumps(value)}\n" for key, value in settings.items()))
    tokens = flops.tokens_for_compute(compute, solved.c_token)
    seconds = flops.TRAIN_FACTOR * (solved.c_token + solved.logits_flops) * tokens / ASSUMED_FLOPS_PER_S
    return Job(workspace, run_id, config, tokens, STARTUP_S + seconds)


def train(jobs: list[Job], out: Path, pool: SweepPool, *, time_limit: float) -> dict:
    """Run ``jobs`` through ``pool`` (``sweep_pool``), each workspace's runs longest first, the sweep's before the
    smoke campaign's; stop what is left at ``time_limit`` seconds. Results go to ``out`` after every finished run."""
    out.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    pool.deadline = began + time_limit
    pool.configs.update({(job.workspace, job.run_id): job.config for job in jobs if job.config})
    summary = {"started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "gpus": pool.gpus,
               "slots": pool.slots, "time_limit_s": time_limit, "estimated_s": estimate(jobs, pool.slots),
               "corpus": os.environ.get("BAYES_MOE_CORPUS", "trainer default"), "stopped": pool.stopped}

    def finished(workspace: Path, run: Run) -> None:
        _note(out / "log.txt", workspace, run, time.monotonic() - began)
        _write(out, jobs, summary, began)

    for workspace, ids in _batches(jobs):
        run_batch(workspace, pool, ids, on_result=functools.partial(finished, workspace))
    return _write(out, jobs, summary, began)


def sweep_pool(gpus: int | None, per_gpu: int, device: str | None = None) -> SweepPool:
    """``per_gpu`` runs on each of the first ``gpus`` GPUs (None: every GPU torch sees), or side by side unpinned
    on a machine without (``gpus`` 0)."""
    if gpus is None:
        import torch

        gpus = torch.cuda.device_count()
    slots = {"gpus": ",".join(map(str, range(gpus))), "runs_per_gpu": per_gpu} if gpus else {"slots": per_gpu}
    return SweepPool(**slots, device=device)


def _batches(jobs: list[Job]) -> list[tuple[Path, list[int]]]:
    """Each workspace's run ids, the sweep's first (the check this script is for)."""
    workspaces = sorted({job.workspace for job in jobs}, key=lambda workspace: workspace.name != "sweep")
    return [(workspace, [job.run_id for job in jobs if job.workspace == workspace]) for workspace in workspaces]


def estimate(jobs: list[Job], slots: int) -> float:
    """Estimated seconds for ``jobs`` on ``slots`` parallel slots, one workspace after the other."""
    return sum(_makespan([job for job in jobs if job.workspace == workspace], slots)
               for workspace, _ in _batches(jobs))


def _makespan(jobs: list[Job], slots: int) -> float:
    """Estimated seconds for ``jobs`` (longest first) on ``slots`` parallel slots."""
    ends = [0.0] * slots
    for job in sorted(jobs, key=lambda job: -job.seconds):
        ends[ends.index(min(ends))] += job.seconds
    return max(ends)


@dataclass
class SweepPool(TrainerPool):
    """The trainer pool, with each run's own trainer settings (``configs``: its lr, by workspace and run id)
    and a deadline: children still running then are stopped (SIGTERM, SIGKILL 15 s later) and their runs
    failed; runs not yet started stay proposed. Both are listed in ``stopped``."""

    configs: dict[tuple[Path, int], Path] = field(default_factory=dict)
    deadline: float = math.inf  # time.monotonic() seconds
    stopped: list[str] = field(default_factory=list)
    _kill_at = None  # when the children stopped at the deadline get SIGKILL

    def command(self, workspace: Path, run_id: int, slot) -> list[str]:
        own = self.configs.get((Path(workspace), run_id))
        return super().command(workspace, run_id, slot) + (["--config", str(own)] if own else [])

    def start(self, workspace: Path, runs: list[Run]) -> list:
        if time.monotonic() < self.deadline:
            return super().start(workspace, runs)
        self.stopped += [f"{Path(workspace).name}/{run.id} (never started)" for run in runs]
        return runs  # handed back by poll at once, proposed as they were

    def poll(self, workspace: Path, handle) -> Run | None:
        if isinstance(handle, Run):
            return handle
        now = time.monotonic()
        if now >= self.deadline and handle.process.poll() is None:
            if self._kill_at is None:
                self._kill_at = now + 15
            if f"{Path(workspace).name}/{handle.run_id}" not in self.stopped:
                self.stopped.append(f"{Path(workspace).name}/{handle.run_id}")
                handle.process.terminate()
            elif now >= self._kill_at:
                handle.process.kill()
        return super().poll(workspace, handle)


def _note(log: Path, workspace: Path, run: Run, elapsed: float) -> None:
    child_log = workspace / LOGS / f"{run.id}.log"
    tail = child_log.read_text(errors="replace")[-600:] if child_log.is_file() else "(never started)"
    with open(log, "a") as stream:
        stream.write(f"[{elapsed:7.1f}s] {workspace.name} run {run.id}: {run.status}\n{tail}\n\n")


def _write(out: Path, jobs: list[Job], summary: dict, began: float) -> dict:
    """results.json (every run of both workspaces, as the ledger has it), and each workspace's ledger
    (``<name>.sqlite``) and campaign (``<name>.campaign.toml``): a workspace again once put together."""
    results = {**summary, "wall_s": time.monotonic() - began, "runs": {}}
    for workspace in sorted({job.workspace for job in jobs}):
        with Ledger.open(workspace) as ledger:
            results["runs"][workspace.name] = [_row(run) for run in ledger.runs(None)]
        with sqlite3.connect(workspace / LEDGER_FILE) as source, sqlite3.connect(out / f"{workspace.name}.sqlite") as copy:
            source.backup(copy)
        (out / f"{workspace.name}.campaign.toml").write_text((workspace / "campaign.toml").read_text())
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    return results


_METRICS = ("val_loss", "train_loss", "steps", "warmup_steps", "epochs", "tokens_per_param", "tokens_per_s",
            "wall_s", "mfu", "device", "corpus", "lr_factor", "rule_lr")


def _row(run) -> dict:
    metrics = run.metrics or {}
    config = metrics.get("config") or {}
    return {"id": run.id, "label": run.label, "status": run.status, "reason": run.reason, "loss": run.loss,
            "r": run.r, "compute": run.compute, "sparsity": run.sparsity, "n_active": run.n_active,
            "tokens": run.tokens, "arch": run.arch, "lr": config.get("lr"), "batch_size": config.get("batch_size"),
            **{key: metrics[key] for key in _METRICS if key in metrics}}


# --- analysis (here) -----------------------------------------------------------------------------


def analyse(*results: dict) -> dict:
    """Per sweep size (compute, S and r), over the runs of every ``results`` (several calls: seeds, more
    factors): the finished runs' losses by lr, their mean, the best mean, the rule's, and the issue's
    check; the smoke runs' losses and regime."""
    sizes = {}
    for run in (run for result in results for run in result["runs"].get("sweep", [])):
        sizes.setdefault((run["compute"], run.get("sparsity"), run["r"]), []).append(run)
    report = {"sizes": [], "smoke": [_smoke_row(run) for result in results for run in result["runs"].get("smoke", [])]}
    for (compute, sparsity, r), runs in sorted(sizes.items(), key=lambda item: [v or 0.0 for v in item[0]]):
        by_lr = {}
        for run in runs:
            if run["status"] == "done" and run["loss"] is not None:
                by_lr.setdefault(run["lr"], []).append(run["loss"])
        lrs = sorted(by_lr)
        mean = {lr: statistics.fmean(by_lr[lr]) for lr in lrs}
        rule_lr = next((run["lr"] for run in runs if run.get("lr_factor") == 1.0 and run["lr"] in mean), None)
        entry = {"compute": compute, "sparsity": sparsity, "r": r, "n_active": runs[0]["n_active"],
                 "runs": [(lr, by_lr[lr]) for lr in lrs],
                 "unfinished": [run["id"] for run in runs if run["status"] != "done"]}
        if rule_lr is not None:
            best_lr = min(lrs, key=mean.get)
            entry.update(best_lr=best_lr, best_loss=mean[best_lr], rule_lr=rule_lr, rule_loss=mean[rule_lr],
                         lr_ratio=max(best_lr, rule_lr) / min(best_lr, rule_lr), loss_gap=mean[rule_lr] - mean[best_lr],
                         best_at_edge=best_lr in (lrs[0], lrs[-1]))
            entry["passed"] = entry["lr_ratio"] <= LR_RATIO + 1e-9 and entry["loss_gap"] <= LOSS_GAP
        report["sizes"].append(entry)
    return report


def _smoke_row(run: dict) -> dict:
    keys = ("id", "status", "loss", "r", "compute", "sparsity", "n_active", "tokens_per_param", "steps",
            "warmup_steps", "epochs", "lr", "batch_size", "wall_s")
    return {key: run.get(key) for key in keys}


def _losses(losses: list[float]) -> str:
    """One run's loss, or several runs' (seeds, calls) and their mean."""
    shown = " / ".join(f"{loss:.4f}" for loss in losses)
    return shown if len(losses) == 1 else f"{shown} (mean {statistics.fmean(losses):.4f})"


def report_text(report: dict) -> str:
    lines = []
    for size in report["sizes"]:
        shown_s = f", S = {size['sparsity']:.4g}" if size.get("sparsity") is not None else ""
        lines.append(f"C = {size['compute']:.3g} FLOPs{shown_s}, r = {size['r']:.3g}, n_active = {size['n_active']:,}: "
                     + ", ".join(f"lr {lr:.3g} -> {_losses(losses)}" for lr, losses in size["runs"]))
        if size["unfinished"]:
            lines.append(f"  unfinished runs: {size['unfinished']}")
        if "passed" in size:
            lines.append(f"  best lr {size['best_lr']:.3g} ({size['best_loss']:.4f}); rule lr {size['rule_lr']:.3g} "
                         f"({size['rule_loss']:.4f}): ratio {size['lr_ratio']:.2f}, gap {size['loss_gap']:.4f} nats"
                         f"{' (best at the edge of the sweep)' if size['best_at_edge'] else ''}: "
                         f"{'PASS' if size['passed'] else 'FAIL'} ({'; '.join(CHECK)})")
        else:
            lines.append("  no verdict: the rule's run or every run is unfinished")
    for run in report["smoke"]:
        shown = {k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in run.items()}
        lines.append("smoke " + ", ".join(f"{k}={v}" for k, v in shown.items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bayes_moe.train.lr_sweep", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="plan and train the sweep and the smoke campaign (GPU)")
    run.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "lr_sweep_out")))
    run.add_argument("--base", type=Path, default=Path("/tmp/lr_sweep"), help="where the workspaces go (fresh)")
    run.add_argument("--time-limit", type=float, default=420.0, help="seconds; runs left then are stopped")
    run.add_argument("--per-gpu", type=positive(int), default=2, help="runs side by side on one GPU (2)")
    run.add_argument("--gpus", type=int, help="GPUs to use (default: all torch sees; 0: CPU)")
    run.add_argument("--device", choices=("cpu", "cuda"))
    run.add_argument("--computes", type=float, nargs="+", default=list(SWEEP_COMPUTES))
    run.add_argument("--factors", type=float, nargs="+", default=list(LR_FACTORS))
    run.add_argument("--r", type=float, nargs="+", default=[SWEEP_R], help=f"expert-to-attention ratios ({SWEEP_R:g})")
    run.add_argument("--sparsity", type=float, default=SWEEP_SPARSITY, help=f"S of every sweep run ({SWEEP_SPARSITY:g})")
    run.add_argument("--tokens-per-param", type=float, default=TOKENS_PER_PARAM)
    run.add_argument("--smoke-compute", type=float, nargs=2, default=list(SMOKE_COMPUTE))
    run.add_argument("--smoke-runs", type=int, default=SMOKE_RUNS)
    run.add_argument("--extra", type=json.loads, default=dict(EXTRA),
                     help=f"JSON of trainer settings for every run (default {json.dumps(EXTRA)})")
    run.add_argument("--dry-run", action="store_true", help="plan and print the estimate only")
    look = commands.add_parser("analyse", help="the sweep's verdict from results.json (several: their runs pooled)")
    look.add_argument("results", type=Path, nargs="+")
    look.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "analyse":
        report = analyse(*(json.loads(path.read_text()) for path in args.results))
        print(json.dumps(report, indent=1) if args.json else report_text(report))
        return
    if args.base.exists() and any(args.base.iterdir()):
        parser.error(f"--base {args.base} is not empty: the workspaces are planned afresh")
    try:
        pool = sweep_pool(args.gpus, args.per_gpu, args.device)
    except InputError as error:
        parser.error(str(error))
    jobs = plan(args.base, computes=args.computes, factors=args.factors, rs=args.r, sparsity=args.sparsity,
                tokens_per_param=args.tokens_per_param,
                smoke_compute=tuple(args.smoke_compute), smoke_runs=args.smoke_runs, extra=args.extra)
    estimated = estimate(jobs, pool.slots)
    corpus = data.resolve_corpus(None, args.base)
    train_tokens = data.open_corpus(corpus).manifest["splits"]["train"]["tokens"]
    epochs = max(job.tokens for job in jobs) / train_tokens
    print(f"corpus {corpus}: {train_tokens:,} training tokens; the longest run makes {epochs:.2g} passes over them"
          + (" (warning: more than one; set BAYES_MOE_CORPUS to a larger corpus)" if epochs > 1 else ""), flush=True)
    print(f"{len(jobs)} runs on {pool.slots} slots, estimated {estimated:.0f} s at {ASSUMED_FLOPS_PER_S:.0e} FLOP/s "
          f"per run (limit {args.time_limit:.0f} s)", flush=True)
    if args.dry_run:
        return
    results = train(jobs, args.out, pool, time_limit=args.time_limit)
    print(report_text(analyse(results)))
    unfinished = [run for runs in results["runs"].values() for run in runs if run["status"] != "done"]
    if unfinished:
        print(f"{len(unfinished)} run(s) did not finish: " + ", ".join(f"{run['id']} ({run['status']})" for run in unfinished))
        sys.exit(1)


if __name__ == "__main__":
    main()
