"""Train one proposed run of the ledger: ``train_run(workspace, run_id)`` (``bayes-moe run ID
--executor trainer``).

The run's plan (train/plan.py) fixes what it trains before the ledger changes: the arch JSON gives the
model, its compute the token budget ``compute / (3 (C_A + C_E))``, the size rule (train/settings.py) the
batch and learning rate unless a ``TrainConfig`` says otherwise. AdamW, linear warmup + cosine decay,
gradient clipping, bf16 autocast on GPUs. On a GPU the micro-batch is the largest that fits unless the
config fixes it, and the model with its loss is compiled unless the config says ``compile = false``
(eager, with the reason recorded, where compiling fails). The end: validation loss on a fixed held-out
set goes to ``ledger.finish`` with throughput, MFU and routing balance; anything else (non-finite loss,
out of memory, an error in any rank, a worker that died) fails the run with its reason. Checkpoints are
written atomically to ``<workspace>/checkpoints/<id>/``; a run left 'running' with a plan (its process
was killed with no one left to record it) resumes from its last checkpoint. ``nproc > 1`` launches
``torchrun`` (DDP: NCCL on GPUs, gloo on CPU).

The work is split as torchtitan's trainer splits it: ``_build`` (model, optimizer, checkpoint, the
micro-batch and compilation that fit: train/settle.py, DDP), ``_train_step`` (one optimizer step, no host
sync), ``_metrics`` (what the ledger records); train/session.py holds what a rank trains with, and
train/launch.py the launch over several processes.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
import time
import traceback
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

try:  # a progress bar where tqdm is installed (the package needs it; a bare torch machine may not have it)
    from tqdm import tqdm
except ImportError:
    tqdm = None

from bayes_moe import flops
from bayes_moe.errors import InputError
from bayes_moe.ledger import Ledger, Run
from bayes_moe.train import data
from bayes_moe.train import hparams
from bayes_moe.train.flopcount import peak_bf16_flops
from bayes_moe.train.launch import STDERR_TAIL, fail_if_running, launch_ranks
from bayes_moe.train.model import MoEGPT
from bayes_moe.train.moe import balance_stats
from bayes_moe.train.plan import PLAN, Plan, checkpoint_dir, plan_from_dict, prepare_run, save_atomic
from bayes_moe.train.session import NonFiniteLoss, Rank, RunFailure, Session
from bayes_moe.train.settings import TrainConfig
from bayes_moe.train.settle import settle_micro_and_compile

CHECKPOINT = "checkpoint.pt"
SYNC_EVERY = 10  # optimizer steps between host syncs (loss check, progress): one per step drains the GPU queue


# --- entry point ----------------------------------------------------------------------------------


def train_run(workspace: Path, run_id: int, *, nproc: int = 1, device: str | None = None,
              config: dict | None = None, corpus: Path | None = None, progress: bool = True) -> Run:
    """Train run ``run_id`` of ``workspace``'s ledger and return it, done or failed (with the reason).
    Bad input (unknown id, a run not proposed, an impossible arch, a bad config or corpus) raises
    ``InputError`` before the ledger changes. A 'running' run that the trainer started (its plan is in
    the checkpoint folder) resumes from its last checkpoint, or from step 0 if it was killed before."""
    workspace = Path(workspace)
    if not isinstance(nproc, int) or isinstance(nproc, bool) or nproc < 1:
        raise InputError(f"nproc must be a positive integer, got {nproc!r}")
    device = _device(device)
    plan = prepare_run(workspace, run_id, nproc, config, corpus)
    if nproc == 1:
        _train(workspace, run_id, plan, device, progress)
    else:
        launch_ranks(workspace, run_id, device, nproc, progress)
    with Ledger.open(workspace) as ledger:
        return ledger.get(run_id)


def _device(name: str | None) -> torch.device:
    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name not in ("cpu", "cuda"):
        raise InputError(f"device must be 'cpu' or 'cuda', got {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("device 'cuda' asked for, but torch sees no CUDA GPU")
    return torch.device(name)


# --- one rank -------------------------------------------------------------------------------------


def _train(workspace: Path, run_id: int, plan: Plan, device: torch.device, progress: bool) -> bool:
    """The work of one rank; its ending goes to the ledger: rank 0 records a done run, any rank a failed
    one (the first to fail writes the reason; an unexpected error's traceback also goes to stderr).
    Over several ranks, a rank records only the failures it owns (RunFailure, InputError): any other
    error may be the echo of a peer's death (gloo's "Connection closed by peer" when a worker was
    killed), so it is left to ``launch_ranks``, which sees every rank's exit status in torchrun's report.
    A KeyboardInterrupt leaves the run 'running', to be resumed. True where the run finished."""
    distributed = "RANK" in os.environ
    if distributed:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
            torch.cuda.set_device(device)
    rank = Rank(device, dist.get_rank(), dist.get_world_size()) if distributed else Rank(device)
    prefix = f"rank {rank.rank}: " if distributed else ""  # of a failure's reason
    try:
        metrics = _optimise(workspace, run_id, plan, rank, progress)
        if rank.rank == 0:
            with Ledger.open(workspace) as ledger:
                ledger.finish(run_id, metrics["val_loss"], tokens=metrics["tokens"], metrics=metrics)
        return True
    except RunFailure as error:
        fail_if_running(workspace, run_id, f"{prefix}{error}")
    except Exception as error:
        traceback.print_exc()
        if not distributed or isinstance(error, InputError):
            fail_if_running(workspace, run_id, prefix + f"{type(error).__name__}: {error}"[:STDERR_TAIL])
    finally:
        if distributed:
            dist.destroy_process_group()
        if device.type == "cuda":  # for callers that go on in this process (benchmarks, batch jobs)
            torch.cuda.empty_cache()
    return False


class Objective(nn.Module):
    """The model and its training loss as one module, so that torch.compile fuses the fp32 logits and
    the cross-entropy into the model's graph and DDP wraps both. ``forward(x, y)`` returns the loss to
    minimise, the cross-entropy, and the aux terms (balance, z) for the record."""

    def __init__(self, model: MoEGPT, config: TrainConfig):
        super().__init__()
        self.model = model
        self.aux_weights = (config.aux_coef, config.z_coef) if config.balance == "aux" else None

    def forward(self, x: torch.Tensor, y: torch.Tensor):
        logits, aux = self.model(x)
        ce = F.cross_entropy(logits.float().flatten(0, 1), y.flatten())
        loss = ce
        if self.aux_weights is not None:
            loss = ce + self.aux_weights[0] * aux["balance"] + self.aux_weights[1] * aux["z"]
        return loss, ce.detach(), torch.stack([aux["balance"], aux["z"]]).detach()


def _build(workspace: Path, run_id: int, plan: Plan, rank: Rank) -> tuple[Session, dict]:
    """Model, optimizer and the run's last checkpoint, then the micro-batch and compilation that work
    here (agreed by all ranks), then DDP. Returns the session and the checkpoint's bookkeeping."""
    arch, config = plan.arch, plan.config
    torch.manual_seed(config.seed)
    corpus = data.open_corpus(plan.corpus, arch.vocab_size)
    per_rank = config.batch_size // rank.world
    batches = data.TrainBatches(corpus.split("train"), config.batch_size, arch.n_ctx, config.seed, rank.rank, rank.world)
    with rank.device:  # drawn where it trains: on the CPU, drawing 0.56B routed weights took 5.1 s (cProfile)
        model = MoEGPT(arch, balance=config.balance)
    optimizer = make_optimizer(model, config, fused=rank.device.type == "cuda")
    state = _load_checkpoint(checkpoint_dir(workspace, run_id) / CHECKPOINT, model, optimizer, rank.device)
    model.refresh_casts()
    session = Session(plan, rank, model, optimizer, Objective(model, config), corpus, batches, per_rank, False)
    settle_micro_and_compile(session)
    if rank.world > 1:  # buffers stay per rank: each counts its own routed tokens (summed at the bias step)
        session.objective = nn.parallel.DistributedDataParallel(
            session.objective, device_ids=[rank.device] if rank.device.type == "cuda" else None,
            broadcast_buffers=False, gradient_as_bucket_view=True)
    return session, state


