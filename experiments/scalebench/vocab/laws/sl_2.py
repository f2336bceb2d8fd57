"""vocab sl_2: L = L + A M_r(P^-alpha, D^-beta) (1 + C (log V - v0)^2), M_r(x, y) = ((x^r + y^r) / 2)^(1/r)

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_2 of the vocab task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat).
Exponents clipped to +-50 and amplitudes under a log floored at 1e-6, as the authors' code.
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {"P": "non_vocab_parameters", "V": "vocab_size", "D": "num_characters"}
output = "unigram_normalized_loss"
priors = {
    "L": Uniform(-100.0, 100.0),
    "A": Uniform(-1e4, 1e4),
    "alpha": Uniform(-5.0, 5.0),
    "beta": Uniform(-5.0, 5.0),
    "C": Uniform(-100.0, 100.0),
    "v0": Uniform(-10.0, 30.0),
    "r": Uniform(0.1, 10.0),
}
noise_sd = HalfNormal(0.05)


def mean(P, V, D, L, A, alpha, beta, C, v0, r, xp):
    log_s = xp.logaddexp(-alpha * r * xp.log(P), -beta * r * xp.log(D)) - xp.log(2.0)
    return L + A * xp.exp(xp.clip(log_s / r, -50, 50)) * (1 + C * (xp.log(V) - v0) ** 2)
