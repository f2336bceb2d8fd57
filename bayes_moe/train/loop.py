"""Train one proposed run of the ledger: ``train_run(workspace, run_id)`` (``bayes-moe run ID
--executor trainer``).

The run's arch JSON gives the model, its compute the token budget ``compute / (3 (C_A + C_E))``, its
size preset (matched by depth, heads and width) the batch and learning rate unless a ``TrainConfig``
says otherwise. AdamW, linear warmup + cosine decay, gradient clipping, bf16 autocast on GPUs. The end:
validation loss on a fixed held-out set goes to ``ledger.finish`` with throughput, MFU and routing
balance; a non-finite loss fails the run with the reason. Checkpoints are written atomically to
``<workspace>/checkpoints/<id>/``; a run left 'running' with a checkpoint (killed) resumes from it.
``nproc > 1`` launches ``torchrun`` (DDP: NCCL on GPUs, gloo on CPU).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import subprocess
import sys
import time
import tomllib
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from tqdm import tqdm

from bayes_moe import arch as arch_module
from bayes_moe import flops
from bayes_moe.arch import MoEArch
from bayes_moe.errors import InputError
from bayes_moe.ledger import Ledger, Run
from bayes_moe.train import data
from bayes_moe.train.flopcount import peak_bf16_flops
from bayes_moe.train.model import MoEGPT
from bayes_moe.train.moe import BALANCE_MODES, balance_stats

EXECUTOR = "trainer"
CHECKPOINT = "checkpoint.pt"
PLAN = "plan.pt"  # what train_run checked and fixed for the run: arch, config, corpus, steps


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings; ``batch_size`` counts sequences per optimizer step over all ranks."""

    batch_size: int
    lr: float
    micro_batch_size: int | None = None  # sequences per forward on one rank (gradient accumulation)
    warmup_frac: float = 0.05
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.1
    beta2: float = 0.95
    grad_clip: float = 1.0
    balance: str = "aux"  # 'aux': Switch loss + z-loss; 'bias': aux-loss-free expert bias
    aux_coef: float = 1e-2
    z_coef: float = 1e-3
    bias_rate: float = 1e-3
    eval_tokens: int = 1 << 17
    checkpoint_interval_s: float = 60.0
    compile: bool = False
    seed: int = 0

    @classmethod
    def for_arch(cls, arch: MoEArch, **overrides) -> "TrainConfig":
        """The batch and lr of the size preset whose depth, heads and width ``arch`` has."""
        shape = (arch.n_layers, arch.n_heads, arch.d_model)
        match = next((p for p in arch_module.PRESETS.values() if (p.n_layers, p.n_heads, p.d_model) == shape), None)
        if match is None and not {"batch_size", "lr"} <= overrides.keys():
            raise InputError(f"no size preset has n_layers, n_heads, d_model = {shape}; give batch_size and lr "
                             f"in a trainer config")
        base = {} if match is None else {"batch_size": match.batch_size, "lr": match.lr}
        return cls.from_dict({**base, **overrides})

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(f"unknown trainer setting(s) {unknown}; known: {sorted(known)}")
        config = cls(**values)
        if config.balance not in BALANCE_MODES:
            raise InputError(f"balance must be one of {BALANCE_MODES}, got {config.balance!r}")
        for name in ("batch_size", "lr", "eval_tokens"):
            if not getattr(config, name) > 0:
                raise InputError(f"trainer setting {name} must be > 0, got {getattr(config, name)!r}")
        return config


def read_config(path: Path) -> dict:
    """Trainer settings from a TOML file (keys as ``TrainConfig`` fields)."""
    try:
        return tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise InputError(f"cannot read trainer config {path}: {error}") from None


# --- entry point ----------------------------------------------------------------------------------


