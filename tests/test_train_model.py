"""The MoE decoder: exact parameter count, FLOPs as flops.py counts them, grouped dispatch == per-expert reference."""

import pytest
import torch
import torch.nn.functional as F

from bayes_moe import arch
from bayes_moe.train.flopcount import count_forward_flops, peak_bf16_for_name
from bayes_moe.train.loop import make_optimizer
from bayes_moe.train.settings import TrainConfig
from bayes_moe.train.model import MoEGPT
from bayes_moe.train.moe import MoE, _Dispatch, _Permute, grouped_experts, grouped_mm_supported, reference_experts, top_k_indices

pytestmark = pytest.mark.skipif(not grouped_mm_supported(torch.device("cpu")),
                                reason="this torch has no CPU grouped_mm")


def small_arch(**kw):
    shape = dict(n_layers=2, n_heads=4, d_model=64, n_ctx=32)
    shape.update(kw)
    return arch.solve(1.0, 2e6, 0.9538, **shape)


@pytest.mark.parametrize("preset", ["tiny", "20M", "100M"])
def test_parameter_count_equals_arch_n_total(preset):
    a = arch.solve_preset(1.0, 0.9538, preset)
    with torch.device("meta"):
        model = MoEGPT(a)
    assert sum(p.numel() for p in model.parameters()) == a.n_total


def test_parameter_count_with_gqa_and_two_shared_experts():
    a = arch.solve(0.7, 3e6, 0.9, n_layers=2, n_heads=4, n_kv_heads=2, d_model=64, n_ctx=32, n_shared=2, top_k=1)
    assert sum(p.numel() for p in MoEGPT(a).parameters()) == a.n_total


@pytest.mark.parametrize("kv_heads", [4, 2])
def test_forward_flops_match_flops_py(kv_heads):
    """flops.py counts full-context attention (4 n_ctx d_attn per token) and logits apart; torch's counter
    counts SDPA over the whole (b, h, n_ctx, n_ctx) score matrix, so at length n_ctx both agree."""
    a = small_arch(n_kv_heads=kv_heads)
    idx = torch.randint(0, a.vocab_size, (2, a.n_ctx))
    counted = count_forward_flops(MoEGPT(a), idx)
    expected = idx.numel() * (a.c_token + a.logits_flops)
    assert counted == pytest.approx(expected, rel=0.02)


@pytest.mark.parametrize("d_model,d_expert", [(64, 48), (60, 27)])  # 27, 60: not multiples of 8 (padded path)
def test_grouped_experts_match_reference_forward_and_backward(d_model, d_expert):
    torch.manual_seed(0)
    n_experts, rows = 5, 37
    counts = torch.tensor([9, 0, 13, 1, 14])  # an empty expert included
    offsets = counts.cumsum(0).to(torch.int32)
    x = torch.randn(rows, d_model, dtype=torch.float32)
    w1 = torch.randn(n_experts, d_model, 2 * d_expert, dtype=torch.float32) / d_model ** 0.5
    w2 = torch.randn(n_experts, d_expert, d_model, dtype=torch.float32) / d_expert ** 0.5
    grad = torch.randn(rows, d_model, dtype=torch.float32)
    results = []
    for fn in (grouped_experts, reference_experts):
        leaves = [t.clone().requires_grad_() for t in (x, w1, w2)]
        out = fn(*leaves, offsets)
        out.backward(grad)
        results.append([out.detach()] + [t.grad for t in leaves])
    for got, want in zip(*results):
        assert torch.allclose(got, want, rtol=1e-4, atol=1e-5)


def test_moe_layer_grouped_equals_reference_path():
    torch.manual_seed(1)
    layers = [MoE(32, 24, n_routed=6, n_shared=1, top_k=2, grouped=g) for g in (True, False)]
    layers[0].reset_parameters(0.1, 0.1)
    layers[1].load_state_dict(layers[0].state_dict())
    x = torch.randn(3, 11, 32, dtype=torch.float32)
    outs = [layer(x)[0] for layer in layers]
    assert torch.allclose(outs[0], outs[1], atol=1e-5)
    grads = [torch.autograd.grad(o.square().sum(), layer.w_gate_up)[0] for o, layer in zip(outs, layers)]
    assert torch.allclose(grads[0], grads[1], atol=1e-4)
    assert layers[0].load.sum() == x.shape[0] * x.shape[1] * 2  # every token routed to top_k experts


def test_top_k_indices_pick_what_topk_picks_in_its_order():
    torch.manual_seed(3)
    scores = torch.randn(500, 64)
    for k in (1, 2, 6):
        assert torch.equal(top_k_indices(scores, k), scores.topk(k, dim=-1).indices)
    tied = torch.tensor([[0.5, 0.9, 0.9, 0.1]])
    assert top_k_indices(tied, 2).tolist() == [[1, 2]]


def _bf16_experts(model: MoEGPT) -> MoEGPT:
    """``model`` with its routed experts computing in bf16, as on a GPU."""
    for layer in model.moe_layers:
        layer.compute_dtype = torch.bfloat16
    return model


def test_model_compiles_to_one_graph():
    """No graph breaks (a data-dependent shape such as bincount's broke it at every MoE layer):
    torch.compile fuses across the whole model, and CUDA graphs become possible."""
    a = arch.solve_preset(1.0, 0.9538, "tiny")
    model = _bf16_experts(MoEGPT(a))  # grouped_mm's shape check wants bf16 when traced
    model.refresh_casts()
    explained = torch._dynamo.explain(model)(torch.randint(0, a.vocab_size, (2, a.n_ctx)))
    assert (explained.graph_count, explained.graph_break_count) == (1, 0), explained.break_reasons


