"""parallel sl_9: L = A N^-alpha S^-beta

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_9 of the parallel task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat).
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {'N': 'num_params', 'S': 'parallel_size'}
output = "loss"
priors = {
    "A": Uniform(0, 5000),
    "alpha": Uniform(0, 2),
    "beta": Uniform(0, 2),
}
noise_sd = HalfNormal(0.05)


def mean(N, S, A, alpha, beta, xp):
    return A * N**-alpha * S**-beta
