"""lr_bsz sl_1: L = exp(quadratic(u, v, s, p))

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_1 of the lr_bsz task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat). u, v, s, p: the natural logs of the
learning rate, batch size, data size D and non-embedding parameters P.
quadratic: the full quadratic in (u, v, s, p), coefficients bias, linear, squares, then cross terms
(uv, us, up, vs, vp, sp).
"""
from bayes_moe.userlaw import HalfNormal, Uniform, quadratic

inputs = {"lr": "lr", "bsz": "bsz", "D": "data_size", "P": "non_embedding_param_size"}
output = "lm_loss"
priors = {
    "c0": Uniform(-15.0, 15.0),
    "c1": Uniform(-0.35, 0.35),
    "c2": Uniform(-0.35, 0.35),
    "c3": Uniform(-0.35, 0.35),
    "c4": Uniform(-0.35, 0.35),
    "c5": Uniform(-0.025, 0.025),
    "c6": Uniform(-0.025, 0.025),
    "c7": Uniform(-0.025, 0.025),
    "c8": Uniform(-0.025, 0.025),
    "c9": Uniform(-0.025, 0.025),
    "c10": Uniform(-0.025, 0.025),
    "c11": Uniform(-0.025, 0.025),
    "c12": Uniform(-0.025, 0.025),
    "c13": Uniform(-0.025, 0.025),
    "c14": Uniform(-0.025, 0.025),
}
noise_sd = HalfNormal(0.05)


def mean(lr, bsz, D, P, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, xp):
    u, v, s, p = xp.log(lr), xp.log(bsz), xp.log(D), xp.log(P)
    return xp.exp(quadratic([u, v, s, p], [c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14]))