def test_router_stays_fp32_under_bf16_autocast():
    torch.manual_seed(2)
    layer = MoE(64, 16, n_routed=8, n_shared=1, top_k=2)
    layer.reset_parameters(0.1, 0.1)
    x = torch.randn(256, 64)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = layer.router_logits(x)
    assert logits.dtype == torch.float32
    assert torch.equal(logits, F.linear(x, layer.router))


@pytest.mark.parametrize("fused", [False, True])
def test_low_precision_expert_copies_follow_every_optimizer_step(fused):
    """The trainer's optimizer remakes the bf16 copies of the routed weights after every step, fused AdamW
    included (it does not bump the weights' version counters: copies keyed on them computed with the
    initial experts for a whole run): after two steps the model computes exactly as a fresh one with the
    same weights, and gradients reach the fp32 weights."""
    torch.manual_seed(2)
    a = small_arch()
    model = _bf16_experts(MoEGPT(a))
    model.refresh_casts()
    optimizer = make_optimizer(model, TrainConfig(batch_size=2, lr=1e-2), fused=fused)
    idx = torch.randint(0, a.vocab_size, (2, a.n_ctx))
    for _ in range(2):
        logits, _ = model(idx)
        logits.float().square().mean().backward()
        assert model.moe_layers[0].w_gate_up.grad.dtype == torch.float32
        assert model.moe_layers[0].w_gate_up.grad.abs().sum() > 0
        optimizer.step()
        optimizer.zero_grad()
    fresh = _bf16_experts(MoEGPT(a))
    fresh.load_state_dict(model.state_dict())
    assert model.moe_layers[0].w_gate_up_cast is not None and fresh.moe_layers[0].w_gate_up_cast is None
    assert torch.equal(model(idx)[0], fresh(idx)[0])


def test_compiled_forward_reads_the_copies_refreshed_once_per_step():
    """Compiled, the bf16 copies are graph inputs: a weight change reaches the compiled layer at the
    next ``refresh_casts`` (the trainer calls it once per step), not before, and without recompiling."""
    torch.manual_seed(2)
    layer = MoE(32, 24, n_routed=6, n_shared=1, top_k=2, compute_dtype=torch.bfloat16)
    layer.reset_parameters(0.1, 0.1)
    x = torch.randn(2, 9, 32)
    graphs = []

    def backend(graph, inputs):
        graphs.append(graph)
        return graph.forward

    compiled = torch.compile(layer, backend=backend, fullgraph=True, dynamic=False)
    layer.refresh_casts()
    before = compiled(x)[0]
    with torch.no_grad():
        layer.w_down.mul_(2.0)
    stale = compiled(x)[0]
    layer.refresh_casts()
    after = compiled(x)[0]
    assert torch.equal(stale, before)
    assert torch.equal(after, layer(x)[0]) and not torch.equal(after, before)
    assert len(graphs) == 1


def test_dispatch_and_permute_gradients():
    """The gather-only backwards of the token permutation equal autograd's (float64 gradcheck)."""
    torch.manual_seed(3)
    chosen = torch.randint(0, 4, (5, 2))
    order = chosen.flatten().argsort(stable=True)
    inverse = order.argsort()
    x = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    rows = torch.randn(10, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: _Dispatch.apply(t, order, inverse, 2), (x,))
    assert torch.autograd.gradcheck(lambda t: _Permute.apply(t, inverse, order), (rows,))
    assert torch.equal(_Dispatch.apply(x, order, inverse, 2), x[order // 2])


def test_bias_balancing_moves_selection_toward_underloaded_experts():
    layer = MoE(16, 8, n_routed=4, n_shared=0, top_k=1, balance="bias")
    layer.update_bias(torch.tensor([10.0, 0.0, 0.0, 2.0]), rate=0.5)
    assert layer.expert_bias.tolist() == [-0.5, 0.5, 0.5, 0.5]


def test_causal_model_ignores_future_tokens():
    a = small_arch()
    model = MoEGPT(a).eval()
    idx = torch.randint(0, a.vocab_size, (1, 16))
    changed = idx.clone()
    changed[0, 10:] = (changed[0, 10:] + 1) % a.vocab_size
    with torch.no_grad():
        assert torch.allclose(model(idx)[0][0, :10], model(changed)[0][0, :10], atol=1e-5)
    logits, aux = model(idx)
    loss = F.cross_entropy(logits.flatten(0, 1), idx.flatten())
    assert torch.isfinite(loss) and set(aux) == {"balance", "z"}


@pytest.mark.parametrize("name,peak", [
    ("NVIDIA H100 80GB HBM3", 989e12),  # SXM, as the lent H100 machines report it
    ("NVIDIA H100 PCIe", 756e12),
    ("NVIDIA H100 NVL", 835e12),
    ("NVIDIA H200", 989e12),
    ("NVIDIA H200 NVL", 835e12),
    ("NVIDIA A100-SXM4-80GB", 312e12),
    ("NVIDIA GeForce RTX 4090", None),
])
def test_mfu_peak_tells_h100_boards_apart(name, peak):
    assert peak_bf16_for_name(name) == peak