def train_run(workspace: Path, run_id: int, *, nproc: int = 1, device: str | None = None,
              config: dict | None = None, corpus: Path | None = None, progress: bool = True) -> Run:
    """Train run ``run_id`` of ``workspace``'s ledger and return it (done or failed). Bad input
    (unknown id, a run not proposed, an impossible arch, a bad config or corpus) raises ``InputError``
    before the ledger changes. A 'running' run that the trainer started (its plan is in the checkpoint
    folder) resumes from its last checkpoint, or from step 0 if it was killed before the first."""
    workspace = Path(workspace)
    if not isinstance(nproc, int) or nproc < 1:
        raise InputError(f"nproc must be a positive integer, got {nproc!r}")
    device = _device(device)
    folder = checkpoint_dir(workspace, run_id)
    with Ledger.open(workspace) as ledger:
        run = ledger.get(run_id)
        resuming = run.status == "running" and (folder / PLAN).is_file()
        if run.status != "proposed" and not resuming:
            raise InputError(f"run {run_id} is {run.status!r}: the trainer takes proposed runs, or running "
                             f"ones it started itself (with {folder / PLAN})")
        if resuming:
            plan = _plan_from(torch.load(folder / PLAN, weights_only=True))
        else:
            plan = _plan(run, config, data.resolve_corpus(corpus, workspace), nproc)  # checks before start()
            ledger.start(run_id, EXECUTOR)
            folder.mkdir(parents=True, exist_ok=True)
            torch.save(_plan_dict(plan), folder / PLAN)
    if nproc == 1:
        _train(workspace, run_id, plan, device, progress)
    else:
        _launch(workspace, run_id, device, nproc, progress)
    with Ledger.open(workspace) as ledger:
        return ledger.get(run_id)


def checkpoint_dir(workspace: Path, run_id: int) -> Path:
    return Path(workspace) / "checkpoints" / str(run_id)


