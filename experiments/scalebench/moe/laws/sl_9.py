"""moe sl_9: L = c0 + A (N E^g)^-a

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_9 of the moe task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat).
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {'N': 'dense_parameter_count', 'E': 'num_experts'}
output = "loss_validation"
priors = {
    "c0": Uniform(0, 3),
    "A": Uniform(0, 500),
    "g": Uniform(-1, 2),
    "a": Uniform(0, 2),
}
noise_sd = HalfNormal(0.05)


def mean(N, E, c0, A, g, a, xp):
    return c0 + A * (N * E**g) ** -a
