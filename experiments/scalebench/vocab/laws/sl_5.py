"""vocab sl_5: L = p0 P^p1 V^p2 D^p3 + p4 P^p5 + p6

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_5 of the vocab task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat).
Exponents clipped to +-50 and amplitudes under a log floored at 1e-6, as the authors' code.
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {"P": "non_vocab_parameters", "V": "vocab_size", "D": "num_characters"}
output = "unigram_normalized_loss"
priors = {
    "p0": Uniform(-1e4, 1e4),
    "p1": Uniform(-5.0, 5.0),
    "p2": Uniform(-5.0, 5.0),
    "p3": Uniform(-5.0, 5.0),
    "p4": Uniform(-1e4, 1e4),
    "p5": Uniform(-5.0, 5.0),
    "p6": Uniform(-100.0, 100.0),
}
noise_sd = HalfNormal(0.05)


def _signed_power(c, log_x, xp):
    """c * exp(log_x) with |c| floored at 1e-6 and the exponent clipped."""
    return xp.sign(c) * xp.exp(xp.clip(xp.log(xp.maximum(xp.abs(c), 1e-6)) + log_x, -50, 50))


def mean(P, V, D, p0, p1, p2, p3, p4, p5, p6, xp):
    t1 = _signed_power(p0, p1 * xp.log(P) + p2 * xp.log(V) + p3 * xp.log(D), xp)
    return t1 + _signed_power(p4, p5 * xp.log(P), xp) + p6