def make_optimizer(model: MoEGPT, config: TrainConfig, fused: bool) -> torch.optim.Optimizer:
    """AdamW, weight decay on matrices only. After every step the routed experts' low-precision copies
    are made again (``MoE.refresh_casts``): fused AdamW updates the weights without bumping their version
    counters, so this hook is what keeps the forward from computing with the weights of the start."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=config.lr, betas=(0.9, config.beta2), fused=fused)
    optimizer.register_step_post_hook(lambda optimizer, args, kwargs: model.refresh_casts())
    return optimizer


def _train_step(s: Session, step: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimizer step: this rank's batch in micro-batches (gradient accumulation; DDP all-reduces
    at the last), clipping, AdamW, the routing bias update. Returns the cross-entropy (mean over ranks)
    and the gradient norm as device tensors: no host sync."""
    config, rank = s.plan.config, s.rank
    for group in s.optimizer.param_groups:
        group["lr"] = _lr(step, s.plan.steps, config)
    x, y = (t.to(rank.device, non_blocking=True) for t in s.batches.get(step))
    pieces = list(zip(x.split(s.micro), y.split(s.micro)))
    ce_sum = torch.zeros((), device=rank.device)
    for i, (xm, ym) in enumerate(pieces):
        sync = s.objective.no_sync() if rank.world > 1 and i < len(pieces) - 1 else nullcontext()
        with sync:
            with rank.autocast():
                loss, ce, s.last_aux = s.objective(xm, ym)
            (loss / len(pieces)).backward()
        ce_sum += ce
    grad_norm = torch.nn.utils.clip_grad_norm_(s.model.parameters(), config.grad_clip)
    s.optimizer.step()
    s.optimizer.zero_grad(set_to_none=True)
    _routing_step(s.model, config, rank.world)
    return _mean_over_ranks(ce_sum / len(pieces), rank.world), grad_norm


