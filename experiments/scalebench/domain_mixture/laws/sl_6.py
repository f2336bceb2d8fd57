"""domain_mixture sl_6: L_i = C_i + A_i (p_i + sum_{j != i} T_ij p_j)^-alpha_i

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_6 of the domain_mixture task, rewritten as a
bayes_moe law file with five outputs, the per-domain losses L_i of a mixture with proportions p_1..p_5;
the priors are the benchmark's parameter boxes (flat). Proportions under a log or a power are floored at 1e-12, as the authors' code.
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {"p1": "proportion_domain_1", "p2": "proportion_domain_2", "p3": "proportion_domain_3", "p4": "proportion_domain_4", "p5": "proportion_domain_5"}
output = ["loss_domain_1", "loss_domain_2", "loss_domain_3", "loss_domain_4", "loss_domain_5"]
priors = {
    "C1": Uniform(-3.0, 6.0),
    "A1": Uniform(0.0, 10.0),
    "alpha1": Uniform(0.0, 3.0),
    "T1_2": Uniform(-5.0, 5.0),
    "T1_3": Uniform(-5.0, 5.0),
    "T1_4": Uniform(-5.0, 5.0),
    "T1_5": Uniform(-5.0, 5.0),
    "C2": Uniform(-3.0, 6.0),
    "A2": Uniform(0.0, 10.0),
    "alpha2": Uniform(0.0, 3.0),
    "T2_1": Uniform(-5.0, 5.0),
    "T2_3": Uniform(-5.0, 5.0),
    "T2_4": Uniform(-5.0, 5.0),
    "T2_5": Uniform(-5.0, 5.0),
    "C3": Uniform(-3.0, 6.0),
    "A3": Uniform(0.0, 10.0),
    "alpha3": Uniform(0.0, 3.0),
    "T3_1": Uniform(-5.0, 5.0),
    "T3_2": Uniform(-5.0, 5.0),
    "T3_4": Uniform(-5.0, 5.0),
    "T3_5": Uniform(-5.0, 5.0),
    "C4": Uniform(-3.0, 6.0),
    "A4": Uniform(0.0, 10.0),
    "alpha4": Uniform(0.0, 3.0),
    "T4_1": Uniform(-5.0, 5.0),
    "T4_2": Uniform(-5.0, 5.0),
    "T4_3": Uniform(-5.0, 5.0),
    "T4_5": Uniform(-5.0, 5.0),
    "C5": Uniform(-3.0, 6.0),
    "A5": Uniform(0.0, 10.0),
    "alpha5": Uniform(0.0, 3.0),
    "T5_1": Uniform(-5.0, 5.0),
    "T5_2": Uniform(-5.0, 5.0),
    "T5_3": Uniform(-5.0, 5.0),
    "T5_4": Uniform(-5.0, 5.0),
}
noise_sd = HalfNormal(0.05)


def _others(values, i):
    """Every entry but the i-th (the other domains)."""
    return values[:i] + values[i + 1:]


def mean(p1, p2, p3, p4, p5, C1, A1, alpha1, T1_2, T1_3, T1_4, T1_5, C2, A2, alpha2, T2_1, T2_3, T2_4, T2_5, C3, A3, alpha3, T3_1, T3_2, T3_4, T3_5, C4, A4, alpha4, T4_1, T4_2, T4_3, T4_5, C5, A5, alpha5, T5_1, T5_2, T5_3, T5_4, xp):
    p = [p1, p2, p3, p4, p5]
    C = [C1, C2, C3, C4, C5]
    A = [A1, A2, A3, A4, A5]
    alpha = [alpha1, alpha2, alpha3, alpha4, alpha5]
    T = [[T1_2, T1_3, T1_4, T1_5],
         [T2_1, T2_3, T2_4, T2_5],
         [T3_1, T3_2, T3_4, T3_5],
         [T4_1, T4_2, T4_3, T4_5],
         [T5_1, T5_2, T5_3, T5_4]]
    return [C[i] + A[i] * xp.maximum(p[i] + sum(v * q for v, q in zip(T[i], _others(p, i))), 1e-12) ** -alpha[i] for i in range(5)]
