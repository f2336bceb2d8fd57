"""MoE architectures: the widths a run trains, and the solver from (r, C_token, S) to widths.

The paper varies ``r`` at fixed per-token compute by resizing the attention width and the expert
width independently, with depth and heads fixed (docs/paper.md). ``solve`` does exactly that, rounding
widths to multiples that bf16 kernels like, and the resulting ``MoEArch`` reports the ``r``,
``c_token`` and ``sparsity`` it really has, so the ledger records what was trained.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from bayes_moe import flops
from bayes_moe.errors import InputError
from bayes_moe.fields import check_sparsity

DEFAULT_VOCAB = 4096  # the shipped tokenizer's vocabulary (train/data.py; docs/trainer.md says why 4096)
WIDTH_MULTIPLE = 8  # bf16 rows of 16 bytes, as grouped GEMMs and flash attention want
MAX_WIDTH = 2**20  # a head or expert 16x wider than any trained model's: the c_token asked for is a typo
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
    """A size label of docs/paper.md (Table 2): depth, heads, batch and learning rate are the paper's;
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
        return nominal_c_token(self.n_layers, self.d_model, self.n_ctx)


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


def nominal_c_token(n_layers: int, d_model: int, n_ctx: int) -> float:
    """Per-token compute of a shape's r = 1 architecture with ``d_attn = d_model``: the c_token a
    shape is made for (presets, ladder rungs)."""
    return 2 * n_layers * flops.attention_layer(d_model, d_model, n_ctx)


def preset(name: str) -> Preset:
    if name not in PRESETS:
        raise InputError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


def expert_sparsity(n_experts: int, top_k: int = 2, n_shared: int = 1) -> float:
    """S = (E - E_act) / E, with E counting shared experts too (docs/paper.md)."""
    return (n_experts - top_k - n_shared) / n_experts


def experts_for_sparsity(sparsity: float, top_k: int = 2, n_shared: int = 1) -> int:
    """The total expert count E whose sparsity is ``sparsity``; an error lists the nearest achievable."""
    sparsity = check_sparsity(sparsity)
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
    if d_model < WIDTH_MULTIPLE:
        raise InputError(f"d_model must be >= {WIDTH_MULTIPLE}, got {d_model!r}")
    if n_heads % n_kv_heads:
        raise InputError(f"n_heads ({n_heads}) must be a multiple of n_kv_heads ({n_kv_heads})")
    n_routed = experts_for_sparsity(sparsity, top_k, n_shared) - n_shared
    base = dict(d_model=d_model, n_layers=n_layers, n_heads=n_heads, n_kv_heads=n_kv_heads,
                n_routed=n_routed, n_shared=n_shared, top_k=top_k, n_ctx=n_ctx, vocab_size=vocab_size)

    head_dim_exact, d_expert_exact = _exact_widths(r, c_token, base)
    if head_dim_exact < WIDTH_MULTIPLE:
        raise InputError(
            f"attention width too small: head_dim would be {head_dim_exact:.2f} < {WIDTH_MULTIPLE} "
            f"(r={r:g} too large or c_token={c_token:g} too small for {n_layers} layers x {n_heads} heads)"
        )
    widest = max(head_dim_exact, d_expert_exact(round(head_dim_exact)))
    if widest > MAX_WIDTH:
        raise InputError(f"widths too large: {widest:.3g} > {MAX_WIDTH} (c_token={c_token:g} too large for "
                         f"{n_layers} layers x {n_heads} heads and d_model={d_model}: add layers or heads)")

    if d_expert_exact(round(head_dim_exact)) < WIDTH_MULTIPLE:
        raise InputError(
            f"expert width too small: d_expert would be {d_expert_exact(round(head_dim_exact)):.2f} "
            f"< {WIDTH_MULTIPLE} (r={r:g} too small or c_token={c_token:g} too small for d_model={d_model}, "
            f"{n_routed} routed experts)"
        )

    def error(arch: MoEArch) -> float:
        return max(abs(arch.r / r - 1), abs(arch.c_token / c_token - 1))

    # Coarsest granularities that meet the tolerance: multiples of 8 suit flash attention and grouped
    # GEMMs; finer grains are a fallback for widths too small to round by 8 (tiny CPU models). Given a
    # rounded head_dim, the expert widths near exact c_token and those near exact r are both tried: with
    # many heads one step of head_dim moves r more than the tolerance when c_token is kept exact.
    best = None
    for head_grain, expert_grain in GRAINS:
        for head_dim in _neighbours(head_dim_exact, head_grain):
            widths = {w for keep_r in (False, True) for w in _neighbours(d_expert_exact(head_dim, keep_r), expert_grain)}
            for d_expert in sorted(widths):
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


