"""parallel sl_5: L = (A / (N (k log S + 1)))^alpha + E  (denominator and base floored at 1e-12)

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_5 of the parallel task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat).
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {'N': 'num_params', 'S': 'parallel_size'}
output = "loss"
priors = {
    "A": Uniform(0, 1000000000.0),
    "k": Uniform(-100, 100),
    "alpha": Uniform(0, 3),
    "E": Uniform(-5, 5),
}
noise_sd = HalfNormal(0.05)


def mean(N, S, A, k, alpha, E, xp):
    return xp.maximum(A / xp.maximum(N * (k * xp.log(S) + 1), 1e-12), 1e-12) ** alpha + E
