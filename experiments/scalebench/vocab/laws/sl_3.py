"""vocab sl_3: L = L0 + ((a P^-alpha)^q + (b (D V^phi)^-beta)^q)^(1/q)

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_3 of the vocab task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat).
Exponents clipped to +-50 and amplitudes under a log floored at 1e-6, as the authors' code.
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {"P": "non_vocab_parameters", "V": "vocab_size", "D": "num_characters"}
output = "unigram_normalized_loss"
priors = {
    "L0": Uniform(-100.0, 100.0),
    "a": Uniform(-1e4, 1e4),
    "alpha": Uniform(-5.0, 5.0),
    "b": Uniform(-1e4, 1e4),
    "beta": Uniform(-5.0, 5.0),
    "phi": Uniform(-5.0, 5.0),
    "q": Uniform(0.1, 10.0),
}
noise_sd = HalfNormal(0.05)


def mean(P, V, D, L0, a, alpha, b, beta, phi, q, xp):
    log_t1 = xp.log(xp.maximum(a, 1e-6)) - alpha * xp.log(P)
    log_t2 = xp.log(xp.maximum(b, 1e-6)) - beta * (xp.log(D) + phi * xp.log(V))
    return L0 + xp.exp(xp.clip(xp.logaddexp(q * log_t1, q * log_t2) / q, -50, 50))
