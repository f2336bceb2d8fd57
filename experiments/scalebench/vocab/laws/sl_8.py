"""vocab sl_8: L = c0 + c1 log V + V^beta (c2 P^-alpha + c3 D^-gamma)

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_8 of the vocab task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat).
Exponents clipped to +-50, as the authors' code.
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {"P": "non_vocab_parameters", "V": "vocab_size", "D": "num_characters"}
output = "unigram_normalized_loss"
priors = {
    "c0": Uniform(-100.0, 100.0),
    "c1": Uniform(-100.0, 100.0),
    "c2": Uniform(-1e4, 1e4),
    "alpha": Uniform(-5.0, 5.0),
    "c3": Uniform(-1e4, 1e4),
    "gamma": Uniform(-5.0, 5.0),
    "beta": Uniform(-5.0, 5.0),
}
noise_sd = HalfNormal(0.05)


def mean(P, V, D, c0, c1, c2, alpha, c3, gamma, beta, xp):
    log_v = beta * xp.log(V)
    return (c0 + c1 * xp.log(V) + c2 * xp.exp(xp.clip(log_v - alpha * xp.log(P), -50, 50))
            + c3 * xp.exp(xp.clip(log_v - gamma * xp.log(D), -50, 50)))
