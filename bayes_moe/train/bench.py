"""Trainer speed (``make bench``; GPU): training tokens/s and MFU of optimizer steps exactly as the trainer
runs them (``loop._build`` and ``loop._train_step``: micro-batch settling, compilation, fused AdamW,
data from the corpus), at the sizes campaigns use and larger; eager against compiled; over batch sizes;
and K runs sharing one GPU (K processes at once, aggregate tokens/s) against one. Then one MoE layer's
fwd+bwd against a dense SwiGLU of the same active FLOPs, and the bf16 MoE layer's error against its fp32
per-expert reference. Writes JSON after every measurement; ``--time-limit`` skips what would start late.

Sizes are preset names (``20M``, ``100M``, ...) or ``LxHxD`` shapes (layers, heads, d_model: the size
ladder's rungs are ``(d/64)x(d/64)xd``), solved at r = 1, S = 0.9538, n_ctx 2048.
MFU = 3 * (C_A + C_E + logits) FLOPs per token (flops.py) * tokens/s / the GPU's dense bf16 peak
(train/flopcount.py: H100 SXM 989, NVL 835, PCIe 756 TFLOP/s).
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from bayes_moe import arch as arch_module
from bayes_moe import flops
from bayes_moe.train import data, loop
from bayes_moe.train.launch import exit_status
from bayes_moe.train.plan import Plan
from bayes_moe.train.session import Rank
from bayes_moe.train.settings import TrainConfig
from bayes_moe.train.flopcount import peak_bf16_flops
from bayes_moe.train.moe import MoE

SIZES = ("2x2x128", "4x4x256", "6x6x384", "20M", "100M")
R, SPARSITY = 1.0, 0.9538
LADDER_BATCH = 32  # sequences per step of a shape that is no preset (campaign runs: 16-64)
WARMUP_STEPS = 2
SYNC_EVERY = 5  # timed steps between host syncs, as the trainer syncs every few steps


def size_arch(spec: str, n_ctx: int = 2048) -> tuple[arch_module.MoEArch, int]:
    """The architecture of a size spec and its batch (sequences per step); ``n_ctx`` applies to shapes
    (a preset has its own)."""
    if spec in arch_module.PRESETS:
        return arch_module.solve_preset(R, SPARSITY, spec), arch_module.preset(spec).batch_size
    try:
        n_layers, n_heads, d_model = (int(v) for v in spec.lower().split("x"))
    except ValueError:
        raise SystemExit(f"size {spec!r} is neither a preset ({', '.join(arch_module.PRESETS)}) nor LxHxD") from None
    nominal = arch_module.Preset(spec, n_layers, n_heads, d_model, batch_size=LADDER_BATCH, lr=1e-3, n_ctx=n_ctx)
    solved = arch_module.solve(R, nominal.c_token, SPARSITY, n_layers=n_layers, n_heads=n_heads, d_model=d_model,
                               n_ctx=n_ctx)
    return solved, nominal.batch_size


def step_bench(a: arch_module.MoEArch, batch: int, micro: int | None, compile: bool, seconds: float,
               device: torch.device, corpus: Path, ready=None, profile: bool = False) -> dict:
    """Tokens/s of the trainer's own steps (after ``WARMUP_STEPS``; timed for at least ``seconds``). The
    micro-batch is settled as in a run (``micro`` None: the largest that fits). ``ready`` is called after
    the warm-up (K processes sharing a GPU start timing together). ``profile``: then the top GPU kernels
    of two more steps, to see where a step's time goes."""
    config = TrainConfig.from_dict({"batch_size": batch, "lr": 1e-4, "micro_batch_size": micro,
                                         "compile": compile, "eval_tokens": a.n_ctx})
    plan = Plan(a, config, corpus, steps=10**9, tokens_per_step=batch * a.n_ctx)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as workspace:
        session, _ = loop._build(Path(workspace), 0, plan, Rank(device))
    for step in range(WARMUP_STEPS):
        loop._train_step(session, step)
    _synchronize(device)
    setup_s = time.perf_counter() - began
    if ready is not None:
        ready()
    steps, began = 0, time.perf_counter()
    while True:
        loop._train_step(session, WARMUP_STEPS + steps)
        steps += 1
        if steps % SYNC_EVERY == 0:
            _synchronize(device)
            if time.perf_counter() - began >= seconds:
                break
    elapsed = time.perf_counter() - began
    tokens_per_s = steps * batch * a.n_ctx / elapsed
    result = {"batch": batch, "micro_batch": session.micro, "compile": session.compiled, **session.notes,
              "steps": steps, "step_ms": 1e3 * elapsed / steps, "tokens_per_s": tokens_per_s, "setup_s": setup_s,
              "model_flops_per_token": flops.TRAIN_FACTOR * (a.c_token + a.logits_flops)}
    peak = peak_bf16_flops(device)
    if peak:
        result["mfu"] = result["model_flops_per_token"] * tokens_per_s / peak
        result["peak_memory_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    if profile and device.type == "cuda":
        result["step_profile_top"] = profile_top(functools.partial(loop._train_step, session, WARMUP_STEPS + steps),
                                                 calls=2, rows=60)
    del session
    _release(device)
    return result


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _release(device: torch.device) -> None:
    """Free what a measurement held (compiled graphs included) before the next."""
    torch._dynamo.reset()
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def share_bench(spec: str, batch: int, compile: bool, k: int, seconds: float, device: torch.device,
                n_ctx: int) -> dict:
    """K processes, each training ``spec`` on the same GPU, timed over the same window (they wait for each
    other after their warm-up): per-process and aggregate tokens/s. Micro-batch: the whole batch (the
    processes would otherwise each estimate the free memory as if alone)."""
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        command = [sys.executable, "-m", "bayes_moe.train.bench", "--worker", "--sizes", spec, "--batch", str(batch),
                   "--micro-batch", str(batch), "--compile", "on" if compile else "off", "--seconds", str(seconds),
                   "--device", device.type, "--n-ctx", str(n_ctx), "--barrier", str(folder), "--peers", str(k)]
        children = []
        for i in range(k):
            with open(folder / f"stderr_{i}.txt", "w") as stderr:
                children.append(subprocess.Popen(command + ["--out", str(folder / f"worker_{i}.json")], stderr=stderr))
        errors = [f"worker {i} {exit_status(child.wait())}: {(folder / f'stderr_{i}.txt').read_text()[-300:]}"
                  for i, child in enumerate(children) if child.wait() != 0]
        results = [json.loads(p.read_text()) for p in sorted(folder.glob("worker_*.json"))]
    entry = {"processes": k, "batch": batch, "compile": compile, "per_process": results,
             "aggregate_tokens_per_s": sum(r["tokens_per_s"] for r in results)}
    if results and "mfu" in results[0]:
        entry["aggregate_mfu"] = sum(r["mfu"] for r in results)
    if errors or len(results) != k:
        entry["error"] = "; ".join(errors) or f"{len(results)} of {k} workers reported"
    return entry


def _worker(args: argparse.Namespace, device: torch.device, corpus: Path) -> None:
    """One of ``share_bench``'s processes: warm up, wait for the others, time, write JSON."""
    a, _ = size_arch(args.sizes[0], args.n_ctx)
    barrier = Path(args.barrier)

    def ready():
        (barrier / f"ready_{args.out.stem}").touch()
        deadline = time.monotonic() + 900
        while len(list(barrier.glob("ready_*"))) < args.peers and time.monotonic() < deadline:
            time.sleep(0.05)

    result = step_bench(a, args.batch, args.micro_batch, args.compile == "on", args.seconds, device, corpus, ready)
    args.out.write_text(json.dumps(result))


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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), help=f"presets or LxHxD shapes (default {SIZES})")
    parser.add_argument("--compile", choices=("off", "on", "both"), default="both")
    parser.add_argument("--batch", type=int, help="sequences per step (default: the preset's, 32 for shapes)")
    parser.add_argument("--batches", type=int, nargs="*", default=[],
                        help="more batch sizes to time for the shapes that are no preset (compiled where on)")
    parser.add_argument("--micro-batch", type=int, help="sequences per forward (default: the largest that fits)")
    parser.add_argument("--share", type=int, nargs="*", default=[],
                        help="K processes sharing the GPU on --share-size (e.g. 1 2 4)")
    parser.add_argument("--share-size", default="4x4x256")
    parser.add_argument("--seconds", type=float, default=8.0, help="timed seconds per measurement (after warm-up)")
    parser.add_argument("--time-limit", type=float, default=1e9, help="start no measurement after this many seconds")
    parser.add_argument("--layer", action="store_true", help="also the MoE layer against dense, and the bf16 error")
    parser.add_argument("--profile", action="store_true",
                        help="the top GPU kernels of the trainer's steps (and of the MoE layer, with --layer)")
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda", help="cpu: tests of this script")
    parser.add_argument("--n-ctx", type=int, default=2048)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--barrier", help=argparse.SUPPRESS)
    parser.add_argument("--peers", type=int, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("bench needs a CUDA GPU (or --device cpu for a test of this script)")
    device = torch.device(args.device)
    corpus = data.resolve_corpus(None, Path("."))
    if args.worker:
        return _worker(args, device, corpus)
    started = time.monotonic()
    report = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
              "torch": torch.__version__, "python": platform.python_version(), "peak_bf16_flops": peak_bf16_flops(device),
              "r": R, "sparsity": SPARSITY, "n_ctx": args.n_ctx, "corpus": str(corpus), "sizes": {}, "skipped": []}
    modes = {"off": [False], "on": [True], "both": [False, True]}[args.compile]

    def measure(label: str, fn):
        """Run one measurement unless past the time limit; an error is a result, not a crash."""
        if time.monotonic() - started > args.time_limit:
            report["skipped"].append(label)
            return None
        try:
            result = fn()
        except Exception as error:
            result = {"error": f"{type(error).__name__}: {error}"[:500]}
        if "error" in result:  # released here, not in the except block, whose traceback holds the failed session
            _release(device)
        print(label, {k: v for k, v in result.items() if not k.endswith("profile_top")}, flush=True)
        return result

    def save():
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2))

    for spec in args.sizes:
        a, batch = size_arch(spec, args.n_ctx)
        entry = report["sizes"][spec] = {"arch": a.summary(), "n_active": a.n_active, "train": []}
        batches = [args.batch or batch] + ([b for b in args.batches if b != batch] if spec not in arch_module.PRESETS else [])
        for b in batches:
            for compile in modes if b == batches[0] else modes[-1:]:
                result = measure(f"{spec} batch {b} compile {compile}", lambda: step_bench(
                    a, b, args.micro_batch, compile, args.seconds, device, corpus, profile=args.profile))
                if result is not None:
                    entry["train"].append({"batch": b, "compile": compile, **result})
                save()
        if args.layer and device.type == "cuda":
            profile = args.profile and spec == args.sizes[-1]
            entry["layer"] = measure(f"{spec} layer", lambda: layer_bench(a, 32 * a.n_ctx, profile))
            entry["bf16_error"] = measure(f"{spec} bf16 error", lambda: bf16_error(a))
            save()
    if args.share:
        a, batch = size_arch(args.share_size, args.n_ctx)
        report["share"] = {"size": args.share_size, "arch": a.summary(), "runs": []}
        for k in args.share:
            result = measure(f"{args.share_size} x{k} processes", lambda: share_bench(
                args.share_size, args.batch or batch, modes[-1], k, args.seconds, device, args.n_ctx))
            if result is not None:
                report["share"]["runs"].append(result)
            save()
    report["wall_s"] = time.monotonic() - started
    save()


if __name__ == "__main__":
    main()