# --- sizes from compute ---------------------------------------------------------------------------

LADDER_N_CTX = 2048
LADDER_HEAD_DIM = 64  # d_model / n_heads of a rung: head_dim 64 at r = 1
MIN_HEAD_DIM = 32  # heads are dropped (down to one) until head_dim reaches this, where r allows
LADDER_SLACK = 4.0  # a run's c_token may lie this factor beyond the nominal of the ladder's end rungs
SIZE_TOLERANCE = 0.04  # |tokens / n_active / T - 1| accepted after rounding widths
SIZE_REQUESTS = tuple(k * 0.003 for k in range(-3, 4))  # relative nudges of c_token tried against rounding


@dataclass(frozen=True)
class Rung:
    """A shape of the size ladder: depth and heads grow with width, ``d_model / 64`` each."""

    n_layers: int
    n_heads: int
    d_model: int

    def shape(self, n_ctx: int) -> dict:
        return dict(n_layers=self.n_layers, d_model=self.d_model, n_ctx=n_ctx)


# d_model 128 .. 1024: about 2.4M to 210M active parameters at r = 1, S = 0.9538, n_ctx 2048, vocabulary 8192
LADDER = tuple(Rung(d // LADDER_HEAD_DIM, d // LADDER_HEAD_DIM, d) for d in range(128, 1025, 64))


def size_for_compute(r: float, compute: float, sparsity: float, tokens_per_param: float, *,
                     n_ctx: int = LADDER_N_CTX, vocab_size: int = DEFAULT_VOCAB) -> MoEArch:
    """The architecture with ratio ``r`` at ``sparsity`` whose token budget at ``compute`` FLOPs,
    ``compute / (3 c_token)``, is ``tokens_per_param`` times its ``n_active`` (within ``SIZE_TOLERANCE``).

    Since ``compute = 3 c_token tokens`` and ``n_active`` is affine in ``c_token`` on a fixed shape,
    ``3 T c_token n_active(c_token) = compute`` is a quadratic in ``c_token``. The shape is the ladder
    rung whose nominal c_token is nearest the solution at r = 1, so that every r at one compute shares
    depth and width; heads drop until ``head_dim >= MIN_HEAD_DIM`` where r leaves attention narrow."""
    for name, value in (("compute", compute), ("tokens_per_param", tokens_per_param)):
        _check_finite(name, value)
        if value <= 0:
            raise InputError(f"{name} must be > 0, got {value!r}")
    n_routed = experts_for_sparsity(sparsity) - 1
    common = dict(n_routed=n_routed, n_shared=1, top_k=2, vocab_size=vocab_size)

    def shape_of(rung: Rung, n_heads: int) -> dict:
        return {**rung.shape(n_ctx), "n_heads": n_heads, "n_kv_heads": n_heads, **common}

    def c_token_for(rung: Rung, ratio: float) -> float:
        return _c_token_at(ratio, compute, tokens_per_param, shape_of(rung, rung.n_heads))

    rung = min(LADDER, key=lambda g: abs(math.log(c_token_for(g, 1.0) / nominal_c_token(g.n_layers, g.d_model, n_ctx))))
    nominal = nominal_c_token(rung.n_layers, rung.d_model, n_ctx)
    c_token = c_token_for(rung, r)
    if not 1 / LADDER_SLACK <= c_token / nominal <= LADDER_SLACK:
        side = "small" if c_token < nominal else "large"
        raise InputError(
            f"compute {compute:.4g} FLOPs at {tokens_per_param:g} tokens per parameter needs c_token "
            f"{c_token:.3g}, too {side} for the size ladder (~2M to ~200M active parameters; its "
            f"{'smallest' if side == 'small' else 'largest'} rung is made for c_token {nominal:.3g})")
    d_attn = _exact_widths(r, c_token, shape_of(rung, rung.n_heads))[0] * rung.n_heads
    n_heads = max(1, min(rung.n_heads, math.floor(d_attn / MIN_HEAD_DIM)))

    def error(solved: MoEArch) -> float:
        return max(abs(solved.r / r - 1), abs(tokens_per_param_of(solved, compute) / tokens_per_param - 1))

    # The solver balances r and c_token; tokens / n_active moves about twice as fast as c_token, so
    # requests around the exact c_token are tried and the one nearest both r and T is kept.
    candidates, failure = [], None
    for step in SIZE_REQUESTS:
        try:
            candidates.append(solve(r, c_token * (1 + step), sparsity, vocab_size=vocab_size,
                                    **rung.shape(n_ctx), n_heads=n_heads))
        except InputError as error_:
            failure = error_
    if not candidates:
        raise failure
    best = min(candidates, key=error)
    if error(best) > SIZE_TOLERANCE:
        raise InputError(f"no rounded architecture within {SIZE_TOLERANCE:.0%} of r={r:g} and {tokens_per_param:g} "
                         f"tokens per parameter at compute {compute:.4g}: the nearest has r={best.r:.4g}, "
                         f"{tokens_per_param_of(best, compute):.3g} tokens per parameter")
    return best


def solve_run(r: float, compute: float, sparsity: float, *, preset: str | None = None,
              tokens_per_param: float | None = None) -> MoEArch:
    """A run's architecture: sized from its compute when ``tokens_per_param`` is given, else on the
    size preset's shape (the campaign's ``[space]`` says which; they are exclusive)."""
    if tokens_per_param is None:
        return solve_preset(r, sparsity, preset)
    if preset is not None:
        raise InputError(f"preset {preset!r} and tokens_per_param {tokens_per_param!r} are exclusive: runs are "
                         f"sized by one or the other")
    return size_for_compute(r, compute, sparsity, tokens_per_param)


def tokens_per_param_of(solved: MoEArch, compute: float) -> float:
    """Tokens per active parameter of ``solved`` trained on ``compute`` FLOPs."""
    return flops.tokens_for_compute(compute, solved.c_token) / solved.n_active


def _c_token_at(r: float, compute: float, tokens_per_param: float, shape: dict) -> float:
    """The c_token on ``shape`` (unrounded widths) with ``compute / (3 c_token) = T n_active``: the root
    of ``n1 c^2 + n0 c - compute / (3 T) = 0`` where ``n_active = n0 + n1 c`` (affine in c_token)."""

    def n_active(c_token: float) -> float:
        head_dim, d_expert = _exact_widths(r, c_token, shape)
        return MoEArch(head_dim=head_dim, d_expert=d_expert(head_dim), **shape).n_active

    n0 = n_active(0.0)
    n1 = n_active(1.0) - n0
    budget = flops.tokens_for_compute(compute, 1.0) / tokens_per_param  # c_token * n_active
    return 2 * budget / (n0 + math.sqrt(n0 * n0 + 4 * n1 * budget))


def _exact_widths(r: float, c_token: float, shape: dict):
    """The unrounded ``head_dim`` that gives attention ``c_token / (1 + r)`` on ``shape`` (MoEArch
    fields but the widths), and the unrounded ``d_expert`` given a head_dim: the one that spends the
    rest of ``c_token``, or with ``keep_r`` the one whose FLOPs are ``r`` times the attention's."""
    d, layers, heads, kv = shape["d_model"], shape["n_layers"], shape["n_heads"], shape["n_kv_heads"]
    per_head = flops.attention_layer(d, heads, shape["n_ctx"], heads / kv)  # linear in d_attn

    def d_expert_exact(head_dim: float, keep_r: bool = False) -> float:
        c_attention = layers * per_head * head_dim
        c_expert = r * c_attention if keep_r else c_token - c_attention
        router = flops.expert_layer(d, 0, shape["n_routed"], shape["top_k"], shape["n_shared"])
        per_width = flops.expert_layer(d, 1, 0, shape["top_k"], shape["n_shared"])
        return (c_expert / layers - router) / per_width

    return c_token / (1 + r) / (layers * per_head), d_expert_exact


def _neighbours(exact: float, grain: int) -> list[int]:
    """The multiples of ``grain`` just below and above ``exact`` (at least ``grain``)."""
    low = max(grain, math.floor(exact / grain) * grain)
    return sorted({low, low + grain})


def _check_finite(name: str, value) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise InputError(f"{name} must be a finite number, got {value!r}")
