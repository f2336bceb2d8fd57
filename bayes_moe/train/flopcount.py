"""Measured FLOPs (``torch.utils.flop_counter``) and the accelerator peak that MFU is taken against.

torch 2.13's FlopCounterMode has no formula for ``aten._grouped_mm`` nor for the CPU flash-attention
kernel that ``scaled_dot_product_attention`` dispatches to on CPU; ``count_forward_flops`` registers
both (matmul FLOPs: 2 per multiply-add, full-context attention as torch counts it on GPU).
"""

from __future__ import annotations

import torch
from torch.utils import flop_counter
from torch.utils.flop_counter import FlopCounterMode, register_flop_formula, sdpa_flop_count

aten = torch.ops.aten

# Dense bf16 tensor-core peaks (no sparsity), FLOP/s, from NVIDIA's datasheets, by a part of the name
# torch.cuda.get_device_name reports; the first match counts, so the form factors come before the bare
# chip. The SXM boards report no form factor ("NVIDIA H100 80GB HBM3"); NVL and PCIe boards run at
# lower clocks and power.
PEAK_BF16 = (
    ("H100 NVL", 835e12),
    ("H100 PCIe", 756e12),
    ("H100", 989e12),  # SXM5
    ("H200 NVL", 835e12),
    ("H200", 989e12),  # SXM, and GH200
    ("A100", 312e12),  # SXM4 and PCIe alike
)


def peak_bf16_for_name(name: str) -> float | None:
    """The datasheet dense bf16 peak of the GPU called ``name``, or None where unknown."""
    return next((peak for key, peak in PEAK_BF16 if key in name), None)


def peak_bf16_flops(device: torch.device) -> float | None:
    """The datasheet dense bf16 peak of ``device``'s GPU, or None where unknown (CPU included)."""
    if device.type != "cuda":
        return None
    return peak_bf16_for_name(torch.cuda.get_device_name(device))


def _grouped_mm_flops(a_shape, b_shape, *args, out_shape=None, **kwargs) -> int:
    """2D ``a`` (rows, k) against 3D ``b`` (groups, k, n): each row meets one group's matrix."""
    return 2 * a_shape[0] * a_shape[1] * b_shape[-1]


def _cpu_sdpa_flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    return sdpa_flop_count(query_shape, key_shape, value_shape)


def _register_missing() -> None:
    for target, formula in ((aten._grouped_mm, _grouped_mm_flops),
                            (aten._scaled_dot_product_flash_attention_for_cpu, _cpu_sdpa_flops)):
        if target not in flop_counter.flop_registry:
            register_flop_formula(target)(formula)


def count_forward_flops(model: torch.nn.Module, idx: torch.Tensor) -> int:
    """Matmul FLOPs of one forward pass of ``model`` on ``idx``, as FlopCounterMode counts them."""
    _register_missing()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(idx)
    return counter.get_total_flops()
