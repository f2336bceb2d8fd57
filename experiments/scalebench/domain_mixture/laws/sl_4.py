"""domain_mixture sl_4: L_i = exp(bias_i + sum_k C_ik p_k^alpha_k)  (the exponent clipped to +-50; alpha shared by the outputs)

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_4 of the domain_mixture task, rewritten as a
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
    "bias1": Uniform(-3.0, 3.0),
    "C1_1": Uniform(-10.0, 10.0),
    "C1_2": Uniform(-10.0, 10.0),
    "C1_3": Uniform(-10.0, 10.0),
    "C1_4": Uniform(-10.0, 10.0),
    "C1_5": Uniform(-10.0, 10.0),
    "bias2": Uniform(-3.0, 3.0),
    "C2_1": Uniform(-10.0, 10.0),
    "C2_2": Uniform(-10.0, 10.0),
    "C2_3": Uniform(-10.0, 10.0),
    "C2_4": Uniform(-10.0, 10.0),
    "C2_5": Uniform(-10.0, 10.0),
    "bias3": Uniform(-3.0, 3.0),
    "C3_1": Uniform(-10.0, 10.0),
    "C3_2": Uniform(-10.0, 10.0),
    "C3_3": Uniform(-10.0, 10.0),
    "C3_4": Uniform(-10.0, 10.0),
    "C3_5": Uniform(-10.0, 10.0),
    "bias4": Uniform(-3.0, 3.0),
    "C4_1": Uniform(-10.0, 10.0),
    "C4_2": Uniform(-10.0, 10.0),
    "C4_3": Uniform(-10.0, 10.0),
    "C4_4": Uniform(-10.0, 10.0),
    "C4_5": Uniform(-10.0, 10.0),
    "bias5": Uniform(-3.0, 3.0),
    "C5_1": Uniform(-10.0, 10.0),
    "C5_2": Uniform(-10.0, 10.0),
    "C5_3": Uniform(-10.0, 10.0),
    "C5_4": Uniform(-10.0, 10.0),
    "C5_5": Uniform(-10.0, 10.0),
}
noise_sd = HalfNormal(0.05)


def mean(p1, p2, p3, p4, p5, alpha1, alpha2, alpha3, alpha4, alpha5, bias1, C1_1, C1_2, C1_3, C1_4, C1_5, bias2, C2_1, C2_2, C2_3, C2_4, C2_5, bias3, C3_1, C3_2, C3_3, C3_4, C3_5, bias4, C4_1, C4_2, C4_3, C4_4, C4_5, bias5, C5_1, C5_2, C5_3, C5_4, C5_5, xp):
    p = [p1, p2, p3, p4, p5]
    alpha = [alpha1, alpha2, alpha3, alpha4, alpha5]
    bias = [bias1, bias2, bias3, bias4, bias5]
    C = [[C1_1, C1_2, C1_3, C1_4, C1_5],
         [C2_1, C2_2, C2_3, C2_4, C2_5],
         [C3_1, C3_2, C3_3, C3_4, C3_5],
         [C4_1, C4_2, C4_3, C4_4, C4_5],
         [C5_1, C5_2, C5_3, C5_4, C5_5]]
    return [xp.exp(xp.clip(bias[i] + sum(v * xp.maximum(q, 1e-12) ** e for v, q, e in zip(C[i], p, alpha)), -50, 50)) for i in range(5)]
