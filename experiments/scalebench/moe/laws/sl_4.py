"""moe sl_4: L = a / (N^alpha (1 + b E)^gamma) + c + d (log N - 0.4 log(1 + E))

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_4 of the moe task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat).
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {'N': 'dense_parameter_count', 'E': 'num_experts'}
output = "loss_validation"
priors = {
    "a": Uniform(0.1, 500),
    "alpha": Uniform(0, 1.5),
    "b": Uniform(0, 20),
    "gamma": Uniform(0, 1.5),
    "c": Uniform(-5, 5),
    "d": Uniform(-1, 1),
}
noise_sd = HalfNormal(0.05)


def mean(N, E, a, alpha, b, gamma, c, d, xp):
    return a / (N**alpha * (1 + b * E) ** gamma) + c + d * (xp.log(N) - 0.4 * xp.log(1 + E))