def _routing_step(model: MoEGPT, config: TrainConfig, world: int) -> None:
    """After an optimizer step: in 'bias' mode, DeepSeek-V3's bias update from the tokens each expert got
    over the whole step (all micro-batches, all ranks: one all-reduce); the counts restart either way."""
    if config.balance == "bias":
        loads = torch.stack([layer.load for layer in model.moe_layers])
        if world > 1:
            dist.all_reduce(loads)
        for layer, load in zip(model.moe_layers, loads):
            layer.update_bias(load, config.bias_rate)
    for layer in model.moe_layers:
        layer.reset_load()


@dataclass
class Progress:
    """The loop's bookkeeping for the metrics."""

    start_step: int
    wall_before: float  # training wall time of the runs before a resume
    setup_s: float = 0.0
    train_wall: float = 0.0
    recent_ce: list = field(default_factory=list)  # mean cross-entropy of the last 20 steps


def _optimise(workspace: Path, run_id: int, plan: Plan, rank: Rank, progress: bool) -> dict:
    """Build, run the steps (host syncs every ``SYNC_EVERY`` steps, checkpoints by wall time), evaluate."""
    began = time.perf_counter()
    s, state = _build(workspace, run_id, plan, rank)
    done = Progress(state.get("step", 0), state.get("wall_s", 0.0), setup_s=time.perf_counter() - began)
    folder, config = checkpoint_dir(workspace, run_id), plan.config
    bar = _progress_bar(plan.steps, done.start_step, f"run {run_id}", progress and rank.rank == 0)
    pending, began = [], time.perf_counter()
    last_save = began
    try:
        for step in range(done.start_step, plan.steps):
            try:
                pending.append((step, *_train_step(s, step)))
            except torch.OutOfMemoryError as error:
                raise RunFailure(f"CUDA out of memory at step {step} with micro_batch_size {s.micro}: "
                                 f"{str(error).splitlines()[0]}") from None
            now = time.perf_counter()
            save = rank.rank == 0 and step + 1 < plan.steps and now - last_save >= config.checkpoint_interval_s
            if save or len(pending) == SYNC_EVERY or step + 1 == plan.steps:
                done.recent_ce = (done.recent_ce + _checked_losses(pending))[-20:]
                pending = []
                tokens_per_s = (step + 1 - done.start_step) * plan.tokens_per_step / (now - began)
                bar.set_postfix(loss=f"{done.recent_ce[-1]:.3f}", tok_s=f"{tokens_per_s:.3g}")
            bar.update(1)
            if save:
                _save_checkpoint(folder / CHECKPOINT, s.model, s.optimizer, step + 1, done.wall_before + now - began)
                last_save = now
    finally:
        bar.close()
    if rank.device.type == "cuda":
        torch.cuda.synchronize(rank.device)
    done.train_wall = time.perf_counter() - began
    windows = data.validation_windows(s.corpus.split("val"), plan.arch.n_ctx, config.eval_tokens)
    val_loss, loads = _evaluate(s.model, windows, s.micro, rank)
    return _metrics(s, done, val_loss, loads)


