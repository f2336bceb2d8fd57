"""domain_mixture sl_5: L_i = b_i + sum_j W_ij p_j^alpha_j  (alpha shared by the outputs)

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_5 of the domain_mixture task, rewritten as a
bayes_moe law file with five outputs, the per-domain losses L_i of a mixture with proportions p_1..p_5;
the priors are the benchmark's parameter boxes (flat). Proportions under a log or a power are floored at 1e-12, as the authors' code.
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {"p1": "proportion_domain_1", "p2": "proportion_domain_2", "p3": "proportion_domain_3", "p4": "proportion_domain_4", "p5": "proportion_domain_5"}
output = ["loss_domain_1", "loss_domain_2", "loss_domain_3", "loss_domain_4", "loss_domain_5"]
priors = {
    "alpha1": Uniform(-1.0, 3.0),
    "alpha2": Uniform(-1.0, 3.0),
    "alpha3": Uniform(-1.0, 3.0),
    "alpha4": Uniform(-1.0, 3.0),
    "alpha5": Uniform(-1.0, 3.0),
    "b1": Uniform(-3.0, 6.0),
    "W1_1": Uniform(-25.0, 25.0),
    "W1_2": Uniform(-25.0, 25.0),
    "W1_3": Uniform(-25.0, 25.0),
    "W1_4": Uniform(-25.0, 25.0),
    "W1_5": Uniform(-25.0, 25.0),
    "b2": Uniform(-3.0, 6.0),
    "W2_1": Uniform(-25.0, 25.0),
    "W2_2": Uniform(-25.0, 25.0),
    "W2_3": Uniform(-25.0, 25.0),
    "W2_4": Uniform(-25.0, 25.0),
    "W2_5": Uniform(-25.0, 25.0),
    "b3": Uniform(-3.0, 6.0),
    "W3_1": Uniform(-25.0, 25.0),
    "W3_2": Uniform(-25.0, 25.0),
    "W3_3": Uniform(-25.0, 25.0),
    "W3_4": Uniform(-25.0, 25.0),
    "W3_5": Uniform(-25.0, 25.0),
    "b4": Uniform(-3.0, 6.0),
    "W4_1": Uniform(-25.0, 25.0),
    "W4_2": Uniform(-25.0, 25.0),
    "W4_3": Uniform(-25.0, 25.0),
    "W4_4": Uniform(-25.0, 25.0),
    "W4_5": Uniform(-25.0, 25.0),
    "b5": Uniform(-3.0, 6.0),
    "W5_1": Uniform(-25.0, 25.0),
    "W5_2": Uniform(-25.0, 25.0),
    "W5_3": Uniform(-25.0, 25.0),
    "W5_4": Uniform(-25.0, 25.0),
    "W5_5": Uniform(-25.0, 25.0),
}
noise_sd = HalfNormal(0.05)


def mean(p1, p2, p3, p4, p5, alpha1, alpha2, alpha3, alpha4, alpha5, b1, W1_1, W1_2, W1_3, W1_4, W1_5, b2, W2_1, W2_2, W2_3, W2_4, W2_5, b3, W3_1, W3_2, W3_3, W3_4, W3_5, b4, W4_1, W4_2, W4_3, W4_4, W4_5, b5, W5_1, W5_2, W5_3, W5_4, W5_5, xp):
    p = [p1, p2, p3, p4, p5]
    alpha = [alpha1, alpha2, alpha3, alpha4, alpha5]
    b = [b1, b2, b3, b4, b5]
    W = [[W1_1, W1_2, W1_3, W1_4, W1_5],
         [W2_1, W2_2, W2_3, W2_4, W2_5],
         [W3_1, W3_2, W3_3, W3_4, W3_5],
         [W4_1, W4_2, W4_3, W4_4, W4_5],
         [W5_1, W5_2, W5_3, W5_4, W5_5]]
    return [b[i] + sum(v * xp.maximum(q, 1e-12) ** e for v, q, e in zip(W[i], p, alpha)) for i in range(5)]
