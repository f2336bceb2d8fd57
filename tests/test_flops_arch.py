"""FLOPs accounting checked by hand, and the architecture solver's round trips."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bayes_moe import arch, flops
from bayes_moe.errors import InputError


def test_attention_flops_by_hand():
    # d=512, d_attn=512, n_ctx=1024, MHA: Q 2*512*512 + KV 4*512*512 + O 2*512*512 + ctx 4*1024*512
    assert flops.attention_layer(512, 512, 1024) == 524_288 + 1_048_576 + 524_288 + 2_097_152
    # GQA with 4x fewer KV heads shrinks only the K and V projections
    assert flops.attention_layer(512, 512, 1024, kv_ratio=4) == 524_288 + 262_144 + 524_288 + 2_097_152


def test_expert_flops_by_hand():
    # router 2*256*16 = 8192; (2 routed + 1 shared) * 3 matrices * 2*256*128 = 589_824
    assert flops.expert_layer(256, 128, n_routed=16, top_k=2, n_shared=1) == 8_192 + 589_824


def test_arch_totals_by_hand():
    a = arch.MoEArch(d_model=256, n_layers=2, n_heads=4, n_kv_heads=2, head_dim=32, n_routed=16, n_shared=1,
                     top_k=2, d_expert=128, n_ctx=512, vocab_size=1000)
    # per layer: Q 2*256*128=65_536, KV 4*256*128/2=65_536, O 65_536, ctx 4*512*128=262_144
    assert a.C_A == 2 * (65_536 * 3 + 262_144)
    assert a.C_E == 2 * (8_192 + 589_824)
    assert a.r == pytest.approx(a.C_E / a.C_A)
    assert a.sparsity == pytest.approx(14 / 17)
    assert a.logits_flops == 2 * 256 * 1000
    # params per layer: wq 256*128, wk+wv 2*256*64, wo 128*256, router 256*16, norms 2*256, experts 3*256*128 each
    layer_fixed = 32_768 + 32_768 + 32_768 + 4_096 + 512
    assert a.n_total == 2 * (layer_fixed + 17 * 98_304) + 1000 * 256 + 256
    assert a.n_active == 2 * (layer_fixed + 3 * 98_304) + 1000 * 256 + 256
    assert arch.MoEArch.from_dict(a.to_dict()) == a


def test_training_compute_and_tokens_are_inverse():
    assert flops.training_compute(1e8, 1e9) == 3e17
    assert flops.tokens_for_compute(3e17, 1e8) == pytest.approx(1e9)


@pytest.mark.parametrize(("sparsity", "experts"), [(0.8235, 17), (0.9091, 33), (0.9538, 65), (0.9767, 129), (0.0, 3)])
def test_paper_sparsities_map_to_expert_counts(sparsity, experts):
    assert arch.experts_for_sparsity(sparsity) == experts


def test_unachievable_sparsity_lists_neighbours():
    with pytest.raises(InputError, match=r"0\.9535 .*nearest achievable: 0\.953125 \(E=64\), 0\.953846 \(E=65\)"):
        arch.experts_for_sparsity(0.9535)


@pytest.mark.parametrize("value", [-0.1, 1.0, math.nan, math.inf])
def test_sparsity_out_of_range(value):
    with pytest.raises(InputError, match="sparsity"):
        arch.experts_for_sparsity(value)


SHAPE = dict(n_layers=10, n_heads=10, d_model=640, n_ctx=2048)


def test_solve_the_issue_example():
    c_token = arch.PRESETS["55M"].c_token
    a = arch.solve(0.8, c_token, 0.9538, **SHAPE)
    assert a.n_experts == 65 and a.d_expert % 8 == 0 and a.head_dim % 8 == 0
    assert a.r == pytest.approx(0.8, rel=0.02) and a.c_token == pytest.approx(c_token, rel=0.02)


@pytest.mark.parametrize(
    ("request_", "bound"),
    [
        (dict(r=50.0, c_token=2e8, sparsity=0.9538), "attention width too small"),
        (dict(r=0.001, c_token=2e8, sparsity=0.9538), "expert width too small"),
        (dict(r=-1.0, c_token=2e8, sparsity=0.9538), "r must be > 0"),
        (dict(r=1.0, c_token=math.nan, sparsity=0.9538), "c_token must be a finite number"),
        (dict(r=1.0, c_token=2e8, sparsity=0.951), "not achievable"),
    ],
)
def test_impossible_requests_name_the_bound(request_, bound):
    with pytest.raises(InputError, match=bound):
        arch.solve(**request_, **SHAPE)


def test_heads_must_divide():
    with pytest.raises(InputError, match="multiple of n_kv_heads"):
        arch.solve(1.0, 2e8, 0.9538, n_kv_heads=3, **SHAPE)


def test_every_preset_solves_at_r_one():
    for name, p in arch.PRESETS.items():
        a = arch.solve_preset(1.0, 0.9538, name)
        assert a.c_token == pytest.approx(p.c_token, rel=0.02), name


def test_two_head_preset_builds_the_large_r_that_eight_heads_cannot():
    with pytest.raises(InputError, match="attention width too small"):
        arch.solve_preset(40.0, 0.9538, "20M")
    wide = arch.solve_preset(47.0, 0.9538, "20M-2h")
    assert (wide.n_heads, wide.head_dim) == (2, 8) and wide.r == pytest.approx(47.0, rel=0.02)
    assert wide.c_token == pytest.approx(arch.PRESETS["20M"].c_token, rel=0.02)  # same per-token compute


@settings(max_examples=300, deadline=None)
@given(
    r=st.floats(0.1, 4.0),
    c_token=st.floats(1e7, 1e10),
    experts=st.integers(3, 257),
    shape=st.sampled_from([(8, 8, 384), (10, 10, 640), (14, 12, 768), (16, 16, 1024), (4, 4, 256)]),
    n_ctx=st.sampled_from([512, 2048, 4096]),
)
def test_solver_round_trip(r, c_token, experts, shape, n_ctx):
    """Either the solved architecture hits r and c_token within 2% and the exact sparsity,
    or the request is rejected for a named width bound."""
    layers, heads, d_model = shape
    sparsity = arch.expert_sparsity(experts)
    try:
        a = arch.solve(r, c_token, sparsity, n_layers=layers, n_heads=heads, d_model=d_model, n_ctx=n_ctx)
    except InputError as error:
        assert "width too small" in str(error) or "no rounded architecture" in str(error)
        return
    assert abs(a.r / r - 1) <= arch.TOLERANCE
    assert abs(a.c_token / c_token - 1) <= arch.TOLERANCE
    assert a.n_experts == experts and a.sparsity == pytest.approx(sparsity)
    assert a.head_dim >= 1 and a.d_expert >= 1 and a.n_active < a.n_total or experts == 3