class _NoBar:
    def update(self, n=1):
        pass

    def set_postfix(self, **values):
        pass

    def close(self):
        pass


def _progress_bar(total: int, initial: int, desc: str, enabled: bool):
    if tqdm is None or not enabled:
        return _NoBar()
    return tqdm(total=total, initial=initial, unit="step", desc=desc)


def _checked_losses(pending: list) -> list[float]:
    """The pending steps' cross-entropies, copied to the host at once; a non-finite loss or gradient
    norm fails the run, naming the first step that had one."""
    values = torch.stack([torch.stack([ce.float(), norm.float()]) for _, ce, norm in pending]).tolist()
    for (step, _, _), (ce, norm) in zip(pending, values):
        if not (math.isfinite(ce) and math.isfinite(norm)):
            raise NonFiniteLoss(f"non-finite training loss {ce} (gradient norm {norm}) at step {step}")
    return [ce for ce, _ in values]


def _metrics(s: Session, done: Progress, val_loss: float, loads: list) -> dict:
    plan, rank = s.plan, s.rank
    trained_steps = plan.steps - done.start_step
    tokens_per_s = trained_steps * plan.tokens_per_step / done.train_wall if trained_steps else float("nan")
    aux = s.last_aux.tolist() if s.last_aux is not None else [None, None]
    metrics = {
        "val_loss": val_loss, "train_loss": sum(done.recent_ce) / max(len(done.recent_ce), 1),
        "tokens": plan.steps * plan.tokens_per_step, "steps": plan.steps, "tokens_per_s": tokens_per_s,
        "wall_s": done.wall_before + done.train_wall, "setup_s": done.setup_s,
        "resumed_from_step": done.start_step, "world_size": rank.world,
        "device": torch.cuda.get_device_name(rank.device) if rank.device.type == "cuda" else "cpu",
        "micro_batch_size": s.micro, "compile": s.compiled, **s.notes,
        "balance": plan.config.balance, "aux_balance": aux[0], "aux_z": aux[1],
        "config": dataclasses.asdict(plan.config), "corpus": str(plan.corpus), "corpus_sha256": s.corpus.sha256,
        "n_params": sum(p.numel() for p in s.model.parameters()),
        **balance_stats(loads),
        **hparams.regime(plan.arch, plan.steps * plan.tokens_per_step, plan.steps, plan.config.warmup_frac,
                         s.corpus.manifest["splits"]["train"]["tokens"]),
    }
    peak = peak_bf16_flops(rank.device)
    if peak:
        metrics["mfu"] = flops.TRAIN_FACTOR * (plan.arch.c_token + plan.arch.logits_flops) * tokens_per_s / (peak * rank.world)
        metrics["peak_flops"] = peak
    return metrics


