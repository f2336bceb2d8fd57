"""domain_mixture sl_1: L_i = a_i + b_i log p_i + sum_{j != i} c_ij p_j

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_1 of the domain_mixture task, rewritten as a
bayes_moe law file with five outputs, the per-domain losses L_i of a mixture with proportions p_1..p_5;
the priors are the benchmark's parameter boxes (flat). Proportions under a log or a power are floored at 1e-12, as the authors' code.
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {"p1": "proportion_domain_1", "p2": "proportion_domain_2", "p3": "proportion_domain_3", "p4": "proportion_domain_4", "p5": "proportion_domain_5"}
output = ["loss_domain_1", "loss_domain_2", "loss_domain_3", "loss_domain_4", "loss_domain_5"]
priors = {
    "a1": Uniform(-3.0, 6.0),
    "b1": Uniform(-10.0, 5.0),
    "c1_2": Uniform(-10.0, 10.0),
    "c1_3": Uniform(-10.0, 10.0),
    "c1_4": Uniform(-10.0, 10.0),
    "c1_5": Uniform(-10.0, 10.0),
    "a2": Uniform(-3.0, 6.0),
    "b2": Uniform(-10.0, 5.0),
    "c2_1": Uniform(-10.0, 10.0),
    "c2_3": Uniform(-10.0, 10.0),
    "c2_4": Uniform(-10.0, 10.0),
    "c2_5": Uniform(-10.0, 10.0),
    "a3": Uniform(-3.0, 6.0),
    "b3": Uniform(-10.0, 5.0),
    "c3_1": Uniform(-10.0, 10.0),
    "c3_2": Uniform(-10.0, 10.0),
    "c3_4": Uniform(-10.0, 10.0),
    "c3_5": Uniform(-10.0, 10.0),
    "a4": Uniform(-3.0, 6.0),
    "b4": Uniform(-10.0, 5.0),
    "c4_1": Uniform(-10.0, 10.0),
    "c4_2": Uniform(-10.0, 10.0),
    "c4_3": Uniform(-10.0, 10.0),
    "c4_5": Uniform(-10.0, 10.0),
    "a5": Uniform(-3.0, 6.0),
    "b5": Uniform(-10.0, 5.0),
    "c5_1": Uniform(-10.0, 10.0),
    "c5_2": Uniform(-10.0, 10.0),
    "c5_3": Uniform(-10.0, 10.0),
    "c5_4": Uniform(-10.0, 10.0),
}
noise_sd = HalfNormal(0.05)


def _others(values, i):
    """Every entry but the i-th (the other domains)."""
    return values[:i] + values[i + 1:]


def mean(p1, p2, p3, p4, p5, a1, b1, c1_2, c1_3, c1_4, c1_5, a2, b2, c2_1, c2_3, c2_4, c2_5, a3, b3, c3_1, c3_2, c3_4, c3_5, a4, b4, c4_1, c4_2, c4_3, c4_5, a5, b5, c5_1, c5_2, c5_3, c5_4, xp):
    p = [p1, p2, p3, p4, p5]
    a = [a1, a2, a3, a4, a5]
    b = [b1, b2, b3, b4, b5]
    c = [[c1_2, c1_3, c1_4, c1_5],
         [c2_1, c2_3, c2_4, c2_5],
         [c3_1, c3_2, c3_4, c3_5],
         [c4_1, c4_2, c4_3, c4_5],
         [c5_1, c5_2, c5_3, c5_4]]
    return [a[i] + b[i] * xp.log(xp.maximum(p[i], 1e-12)) + sum(w * q for w, q in zip(c[i], _others(p, i))) for i in range(5)]
