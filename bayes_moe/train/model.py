"""GPT-style decoder whose every FFN is an MoE sublayer (train/moe.py), built from an ``MoEArch``.

Pre-norm residual blocks: RMSNorm, causal self-attention (RoPE, GQA, ``scaled_dot_product_attention``),
RMSNorm, MoE. No biases; the LM head is the token embedding (tied). Its parameters are exactly
``MoEArch.n_total`` and its matmul FLOPs per token ``C_A + C_E + logits`` (tests/test_train_model.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from bayes_moe.arch import MoEArch
from bayes_moe.train.moe import MoE, init_std

NORM_EPS = 1e-6
ROPE_BASE = 10000.0


def rope_tables(n_ctx: int, head_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of RoPE over the even part of ``head_dim`` (an odd last unit stays unrotated)."""
    half = head_dim // 2
    inv_freq = ROPE_BASE ** (-torch.arange(half, dtype=torch.float32) / max(half, 1))
    angles = torch.outer(torch.arange(n_ctx, dtype=torch.float32), inv_freq)
    return angles.cos(), angles.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate pairs (x[i], x[i + half]) of ``x`` (batch, heads, time, head_dim) by position."""
    half = cos.shape[-1]
    x1, x2, rest = x[..., :half], x[..., half:2 * half], x[..., 2 * half:]
    cos, sin = cos[: x.shape[-2]].to(x.dtype), sin[: x.shape[-2]].to(x.dtype)
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos, rest], dim=-1)


class Attention(nn.Module):
    def __init__(self, arch: MoEArch):
        super().__init__()
        self.n_heads, self.n_kv_heads, self.head_dim = arch.n_heads, arch.n_kv_heads, arch.head_dim
        kv = arch.n_kv_heads * arch.head_dim
        self.wq = nn.Linear(arch.d_model, arch.d_attn, bias=False)
        self.wk = nn.Linear(arch.d_model, kv, bias=False)
        self.wv = nn.Linear(arch.d_model, kv, bias=False)
        self.wo = nn.Linear(arch.d_attn, arch.d_model, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        q = self.wq(x).view(b, t, self.n_heads, self.head_dim).transpose(1, 2)
        k = self.wk(x).view(b, t, self.n_kv_heads, self.head_dim).transpose(1, 2)
        v = self.wv(x).view(b, t, self.n_kv_heads, self.head_dim).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                           enable_gqa=self.n_kv_heads != self.n_heads)
        return self.wo(y.transpose(1, 2).reshape(b, t, -1))


class Block(nn.Module):
    def __init__(self, arch: MoEArch, balance: str, grouped: bool | None):
        super().__init__()
        self.attn_norm = nn.RMSNorm(arch.d_model, eps=NORM_EPS)
        self.attn = Attention(arch)
        self.moe_norm = nn.RMSNorm(arch.d_model, eps=NORM_EPS)
        self.moe = MoE(arch.d_model, arch.d_expert, arch.n_routed, arch.n_shared, arch.top_k, balance, grouped)

    def forward(self, x, cos, sin):
        x = x + self.attn(self.attn_norm(x), cos, sin)
        y, aux = self.moe(self.moe_norm(x))
        return x + y, aux


class MoEGPT(nn.Module):
    """``forward(idx)`` returns logits (batch, time, vocab) and the aux terms summed over layers."""

    def __init__(self, arch: MoEArch, balance: str = "aux", grouped: bool | None = None):
        super().__init__()
        self.arch = arch
        self.embed = nn.Embedding(arch.vocab_size, arch.d_model)
        self.blocks = nn.ModuleList(Block(arch, balance, grouped) for _ in range(arch.n_layers))
        self.norm = nn.RMSNorm(arch.d_model, eps=NORM_EPS)
        cos, sin = rope_tables(arch.n_ctx, arch.head_dim)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        std, out_std = init_std(self.arch.d_model, self.arch.n_layers)
        nn.init.normal_(self.embed.weight, std=std)
        for block in self.blocks:
            for linear in (block.attn.wq, block.attn.wk, block.attn.wv):
                nn.init.normal_(linear.weight, std=std)
            nn.init.normal_(block.attn.wo.weight, std=out_std)
            block.moe.reset_parameters(std, out_std)

    @property
    def moe_layers(self) -> list[MoE]:
        return [block.moe for block in self.blocks]

    def refresh_casts(self) -> None:
        """The routed weights' compute-dtype copies, made again after every change of the weights (``MoE.refresh_casts``)."""
        for layer in self.moe_layers:
            layer.refresh_casts()

    def forward(self, idx: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        x = self.embed(idx)
        aux = {"balance": x.new_zeros((), dtype=torch.float32), "z": x.new_zeros((), dtype=torch.float32)}
        for block in self.blocks:
            x, layer_aux = block(x, self.rope_cos, self.rope_sin)
            aux = {k: aux[k] + layer_aux[k] for k in aux}
        logits = F.linear(self.norm(x), self.embed.weight)  # tied LM head
        return logits, aux
