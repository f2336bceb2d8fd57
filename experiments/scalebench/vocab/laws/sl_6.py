"""vocab sl_6: L = A (P V^k1)^-alpha + B (D V^k2)^-beta + c0

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_6 of the vocab task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat).
Exponents clipped to +-50 and amplitudes under a log floored at 1e-6, as the authors' code.
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {"P": "non_vocab_parameters", "V": "vocab_size", "D": "num_characters"}
output = "unigram_normalized_loss"
priors = {
    "A": Uniform(-1e4, 1e4),
    "alpha": Uniform(-5.0, 5.0),
    "k1": Uniform(-5.0, 5.0),
    "B": Uniform(-1e4, 1e4),
    "beta": Uniform(-5.0, 5.0),
    "k2": Uniform(-5.0, 5.0),
    "c0": Uniform(-100.0, 100.0),
}
noise_sd = HalfNormal(0.05)


def mean(P, V, D, A, alpha, k1, B, beta, k2, c0, xp):
    t1 = xp.exp(xp.clip(xp.log(xp.maximum(A, 1e-6)) - alpha * (xp.log(P) + k1 * xp.log(V)), -50, 50))
    t2 = xp.exp(xp.clip(xp.log(xp.maximum(B, 1e-6)) - beta * (xp.log(D) + k2 * xp.log(V)), -50, 50))
    return t1 + t2 + c0
