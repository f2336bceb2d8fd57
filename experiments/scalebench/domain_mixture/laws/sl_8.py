"""domain_mixture sl_8: L_i = c_i - a_i p_i^b_i

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_8 of the domain_mixture task, rewritten as a
bayes_moe law file with five outputs, the per-domain losses L_i of a mixture with proportions p_1..p_5;
the priors are the benchmark's parameter boxes (flat). Proportions under a log or a power are floored at 1e-12, as the authors' code.
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {"p1": "proportion_domain_1", "p2": "proportion_domain_2", "p3": "proportion_domain_3", "p4": "proportion_domain_4", "p5": "proportion_domain_5"}
output = ["loss_domain_1", "loss_domain_2", "loss_domain_3", "loss_domain_4", "loss_domain_5"]
priors = {
    "c1": Uniform(0.0, 6.0),
    "a1": Uniform(0.0, 5.0),
    "b1": Uniform(0.0, 3.0),
    "c2": Uniform(0.0, 6.0),
    "a2": Uniform(0.0, 5.0),
    "b2": Uniform(0.0, 3.0),
    "c3": Uniform(0.0, 6.0),
    "a3": Uniform(0.0, 5.0),
    "b3": Uniform(0.0, 3.0),
    "c4": Uniform(0.0, 6.0),
    "a4": Uniform(0.0, 5.0),
    "b4": Uniform(0.0, 3.0),
    "c5": Uniform(0.0, 6.0),
    "a5": Uniform(0.0, 5.0),
    "b5": Uniform(0.0, 3.0),
}
noise_sd = HalfNormal(0.05)


def mean(p1, p2, p3, p4, p5, c1, a1, b1, c2, a2, b2, c3, a3, b3, c4, a4, b4, c5, a5, b5, xp):
    p = [p1, p2, p3, p4, p5]
    c = [c1, c2, c3, c4, c5]
    a = [a1, a2, a3, a4, a5]
    b = [b1, b2, b3, b4, b5]
    return [c[i] - a[i] * xp.maximum(p[i], 1e-12) ** b[i] for i in range(5)]
