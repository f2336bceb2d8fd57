"""GPU benchmark of the trainer (``make bench``): training tokens/s and MFU of the 20M, 55M and 100M
presets at r = 1, S = 0.9538, n_ctx 2048, and one MoE layer's fwd+bwd time against a dense SwiGLU FFN
with the same active FLOPs (width (top_k + n_shared) * d_expert), and the bf16 MoE layer's error
against its fp32 per-expert reference. A training step is one optimizer step of the preset's global
batch (gradient accumulation over micro-batches), as the trainer runs it. Writes JSON.

MFU = 3 * (C_A + C_E + logits) FLOPs per token (flops.py) * tokens/s / the GPU's dense bf16 peak
(train/flopcount.py; H100 SXM: 989 TFLOP/s).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from bayes_moe import arch as arch_module
from bayes_moe import flops
from bayes_moe.train.flopcount import peak_bf16_flops
from bayes_moe.train.model import MoEGPT
from bayes_moe.train.moe import MoE

PRESETS = ("20M", "55M", "100M")
STEP_REPEATS = 3  # an optimizer step of the 100M global batch is seconds long
R, SPARSITY = 1.0, 0.9538


def _time_ms(fn, warmup: int = 3, repeat: int = 10) -> float:
    """Median milliseconds of ``fn`` between CUDA events, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def profile_top(fn, calls: int = 3, rows: int = 15) -> list[dict]:
    """The CUDA kernels and ops that take most of ``fn``'s GPU time (self time, so nested ops are
    not counted twice), per call of ``fn``."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for _ in range(calls):
            fn()
        torch.cuda.synchronize()
    events = sorted(prof.key_averages(), key=lambda e: e.self_device_time_total, reverse=True)[:rows]
    return [{"name": e.key[:160], "cuda_ms_per_call": e.self_device_time_total / 1e3 / calls,
             "count_per_call": e.count / calls} for e in events]


def train_step_bench(a: arch_module.MoEArch, batch: int, micro_batch: int, compile: bool,
                     profile: bool = False, compile_mode: str = "default") -> dict:
    """Time full optimizer steps: ``batch`` sequences (the preset's global batch) in micro-batches
    of ``micro_batch`` (gradient accumulation), then one fused AdamW step, as the trainer runs them;
    with ``profile``, also the kernels that take the step's GPU time."""
    device = torch.device("cuda")
    model = MoEGPT(a).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
    step_model = torch.compile(model, mode=compile_mode) if compile else model
    micro_steps = batch // micro_batch
    xs = [torch.randint(0, a.vocab_size, (micro_batch, a.n_ctx), device=device) for _ in range(2)]

    def step():
        for i in range(micro_steps):
            x = xs[i % 2]
            if compile:  # a new step for CUDA graphs (mode reduce-overhead): earlier outputs may be overwritten
                torch.compiler.cudagraph_mark_step_begin()
            with torch.autocast("cuda", dtype=torch.bfloat16):
                logits, aux = step_model(x)
                loss = F.cross_entropy(logits.float().flatten(0, 1), x.flatten()) + 1e-2 * aux["balance"] + 1e-3 * aux["z"]
            (loss / micro_steps).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    ms = _time_ms(step, warmup=2, repeat=STEP_REPEATS)
    tokens_per_s = micro_steps * micro_batch * a.n_ctx / (ms / 1e3)
    peak = peak_bf16_flops(device)
    result = {"step_ms": ms, "batch": micro_steps * micro_batch, "micro_batch": micro_batch,
              "tokens_per_s": tokens_per_s, "compile": compile, "compile_mode": compile_mode if compile else None,
              "model_flops_per_token": flops.TRAIN_FACTOR * (a.c_token + a.logits_flops),
              "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30}
    if peak:
        result["mfu"] = result["model_flops_per_token"] * tokens_per_s / peak
    if profile:
        result["profile_top"] = profile_top(step, calls=1, rows=25)
    del model, optimizer, step_model
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    return result


class DenseSwiGLU(nn.Module):
    def __init__(self, d_model: int, d_ff: int):
        super().__init__()
        self.gate_up = nn.Linear(d_model, 2 * d_ff, bias=False)
        self.down = nn.Linear(d_ff, d_model, bias=False)

    def forward(self, x):
        gate, up = self.gate_up(x).chunk(2, dim=-1)
        return self.down(F.silu(gate) * up)


def layer_bench(a: arch_module.MoEArch, tokens: int, profile: bool) -> dict:
    """fwd + bwd of one MoE layer and of the dense SwiGLU with the same active expert FLOPs."""
    device = torch.device("cuda")
    moe = MoE(a.d_model, a.d_expert, a.n_routed, a.n_shared, a.top_k).to(device)
    moe.reset_parameters(0.02, 0.02)
    dense = DenseSwiGLU(a.d_model, (a.top_k + a.n_shared) * a.d_expert).to(device)
    x = torch.randn(tokens, a.d_model, device=device, requires_grad=True)
    grad = torch.randn(tokens, a.d_model, device=device)

    def run(layer):
        def fwd_bwd():
            with torch.autocast("cuda", dtype=torch.bfloat16):
                out = layer(x)
                out = out[0] if isinstance(out, tuple) else out
            out.backward(grad.to(out.dtype))
        return fwd_bwd

    result = {"tokens": tokens, "moe_ms": _time_ms(run(moe)), "dense_ms": _time_ms(run(dense))}
    result["moe_over_dense"] = result["moe_ms"] / result["dense_ms"]
    if profile:
        result["moe_profile_top"] = profile_top(run(moe))
    return result


def bf16_error(a: arch_module.MoEArch, tokens: int = 8192) -> dict:
    """Relative error (||got - want|| / ||want||) of the bf16 grouped MoE layer against the fp32
    per-expert reference on fresh random input: output and the routed weights' gradients."""
    device = torch.device("cuda")
    torch.manual_seed(0)
    layers = [MoE(a.d_model, a.d_expert, a.n_routed, a.n_shared, a.top_k, grouped=grouped, compute_dtype=dtype)
              for grouped, dtype in ((True, torch.bfloat16), (False, torch.float32))]
    layers[0].reset_parameters(0.02, 0.02)
    layers[1].load_state_dict(layers[0].state_dict())
    x, grad = torch.randn(tokens, a.d_model, device=device), torch.randn(tokens, a.d_model, device=device)
    results = []
    for layer in layers:
        layer.to(device)
        out, _ = layer(x)
        out.float().backward(grad)
        results.append((out.float(), layer.w_gate_up.grad, layer.w_down.grad))
    return {name: float((got - want).norm() / want.norm())
            for name, got, want in zip(("output", "grad_w_gate_up", "grad_w_down"), *results)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    parser.add_argument("--micro-batch", type=int, default=32, help="sequences of 2048 tokens per forward (32)")
    parser.add_argument("--batch", type=int, default=None, help="sequences per optimizer step (default: the preset's)")
    parser.add_argument("--compile", choices=("off", "on", "both"), default="both")
    parser.add_argument("--compile-mode", default="default",
                        help="torch.compile mode: default, reduce-overhead (CUDA graphs), max-autotune, ...")
    parser.add_argument("--profile", action="store_true",
                        help="add the top GPU kernels of a training step and of the MoE layer (last preset)")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        raise SystemExit("bench needs a CUDA GPU")
    device = torch.device("cuda")
    report = {"device": torch.cuda.get_device_name(device), "torch": torch.__version__, "python": platform.python_version(),
              "peak_bf16_flops": peak_bf16_flops(device), "r": R, "sparsity": SPARSITY, "presets": {}}
    modes = {"off": [False], "on": [True], "both": [False, True]}[args.compile]
    for name in args.presets:
        a = arch_module.solve_preset(R, SPARSITY, name)
        entry = {"arch": a.summary(), "train": []}
        batch = args.batch or arch_module.preset(name).batch_size
        profile = args.profile and name == args.presets[-1]
        for compile in modes:
            try:
                entry["train"].append(train_step_bench(a, batch, args.micro_batch, compile, profile,
                                                       args.compile_mode))
            except Exception as error:  # a compile failure is a result to report, not a crash
                entry["train"].append({"compile": compile, "error": f"{type(error).__name__}: {error}"[:500]})
            print(name, {k: v for k, v in entry["train"][-1].items() if k != "profile_top"}, flush=True)
        entry["layer"] = layer_bench(a, args.micro_batch * a.n_ctx, profile)
        print(name, {k: v for k, v in entry["layer"].items() if k != "moe_profile_top"}, flush=True)
        entry["bf16_error"] = bf16_error(a)
        print(name, "bf16 vs fp32 reference", entry["bf16_error"], flush=True)
        report["presets"][name] = entry
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2))  # after each preset: a cut-off run keeps what it measured


if __name__ == "__main__":
    main()
