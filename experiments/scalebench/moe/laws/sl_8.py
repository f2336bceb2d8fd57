"""moe sl_8: L = a N^b E^c + d

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_8 of the moe task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat).
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {'N': 'dense_parameter_count', 'E': 'num_experts'}
output = "loss_validation"
priors = {
    "a": Uniform(0, 500),
    "b": Uniform(-1.5, 0.5),
    "c": Uniform(-1.5, 0.5),
    "d": Uniform(0, 3),
}
noise_sd = HalfNormal(0.05)


def mean(N, E, a, b, c, d, xp):
    return a * N**b * E**c + d
