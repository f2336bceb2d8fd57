"""moe sl_2: L = L + K (N^alpha E^beta)^-gamma

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_2 of the moe task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat).
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {'N': 'dense_parameter_count', 'E': 'num_experts'}
output = "loss_validation"
priors = {
    "L": Uniform(0, 3),
    "K": Uniform(0, 500),
    "alpha": Uniform(0, 2),
    "beta": Uniform(0, 2),
    "gamma": Uniform(0, 2),
}
noise_sd = HalfNormal(0.05)


def mean(N, E, L, K, alpha, beta, gamma, xp):
    return L + K * (N**alpha * E**beta) ** -gamma
