"""sparsity sl_3: L = exp(d1) P^-a + exp(d2) N^-b exp(c log P log N) + exp(d3)

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_3 of the sparsity task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat).
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {'P': 'P', 'N': 'N_active'}
output = "loss"
priors = {
    "d1": Uniform(-5.0, 5.0),
    "a": Uniform(0.01, 3.0),
    "d2": Uniform(-5.0, 5.0),
    "b": Uniform(0.01, 3.0),
    "c": Uniform(-1.0, 1.0),
    "d3": Uniform(-5.0, 5.0),
}
noise_sd = HalfNormal(0.05)


def mean(P, N, d1, a, d2, b, c, d3, xp):
    return xp.exp(d1) * P**-a + xp.exp(d2) * N**-b * xp.exp(c * xp.log(P) * xp.log(N)) + xp.exp(d3)
