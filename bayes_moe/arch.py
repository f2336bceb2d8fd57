"""MoE architectures: the widths a run trains, and the solver from (r, C_token, S) to widths.

The paper varies ``r`` at fixed per-token compute by resizing the attention width and the expert
width independently, with depth and heads fixed (PAPER.md). ``solve`` does exactly that, rounding
widths to multiples that bf16 kernels like, and the resulting ``MoEArch`` reports the ``r``,
``c_token`` and ``sparsity`` it really has, so the ledger records what was trained.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from bayes_moe import flops
from bayes_moe.errors import InputError

DEFAULT_VOCAB = 8192  # the shipped tokenizer's vocabulary (train/data.py)
WIDTH_MULTIPLE = 8  # bf16 rows of 16 bytes, as grouped GEMMs and flash attention want
TOLERANCE = 0.02  # relative error allowed on r and c_token after rounding
GRAINS = ((8, 8), (4, 8), (2, 8), (1, 8), (1, 4), (1, 2), (1, 1))  # (head_dim, d_expert), preferred first
SPARSITY_TOLERANCE = 1e-4  # |S requested - S achieved| accepted: S given to 4 decimals, as the paper does


@dataclass(frozen=True)
class MoEArch:
    """A decoder whose every FFN is an MoE layer of ``n_shared`` shared + ``top_k`` routed SwiGLU
    experts per token, out of ``n_routed`` routed experts."""

    d_model: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    n_routed: int
    n_shared: int
    top_k: int
    d_expert: int
    n_ctx: int
    vocab_size: int = DEFAULT_VOCAB

    @property
    def d_attn(self) -> int:
        return self.n_heads * self.head_dim

    @property
    def kv_ratio(self) -> float:
        return self.n_heads / self.n_kv_heads

    @property
    def n_experts(self) -> int:
        """E of the paper: routed plus shared experts."""
        return self.n_routed + self.n_shared

    @property
    def C_A(self) -> float:
        """Attention forward FLOPs per token, summed over layers."""
        return self.n_layers * flops.attention_layer(self.d_model, self.d_attn, self.n_ctx, self.kv_ratio)

    @property
    def C_E(self) -> float:
        """Expert (router + shared + routed) forward FLOPs per token, summed over layers."""
        return self.n_layers * flops.expert_layer(
            self.d_model, self.d_expert, self.n_routed, self.top_k, self.n_shared
        )

    @property
    def r(self) -> float:
        return flops.ratio(self.C_E, self.C_A)

    @property
    def c_token(self) -> float:
        """Forward FLOPs per token of attention and expert sublayers (logits excluded)."""
        return self.C_A + self.C_E

    @property
    def logits_flops(self) -> float:
        return flops.logits(self.d_model, self.vocab_size)

    @property
    def sparsity(self) -> float:
        return expert_sparsity(self.n_experts, self.top_k, self.n_shared)

    def _params(self, experts_counted: int) -> int:
        d, kv = self.d_model, self.n_kv_heads * self.head_dim
        attention = 2 * d * self.d_attn + 2 * d * kv
        layer = attention + d * self.n_routed + experts_counted * 3 * d * self.d_expert + 2 * d
        return self.n_layers * layer + self.vocab_size * d + d  # tied embedding, final norm

    @property
    def n_total(self) -> int:
        """Every parameter of the trainer's model (tied embedding, norms, router, all experts)."""
        return self._params(self.n_experts)

    @property
    def n_active(self) -> int:
        """Parameters one token uses: as ``n_total`` but only the ``top_k + n_shared`` experts it visits."""
        return self._params(self.top_k + self.n_shared)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, fields: dict) -> "MoEArch":
        return cls(**fields)

    def summary(self) -> dict:
        """The widths plus what they achieve, as printed by ``bayes-moe arch``."""
        return {
            **self.to_dict(),
            "r": self.r,
            "c_token": self.c_token,
            "sparsity": self.sparsity,
            "n_active": self.n_active,
            "n_total": self.n_total,
            "C_A": self.C_A,
            "C_E": self.C_E,
            "logits_flops": self.logits_flops,
        }


