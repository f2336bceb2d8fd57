"""moe sl_7: L = p0 E^p1 N^p2 + p3 N^p4 + p5

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_7 of the moe task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat).
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {'N': 'dense_parameter_count', 'E': 'num_experts'}
output = "loss_validation"
priors = {
    "p0": Uniform(-500, 500),
    "p1": Uniform(-1, 0.5),
    "p2": Uniform(-1.5, 0.5),
    "p3": Uniform(-500, 500),
    "p4": Uniform(-1.5, 0.5),
    "p5": Uniform(-5, 5),
}
noise_sd = HalfNormal(0.05)


def mean(N, E, p0, p1, p2, p3, p4, p5, xp):
    return p0 * E**p1 * N**p2 + p3 * N**p4 + p5
