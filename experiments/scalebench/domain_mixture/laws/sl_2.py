"""domain_mixture sl_2: L_i = A_i (p_i + eps_i)^-alpha_i exp(sum_{j != i} w_ij p_j)  (the exponent clipped to +-20)

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_2 of the domain_mixture task, rewritten as a
bayes_moe law file with five outputs, the per-domain losses L_i of a mixture with proportions p_1..p_5;
the priors are the benchmark's parameter boxes (flat). Proportions under a log or a power are floored at 1e-12, as the authors' code.
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {"p1": "proportion_domain_1", "p2": "proportion_domain_2", "p3": "proportion_domain_3", "p4": "proportion_domain_4", "p5": "proportion_domain_5"}
output = ["loss_domain_1", "loss_domain_2", "loss_domain_3", "loss_domain_4", "loss_domain_5"]
priors = {
    "A1": Uniform(0.0, 10.0),
    "eps1": Uniform(-0.03, 0.2),
    "alpha1": Uniform(0.0, 2.0),
    "w1_2": Uniform(-5.0, 5.0),
    "w1_3": Uniform(-5.0, 5.0),
    "w1_4": Uniform(-5.0, 5.0),
    "w1_5": Uniform(-5.0, 5.0),
    "A2": Uniform(0.0, 10.0),
    "eps2": Uniform(-0.03, 0.2),
    "alpha2": Uniform(0.0, 2.0),
    "w2_1": Uniform(-5.0, 5.0),
    "w2_3": Uniform(-5.0, 5.0),
    "w2_4": Uniform(-5.0, 5.0),
    "w2_5": Uniform(-5.0, 5.0),
    "A3": Uniform(0.0, 10.0),
    "eps3": Uniform(-0.03, 0.2),
    "alpha3": Uniform(0.0, 2.0),
    "w3_1": Uniform(-5.0, 5.0),
    "w3_2": Uniform(-5.0, 5.0),
    "w3_4": Uniform(-5.0, 5.0),
    "w3_5": Uniform(-5.0, 5.0),
    "A4": Uniform(0.0, 10.0),
    "eps4": Uniform(-0.03, 0.2),
    "alpha4": Uniform(0.0, 2.0),
    "w4_1": Uniform(-5.0, 5.0),
    "w4_2": Uniform(-5.0, 5.0),
    "w4_3": Uniform(-5.0, 5.0),
    "w4_5": Uniform(-5.0, 5.0),
    "A5": Uniform(0.0, 10.0),
    "eps5": Uniform(-0.03, 0.2),
    "alpha5": Uniform(0.0, 2.0),
    "w5_1": Uniform(-5.0, 5.0),
    "w5_2": Uniform(-5.0, 5.0),
    "w5_3": Uniform(-5.0, 5.0),
    "w5_4": Uniform(-5.0, 5.0),
}
noise_sd = HalfNormal(0.05)


def _others(values, i):
    """Every entry but the i-th (the other domains)."""
    return values[:i] + values[i + 1:]


def mean(p1, p2, p3, p4, p5, A1, eps1, alpha1, w1_2, w1_3, w1_4, w1_5, A2, eps2, alpha2, w2_1, w2_3, w2_4, w2_5, A3, eps3, alpha3, w3_1, w3_2, w3_4, w3_5, A4, eps4, alpha4, w4_1, w4_2, w4_3, w4_5, A5, eps5, alpha5, w5_1, w5_2, w5_3, w5_4, xp):
    p = [p1, p2, p3, p4, p5]
    A = [A1, A2, A3, A4, A5]
    eps = [eps1, eps2, eps3, eps4, eps5]
    alpha = [alpha1, alpha2, alpha3, alpha4, alpha5]
    w = [[w1_2, w1_3, w1_4, w1_5],
         [w2_1, w2_3, w2_4, w2_5],
         [w3_1, w3_2, w3_4, w3_5],
         [w4_1, w4_2, w4_3, w4_5],
         [w5_1, w5_2, w5_3, w5_4]]
    return [A[i] * xp.maximum(p[i] + eps[i], 1e-12) ** -alpha[i]
            * xp.exp(xp.clip(sum(v * q for v, q in zip(w[i], _others(p, i))), -20, 20)) for i in range(5)]