@dataclass(frozen=True)
class Preset:
    """A size label of PAPER.md (Table 2): depth, heads, batch and learning rate are the paper's;
    ``d_model`` is ours, chosen so that active parameters match the label at r = 1, S = 0.9538."""

    name: str
    n_layers: int
    n_heads: int
    d_model: int
    batch_size: int
    lr: float
    n_ctx: int = 2048

    @property
    def c_token(self) -> float:
        """Nominal per-token compute: that of the preset's r = 1 architecture with d_attn = d_model."""
        return 2 * self.n_layers * flops.attention_layer(self.d_model, self.d_model, self.n_ctx)


PRESETS = {
    p.name: p
    for p in (
        Preset("tiny", n_layers=2, n_heads=4, d_model=128, batch_size=16, lr=3e-3, n_ctx=256),
        Preset("20M", n_layers=8, n_heads=8, d_model=384, batch_size=96, lr=1.5e-3),
        # the 20M label with 2 heads: attention can shrink to 16 wide, so r reaches ~47 instead of ~11,
        # for tiny models whose r* lies beyond what 8 heads of width >= 8 build (experiments/h100_wide_r)
        Preset("20M-2h", n_layers=8, n_heads=2, d_model=384, batch_size=96, lr=1.5e-3),
        Preset("30M", n_layers=8, n_heads=8, d_model=512, batch_size=160, lr=1.3e-3),
        Preset("55M", n_layers=10, n_heads=10, d_model=640, batch_size=224, lr=1.1e-3),
        Preset("100M", n_layers=14, n_heads=12, d_model=768, batch_size=320, lr=9e-4),
        Preset("200M", n_layers=16, n_heads=16, d_model=1024, batch_size=512, lr=8e-4),
    )
}


def preset(name: str) -> Preset:
    if name not in PRESETS:
        raise InputError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


def expert_sparsity(n_experts: int, top_k: int = 2, n_shared: int = 1) -> float:
    """S = (E - E_act) / E, with E counting shared experts too (PAPER.md)."""
    return (n_experts - top_k - n_shared) / n_experts


def experts_for_sparsity(sparsity: float, top_k: int = 2, n_shared: int = 1) -> int:
    """The total expert count E whose sparsity is ``sparsity``; an error lists the nearest achievable."""
    _check_finite("sparsity", sparsity)
    if not 0 <= sparsity < 1:
        raise InputError(f"sparsity must be in [0, 1), got {sparsity!r}")
    active = top_k + n_shared
    exact = active / (1 - sparsity)
    n_experts = max(active, round(exact))
    if abs(expert_sparsity(n_experts, top_k, n_shared) - sparsity) <= SPARSITY_TOLERANCE:
        return n_experts
    below, above = max(active, math.floor(exact)), math.ceil(exact)
    options = ", ".join(
        f"{expert_sparsity(e, top_k, n_shared):.6f} (E={e})" for e in sorted({below, above})
    )
    raise InputError(
        f"sparsity {sparsity!r} is not achievable with {n_shared} shared + {top_k} routed experts per "
        f"token (E must be an integer); nearest achievable: {options}"
    )


