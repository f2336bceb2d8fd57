"""parallel sl_2: L = c0 + cN N^-alpha + cS S^-beta

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_2 of the parallel task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat).
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {'N': 'num_params', 'S': 'parallel_size'}
output = "loss"
priors = {
    "c0": Uniform(-5, 5),
    "cN": Uniform(0, 500),
    "alpha": Uniform(0, 2),
    "cS": Uniform(-50, 50),
    "beta": Uniform(0, 2),
}
noise_sd = HalfNormal(0.05)


def mean(N, S, c0, cN, alpha, cS, beta, xp):
    return c0 + cN * N**-alpha + cS * S**-beta
