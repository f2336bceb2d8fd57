"""The MoE sublayer: ``n_shared`` shared SwiGLU experts every token uses plus ``top_k`` of ``n_routed``
routed ones, chosen by an fp32 softmax router; no token is dropped.

Routed experts run as two grouped GEMMs over tokens sorted by expert (``grouped_mm``, int32 end
offsets, bf16 on GPUs); ``reference_experts`` is the per-expert loop the tests compare against.
Load balancing is either the Switch aux loss plus router z-loss (``balance='aux'``), or the
aux-loss-free per-expert selection bias of DeepSeek-V3 (``balance='bias'``), updated by the trainer
once per optimizer step from the tokens the layer routed over all its micro-batches (``load`` counts
them until ``reset_load``).
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


def top_k_indices(scores: torch.Tensor, k: int) -> torch.Tensor:
    """``scores.topk(k).indices`` as k rounds of argmax, each masking its winner: torch.compile fuses
    these into the router's softmax kernel, where ``topk`` is a separate sort kernel (5.6 of a 20M
    step's 170 ms on an H100). Ties go to the lower index."""
    picks = []
    for _ in range(k):
        picks.append(scores.argmax(dim=-1, keepdim=True))
        scores = scores.scatter(-1, picks[-1], float("-inf"))
    return torch.cat(picks, dim=-1)


def _pad(t: torch.Tensor, dim: int, multiple: int) -> torch.Tensor:
    extra = -t.shape[dim] % multiple
    if not extra:
        return t
    pad = [0, 0] * (t.dim() - dim % t.dim() - 1) + [0, extra]
    return F.pad(t, pad)


def grouped_experts(x: torch.Tensor, w_gate_up: torch.Tensor, w_down: torch.Tensor,
                    offsets: torch.Tensor) -> torch.Tensor:
    """SwiGLU of each row of ``x`` (sorted by expert; expert e owns rows offsets[e-1]:offsets[e])
    through its expert's weights, as two grouped GEMMs in ``x``'s dtype. Weights are stored
    (E, in, out), the layout grouped_mm takes, so the weight gradients come back contiguous. Widths
    that are not multiples of 8 are zero-padded (padded hidden units give silu(0) * 0 = 0)."""
    d_model, d_expert = w_down.shape[-1], w_down.shape[-2]
    gate_up = w_gate_up.unflatten(-1, (2, d_expert))  # (E, d, 2, d_expert)
    gate_up = _pad(_pad(gate_up, 1, GEMM_ALIGN), 3, GEMM_ALIGN).flatten(2).to(x.dtype)
    down = _pad(_pad(w_down, 1, GEMM_ALIGN), 2, GEMM_ALIGN).to(x.dtype)
    gate, up = GROUPED_MM(_pad(x, -1, GEMM_ALIGN), gate_up, offs=offsets).chunk(2, dim=-1)
    out = GROUPED_MM((F.silu(gate) * up).contiguous(), down, offs=offsets)
    return out[:, :d_model]


def reference_experts(x: torch.Tensor, w_gate_up: torch.Tensor, w_down: torch.Tensor,
                      offsets: torch.Tensor) -> torch.Tensor:
    """What ``grouped_experts`` computes, one plain matmul pair per expert (tests, CPU fallback)."""
    outputs, start = [], 0
    for e, end in enumerate(offsets.tolist()):
        gate, up = (x[start:end] @ w_gate_up[e].to(x.dtype)).chunk(2, dim=-1)
        outputs.append((F.silu(gate) * up) @ w_down[e].to(x.dtype))
        start = end
    return torch.cat(outputs)


class _CastOnce(torch.autograd.Function):
    """``weight`` seen as ``cast``, a lower-precision copy made from it beforehand: the forward costs
    nothing and the backward hands the gradient to ``weight`` in its own dtype."""

    @staticmethod
    def forward(ctx, weight, cast):
        ctx.dtype = weight.dtype
        return cast

    @staticmethod
    def backward(ctx, grad):
        return grad.to(ctx.dtype), None