def _lr(step: int, steps: int, config: TrainConfig) -> float:
    """Linear warmup over ``warmup_frac`` of the steps, then cosine decay to ``min_lr_ratio * lr``."""
    warmup = hparams.warmup_steps(steps, config.warmup_frac)
    if step < warmup:
        return config.lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return config.lr * (config.min_lr_ratio + (1 - config.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def _mean_over_ranks(value: torch.Tensor, world: int) -> torch.Tensor:
    if world > 1:
        value = value.clone()
        dist.all_reduce(value)
        value /= world
    return value


@torch.no_grad()
def _evaluate(model: MoEGPT, windows: torch.Tensor, micro: int, rank: Rank) -> tuple[float, list]:
    """Mean cross-entropy (nats per token) over the validation ``windows`` (of n_ctx + 1 tokens), split
    across ranks, and the routed-token counts of each layer over that pass."""
    model.eval()
    for layer in model.moe_layers:
        layer.reset_load()
    total = torch.zeros(2, device=rank.device, dtype=torch.float64)  # summed loss, tokens
    for batch in windows[rank.rank::rank.world].split(micro):
        batch = batch.to(rank.device)
        with rank.autocast():
            logits, _ = model(batch[:, :-1])
        total[0] += F.cross_entropy(logits.float().flatten(0, 1), batch[:, 1:].flatten(), reduction="sum")
        total[1] += batch[:, 1:].numel()
    model.train()
    loads = [layer.load.clone() for layer in model.moe_layers]
    if rank.world > 1:
        dist.all_reduce(total)
        for load in loads:
            dist.all_reduce(load)
    return float(total[0] / total[1]), [load.cpu() for load in loads]


# --- checkpoints ----------------------------------------------------------------------------------


def _save_checkpoint(path: Path, model, optimizer, step: int, wall_s: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_atomic({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step, "wall_s": wall_s}, path)


def _load_checkpoint(path: Path, model, optimizer, device) -> dict:
    if not path.is_file():
        return {}
    state = torch.load(path, map_location=device, weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    return state


# --- one run from its spec, without a ledger (Slurm jobs: bayes_moe.executors.slurm) -------------------


def train_spec(spec: dict, root: Path, *, device: str | None = None, progress: bool = False) -> dict:
    """Train the run ``spec`` (``plan_spec``) describes in this process, its checkpoints in
    ``checkpoint_dir(root, run id)`` (resumed from there); the ledger is never opened. Returns
    ``{"loss", "tokens", "metrics"}``, or ``{"reason"}`` for a run that ended failed."""
    try:
        metrics = _optimise(Path(root), spec["run_id"], plan_from_dict(spec), Rank(_device(device)), progress)
    except RunFailure as error:
        return {"reason": str(error)}
    return {"loss": metrics["val_loss"], "tokens": metrics["tokens"], "metrics": metrics}


# --- torchrun worker ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Per-rank entry that ``launch.launch_ranks`` runs under torchrun; reads the plan ``train_run`` checked. Exit
    status 0 where the run finished, 1 where it failed (recorded in the ledger)."""
    parser = argparse.ArgumentParser(description="trainer worker (started by torchrun)")
    parser.add_argument("workspace", type=Path)
    parser.add_argument("run_id", type=int)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    plan = plan_from_dict(torch.load(checkpoint_dir(args.workspace, args.run_id) / PLAN, weights_only=True))
    return 0 if _train(args.workspace, args.run_id, plan, torch.device(args.device), not args.quiet) else 1


if __name__ == "__main__":
    sys.exit(main())
