"""domain_mixture sl_7: L_i = a_i + b_i p_i + c_i log p_i + sum_{j != i} (d_ij p_j + e_i log p_j)

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_7 of the domain_mixture task, rewritten as a
bayes_moe law file with five outputs, the per-domain losses L_i of a mixture with proportions p_1..p_5;
the priors are the benchmark's parameter boxes (flat). Proportions under a log or a power are floored at 1e-12, as the authors' code.
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {"p1": "proportion_domain_1", "p2": "proportion_domain_2", "p3": "proportion_domain_3", "p4": "proportion_domain_4", "p5": "proportion_domain_5"}
output = ["loss_domain_1", "loss_domain_2", "loss_domain_3", "loss_domain_4", "loss_domain_5"]
priors = {
    "a1": Uniform(-5.0, 8.0),
    "b1": Uniform(-10.0, 15.0),
    "c1": Uniform(-5.0, 5.0),
    "d1_2": Uniform(-10.0, 10.0),
    "d1_3": Uniform(-10.0, 10.0),
    "d1_4": Uniform(-10.0, 10.0),
    "d1_5": Uniform(-10.0, 10.0),
    "e1": Uniform(-5.0, 5.0),
    "a2": Uniform(-5.0, 8.0),
    "b2": Uniform(-10.0, 15.0),
    "c2": Uniform(-5.0, 5.0),
    "d2_1": Uniform(-10.0, 10.0),
    "d2_3": Uniform(-10.0, 10.0),
    "d2_4": Uniform(-10.0, 10.0),
    "d2_5": Uniform(-10.0, 10.0),
    "e2": Uniform(-5.0, 5.0),
    "a3": Uniform(-5.0, 8.0),
    "b3": Uniform(-10.0, 15.0),
    "c3": Uniform(-5.0, 5.0),
    "d3_1": Uniform(-10.0, 10.0),
    "d3_2": Uniform(-10.0, 10.0),
    "d3_4": Uniform(-10.0, 10.0),
    "d3_5": Uniform(-10.0, 10.0),
    "e3": Uniform(-5.0, 5.0),
    "a4": Uniform(-5.0, 8.0),
    "b4": Uniform(-10.0, 15.0),
    "c4": Uniform(-5.0, 5.0),
    "d4_1": Uniform(-10.0, 10.0),
    "d4_2": Uniform(-10.0, 10.0),
    "d4_3": Uniform(-10.0, 10.0),
    "d4_5": Uniform(-10.0, 10.0),
    "e4": Uniform(-5.0, 5.0),
    "a5": Uniform(-5.0, 8.0),
    "b5": Uniform(-10.0, 15.0),
    "c5": Uniform(-5.0, 5.0),
    "d5_1": Uniform(-10.0, 10.0),
    "d5_2": Uniform(-10.0, 10.0),
    "d5_3": Uniform(-10.0, 10.0),
    "d5_4": Uniform(-10.0, 10.0),
    "e5": Uniform(-5.0, 5.0),
}
noise_sd = HalfNormal(0.05)


def _others(values, i):
    """Every entry but the i-th (the other domains)."""
    return values[:i] + values[i + 1:]


def mean(p1, p2, p3, p4, p5, a1, b1, c1, d1_2, d1_3, d1_4, d1_5, e1, a2, b2, c2, d2_1, d2_3, d2_4, d2_5, e2, a3, b3, c3, d3_1, d3_2, d3_4, d3_5, e3, a4, b4, c4, d4_1, d4_2, d4_3, d4_5, e4, a5, b5, c5, d5_1, d5_2, d5_3, d5_4, e5, xp):
    p = [p1, p2, p3, p4, p5]
    a = [a1, a2, a3, a4, a5]
    b = [b1, b2, b3, b4, b5]
    c = [c1, c2, c3, c4, c5]
    d = [[d1_2, d1_3, d1_4, d1_5],
         [d2_1, d2_3, d2_4, d2_5],
         [d3_1, d3_2, d3_4, d3_5],
         [d4_1, d4_2, d4_3, d4_5],
         [d5_1, d5_2, d5_3, d5_4]]
    e = [e1, e2, e3, e4, e5]
    return [a[i] + b[i] * p[i] + c[i] * xp.log(xp.maximum(p[i], 1e-12))
            + sum(v * q + e[i] * xp.log(xp.maximum(q, 1e-12)) for v, q in zip(d[i], _others(p, i))) for i in range(5)]
