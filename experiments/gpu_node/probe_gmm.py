"""Two cheap ways to the MFU goal (#14), probed on one GPU at the 100M preset's routed shapes: can the routed
weight gradients come out of the grouped GEMM in fp32 (no bf16 -> fp32 copy before accumulating them), and how much
faster is the router's fp32 matmul on TF32 tensor cores. Results: experiments/gpu_node/logs/mfu_tf32_router/."""
import torch, time
F = torch.nn.functional
gmm = getattr(F, "grouped_mm", None) or torch._grouped_mm
E, d, de, T = 64, 768, 792, 131072
x = torch.randn(T, d, device="cuda", dtype=torch.bfloat16)
dy = torch.randn(T, 2 * de, device="cuda", dtype=torch.bfloat16)
offs = (torch.arange(1, E + 1, device="cuda") * (T // E)).to(torch.int32)
for od in (None, torch.float32):
    try:
        w = gmm(x.t(), dy, offs=offs, out_dtype=od)
        torch.cuda.synchronize(); t = time.perf_counter()
        for _ in range(20): w = gmm(x.t(), dy, offs=offs, out_dtype=od)
        torch.cuda.synchronize(); print("wgrad out_dtype", od, w.dtype, tuple(w.shape), f"{(time.perf_counter()-t)/20*1e3:.3f} ms")
    except Exception as e:
        print("wgrad out_dtype", od, "FAILED", type(e).__name__, str(e)[:200])
a = torch.randn(T, d, device="cuda"); wr = torch.randn(E, d, device="cuda")
for prec in ("highest", "high"):
    torch.set_float32_matmul_precision(prec)
    l = F.linear(a, wr); torch.cuda.synchronize(); t = time.perf_counter()
    for _ in range(50): l = F.linear(a, wr)
    torch.cuda.synchronize(); print("router fp32 fwd", prec, f"{(time.perf_counter()-t)/50*1e3:.3f} ms")
