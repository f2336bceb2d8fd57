"""The MoE sublayer: ``n_shared`` shared SwiGLU experts every token uses plus ``top_k`` of ``n_routed``
routed ones, chosen by an fp32 softmax router; no token is dropped.

Routed experts run as two grouped GEMMs over tokens sorted by expert (``grouped_mm``, int32 end
offsets, bf16 on GPUs); ``reference_experts`` is the per-expert loop the tests compare against.
Load balancing is either the Switch aux loss plus router z-loss (``balance='aux'``), or the
aux-loss-free per-expert selection bias of DeepSeek-V3 (``balance='bias'``), updated by the trainer
after each optimizer step from the loads the layer saw.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

GROUPED_MM = getattr(F, "grouped_mm", None) or getattr(torch, "_grouped_mm", None)
GEMM_ALIGN = 8  # bf16 rows must be 16-byte aligned for the grouped GEMM kernels
BALANCE_MODES = ("aux", "bias")


def grouped_mm_supported(device: torch.device) -> bool:
    """torch has grouped_mm, and the device runs it (CPU in recent torch; CUDA from sm_80)."""
    if GROUPED_MM is None:
        return False
    if device.type == "cuda":
        return torch.cuda.get_device_capability(device)[0] >= 8
    return device.type == "cpu"


def _pad(t: torch.Tensor, dim: int, multiple: int) -> torch.Tensor:
    extra = -t.shape[dim] % multiple
    if not extra:
        return t
    pad = [0, 0] * (t.dim() - dim % t.dim() - 1) + [0, extra]
    return F.pad(t, pad)


def grouped_experts(x: torch.Tensor, w_gate_up: torch.Tensor, w_down: torch.Tensor,
                    offsets: torch.Tensor) -> torch.Tensor:
    """SwiGLU of each row of ``x`` (sorted by expert; expert e owns rows offsets[e-1]:offsets[e])
    through its expert's weights, as two grouped GEMMs. Widths that are not multiples of 8 are
    zero-padded (padded hidden units give silu(0) * 0 = 0), so any width is exact."""
    d_expert = w_down.shape[-1]
    dtype = torch.bfloat16 if x.is_cuda else x.dtype
    gate_up = w_gate_up.unflatten(1, (2, d_expert))  # (E, 2, d_expert, d)
    gate_up = _pad(_pad(gate_up, 2, GEMM_ALIGN), 3, GEMM_ALIGN).flatten(1, 2).to(dtype)
    down = _pad(_pad(w_down, 1, GEMM_ALIGN), 2, GEMM_ALIGN).to(dtype)
    rows = _pad(x, -1, GEMM_ALIGN).to(dtype)
    # weights are stored (E, out, in) like nn.Linear, so mat_b is the column-major (E, in, out) view
    gate, up = GROUPED_MM(rows, gate_up.transpose(-2, -1), offs=offsets).chunk(2, dim=-1)
    out = GROUPED_MM((F.silu(gate) * up).contiguous(), down.transpose(-2, -1), offs=offsets)
    return out[:, : x.shape[-1]].to(x.dtype)


def reference_experts(x: torch.Tensor, w_gate_up: torch.Tensor, w_down: torch.Tensor,
                      offsets: torch.Tensor) -> torch.Tensor:
    """What ``grouped_experts`` computes, one plain matmul pair per expert (tests, CPU fallback)."""
    outputs, start = [], 0
    for e, end in enumerate(offsets.tolist()):
        gate, up = F.linear(x[start:end], w_gate_up[e]).chunk(2, dim=-1)
        outputs.append(F.linear(F.silu(gate) * up, w_down[e]))
        start = end
    return torch.cat(outputs)


class MoE(nn.Module):
    def __init__(self, d_model: int, d_expert: int, n_routed: int, n_shared: int, top_k: int,
                 balance: str = "aux", grouped: bool | None = None):
        super().__init__()
        if balance not in BALANCE_MODES:
            raise ValueError(f"balance must be one of {BALANCE_MODES}, got {balance!r}")
        self.n_routed, self.top_k, self.balance, self.grouped = n_routed, top_k, balance, grouped
        self.router = nn.Parameter(torch.empty(n_routed, d_model))
        # routed experts: gate and up fused along the last axis; the shared experts, whose outputs
        # add up, are one SwiGLU of width n_shared * d_expert (same parameters, one matmul)
        self.w_gate_up = nn.Parameter(torch.empty(n_routed, 2 * d_expert, d_model))  # (E, out, in)
        self.w_down = nn.Parameter(torch.empty(n_routed, d_model, d_expert))
        self.shared_gate_up = nn.Parameter(torch.empty(2 * n_shared * d_expert, d_model)) if n_shared else None
        self.shared_down = nn.Parameter(torch.empty(d_model, n_shared * d_expert)) if n_shared else None
        self.register_buffer("expert_bias", torch.zeros(n_routed))  # selection bias, 'bias' mode only
        self.register_buffer("load", torch.zeros(n_routed), persistent=False)  # last forward's counts

    def reset_parameters(self, std: float, out_std: float) -> None:
        for w in (self.router, self.w_gate_up, self.shared_gate_up):
            if w is not None:
                nn.init.normal_(w, std=std)
        for w in (self.w_down, self.shared_down):
            if w is not None:
                nn.init.normal_(w, std=out_std)
        self.expert_bias.zero_()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``x``: (..., d_model). Returns the output and the aux terms {'balance', 'z'} (fp32 scalars)."""
        shape = x.shape
        x = x.reshape(-1, shape[-1])
        logits = F.linear(x.float(), self.router.float())  # fp32 router
        probs = logits.softmax(dim=-1)
        scores = probs + self.expert_bias if self.balance == "bias" else probs
        chosen = scores.topk(self.top_k, dim=-1).indices  # (T, k)
        weights = probs.gather(-1, chosen)
        weights = weights / weights.sum(-1, keepdim=True)  # gates of the chosen experts sum to 1

        counts = torch.bincount(chosen.flatten(), minlength=self.n_routed)
        self.load = counts.detach().float()
        fraction = counts.float() / chosen.numel()
        aux = {"balance": self.n_routed * (fraction * probs.mean(0)).sum(),  # Switch Transformer
               "z": torch.logsumexp(logits, dim=-1).square().mean()}  # ST-MoE router z-loss

        out = self._routed(x, chosen, weights, counts)
        if self.shared_gate_up is not None:
            gate, up = F.linear(x, self.shared_gate_up).chunk(2, dim=-1)
            out = out + F.linear(F.silu(gate) * up, self.shared_down)
        return out.reshape(shape), aux

    def _routed(self, x, chosen, weights, counts) -> torch.Tensor:
        order = chosen.flatten().argsort(stable=True)  # (T*k,) assignment slots sorted by expert
        rows = x[order // self.top_k]
        offsets = counts.cumsum(0).to(torch.int32)  # offsets[-1] == T*k: no row past the last offset
        grouped = grouped_mm_supported(x.device) if self.grouped is None else self.grouped
        y_sorted = (grouped_experts if grouped else reference_experts)(rows, self.w_gate_up, self.w_down, offsets)
        y = torch.empty_like(y_sorted)
        y[order] = y_sorted  # back to (token, slot) order
        y = y.view(-1, self.top_k, x.shape[-1])
        return (y * weights.unsqueeze(-1).to(y.dtype)).sum(1)

    @torch.no_grad()
    def update_bias(self, load: torch.Tensor, rate: float) -> None:
        """DeepSeek-V3's aux-loss-free step: raise the bias of under-loaded experts, lower the others."""
        self.expert_bias += rate * torch.sign(load.mean() - load)


def balance_stats(loads: list[torch.Tensor]) -> dict[str, float]:
    """Routing balance over layers from per-expert token counts: the most loaded expert's share over
    the uniform share (1 = perfect), and the coefficient of variation of the loads, averaged over layers."""
    max_load, cv = [], []
    for load in loads:
        share = load / load.sum()
        max_load.append(float(share.max() * share.numel()))
        cv.append(float(share.std(unbiased=False) / share.mean()))
    return {"routing_max_load": sum(max_load) / len(loads), "routing_cv": sum(cv) / len(loads),
            "routing_max_load_worst_layer": max(max_load)}


def init_std(d_model: int, n_layers: int) -> tuple[float, float]:
    """GPT-2 initialisation: 0.02, and 0.02 / sqrt(2 n_layers) for projections into the residual."""
    return 0.02, 0.02 / math.sqrt(2 * n_layers)
