"""lr_bsz sl_9: L = quadratic(log10 lr, log10 bsz, log10 D, log10 P)

ScaleBench (Li et al. 2026, arXiv 2604.22753) law sl_9 of the lr_bsz task, rewritten as a bayes_moe
law file; the priors are the benchmark's parameter boxes (flat). u, v, s, p: the natural logs of the
learning rate, batch size, data size D and non-embedding parameters P.
quadratic: the full quadratic in the base-10 logs, coefficients bias, linear, squares, then cross terms
(uv, us, up, vs, vp, sp).
"""
from bayes_moe.userlaw import HalfNormal, Uniform, quadratic

inputs = {"lr": "lr", "bsz": "bsz", "D": "data_size", "P": "non_embedding_param_size"}
output = "lm_loss"
priors = {
    "c0": Uniform(-5.0, 30.0),
    "c1": Uniform(-4.0, 4.0),
    "c2": Uniform(-4.0, 4.0),
    "c3": Uniform(-4.0, 4.0),
    "c4": Uniform(-4.0, 4.0),
    "c5": Uniform(-0.3, 0.3),
    "c6": Uniform(-0.3, 0.3),
    "c7": Uniform(-0.3, 0.3),
    "c8": Uniform(-0.3, 0.3),
    "c9": Uniform(-0.3, 0.3),
    "c10": Uniform(-0.3, 0.3),
    "c11": Uniform(-0.3, 0.3),
    "c12": Uniform(-0.3, 0.3),
    "c13": Uniform(-0.3, 0.3),
    "c14": Uniform(-0.3, 0.3),
}
noise_sd = HalfNormal(0.05)


def mean(lr, bsz, D, P, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, xp):
    u, v, s, p = xp.log(lr), xp.log(bsz), xp.log(D), xp.log(P)
    return quadratic([u / xp.log(10.0), v / xp.log(10.0), s / xp.log(10.0), p / xp.log(10.0)], [c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14])
