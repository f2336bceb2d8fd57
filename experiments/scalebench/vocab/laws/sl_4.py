"""vocab sl_4: L = L_inf + A max(P^a, lam D^b)^-d V^-g

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_4 of the vocab task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat).
Exponents clipped to +-50 and amplitudes under a log floored at 1e-6, as the authors' code.
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {"P": "non_vocab_parameters", "V": "vocab_size", "D": "num_characters"}
output = "unigram_normalized_loss"
priors = {
    "L_inf": Uniform(-100.0, 100.0),
    "A": Uniform(-1e4, 1e4),
    "a": Uniform(-5.0, 5.0),
    "b": Uniform(-5.0, 5.0),
    "d": Uniform(-5.0, 5.0),
    "lam": Uniform(1e-06, 1e4),
    "g": Uniform(-5.0, 5.0),
}
noise_sd = HalfNormal(0.05)


def mean(P, V, D, L_inf, A, a, b, d, lam, g, xp):
    log_max = xp.maximum(a * xp.log(P), xp.log(lam) + b * xp.log(D))
    return L_inf + xp.exp(xp.clip(xp.log(xp.maximum(A, 1e-6)) - d * log_max - g * xp.log(V), -50, 50))
