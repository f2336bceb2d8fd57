"""The micro-batch and compilation that work on this device, settled before a run's first step: the
largest micro-batch an eager estimate says fits the free GPU memory, proven by one forward and backward
(out of memory halves it), and torch.compile with a fall-back to eager where compiling fails; all ranks
agree on both. ``settle_micro_and_compile`` sets them on the rank's ``Session``."""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn

from bayes_moe.train.session import Rank, RunFailure, Session

MEMORY_HEADROOM = 0.9  # share of the free GPU memory the micro-batch estimate plans to fill


def settle_micro_and_compile(s: Session) -> None:
    """Set ``s.micro`` and ``s.objective``. The micro-batch is the config's, else the per-rank batch on
    a CPU, else the largest divisor of it that an eager estimate says fits the free GPU memory;
    compilation is the config's, else on for GPUs. Then (GPUs, or compiling) one forward and backward
    of a micro-batch proves it: out of memory halves the micro-batch (unless the config fixed it), a
    compilation error falls back to eager with the reason kept. All ranks agree on both."""
    config, rank = s.plan.config, s.rank
    per_rank = config.batch_size // rank.world
    on_gpu = rank.device.type == "cuda"
    micro = min(config.micro_batch_size or per_rank, per_rank)
    if config.micro_batch_size is None and on_gpu:
        micro = estimate_micro_batch(s, per_rank)
    compile = on_gpu if config.compile is None else config.compile
    eager = s.objective
    while on_gpu or compile:
        objective = compile_objective(eager) if compile else eager
        error = trial_step(s, objective, micro)
        proposal = [micro, int(compile)]
        if isinstance(error, torch.OutOfMemoryError):
            smaller = _next_divisor_below(per_rank, micro) if config.micro_batch_size is None else None
            proposal[0] = smaller or 0  # 0: every rank stops
            s.notes["micro_batch_oom"] = s.notes.get("micro_batch_oom", []) + [micro]
        elif error is not None:
            if not compile:
                raise error
            s.notes["compile_fallback"] = f"{type(error).__name__}: {error}"[:500]
            proposal[1] = 0
        agreed = _min_over_ranks(proposal, rank)
        if agreed[0] == 0:
            raise RunFailure(f"CUDA out of memory in a forward and backward of {micro} sequences"
                             + ("" if config.micro_batch_size is None else " (the config's micro_batch_size)"))
        if error is None and agreed == proposal:
            s.objective = objective
            break
        micro, compile = agreed[0], bool(agreed[1])
        if not compile and "compile_fallback" not in s.notes and proposal[1]:
            s.notes["compile_fallback"] = "another rank could not compile"
    s.micro, s.compiled = micro, compile


def compile_objective(objective: nn.Module) -> nn.Module:
    """torch.compile of the model and its loss as one graph (static shapes: one micro-batch size)."""
    return torch.compile(objective, dynamic=False)


def trial_step(s: Session, objective: nn.Module, micro: int, after_forward=None) -> Exception | None:
    """A forward and backward of ``micro`` sequences of the first batch through ``objective`` (no DDP,
    so no collective can wait on a rank that failed); the gradients and routing counts are dropped.
    ``after_forward`` is called between the two (a memory reading). Returns the error it raised, if
    any, with its memory freed."""
    x, y = (t[:micro].to(s.rank.device) for t in s.batches.get(0))
    try:
        with s.rank.autocast():
            loss, _, _ = objective(x, y)
        if after_forward is not None:
            after_forward()
        loss.backward()
        outcome = None
    except Exception as error:  # out of memory or a compilation error: the caller decides
        outcome = error
        if isinstance(error, torch.OutOfMemoryError):
            outcome.__traceback__ = None  # its frames hold the activations
    loss = None
    s.optimizer.zero_grad(set_to_none=True)
    for layer in s.model.moe_layers:
        layer.reset_load()
    if s.rank.device.type == "cuda":
        torch.cuda.empty_cache()
    return outcome


def estimate_micro_batch(s: Session, per_rank: int) -> int:
    """The largest divisor of ``per_rank`` whose step fits ``MEMORY_HEADROOM`` of the free GPU memory.
    The activations a forward keeps for its backward grow with the sequences: measured at the end of
    eager forwards of 1 and 2 sequences (eager keeps at least what compiled code keeps). The peak of a
    step of one sequence (gradients, cast copies, workspaces) is measured too; a step of m sequences
    peaks at most at that plus (m - 1) sequences' activations, plus AdamW's state where none exists yet.
    (The peaks of 1 and 2 sequences alone fall at the end of the backward, where the gradients dwarf
    the activations: extrapolating them said 2,331 sequences fit at 100M, where 80 ran out of memory.)"""
    device = s.rank.device
    torch.cuda.synchronize(device)
    free, _ = torch.cuda.mem_get_info(device)
    base = torch.cuda.memory_allocated(device)
    kept = []
    for micro in (1, 2):
        torch.cuda.reset_peak_memory_stats(device)
        error = trial_step(s, s.objective, micro, after_forward=lambda: kept.append(
            torch.cuda.memory_allocated(device) - base))
        if error is not None:
            return 1  # the trial of the settle loop reports it
        if micro == 1:
            peak = torch.cuda.max_memory_allocated(device) - base  # the one-sequence step's peak
    per_sequence = max(kept[1] - kept[0], 1)
    optimizer_state = 0 if s.optimizer.state else 2 * sum(p.numel() * p.element_size() for p in s.model.parameters())
    fits = 1 + int((MEMORY_HEADROOM * free - peak - optimizer_state) // per_sequence)
    s.notes["micro_batch_estimate"] = {"activation_bytes_per_sequence": per_sequence,
                                       "step_peak_bytes_1": peak, "free_bytes": free, "fits": fits}
    return max((d for d in _divisors(per_rank) if d <= fits), default=1)


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _next_divisor_below(n: int, micro: int) -> int | None:
    """The largest divisor of ``n`` at most half of ``micro`` (None below 1)."""
    return max((d for d in _divisors(n) if d <= micro // 2), default=None)


def _min_over_ranks(values: list[int], rank: Rank) -> list[int]:
    if rank.world == 1:
        return list(values)
    tensor = torch.tensor(values, dtype=torch.int64, device=rank.device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MIN)
    return tensor.tolist()
