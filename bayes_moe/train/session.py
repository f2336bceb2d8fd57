"""What one rank trains with: where it runs (``Rank``), what ``loop._build`` makes for it (``Session``),
and the failures that end a run with their reason (``RunFailure``)."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field

import torch
from torch import nn

from bayes_moe.train import data
from bayes_moe.train.model import MoEGPT
from bayes_moe.train.plan import Plan


class RunFailure(RuntimeError):
    """A run that cannot finish: the message is the run's reason."""


class NonFiniteLoss(RunFailure):
    pass


@dataclass(frozen=True)
class Rank:
    """Where this process trains: its device, rank and the number of ranks."""

    device: torch.device
    rank: int = 0
    world: int = 1

    def autocast(self):
        return torch.autocast("cuda", dtype=torch.bfloat16) if self.device.type == "cuda" else nullcontext()


@dataclass
class Session:
    """What ``_build`` makes and ``_train_step`` uses: the model, its optimizer, the training objective
    (model and loss, compiled or not, DDP-wrapped over several ranks) and the batches of this rank."""

    plan: Plan
    rank: Rank
    model: MoEGPT
    optimizer: torch.optim.Optimizer
    objective: nn.Module
    corpus: data.Corpus
    batches: data.TrainBatches
    micro: int
    compiled: bool
    notes: dict = field(default_factory=dict)  # how the micro-batch and compilation were settled
    last_aux: torch.Tensor | None = None  # the last micro-batch's aux terms (balance, z)
