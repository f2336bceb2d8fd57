"""moe sl_5: L = p0 + exp(p1 + p2 log E + p3 log N + p4 log E log N) + p5 log E  (exponent clipped to +-50)

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_5 of the moe task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat).
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {'N': 'dense_parameter_count', 'E': 'num_experts'}
output = "loss_validation"
priors = {
    "p0": Uniform(0, 3),
    "p1": Uniform(-5, 10),
    "p2": Uniform(-1, 1),
    "p3": Uniform(-1, 1),
    "p4": Uniform(-0.1, 0.1),
    "p5": Uniform(-1, 1),
}
noise_sd = HalfNormal(0.05)


def mean(N, E, p0, p1, p2, p3, p4, p5, xp):
    return p0 + xp.exp(xp.clip(p1 + p2 * xp.log(E) + p3 * xp.log(N) + p4 * xp.log(E) * xp.log(N), -50, 50)) + p5 * xp.log(E)
