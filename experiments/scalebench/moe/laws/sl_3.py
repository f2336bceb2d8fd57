"""moe sl_3: L = A N^alpha / (1 + B E^beta) + C N^(0.6 alpha) + D

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_3 of the moe task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat).
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {'N': 'dense_parameter_count', 'E': 'num_experts'}
output = "loss_validation"
priors = {
    "A": Uniform(0, 5000.0),
    "alpha": Uniform(-1.5, 0),
    "B": Uniform(0, 20),
    "beta": Uniform(0, 2),
    "C": Uniform(-10000.0, 10000.0),
    "D": Uniform(-5, 5),
}
noise_sd = HalfNormal(0.05)


def mean(N, E, A, alpha, B, beta, C, D, xp):
    return A * N**alpha / (1 + B * E**beta) + C * N**(0.6 * alpha) + D
