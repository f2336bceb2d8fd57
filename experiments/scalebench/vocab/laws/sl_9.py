"""vocab sl_9: L = A P^-alpha D^-beta (1 + gamma log V) + delta V^epsilon + L_inf

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_9 of the vocab task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat).
Exponents clipped to +-50 and amplitudes under a log floored at 1e-6, as the authors' code.
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {"P": "non_vocab_parameters", "V": "vocab_size", "D": "num_characters"}
output = "unigram_normalized_loss"
priors = {
    "A": Uniform(-1e4, 1e4),
    "alpha": Uniform(-5.0, 5.0),
    "beta": Uniform(-5.0, 5.0),
    "gamma": Uniform(-100.0, 100.0),
    "delta": Uniform(-1e4, 1e4),
    "epsilon": Uniform(-5.0, 5.0),
    "L_inf": Uniform(-100.0, 100.0),
}
noise_sd = HalfNormal(0.05)


def mean(P, V, D, A, alpha, beta, gamma, delta, epsilon, L_inf, xp):
    main = xp.exp(xp.clip(xp.log(xp.maximum(A, 1e-6)) - alpha * xp.log(P) - beta * xp.log(D), -50, 50))
    cross = xp.sign(delta) * xp.exp(xp.clip(xp.log(xp.maximum(xp.abs(delta), 1e-6)) + epsilon * xp.log(V), -50, 50))
    return main * (1 + gamma * xp.log(V)) + cross + L_inf
