"""parallel sl_6: L = c0 + c1 (N^-alpha + S^-beta)

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_6 of the parallel task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat).
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {'N': 'num_params', 'S': 'parallel_size'}
output = "loss"
priors = {
    "c0": Uniform(-200, 200),
    "c1": Uniform(-200, 200),
    "alpha": Uniform(0, 2),
    "beta": Uniform(0, 2),
}
noise_sd = HalfNormal(0.05)


def mean(N, S, c0, c1, alpha, beta, xp):
    return c0 + c1 * (N**-alpha + S**-beta)
