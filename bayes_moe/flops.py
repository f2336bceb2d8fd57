"""FLOPs accounting of docs/paper.md (Appendix C): matmuls only, per token, forward.

Every function is pure arithmetic on widths, so it accepts floats and numpy arrays alike. The
backward pass costs about twice the forward, so training costs ``3 *`` forward; the factor cancels
in ``r = C_E / C_A``. Logits are reported apart and are not part of ``compute`` (docs/units.md).
"""

from __future__ import annotations

TRAIN_FACTOR = 3.0  # forward + backward (~2x forward)


def attention_layer(d_model, d_attn, n_ctx, kv_ratio=1.0):
    """Forward FLOPs per token of one attention sublayer.

    Q projection ``2 d d_attn``; K and V ``4 d d_attn / kv_ratio`` (GQA); scores ``2 n_ctx d_attn``;
    value mixing ``2 n_ctx d_attn`` (the paper prints ``2 n_ctx d^2``, a typo); output ``2 d_attn d``.
    Scores and mixing count the full context, as the paper does, not the causal half.
    """
    projections = 2 * d_model * d_attn + 4 * d_model * d_attn / kv_ratio + 2 * d_attn * d_model
    context = 4 * n_ctx * d_attn
    return projections + context


def expert_layer(d_model, d_expert, n_routed, top_k, n_shared):
    """Forward FLOPs per token of one MoE sublayer: router ``2 d E_routed`` plus the SwiGLU experts
    a token uses, ``(top_k + n_shared) * 3 matrices * 2 d d_expert``."""
    router = 2 * d_model * n_routed
    experts = (top_k + n_shared) * 3 * 2 * d_model * d_expert
    return router + experts


def logits(d_model, vocab_size):
    """Forward FLOPs per token of the output projection (reported apart, not in ``compute``)."""
    return 2 * d_model * vocab_size


def ratio(c_expert, c_attention):
    """``r = C_E / C_A``: a ratio, not the expert fraction ``r / (1 + r)``."""
    return c_expert / c_attention


def training_compute(c_token, tokens):
    """Total training FLOPs of attention and expert sublayers: ``3 (C_A + C_E) tokens``."""
    return TRAIN_FACTOR * c_token * tokens


def tokens_for_compute(compute, c_token):
    """Token budget that spends ``compute`` training FLOPs at ``c_token`` forward FLOPs per token."""
    return compute / (TRAIN_FACTOR * c_token)
