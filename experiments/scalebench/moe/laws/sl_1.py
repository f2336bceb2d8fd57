"""moe sl_1: L = L_inf + B / (N^alpha E^beta)

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_1 of the moe task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat).
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {'N': 'dense_parameter_count', 'E': 'num_experts'}
output = "loss_validation"
priors = {
    "L_inf": Uniform(0, 3),
    "B": Uniform(0.1, 500),
    "alpha": Uniform(0, 1.5),
    "beta": Uniform(-0.5, 1.5),
}
noise_sd = HalfNormal(0.05)


def mean(N, E, L_inf, B, alpha, beta, xp):
    return L_inf + B / (N**alpha * E**beta)
