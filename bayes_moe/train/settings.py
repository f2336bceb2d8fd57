"""A run's trainer settings: ``TrainConfig``, the size rule that fills in batch and lr, and the TOML files
a user gives (``--config``). ``resolve_config`` is the one place they meet, and checks every setting."""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

from bayes_moe import arch as arch_module
from bayes_moe.arch import MoEArch
from bayes_moe.errors import InputError
from bayes_moe.train import hparams
from bayes_moe.train.moe import BALANCE_MODES


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings; ``batch_size`` counts sequences per optimizer step over all ranks."""

    batch_size: int
    lr: float
    # sequences per forward on one rank (gradient accumulation), at most the per-rank batch; None: the
    # largest divisor of the per-rank batch that fits the GPU, the whole per-rank batch on a CPU
    micro_batch_size: int | None = None
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
    compile: bool | None = None  # None: torch.compile on GPUs (eager where it fails), eager on CPUs
    seed: int = 0
    # times the size rule's lr where no lr is set: a campaign keeps the multiple its runs trained at
    lr_scale: float = 1.0

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(f"unknown trainer setting(s) {unknown}; known: {sorted(known)}")
        missing = sorted({"batch_size", "lr"} - set(values))
        if missing:
            raise InputError(f"trainer setting(s) {missing} missing")
        config = cls(**values)
        if config.balance not in BALANCE_MODES:
            raise InputError(f"balance must be one of {BALANCE_MODES}, got {config.balance!r}")
        for name in ("batch_size", "eval_tokens", "seed") + (("micro_batch_size",) if config.micro_batch_size is not None else ()):
            value = getattr(config, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < (0 if name == "seed" else 1):
                raise InputError(f"trainer setting {name} must be a {'non-negative' if name == 'seed' else 'positive'} "
                                 f"integer, got {value!r}")
        for name in ("lr", "warmup_frac", "min_lr_ratio", "weight_decay", "beta2", "grad_clip", "aux_coef",
                     "z_coef", "bias_rate", "checkpoint_interval_s", "lr_scale"):
            value = getattr(config, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise InputError(f"trainer setting {name} must be a finite number >= 0, got {value!r}")
        for name in ("lr", "lr_scale"):
            if not getattr(config, name) > 0:
                raise InputError(f"trainer setting {name} must be > 0, got {getattr(config, name)!r}")
        if config.compile not in (None, True, False):
            raise InputError(f"trainer setting compile must be true or false, got {config.compile!r}")
        return config


def default_batch_and_lr(arch: MoEArch) -> dict:
    """The batch and lr of the size preset whose depth, heads and width ``arch`` has ({} for other shapes)."""
    shape = (arch.n_layers, arch.n_heads, arch.d_model)
    match = next((p for p in arch_module.PRESETS.values() if (p.n_layers, p.n_heads, p.d_model) == shape), None)
    return {} if match is None else {"batch_size": match.batch_size, "lr": match.lr}


def default_settings(arch: MoEArch, compute: float) -> dict:
    """The size rule: a preset's batch and lr for a preset's shape, else (the size ladder's shapes) batch,
    lr and warmup from the run's compute (``hparams.settings``)."""
    return default_batch_and_lr(arch) or hparams.settings(arch, compute)


def resolve_config(arch: MoEArch, compute: float, overrides: dict, world: int) -> TrainConfig:
    """The one place a run's trainer settings come from: the size rule (its lr times ``lr_scale`` unless
    ``overrides`` set the lr), then ``overrides`` (a config file's keys, the run's own seed); every setting
    checked, including against ``world`` processes."""
    config = TrainConfig.from_dict({**default_settings(arch, compute), **overrides})
    if "lr" not in overrides:
        config = dataclasses.replace(config, lr=config.lr * config.lr_scale)
    check_world(config, world)
    return config


def check_world(config: TrainConfig, world: int) -> None:
    """The batch splits evenly over ``world`` ranks (a resumed run may come back with another nproc)."""
    if config.batch_size % world:
        raise InputError(f"batch_size {config.batch_size} is not divisible by nproc {world}")
    per_rank = config.batch_size // world
    micro = config.micro_batch_size
    if micro is not None and per_rank % min(micro, per_rank):
        raise InputError(f"micro_batch_size {micro} does not divide the per-rank batch {per_rank} "
                         f"(batch_size {config.batch_size} over {world} processes)")


def read_config(path: Path) -> dict:
    """Trainer settings from a TOML file (keys as ``TrainConfig`` fields)."""
    try:
        return tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise InputError(f"cannot read trainer config {path}: {error}") from None
