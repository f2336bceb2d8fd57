"""moe sl_10: L = bias + A (N / 1e9)^-alpha ((1 + B E^gamma) / (1 + B))^-beta

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_10 of the moe task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat).
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {'N': 'dense_parameter_count', 'E': 'num_experts'}
output = "loss_validation"
priors = {
    "bias": Uniform(0, 3),
    "A": Uniform(0, 15),
    "alpha": Uniform(0, 2),
    "B": Uniform(0, 100),
    "gamma": Uniform(0, 6),
    "beta": Uniform(0, 2),
}
noise_sd = HalfNormal(0.05)


def mean(N, E, bias, A, alpha, B, gamma, beta, xp):
    return bias + A * (N / 1e9) ** -alpha * ((1 + B * E**gamma) / (1 + B)) ** -beta
