"""domain_mixture sl_10: L_i = a_i + b_i / (p_i + eps_i)

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_10 of the domain_mixture task, rewritten as a
bayes_moe law file with five outputs, the per-domain losses L_i of a mixture with proportions p_1..p_5;
the priors are the benchmark's parameter boxes (flat). Proportions under a log or a power are floored at 1e-12, as the authors' code.
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {"p1": "proportion_domain_1", "p2": "proportion_domain_2", "p3": "proportion_domain_3", "p4": "proportion_domain_4", "p5": "proportion_domain_5"}
output = ["loss_domain_1", "loss_domain_2", "loss_domain_3", "loss_domain_4", "loss_domain_5"]
priors = {
    "a1": Uniform(-3.0, 6.0),
    "b1": Uniform(-1.0, 1.0),
    "eps1": Uniform(-0.03, 0.3),
    "a2": Uniform(-3.0, 6.0),
    "b2": Uniform(-1.0, 1.0),
    "eps2": Uniform(-0.03, 0.3),
    "a3": Uniform(-3.0, 6.0),
    "b3": Uniform(-1.0, 1.0),
    "eps3": Uniform(-0.03, 0.3),
    "a4": Uniform(-3.0, 6.0),
    "b4": Uniform(-1.0, 1.0),
    "eps4": Uniform(-0.03, 0.3),
    "a5": Uniform(-3.0, 6.0),
    "b5": Uniform(-1.0, 1.0),
    "eps5": Uniform(-0.03, 0.3),
}
noise_sd = HalfNormal(0.05)


def mean(p1, p2, p3, p4, p5, a1, b1, eps1, a2, b2, eps2, a3, b3, eps3, a4, b4, eps4, a5, b5, eps5, xp):
    p = [p1, p2, p3, p4, p5]
    a = [a1, a2, a3, a4, a5]
    b = [b1, b2, b3, b4, b5]
    eps = [eps1, eps2, eps3, eps4, eps5]
    return [a[i] + b[i] / xp.maximum(p[i] + eps[i], 1e-12) for i in range(5)]
