"""lr_bsz sl_10: L = quadratic(u, v, s, p) + w_D D^-0.5 + w_P P^-0.5 + w_b / bsz

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_10 of the lr_bsz task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat). u, v, s, p: the natural logs of the
learning rate, batch size, data size D and non-embedding parameters P.
quadratic: the full quadratic in (u, v, s, p), coefficients bias, linear, squares, then cross terms
(uv, us, up, vs, vp, sp).
"""
from bayes_moe.userlaw import HalfNormal, Uniform, quadratic

inputs = {"lr": "lr", "bsz": "bsz", "D": "data_size", "P": "non_embedding_param_size"}
output = "lm_loss"
priors = {
    "c0": Uniform(-5.0, 35.0),
    "c1": Uniform(-2.0, 2.0),
    "c2": Uniform(-2.0, 2.0),
    "c3": Uniform(-2.0, 2.0),
    "c4": Uniform(-2.0, 2.0),
    "c5": Uniform(-0.1, 0.1),
    "c6": Uniform(-0.1, 0.1),
    "c7": Uniform(-0.1, 0.1),
    "c8": Uniform(-0.1, 0.1),
    "c9": Uniform(-0.1, 0.1),
    "c10": Uniform(-0.1, 0.1),
    "c11": Uniform(-0.1, 0.1),
    "c12": Uniform(-0.1, 0.1),
    "c13": Uniform(-0.1, 0.1),
    "c14": Uniform(-0.1, 0.1),
    "w_D": Uniform(-5e4, 5e4),
    "w_P": Uniform(-2e4, 2e4),
    "w_b": Uniform(-15.0, 15.0),
}
noise_sd = HalfNormal(0.05)


def mean(lr, bsz, D, P, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, w_D, w_P, w_b, xp):
    u, v, s, p = xp.log(lr), xp.log(bsz), xp.log(D), xp.log(P)
    return quadratic([u, v, s, p], [c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14]) + w_D * D**-0.5 + w_P * P**-0.5 + w_b / bsz
