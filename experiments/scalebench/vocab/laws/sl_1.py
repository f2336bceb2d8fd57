"""vocab sl_1: L = c0 + A V^b P^e D^g

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_1 of the vocab task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat).
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {"P": "non_vocab_parameters", "V": "vocab_size", "D": "num_characters"}
output = "unigram_normalized_loss"
priors = {
    "c0": Uniform(-100.0, 100.0),
    "A": Uniform(-1e4, 1e4),
    "b": Uniform(-5.0, 5.0),
    "e": Uniform(-5.0, 5.0),
    "g": Uniform(-5.0, 5.0),
}
noise_sd = HalfNormal(0.05)


def mean(P, V, D, c0, A, b, e, g, xp):
    return c0 + A * V**b * P**e * D**g