class _Dispatch(torch.autograd.Function):
    """``x[order // k]``: each token's row once per assignment, in expert order. The backward gathers
    the k slots of each token and adds them, instead of index_select's atomic scatter-add."""

    @staticmethod
    def forward(ctx, x, order, inverse, k):
        ctx.save_for_backward(inverse)
        ctx.k = k
        return x.index_select(0, order // k)

    @staticmethod
    def backward(ctx, grad):
        (inverse,) = ctx.saved_tensors
        return grad.index_select(0, inverse).unflatten(0, (-1, ctx.k)).sum(1), None, None, None


class _Permute(torch.autograd.Function):
    """``x[index]`` for a permutation ``index`` whose inverse is ``inverse``: the backward is the
    inverse gather, not an atomic scatter-add."""

    @staticmethod
    def forward(ctx, x, index, inverse):
        ctx.save_for_backward(inverse)
        return x.index_select(0, index)

    @staticmethod
    def backward(ctx, grad):
        (inverse,) = ctx.saved_tensors
        return grad.index_select(0, inverse), None, None


class MoE(nn.Module):
    def __init__(self, d_model: int, d_expert: int, n_routed: int, n_shared: int, top_k: int,
                 balance: str = "aux", grouped: bool | None = None, compute_dtype: torch.dtype | None = None):
        """``compute_dtype``: the routed experts' matmul dtype; None: bf16 on GPUs, the input's elsewhere."""
        super().__init__()
        if balance not in BALANCE_MODES:
            raise ValueError(f"balance must be one of {BALANCE_MODES}, got {balance!r}")
        self.n_routed, self.top_k, self.balance, self.grouped = n_routed, top_k, balance, grouped
        self.compute_dtype = compute_dtype
        self.router = nn.Parameter(torch.empty(n_routed, d_model))
        # routed experts, stored (E, in, out) as grouped_mm takes them, gate and up fused along the
        # last axis; the shared experts, whose outputs add up, are one SwiGLU of width
        # n_shared * d_expert (same parameters, one matmul)
        self.w_gate_up = nn.Parameter(torch.empty(n_routed, d_model, 2 * d_expert))
        self.w_down = nn.Parameter(torch.empty(n_routed, d_expert, d_model))
        # compute-dtype copies of the routed weights, made once per optimizer step (``refresh_casts``)
        self.register_buffer("w_gate_up_cast", None, persistent=False)
        self.register_buffer("w_down_cast", None, persistent=False)
        self.shared_gate_up = nn.Parameter(torch.empty(2 * n_shared * d_expert, d_model)) if n_shared else None
        self.shared_down = nn.Parameter(torch.empty(d_model, n_shared * d_expert)) if n_shared else None
        self.register_buffer("expert_bias", torch.zeros(n_routed))  # selection bias, 'bias' mode only
        # tokens routed to each expert since the last reset_load(): a step's micro-batches, or an evaluation
        self.register_buffer("load", torch.zeros(n_routed), persistent=False)

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
        logits = self.router_logits(x)
        probs = logits.softmax(dim=-1)
        scores = probs + self.expert_bias if self.balance == "bias" else probs
        chosen = top_k_indices(scores, self.top_k)  # (T, k)
        weights = probs.gather(-1, chosen)
        weights = weights / weights.sum(-1, keepdim=True)  # gates of the chosen experts sum to 1

        # bincount's output shape depends on the data, which breaks torch.compile's graph at every layer
        slots = chosen.flatten()
        counts = torch.zeros(self.n_routed, dtype=torch.int64, device=x.device).scatter_add_(0, slots, torch.ones_like(slots))
        self.load.add_(counts.detach().float())
        fraction = counts.float() / chosen.numel()
        aux = {"balance": self.n_routed * (fraction * probs.mean(0)).sum(),  # Switch Transformer
               "z": torch.logsumexp(logits, dim=-1).square().mean()}  # ST-MoE router z-loss

        out = self._routed(x, chosen, weights, counts)
        if self.shared_gate_up is not None:
            gate, up = F.linear(x, self.shared_gate_up).chunk(2, dim=-1)
            out = out + F.linear(F.silu(gate) * up, self.shared_down)
        return out.reshape(shape), aux

    def router_logits(self, x: torch.Tensor) -> torch.Tensor:
        """The router in fp32, also under bf16 autocast (which would otherwise run this matmul in
        bf16 and let rounding decide close top-k choices)."""
        with torch.autocast(x.device.type, enabled=False):
            return F.linear(x.float(), self.router.float())

    def _routed(self, x, chosen, weights, counts) -> torch.Tensor:
        """Gather tokens into expert order (one row per assignment, in the compute dtype), two grouped
        GEMMs, gather back into (token, slot) order and mix the k slots by their gates."""
        dtype = self._compute_dtype(x)
        order = chosen.flatten().argsort(stable=True)  # (T*k,) assignment slots sorted by expert
        inverse = torch.empty_like(order).scatter_(0, order, torch.arange(order.numel(), device=order.device))
        rows = _Dispatch.apply(x.to(dtype), order, inverse, self.top_k)
        offsets = counts.cumsum(0).to(torch.int32)  # offsets[-1] == T*k: no row past the last offset
        grouped = grouped_mm_supported(x.device) if self.grouped is None else self.grouped
        experts = grouped_experts if grouped else reference_experts
        y_sorted = experts(rows, *self._expert_weights(dtype), offsets)
        y = _Permute.apply(y_sorted, inverse, order).view(-1, self.top_k, x.shape[-1])  # (T, k, d)
        return (y * weights.to(dtype).unsqueeze(-1)).sum(1)

    def _compute_dtype(self, like: torch.Tensor) -> torch.dtype:
        """The routed experts' matmul dtype: ``compute_dtype``, else bf16 on GPUs and ``like``'s elsewhere."""
        return self.compute_dtype or (torch.bfloat16 if like.is_cuda else like.dtype)

    def _expert_weights(self, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """The routed weights in ``dtype``: the copies ``refresh_casts`` made, where it was called, else
        cast here. At S = 0.95 a cast moves as many bytes as the grouped GEMMs do work, and with k
        micro-batches a step would cast k times: the trainer refreshes the copies once per optimizer step."""
        weights = (self.w_gate_up, self.w_down)
        if weights[0].dtype == dtype:
            return weights
        if self.w_gate_up_cast is None or self.w_gate_up_cast.dtype != dtype:
            return weights[0].to(dtype), weights[1].to(dtype)
        return _CastOnce.apply(weights[0], self.w_gate_up_cast), _CastOnce.apply(weights[1], self.w_down_cast)

    @torch.no_grad()
    def refresh_casts(self) -> None:
        """Copy the routed weights into their compute-dtype copies, in place (a compiled graph reads them as
        inputs). From the first call on, the forward computes with the copies, so whoever changes the
        weights calls this after: the trainer's optimizer does after every step. Nothing can tell by
        itself: fused AdamW updates the weights without bumping their version counters."""
        dtype = self._compute_dtype(self.w_gate_up)
        if self.w_gate_up.dtype == dtype:
            return
        for name in ("w_gate_up", "w_down"):
            weight, copy = getattr(self, name), getattr(self, name + "_cast")
            if copy is None or copy.dtype != dtype or copy.device != weight.device:
                setattr(self, name + "_cast", weight.detach().to(dtype))
            else:
                copy.copy_(weight)

    @torch.no_grad()
    def reset_load(self) -> None:
        self.load.zero_()

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
