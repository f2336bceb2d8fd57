"""parallel sl_10: L = (A N^-alpha + E) S^-beta

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_10 of the parallel task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat).
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {'N': 'num_params', 'S': 'parallel_size'}
output = "loss"
priors = {
    "A": Uniform(0, 500),
    "alpha": Uniform(0, 2),
    "E": Uniform(-5, 5),
    "beta": Uniform(0, 2),
}
noise_sd = HalfNormal(0.05)


def mean(N, S, A, alpha, E, beta, xp):
    return (A * N**-alpha + E) * S**-beta
