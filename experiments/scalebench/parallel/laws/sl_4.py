"""parallel sl_4: L = a N^b + c S^-0.5 + d

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_4 of the parallel task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat).
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {'N': 'num_params', 'S': 'parallel_size'}
output = "loss"
priors = {
    "a": Uniform(0, 500),
    "b": Uniform(-2, 0),
    "c": Uniform(-5, 5),
    "d": Uniform(-5, 5),
}
noise_sd = HalfNormal(0.05)


def mean(N, S, a, b, c, d, xp):
    return a * N**b + c * S**-0.5 + d
