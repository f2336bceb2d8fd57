"""Batch size, learning rate and warmup of a run from its compute, and the regime a run trains in.

The rule is DeepSeek LLM's (Bi et al. 2024, arXiv 2401.02954, eq. 1), fitted on dense models at
1e17-2e19 FLOPs with AdamW (beta2 0.95, weight decay 0.1, as our trainer):

    eta_opt = 0.3118 C^-0.1250        B_opt = 0.2920 C^0.3271 tokens

Their compute ``C = M D`` counts non-embedding FLOPs per token, forward and backward, with attention
over the full context (``M = 72 n_layer d^2 + 12 n_layer d l_seq``): that is our ``compute =
3 (C_A + C_E) tokens`` (docs/units.md), which for an MoE counts the active experts only. So the rule
takes our compute as it is; the batch is rounded to whole sequences of ``n_ctx`` tokens, a multiple of
``BATCH_MULTIPLE`` sequences (so 1, 2, 4 or 8 processes split it). Below 1e17 FLOPs the rule is
extrapolated; experiments/lr_sweep found its lr the best of 0.25-4x at 1e15 and 1e16 FLOPs (half of it
0.065 and 0.103 nats worse). A campaign trained at another multiple keeps it with the trainer setting
``lr_scale``. Warmup: 5% of the steps but at least 100 where the steps allow (at most a quarter of them).
"""

from __future__ import annotations

import math

from bayes_moe import flops
from bayes_moe.arch import MoEArch

LR_COEF, LR_EXPONENT = 0.3118, -0.1250  # DeepSeek LLM eq. 1: eta_opt = 0.3118 C^-0.1250
BATCH_COEF, BATCH_EXPONENT = 0.2920, 0.3271  # B_opt = 0.2920 C^0.3271 tokens
BATCH_MULTIPLE = 8  # sequences: the batch splits over 1, 2, 4 or 8 processes
WARMUP_FRAC = 0.05
MIN_WARMUP_STEPS = 100
MAX_WARMUP_FRAC = 0.25


def learning_rate(compute: float) -> float:
    """DeepSeek LLM's optimal peak learning rate at ``compute`` training FLOPs."""
    return LR_COEF * compute**LR_EXPONENT


def batch_tokens(compute: float) -> float:
    """DeepSeek LLM's optimal batch in tokens at ``compute`` training FLOPs."""
    return BATCH_COEF * compute**BATCH_EXPONENT


def batch_sequences(compute: float, n_ctx: int) -> int:
    """``batch_tokens`` in sequences of ``n_ctx`` tokens, rounded to a multiple of ``BATCH_MULTIPLE`` (at least one)."""
    return BATCH_MULTIPLE * max(1, round(batch_tokens(compute) / n_ctx / BATCH_MULTIPLE))


def steps_for(tokens: float, batch_size: int, n_ctx: int) -> int:
    """Optimizer steps that train ``tokens`` in whole batches (the trainer rounds up)."""
    return max(1, math.ceil(tokens / (batch_size * n_ctx)))


def warmup_steps(steps: int, warmup_frac: float) -> int:
    """The trainer's linear-warmup length: ``warmup_frac`` of the steps, at least one."""
    return max(1, round(warmup_frac * steps))


def warmup_frac_for(steps: int) -> float:
    """The fraction of ``steps`` that warms up for ``max(WARMUP_FRAC steps, min(MIN_WARMUP_STEPS,
    MAX_WARMUP_FRAC steps))`` steps."""
    warmup = max(WARMUP_FRAC * steps, min(MIN_WARMUP_STEPS, MAX_WARMUP_FRAC * steps))
    return max(1, round(warmup)) / steps


def settings(arch: MoEArch, compute: float) -> dict:
    """Trainer settings (``TrainConfig`` keys) of a run of ``arch`` on ``compute`` FLOPs: batch and
    lr by the rule, warmup by its steps."""
    batch = batch_sequences(compute, arch.n_ctx)
    steps = steps_for(flops.tokens_for_compute(compute, arch.c_token), batch, arch.n_ctx)
    return {"batch_size": batch, "lr": learning_rate(compute), "warmup_frac": warmup_frac_for(steps)}


def regime(arch: MoEArch, tokens: float, steps: int, warmup_frac: float, train_tokens: int | None) -> dict:
    """What a run of ``arch`` on ``tokens`` tokens in ``steps`` steps is: tokens per active parameter,
    steps, warmup steps and passes over a training split of ``train_tokens`` (None: unknown)."""
    return {"tokens_per_param": tokens / arch.n_active, "steps": steps,
            "warmup_steps": warmup_steps(steps, warmup_frac),
            "epochs": None if train_tokens is None else tokens / train_tokens}
