"""parallel sl_7: L = L0 + A N^-alpha / (1 + k log S)  (denominator floored at 1e-12)

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_7 of the parallel task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat).
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {'N': 'num_params', 'S': 'parallel_size'}
output = "loss"
priors = {
    "L0": Uniform(-5, 5),
    "A": Uniform(0, 500),
    "alpha": Uniform(0, 2),
    "k": Uniform(-50, 50),
}
noise_sd = HalfNormal(0.05)


def mean(N, S, L0, A, alpha, k, xp):
    return L0 + A * N**-alpha / xp.maximum(1 + k * xp.log(S), 1e-12)