def _device(name: str | None) -> torch.device:
    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name not in ("cpu", "cuda"):
        raise InputError(f"device must be 'cpu' or 'cuda', got {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("device 'cuda' asked for, but torch sees no CUDA GPU")
    return torch.device(name)


@dataclass(frozen=True)
class Plan:
    arch: MoEArch
    config: TrainConfig
    corpus: Path
    steps: int
    tokens_per_step: int


def _plan(run: Run, config: dict | None, corpus: Path, world: int) -> Plan:
    if run.arch is None:
        raise InputError(f"run {run.id} has no architecture; record it with an arch (e.g. `bayes-moe add --preset`)")
    try:
        arch = MoEArch.from_dict(run.arch)
    except TypeError as error:
        raise InputError(f"run {run.id} has an unusable arch {run.arch!r}: {error}") from None
    for name, value in arch.to_dict().items():
        if not isinstance(value, int) or value < (0 if name == "n_shared" else 1):
            raise InputError(f"run {run.id}: arch {name} must be a positive integer, got {value!r}")
    if arch.n_heads % arch.n_kv_heads or arch.top_k > arch.n_routed:
        raise InputError(f"run {run.id}: impossible arch (n_heads {arch.n_heads} not a multiple of n_kv_heads "
                         f"{arch.n_kv_heads}, or top_k {arch.top_k} > n_routed {arch.n_routed})")
    overrides = dict(config or {})
    if run.seed is not None:  # the ledger's seed is part of the run: replicates differ by it
        overrides["seed"] = run.seed
    train_config = TrainConfig.for_arch(arch, **overrides)
    if train_config.batch_size % world:
        raise InputError(f"batch_size {train_config.batch_size} is not divisible by nproc {world}")
    data.open_corpus(corpus, arch.vocab_size)  # checks the shards now, before the run starts
    tokens = flops.tokens_for_compute(run.compute, arch.c_token)
    tokens_per_step = train_config.batch_size * arch.n_ctx
    return Plan(arch, train_config, corpus, max(1, math.ceil(tokens / tokens_per_step)), tokens_per_step)


def _launch(workspace: Path, run_id: int, device: torch.device, nproc: int, progress: bool) -> None:
    """One process per rank through torchrun; each reads the plan from the run's checkpoint folder."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
               "-m", "bayes_moe.train.loop", str(workspace), str(run_id), "--device", device.type]
    if not progress:
        command.append("--quiet")
    subprocess.run(command, check=False)


def _plan_dict(plan: Plan) -> dict:
    return {"arch": plan.arch.to_dict(), "config": dataclasses.asdict(plan.config), "corpus": str(plan.corpus),
            "steps": plan.steps, "tokens_per_step": plan.tokens_per_step}


def _plan_from(saved: dict) -> Plan:
    return Plan(MoEArch.from_dict(saved["arch"]), TrainConfig(**saved["config"]), Path(saved["corpus"]),
                saved["steps"], saved["tokens_per_step"])


# --- training -------------------------------------------------------------------------------------


class NonFiniteLoss(RuntimeError):
    pass


def _train(workspace: Path, run_id: int, plan: Plan, device: torch.device, progress: bool) -> None:
    """The work of one rank; rank 0 writes checkpoints and moves the run to done or failed."""
    distributed = "RANK" in os.environ
    if distributed:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
            torch.cuda.set_device(device)
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    try:
        metrics, val_loss = _optimise(workspace, run_id, plan, device, rank, world, progress)
        if rank == 0:
            with Ledger.open(workspace) as ledger:
                ledger.finish(run_id, val_loss, tokens=metrics["tokens"], metrics=metrics)
    except NonFiniteLoss as error:
        if rank == 0:
            with Ledger.open(workspace) as ledger:
                ledger.fail(run_id, str(error))
    finally:
        if distributed:
            dist.destroy_process_group()


def _optimise(workspace, run_id, plan: Plan, device, rank, world, progress) -> tuple[dict, float]:
    arch, config = plan.arch, plan.config
    torch.manual_seed(config.seed)
    corpus = data.open_corpus(plan.corpus, arch.vocab_size)
    per_rank = config.batch_size // world
    micro = min(config.micro_batch_size or per_rank, per_rank)
    if per_rank % micro:
        raise InputError(f"micro_batch_size {micro} does not divide the per-rank batch {per_rank}")
    accumulation = per_rank // micro
    batches = data.TrainBatches(corpus.split("train"), micro, arch.n_ctx, config.seed, rank)

    model = MoEGPT(arch, balance=config.balance).to(device)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=config.lr, betas=(0.9, config.beta2), fused=device.type == "cuda")
    folder = checkpoint_dir(workspace, run_id)
    state = _load_checkpoint(folder / CHECKPOINT, model, optimizer, device)
    start_step, wall_before = state.get("step", 0), state.get("wall_s", 0.0)
    train_model = model
    if world > 1:
        train_model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)
    if config.compile and device.type == "cuda":
        train_model = torch.compile(train_model)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()

    bar = tqdm(total=plan.steps, initial=start_step, unit="step", disable=not progress or rank != 0,
               desc=f"run {run_id}")
    recent_ce, aux_values, began, last_save = [], {}, time.perf_counter(), time.perf_counter()
    for step in range(start_step, plan.steps):
        for group in optimizer.param_groups:
            group["lr"] = _lr(step, plan.steps, config)
        ce_sum = torch.zeros((), device=device)
        for i in range(accumulation):
            x, y = (t.to(device, non_blocking=True) for t in batches.get(step * accumulation + i))
            sync = train_model.no_sync() if world > 1 and i < accumulation - 1 else nullcontext()
            with sync, autocast:
                logits, aux = train_model(x)
                ce = F.cross_entropy(logits.float().flatten(0, 1), y.flatten())
                loss = ce + (config.aux_coef * aux["balance"] + config.z_coef * aux["z"]
                             if config.balance == "aux" else 0.0)
                (loss / accumulation).backward()
            ce_sum += ce.detach()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        ce_mean = _mean_over_ranks(ce_sum / accumulation, world)
        if not (math.isfinite(ce_mean) and math.isfinite(float(grad_norm))):
            bar.close()
            raise NonFiniteLoss(f"non-finite training loss {ce_mean} (gradient norm {float(grad_norm)}) at step {step}")
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if config.balance == "bias":
            for layer in model.moe_layers:
                layer.update_bias(_sum_over_ranks(layer.load, world), config.bias_rate)
        recent_ce = (recent_ce + [ce_mean])[-20:]
        aux_values = {k: float(v.detach()) for k, v in aux.items()}
        elapsed = time.perf_counter() - began
        bar.set_postfix(loss=f"{ce_mean:.3f}", tok_s=f"{(step + 1 - start_step) * plan.tokens_per_step / elapsed:.3g}")
        bar.update()
        now = time.perf_counter()
        if rank == 0 and step + 1 < plan.steps and now - last_save >= config.checkpoint_interval_s:
            _save_checkpoint(folder / CHECKPOINT, model, optimizer, step + 1, wall_before + now - began)
            last_save = now
    bar.close()
    if device.type == "cuda":
        torch.cuda.synchronize()
    train_wall = time.perf_counter() - began
    val_loss, loads = _evaluate(model, corpus, arch, config, micro, device, rank, world, autocast)
    trained_steps = plan.steps - start_step
    tokens_per_s = trained_steps * plan.tokens_per_step / train_wall if trained_steps else float("nan")
    metrics = {
        "val_loss": val_loss, "train_loss": sum(recent_ce) / max(len(recent_ce), 1),
        "tokens": plan.steps * plan.tokens_per_step, "steps": plan.steps, "tokens_per_s": tokens_per_s,
        "wall_s": wall_before + train_wall, "resumed_from_step": start_step, "world_size": world,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "balance": config.balance, "aux_balance": aux_values.get("balance"), "aux_z": aux_values.get("z"),
        "config": dataclasses.asdict(config), "corpus": str(plan.corpus), "corpus_sha256": corpus.sha256,
        "n_params": sum(p.numel() for p in model.parameters()),
        **balance_stats(loads),
    }
    peak = peak_bf16_flops(device)
    if peak:
        metrics["mfu"] = flops.TRAIN_FACTOR * (arch.c_token + arch.logits_flops) * tokens_per_s / (peak * world)
        metrics["peak_flops"] = peak
    return metrics, val_loss


def _lr(step: int, steps: int, config: TrainConfig) -> float:
    """Linear warmup over ``warmup_frac`` of the steps, then cosine decay to ``min_lr_ratio * lr``."""
    warmup = max(1, round(config.warmup_frac * steps))
    if step < warmup:
        return config.lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return config.lr * (config.min_lr_ratio + (1 - config.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def _mean_over_ranks(value: torch.Tensor, world: int) -> float:
    if world > 1:
        value = value.clone()
        dist.all_reduce(value)
        value /= world
    return float(value)


def _sum_over_ranks(value: torch.Tensor, world: int) -> torch.Tensor:
    if world > 1:
        value = value.clone()
        dist.all_reduce(value)
    return value


@torch.no_grad()
def _evaluate(model, corpus, arch, config, micro, device, rank, world, autocast) -> tuple[float, list]:
    """Mean cross-entropy (nats per token) over the fixed validation windows, split across ranks, and
    the routed-token counts of each layer over that pass."""
    windows = data.validation_windows(corpus.split("val"), arch.n_ctx, config.eval_tokens)
    model.eval()
    total = torch.zeros(2, device=device, dtype=torch.float64)  # summed loss, tokens
    loads = [torch.zeros(arch.n_routed, device=device) for _ in model.moe_layers]
    for batch in windows[rank::world].split(micro):
        batch = batch.to(device)
        with autocast:
            logits, _ = model(batch[:, :-1])
        total[0] += F.cross_entropy(logits.float().flatten(0, 1), batch[:, 1:].flatten(), reduction="sum")
        total[1] += batch[:, 1:].numel()
        for acc, layer in zip(loads, model.moe_layers):
            acc += layer.load
    model.train()
    if world > 1:
        dist.all_reduce(total)
        for acc in loads:
            dist.all_reduce(acc)
    return float(total[0] / total[1]), [acc.cpu() for acc in loads]


def _save_checkpoint(path: Path, model, optimizer, step: int, wall_s: float) -> None:
    """Written to a temporary file and renamed: a kill leaves the old checkpoint or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step, "wall_s": wall_s}, tmp)
    os.replace(tmp, path)


def _load_checkpoint(path: Path, model, optimizer, device) -> dict:
    if not path.is_file():
        return {}
    state = torch.load(path, map_location=device, weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    return state


# --- torchrun worker ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Per-rank entry that ``_launch`` runs under torchrun; reads the plan ``train_run`` checked."""
    parser = argparse.ArgumentParser(description="trainer worker (started by torchrun)")
    parser.add_argument("workspace", type=Path)
    parser.add_argument("run_id", type=int)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    plan = _plan_from(torch.load(checkpoint_dir(args.workspace, args.run_id) / PLAN, weights_only=True))
    _train(args.workspace, args.run_id, plan, torch.device(args.device), not args.quiet)


if __name__ == "__main__":
    main()
