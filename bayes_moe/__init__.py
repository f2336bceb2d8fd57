"""bayes_moe: how to split per-token FLOPs between attention and experts in an MoE, and how sure we are."""

__version__ = "0.1.0"
