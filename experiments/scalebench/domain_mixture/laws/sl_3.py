"""domain_mixture sl_3: L_i = base_i + coeff_i p_i^exp_i + sum_{j != i} W_ij p_j

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_3 of the domain_mixture task, rewritten as a
bayes_moe law file with five outputs, the per-domain losses L_i of a mixture with proportions p_1..p_5;
the priors are the benchmark's parameter boxes (flat). Proportions under a log or a power are floored at 1e-12, as the authors' code.
"""
from bayes_moe.userlaw import HalfNormal, Uniform

inputs = {"p1": "proportion_domain_1", "p2": "proportion_domain_2", "p3": "proportion_domain_3", "p4": "proportion_domain_4", "p5": "proportion_domain_5"}
output = ["loss_domain_1", "loss_domain_2", "loss_domain_3", "loss_domain_4", "loss_domain_5"]
priors = {
    "base1": Uniform(-3.0, 6.0),
    "coeff1": Uniform(-20.0, 20.0),
    "exp1": Uniform(-2.0, 4.0),
    "W1_2": Uniform(-10.0, 10.0),
    "W1_3": Uniform(-10.0, 10.0),
    "W1_4": Uniform(-10.0, 10.0),
    "W1_5": Uniform(-10.0, 10.0),
    "base2": Uniform(-3.0, 6.0),
    "coeff2": Uniform(-20.0, 20.0),
    "exp2": Uniform(-2.0, 4.0),
    "W2_1": Uniform(-10.0, 10.0),
    "W2_3": Uniform(-10.0, 10.0),
    "W2_4": Uniform(-10.0, 10.0),
    "W2_5": Uniform(-10.0, 10.0),
    "base3": Uniform(-3.0, 6.0),
    "coeff3": Uniform(-20.0, 20.0),
    "exp3": Uniform(-2.0, 4.0),
    "W3_1": Uniform(-10.0, 10.0),
    "W3_2": Uniform(-10.0, 10.0),
    "W3_4": Uniform(-10.0, 10.0),
    "W3_5": Uniform(-10.0, 10.0),
    "base4": Uniform(-3.0, 6.0),
    "coeff4": Uniform(-20.0, 20.0),
    "exp4": Uniform(-2.0, 4.0),
    "W4_1": Uniform(-10.0, 10.0),
    "W4_2": Uniform(-10.0, 10.0),
    "W4_3": Uniform(-10.0, 10.0),
    "W4_5": Uniform(-10.0, 10.0),
    "base5": Uniform(-3.0, 6.0),
    "coeff5": Uniform(-20.0, 20.0),
    "exp5": Uniform(-2.0, 4.0),
    "W5_1": Uniform(-10.0, 10.0),
    "W5_2": Uniform(-10.0, 10.0),
    "W5_3": Uniform(-10.0, 10.0),
    "W5_4": Uniform(-10.0, 10.0),
}
noise_sd = HalfNormal(0.05)


def _others(values, i):
    """Every entry but the i-th (the other domains)."""
    return values[:i] + values[i + 1:]


def mean(p1, p2, p3, p4, p5, base1, coeff1, exp1, W1_2, W1_3, W1_4, W1_5, base2, coeff2, exp2, W2_1, W2_3, W2_4, W2_5, base3, coeff3, exp3, W3_1, W3_2, W3_4, W3_5, base4, coeff4, exp4, W4_1, W4_2, W4_3, W4_5, base5, coeff5, exp5, W5_1, W5_2, W5_3, W5_4, xp):
    p = [p1, p2, p3, p4, p5]
    base = [base1, base2, base3, base4, base5]
    coeff = [coeff1, coeff2, coeff3, coeff4, coeff5]
    exp = [exp1, exp2, exp3, exp4, exp5]
    W = [[W1_2, W1_3, W1_4, W1_5],
         [W2_1, W2_3, W2_4, W2_5],
         [W3_1, W3_2, W3_4, W3_5],
         [W4_1, W4_2, W4_3, W4_5],
         [W5_1, W5_2, W5_3, W5_4]]
    return [base[i] + coeff[i] * xp.maximum(p[i], 1e-12) ** exp[i] + sum(v * q for v, q in zip(W[i], _others(p, i))) for i in range(5)]
