"""Attention's share of a compiled step, probed apart (#14 item 6): SDPA's backends (cuDNN, the trainer's
default pick on an H100; FlashAttention-2; memory-efficient) and FlexAttention, fwd+bwd at the 20M and 100M
presets' shapes, causal, bf16; and the q/k/v projections as three matmuls against one fused. Prints JSON lines:
median ms of 10 calls after 3 warm-ups, and TFLOP/s of the causal work (half the score and mixing FLOPs).

    PYTHONPATH=. python experiments/gpu_node/probe_attention.py > probe_attention.jsonl
"""

import json

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.nn.attention.flex_attention import create_block_mask, flex_attention

from bayes_moe.train.bench import _time_ms as median_ms

SHAPES = {"20M": (96, 8, 48, 384), "100M": (32, 12, 64, 768)}  # micro-batch, heads, head_dim, d_model
T = 2048


def attention_probe(name, b, h, d):
    q, k, v = (torch.randn(b, T, h, d, device="cuda", dtype=torch.bfloat16).transpose(1, 2).requires_grad_()
               for _ in range(3))
    grad = torch.randn(b, h, T, d, device="cuda", dtype=torch.bfloat16)
    flops = 3.5 * 4 * b * h * T * T * d / 2  # fwd + bwd (2.5x fwd) of the causal half
    block_mask = create_block_mask(lambda b_, h_, qi, ki: qi >= ki, None, None, T, T)
    flex = torch.compile(flex_attention)
    variants = {backend.name: (lambda backend=backend: _sdpa(q, k, v, grad, backend)) for backend in
                (SDPBackend.CUDNN_ATTENTION, SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION)}
    variants["FLEX"] = lambda: flex(q, k, v, block_mask=block_mask).backward(grad)
    for variant, fn in variants.items():
        try:
            ms = median_ms(fn)
            print(json.dumps({"size": name, "attention": variant, "ms": ms, "tflops": flops / ms / 1e9}), flush=True)
        except Exception as error:
            print(json.dumps({"size": name, "attention": variant, "error": f"{type(error).__name__}: {error}"[:200]}))


def _sdpa(q, k, v, grad, backend):
    with sdpa_kernel(backend):
        F.scaled_dot_product_attention(q, k, v, is_causal=True).backward(grad)


def projection_probe(name, b, d_model):
    x = torch.randn(b * T, d_model, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    three = [torch.randn(d_model, d_model, device="cuda", dtype=torch.bfloat16, requires_grad=True) for _ in range(3)]
    fused = torch.randn(3 * d_model, d_model, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    grad = torch.randn(b * T, d_model, device="cuda", dtype=torch.bfloat16)
    flops = 3 * 3 * 2 * b * T * d_model * d_model

    def separate():
        sum(F.linear(x, w) * (i + 1) for i, w in enumerate(three)).backward(grad)

    def together():
        qkv = F.linear(x, fused)
        sum(part * (i + 1) for i, part in enumerate(qkv.split(d_model, dim=-1))).backward(grad)

    for variant, fn in (("three", torch.compile(separate)), ("fused", torch.compile(together))):
        ms = median_ms(fn)
        print(json.dumps({"size": name, "qkv": variant, "ms": ms, "tflops": flops / ms / 1e9}), flush=True)


if __name__ == "__main__":
    print(json.dumps({"device": torch.cuda.get_device_name(), "torch": torch.__version__}))
    for name, (b, h, d, d_model) in SHAPES.items():
        attention_probe(name, b, h, d)
        projection_probe(name, b, d_model)