def solve(
    r: float,
    c_token: float,
    sparsity: float,
    *,
    n_layers: int,
    n_heads: int,
    d_model: int,
    n_ctx: int,
    n_kv_heads: int | None = None,
    top_k: int = 2,
    n_shared: int = 1,
    vocab_size: int = DEFAULT_VOCAB,
) -> MoEArch:
    """The architecture with ratio ``r`` and per-token forward compute ``c_token`` (FLOPs) at
    ``sparsity``, depth and heads fixed, widths rounded; its achieved ``r`` and ``c_token`` lie
    within ``TOLERANCE`` of the request or an ``InputError`` says which bound was hit."""
    for name, value in (("r", r), ("c_token", c_token)):
        _check_finite(name, value)
        if value <= 0:
            raise InputError(f"{name} must be > 0, got {value!r}")
    n_kv_heads = n_heads if n_kv_heads is None else n_kv_heads
    for name, value in (("n_layers", n_layers), ("n_heads", n_heads), ("d_model", d_model),
                        ("n_ctx", n_ctx), ("n_kv_heads", n_kv_heads), ("top_k", top_k),
                        ("vocab_size", vocab_size)):
        if not isinstance(value, int) or value < 1:
            raise InputError(f"{name} must be a positive integer, got {value!r}")
    if n_shared < 0:
        raise InputError(f"n_shared must be >= 0, got {n_shared!r}")
    if n_heads % n_kv_heads:
        raise InputError(f"n_heads ({n_heads}) must be a multiple of n_kv_heads ({n_kv_heads})")
    n_routed = experts_for_sparsity(sparsity, top_k, n_shared) - n_shared
    base = dict(d_model=d_model, n_layers=n_layers, n_heads=n_heads, n_kv_heads=n_kv_heads,
                n_routed=n_routed, n_shared=n_shared, top_k=top_k, n_ctx=n_ctx, vocab_size=vocab_size)

    c_attention = c_token / (1 + r)
    per_head = flops.attention_layer(d_model, n_heads, n_ctx, n_heads / n_kv_heads)  # linear in d_attn
    head_dim_exact = c_attention / (n_layers * per_head)
    if head_dim_exact < WIDTH_MULTIPLE:
        raise InputError(
            f"attention width too small: head_dim would be {head_dim_exact:.2f} < {WIDTH_MULTIPLE} "
            f"(r={r:g} too large or c_token={c_token:g} too small for {n_layers} layers x {n_heads} heads)"
        )

    def d_expert_exact(head_dim: int) -> float:
        c_expert = c_token - n_layers * per_head * head_dim
        router = flops.expert_layer(d_model, 0, n_routed, top_k, n_shared)
        per_width = flops.expert_layer(d_model, 1, 0, top_k, n_shared)
        return (c_expert / n_layers - router) / per_width

    if d_expert_exact(round(head_dim_exact)) < WIDTH_MULTIPLE:
        raise InputError(
            f"expert width too small: d_expert would be {d_expert_exact(round(head_dim_exact)):.2f} "
            f"< {WIDTH_MULTIPLE} (r={r:g} too small or c_token={c_token:g} too small for d_model={d_model}, "
            f"{n_routed} routed experts)"
        )

    def error(arch: MoEArch) -> float:
        return max(abs(arch.r / r - 1), abs(arch.c_token / c_token - 1))

    # Coarsest granularities that meet the tolerance: multiples of 8 suit flash attention and grouped
    # GEMMs; finer grains are a fallback for widths too small to round by 8 (tiny CPU models).
    best = None
    for head_grain, expert_grain in GRAINS:
        for head_dim in _neighbours(head_dim_exact, head_grain):
            for d_expert in _neighbours(d_expert_exact(head_dim), expert_grain):
                arch = MoEArch(head_dim=head_dim, d_expert=d_expert, **base)
                if best is None or error(arch) < error(best):
                    best = arch
        if error(best) <= TOLERANCE:
            return best
    raise InputError(
        f"no rounded architecture within {TOLERANCE:.0%} of r={r:g}, c_token={c_token:g}: the nearest "
        f"has r={best.r:.4g}, c_token={best.c_token:.4g} (widths too small to round finely; raise c_token)"
    )


def solve_preset(r: float, sparsity: float, name: str, c_token: float | None = None, **overrides) -> MoEArch:
    """``solve`` with a size preset's depth, heads, width and context (and its nominal c_token)."""
    p = preset(name)
    shape = dict(n_layers=p.n_layers, n_heads=p.n_heads, d_model=p.d_model, n_ctx=p.n_ctx)
    shape.update(overrides)
    return solve(r, p.c_token if c_token is None else c_token, sparsity, **shape)


def _neighbours(exact: float, grain: int) -> list[int]:
    """The multiples of ``grain`` just below and above ``exact`` (at least ``grain``)."""
    low = max(grain, math.floor(exact / grain) * grain)
    return sorted({low, low + grain})


def _check_finite(name: str, value) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise InputError(f"{name} must be a finite number, got {value!r}")
