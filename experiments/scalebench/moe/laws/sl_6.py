"""moe sl_6: L = a N^-b (1 + c E^-d) + e + f / (E N^0.05)

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_6 of the moe task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat).
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {'N': 'dense_parameter_count', 'E': 'num_experts'}
output = "loss_validation"
priors = {
    "a": Uniform(0, 200),
    "b": Uniform(0, 1.5),
    "c": Uniform(-5, 20),
    "d": Uniform(-0.5, 2),
    "e": Uniform(-5, 5),
    "f": Uniform(-20, 20),
}
noise_sd = HalfNormal(0.05)


def mean(N, E, a, b, c, d, e, f, xp):
    return a * N**-b * (1 + c * E**-d) + e + f / (E * N**0.05)
